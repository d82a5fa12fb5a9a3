"""The one CSV writer for everything the product hands out (page downloads, CLI ``--format csv``,
the partnership register export).

LA staff open these files in Excel, which runs a cell that starts with ``=``, ``+``, ``-`` or
``@`` (or a tab or carriage return before one) as a formula: an LA name ``=HYPERLINK(...)`` or a
note ``+cmd|' /C calc'!A0`` would run on their machine. OWASP's rule: such a text cell is written
with a leading ``'``, which Excel shows as text. Numbers are left alone: a real ``-0.37`` stays a
number, and so does a number held as text (``"-0.37"``), which no spreadsheet runs as a formula.
Column names get the same treatment as cells.
"""
from __future__ import annotations

import re

import pandas as pd

TRIGGERS = ("=", "+", "-", "@", "\t", "\r")
_NUMBER = re.compile(r"^[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?$")


def neutralise(value):
    """A cell as it is safe to write: text starting with a formula character gets a leading ``'``;
    numbers, number-like text, empty and missing values are returned unchanged."""
    if isinstance(value, str) and value.startswith(TRIGGERS) and not _NUMBER.match(value.strip()):
        return "'" + value
    return value


def safe_frame(df: pd.DataFrame) -> pd.DataFrame:
    """A copy of ``df`` with every text cell and column name neutralised (numeric columns untouched)."""
    out = df.copy()
    out.columns = [neutralise(c) if isinstance(c, str) else c for c in out.columns]
    for i in range(out.shape[1]):
        col = out.iloc[:, i]
        if col.dtype == object or pd.api.types.is_string_dtype(col) or isinstance(col.dtype, pd.CategoricalDtype):
            out.isetitem(i, col.astype(object).map(neutralise))
    return out


def to_csv(df: pd.DataFrame, **kwargs) -> str:
    """``df`` as CSV text (no index unless asked), formula cells neutralised."""
    kwargs.setdefault("index", False)
    return safe_frame(df).to_csv(**kwargs)


def to_csv_bytes(df: pd.DataFrame, **kwargs) -> bytes:
    """:func:`to_csv` encoded as UTF-8, for a download button."""
    return to_csv(df, **kwargs).encode("utf-8")
