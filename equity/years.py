"""Academic years: one spelling everywhere.

An academic year is written ``2017/18`` on screen, in tables and in the CLI, ``2017-18`` in file
names, and stored as its start year (2017) for sorting and arithmetic.
"""
from __future__ import annotations

import re

_SLASH = re.compile(r"^\s*(\d{4})\s*[/-]\s*(\d{2}|\d{4})\s*$")


def label(start_year: int) -> str:
    """``2017`` -> ``'2017/18'``."""
    return f"{start_year}/{(start_year + 1) % 100:02d}"


def file_label(start_year: int) -> str:
    """``2017`` -> ``'2017-18'`` (for file names)."""
    return f"{start_year}-{(start_year + 1) % 100:02d}"


def parse(text: str | int) -> int:
    """Start year from ``'2017/18'``, ``'2017-18'``, ``'2017-2018'``, ``'201718'`` or ``2017``.

    Raises ValueError for anything else, or when the second half is not the next year.
    """
    s = str(text).strip()
    if re.fullmatch(r"\d{6}", s):  # statistics-service time_period, e.g. 202324
        start, end = int(s[:4]), int(s[4:])
        if (start + 1) % 100 != end:
            raise ValueError(f"not an academic year: {text!r}")
        return start
    if re.fullmatch(r"\d{4}", s):
        return int(s)
    m = _SLASH.match(s)
    if not m:
        raise ValueError(f"not an academic year: {text!r}")
    start, end = int(m.group(1)), m.group(2)
    expected = start + 1
    if (len(end) == 2 and int(end) != expected % 100) or (len(end) == 4 and int(end) != expected):
        raise ValueError(f"not an academic year: {text!r}")
    return start


def from_suffix(two_digits: str) -> int:
    """A performance-table history suffix names the calendar year a year ends in: ``_17`` is 2016/17.

    Returns the start year (``'17'`` -> 2016).
    """
    return 2000 + int(two_digits) - 1


# Years with no school-level results, or not comparable with the year before. A trend line is
# never drawn across one of these. Each entry: (first start year after the break, key stages,
# measures or None for all, plain-words reason).
BREAKS = [
    (2016, (4,), ("att8",), "Attainment 8 before 2016/17 is on the old points scale"),
    (2021, (2, 4), None, "no school results for 2019/20 and 2020/21 (pandemic); 2021/22 is not comparable with 2018/19"),
    (2023, (2,), ("read_prog", "writ_prog", "mat_prog"), "no KS2 progress scores for 2023/24 and 2024/25"),
    (2024, (4,), ("p8",), "no Progress 8 for 2024/25 and 2025/26"),
]


def breaks_between(first: int, second: int, key_stage: int, measure: str) -> list[str]:
    """Reasons why two years of one measure must not be joined by a line (empty list = comparable).

    ``first`` and ``second`` are start years with first < second.
    """
    reasons = []
    for after, stages, measures, why in BREAKS:
        if key_stage in stages and (measures is None or measure in measures) and first < after <= second:
            reasons.append(why)
    if second - first > 1 and not reasons:
        reasons.append("years missing between them")
    return reasons
