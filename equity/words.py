"""How a measure's values and differences are written in sentences and tables.

The ground floor under the analysis modules (profile's sentences) and the presentation modules (charts,
packs): one place for the rule that a percentage is written '45%', a difference in percentages
'12 percentage points', a Progress score '+0.25'.
"""
from __future__ import annotations

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


def compare_words(measure: str, new, old) -> str:
    """'wider', 'narrower' or 'unchanged' for two gaps, judged at the precision they are shown."""
    digits = {"percent": 0, "score": 2}.get(MEASURES[measure].unit if measure in MEASURES else "points", 1)
    a, b = round(abs(float(new)), digits), round(abs(float(old)), digits)
    return "wider" if a > b else "narrower" if a < b else "unchanged"
