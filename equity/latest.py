"""What is current: the latest year the database holds for an LA and key stage, whether DfE published a
measure in a year at all, and the measure to use instead when it did not.

A measure with no published value anywhere in a year (no school, LA or England figure: Progress 8 in
2024/25 and 2025/26, KS2 progress in 2023/24 and 2024/25) was not published that year. This is decided
from the data, in :func:`is_published`; the reasons DfE gives live with the other breaks in a series.
"""
from __future__ import annotations

import pandas as pd

from equity import db
from equity.cache import per_build
from equity.measures import MEASURES
from equity.years import label

# What to show when a measure was not published in a year: the nearest measures DfE did publish, in order.
# Progress 8 -> Attainment 8 (or, where a page needs a gap to national other pupils, DfE's DIFFN_ATT8).
FALLBACK = {"p8": ("att8", "att8_vs_national_other"), "p8_vs_national_other": ("att8_vs_national_other",)}


@per_build(maxsize=4)
def measure_years(path=None) -> pd.DataFrame:
    """key_stage, measure, start_year, n_values: values published anywhere, per measure and year."""
    return db.query("latest/measure_years", path=path)


@per_build(maxsize=4)
def la_years(path=None) -> pd.DataFrame:
    """la_code, key_stage, latest_year, schools: each LA's latest year of school results per key stage."""
    return db.query("latest/la_years", path=path)


def is_published(key_stage: int, measure: str, start_year: int, path=None) -> bool:
    """True when the database holds at least one value of the measure for that year (any school, LA or
    England). False means DfE did not publish it that year: say so, never show it as a school's gap."""
    m = measure_years(path)
    hit = m[(m.key_stage == int(key_stage)) & (m.measure == measure) & (m.start_year == int(start_year))]
    return bool(len(hit)) and int(hit.n_values.iloc[0]) > 0


def latest_year(la_code: str, key_stage: int, path=None) -> int | None:
    """The latest year with school results for the LA at the key stage (start year), or None."""
    y = la_years(path)
    hit = y[(y.la_code == str(la_code)) & (y.key_stage == int(key_stage))]
    return None if hit.empty else int(hit.latest_year.iloc[0])


def default_year(years, la_code: str, key_stage: int, path=None) -> int:
    """Which of ``years`` (newest first) a page opens on for an LA: the newest one not after the LA's
    latest year of results, so an LA whose latest results are older than another LA's does not open on
    an empty year; ``years[0]`` when the LA has none."""
    last = latest_year(la_code, key_stage, path)
    return next((int(y) for y in years if last is None or int(y) <= last), int(years[0]))


def default_la(path=None) -> str | None:
    """The LA a newcomer sees first: the one with the most recent results (any key stage), the most
    schools with results that year breaking a tie."""
    y = la_years(path)
    if y.empty:
        return None
    y = y.sort_values(["latest_year", "schools", "la_code"], ascending=[False, False, True])
    return str(y.la_code.iloc[0])


def usable_measure(key_stage: int, measure: str, start_year: int, path=None,
                   allowed=None) -> tuple[str, str | None]:
    """The measure to show for a year: ``measure`` itself, or its first fallback (among ``allowed``, if
    given) that DfE published that year, with a plain-words reason (None when no fallback was needed or
    none is possible)."""
    if is_published(key_stage, measure, start_year, path):
        return measure, None
    for alt in FALLBACK.get(measure, ()):
        if (allowed is None or alt in allowed) and is_published(key_stage, alt, start_year, path):
            return alt, not_published_reason(measure, start_year, alt)
    return measure, None


def not_published_reason(measure: str, start_year: int, instead: str | None = None) -> str:
    """'DfE published no Progress 8 for 2024/25 ...' in plain words."""
    m = MEASURES[measure].label if measure in MEASURES else measure
    if measure in ("read_prog", "writ_prog", "mat_prog"):
        m = "KS2 progress scores"
    text = f"DfE published no {m} for {label(start_year)} (no school, LA or England figure in the data)"
    if measure.startswith("p8"):
        text += ": Progress 8 needs pupils' KS2 results, and there were no KS2 tests in 2020 and 2021"
    elif m == "KS2 progress scores":
        text += ": progress needs pupils' KS1 results, and there were no KS1 assessments in 2020 and 2021"
    if instead == "att8":
        text += ", so Attainment 8 and the gap to national other pupils (DfE's DIFFN_ATT8) are used instead"
    elif instead:
        text += f", so {MEASURES[instead].label} is used instead"
        if instead == "att8_vs_national_other":
            text += " (DfE's DIFFN_ATT8)"
    return text + "."


def year_note(la_code: str, key_stage: int, la_name: str | None = None, path=None) -> str:
    """One sentence for the top of a page: the latest year held for the LA and key stage, and any
    headline measure DfE did not publish that year."""
    y = latest_year(la_code, key_stage, path)
    who = la_name or la_code
    if y is None:
        return f"No KS{key_stage} results for {who} in the database."
    text = f"Latest KS{key_stage} results held for {who}: **{label(y)}**."
    missing = [m for m in ("p8", "read_prog") if MEASURES[m].key_stage == key_stage
               and not is_published(key_stage, m, y, path)]
    for m in missing:
        alt = usable_measure(key_stage, m, y, path)[0]
        text += " " + not_published_reason(m, y, alt if alt != m else None)
    return text
