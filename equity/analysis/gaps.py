"""Gaps between disadvantaged pupils and others: for a school, an LA and England, by key stage,
measure and academic year, with trends that are tested against their noise and funnel plots.

What each number means
----------------------
* ``disadvantaged`` / ``other`` / ``all``: the published value for that pupil group (percentages on a
  0-100 scale, Attainment 8 in points, progress scores as published).
* ``gap``: the **within-area gap**, other pupils minus disadvantaged pupils, same area, year and measure.
  Positive = disadvantaged pupils behind (for measures where higher is better).
* ``gap_to_national_other``: disadvantaged pupils minus **England's other pupils** (DfE's ``DIFFN_*``
  yardstick; negative = behind). Where the file prints DIFFN (schools and LA rows) we use it
  (``gap_to_national_source = 'published (DfE DIFFN)'``); otherwise it is the area's published
  disadvantaged figure minus England's published other-pupil figure (``'derived from published rows'``).
* ``source``: ``'published'`` when the group figures are DfE's own (performance tables, or DfE statistics
  re-published by the Social Mobility Commission or LG Inform); ``'estimate'`` when this module computed
  the figure (an LA or England figure for a year with no published row, pooled from its schools; a pooled
  three-year school figure). LA and England figures are never recomputed from schools when DfE
  published them.
* A missing value keeps its reason (``status``): ``SUPP``, ``NE``, ``small_cohort`` (fewer than 6 pupils,
  hidden here even where the source printed it), ... A suppressed group is never rebuilt by subtracting
  the other group from the total (complementary suppression).

Noise (standard errors)
-----------------------
* One rule for every page, the CLI and the packs: :func:`equity.stats.standard_error` (published 95%
  intervals where DfE gives them; binomial for percentages; the measure catalogue's pupil-level spread
  / sqrt(n) for other scores).
* The standard error of a gap adds the two groups' variances; of a change, the two years' variances
  (independent cohorts). A change is "bigger than its noise" by :func:`equity.stats.beyond_noise`
  (|change| > 1.96 x its standard error).
* Trends and pooling never cross a break in the series (:mod:`equity.breaks`).
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from equity.cache import per_build
from equity import breaks as _breaks, db, stats
# the measures a gap is shown for, and DfE's related figures: the catalogue (equity.measures)
from equity.measures import DIFFN, GAP_MEASURES, HEADLINE_GAP, MEASURES, THREE_YEAR
from equity.words import fmt_amount, fmt_number, fmt_signed, fmt_value
from equity.years import label

GROUPS = ("disadvantaged", "other", "all")


# Pupil-level standard deviations: a field of the measure catalogue (equity.measures), read through equity.stats.
PUPIL_SD = {k: m.pupil_sd for k, m in MEASURES.items() if m.pupil_sd is not None}
Z95, Z998 = stats.Z95, stats.Z998
SMALL_COHORT = 10  # below this many disadvantaged pupils a single year is too noisy: show the pooled view


METHOD = {
    "gap": "Gap = other pupils minus disadvantaged pupils, same area, year and measure (published figures).",
    "gap_to_national_other": "Gap to national other pupils = disadvantaged pupils minus England's other pupils: "
                             "DfE's DIFFN figure where the file prints it, else derived from the published rows.",
    "noise": stats.NOISE_RULE,
    "pooled": "Pooled three-year view: each group's values over the latest three comparable years, weighted by the "
              "number of pupils (optionally also 3:2:1 towards the latest year). An estimate, not a DfE figure; "
              "DfE's own three-year figures (all pupils) are shown beside it where the files have them.",
    "funnel": "Funnel plot: each school's value against its number of pupils, with 95% and 99.8% control limits "
              "around the pupil-weighted mean of the schools shown (an estimate; the LA's published figure, which "
              "also covers special schools and withheld results, is a separate reference line). By default the "
              "limits allow for real differences between schools (DerSimonian-Laird between-school variance added "
              "to each school's noise: Spiegelhalter's additive method), so a school outside them stands out "
              "beyond the usual spread, not just beyond chance.",
    "estimate": "An LA or England figure for a year with no published row is a pupil-weighted average of its "
                "schools' published values (schools with suppressed values are left out): an estimate.",
}


# ---- reading ---------------------------------------------------------------------------------

@per_build(maxsize=256)
def _query(name: str, params: dict, path=None) -> pd.DataFrame:
    """A named query, cached per build of the database (a rebuild invalidates it)."""
    return db.query(name, params, path=path)


def la_names(path=None) -> dict[str, str]:
    """Three-digit LA code -> LA name (plus 'england')."""
    df = _query("gaps/la_names", {}, path)
    out = dict(zip(df.la_code, df.la_name))
    out["england"] = "England"
    return out


def area_name(area_code: str, path=None) -> str:
    if area_code == "england":
        return "England"
    return la_names(path).get(area_code, area_code)


def _measures_for(key_stage: int, measures) -> list[str]:
    if measures is None:
        return list(GAP_MEASURES[key_stage])
    if isinstance(measures, str):
        measures = [measures]
    bad = [m for m in measures if m not in GAP_MEASURES[key_stage]]
    if bad:
        raise ValueError(f"not a KS{key_stage} measure with a disadvantaged split: {', '.join(bad)}")
    return list(measures)


@per_build(maxsize=32)
def area_long(areas: list[str], key_stage: int, path=None) -> pd.DataFrame:
    """Published figures for some areas (three-digit LA codes or 'england'), one row per area x year x
    measure x group. DfE's performance tables first; a figure from the SMC / LG Inform files (DfE
    statistics re-published) fills a group and year the tables do not have. Never recomputed."""
    parts = [_query("gaps/area_published", {"areas": list(areas), "ks": int(key_stage)}, path)]
    if db.table_exists("la_indicator", path):
        parts.append(_query("gaps/area_indicators", {"areas": list(areas), "ks": int(key_stage)}, path))
    df = pd.concat([p for p in parts if not p.empty], ignore_index=True) if any(not p.empty for p in parts) \
        else parts[0]
    if df.empty:
        return df
    df["_ok"] = (df.status == "ok").astype(int)
    df = df.sort_values(["area_code", "measure", "start_year", "pupil_group", "_ok", "priority"],
                        ascending=[True, True, True, True, False, True])
    df = df.drop_duplicates(["area_code", "measure", "start_year", "pupil_group"]).drop(columns="_ok")
    return df.reset_index(drop=True)


# ---- standard errors -------------------------------------------------------------------------

def standard_error(measure: str, value, cohort, ci_low=None, ci_high=None):
    """Standard error of one published figure (vectorised): :func:`equity.stats.standard_error`."""
    return stats.standard_error(measure, value, cohort, ci_low, ci_high)


# ---- breaks ----------------------------------------------------------------------------------

def break_reasons(first: int, second: int, key_stage: int, measure: str) -> list[str]:
    """Why two years must not be joined (empty = comparable): :func:`equity.breaks.breaks_between`."""
    return _breaks.breaks_between(first, second, key_stage, measure)


def comparable(first: int, second: int, key_stage: int, measure: str) -> bool:
    """True when no break in the series lies between the two years (:func:`equity.breaks.comparable`)."""
    return _breaks.comparable(first, second, key_stage, measure)


def segments(years, key_stage: int, measure: str) -> tuple[list[list[int]], list[dict]]:
    """Split sorted years into runs a line may join (:func:`equity.breaks.segments`)."""
    return _breaks.segments(years, key_stage, measure)


def with_segments(df: pd.DataFrame, key_stage: int, measure: str, by: list[str], year: str = "start_year") -> pd.DataFrame:
    """Add a ``segment`` number per series (``by``): rows in one segment may be joined by a line."""
    df = df.copy()
    df["segment"] = 0
    for _, idx in df.groupby(by, dropna=False).groups.items():
        sub = df.loc[idx]
        runs, _ = segments(sub[year], key_stage, measure)
        seg = {y: i for i, run in enumerate(runs) for y in run}
        df.loc[idx, "segment"] = sub[year].map(seg).astype(int).to_numpy()
    return df


# ---- wide gap tables -------------------------------------------------------------------------

WIDE_COLUMNS = ["area_code", "area_name", "area_level", "key_stage", "start_year", "academic_year", "measure",
                "measure_label", "unit", "disadvantaged", "other", "all", "gap", "gap_to_national_other",
                "gap_to_national_source", "n_disadvantaged", "n_other", "n_all", "se_disadvantaged", "se_other",
                "se_gap", "status", "source", "publisher", "version", "source_file", "coverage"]


def _status_text(row, groups=("disadvantaged", "other")) -> str:
    parts = []
    for g in groups:
        st_ = row.get(f"status_{g}")
        if not isinstance(st_, str) or st_ == "":
            parts.append(f"{g}: not published")
        elif st_ != "ok":
            parts.append(f"{g}: {st_}")
    return "ok" if not parts else "; ".join(parts)


def _widen(long: pd.DataFrame, key_cols: list[str]) -> pd.DataFrame:
    """Long rows (one per group) -> one row per key with a column per group's value, cohort, CI and status."""
    if long.empty:
        return pd.DataFrame(columns=key_cols)
    long = long.copy()
    for c in key_cols:  # a missing key (e.g. no LA code) must not drop or multiply rows
        if long[c].isna().any():
            long[c] = long[c].astype(object).where(long[c].notna(), "")
    fields = ["value", "cohort", "ci_low", "ci_high", "status"]
    wide = long.set_index(key_cols + ["pupil_group"])[fields]
    wide = wide[~wide.index.duplicated(keep="first")].unstack("pupil_group")
    wide.columns = [f"status_{g}" if f == "status" else f"{f}_{g}" for f, g in wide.columns]
    meta = long.groupby(key_cols, dropna=False).agg(version=("version", "first"))
    for col in ("source_file", "publisher"):  # the distinct values, sorted, joined with "; "
        d = long[key_cols + [col]].dropna(subset=[col]).astype({col: str}).drop_duplicates().sort_values(col)
        meta[col] = d.groupby(key_cols, dropna=False)[col].agg("; ".join).reindex(meta.index).fillna("")
    out = wide.join(meta, how="left").reset_index()
    for g in GROUPS:
        for f in fields:
            col = f"status_{g}" if f == "status" else f"{f}_{g}"
            if col not in out:
                out[col] = None if f == "status" else np.nan
            elif f != "status":
                out[col] = pd.to_numeric(out[col], errors="coerce").astype("float64")
    return out


def _finish_wide(w: pd.DataFrame, key_stage: int, england_other: dict, diffn: dict) -> pd.DataFrame:
    """Shared last step for areas and schools: gap, gap to national other, cohorts, standard errors."""
    if w.empty:
        return w
    w = w.rename(columns={f"value_{g}": g for g in GROUPS} | {f"cohort_{g}": f"n_{g}" for g in GROUPS})
    # KS2 files do not print the number of other pupils: all pupils minus disadvantaged (both published counts)
    missing_other_n = w["n_other"].isna() & w["n_all"].notna() & w["n_disadvantaged"].notna()
    w.loc[missing_other_n, "n_other"] = w.loc[missing_other_n, "n_all"] - w.loc[missing_other_n, "n_disadvantaged"]
    w["gap"] = w["other"] - w["disadvantaged"]  # NaN unless both groups are published: never rebuilt otherwise
    w["measure_label"] = w.measure.map(lambda m: MEASURES[m].label if m in MEASURES else m)
    w["unit"] = w.measure.map(lambda m: MEASURES[m].unit if m in MEASURES else "")
    se_d, se_o = [], []
    for m, sub in w.groupby("measure"):
        se_d.append(pd.Series(standard_error(m, sub["disadvantaged"], sub["n_disadvantaged"], sub["ci_low_disadvantaged"],
                                             sub["ci_high_disadvantaged"]), index=sub.index))
        se_o.append(pd.Series(standard_error(m, sub["other"], sub["n_other"], sub["ci_low_other"],
                                             sub["ci_high_other"]), index=sub.index))
    w["se_disadvantaged"] = pd.concat(se_d) if se_d else np.nan
    w["se_other"] = pd.concat(se_o) if se_o else np.nan
    w["se_gap"] = np.sqrt(w["se_disadvantaged"] ** 2 + w["se_other"] ** 2)
    # gap to national other pupils: DfE's DIFFN where printed, else derived from the published rows
    key = list(zip(w.get("urn", w.get("area_code")), w.start_year, w.measure))
    pub = [diffn.get(k) for k in key]
    nat = [england_other.get((y, m)) for y, m in zip(w.start_year, w.measure)]
    derived = [d - n if pd.notna(d) and n is not None and pd.notna(n) else np.nan for d, n in zip(w["disadvantaged"], nat)]
    w["gap_to_national_other"] = [p if p is not None and pd.notna(p) else d for p, d in zip(pub, derived)]
    w["gap_to_national_source"] = ["published (DfE DIFFN)" if p is not None and pd.notna(p) else
                                   ("derived from published rows" if pd.notna(d) else None) for p, d in zip(pub, derived)]
    w["status"] = w.apply(_status_text, axis=1)
    # the size rule cannot run on a value whose group size is not published (DfE's KS2 2015/16 history
    # columns): say so beside it, on the page and in the CSV
    unknown = [w[g].notna() & w[f"n_{g}"].isna() for g in ("disadvantaged", "other")]
    for g, mask in zip(("disadvantaged", "other"), unknown):
        note = f"{g}: number of pupils not published (size unknown)"
        w.loc[mask, "status"] = np.where(w.loc[mask, "status"] == "ok", note, w.loc[mask, "status"] + "; " + note)
    only_diffn = w["gap"].isna() & w["disadvantaged"].isna() & w["gap_to_national_other"].notna()
    w.loc[only_diffn, "status"] = "only DfE's gap to national other pupils is published"
    return w


@per_build(maxsize=32)
def area_gaps(area_code: str, key_stage: int, measures=None, estimates: bool = True, path=None) -> pd.DataFrame:
    """The gap table for one LA (three-digit code) or ``'england'``: one row per measure x academic year.

    Columns: :data:`WIDE_COLUMNS`. Published rows come from DfE's LA / England rows (and DfE statistics
    re-published by SMC / LG Inform for later years), never from schools. With ``estimates``, a year
    with no published figure but with school results gets a row with ``source = 'estimate'`` (see
    :func:`area_estimates`).
    """
    measures = _measures_for(key_stage, measures)
    areas = [area_code] if area_code == "england" else [area_code, "england"]
    long = area_long(areas, key_stage, path)
    wanted = set(measures) | {DIFFN[m] for m in measures if m in DIFFN}
    long = long[long.measure.isin(wanted)] if not long.empty else long
    eng_other = {}
    diffn = {}
    if not long.empty:
        e = long[(long.area_code == "england") & (long.pupil_group == "other") & (long.status == "ok")]
        eng_other = {(int(y), m): v for y, m, v in zip(e.start_year, e.measure, e.value)}
        # England's own DIFFN cell is blank (KS4) or 0 (KS2): for England the gap is always derived
        d = long[long.measure.isin(list(DIFFN.values())) & (long.status == "ok") & (long.area_code != "england")]
        inv = {v: k for k, v in DIFFN.items()}
        diffn = {(a, int(y), inv[m]): v for a, y, m, v in zip(d.area_code, d.start_year, d.measure, d.value)}
    base = long[(long.area_code == area_code) & long.measure.isin(measures)] if not long.empty else long
    w = _widen(base, ["area_code", "area_level", "key_stage", "start_year", "academic_year", "measure"])
    w = _finish_wide(w, key_stage, eng_other, diffn)
    if not w.empty:
        w["area_name"] = area_name(area_code, path)
        w["source"] = "published"
        w["coverage"] = np.nan
    # a year where the area has only DfE's DIFFN row (no group values) still gets a row
    if estimates:
        est = area_estimates(area_code, key_stage, measures, published=w, path=path)
        if not est.empty:
            w = pd.concat([w, est], ignore_index=True) if not w.empty else est
    if w.empty:
        return pd.DataFrame(columns=WIDE_COLUMNS)
    for c in WIDE_COLUMNS:
        if c not in w:
            w[c] = np.nan
    return w[WIDE_COLUMNS].sort_values(["measure", "start_year", "source"]).reset_index(drop=True)


def area_estimates(area_code: str, key_stage: int, measures, published: pd.DataFrame | None = None,
                   path=None) -> pd.DataFrame:
    """Estimates for years where the area has no published figure but its schools have results.

    Each group's figure (and DfE's DIFFN gap to national other pupils) is the pupil-weighted mean of the
    schools' shown values; schools whose value is suppressed or hidden are left out, so ``coverage``
    (pupils in schools with a value / pupils in all schools with a known cohort) says how much of the
    area the estimate rests on. Always ``source = 'estimate'``.
    """
    measures = list(measures)
    diffn_ms = [DIFFN[m] for m in measures if m in DIFFN]
    if area_code == "england":
        rows = []
        # England: only where DfE's England row is missing: in practice the 2023/24 DIFFN file
        have = set()
        if published is not None and not published.empty:
            have = {(m, int(y)) for m, y, s in zip(published.measure, published.start_year, published.status)}
        for m in measures:
            if m not in DIFFN:
                continue
            for y in _years_with_school_values(key_stage, DIFFN[m], path):
                if (m, y) in have:
                    continue
                df = _query("gaps/england_school_values", {"ks": key_stage, "measure": DIFFN[m], "grp": "disadvantaged",
                                                           "year": int(y)}, path)
                est = _weighted(df)
                if est is None:
                    continue
                rows.append({"area_code": "england", "area_name": "England", "area_level": "england",
                             "key_stage": key_stage, "start_year": y, "academic_year": label(y), "measure": m,
                             "gap_to_national_other": est["value"], "gap_to_national_source": "estimate",
                             "n_disadvantaged": est["n"], "coverage": est["coverage"], "source": "estimate",
                             "status": "estimate from schools' DIFFN", "publisher": "estimate (this dashboard)",
                             "measure_label": MEASURES[m].label, "unit": MEASURES[m].unit})
        return pd.DataFrame(rows)
    schools = school_long(key_stage, la_code=area_code, measures=measures + diffn_ms, path=path)
    if schools.empty:
        return pd.DataFrame()
    have_pub = {}
    if published is not None and not published.empty:
        for m, y, d, o, g in zip(published.measure, published.start_year, published.disadvantaged, published.other,
                                 published.gap_to_national_other):
            have_pub[(m, int(y))] = any(pd.notna(v) for v in (d, o, g))
    rows = []
    for (m, y), sub in schools.groupby(["measure", "start_year"]):
        base = m.removesuffix("_vs_national_other") if m.endswith("_vs_national_other") else m
        if base not in measures or have_pub.get((base, int(y))):
            continue
        rows.append((base, int(y)))
    out = []
    for base, y in sorted(set(rows)):
        rec = {"area_code": area_code, "area_name": area_name(area_code, path), "area_level": "la",
               "key_stage": key_stage, "start_year": y, "academic_year": label(y), "measure": base,
               "measure_label": MEASURES[base].label, "unit": MEASURES[base].unit, "source": "estimate",
               "publisher": "estimate (this dashboard)"}
        cov = []
        for g in GROUPS:
            sub = schools[(schools.measure == base) & (schools.start_year == y) & (schools.pupil_group == g)]
            est = _weighted(sub)
            if est is not None:
                rec[g], rec[f"n_{g}"] = est["value"], est["n"]
                if g == "disadvantaged":
                    cov.append(est["coverage"])
        if base in DIFFN:
            sub = schools[(schools.measure == DIFFN[base]) & (schools.start_year == y)]
            est = _weighted(sub)
            if est is not None:
                rec["gap_to_national_other"] = est["value"]
                rec["gap_to_national_source"] = "estimate"
                rec.setdefault("n_disadvantaged", est["n"])
                cov.append(est["coverage"])
        if not any(pd.notna(rec.get(k)) for k in ("disadvantaged", "other", "gap_to_national_other")):
            continue
        if pd.notna(rec.get("disadvantaged")) and pd.notna(rec.get("other")):
            rec["gap"] = rec["other"] - rec["disadvantaged"]
        rec["coverage"] = min(cov) if cov else np.nan
        rec["status"] = "estimate from school results"
        out.append(rec)
    return pd.DataFrame(out)


def _years_with_school_values(key_stage: int, measure: str, path=None) -> list[int]:
    # the years present in school results for a measure (cheap: small distinct list)
    df = _query("gaps/school_years", {"ks": key_stage, "measure": measure}, path)
    return [int(y) for y in df.start_year]


def _weighted(df: pd.DataFrame) -> dict | None:
    """Pupil-weighted mean of shown school values, with the share of pupils it covers."""
    if df is None or df.empty:
        return None
    ok = df[(df.status == "ok") & df.value.notna() & df.cohort.notna() & (df.cohort > 0)]
    if ok.empty:
        return None
    n = float(ok.cohort.sum())
    total = float(df.cohort.fillna(0).sum())
    return {"value": float((ok.value * ok.cohort).sum() / n), "n": n, "coverage": n / total if total else np.nan}


def school_long(key_stage: int, la_code: str | None = None, urns=None, measures=None, path=None) -> pd.DataFrame:
    """Shown school results (small groups hidden) for an LA's schools or a list of URNs."""
    ms = list(measures) if measures else list(GAP_MEASURES[key_stage])
    return _query("gaps/school_results", {"ks": int(key_stage), "la": la_code, "urns": [int(u) for u in (urns or [])],
                                          "measures": ms}, path)


@per_build(maxsize=32)
def school_gaps(key_stage: int, la_code: str | None = None, urns=None, measures=None, path=None) -> pd.DataFrame:
    """The gap table for schools: one row per school x measure x year (same columns as :func:`area_gaps`,
    with ``urn`` and ``name``; ``area_code`` is the school's LA). School values are DfE's, with groups of
    fewer than 6 pupils hidden. The gap to national other pupils is DfE's DIFFN where printed, else the
    school's disadvantaged value minus England's published other-pupil value."""
    measures = _measures_for(key_stage, measures)
    ms = measures + [DIFFN[m] for m in measures if m in DIFFN]
    long = school_long(key_stage, la_code, urns, ms, path)
    if long.empty:
        return pd.DataFrame(columns=["urn", "name", *WIDE_COLUMNS])
    eng = area_long(["england"], key_stage, path)
    eng = eng[(eng.pupil_group == "other") & (eng.status == "ok")] if not eng.empty else eng
    eng_other = {(int(y), m): v for y, m, v in zip(eng.start_year, eng.measure, eng.value)} if not eng.empty else {}
    d = long[long.measure.isin(list(DIFFN.values())) & (long.status == "ok")]
    inv = {v: k for k, v in DIFFN.items()}
    diffn = {(u, int(y), inv[m]): v for u, y, m, v in zip(d.urn, d.start_year, d.measure, d.value)}
    base = long[long.measure.isin(measures)].copy()
    # a school-year that has only DfE's DIFFN (2023/24) still gets a row
    extra = d.assign(measure=d.measure.map(inv), pupil_group="disadvantaged", value=np.nan, status="not published",
                     ci_low=np.nan, ci_high=np.nan)
    extra = extra[~extra.set_index(["urn", "start_year", "measure"]).index.isin(
        base.set_index(["urn", "start_year", "measure"]).index)]
    base = pd.concat([base, extra], ignore_index=True) if not extra.empty else base
    base["publisher"] = "DfE performance tables"
    w = _widen(base, ["urn", "name", "la_code", "is_mainstream", "key_stage", "start_year", "academic_year", "measure"])
    w = _finish_wide(w, key_stage, eng_other, diffn)
    w["area_code"] = w["la_code"]
    w["area_name"] = w["name"]
    w["area_level"] = "school"
    w["source"] = "published"
    w["coverage"] = np.nan
    for c in WIDE_COLUMNS:
        if c not in w:
            w[c] = np.nan
    w["is_mainstream"] = w["is_mainstream"].map(lambda v: v if isinstance(v, bool) else bool(v) if v != "" else True)
    return w[["urn", "name", "is_mainstream", *WIDE_COLUMNS]].sort_values(["name", "measure", "start_year"]) \
        .reset_index(drop=True)


# ---- trends ----------------------------------------------------------------------------------

@dataclass
class Trend:
    """The change in one series over its latest unbroken run of years."""
    first_year: int | None
    last_year: int | None
    first: float | None
    last: float | None
    change: float | None
    se: float | None
    significant: bool
    verdict: str        # 'closing', 'widening', 'no clear change', 'only one comparable year', 'no data'
    years: int
    breaks: list[str]   # reasons for breaks that cut the series before the run
    cautions: list[str] = field(default_factory=list)  # e.g. reformed GCSEs between the two years

    def describe(self, unit: str = "points") -> str:
        if self.change is None:
            return "only one comparable year, so no trend" if self.years == 1 else "no published values"
        span = f"{label(self.first_year)} to {label(self.last_year)}"
        amount = fmt_amount(abs(self.change), unit)
        if self.se is None or self.se != self.se:  # no pupil counts: the noise cannot be judged
            return (f"changed by {fmt_signed(self.change, unit)} from {span}; its noise cannot be judged (pupil "
                    "numbers not published), so no change is claimed")
        noise = f"±{fmt_number(Z95 * self.se, unit)}"
        if self.verdict == "no clear change":
            return f"changed by {fmt_signed(self.change, unit)} from {span}, within the noise ({noise})"
        verb = {"widening": "widened", "closing": "narrowed", "rising": "rose", "falling": "fell"}[self.verdict]
        return f"{verb} by {amount} from {span} (more than the noise of {noise})"


def trend(years, values, ses, key_stage: int, measure: str, kind: str = "gap") -> Trend:
    """Change from the first to the last year of the latest unbroken run of years, and whether it is
    bigger than its noise (|change| > 1.96 x sqrt(se_first² + se_last²)).

    ``kind='gap'`` reads a fall in the gap as 'closing' (for measures where higher is better the gap is
    other minus disadvantaged; for a lower-is-better measure the sign is flipped). ``kind='value'``
    reads the change as 'rising' / 'falling'.
    """
    df = pd.DataFrame({"y": years, "v": values, "se": ses}).dropna(subset=["v"])
    if df.empty:
        return Trend(None, None, None, None, None, None, False, "no data", 0, [])
    df = df.sort_values("y").drop_duplicates("y", keep="last")
    # runs of comparable years: split at breaks only (a missing year stops a line, not a comparison), so the
    # first year matches the profile's "earliest comparable year" (equity.breaks.comparable)
    runs, brks = [], []
    for y in (int(v) for v in df.y):
        why = _breaks.real_breaks(runs[-1][-1], y, key_stage, measure) if runs else []
        if runs and not why:
            runs[-1].append(y)
        else:
            if runs:
                brks.append({"after": runs[-1][-1], "before": y, "reasons": why})
            runs.append([y])
    run = runs[-1]
    cut = [r for b in brks if b["before"] <= run[0] for r in b["reasons"]]
    sub = df[df.y.isin(run)]
    if len(sub) < 2:
        v = float(sub.v.iloc[-1])
        return Trend(run[0], run[-1], v, v, None, None, False, "only one comparable year", 1, cut)
    f, l = sub.iloc[0], sub.iloc[-1]
    change = float(l.v - f.v)
    se = math.sqrt(float(f.se) ** 2 + float(l.se) ** 2) if pd.notna(f.se) and pd.notna(l.se) else None
    sig = se is not None and stats.beyond_noise(change, se)
    if kind == "gap":
        better = MEASURES[measure].higher_is_better if measure in MEASURES else True
        behind = change if better else -change
        verdict = ("widening" if behind > 0 else "closing") if sig else "no clear change"
    else:
        verdict = ("rising" if change > 0 else "falling") if sig else "no clear change"
    return Trend(int(f.y), int(l.y), float(f.v), float(l.v), change, se, sig, verdict, len(sub), cut,
                 _breaks.cautions(int(f.y), int(l.y), key_stage, measure))


def gap_trend(table: pd.DataFrame, measure: str, key_stage: int, column: str = "gap") -> Trend:
    """:func:`trend` of a gap column of one area's (or school's) :func:`area_gaps` rows for one measure
    (published rows only)."""
    sub = table[(table.measure == measure) & (table.source == "published")]
    se_col = {"gap": "se_gap", "gap_to_national_other": "se_disadvantaged", "disadvantaged": "se_disadvantaged",
              "other": "se_other"}.get(column)
    ses = sub[se_col] if se_col else [np.nan] * len(sub)
    kind = "gap" if column == "gap" else "value"
    if column == "gap_to_national_other":
        kind = "value"
    return trend(sub.start_year, sub[column], ses, key_stage, measure, kind=kind)


# ---- pooled three-year view ------------------------------------------------------------------

@per_build(maxsize=32)
def pooled_school_gaps(la_code: str, key_stage: int, measure: str, end_year: int | None = None, years: int = 3,
                       weights: str = "pupils", path=None) -> pd.DataFrame:
    """Every school's gap in ``end_year`` beside a pooled view over the latest ``years`` comparable years.

    Pooled value of a group = sum(w_y * n_y * v_y) / sum(w_y * n_y) over the years with a shown value,
    where n_y is the group's pupils and w_y = 1 (``weights='pupils'``) or 3:2:1 towards the latest year
    (``weights='3:2:1'``). Years across a break are never pooled. Pooled figures are estimates; DfE's own
    three-year figure for all pupils (``dfe_3yr_all``, e.g. ``PTRWM_EXP_3YR``) is shown where published.
    """
    g = school_gaps(key_stage, la_code=la_code, measures=[measure], path=path)
    if g.empty:
        return pd.DataFrame()
    if end_year is None:
        have = g[g.disadvantaged.notna() | g.gap_to_national_other.notna()]
        end_year = int(have.start_year.max()) if not have.empty else int(g.start_year.max())
    window = [y for y in range(end_year - years + 1, end_year + 1) if comparable(y, end_year, key_stage, measure)]
    rec_w = {y: (3 - (end_year - y) if weights == "3:2:1" else 1) for y in window}
    three = {}
    if measure in THREE_YEAR:
        t = school_long(key_stage, la_code=la_code, measures=[THREE_YEAR[measure]], path=path)
        t = t[(t.start_year == end_year) & (t.pupil_group == "all")]
        three = dict(zip(t.urn, t.value))
    keys = ["urn", "name"]
    out = g.groupby(keys, sort=True).is_mainstream.first().reset_index()
    out["academic_year"] = label(end_year)
    out["school_type"] = np.where(out.is_mainstream.astype(bool), "mainstream", "special or other")
    latest = g[g.start_year == end_year].drop_duplicates(keys)
    cols = ["disadvantaged", "other", "gap", "gap_to_national_other", "n_disadvantaged", "n_other", "status"]
    out = out.merge(latest[keys + cols], on=keys, how="left")
    out["status"] = out.status.where(out.status.notna(), "no result this year")
    pool = g[g.start_year.isin(window)].assign(_w=lambda d: d.start_year.map(rec_w).astype(float))

    def pooled(value: str, n: str) -> tuple[pd.Series, pd.Series, pd.DataFrame]:
        ok = pool[pool[value].notna() & pool[n].notna()]
        ok = ok.assign(_wt=ok._w * ok[n], _wv=ok._w * ok[n] * ok[value])
        agg = ok.groupby(keys).agg(wv=("_wv", "sum"), wt=("_wt", "sum"), n=(n, "sum"))
        agg = out.set_index(keys).index.to_frame(index=False).merge(agg.reset_index(), on=keys, how="left")
        est = np.where(agg.wt > 0, agg.wv / agg.wt.where(agg.wt > 0), np.nan)
        return pd.Series(est, index=out.index), pd.Series(agg.n.to_numpy(float), index=out.index), ok

    for grp in ("disadvantaged", "other"):
        out[f"pooled_{grp}"], out[f"pooled_n_{grp}"], ok = pooled(grp, f"n_{grp}")
        if grp == "disadvantaged":
            yrs = ok.sort_values("start_year").groupby(keys).start_year.agg(
                lambda ys: ", ".join(label(int(y)) for y in ys))
            out["pooled_years"] = [yrs.get(k, "") for k in zip(out.urn, out.name)]
    out["pooled_gap_to_national_other"] = pooled("gap_to_national_other", "n_disadvantaged")[0]
    out["pooled_gap"] = out.pooled_other - out.pooled_disadvantaged
    out["pooled_source"] = "estimate"
    out["dfe_3yr_all"] = out.urn.map(three).astype(float)
    out["small_cohort"] = out.n_disadvantaged.isna() | (out.n_disadvantaged < SMALL_COHORT)
    out["urn"] = out.urn.astype(int)
    out = out[["urn", "name", "academic_year", "school_type", *cols, "pooled_disadvantaged", "pooled_n_disadvantaged",
               "pooled_years", "pooled_other", "pooled_n_other", "pooled_gap_to_national_other", "pooled_gap",
               "pooled_source", "dfe_3yr_all", "small_cohort"]]
    return out.sort_values(["small_cohort", "name"]).reset_index(drop=True)


# ---- funnel plots ----------------------------------------------------------------------------

QUANTITIES = {"disadvantaged": "Disadvantaged pupils' result",
              "gap_to_national_other": "Gap to national other pupils",
              "gap": "Within-school gap (other minus disadvantaged)"}


def funnel_limits(target: float, n, sd_unit: float, z=(Z95, Z998), tau2: float = 0.0) -> pd.DataFrame:
    """Control limits target ± z x sqrt(sd_unit² / n + tau²) (95% and 99.8%): :func:`equity.stats.funnel_limits`."""
    return stats.funnel_limits(target, n, sd_unit, tau2=tau2, z=z)


def _sd_unit(measure: str, quantity: str, la_row: dict, schools: pd.DataFrame, grp="disadvantaged") -> float:
    """Pupil-level sd for the funnel: binomial at the LA's proportion for percentages; for scores the
    sd implied by DfE's published CIs where schools have them, else :data:`PUPIL_SD`."""
    unit = MEASURES[measure].unit
    if unit == "percent":
        if quantity == "gap":
            p = la_row.get("all")
            if p is None or pd.isna(p):
                p = np.nanmean([la_row.get("disadvantaged", np.nan), la_row.get("other", np.nan)])
        else:
            p = la_row.get("disadvantaged")
        p = 50.0 if p is None or pd.isna(p) else float(p)
        p = min(max(p / 100.0, 0.01), 0.99)
        return math.sqrt(p * (1 - p)) * 100.0
    lo, hi = schools.get(f"ci_low_{grp}"), schools.get(f"ci_high_{grp}")
    if lo is not None and hi is not None:
        implied = pd.Series(stats.se_from_ci(lo, hi), index=schools.index) * np.sqrt(schools[f"n_{grp}"])
        implied = implied[np.isfinite(implied) & (implied > 0)]
        if len(implied) >= 3:
            return float(np.median(implied))
    return PUPIL_SD.get(measure, float("nan"))


overdispersion = stats.overdispersion  # DerSimonian-Laird between-school variance (one home: equity.stats)


@per_build(maxsize=32)
def school_funnel(la_code: str, key_stage: int, measure: str, start_year: int | None = None,
                  quantity: str = "disadvantaged", mainstream_only: bool = True, allow_between_school: bool = True,
                  path=None) -> dict:
    """Funnel plot data for an LA's schools in one year.

    ``quantity``: ``'disadvantaged'`` (disadvantaged pupils' result, x = their number),
    ``'gap_to_national_other'`` (x = number of disadvantaged pupils) or ``'gap'`` (within-school gap,
    x = effective cohort n_d*n_o/(n_d+n_o), limits assume the same pupil-level spread in both groups).
    Special schools are left out unless ``mainstream_only`` is False.

    The centre line (``target``) is the pupil-weighted mean of the plotted schools (an estimate): the
    dots and the centre cover the same pupils. The LA's published figure (England's where the LA has
    none) covers pupils the dots do not (special schools, schools whose results are withheld), so it is
    returned separately as ``reference`` (with ``reference_source``) and drawn as a reference line.

    With ``allow_between_school`` (the default) the limits also allow for real differences between
    schools: the DerSimonian-Laird between-school variance tau² is added to each school's sampling
    variance (Spiegelhalter's additive method, :func:`equity.stats.funnel_limits`), so only schools that
    stand out beyond the usual spread are flagged. Returns points (with ``outside_95``, ``outside_998``,
    ``direction``), limits, target, target_source, reference, reference_source, sd_unit, tau2, year,
    outliers.
    """
    if quantity not in QUANTITIES:
        raise ValueError(f"quantity must be one of {', '.join(QUANTITIES)}")
    sch = school_gaps(key_stage, la_code=la_code, measures=[measure], path=path)
    col = quantity
    sch = sch[sch[col].notna() & sch.n_disadvantaged.notna() & (sch.n_disadvantaged > 0)]
    if mainstream_only:
        sch = sch[sch.is_mainstream.astype(bool)]
    if quantity == "gap":
        sch = sch[sch.n_other.notna() & (sch.n_other > 0)]
    if start_year is None:
        if sch.empty:
            return {"points": pd.DataFrame(), "limits": pd.DataFrame(), "outliers": pd.DataFrame(), "year": None}
        start_year = int(sch.start_year.max())
    sch = sch[sch.start_year == start_year].copy()
    reference, reference_source = None, None
    for code, src in ((la_code, "LA (published)"), ("england", "England (published)")):
        df = area_gaps(code, key_stage, [measure], estimates=False, path=path)
        df = df[df.start_year == start_year]
        if not df.empty and pd.notna(df.iloc[0][col]):
            reference, reference_source = float(df.iloc[0][col]), src
            break
    if sch.empty:
        return {"points": sch, "limits": pd.DataFrame(), "outliers": sch, "year": start_year,
                "reference": reference, "reference_source": reference_source}
    if quantity == "gap":
        sch["x"] = sch.n_disadvantaged * sch.n_other / (sch.n_disadvantaged + sch.n_other)
    else:
        sch["x"] = sch.n_disadvantaged
    w = sch.n_disadvantaged
    target = stats.weighted_mean(sch[col], w)
    target_source = "estimate: pupil-weighted mean of the schools shown"
    if quantity == "gap":
        n_all = sch.n_disadvantaged + sch.n_other
        p_all = stats.weighted_mean((sch.disadvantaged * sch.n_disadvantaged + sch.other * sch.n_other) / n_all, n_all)
        la_row = {"all": p_all}
    else:
        la_row = {"disadvantaged": stats.weighted_mean(sch.disadvantaged, w)}
    raw = school_long(key_stage, la_code=la_code, measures=[measure], path=path)
    raw = raw[(raw.start_year == start_year) & (raw.pupil_group == "disadvantaged")]
    ci = pd.DataFrame({"ci_low_disadvantaged": raw.ci_low.to_numpy(), "ci_high_disadvantaged": raw.ci_high.to_numpy(),
                       "n_disadvantaged": raw.cohort.to_numpy(dtype="float64")})
    sd = _sd_unit(measure, quantity, la_row, ci)
    tau2 = stats.overdispersion(sch[col], sd / np.sqrt(sch.x), target) if allow_between_school else 0.0

    def limits_for(n):
        lim = stats.funnel_limits(target, n, sd, tau2=tau2)
        if MEASURES[measure].unit == "percent":  # a percentage cannot leave 0-100 (a gap of them, -100 to 100)
            lo = 0.0 if quantity == "disadvantaged" else -100.0
            cols = ["lo95", "hi95", "lo998", "hi998"]
            lim[cols] = lim[cols].clip(lower=lo, upper=100.0)
        return lim
    lim_pts = limits_for(sch.x)
    sch["lo95"], sch["hi95"] = lim_pts.lo95.to_numpy(), lim_pts.hi95.to_numpy()
    sch["lo998"], sch["hi998"] = lim_pts.lo998.to_numpy(), lim_pts.hi998.to_numpy()
    sch["outside_95"] = (sch[col] < sch.lo95) | (sch[col] > sch.hi95)
    sch["outside_998"] = (sch[col] < sch.lo998) | (sch[col] > sch.hi998)
    sch["direction"] = np.where(sch[col] > target, "above", "below")
    xmax = max(float(sch.x.max()) if not sch.empty else 10.0, 10.0) * 1.1
    grid = np.unique(np.concatenate([np.linspace(3, 30, 28), np.linspace(30, xmax, 60)]))
    limits = limits_for(grid)
    pts = sch[["urn", "name", "academic_year", "disadvantaged", "other", "n_disadvantaged", "n_other", "x",
               "lo95", "hi95", "lo998", "hi998", "outside_95", "outside_998", "direction"]].copy()
    pts.insert(3, "y", sch[col].to_numpy())
    outliers = pts[pts.outside_95].sort_values(["outside_998", "y"], ascending=[False, True])
    return {"points": pts.reset_index(drop=True), "limits": limits, "target": target, "target_source": target_source,
            "reference": reference, "reference_source": reference_source, "sd_unit": sd, "tau2": tau2,
            "allow_between_school": bool(allow_between_school), "year": start_year, "quantity": quantity,
            "measure": measure, "outliers": outliers.reset_index(drop=True)}


# ---- headline tiles --------------------------------------------------------------------------

def disadvantaged_share(area_code: str, key_stage: int, path=None) -> pd.DataFrame:
    """Share of the key stage cohort who are disadvantaged, from published LA / England counts
    (disadvantaged pupils / all pupils at the end of the key stage), by year."""
    long = area_long([area_code], key_stage, path)
    if long.empty:
        return pd.DataFrame(columns=["start_year", "academic_year", "share", "n_disadvantaged", "n_all"])
    m = "att8" if key_stage == 4 else "rwm_exp"
    sub = long[(long.measure == m) & long.cohort.notna()]
    piv = sub.pivot_table(index=["start_year", "academic_year"], columns="pupil_group", values="cohort", aggfunc="first")
    if not {"disadvantaged", "all"} <= set(piv.columns):
        return pd.DataFrame(columns=["start_year", "academic_year", "share", "n_disadvantaged", "n_all"])
    piv = piv.dropna(subset=["disadvantaged", "all"]).reset_index()
    piv["share"] = 100.0 * piv["disadvantaged"] / piv["all"]
    return piv.rename(columns={"disadvantaged": "n_disadvantaged", "all": "n_all"})[
        ["start_year", "academic_year", "share", "n_disadvantaged", "n_all"]]


def fsm_share(la_code: str, path=None) -> pd.DataFrame:
    """Percentage of pupils eligible for free school meals (all phases; DfE census), LA and England."""
    if not db.table_exists("la_indicator", path):
        return pd.DataFrame(columns=["area_code", "start_year", "academic_year", "value"])
    return _query("gaps/fsm_share", {"la": la_code}, path)


def latest_gap(la_code: str, key_stage: int, path=None, measures=None) -> dict | None:
    """The headline gap for a tile: the first of the headline measures (then the other gap measures)
    with a published LA gap, in its latest year, with England's gap that year and the LA's trend."""
    order = list(measures or (HEADLINE_GAP[key_stage] + [m for m in GAP_MEASURES[key_stage]
                                                         if m not in HEADLINE_GAP[key_stage]]))
    la = area_gaps(la_code, key_stage, order, estimates=False, path=path)
    eng = area_gaps("england", key_stage, order, estimates=False, path=path)
    for m in order:
        sub = la[(la.measure == m) & la.gap.notna()]
        if sub.empty:
            continue
        row = sub.sort_values("start_year").iloc[-1]
        e = eng[(eng.measure == m) & (eng.start_year == row.start_year)]
        e_gap = float(e.gap.iloc[0]) if not e.empty and pd.notna(e.gap.iloc[0]) else None
        return {"measure": m, "label": MEASURES[m].label, "unit": MEASURES[m].unit, "start_year": int(row.start_year),
                "academic_year": row.academic_year, "la_gap": float(row.gap), "england_gap": e_gap,
                "disadvantaged": float(row.disadvantaged), "other": float(row.other),
                "trend": gap_trend(la, m, key_stage), "publisher": row.publisher}
    return None


# ---- words -----------------------------------------------------------------------------------

def gap_sentence(area_row: dict, england_row: dict | None, name: str) -> str:
    """'In 2018/19 the gap in Attainment 8 in Surrey was 17.5 points, 4.1 points wider than England's 13.4.'"""
    unit, m = area_row["unit"], area_row["measure_label"]
    year = area_row["academic_year"]
    gap = area_row.get("gap")
    if gap is None or pd.isna(gap):
        return f"In {year} no gap in {m} is published for {name} ({area_row.get('status', 'not published')})."
    s = (f"In {year} the gap in {m} in {name} was {fmt_amount(gap, unit)} "
         f"(disadvantaged pupils {fmt_value(area_row['disadvantaged'], unit)}, other pupils "
         f"{fmt_value(area_row['other'], unit)})")
    if england_row is not None and pd.notna(england_row.get("gap")):
        diff = gap - england_row["gap"]
        better = MEASURES[area_row["measure"]].higher_is_better
        wider = diff > 0 if better else diff < 0
        if abs(diff) < 1e-9:
            s += f", the same as England's {fmt_number(england_row['gap'], unit)}"
        else:
            s += (f", {fmt_amount(abs(diff), unit)} {'wider' if wider else 'narrower'} than England's "
                  f"{fmt_number(england_row['gap'], unit)}")
    return s + "."


# ---- series for trend charts -----------------------------------------------------------------

VIEWS = {"gap": "Gap (other minus disadvantaged)", "gap_to_national_other": "Gap to national other pupils",
         "groups": "Results by pupil group"}


@per_build(maxsize=32)
def trend_lines(la_code: str, key_stage: int, measure: str, view: str = "groups",
                groups=("disadvantaged", "other"), urns=None, path=None) -> tuple[pd.DataFrame, list[dict]]:
    """Long data for a trend chart: one row per line point (LA, England, chosen schools).

    ``view``: ``'groups'`` (the groups' values), ``'gap'`` or ``'gap_to_national_other'``. Columns:
    ``series`` (legend label), ``area_kind`` ('la', 'england', 'school'), ``area_code``, ``group``,
    ``start_year``, ``academic_year``, ``value``, ``n`` (pupils behind the value), ``source``,
    ``version`` ('provisional' where DfE's figure may still be revised; flagged on the chart), ``segment`` (points in one segment may be joined; a new segment starts after a break). Also returns
    the breaks between consecutive years of the data (for annotations).
    """
    if view not in VIEWS:
        raise ValueError(f"view must be one of {', '.join(VIEWS)}")
    frames = []
    tables = [("la", la_code, area_name(la_code, path), area_gaps(la_code, key_stage, [measure], path=path)),
              ("england", "england", "England", area_gaps("england", key_stage, [measure], path=path))]
    if urns:
        sg = school_gaps(key_stage, urns=list(urns), measures=[measure], path=path)
        for (urn, name), sub in sg.groupby(["urn", "name"]):
            tables.append(("school", str(urn), name, sub))
    cols = list(groups) if view == "groups" else [view]
    ncol = {"disadvantaged": "n_disadvantaged", "other": "n_other", "all": "n_all", "gap": "n_disadvantaged",
            "gap_to_national_other": "n_disadvantaged"}
    for kind, code, name, t in tables:
        if t.empty:
            continue
        for c in cols:
            sub = t[t[c].notna()]
            if sub.empty:
                continue
            grp = c if view == "groups" else ("disadvantaged" if c == "gap_to_national_other" else "gap")
            label_ = name if view != "groups" else f"{name}: {c}"
            frames.append(pd.DataFrame({
                "series": label_, "area_kind": kind, "area_code": code, "area_name": name, "group": grp,
                "start_year": sub.start_year.astype(int).to_numpy(), "academic_year": sub.academic_year.to_numpy(),
                "value": sub[c].astype(float).to_numpy(), "n": sub[ncol[c]].astype(float).to_numpy(),
                "source": sub.source.to_numpy(),
                "version": sub["version"].fillna("").astype(str).to_numpy() if "version" in sub else ""}))
    if not frames:
        return pd.DataFrame(columns=["series", "area_kind", "area_code", "area_name", "group", "start_year",
                                     "academic_year", "value", "n", "source", "version", "segment"]), []
    df = pd.concat(frames, ignore_index=True)
    df = with_segments(df, key_stage, measure, by=["series", "source"])
    _, brks = segments(df.start_year, key_stage, measure)
    return df.sort_values(["area_kind", "series", "start_year"]).reset_index(drop=True), brks


@per_build(maxsize=32)
def trend_sentence(la_code: str, key_stage: int, measure: str, path=None) -> str:
    """The sentence beside an LA-vs-England trend chart: the latest published gap against England's and
    whether the LA's gap has changed by more than its noise."""
    la = area_gaps(la_code, key_stage, [measure], estimates=False, path=path)
    eng = area_gaps("england", key_stage, [measure], estimates=False, path=path)
    name = area_name(la_code, path)
    m = MEASURES[measure]
    with_gap = la[la.gap.notna()]
    if with_gap.empty:
        est = area_gaps(la_code, key_stage, [measure], path=path)
        est = est[(est.source == "estimate") & est.gap_to_national_other.notna()]
        if not est.empty:
            r = est.sort_values("start_year").iloc[-1]
            return (f"No published figures for disadvantaged and other pupils in {name} for {m.label}. From its "
                    f"schools' published results (an estimate), disadvantaged pupils in {r.academic_year} were "
                    f"{fmt_amount(abs(r.gap_to_national_other), m.unit)} {'below' if r.gap_to_national_other < 0 else 'above'} "
                    f"England's other pupils.")
        alls = la[la["all"].notna()]
        if not alls.empty:
            r = alls.sort_values("start_year").iloc[-1]
            return (f"{name} has no published {m.label} figures for disadvantaged and other pupils in the bundled "
                    f"data; the latest all-pupil figure is {fmt_value(r['all'], m.unit)} ({r.academic_year}).")
        return f"No published {m.label} figures for {name} in the bundled data."
    row = with_gap.sort_values("start_year").iloc[-1].to_dict()
    e = eng[eng.start_year == row["start_year"]]
    s = gap_sentence(row, e.iloc[0].to_dict() if not e.empty else None, name)
    t = gap_trend(la, measure, key_stage)
    if t.change is not None:
        s += f" The gap {t.describe(m.unit)}."
    if t.breaks:
        s += f" Earlier years are not compared: {t.breaks[-1]}."
    if t.cautions and t.change is not None:
        s += f" Caution: {t.cautions[0]}."
    return s


# ---- overview helpers ------------------------------------------------------------------------

def share_estimate(la_code: str | None, key_stage: int, path=None) -> pd.DataFrame:
    """Share of pupils at the end of the key stage who are disadvantaged, from schools' own published
    percentages and cohorts (an estimate: schools outside the tables are missing). ``la_code=None``
    for all of England."""
    return _query("gaps/share_from_schools", {"la": la_code, "ks": int(key_stage)}, path)


@per_build(maxsize=32)
def overview_tiles(la_code: str, path=None) -> list[dict]:
    """The LA overview's headline tiles. Each: ``label``, ``value`` (text), ``delta`` (text or None),
    ``delta_color`` ('inverse' = bigger is worse, 'off'), ``note`` (plain words, with the year and source)."""
    name = area_name(la_code, path)
    tiles = []
    # share of disadvantaged pupils: published LA counts where we have them, else schools' own figures
    share = None
    for ks in (4, 2):
        pub = disadvantaged_share(la_code, ks, path)
        if not pub.empty:
            r = pub.iloc[-1]
            e = disadvantaged_share("england", ks, path)
            e = e[e.start_year == r.start_year]
            share = (ks, r, e.iloc[0] if not e.empty else None, "published LA and England pupil counts")
            break
    if share is None:
        est = share_estimate(la_code, 4, path)
        if not est.empty:
            r = est.iloc[-1]
            e = share_estimate(None, 4, path)
            e = e[e.start_year == r.start_year]
            share = (4, r, e.iloc[0] if not e.empty else None, "estimate from schools' published percentages")
    if share is not None:
        ks, r, e, how = share
        tiles.append({"label": f"Disadvantaged (KS{ks} cohort)", "value": f"{r.share:.0f}%",
                      "delta": f"{r.share - e.share:+.0f} vs England {e.share:.0f}%" if e is not None else None,
                      "delta_color": "off",
                      "note": f"{r.academic_year}: {int(r.n_disadvantaged):,} of {int(r.n_all):,} pupils ({how})."})
    fsm = fsm_share(la_code, path)
    if not fsm.empty:
        la_f = fsm[(fsm.area_code == la_code) & fsm.value.notna()]
        if not la_f.empty:
            r = la_f.iloc[-1]
            e = fsm[(fsm.area_code == "england") & (fsm.start_year == r.start_year)]
            ev = float(e.value.iloc[0]) if not e.empty else None
            tiles.append({"label": "Eligible for free meals", "value": f"{r.value:.1f}%",
                          "delta": f"{r.value - ev:+.1f} vs England {ev:.1f}%" if ev is not None else None,
                          "delta_color": "off",
                          "note": f"{r.academic_year} ({r.note or 'census'}), all state-funded schools; DfE. "
                                  "Eligible now, not the six-year 'disadvantaged' measure."})
    for ks in (2, 4):
        lg = latest_gap(la_code, ks, path)
        if lg is None:
            tiles.append({"label": f"KS{ks} gap", "value": "not published",
                          "delta": None, "delta_color": "off",
                          "note": f"No published KS{ks} figures for disadvantaged and other pupils in {name}."})
            continue
        unit = lg["unit"]
        delta = None
        if lg["england_gap"] is not None:
            diff = lg["la_gap"] - lg["england_gap"]
            delta = f"{'+' if diff > 0 else '−' if diff < 0 else ''}{fmt_number(abs(diff), unit)} vs England {fmt_number(lg['england_gap'], unit)}"
        t = lg["trend"]
        trend_txt = f" The gap {t.describe(unit)}." if t.change is not None else ""
        tiles.append({"label": f"KS{ks} gap: {MEASURES[lg['measure']].short_label}",
                      "value": fmt_amount(lg["la_gap"], unit).replace("percentage points", "pts"),
                      "delta": delta, "delta_color": "inverse" if MEASURES[lg["measure"]].higher_is_better else "normal",
                      "note": f"{lg['label']}, {lg['academic_year']}: disadvantaged {fmt_value(lg['disadvantaged'], unit)}, other "
                              f"{fmt_value(lg['other'], unit)} (published).{trend_txt}"})
    return tiles


@per_build(maxsize=32)
def funnel_options(la_code: str, key_stage: int, measure: str, path=None) -> dict[str, list[int]]:
    """Years in which the LA's schools have a value, for each funnel quantity."""
    g = school_gaps(key_stage, la_code=la_code, measures=[measure], path=path)
    if g.empty:
        return {q: [] for q in QUANTITIES}
    return {q: sorted(int(y) for y in g.loc[g[q].notna(), "start_year"].unique()) for q in QUANTITIES}


def funnel_sentence(f: dict, la_name_: str, measure: str) -> str:
    """Plain words for a funnel plot, with the real numbers."""
    pts = f.get("points")
    if pts is None or pts.empty:
        return f"No school values for {MEASURES[measure].label} in {la_name_} for this choice."
    unit = MEASURES[measure].unit
    q = QUANTITIES[f["quantity"]].lower()
    n, out95, out998 = len(pts), int(pts.outside_95.sum()), int(pts.outside_998.sum())
    above = pts[pts.outside_95 & (pts.direction == "above")]
    below = pts[pts.outside_95 & (pts.direction == "below")]
    s = (f"In {label(f['year'])}, {out95} of {la_name_}'s {n} schools with a published value lie outside the 95% limits "
         f"around the centre line ({fmt_value(f['target'], unit)}, {f['target_source']}) for {q} in "
         f"{MEASURES[measure].label}")
    if out95:
        s += f": {len(above)} above and {len(below)} below"
    s += f"; {out998} outside the 99.8% limits"
    if out998:
        names = ", ".join(pts[pts.outside_998].sort_values("y").name.str.slice(0, 40).head(3))
        s += f" ({names}{'…' if out998 > 3 else ''})"
    s += ". Small schools swing more from year to year, so their limits are wider."
    if f.get("reference") is not None:
        s += (f" The {f['reference_source'].replace(' (published)', '')}'s published figure, "
              f"{fmt_value(f['reference'], unit)}, covers pupils not plotted (special schools, withheld results): "
              "it is shown as a reference line.")
    if f.get("allow_between_school"):
        s += (" The limits allow for real differences between schools (between-school variance, "
              "DerSimonian-Laird), so a school outside them stands out beyond the usual spread.")
    return s


@per_build(maxsize=32)
def school_options(la_code: str, key_stage: int, measure: str, path=None) -> pd.DataFrame:
    """The LA's schools with any published value of the measure (for a school picker): urn, name, latest
    number of disadvantaged pupils."""
    g = school_gaps(key_stage, la_code=la_code, measures=[measure], path=path)
    g = g[g[["disadvantaged", "other", "all", "gap_to_national_other"]].notna().any(axis=1)]
    if g.empty:
        return pd.DataFrame(columns=["urn", "name", "n_disadvantaged"])
    g = g.sort_values("start_year").groupby(["urn", "name"], as_index=False).last()
    return g[["urn", "name", "n_disadvantaged"]].sort_values("name").reset_index(drop=True)


def lines_sentence(lines: pd.DataFrame, la_code: str, key_stage: int, measure: str, view: str, path=None) -> str:
    """Plain words beside a gap-trends chart: the LA against England (published), then each chosen school's
    latest value with its number of pupils."""
    m = MEASURES[measure]
    unit = m.unit
    if view == "gap_to_national_other":
        la = lines[(lines.area_kind == "la")].sort_values("start_year")
        name = area_name(la_code, path)
        if la.empty:
            s = f"No gap to national other pupils in {m.label} for {name}."
        else:
            r = la.iloc[-1]
            s = (f"In {r.academic_year} disadvantaged pupils in {name} were {fmt_amount(abs(r.value), unit)} "
                 f"{'below' if r.value < 0 else 'above'} England's other pupils in {m.label}"
                 + (" (an estimate from its schools)" if r.source == "estimate" else "") + ".")
            pub = la[la.source == "published"]
            if len(pub) > 1:
                t = trend(pub.start_year, pub.value, [np.nan] * len(pub), key_stage, measure, kind="value")
                if t.change is not None:  # the one noise rule: a published LA figure with no pupil count claims nothing
                    s += f" It {t.describe(unit)}."
    else:
        s = trend_sentence(la_code, key_stage, measure, path)
    sch = lines[lines.area_kind == "school"]
    parts = []
    for (code, nm), sub in sch.groupby(["area_code", "area_name"]):
        r = sub.sort_values("start_year").iloc[-1]
        what = {"gap": "gap", "gap_to_national_other": "gap to national other pupils"}.get(view, r.group)
        n = "" if pd.isna(r.n) else f", {int(r.n)} {'disadvantaged ' if r.group in ('gap', 'disadvantaged') else ''}pupils"
        shown = fmt_value(r.value, unit) if view == "groups" else fmt_signed(r.value, unit)
        parts.append(f"{nm}: {what} {shown} in {r.academic_year}{n}")
    if parts:
        s += " " + "; ".join(parts) + "."
    return s


def pooled_sentence(df: pd.DataFrame, la_name_: str, measure: str) -> str:
    """Plain words above the pooled table."""
    if df is None or df.empty:
        return f"No school results for {MEASURES[measure].label} in {la_name_}."
    unit = MEASURES[measure].unit
    year = df.academic_year.iloc[0]
    small = int(df.small_cohort.sum())
    with_gap = df[df.gap.notna()]
    s = (f"In {year}, {len(with_gap)} of {la_name_}'s {len(df)} schools have a published gap in {MEASURES[measure].label}"
         f"; {small} had fewer than {SMALL_COHORT} disadvantaged pupils (or none published), where one year swings a "
         "lot: read the pooled three-year column (an estimate) for them.")
    if not with_gap.empty:
        s += (f" Single-year gaps ranged from {fmt_number(with_gap.gap.min(), unit)} to "
              f"{fmt_number(with_gap.gap.max(), unit)} (median {fmt_number(with_gap.gap.median(), unit)}).")
    else:
        nat = df[df.gap_to_national_other.notna()]
        if not nat.empty:
            s += (f" This year DfE publishes only the gap to national other pupils, for {len(nat)} schools: from "
                  f"{fmt_number(nat.gap_to_national_other.min(), unit)} to {fmt_number(nat.gap_to_national_other.max(), unit)}"
                  f" (median {fmt_number(nat.gap_to_national_other.median(), unit)}).")
    return s


@per_build(maxsize=32)
def default_measure(la_code: str, key_stage: int, path=None) -> str:
    """The first gap measure (headline ones first) with a published LA gap; else one with any LA figure
    (published or estimated) for disadvantaged pupils; else the first headline measure."""
    order = HEADLINE_GAP[key_stage] + [m for m in GAP_MEASURES[key_stage] if m not in HEADLINE_GAP[key_stage]]
    t = area_gaps(la_code, key_stage, order, path=path)
    for test in (lambda d: d.gap.notna(), lambda d: d.gap_to_national_other.notna() | d.disadvantaged.notna()):
        for m in order:
            sub = t[t.measure == m]
            if not sub.empty and test(sub).any():
                return m
    return order[0]
