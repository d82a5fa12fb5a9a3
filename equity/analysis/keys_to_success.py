"""Keys to Success: pick the schools facing the toughest circumstances, match each with a stronger
partner, find hub schools, and check whether selected schools improved more than equivalent ones.

Everything here is a choice of ours, shown on screen and editable:

* **The selection rule** (:class:`Rule`) is a handful of thresholds, rendered in plain words by
  :meth:`Rule.describe`. A school is a candidate when it has a high share of disadvantaged pupils,
  enough of them to measure, weak results for them on the chosen measure, and (if asked) further
  signs of difficulty: Ofsted below good, or a falling trend.
* **Partner matching** (:func:`suggest_partners`) solves ONE assignment problem over all selected
  schools: each gets a partner from its own family (similar context, outside the competition radius)
  who is *clearly* stronger on the measure the school was selected for (the 95% interval of the
  difference lies above zero), preferably in another LA, and no supporter takes more than K schools.
  The margin allows for how the two were picked (:func:`selection_adjusted`): the school was picked
  for a low figure and the partner is the best of about 20 candidates, so both published figures
  are partly luck. Each is pulled toward its family's average by its noise (empirical Bayes)
  before the difference and its interval are taken.
* **Hubs** (:func:`hubs`): schools above their family's average for disadvantaged pupils in every
  year we hold (at least two).
* **Cohort comparison** (:func:`compare_cohort`, :func:`backtest`): change since baseline of the
  selected schools against non-selected schools matched on the same baseline result and context,
  as a difference-in-differences with a bootstrap interval. Schools picked for low results tend to
  bounce back anyway (regression to the mean); matching on the baseline result cancels that.

Uncertainty (:func:`standard_errors`): DfE's published 95% intervals where there are some (Progress 8,
KS2 progress); a binomial standard error from the group's size for percentages; for DfE's
"vs national other pupils" Progress 8 gap, the pupil-level spread implied by the published
Progress 8 intervals. Attainment 8 and EBacc points have no published interval and no known pupil
spread, so they are not offered for claims of "clearly stronger".
"""
from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field, fields, replace
from datetime import date

import numpy as np
import pandas as pd
from scipy.optimize import Bounds, LinearConstraint, linear_sum_assignment, milp

from equity.cache import per_build
from equity import breaks, db, stats, years
# the measures a rule may select on: the catalogue's RULE_MEASURES (each has an interval, above)
from equity.measures import MEASURES, RULE_MEASURES
from equity.words import fmt_short

Z95 = stats.Z95

# Per measure: (threshold for disadvantaged pupils' result, fall since the year before that counts
# as a falling trend). Chosen to sit around the weakest quarter of schools in the LAs we hold and
# well below England's disadvantaged average: P8 -0.5 (England's disadvantaged pupils: -0.40 to
# -0.45 in 2016/17-2018/19); the gap to national other pupils -0.65 (the same P8, as DfE's national
# other pupils scored about +0.1 to +0.15); RWM expected standard 35% (England's disadvantaged:
# 47-51%) or 35 points below national other pupils; English and maths grade 4+ 30%, grade 5+ 10%;
# KS2 progress -3 (about the weakest quarter). A fall counts when it exceeds typical year-to-year
# noise for a group of about 20 pupils: 0.25 P8, 10 percentage points, 1.5 progress points.
DEFAULT_THRESHOLDS = {
    "p8": (-0.5, 0.25), "p8_vs_national_other": (-0.65, 0.25),
    "basics_94": (30.0, 10.0), "basics_95": (10.0, 10.0),
    "rwm_exp": (35.0, 10.0), "rwm_exp_vs_national_other": (-35.0, 10.0),
    "read_prog": (-3.0, 1.5), "writ_prog": (-3.0, 1.5), "mat_prog": (-3.0, 1.5),
    # Attainment 8 of disadvantaged pupils against England's other pupils (DfE's DIFFN_ATT8), for years with
    # no Progress 8: 20 points below is about the weakest quarter of schools (2023/24: -19.7 for all of
    # England); a fall of 6 points is about one standard error of a year-on-year change for 20 pupils.
    "att8_vs_national_other": (-20.0, 6.0),
}
_PUBLISHED_CI = {"p8", "read_prog", "writ_prog", "mat_prog"}
_SD_FROM = {"p8": "p8", "p8_vs_national_other": "p8", "read_prog": "read_prog", "writ_prog": "writ_prog",
            "mat_prog": "mat_prog"}
PHASES = {4: ("secondary", "all-through"), 2: ("primary", "all-through")}


# ---- data ----------------------------------------------------------------------------------------

@per_build(maxsize=16)
def _load(name: str, key_stage: int, path=None) -> pd.DataFrame:
    return db.query(name, {"key_stage": int(key_stage)}, path=path)


@per_build(maxsize=32)
def outcomes(key_stage: int, measure: str, path=None) -> pd.DataFrame:
    """Disadvantaged and other pupils' results in one measure, every school and year held (long
    form; values of groups under 6 pupils are NULL)."""
    return db.query("keys_to_success/outcomes", {"key_stage": int(key_stage), "measure": measure}, path=path)


def context(key_stage: int, path=None) -> pd.DataFrame:
    """School context by year (share disadvantaged, cohort, prior attainment) with name, LA, phase."""
    return _load("keys_to_success/context", key_stage, path)


def ofsted_as_of(as_of: date | None, path=None) -> pd.DataFrame:
    """Each school's latest graded Ofsted judgement on or before ``as_of`` (None: every judgement
    held), under whichever framework it was made (a converter inherits its predecessor's); see
    :func:`equity.analysis.ofsted.latest_as_of`. ``grade`` is the judgement on the old 1-4 scale or its
    equivalent (3 = below good or equivalent, 4 = inadequate or equivalent: the rule's thresholds),
    ``single_word_grade`` the grade itself where there was one; ``stuck`` = below good or
    equivalent at two or more consecutive graded inspections."""
    of = _ofsted().latest_as_of(as_of, path)
    return of.rename(columns={"grade": "single_word_grade"}).rename(columns={"equivalent": "grade"})


def _ofsted():
    from equity.analysis import ofsted
    return ofsted


def ofsted_cutoff(key_stage: int, year: int, la_codes=None, path=None) -> date | None:
    """The date up to which Ofsted judgements count for a rule on ``year``'s results: for the latest
    year of results held (in ``la_codes``, if given), every judgement held (a selection made now uses
    today's inspections); for an earlier year, the end of that academic year (31 August), so a
    back-test never sees the future."""
    las = list(la_codes) if la_codes else None
    latest = max((y for m in RULE_MEASURES[key_stage] for y in years_with(key_stage, m, las, path)), default=None)
    return None if latest is None or year >= latest else date(year + 1, 8, 31)


def published(key_stage: int, path=None) -> pd.DataFrame:
    """DfE's published England and LA figures for disadvantaged and other pupils (as published)."""
    return _load("keys_to_success/published", key_stage, path)


def england_value(key_stage: int, measure: str, year: int, group: str = "disadvantaged", path=None):
    """DfE's published England (state-funded) figure, or None."""
    pub = published(key_stage, path)
    hit = pub[(pub.area_level == "england") & (pub.measure == measure) & (pub.start_year == year)
              & (pub.pupil_group == group)]
    return None if hit.empty else float(hit.value.iloc[0])


@per_build(maxsize=32)
def pupil_sd(key_stage: int, measure: str, path=None) -> float | None:
    """Pupil-level standard deviation implied by DfE's published 95% intervals for a progress
    measure: the median over schools of half the interval width / 1.96 x sqrt(pupils). Used to give
    an interval to a progress figure published without one. None for other measures."""
    base = _SD_FROM.get(measure)
    if base is None:
        return None
    o = outcomes(key_stage, base, path)
    o = o[o.ci_low.notna() & o.ci_high.notna() & (o.cohort >= 6)]
    if o.empty:
        return None
    sd = (o.ci_high - o.ci_low) / (2 * Z95) * np.sqrt(o.cohort)
    return float(sd.median())


def standard_errors(measure: str, value, ci_low, ci_high, cohort, sd: float | None = None):
    """Standard error of a school figure and how it was obtained: the one rule of
    :func:`equity.stats.standard_error` (published 95% interval; binomial for a percentage; the widest
    binomial for a percentage-point gap to national other pupils; the catalogue's pupil-level spread /
    sqrt(pupils) for other scores). ``sd`` is kept for callers and no longer used.
    Returns (array of SEs, NaN where none; method in words)."""
    se = stats.standard_error(measure, value, cohort, ci_low, ci_high)
    if measure in _PUBLISHED_CI:
        how = "DfE's published 95% interval"
    elif MEASURES[measure].unit == "percent":
        how = ("binomial at 50% (the widest), from the number of pupils" if measure.endswith("_vs_national_other")
               else "binomial, from the number of pupils")
    else:
        how = f"pupil-level spread ({stats.pupil_sd(measure):g}) / sqrt(pupils)"
    return se, how


@per_build(maxsize=32)
def measure_table(key_stage: int, measure: str, path=None) -> pd.DataFrame:
    """One row per school and year for one measure: disadvantaged pupils' value, interval, pupils
    and standard error (``value``, ``ci_low``, ``ci_high``, ``cohort``, ``se``), other pupils'
    value and SE (``other_value``, ``other_se``), the within-school gap (others minus disadvantaged,
    ``gap``, ``gap_se``), and the school's context that year (share disadvantaged, prior attainment).
    Groups of fewer than 6 pupils have no value."""
    o = outcomes(key_stage, measure, path)
    sd = pupil_sd(key_stage, measure, path)
    parts = {}
    for g in ("disadvantaged", "other"):
        part = o[o.pupil_group == g][["urn", "la_code", "start_year", "value", "ci_low", "ci_high", "cohort",
                                      "status"]].copy()
        se, method = standard_errors(measure, part.value, part.ci_low, part.ci_high, part.cohort, sd)
        part["se"] = np.where(part.value.notna(), se, np.nan)
        part["se_method"] = method
        parts[g] = part
    d, other = parts["disadvantaged"], parts["other"]
    other = other.rename(columns={"value": "other_value", "se": "other_se", "cohort": "other_cohort"})[
        ["urn", "start_year", "other_value", "other_se", "other_cohort"]]
    t = d.merge(other, on=["urn", "start_year"], how="left")
    t["gap"] = t.other_value - t.value
    t["gap_se"] = np.sqrt(t.se ** 2 + t.other_se ** 2)
    ctx = context(key_stage, path)[["urn", "start_year", "pct_disadvantaged", "prior_attainment", "name",
                                    "la_name", "phase", "is_mainstream", "la_code"]]
    t = t.merge(ctx.rename(columns={"la_code": "ctx_la"}), on=["urn", "start_year"], how="left")
    t["la_code"] = t.la_code.fillna(t.ctx_la)
    t["academic_year"] = t.start_year.map(years.label)
    return t.drop(columns="ctx_la")


@per_build(maxsize=32)
def years_with(key_stage: int, measure: str, la_codes=None, path=None) -> list[int]:
    """Start years in which the measure has at least one disadvantaged-pupils value (in la_codes)."""
    las = [str(c) for c in la_codes] if la_codes else []
    df = db.query("keys_to_success/years_with", {"key_stage": int(key_stage), "measure": measure,
                                                  "all_las": not las, "las": las or [""]}, path=path)
    return [int(y) for y in df.start_year]


@per_build(maxsize=4)
def successors(path=None) -> dict[int, tuple[int, ...]]:
    """URN -> successor URNs (academy conversions, mergers)."""
    df = db.query("keys_to_success/successors", path=path)
    out: dict[int, list[int]] = {}
    for u, s in zip(df.urn, df.successor_urn):
        out.setdefault(int(u), []).append(int(s))
    return {k: tuple(sorted(set(v))) for k, v in out.items()}


def follow(urns, year_table: pd.DataFrame, path=None, max_steps: int = 3) -> pd.DataFrame:
    """Each school's row in ``year_table`` (one year of :func:`measure_table`), following successor
    URNs when the school itself has no figure that year (it converted to an academy: same pupils,
    new URN). Columns of year_table plus ``urn`` (the URN asked for) and ``followed_urn`` (the URN the
    figure belongs to). Schools with no figure under any linked URN are left out."""
    succ = successors(path)
    have = year_table[year_table.value.notna()].drop_duplicates("urn").set_index("urn")
    rows = []
    for u in urns:
        u = int(u)
        frontier, seen, hit = [u], {u}, None
        for _ in range(max_steps + 1):
            found = [x for x in frontier if x in have.index]
            if found:
                hit = found[0]
                break
            frontier = [s for x in frontier for s in succ.get(x, ()) if s not in seen]
            seen.update(frontier)
            if not frontier:
                break
        if hit is not None:
            rows.append({**have.loc[hit].to_dict(), "urn": u, "followed_urn": hit})
    cols = ["urn", *[c for c in year_table.columns if c != "urn"], "followed_urn"]
    return pd.DataFrame(rows, columns=cols)


def comparable(first: int, second: int, key_stage: int, measure: str) -> list[str]:
    """Breaks in the series between two years (empty = the two years may be compared). Missing
    years in between are not a break; a pandemic gap or a change of scale is."""
    return breaks.real_breaks(first, second, key_stage, measure)


def measure_label(measure: str) -> str:
    m = MEASURES.get(measure)
    return m.label if m else measure


# ---- the selection rule --------------------------------------------------------------------------

@dataclass(frozen=True)
class Rule:
    """Which schools are candidates for Keys to Success support. All thresholds are editable.

    A school qualifies when ALL of these hold (a criterion set to None is switched off):

    1. ``min_pct_disadvantaged``: at least this share of its pupils at the key stage are
       disadvantaged. Default 25% at KS4 (England's mainstream average is about 26%) and 30% at KS2
       (about England's average): the programme is for schools where disadvantage is a large part
       of the job, not for a few pupils in an advantaged school.
    2. ``min_disadvantaged_pupils``: enough disadvantaged pupils to measure (default 10 at KS4, 6 at
       KS2, the smallest group the dashboard shows): below that a figure is one or two children.
    3. ``max_value`` on ``measure``: disadvantaged pupils' result at or below the threshold.
       Defaults: KS4 Progress 8 of -0.5 or lower (half a grade per subject below pupils nationally
       with the same KS2 results; England's disadvantaged pupils averaged -0.40 to -0.45 in
       2016/17-2018/19); KS2 35% or fewer reaching the expected standard in reading, writing and
       maths (England's disadvantaged pupils: 47-51%).
    4. at least ``min_extra`` of the further signs: the Ofsted sign (the latest graded judgement
       held is below good or its equivalent, ``ofsted_grade_at_least`` 3, or inadequate or
       equivalent, 4; rules per framework in :mod:`equity.analysis.ofsted`), and a fall of at least
       ``min_fall`` since the previous comparable year. Default 0: they are reported as reasons but
       not required, because Ofsted judgements are years old for many schools and a one-year fall
       is mostly noise for small groups; raise it to 1 to require one of them. Whether a school is
       "stuck" (below good or equivalent at two or more consecutive graded inspections) is reported
       alongside.
    """
    key_stage: int = 4
    year: int | None = None  # start year; None = latest year with results in the chosen LA(s)
    measure: str = "p8"  # one of RULE_MEASURES[key_stage]
    max_value: float | None = -0.5
    min_pct_disadvantaged: float | None = 25.0
    min_disadvantaged_pupils: int | None = 10
    ofsted_grade_at_least: int | None = 3
    min_fall: float | None = 0.25
    min_extra: int = 0
    why_measure: str = ""  # why this measure and not the key stage's first (e.g. no Progress 8 that year)

    @classmethod
    def default(cls, key_stage: int = 4, **changes) -> Rule:
        """The default rule for a key stage; ``measure=`` picks that measure's default thresholds
        (:data:`DEFAULT_THRESHOLDS`), other keywords override single thresholds."""
        measure = changes.pop("measure", None) or RULE_MEASURES[key_stage][0]
        max_value, min_fall = DEFAULT_THRESHOLDS[measure]
        base = cls(key_stage=key_stage, measure=measure, max_value=max_value, min_fall=min_fall,
                   min_pct_disadvantaged=25.0 if key_stage == 4 else 30.0,
                   min_disadvantaged_pupils=10 if key_stage == 4 else 6)
        return replace(base, **changes)

    def with_year(self, year: int) -> Rule:
        return replace(self, year=int(year))

    def as_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict) -> Rule:
        names = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in d.items() if k in names})

    def criteria(self) -> list[str]:
        """The rule as a list of plain-words conditions."""
        label = measure_label(self.measure)
        unit = MEASURES[self.measure].unit if self.measure in MEASURES else ""
        out = []
        if self.min_pct_disadvantaged is not None:
            out.append(f"at least {self.min_pct_disadvantaged:g}% of pupils at KS{self.key_stage} are disadvantaged")
        if self.min_disadvantaged_pupils:
            out.append(f"at least {self.min_disadvantaged_pupils} disadvantaged pupils at the end of KS{self.key_stage}")
        if self.max_value is not None:
            thr = f"{self.max_value:g}%" if unit == "percent" and "vs_national" not in self.measure \
                else f"{self.max_value:+g}" if unit == "score" else f"{self.max_value:g}"
            out.append(f"disadvantaged pupils' {label} is {thr} or lower")
        extras = []
        if self.ofsted_grade_at_least is not None:
            extras.append("Ofsted's latest graded judgement held is "
                          + ("inadequate" if self.ofsted_grade_at_least >= 4 else "below good") + " or equivalent")
        if self.min_fall is not None:
            extras.append(f"disadvantaged pupils' {label} fell by at least {self.min_fall:g} since the year before")
        if extras and self.min_extra > 0:
            out.append(f"at least {self.min_extra} of: " + "; ".join(extras))
        return out

    def describe(self) -> str:
        """The rule in one plain-words paragraph."""
        year = years.label(self.year) if self.year is not None else "the latest year held"
        text = f"In {year}, a school is a candidate when " + "; and ".join(self.criteria()) + "."
        if self.why_measure:
            text += " " + self.why_measure
        if self.min_extra == 0 and (self.ofsted_grade_at_least is not None or self.min_fall is not None):
            text += (" The Ofsted sign (with the judgement's date and framework), whether the school is stuck, and a "
                     "falling trend are reported as further reasons but not required.")
        return text


WHY_DEFAULTS = """\
- **Share of disadvantaged pupils** at least 25% at KS4 (England's mainstream average is about 26%)
  and 30% at KS2 (about England's average): the programme is for schools where disadvantage is a
  large part of the job, not for a handful of pupils in an advantaged school.
- **Enough disadvantaged pupils to measure**: at least 10 at KS4 and 6 at KS2 (the smallest group
  this dashboard shows). Below that a school's figure is one or two children.
- **Weak results for disadvantaged pupils**: KS4 Progress 8 of -0.5 or lower (half a grade per
  subject below pupils nationally with the same KS2 results; England's disadvantaged pupils
  averaged -0.40 to -0.45 in 2016/17-2018/19); KS2 35% or fewer reaching the expected standard in
  reading, writing and maths (England's disadvantaged pupils: 47-51%). Other measures: roughly the
  weakest quarter of schools in the LAs we hold.
- **Further signs** (the Ofsted sign: the latest graded judgement held is below good or its
  equivalent under the framework it was made in, see below; a fall since the year before larger
  than the usual year-to-year noise) are reported as reasons but not required by default: Ofsted
  judgements are years old for many schools (each is shown with its date, and marked when dated),
  and a one-year fall is mostly noise for small groups. Require one or both in the sidebar.
  **Stuck** schools (below good or equivalent at two or more consecutive graded inspections, as
  DfE's RISE programme uses the word) are reported too.
"""


def default_rule(key_stage: int, la_codes=None, path=None, **changes) -> Rule:
    """The default rule for the latest year held for the LA(s) at the key stage.

    Its measure is the key stage's first (Progress 8, RWM expected standard) unless DfE published none
    that year: then the fallback (Progress 8 -> Attainment 8 against national other pupils, DfE's
    DIFFN_ATT8), and the rule says why (``why_measure``). Keywords override thresholds as in Rule.default.
    """
    from equity import latest
    las = [str(c) for c in la_codes] if la_codes else []
    held = [latest.latest_year(c, key_stage, path) for c in las] if las else \
        [int(y) for y in latest.la_years(path).query("key_stage == @key_stage").latest_year]
    held = [y for y in held if y is not None]
    year = changes.pop("year", None) or (max(held) if held else None)
    measure = changes.pop("measure", None)
    why = ""
    if measure is None:
        measure = RULE_MEASURES[key_stage][0]
        if year is not None:
            measure, why = latest.usable_measure(key_stage, measure, year, path, allowed=RULE_MEASURES[key_stage])
            if measure not in [m for m in RULE_MEASURES[key_stage] if year in years_with(key_stage, m, las or None, path)]:
                have = [m for m in RULE_MEASURES[key_stage] if year in years_with(key_stage, m, las or None, path)]
                measure = have[0] if have else measure
    return Rule.default(key_stage, measure=measure, year=year, why_measure=why or "", **changes)


def _latest_year(rule: Rule, la_codes, path) -> int:
    ys = years_with(rule.key_stage, rule.measure, la_codes, path)
    if not ys:
        raise ValueError(f"no {measure_label(rule.measure)} results for disadvantaged pupils at KS{rule.key_stage}"
                         + (f" in {', '.join(la_codes)}" if la_codes else ""))
    return ys[-1]


@per_build(maxsize=64)
def evaluate(rule: Rule, la_codes=None, path=None) -> pd.DataFrame:
    """Apply the rule to every mainstream school with results that year (in ``la_codes`` if given).

    One row per school: the figures the rule looks at, a True/False column per criterion
    (``meets_share``, ``meets_pupils``, ``meets_outcome``, ``meets_ofsted``, ``meets_trend``),
    ``selected``, and ``reasons`` (plain words: why it qualifies, or what it misses).
    """
    la_codes = list(la_codes) if la_codes else None
    if rule.year is None:
        rule = rule.with_year(_latest_year(rule, la_codes, path))
    t = measure_table(rule.key_stage, rule.measure, path)
    y = rule.year
    cur = t[(t.start_year == y) & (t.cohort.notna())].copy()
    cur = cur[cur.is_mainstream.fillna(True).astype(bool)]
    if la_codes:
        cur = cur[cur.la_code.isin(la_codes)]
    prev = t[t.start_year == y - 1][["urn", "value"]].rename(columns={"value": "previous_value"})
    cur = cur.merge(prev, on="urn", how="left")
    trend_ok = not comparable(y - 1, y, rule.key_stage, rule.measure)
    if not trend_ok:
        cur["previous_value"] = np.nan
    sign = 1 if MEASURES.get(rule.measure, MEASURES["p8"]).higher_is_better else -1
    cur["change"] = cur.value - cur.previous_value
    as_of = ofsted_cutoff(rule.key_stage, y, la_codes, path)
    of = ofsted_as_of(as_of, path)[["urn", "grade", "single_word_grade", "inspection_date", "inherited", "framework",
                                    "summary", "below_good_run", "stuck", "previous_date", "previous_framework",
                                    "previous_summary"]]
    cur = cur.merge(of.rename(columns={"grade": "ofsted_grade", "inspection_date": "ofsted_date",
                                       "inherited": "ofsted_inherited", "framework": "ofsted_framework",
                                       "summary": "ofsted_summary", "below_good_run": "ofsted_run",
                                       "stuck": "ofsted_stuck"}), on="urn", how="left")
    ofs = _ofsted()
    cur["ofsted_latest"] = [ofs.describe(r.ofsted_framework, r.ofsted_date, r.ofsted_summary, r.single_word_grade,
                                         as_of, bool(r.ofsted_inherited) if pd.notna(r.ofsted_inherited) else False)
                            for r in cur.itertuples()]
    cur["ofsted_dated"] = [ofs.is_dated(d, as_of) for d in cur.ofsted_date]

    cur["meets_share"] = True if rule.min_pct_disadvantaged is None else \
        cur.pct_disadvantaged >= rule.min_pct_disadvantaged
    cur["meets_pupils"] = True if not rule.min_disadvantaged_pupils else cur.cohort >= rule.min_disadvantaged_pupils
    cur["meets_outcome"] = True if rule.max_value is None else \
        (sign * cur.value <= sign * rule.max_value) & cur.value.notna()
    cur["meets_ofsted"] = False if rule.ofsted_grade_at_least is None else \
        cur.ofsted_grade >= rule.ofsted_grade_at_least
    cur["meets_trend"] = False if rule.min_fall is None else (sign * cur.change <= -rule.min_fall)
    cur["meets_stuck"] = cur.ofsted_stuck
    for c in ("meets_share", "meets_pupils", "meets_outcome", "meets_ofsted", "meets_trend", "meets_stuck"):
        cur[c] = pd.Series(cur[c], index=cur.index).fillna(False).astype(bool)
    cur["n_extra"] = cur.meets_ofsted.astype(int) + cur.meets_trend.astype(int)
    cur["selected"] = cur.meets_share & cur.meets_pupils & cur.meets_outcome & (cur.n_extra >= rule.min_extra)

    label = measure_label(rule.measure)

    def reasons(r) -> list[str]:
        out = []
        ok = r.selected
        if rule.min_pct_disadvantaged is not None and (r.meets_share or not ok):
            pct = "unknown" if pd.isna(r.pct_disadvantaged) else f"{r.pct_disadvantaged:.0f}%"
            out.append(f"{pct} of pupils disadvantaged" + ("" if r.meets_share else
                                                           f" (below the {rule.min_pct_disadvantaged:g}% threshold)"))
        if rule.min_disadvantaged_pupils and not r.meets_pupils:
            out.append(f"only {int(r.cohort)} disadvantaged pupils (fewer than {rule.min_disadvantaged_pupils})")
        if rule.max_value is not None:
            if pd.isna(r.value):
                out.append(f"no published {label} for its disadvantaged pupils")
            else:
                ci = "" if pd.isna(r.ci_low) else f" (95% interval {fmt_short(rule.measure, r.ci_low)} to {fmt_short(rule.measure, r.ci_high)})"
                out.append(f"disadvantaged pupils' {label} {fmt_short(rule.measure, r.value)}{ci}, "
                           f"{int(r.cohort)} pupils" + ("" if r.meets_outcome else " (above the threshold)"))
        if r.meets_ofsted:
            out.append(f"Ofsted {r.ofsted_latest}")
        if r.meets_stuck:
            out.append(ofs.stuck_words(r.ofsted_run, r.previous_framework, r.previous_date, r.previous_summary, as_of))
        if r.meets_trend:
            out.append(f"{label} fell from {fmt_short(rule.measure, r.previous_value)} to {fmt_short(rule.measure, r.value)} "
                       f"since {years.label(y - 1)}")
        if rule.min_extra and r.n_extra < rule.min_extra:
            out.append(f"shows {int(r.n_extra)} of the further signs (needs {rule.min_extra})")
        return out

    cur["reasons"] = [reasons(r) for r in cur.itertuples()]
    cur["reasons_text"] = cur.reasons.map("; ".join)
    cur["rule_year"] = y
    cols = ["urn", "name", "la_code", "la_name", "phase", "start_year", "academic_year", "pct_disadvantaged",
            "prior_attainment", "cohort", "value", "ci_low", "ci_high", "se", "previous_value", "change",
            "ofsted_grade", "ofsted_date", "ofsted_framework", "ofsted_latest", "ofsted_dated", "meets_share",
            "meets_pupils", "meets_outcome", "meets_ofsted", "meets_trend", "meets_stuck", "n_extra", "selected",
            "reasons", "reasons_text"]
    return cur[cols].sort_values(["selected", "value"], ascending=[False, sign > 0]).reset_index(drop=True)


def candidates(rule: Rule, la_codes=None, path=None) -> pd.DataFrame:
    """The schools the rule selects (see :func:`evaluate`), weakest first."""
    ev = evaluate(rule, la_codes, path)
    return ev[ev.selected].reset_index(drop=True)


def near_misses(evaluated: pd.DataFrame) -> pd.DataFrame:
    """Schools from :func:`evaluate` that are not selected but meet all but one of the three main
    conditions (share of disadvantaged pupils, their number, their result): the rule's margin."""
    main = evaluated[["meets_share", "meets_pupils", "meets_outcome"]].sum(axis=1)
    return evaluated[~evaluated.selected & (main == 2)].reset_index(drop=True)


def resolve_year(rule: Rule, la_codes=None, path=None) -> Rule:
    """The rule with its year filled in (latest year with results) when left open."""
    return rule if rule.year is not None else rule.with_year(_latest_year(rule, list(la_codes or []) or None, path))


# ---- the assignment --------------------------------------------------------------------------------

def assign(cost: np.ndarray, capacity: int = 2, per_school: int = 1) -> list[tuple[int, int]]:
    """Optimal assignment of schools (rows) to supporters (columns).

    ``cost[i, j]`` is the cost of pairing school i with supporter j (``inf`` = not allowed). Each
    supporter takes at most ``capacity`` schools; each school gets up to ``per_school`` supporters
    (1 = a pair, 2 = a trio). First as many schools as possible are matched, then the total cost
    is the lowest possible: one problem over all schools, never school by school.

    Pairs: Hungarian algorithm (``scipy.optimize.linear_sum_assignment``) on the cost matrix with
    each supporter's column repeated ``capacity`` times. Trios: the same problem as a min-cost
    flow (a transportation LP, whose optimum is integral), solved with ``scipy.optimize.milp``.
    Returns (school index, supporter index) pairs.
    """
    cost = np.asarray(cost, dtype=float)
    n, m = cost.shape
    if n == 0 or m == 0 or capacity < 1 or per_school < 1:
        return []
    allowed = np.isfinite(cost)
    if not allowed.any():
        return []
    finite = cost[allowed]
    # A forbidden pair costs more than any complete set of allowed pairs, so the optimum matches
    # as many schools as possible before it looks at cost.
    big = (np.abs(finite).max() + 1.0) * (n * per_school + 1) * 10
    if per_school == 1:
        wide = np.repeat(np.where(allowed, cost, big), capacity, axis=1)
        rows, cols = linear_sum_assignment(wide)
        return sorted((int(r), int(c // capacity)) for r, c in zip(rows, cols) if allowed[r, c // capacity])
    ii, jj = np.nonzero(allowed)
    k = len(ii)
    # Reward each match by more than any cost difference: maximise matches first, then min cost.
    reward = (np.abs(finite).max() + 1.0) * (n * per_school + 1) * 10
    c = cost[ii, jj] - reward
    a_school = np.zeros((n, k))
    a_school[ii, np.arange(k)] = 1
    a_supp = np.zeros((m, k))
    a_supp[jj, np.arange(k)] = 1
    res = milp(c, integrality=np.ones(k), bounds=Bounds(0, 1),
               constraints=[LinearConstraint(a_school, 0, per_school), LinearConstraint(a_supp, 0, capacity)])
    if res.x is None:
        return []
    return sorted((int(ii[t]), int(jj[t])) for t in np.nonzero(res.x > 0.5)[0])


def greedy_assign(cost: np.ndarray, capacity: int = 2) -> list[tuple[int, int]]:
    """School by school, each takes its cheapest supporter with room left. For comparison only: it
    can leave a school unmatched, or pay more, where :func:`assign` does not."""
    cost = np.asarray(cost, dtype=float)
    load = np.zeros(cost.shape[1], dtype=int)
    out = []
    for i in range(cost.shape[0]):
        order = np.argsort(cost[i])
        for j in order:
            if np.isfinite(cost[i, j]) and load[j] < capacity:
                out.append((i, int(j)))
                load[j] += 1
                break
    return out


# ---- partner suggestions -----------------------------------------------------------------------

@dataclass(frozen=True)
class MatchSettings:
    """How partners are matched. Defaults:

    * ``capacity`` 2: a supporting school takes at most two schools (GM's pairs and trios);
    * ``per_school`` 1: a pair (2 = a trio: two supporters for one school);
    * ``radius_km`` None: the families' default competition radius; partners are never nearer;
    * ``family_size`` 20: partners come from the school's family of nearest schools in context;
    * ``same_la_penalty`` 0.5: added to the context distance of a partner in the same LA, so
      another LA wins unless the same-LA school is clearly more similar (about half a standard
      deviation on one context variable);
    * ``supporter_max_ofsted`` 2: a supporter was last judged good or outstanding (or not known);
    * ``max_km`` None: partners may be anywhere in England. A number keeps partners within that many
      km (straight line), so that staff can visit: a family drawn from all of England can otherwise
      offer a partner hundreds of km away.
    """
    capacity: int = 2
    per_school: int = 1
    radius_km: float | None = None
    family_size: int = 20
    weights: dict | None = None
    same_la_penalty: float = 0.5
    supporter_max_ofsted: int | None = 2
    max_km: float | None = None


@dataclass
class Suggestions:
    """The outcome of :func:`suggest_partners`.

    ``pairs``: one row per (school, supporter) suggested, with the margin on the rule's measure
    (``margin`` = supporter minus school for disadvantaged pupils, ``margin_low``/``margin_high``
    its 95% interval), distance in km, context distance, same LA or not, and ``explanation``.
    ``schools``: one row per selected school, matched or with the reason it could not be.
    ``edges``: every allowed (school, supporter) pair and its cost (the problem that was solved).
    ``adjustment``: how the margins allow for selection (:func:`selection_adjusted`'s ``info``).
    ``validation``: how much families explain this measure at this key stage
    (:func:`equity.analysis.families.validation`), or None when it cannot be checked.
    """
    rule: Rule
    settings: MatchSettings
    radius_km: float
    pairs: pd.DataFrame
    schools: pd.DataFrame
    edges: pd.DataFrame
    total_cost: float
    adjustment: dict = field(default_factory=dict)
    validation: dict | None = None

    def grouped(self) -> list[dict]:
        """One entry per matched school: school_urn, partner_urns, measure, margin, margin_low, km
        (for a trio the smallest margin, lower end and distance of its partners)."""
        out = []
        for urn, g in self.pairs.groupby("school_urn", sort=False):
            out.append({"school_urn": int(urn), "school_name": g.school_name.iloc[0],
                        "partner_urns": [int(u) for u in g.partner_urn],
                        "partner_names": list(g.partner_name), "measure": self.rule.measure,
                        "margin": round(float(g.margin.min()), 3), "margin_low": round(float(g.margin_low.min()), 3),
                        "km": round(float(g.km.min()), 1), "explanation": " ".join(g.explanation)})
        return out


def _families():
    from equity.analysis import families  # written alongside this module; imported late so this one loads first
    return families


def selection_adjusted(t: pd.DataFrame, key_stage: int, measure: str, year: int, settings: MatchSettings,
                       radius: float, path=None) -> tuple[pd.DataFrame, dict]:
    """Each school's figure for disadvantaged pupils allowing for selection (empirical Bayes).

    A school picked *because* its figure is low, and a partner that is the best of about 20 family
    members, both owe part of their figure to luck: their next figures will likely be less extreme
    (regression to the mean; the winner's curse). So each figure is pulled toward its family's
    average (the plain mean of its family members' figures that year, or the phase's mean where
    fewer than 3 members have one) in proportion to its noise: reliability = tau² / (tau² + se²),
    tau² being how much schools' true figures differ around their family's average (method of
    moments over every school with a figure). The adjusted figure's standard error adds the
    uncertainty of the average it is pulled toward (spread of the members' figures / sqrt(members)).
    Returns (table with urn, prior, value_adjusted, se_adjusted, reliability; info with tau,
    schools, phase_mean, on_family_mean).
    """
    d = t[t.value.notna() & (t.se > 0)][["urn", "value", "se"]].drop_duplicates("urn")
    phase_mean = float(d.value.mean()) if len(d) else float("nan")
    prior = pd.Series(phase_mean, index=d.urn.to_numpy())
    prior_se = pd.Series(float(d.value.std() / math.sqrt(len(d))) if len(d) > 1 else 0.0, index=prior.index)
    on_family = 0
    try:
        fams = _families().all_families(size=settings.family_size, radius_km=radius, weights=settings.weights,
                                        key_stage=key_stage, start_year=year, path=path)
    except (KeyError, ValueError, LookupError):
        fams = None
    if fams is not None and len(fams):
        vals = d.set_index("urn").value
        f = fams.assign(v=fams.member_urn.map(vals)).dropna(subset=["v"]).groupby("urn").v.agg(["mean", "count",
                                                                                               "std"])
        f = f[f["count"] >= 3]
        has = prior.index.isin(f.index)
        prior[has] = f.loc[prior.index[has], "mean"].to_numpy()
        prior_se[has] = (f["std"] / np.sqrt(f["count"])).loc[prior.index[has]].to_numpy()
        on_family = int(has.sum())
    pr = prior.loc[d.urn].to_numpy()
    tau2 = stats.between_variance(d.value.to_numpy() - pr, d.se.to_numpy() ** 2) if len(d) > 2 else float("nan")
    adj, se_adj, rel = stats.shrink(d.value, d.se, pr, tau2 if np.isfinite(tau2) else 0.0,
                                    prior_se.loc[d.urn].to_numpy())
    out = pd.DataFrame({"urn": d.urn.to_numpy(), "prior": pr, "value_adjusted": adj, "se_adjusted": se_adj,
                        "reliability": rel})
    info = {"method": "empirical Bayes", "tau": math.sqrt(tau2) if np.isfinite(tau2) else float("nan"),
            "schools": int(len(d)), "on_family_mean": on_family, "phase_mean": phase_mean,
            "text": (f"Both figures are pulled toward their family's average by their noise before the margin is "
                     f"taken (empirical Bayes: schools' true figures differ by about "
                     f"{math.sqrt(tau2) if np.isfinite(tau2) else float('nan'):.2f} around their family's average, "
                     f"over {len(d):,} schools), because the school was picked for a low figure and the partner is "
                     f"the best of its family: both are partly luck, and the next figures are likely less extreme.")}
    return out, info


def _family_edges(selected: pd.DataFrame, rule: Rule, settings: MatchSettings, radius: float, path) -> pd.DataFrame:
    fam = _families()
    rows = []
    for urn in selected.urn:
        try:
            f = fam.family(int(urn), size=settings.family_size, radius_km=radius, weights=settings.weights,
                           key_stage=rule.key_stage, start_year=rule.year, path=path).members
        except (KeyError, ValueError, LookupError):
            continue
        if f is None or f.empty:
            continue
        f = f.assign(school_urn=int(urn))
        rows.append(f[[c for c in ("school_urn", "urn", "distance", "closeness", "km") if c in f.columns]])
    if not rows:
        return pd.DataFrame(columns=["school_urn", "partner_urn", "distance", "closeness", "km"])
    return pd.concat(rows, ignore_index=True).rename(columns={"urn": "partner_urn"})


@per_build(maxsize=32)
def suggest_partners(rule: Rule, la_codes=None, settings: MatchSettings = MatchSettings(), path=None) -> Suggestions:
    """Suggest a stronger partner (or two) for every school the rule selects in ``la_codes``.

    Candidates for school S are the members of S's family (similar context, outside the
    competition radius, any LA) that, in the rule's year: teach the same phase; are mainstream;
    were not themselves selected (anywhere); have at least as many disadvantaged pupils as the rule
    asks; were last judged good or better by Ofsted (``supporter_max_ofsted``); and are **clearly
    stronger** for disadvantaged pupils on the rule's measure: the 95% interval of the difference
    (supporter minus S, standard errors combined) lies wholly above zero. The cost of a pair is
    the family (context) distance plus ``same_la_penalty`` when both are in the same LA; one
    optimal assignment (:func:`assign`) then matches every school it can, with no supporter taking
    more than ``capacity`` schools, at the least total cost.
    """
    la_codes = list(la_codes) if la_codes else None
    rule = resolve_year(rule, la_codes, path)
    radius = settings.radius_km if settings.radius_km is not None else _families().DEFAULT_RADIUS_KM
    everyone = evaluate(rule, None, path)  # supporters may come from any LA
    selected = everyone[everyone.selected & (everyone.la_code.isin(la_codes) if la_codes else True)]
    selected = selected.reset_index(drop=True)
    edges = _family_edges(selected, rule, settings, radius, path)

    t = measure_table(rule.key_stage, rule.measure, path)
    t = t[t.start_year == rule.year]
    of = ofsted_as_of(ofsted_cutoff(rule.key_stage, rule.year, la_codes, path), path)[["urn", "grade"]]
    sup = t.merge(of.rename(columns={"grade": "ofsted_grade"}), on="urn", how="left")
    sup = sup.rename(columns={c: f"p_{c}" for c in sup.columns})
    adj, adjustment = selection_adjusted(t, rule.key_stage, rule.measure, rule.year, settings, radius, path)
    adj = adj.set_index("urn")
    sch = selected[["urn", "name", "la_code", "phase", "value", "se", "ci_low", "ci_high", "cohort",
                    "pct_disadvantaged", "prior_attainment"]].rename(columns=lambda c: f"s_{c}")
    e = edges.merge(sch, left_on="school_urn", right_on="s_urn").merge(sup, left_on="partner_urn", right_on="p_urn")
    for who in ("s", "p"):
        u = e[f"{who}_urn"]
        e[f"{who}_value_adjusted"] = u.map(adj.value_adjusted)
        e[f"{who}_se_adjusted"] = u.map(adj.se_adjusted)
        e[f"{who}_reliability"] = u.map(adj.reliability)
    sign = 1 if MEASURES.get(rule.measure, MEASURES["p8"]).higher_is_better else -1
    # as published: the two figures and their noise
    e["margin_published"] = sign * (e.p_value - e.s_value)
    se_pub = np.sqrt(e.s_se ** 2 + e.p_se ** 2)
    e["margin_published_low"] = e.margin_published - Z95 * se_pub
    e["margin_published_high"] = e.margin_published + Z95 * se_pub
    # allowing for selection: what "clearly stronger" is judged on
    e["margin"] = sign * (e.p_value_adjusted - e.s_value_adjusted)
    e["margin_se"] = np.sqrt(e.s_se_adjusted ** 2 + e.p_se_adjusted ** 2)
    e["margin_low"] = e.margin - Z95 * e.margin_se
    e["margin_high"] = e.margin + Z95 * e.margin_se
    e["same_la"] = e.s_la_code == e.p_la_code
    selected_anywhere = set(everyone.loc[everyone.selected, "urn"])
    min_pupils = rule.min_disadvantaged_pupils or 6

    def why_not(r) -> str | None:
        if r.partner_urn in selected_anywhere:
            return "itself selected for support"
        if pd.isna(r.p_value):
            return "no published figure for its disadvantaged pupils"
        if not (r.p_is_mainstream if pd.notna(r.p_is_mainstream) else True):
            return "not mainstream"
        ph_s, ph_p = r.s_phase, r.p_phase
        if ph_p not in PHASES[rule.key_stage] or (ph_s != ph_p and "all-through" not in (ph_s, ph_p)
                                                   and pd.notna(ph_s)):
            return "different phase"
        if r.p_cohort < min_pupils:
            return f"fewer than {min_pupils} disadvantaged pupils"
        if settings.supporter_max_ofsted is not None and pd.notna(r.p_ofsted_grade) \
                and r.p_ofsted_grade > settings.supporter_max_ofsted:
            return "Ofsted: latest judgement held below good or equivalent"
        if not (r.km > radius):
            return "inside the competition radius"
        if settings.max_km is not None and r.km > settings.max_km:
            return f"more than {settings.max_km:g} km away"
        if not (r.margin_low > 0):
            return "not clearly stronger on the measure"
        return None

    e["excluded_because"] = [why_not(r) for r in e.itertuples()] if len(e) else []
    e["cost"] = e.distance + settings.same_la_penalty * e.same_la.astype(float)
    ok = e[e.excluded_because.isna()].reset_index(drop=True)

    schools = list(selected.urn)
    supporters = sorted(ok.partner_urn.unique().tolist())
    si = {u: i for i, u in enumerate(schools)}
    pj = {u: j for j, u in enumerate(supporters)}
    cost = np.full((len(schools), len(supporters)), np.inf)
    for r in ok.itertuples():
        cost[si[r.school_urn], pj[r.partner_urn]] = r.cost
    chosen = assign(cost, settings.capacity, settings.per_school)
    picked = pd.DataFrame([(schools[i], supporters[j]) for i, j in chosen], columns=["school_urn", "partner_urn"])
    pairs = picked.merge(ok, on=["school_urn", "partner_urn"], how="left")
    load = pairs.partner_urn.value_counts().to_dict()
    label = measure_label(rule.measure)
    yl = years.label(rule.year)

    def explain(r) -> str:
        where = f"in another LA ({r.p_la_name or r.p_la_code})" if not r.same_la else "in the same LA"
        close = f", closeness {r.closeness}" if hasattr(r, "closeness") and pd.notna(r.closeness) else ""
        ctx = (f"{r.p_pct_disadvantaged:.0f}% disadvantaged against {r.s_pct_disadvantaged:.0f}%"
               if pd.notna(r.p_pct_disadvantaged) and pd.notna(r.s_pct_disadvantaged) else "similar context")
        return (f"{r.p_name} ({r.partner_urn}) for {r.s_name}: in {yl} its disadvantaged pupils' {label} was "
                f"{fmt_short(rule.measure, r.p_value)} ({int(r.p_cohort)} pupils) against {fmt_short(rule.measure, r.s_value)} "
                f"({int(r.s_cohort)} pupils), {fmt_short(rule.measure, r.margin_published, True)} as published; allowing "
                f"for chance and for how the two were picked, {fmt_short(rule.measure, r.margin, True)} better "
                f"(95% interval {fmt_short(rule.measure, r.margin_low, True)} to {fmt_short(rule.measure, r.margin_high, True)}). "
                f"Similar context ({ctx}; family distance {r.distance:.2f}{close}), {r.km:.0f} km away "
                f"(outside the {radius:g} km competition radius), {where}; it would support "
                f"{load.get(r.partner_urn, 0)} school(s) in this plan (cap {settings.capacity}).")

    if len(pairs):
        pairs["explanation"] = [explain(r) for r in pairs.itertuples()]
    pairs = pairs.rename(columns={"s_name": "school_name", "p_name": "partner_name", "s_la_code": "school_la",
                                  "p_la_code": "partner_la", "s_value": "school_value", "p_value": "partner_value",
                                  "s_cohort": "school_pupils", "p_cohort": "partner_pupils"})
    pairs = pairs.rename(columns={"s_value_adjusted": "school_value_adjusted",
                                  "p_value_adjusted": "partner_value_adjusted",
                                  "s_reliability": "school_reliability", "p_reliability": "partner_reliability"})
    keep = ["school_urn", "school_name", "school_la", "partner_urn", "partner_name", "partner_la", "school_value",
            "partner_value", "margin", "margin_low", "margin_high", "margin_published", "margin_published_low",
            "margin_published_high", "school_value_adjusted", "partner_value_adjusted", "school_reliability",
            "partner_reliability", "school_pupils", "partner_pupils", "km", "distance", "same_la", "cost",
            "explanation"]
    pairs = pairs.reindex(columns=keep)

    # Why a school got no partner.
    status = []
    for urn in schools:
        mine = e[e.school_urn == urn]
        if urn in set(pairs.school_urn):
            status.append("matched")
        elif mine.empty:
            status.append("no family found (no context data or location)")
        elif mine.excluded_because.isna().any():
            status.append("every clearly stronger family member is already supporting its cap of schools")
        else:
            counts = mine.excluded_because.value_counts()
            status.append("no family member qualifies: " + "; ".join(f"{n} {why}" for why, n in counts.items()))
    sch_out = selected[["urn", "name", "la_code", "value", "cohort", "reasons_text"]].copy()
    sch_out["status"] = status
    sch_out["partners"] = [", ".join(str(u) for u in pairs.loc[pairs.school_urn == u, "partner_urn"]) for u in schools]
    edges_out = e[["school_urn", "partner_urn", "p_name", "p_la_code", "margin", "margin_low", "margin_published",
                   "margin_published_low", "km", "distance", "same_la", "cost",
                   "excluded_because"]].rename(columns={"p_name": "partner_name", "p_la_code": "partner_la"})
    try:
        valid = _families().validation(rule.measure, size=settings.family_size, radius_km=radius,
                                       weights=settings.weights, key_stage=rule.key_stage, start_year=rule.year,
                                       path=path)
    except (KeyError, ValueError, LookupError):
        valid = None
    return Suggestions(rule, settings, radius, pairs, sch_out, edges_out,
                       float(pairs.cost.sum()) if len(pairs) else 0.0, adjustment, valid)


# ---- hubs ------------------------------------------------------------------------------------------

def family_comparison(key_stage: int, measure: str, start_year: int, urns=None, *, size: int = 20,
                      radius_km: float | None = None, weights=None, min_members: int = 3, path=None) -> pd.DataFrame:
    """Each school's disadvantaged pupils against its family's average in one year.

    ``family_mean`` is the plain average over family members with a figure that year (each school
    counts once), ``family_n`` how many, ``vs_family`` school minus family mean, with a 95% interval
    combining the school's standard error and the family mean's (spread / sqrt(n)). Schools whose
    family has fewer than ``min_members`` figures get no comparison.
    """
    fam = _families()
    radius = radius_km if radius_km is not None else fam.DEFAULT_RADIUS_KM
    t = measure_table(key_stage, measure, path)
    t = t[t.start_year == start_year]
    if urns is not None:  # only these schools' families (members may be anywhere)
        members = fam.family_members(list(urns), size=size, radius_km=radius, weights=weights,
                                     key_stage=key_stage, start_year=start_year, path=path)
    else:
        members = fam.all_families(size=size, radius_km=radius, weights=weights, key_stage=key_stage,
                                   start_year=start_year, path=path)
    vals = t[["urn", "value"]].rename(columns={"urn": "member_urn", "value": "member_value"})
    m = members.merge(vals, on="member_urn", how="left")
    agg = m.groupby("urn").member_value.agg(family_mean="mean", family_sd="std", family_n="count").reset_index()
    out = t.merge(agg, on="urn", how="inner")
    out = out[out.family_n >= min_members]
    sign = 1 if MEASURES.get(measure, MEASURES["p8"]).higher_is_better else -1
    out["vs_family"] = sign * (out.value - out.family_mean)
    se = np.sqrt(out.se.fillna(0) ** 2 + (out.family_sd / np.sqrt(out.family_n)) ** 2)
    out["vs_family_low"] = out.vs_family - Z95 * se
    out["vs_family_high"] = out.vs_family + Z95 * se
    return out


@per_build(maxsize=32)
def hubs(key_stage: int, measure: str | None = None, la_codes=None, *, size: int = 20, radius_km=None,
         weights=None, min_years: int = 2, path=None) -> pd.DataFrame:
    """Hub schools: disadvantaged pupils above the family average in EVERY year we can compare
    (at least ``min_years``), with each year's figure, family average and number of pupils.

    One row per hub: ``years`` (how many), ``min_vs_family`` (the smallest lead), ``mean_vs_family``,
    ``clearly_above_years`` (years whose 95% interval of the lead is above zero) and ``detail``.
    """
    measure = measure or RULE_MEASURES[key_stage][0]
    la_codes = list(la_codes) if la_codes else None
    rows = []
    for y in years_with(key_stage, measure, la_codes, path):
        mine = None
        if la_codes:  # the families of the LAs' schools only
            mt = measure_table(key_stage, measure, path)
            mine = mt.loc[(mt.start_year == y) & mt.la_code.isin(la_codes), "urn"].unique().tolist()
        try:
            fc = family_comparison(key_stage, measure, y, urns=mine, size=size, radius_km=radius_km,
                                   weights=weights, path=path)
        except (KeyError, ValueError, LookupError):
            continue
        if la_codes:
            fc = fc[fc.la_code.isin(la_codes)]
        rows.append(fc[fc.value.notna()])
    cols = ["urn", "name", "la_code", "la_name", "years", "min_vs_family", "mean_vs_family", "clearly_above_years",
            "pupils_min", "detail"]
    if not rows:
        return pd.DataFrame(columns=cols)
    all_years = pd.concat(rows, ignore_index=True)
    out = []
    for urn, g in all_years.groupby("urn"):
        g = g.sort_values("start_year")
        if len(g) < min_years or not (g.vs_family > 0).all():
            continue
        detail = "; ".join(f"{years.label(int(r.start_year))}: {fmt_short(measure, r.value)} vs family "
                           f"{fmt_short(measure, r.family_mean)} ({int(r.cohort)} pupils)" for r in g.itertuples())
        last = g.iloc[-1]
        out.append({"urn": int(urn), "name": last["name"], "la_code": last.la_code, "la_name": last.la_name,
                    "years": len(g), "min_vs_family": float(g.vs_family.min()),
                    "mean_vs_family": float(g.vs_family.mean()),
                    "clearly_above_years": int((g.vs_family_low > 0).sum()), "pupils_min": int(g.cohort.min()),
                    "detail": detail})
    return pd.DataFrame(out, columns=cols).sort_values(["years", "mean_vs_family"], ascending=False,
                                                       ignore_index=True)


@per_build(maxsize=32)
def hub_years(key_stage: int, measure: str, urns, *, size: int = 20, radius_km=None, weights=None,
              path=None) -> pd.DataFrame:
    """Year-by-year detail behind :func:`hubs` for the given schools (for charts and tables)."""
    rows = []
    for y in years_with(key_stage, measure, None, path):
        try:
            fc = family_comparison(key_stage, measure, y, urns=urns, size=size, radius_km=radius_km,
                                   weights=weights, path=path)
        except (KeyError, ValueError, LookupError):
            continue
        rows.append(fc)
    if not rows:
        return pd.DataFrame()
    cols = ["urn", "name", "la_code", "start_year", "academic_year", "value", "ci_low", "ci_high", "cohort",
            "family_mean", "family_n", "vs_family", "vs_family_low", "vs_family_high"]
    return pd.concat(rows, ignore_index=True)[cols].sort_values(["urn", "start_year"], ignore_index=True)


# ---- cohort comparison ---------------------------------------------------------------------------

@dataclass
class CohortComparison:
    """Change since baseline: the cohort against matched equivalent schools not selected.

    ``selected_change`` / ``comparison_change`` / ``did`` are (estimate, 95% low, 95% high);
    ``did`` = the cohort's mean change minus its matched comparison schools' mean change (the
    difference-in-differences). ``ratio`` (cohort change / comparison change) is given only when
    the comparison change's interval excludes zero, else None with ``ratio_note`` saying why.
    """
    label: str
    key_stage: int
    measure: str
    baseline_year: int
    follow_year: int
    n_selected: int
    n_selected_followed: int
    n_pool: int
    selected_change: tuple[float, float, float]
    comparison_change: tuple[float, float, float]
    did: tuple[float, float, float]
    ratio: tuple[float, float, float] | None
    ratio_note: str
    balance: pd.DataFrame
    schools: pd.DataFrame
    hypothetical: bool = False
    notes: list[str] = field(default_factory=list)

    def sentence(self) -> str:
        lab = measure_label(self.measure)
        f = lambda v: fmt_short(self.measure, v, True)  # noqa: E731
        s, c, d = self.selected_change, self.comparison_change, self.did
        if math.isnan(d[1]):
            return (("HYPOTHETICAL back-test: " if self.hypothetical else "") +
                    f"From {years.label(self.baseline_year)} to {years.label(self.follow_year)}, only "
                    f"{self.n_selected_followed} school(s) can be followed: their {lab} changed by {f(s[0])} on "
                    f"average against {f(c[0])} in matched schools. Too few schools for an interval.")
        text = (f"From {years.label(self.baseline_year)} to {years.label(self.follow_year)}, disadvantaged pupils' "
                f"{lab} in the {self.n_selected_followed} selected schools changed by {f(s[0])} on average "
                f"(95% interval {f(s[1])} to {f(s[2])}); in matched schools that were not selected, with the same "
                f"starting results and context, by {f(c[0])} ({f(c[1])} to {f(c[2])}). The difference-in-"
                f"differences is {f(d[0])} (95% bootstrap interval {f(d[1])} to {f(d[2])})")
        if d[1] <= 0 <= d[2]:
            text += ": no clear difference."
        else:
            text += ": a clear difference."
        if self.ratio:
            text += (f" The selected schools improved {self.ratio[0]:.1f} times as much as their comparison schools "
                     f"(95% interval {self.ratio[1]:.1f} to {self.ratio[2]:.1f}).")
        else:
            text += " No ratio is given: the comparison schools did not clearly improve."
        return ("HYPOTHETICAL back-test: " if self.hypothetical else "") + text


MIN_FOR_INTERVAL = 5  # fewer cohort schools than this: no bootstrap interval (it would be meaningless)


def _ci(samples: np.ndarray) -> tuple[float, float]:
    lo, hi = np.nanpercentile(samples, [2.5, 97.5])
    return float(lo), float(hi)


def compare_cohort(selected_urns, key_stage: int, measure: str, baseline_year: int, follow_year: int, *,
                   la_codes=None, exclude_urns=(), n_matches: int = 3, baseline_weight: float = 2.0,
                   n_boot: int = 2000, seed: int = 0, label: str = "Keys to Success cohort",
                   hypothetical: bool = False, path=None) -> CohortComparison:
    """Difference-in-differences for a cohort of schools, with matched comparison schools.

    Pool: mainstream schools with disadvantaged pupils' results on ``measure`` in both years (in
    ``la_codes`` if given). Each cohort school is matched (with replacement) to its ``n_matches``
    nearest non-selected pool schools on the baseline result (counted ``baseline_weight`` times,
    because it is what drives regression to the mean), the share of disadvantaged pupils and prior
    attainment, each standardised over the pool. The estimate is the mean over cohort schools of
    (own change - average change of its matches); the 95% interval comes from ``n_boot`` bootstrap
    resamples of cohort schools. Refuses to compare across a break in the series.
    """
    breaks = comparable(baseline_year, follow_year, key_stage, measure)
    if breaks:
        raise ValueError(f"{years.label(baseline_year)} and {years.label(follow_year)} cannot be compared: "
                         + "; ".join(breaks))
    t = measure_table(key_stage, measure, path)
    t = t[t.is_mainstream.fillna(True).astype(bool)]
    if la_codes:
        t = t[t.la_code.isin(list(la_codes))]
    base = t[(t.start_year == baseline_year) & t.value.notna()][
        ["urn", "name", "la_code", "value", "cohort", "pct_disadvantaged", "prior_attainment"]]
    t_all = measure_table(key_stage, measure, path)  # a successor may sit in another LA's file
    foll = follow(base.urn, t_all[t_all.start_year == follow_year], path)[["urn", "value", "cohort", "followed_urn"]]
    pool = base.merge(foll, on="urn", suffixes=("_base", "_follow"))
    sign = 1 if MEASURES.get(measure, MEASURES["p8"]).higher_is_better else -1
    pool["change"] = pool.value_follow - pool.value_base
    # The baseline result and the group's size both drive regression to the mean (a small group's
    # figure is noisier, so bounces back further); context makes the schools comparable.
    pool["log_pupils"] = np.log(pool.cohort_base.astype(float))
    sel_set = {int(u) for u in selected_urns}
    treated = pool[pool.urn.isin(sel_set)].reset_index(drop=True)
    control = pool[~pool.urn.isin(sel_set | {int(u) for u in exclude_urns})].reset_index(drop=True)
    notes = []
    if len(treated) == 0 or len(control) < n_matches:
        raise ValueError("too few schools with results in both years to compare")
    feats = ["value_base", "log_pupils", "pct_disadvantaged", "prior_attainment"]
    w = np.array([baseline_weight, 1.0, 1.0, 1.0])
    X = pool[feats].astype(float)
    mu, sd = X.mean(), X.std(ddof=0).replace(0, 1)
    Zt = ((treated[feats].astype(float) - mu) / sd).fillna(0).to_numpy() * np.sqrt(w)
    Zc = ((control[feats].astype(float) - mu) / sd).fillna(0).to_numpy() * np.sqrt(w)
    dist = np.sqrt(((Zt[:, None, :] - Zc[None, :, :]) ** 2).sum(axis=2))
    nn = np.argsort(dist, axis=1)[:, :n_matches]
    # Bias correction (Abadie and Imbens): a match is never exact, so each matched school's change
    # is moved by what the remaining difference in baseline result, size and context predicts
    # (least squares on the comparison pool). Without it, residual differences in the baseline
    # result would leak regression to the mean back into the estimate.
    Xc = control[feats].astype(float).fillna(mu).to_numpy()
    Xt = treated[feats].astype(float).fillna(mu).to_numpy()
    A = np.column_stack([np.ones(len(Xc)), Xc])
    beta = np.linalg.lstsq(A, control.change.to_numpy(dtype=float), rcond=None)[0][1:]
    adjust = ((Xt[:, None, :] - Xc[nn]) * beta).sum(axis=2)
    comp_change = (control.change.to_numpy()[nn] + adjust).mean(axis=1)
    own = treated.change.to_numpy()
    d = sign * (own - comp_change)

    ratio, note = None, ""
    if len(treated) >= MIN_FOR_INTERVAL:
        rng = np.random.default_rng(seed)
        idx = rng.integers(0, len(treated), size=(n_boot, len(treated)))
        boot_sel, boot_comp, boot_d = own[idx].mean(axis=1), comp_change[idx].mean(axis=1), d[idx].mean(axis=1)
        sel = (float(own.mean()), *_ci(boot_sel))
        comp = (float(comp_change.mean()), *_ci(boot_comp))
        did = (float(d.mean()), *_ci(boot_d))
        # "Times as fast" only means something when the comparison schools clearly improved.
        if sign * comp[1] > 0 and sign * comp[2] > 0:
            with np.errstate(divide="ignore", invalid="ignore"):
                r = boot_sel / boot_comp
            ratio = (sel[0] / comp[0], *_ci(r))
            note = "the comparison schools clearly improved, so the ratio of the two changes is meaningful"
        else:
            note = ("no ratio: the comparison schools did not clearly improve, so 'times as fast' would divide by "
                    "noise (or by a fall)")
    else:
        nan = float("nan")
        sel, comp, did = (float(own.mean()), nan, nan), (float(comp_change.mean()), nan, nan), (float(d.mean()), nan, nan)
        note = "no ratio: too few schools"
        notes.append(f"Only {len(treated)} school(s) followed: too few for an interval (at least {MIN_FOR_INTERVAL}); "
                     "read the school-by-school table instead.")

    balance = pd.DataFrame({
        "variable": ["baseline result", "disadvantaged pupils", "% disadvantaged", "prior attainment", "change"],
        "selected": [treated.value_base.mean(), treated.cohort_base.mean(), treated.pct_disadvantaged.mean(),
                     treated.prior_attainment.mean(), own.mean()],
        "matched comparison": [control.value_base.to_numpy()[nn].mean(),
                               np.nanmean(control.cohort_base.to_numpy(dtype=float)[nn]),
                               np.nanmean(control.pct_disadvantaged.to_numpy(dtype=float)[nn]),
                               np.nanmean(control.prior_attainment.to_numpy(dtype=float)[nn]), comp_change.mean()],
        "all not selected": [control.value_base.mean(), control.cohort_base.mean(), control.pct_disadvantaged.mean(skipna=True),
                             control.prior_attainment.mean(), control.change.mean()],
    })
    pooled_sd = float(pool.value_base.std(ddof=0)) or 1.0
    gap = abs(treated.value_base.mean() - control.value_base.to_numpy()[nn].mean()) / pooled_sd
    if gap > 0.25:
        notes.append(f"The matched schools started {gap:.2f} standard deviations of the baseline result away from "
                     "the selected schools (few schools not selected started as low); their changes are adjusted "
                     "for that difference (bias correction), which rests on a straight-line fit.")
    schools = treated[["urn", "name", "la_code", "value_base", "value_follow", "change", "cohort_base",
                       "cohort_follow", "followed_urn"]].copy()
    schools["comparison_change"] = comp_change
    schools["difference"] = d
    schools["comparison_urns"] = [", ".join(str(u) for u in control.urn.to_numpy()[row]) for row in nn]
    missing = len(sel_set) - len(treated)
    if missing:
        notes.append(f"{missing} selected school(s) have no published figure in one of the two years and are left out.")
    return CohortComparison(label, key_stage, measure, baseline_year, follow_year, len(sel_set), len(treated),
                            len(pool), sel, comp, did, ratio, note, balance, schools, hypothetical, notes)


BACKTESTS = {4: ("936",), 2: ("850", "936")}


@per_build(maxsize=32)
def backtest(key_stage: int = 4, rule: Rule | None = None, la_codes=None, baseline_year: int = 2016,
             follow_year: int = 2018, *, n_boot: int = 2000, seed: int = 0, path=None) -> CohortComparison:
    """HYPOTHETICAL back-test: apply the rule to ``baseline_year`` (default 2016/17, or the first later
    year comparable with ``follow_year`` on the rule's measure: 2017/18 for Progress 8), follow the
    selected schools to ``follow_year`` (2018/19) and compare with matched non-selected schools.

    Nobody was actually supported: this shows what the comparison would report with no programme
    at all. A plain before-after change of the selected schools is regression to the mean; the
    difference-in-differences should sit near zero. Defaults: Surrey KS4; Hampshire and Surrey KS2
    (where we hold both years with the disadvantaged split).
    """
    la_codes = list(la_codes or BACKTESTS[key_stage])
    measure = (rule or Rule.default(key_stage)).measure
    # never across a break: KS4 Progress 8 changed method in 2017/18, so its back-test starts there
    while baseline_year < follow_year - 1 and not breaks.comparable(baseline_year, follow_year, key_stage, measure):
        baseline_year += 1
    rule = (rule or Rule.default(key_stage)).with_year(baseline_year)
    selected = candidates(rule, la_codes, path).urn
    return compare_cohort(selected, key_stage, rule.measure, baseline_year, follow_year, la_codes=la_codes,
                          n_boot=n_boot, seed=seed, label="HYPOTHETICAL back-test", hypothetical=True, path=path)
