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

# Breaks in a series live in equity.breaks (one home for every break).
