"""Every number formatter: how a measure's values and differences are written in sentences, tables,
tooltips and packs.

The ground floor under the analysis modules and the presentation modules and pages: one place for
the rule that a percentage is written '45%', a difference in percentages '12 percentage points', a
Progress score '+0.25'. Four families of formatter, each for a different place, each written once:

- :func:`fmt`, :func:`fmt_diff`: a measure's value and a difference in sentences ('–' when missing);
  :func:`column_format` the same rule for a table's number column;
- :func:`fmt_short`: the short form beside a rule or a chart ('35%', '+4 points'; 'n/a' when missing);
- :func:`fmt_number`, :func:`fmt_amount`, :func:`fmt_signed`, :func:`fmt_value`: a value by its unit
  in the gap pages' sentences ('not published' when missing);
- :func:`fmt_tip` (map tooltips, one decimal of a percentage) and :func:`fmt_cell` (a pack's table cells).
"""
from __future__ import annotations

import math

import pandas as pd

from equity.measures import MEASURES


def fmt(measure: str, v, signed: bool = False) -> str:
    """A value as written in sentences and tables ('–' when missing)."""
    if v is None or pd.isna(v):
        return "–"
    unit = MEASURES[measure].unit if measure in MEASURES else "points"
    v = float(v)
    if unit == "percent":
        return f"{v:+.0f} percentage points" if signed else f"{v:.0f}%"
    if unit == "score":
        return f"{v:+.2f}"
    return f"{v:+.1f}" if signed or measure.endswith("vs_national_other") else f"{v:.1f}"


def column_format(measure: str) -> str:
    """:func:`fmt`'s rule as a printf format for a table's number column ('%.0f%%', '%+.2f', '%.1f')."""
    unit = MEASURES[measure].unit if measure in MEASURES else "points"
    return {"percent": "%.0f%%", "score": "%+.2f"}.get(unit, "%+.1f" if measure.endswith("vs_national_other") else "%.1f")


def fmt_diff(measure: str, v) -> str:
    """A difference between two values of ``measure`` in words: '17.5 points', '29 percentage
    points', '0.78' (Progress scores). Unsigned: the sentence says which way."""
    if v is None or pd.isna(v):
        return "–"
    unit = MEASURES[measure].unit if measure in MEASURES else "points"
    v = abs(float(v))
    if unit == "percent":
        return f"{v:.0f} percentage point{'s' if round(v) != 1 else ''}"
    if unit == "score":
        return f"{v:.2f}"
    return f"{v:.1f} points"


def fmt_short(measure: str, v, signed: bool = False) -> str:
    """A figure as the Keys to Success and Partnerships pages print it: ``35%`` (or ``+4 points`` for a
    change), ``-0.52`` for scores; ``n/a`` when missing."""
    if v is None or (isinstance(v, float) and math.isnan(v)):
        return "n/a"
    unit = MEASURES[measure].unit if measure in MEASURES else ""
    if unit == "percent":
        return f"{v:+.0f} points" if signed else f"{v:.0f}%"
    if unit == "score":
        return f"{v:+.2f}"
    return f"{v:+.1f}" if signed else f"{v:.1f}"


def fmt_number(v, unit: str) -> str:
    """A number by its unit, no unit written: '0.48', '46', '35.5'."""
    if v is None or pd.isna(v):
        return "not published"
    return f"{v:.2f}" if unit == "score" else (f"{v:.0f}" if unit == "percent" and float(v).is_integer() else f"{v:.1f}")


def fmt_amount(v, unit: str) -> str:
    """A size of difference with its unit: '4.1 points', '25 percentage points', '0.78'."""
    if v is None or pd.isna(v):
        return "not published"
    n = fmt_number(v, unit)
    one = n in ("1", "1.0")
    return {"points": f"{n} point{'' if one else 's'}",
            "percent": f"{n} percentage point{'' if one else 's'}"}.get(unit, n)


def fmt_signed(v, unit: str) -> str:
    """A difference with its sign (a true minus sign) and unit: '+4.1 points', '−0.30'."""
    if v is None or pd.isna(v):
        return "not published"
    s = fmt_amount(abs(v), unit)
    return ("+" if v > 0 else "−" if v < 0 else "") + s


def fmt_value(v, unit: str) -> str:
    """A level: '35.5', '46%', '-0.48'."""
    if v is None or pd.isna(v):
        return "not published"
    return f"{fmt_number(v, unit)}%" if unit == "percent" else fmt_number(v, unit)


def fmt_tip(measure: str, v) -> str:
    """A value in a map's tooltip: '45.3%', '+0.25', '46.1'."""
    unit = MEASURES[measure].unit
    return f"{v:.1f}%" if unit == "percent" else f"{v:+.2f}" if unit == "score" else f"{v:.1f}"


def fmt_cell(v) -> str:
    """A cell of a pack's table as printed: '–' when missing, up to two decimals, thousands with commas."""
    if v is None or (isinstance(v, float) and math.isnan(v)) or v is pd.NA or v is pd.NaT:
        return "–"
    if isinstance(v, float):
        return f"{v:.2f}".rstrip("0").rstrip(".") if abs(v) < 1000 else f"{v:,.0f}"
    return str(v)


def compare_words(measure: str, new, old) -> str:
    """'wider', 'narrower' or 'unchanged' for two gaps, judged at the precision they are shown."""
    digits = {"percent": 0, "score": 2}.get(MEASURES[measure].unit if measure in MEASURES else "points", 1)
    a, b = round(abs(float(new)), digits), round(abs(float(old)), digits)
    return "wider" if a > b else "narrower" if a < b else "unchanged"
