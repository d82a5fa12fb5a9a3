"""Missing-value codes in DfE, Ofsted and statistics-service files.

A cell is either a number or missing *with a reason*. The reason is kept, never turned into 0.
An unknown token is kept as status ``unknown`` and reported as a warning, never a crash and
never a number.
"""
from __future__ import annotations

# token (upper-cased, trimmed) -> canonical status and its meaning
KNOWN = {
    "SUPP": ("SUPP", "suppressed: cohort too small (typically 5 or fewer pupils)"),
    "NE": ("NE", "no entries"),
    "NP": ("NP", "not published"),
    "NA": ("NA", "not applicable"),
    "N/A": ("NA", "not applicable"),
    "LOWCOV": ("LOWCOV", "low coverage: fewer than half the pupils covered"),
    "NEW": ("NEW", "new school: no results yet"),
    "SP": ("SP", "small percentage suppressed"),
    "NOT AVAIL": ("NOT AVAIL", "not available"),
    "NOTAVAIL": ("NOT AVAIL", "not available"),
    "X": ("x", "not available (statistics service)"),
    "C": ("c", "confidential / suppressed (statistics service)"),
    "Z": ("z", "not applicable (statistics service)"),
    "U": ("u", "low reliability (statistics service)"),
    "LOW": ("low", "rounds to zero but is not zero (statistics service)"),
    ":": ("x", "not available"),
    "..": ("x", "not available"),
}

STATUS_OK = "ok"
STATUS_BLANK = "blank"
STATUS_UNKNOWN = "unknown"
STATUS_SMALL = "small_cohort"  # set when we hide a value for a group of fewer than 6 pupils
STATUS_NO_PUPILS = "no_pupils"  # the group has no pupils: a printed 0% is no value
STATUS_COMPLEMENT = "hidden_complement"  # hidden so a hidden small group cannot be rebuilt by differencing

MEANINGS = {v[0]: v[1] for v in KNOWN.values()}
MEANINGS.update({
    STATUS_OK: "published value",
    STATUS_BLANK: "blank in the source file",
    STATUS_UNKNOWN: "an unrecognised code in the source file (see the ingest report)",
    STATUS_SMALL: "hidden: fewer than 6 pupils in the group",
    STATUS_NO_PUPILS: "no pupils in this group (a printed 0% is not a result)",
    STATUS_COMPLEMENT: "hidden: the other group has fewer than 6 pupils, and this figure with the all-pupils one "
                       "would reveal it (DfE's secondary suppression)",
})

MIN_COHORT_SHOWN = 6  # never show a figure for a group of fewer than 6 pupils


def parse_cell(raw: str | None) -> tuple[float | None, str]:
    """Parse one cell: ``'18.30%'`` -> (18.3, 'ok'); ``'SUPP'`` -> (None, 'SUPP'); ``''`` -> (None, 'blank').

    Percentages stay on the 0-100 scale they are printed in. Thousands separators are removed.
    This is the Python twin of the SQL in ``equity/sql/build/parse_cells.sql``; tests keep them equal.
    """
    if raw is None:
        return None, STATUS_BLANK
    s = str(raw).strip()
    if s == "":
        return None, STATUS_BLANK
    num = s.replace("%", "").replace(",", "").strip()
    try:
        value = float(num)
    except ValueError:
        value = None
    if value is not None and value == value and value not in (float("inf"), float("-inf")):
        return value, STATUS_OK
    hit = KNOWN.get(s.upper())
    if hit:
        return None, hit[0]
    return None, STATUS_UNKNOWN
