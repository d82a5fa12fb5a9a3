"""Breaks in a series: the one place that decides whether two years of a measure may be compared.

Every trend line, change sentence, pooled figure and pack chart asks this module (through
:func:`breaks_between`, :func:`comparable` or :func:`segments`), so a line the Gap trends page breaks is
broken in the profile, the families, Keys to Success and the packs too.

A break lies *between* two start years (2018 = 2018/19). :data:`BREAKS` lists each one with the first
start year after it, the key stages and measures it applies to, and the reason in plain words.
Measures derived from a base measure share its breaks: ``att8_vs_national_other`` (DfE's DIFFN_ATT8)
breaks where ``att8`` does, ``rwm_exp_3yr`` where ``rwm_exp`` does.

Years DfE did not publish a measure for (:data:`NOT_PUBLISHED`) are a break for everyone: an LA,
a school or England, published or estimated, the line stops there (:func:`published` says whether a
measure is published for a key stage and year).

Reformed GCSEs (9-1 grades, phased in 2016/17-2018/19) are a **caution**, not a break
(:func:`cautions`): comparisons of Attainment 8 and the grade 4/5 measures across those years are
shown, with a word of warning; Progress 8 and the gap to national other pupils are the steadier guide.
"""
from __future__ import annotations

from equity import years as _years

# Measures that share one base measure's breaks.
_SUFFIXES = ("_vs_national_other", "_3yr")
KS2_PROGRESS = ("read_prog", "writ_prog", "mat_prog")
MISSING = "years missing between them"


def base_measure(measure: str) -> str:
    """The measure whose breaks apply: ``att8_vs_national_other`` -> ``att8``, ``rwm_exp_3yr`` -> ``rwm_exp``."""
    for s in _SUFFIXES:
        measure = measure.removesuffix(s)
    return measure


# (first start year after the break, key stages, base measures or None for all, reason in plain words).
BREAKS = [
    (2016, (4,), ("att8",), "Attainment 8 before 2016/17 is on the old points scale"),
    (2017, (4,), ("p8",), "Progress 8 changed method in 2017/18 (extreme negative pupil scores capped), so it is "
                          "not compared with 2016/17 and earlier"),
    (2019, (4,), None, "2019/20 GCSE grades were centre-assessed (no exams); no school results were published"),
    (2020, (4,), None, "2020/21 GCSE grades were teacher-assessed (no exams); no school results were published"),
    (2021, (2, 4), None, "no school results for 2019/20 and 2020/21 (pandemic); 2021/22 is not comparable with "
                         "2018/19"),
    (2022, (4,), None, "2021/22 GCSE grading was set between 2021's and normal grading, which returned in "
                       "2022/23: 2021/22 is not comparable with later years"),
    (2023, (2,), KS2_PROGRESS, "no KS2 progress scores for 2023/24 and 2024/25 (no KS1 baseline for those "
                               "pupils)"),
    (2024, (4,), ("p8",), "no Progress 8 for 2024/25 and 2025/26 (no KS2 tests for those pupils)"),
]

# Years (start years) DfE did not publish a measure for, by key stage: (base measures or None for all,
# years, reason). A year in here is never joined to anything.
NOT_PUBLISHED = [
    ((2, 4), None, (2019, 2020), "no school results for 2019/20 and 2020/21 (pandemic)"),
    ((2,), KS2_PROGRESS, (2023, 2024), "no KS2 progress scores for 2023/24 and 2024/25"),
    ((4,), ("p8",), (2024, 2025), "no Progress 8 for 2024/25 and 2025/26"),
]

# Cautions (not breaks): (first start year, last start year of the period, key stages, base measures, words).
CAUTIONS = [
    (2016, 2018, (4,), ("att8", "basics_95", "basics_94", "ebacc_aps"),
     "GCSEs moved to 9-1 grades between 2016/17 and 2018/19: read changes across those years with care "
     "(Progress 8 and the gap to national other pupils are steadier guides)"),
]


def _applies(stages, measures, key_stage: int, measure: str) -> bool:
    return int(key_stage) in stages and (measures is None or base_measure(measure) in measures)


def published(measure: str, key_stage: int, start_year: int, level: str = "school") -> bool:
    """Whether DfE published ``measure`` for ``key_stage`` and ``start_year``.

    ``level='school'`` (schools and LAs) or ``'england'``: England's KS4 figures for 2019/20 and
    2020/21 were published (centre- and teacher-assessed grades) though no school's were.
    """
    for stages, measures, yrs, _why in NOT_PUBLISHED:
        if _applies(stages, measures, key_stage, measure) and int(start_year) in yrs:
            if level == "england" and measures is None and int(key_stage) == 4:
                continue
            return False
    return True


def not_published_reason(measure: str, key_stage: int, start_year: int) -> str | None:
    """Why a measure has no school figures for a year (None when it is published)."""
    for stages, measures, yrs, why in NOT_PUBLISHED:
        if _applies(stages, measures, key_stage, measure) and int(start_year) in yrs:
            return why
    return None


def breaks_between(first: int, second: int, key_stage: int, measure: str) -> list[str]:
    """Reasons why two years of one measure must not be joined by a line or compared (empty list = comparable).

    ``first`` and ``second`` are start years (either order). Years missing between them with no known break
    give the reason :data:`MISSING` (a line stops there, but a comparison is allowed: see :func:`comparable`).
    """
    first, second = sorted((int(first), int(second)))
    reasons = [why for after, stages, measures, why in BREAKS
               if _applies(stages, measures, key_stage, measure) and first < after <= second]
    for y in range(first + 1, second):
        why = not_published_reason(measure, key_stage, y)
        if why and why not in reasons and not any(why.split(" (")[0] in r for r in reasons):
            reasons.append(why)
    if second - first > 1 and not reasons:
        reasons.append(MISSING)
    return reasons


def real_breaks(first: int, second: int, key_stage: int, measure: str) -> list[str]:
    """:func:`breaks_between` without the 'years missing between them' entry."""
    return [r for r in breaks_between(first, second, key_stage, measure) if r != MISSING]


def comparable(first: int, second: int, key_stage: int, measure: str) -> bool:
    """True when the two years may be compared: no break in the series between them (years missing in
    between are allowed) and the measure is published in both."""
    return (not real_breaks(first, second, key_stage, measure)
            and published(measure, key_stage, first) and published(measure, key_stage, second))


def cautions(first: int, second: int, key_stage: int, measure: str) -> list[str]:
    """Cautions (not breaks) for comparing two years, e.g. the reformed GCSEs."""
    first, second = sorted((int(first), int(second)))
    return [why for start, end, stages, measures, why in CAUTIONS
            if _applies(stages, measures, key_stage, measure) and first < end and second >= start and first < second]


def segments(years, key_stage: int, measure: str) -> tuple[list[list[int]], list[dict]]:
    """Split years into runs a line may join (consecutive years with no break and no missing year between).

    Returns (runs, breaks); each break is ``{"after": y1, "before": y2, "reasons": [...]}``, where
    reasons may be just 'years missing between them'.
    """
    ys = sorted({int(y) for y in years})
    runs, brks = [], []
    for y in ys:
        if runs and not breaks_between(runs[-1][-1], y, key_stage, measure):
            runs[-1].append(y)
        else:
            if runs:
                brks.append({"after": runs[-1][-1], "before": y,
                             "reasons": breaks_between(runs[-1][-1], y, key_stage, measure)})
            runs.append([y])
    return runs, brks


def notes(key_stages) -> list[str]:
    """One line per break that applies to any of ``key_stages`` (for a pack's notes or the Guide)."""
    out = []
    for after, stages, measures, why in BREAKS:
        if set(stages) & {int(k) for k in key_stages}:
            out.append(f"Break before {_years.label(after)} (KS{'/'.join(map(str, stages))}"
                       f"{', ' + ', '.join(measures) if measures else ''}): {why}.")
    for start, end, stages, measures, why in CAUTIONS:
        if set(stages) & {int(k) for k in key_stages}:
            out.append(f"Caution {_years.label(start)}–{_years.label(end)} (KS{'/'.join(map(str, stages))}, "
                       f"{', '.join(measures)}): {why}.")
    return out
