"""Missing-value codes in DfE, Ofsted and statistics-service files.

A cell is either a number or missing *with a reason*. The reason is kept, never turned into 0.
An unknown token is kept as status ``unknown`` and reported as a warning, never a crash and
never a number.
"""
from __future__ import annotations

import math
import re

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
# set by the build's plausibility checks (equity/ingest/plausibility.py): the cell is kept out, its raw text reported
STATUS_BAD_NUMBER = "bad_number"
STATUS_OUT_OF_RANGE = "out_of_range"
STATUS_NO_PUPILS = "no_pupils"  # the group has no pupils: a printed 0% is no value
STATUS_COMPLEMENT = "hidden_complement"  # hidden so a hidden small group cannot be rebuilt by differencing

MEANINGS = {v[0]: v[1] for v in KNOWN.values()}
MEANINGS.update({
    STATUS_OK: "published value",
    STATUS_BLANK: "blank in the source file",
    STATUS_UNKNOWN: "an unrecognised code in the source file (see the ingest report)",
    STATUS_SMALL: "hidden: fewer than 6 pupils in the group",
    STATUS_BAD_NUMBER: "a number written with a thousands separator, a decimal comma or an exponent "
                       "('1,234', '4,5', '1e3'): not read, because it is ambiguous (see the ingest report)",
    STATUS_OUT_OF_RANGE: "a number outside what the measure can be (a percentage over 100, pupils below 0): "
                         "left out (see the ingest report)",
    STATUS_NO_PUPILS: "no pupils in this group (a printed 0% is not a result)",
    STATUS_COMPLEMENT: "hidden: the other group has fewer than 6 pupils, and this figure with the all-pupils one "
                       "would reveal it (DfE's secondary suppression)",
})

# A plain number: optional sign, digits with at most one decimal point, optional percent sign.
PLAIN_NUMBER = r"[+-]?([0-9]+(\.[0-9]*)?|\.[0-9]+)%?"
# Digits mixed with commas, points or an exponent that are not a plain number: '1,234', '4,5', '1e3'.
# The same two patterns are in the SQL twin (equity/sql/build/schema.sql).
NUMBER_LIKE = r"[+-]?[0-9.,]*[0-9][0-9.,]*([eE][+-]?[0-9]+)?%?"
# What the plausibility checks write over an out-of-range cell in a staging table (its raw text is
# kept in the table rejected_cell), so every loader's cell_status() gives the reason.
OUT_OF_RANGE_MARK = "#out_of_range"


MIN_COHORT_SHOWN = 6  # never show a figure for a group of fewer than 6 pupils


def parse_cell(raw: str | None) -> tuple[float | None, str]:
    """Parse one cell: ``'18.30%'`` -> (18.3, 'ok'); ``'SUPP'`` -> (None, 'SUPP'); ``''`` -> (None, 'blank').

    Percentages stay on the 0-100 scale they are printed in. Only plain numbers are read: a thousands
    separator (``'1,234'``), a decimal comma (``'4,5'``) or an exponent (``'1e3'``) gives
    (None, 'bad_number'), never 1234, 45 or 1000. This is the Python twin of the ``cell_value`` /
    ``cell_status`` macros in ``equity/sql/build/schema.sql``; tests keep them equal.
    """
    if raw is None:
        return None, STATUS_BLANK
    s = str(raw).strip()
    if s == "":
        return None, STATUS_BLANK
    if s == OUT_OF_RANGE_MARK:
        return None, STATUS_OUT_OF_RANGE
    if re.fullmatch(PLAIN_NUMBER, s) and math.isfinite(float(s.replace("%", ""))):
        return float(s.replace("%", "")), STATUS_OK
    hit = KNOWN.get(s.upper())
    if hit:
        return None, hit[0]
    if re.fullmatch(NUMBER_LIKE, s):
        return None, STATUS_BAD_NUMBER
    return None, STATUS_UNKNOWN
