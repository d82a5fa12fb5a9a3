"""Everything about one school: context, outcomes for disadvantaged and other pupils over time,
position in its family, Ofsted history (with predecessor and successor schools), partnerships.

Plain functions over named SQL (``equity/sql/profile/``) and the public functions of the feature
modules (families, neighbourhoods, partnerships). A feature module that cannot answer for this
school (no family, no location, a register that cannot be read) gives ``None`` plus the reason.

Figures are shown as published: values for groups of fewer than 6 pupils are hidden
(``school_result_shown``), a missing value keeps its reason (``status``), and the within-school
gap is computed only where both groups have a published value in the same year (a suppressed
group is never rebuilt from the others).
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from equity.cache import per_build
from equity import breaks, db, lookups, stats, years
from equity.analysis import families, neighbourhoods, partnerships
from equity.measures import GROUP_LABELS, HEADLINE, MEASURES
from equity.words import compare_words, fmt, fmt_diff

RELATION_LABEL = {"self": "this school", "predecessor": "predecessor", "successor": "successor"}


# ---- finding the school --------------------------------------------------------------------------

def search(text: str, limit: int = 20, path=None) -> pd.DataFrame:
    """Schools whose name, URN or postcode contains ``text`` (see equity.lookups.school_search)."""
    return lookups.school_search(text, limit=limit, path=path)


@per_build(maxsize=64)
def school(urn: int, path=None) -> dict | None:
    """The school's row in ``school`` (name, LA, phase, type, location...), or None if unknown."""
    try:
        return lookups.school(int(urn), path=path)
    except (TypeError, ValueError):
        return None


# ---- context -------------------------------------------------------------------------------------

@per_build(maxsize=64)
def context_history(urn: int, path=None) -> pd.DataFrame:
    """The school's context by key stage and year from the performance tables (cohort, % disadvantaged,
    prior attainment, % EAL, % SEN...), newest year last."""
    return db.query("profile/context", {"urn": int(urn)}, path=path)


def census(urn: int, path=None) -> pd.DataFrame:
    """January census figures (pupils on roll, % ever eligible for free school meals, % EAL, % SEN
    support, % EHC plan) and absence, by year."""
    return db.query("profile/census", {"urn": int(urn)}, path=path)


@per_build(maxsize=64)
def neighbourhood(urn: int, path=None) -> tuple[dict | None, str]:
    """The deprivation around the school from ``equity.analysis.neighbourhoods.profile`` (own LSOA and the
    population-weighted average of the LSOAs within its radius): (profile dict, '') or (None, reason).
    A school's location is a proxy for where its pupils live."""
    if not neighbourhoods.available(path):
        return None, "neighbourhood deprivation is not in this database (the IoD2019 files were not loaded)"
    try:
        res = neighbourhoods.profile(int(urn), path=path)
    except LookupError as exc:  # NoLocation: no postcode coordinates and no LSOA
        return None, f"no neighbourhood profile for this school: {exc}"
    return (res, "") if isinstance(res, dict) else (None, "no neighbourhood profile for this school")


def _pct(v) -> str:
    return "–" if v is None or pd.isna(v) else f"{float(v):.0f}%"


@per_build(maxsize=64)
def context_table(urn: int, path=None) -> pd.DataFrame:
    """One row per fact about the school: ``what``, ``value``, ``year`` and ``source``.

    Type, phase, size and intake (disadvantaged share, EAL, SEN, prior attainment) from the latest
    year of each source; the neighbourhood's deprivation when available.
    """
    s = school(urn, path) or {}
    rows = []

    def add(what, value, year="", source=""):
        if value is not None and not (isinstance(value, float) and np.isnan(value)) and value != "":
            rows.append({"what": what, "value": str(value), "year": year, "source": source})

    add("Local authority", f"{s.get('la_name') or ''} ({s.get('la_code')})".strip(), source="GIAS")
    add("Phase", s.get("phase"), source="GIAS")
    add("Type", s.get("type_group") or s.get("school_type"), source="GIAS")
    add("Admissions", s.get("admissions"), source="GIAS")
    add("Gender", (s.get("gender") or "").title() or None, source="GIAS")
    if s.get("open_date"):
        add("Opened", str(s.get("open_date"))[:10], source="GIAS")
    if s.get("close_date"):
        add("Closed", str(s.get("close_date"))[:10], source="GIAS")
    ctx = context_history(urn, path)
    for ks in (4, 2):
        c = ctx[ctx.key_stage == ks]
        if c.empty:
            continue
        r = c.iloc[-1]
        y = r.academic_year
        src = f"KS{ks} performance tables"
        add(f"Pupils at the end of KS{ks}", None if pd.isna(r.cohort) else int(r.cohort), y, src)
        add(f"Disadvantaged pupils at KS{ks}", _pct(r.pct_disadvantaged) if pd.notna(r.pct_disadvantaged) else None, y, src)
        add(f"Prior attainment of the KS{ks} cohort",
            None if pd.isna(r.prior_attainment) else f"{r.prior_attainment:g} ({r.prior_scale})", y, src)
        filled = str(r.get("filled_from_census") or "")
        census_src = f"school census ({y}; the results file has none)"
        add(f"English as an additional language (KS{ks})", _pct(r.pct_eal) if pd.notna(r.pct_eal) else None, y,
            census_src if "% EAL" in filled else src)
        add(f"Special educational needs (KS{ks})", _pct(r.pct_sen) if pd.notna(r.pct_sen) else None, y,
            census_src if "% SEN" in filled else src)
        add("Pupils on roll", None if pd.isna(r.pupils_on_roll) else int(r.pupils_on_roll), y,
            census_src if "pupils on roll" in filled else src)
    cen = census(urn, path)
    if not cen.empty:
        r = cen.iloc[-1]
        y = r.academic_year
        add("Pupils on roll (census)", None if pd.isna(r.pupils_on_roll) else int(r.pupils_on_roll), y, "school census")
        add("Ever eligible for free school meals (census)", _pct(r.pct_fsm_ever) if pd.notna(r.pct_fsm_ever) else None,
            y, "school census")
        add("English as an additional language (census)", _pct(r.pct_eal) if pd.notna(r.pct_eal) else None, y,
            "school census")
        add("SEN support / EHC plan (census)",
            None if pd.isna(r.pct_sen_support) else f"{_pct(r.pct_sen_support)} / {_pct(r.pct_ehcp)}", y,
            "school census")
        if pd.notna(r.overall_absence_pct):
            add("Overall absence", f"{r.overall_absence_pct:.1f}%", y, "absence statistics")
    nb, _why = neighbourhood(urn, path)
    if nb:
        src = "MHCLG English indices of deprivation 2019"
        own = nb.get("own") or {}
        if own:
            add("The school's LSOA", f"{own.get('lsoa11')} {own.get('name') or ''}".strip(), "IoD2019", src)
            for key, label in (("imd_decile", "IMD decile of the school's LSOA (1 = most deprived 10%)"),
                               ("idaci_decile", "IDACI decile of the school's LSOA (1 = most deprived 10%)")):
                if own.get(key) is not None and pd.notna(own.get(key)):
                    add(label, int(own[key]), "IoD2019", src)
        r = nb.get("radius_km")
        for sc, label in (("imd", "IMD"), ("idaci", "IDACI")):
            v, d = nb.get(f"{sc}_score"), nb.get(f"{sc}_decile")
            if v is not None and pd.notna(v):
                add(f"{label} score within {r:g} km (population-weighted)",
                    f"{v:.3f}" + (f" (decile {int(d)})" if d is not None and pd.notna(d) else ""), "IoD2019", src)
    return pd.DataFrame(rows, columns=["what", "value", "year", "source"])


# ---- lineage and outcomes ------------------------------------------------------------------------

@per_build(maxsize=64)
def lineage(urn: int, path=None) -> pd.DataFrame:
    """Schools linked to this one in GIAS: ``related_urn``, ``relation`` ('predecessor' = the school
    it replaced, e.g. before academy conversion; 'successor'), link type and date, ``depth``
    (1 = direct link), name and LA."""
    return db.query("profile/lineage", {"urn": int(urn)}, path=path)


@per_build(maxsize=64)
def key_stages(urn: int, path=None) -> list[int]:
    """Key stages (4 and/or 2) with any results for the school or its predecessors/successors."""
    urns = [int(urn), *lineage(urn, path).related_urn.astype(int).tolist()]
    out = []
    for ks in (4, 2):
        if not db.query("profile/results", {"urns": urns, "key_stage": ks}, path=path).empty:
            out.append(ks)
    return out


@per_build(maxsize=64)
def outcomes(urn: int, key_stage: int, *, include_lineage: bool = True, path=None) -> pd.DataFrame:
    """The school's results at one key stage: one row per measure, pupil group and year.

    Columns as ``school_result_shown`` (value, ci_low, ci_high, cohort, status...) plus
    ``source_urn`` and ``relation`` ('this school', 'predecessor', 'successor'). With
    ``include_lineage``, years the school has no row for (a measure and group) are filled from its
    predecessor or successor URNs (an academy's results before conversion are published under the
    old URN), labelled as such.
    """
    lin = lineage(urn, path) if include_lineage else pd.DataFrame(columns=["related_urn", "relation"])
    urns = [int(urn), *lin.related_urn.astype(int).tolist()]
    df = db.query("profile/results", {"urns": urns, "key_stage": int(key_stage)}, path=path)
    rel = {int(urn): "this school", **{int(u): r for u, r in zip(lin.related_urn, lin.relation)}}
    df["source_urn"] = df.urn.astype(int)
    df["relation"] = df.source_urn.map(rel)
    df["_own"] = (df.source_urn == int(urn)).astype(int)
    df = (df.sort_values(["measure", "pupil_group", "start_year", "_own"], ascending=[True, True, True, False])
            .drop_duplicates(["measure", "pupil_group", "start_year"]).drop(columns="_own"))
    return df.sort_values(["measure", "pupil_group", "start_year"]).reset_index(drop=True)


def measures_available(df: pd.DataFrame, key_stage: int) -> list[str]:
    """Measures with at least one value in ``df`` (from :func:`outcomes`), headline measures first."""
    have = set(df.loc[df.value.notna(), "measure"])
    order = [m for m in HEADLINE.get(key_stage, []) if m in have]
    return order + [m for m in MEASURES if m in have and m not in order and MEASURES[m].key_stage == key_stage]


def default_measure(df: pd.DataFrame, key_stage: int) -> str | None:
    """The measure to open on: the first headline measure with values for disadvantaged pupils."""
    dis = set(df.loc[df.value.notna() & (df.pupil_group == "disadvantaged"), "measure"])
    for m in HEADLINE.get(key_stage, []) + list(MEASURES):
        if m in dis:
            return m
    ms = measures_available(df, key_stage)
    return ms[0] if ms else None


GAP_COLUMNS = ["academic_year", "start_year", "disadvantaged", "disadvantaged_pupils", "other", "other_pupils", "gap",
               "se_gap", "all_pupils_value", "status", "relation", "source_urn"]


def _num(v) -> float:
    """A float, NaN for None / NaN / pandas NA (pupil counts are nullable integers)."""
    return float(v) if stats.finite(v) else float("nan")


def _records(df, measure: str) -> list[dict]:
    if isinstance(df, pd.DataFrame):
        return df[df.measure == measure].to_dict("records")
    return [r for r in df if r["measure"] == measure]


def gap_rows(df, measure: str) -> list[dict]:
    """:func:`gaps` as a list of dicts (plain Python: fast enough to run over every school in the bundle).
    ``df`` is :func:`outcomes`' table or its ``to_dict('records')``."""
    by_year: dict[int, dict] = {}
    for r in _records(df, measure):
        by_year.setdefault(int(r["start_year"]), {})[r["pupil_group"]] = r
    rows = []
    for y in sorted(by_year):
        by = by_year[y]
        dis, oth, al = by.get("disadvantaged"), by.get("other"), by.get("all")
        dv = _num(dis["value"]) if dis else np.nan
        ov = _num(oth["value"]) if oth else np.nan
        dn = _num(dis["cohort"]) if dis else np.nan
        on = _num(oth["cohort"]) if oth else np.nan
        st = "; ".join(f"{GROUP_LABELS[k].split()[0].lower()}: {r['status']}" for k, r in by.items()
                       if r["status"] != "ok" and not stats.finite(r["value"]))
        first = next(iter(by.values()))
        gap = ov - dv if stats.finite(dv) and stats.finite(ov) else np.nan
        se_gap = np.nan
        if stats.finite(gap):
            se_d = stats.standard_error(measure, dv, dn, dis.get("ci_low"), dis.get("ci_high"))
            se_o = stats.standard_error(measure, ov, on, oth.get("ci_low"), oth.get("ci_high"))
            se_gap = float(stats.combined_se(se_d, se_o))
        rows.append({"academic_year": years.label(y), "start_year": y, "disadvantaged": dv,
                     "disadvantaged_pupils": dn, "other": ov, "other_pupils": on, "gap": gap, "se_gap": se_gap,
                     "all_pupils_value": _num(al["value"]) if al else np.nan, "status": st,
                     "relation": first["relation"], "source_urn": first["source_urn"]})
    return rows


def gaps(df: pd.DataFrame, measure: str) -> pd.DataFrame:
    """One row per year: disadvantaged and other pupils' values and cohorts (NaN where the number of pupils
    is not published), the within-school gap (other minus disadvantaged, only where both are published)
    and its standard error (``se_gap``, :func:`equity.stats.standard_error` of each group), ``status`` of
    each group when missing, and ``relation`` (whose URN the figures are published under)."""
    return pd.DataFrame(gap_rows(df, measure), columns=GAP_COLUMNS)


def trend_data(df: pd.DataFrame, measure: str, name: str, groups=("disadvantaged", "other")) -> pd.DataFrame:
    """Long data for :func:`equity.present.pack_charts.trend_figure`: the school's groups over time.
    Results under a predecessor/successor URN form their own series ('... (predecessor URN n)')."""
    d = df[(df.measure == measure) & df.pupil_group.isin(groups)].copy()
    if d.empty:
        return pd.DataFrame(columns=["series", "group", "area", "start_year", "value", "ci_low", "ci_high", "cohort",
                                     "version"])
    suffix = np.where(d.relation == "this school", "",
                      " (" + d.relation.astype(str) + " URN " + d.source_urn.astype(str) + ")")
    d["series"] = [f"{GROUP_LABELS[g]}{s}" for g, s in zip(d.pupil_group, suffix)]
    d["group"] = d.pupil_group
    d["area"] = np.where(d.relation == "this school", "school", "predecessor")
    return d[["series", "group", "area", "start_year", "value", "ci_low", "ci_high", "cohort", "version"]]


def published_comparison(la_code: str, key_stage: int, measure: str, path=None) -> pd.DataFrame:
    """DfE's published values for the school's LA and England (state-funded) on ``measure``, as
    trend data for :func:`equity.present.pack_charts.trend_figure` (disadvantaged and other pupils)."""
    df = db.query("profile/published", {"key_stage": int(key_stage), "areas": [str(la_code), "england"]}, path=path)
    d = df[(df.measure == measure) & df.pupil_group.isin(["disadvantaged", "other"])].copy()
    names = {"england": "England"}
    las = lookups.las_with_data(path)
    names.update(dict(zip(las.la_code, las.la_name)))
    d["series"] = [f"{names.get(a, a)}: {GROUP_LABELS[g].lower()} (published)" for a, g in zip(d.area_code, d.pupil_group)]
    d["group"] = d.pupil_group
    d["area"] = np.where(d.area_code == "england", "england", "la")
    return d[["series", "group", "area", "start_year", "value", "ci_low", "ci_high", "cohort", "area_code",
              "academic_year", "pupil_group", "status", "version"]]


def _pupils(n) -> str:
    """'(35)' or '(number not published)' for a group's pupils."""
    return f"({int(n)})" if stats.finite(n) else "(number of pupils not published)"


def outcome_sentence(df, measure: str, name: str, key_stage: int) -> str:
    """A plain-language sentence with the real numbers: the latest year with both groups, the gap,
    and how it compares with the earliest comparable year (never across a break, :mod:`equity.breaks`).

    A change in the gap is called wider or narrower only when it is beyond noise
    (:func:`equity.stats.beyond_noise` on the two years' gap standard errors); otherwise, or when a
    group's number of pupils is not published, the sentence says the change is within the noise or
    cannot be tested. ``df`` is :func:`outcomes`' table or its ``to_dict('records')``."""
    m = MEASURES[measure]
    g = gap_rows(df, measure)
    label = m.label
    if not g:
        return f"{name} has no published {label} results at KS{key_stage}."
    both = [r for r in g if stats.finite(r["gap"])]
    if not both:
        dis = [r for r in g if stats.finite(r["disadvantaged"])]
        if dis:
            r = dis[-1]
            if measure.endswith("vs_national_other"):
                side = "below" if r["disadvantaged"] < 0 else "above"
                return (f"In {r['academic_year']}, {name}'s disadvantaged pupils {_pupils(r['disadvantaged_pupils'])} "
                        f"were {fmt_diff(measure, r['disadvantaged'])} {side} other pupils nationally (DfE's comparison).")
            return (f"In {r['academic_year']}, {name}'s disadvantaged pupils {_pupils(r['disadvantaged_pupils'])} scored "
                    f"{fmt(measure, r['disadvantaged'])} on {label}; other pupils' figure is not published that year.")
        al = [r for r in g if stats.finite(r["all_pupils_value"])]
        if al:
            r = al[-1]
            return (f"In {r['academic_year']}, all pupils at {name} scored {fmt(measure, r['all_pupils_value'])} on "
                    f"{label}. Figures for disadvantaged pupils are not published for this school (small group, or "
                    "not in the files we hold).")
        reasons = "; ".join(sorted({r["status"] for r in g if r["status"]}))
        return f"{name}'s {label} results are not published ({reasons or 'no values'})."
    last = both[-1]
    ahead = (last["gap"] > 0) == m.higher_is_better
    text = (f"In {last['academic_year']}, {name}'s disadvantaged pupils {_pupils(last['disadvantaged_pupils'])} "
            f"scored {fmt(measure, last['disadvantaged'])} on {label} and other pupils "
            f"{_pupils(last['other_pupils'])} {fmt(measure, last['other'])}: disadvantaged pupils were "
            f"{fmt_diff(measure, last['gap'])} {'behind' if ahead else 'ahead'}"
            + (f" (published under its {last['relation']} URN {int(last['source_urn'])})."
               if last["relation"] != "this school" else "."))
    earlier = [r for r in both if r["start_year"] < last["start_year"]]
    comparable = [r for r in earlier if breaks.comparable(r["start_year"], last["start_year"], key_stage, measure)]
    if comparable:
        first = comparable[0]
        change = abs(last["gap"]) - abs(first["gap"])
        se = float(stats.combined_se(first["se_gap"], last["se_gap"]))
        text += f" In {first['academic_year']} the gap was {fmt_diff(measure, first['gap'])}"
        if not stats.finite(se):
            text += ("; the numbers of pupils are not published for both years, so whether it changed by more than "
                     "chance cannot be tested.")
        elif stats.beyond_noise(last["gap"] - first["gap"], se):
            word = compare_words(measure, last["gap"], first["gap"])
            text += (f", so it is {fmt_diff(measure, change)} {word} now, more than the noise "
                     f"(±{fmt_diff(measure, stats.noise_margin(se))}).")
        else:
            text += (f": the change ({fmt_diff(measure, change)}) is within the noise "
                     f"(±{fmt_diff(measure, stats.noise_margin(se))}), so no change is claimed.")
        caution = breaks.cautions(first["start_year"], last["start_year"], key_stage, measure)
        if caution:
            text += f" Caution: {caution[0]}."
    elif earlier:
        text += " Earlier years are not comparable (a break in the series), so no change is stated."
    return text


# ---- family --------------------------------------------------------------------------------------

@per_build(maxsize=32)
def family_position(urn: int, key_stage: int, measure: str | None = None, start_year: int | None = None,
                    path=None) -> tuple[families.FamilyOutcomes | None, str]:
    """The school and its family of similar schools with results for disadvantaged pupils
    (:class:`equity.analysis.families.FamilyOutcomes`) and a sentence: (outcomes, sentence) or (None, reason)."""
    try:
        out = families.family_outcomes(int(urn), measure, key_stage=key_stage, start_year=start_year, path=path)
    except (LookupError, ValueError) as exc:  # FamilyUnavailable (no context data, not that phase...), no outcomes
        return None, f"No family for this school: {getattr(exc, 'reason', None) or exc}."
    msr = out.measure
    yrs_ = out.years or []
    when = years.label(int(max(yrs_))) if yrs_ else ""
    table = out.table
    me = table.iloc[0]
    n = int(out.members_with_value)
    what = out.measure_label + ("" if "disadvantaged" in out.measure_label.lower() else " for disadvantaged pupils")
    if pd.isna(me.value):
        sent = (f"{what}, {when}: this school has no published figure"
                f"{' (' + str(me.status) + ')' if isinstance(me.status, str) else ''}; the family median is "
                f"{fmt(msr, out.family_median)} ({n} of {len(table) - 1} similar schools with a figure).")
    else:
        pos = int(me.position) if pd.notna(me.position) else None
        sent = (f"{what}, {when}: this school {fmt(msr, me.value)} "
                f"({int(me.cohort)} pupils), family median {fmt(msr, out.family_median)}; "
                f"{'position ' + str(pos) + ' of ' + str(n + 1) if pos else 'not ranked'} "
                f"(1 = best) among similar schools outside its competition radius.")
    return out, sent


# ---- Ofsted --------------------------------------------------------------------------------------

@per_build(maxsize=64)
def ofsted_history(urn: int, path=None) -> pd.DataFrame:
    """Every dated Ofsted judgement of the school and its predecessor/successor URNs, newest first:
    the bundled history (single-word grades, to February 2020) and, for schools in Ofsted's management
    information, the latest report card, graded inspection (with or without an overall grade) and
    ungraded inspection.

    ``school`` labels whose inspection it was ('this school', 'predecessor: NAME (URN n)'); ``urn`` is
    the URN inspected. ``grade``: the single-word grade 1 Outstanding, 2 Good, 3 Requires improvement
    (Satisfactory before September 2012), 4 Inadequate; NULL under the later frameworks, whose words
    are in ``grade_label`` (= ``summary``). ``framework`` / ``framework_label`` name the framework;
    ``dated`` marks a judgement older than the cut-off (``equity.analysis.ofsted.DATED_AFTER_YEARS``).
    """
    from equity.analysis import ofsted
    lin = lineage(urn, path)
    urns = [int(urn), *lin.related_urn.astype(int).tolist()]
    df = ofsted.history(urns, path)
    df = df[df.inspected_urn.isin(urns)].copy()
    df["urn"] = df.inspected_urn.astype(int)
    labels = {int(urn): "this school"}
    for r in lin.itertuples():
        labels[int(r.related_urn)] = f"{r.relation}: {r.name or 'unknown'} (URN {int(r.related_urn)})"
    df["school"] = df.urn.map(labels)
    single = df.framework == "single_word"
    word = df.grade.map(ofsted.GRADE_LABELS)
    word = np.where((df.grade == 3) & (pd.to_datetime(df.inspection_date) < "2012-09-01"), "Satisfactory", word)
    df["grade_label"] = np.where(single, word, df.summary)
    df.loc[~single, "grade"] = pd.NA
    return df[["inspection_date", "grade", "grade_label", "framework", "framework_label", "dated", "school", "urn",
               "summary", "source_file"]].reset_index(drop=True)


def ofsted_table(df: pd.DataFrame) -> pd.DataFrame:
    """The history from :func:`ofsted_history` as the page lists it: date, framework, the judgement in
    Ofsted's words (single-word grades as 'n Label'), whether it is dated, and whose inspection it was."""
    words = [f"{int(g)} {lab}" if pd.notna(g) else lab for g, lab in zip(df.grade, df.grade_label)]
    return pd.DataFrame({"inspected": pd.to_datetime(df.inspection_date).dt.date, "framework": df.framework_label,
                         "judgement": words, "dated": np.where(df.dated.astype(bool), "DATED", ""),
                         "school": df.school})


def ofsted_sentence(df: pd.DataFrame, name: str) -> str:
    """The latest judgement held, in words with its date and framework (marked when dated), and what
    the list holds. Never calls an old grade "current"."""
    from equity.analysis import ofsted
    if df.empty:
        return (f"No Ofsted judgement of {name} or its predecessors is held: the bundled history ends in February "
                "2020 and the management information (report cards) covers a sample of schools.")
    graded = df[df.framework != "ungraded"]
    last = graded.iloc[0] if len(graded) else df.iloc[0]
    who = "" if last.school == "this school" else f" (the {last.school})"
    text = ("Latest graded judgement held" + who + ": "
            + ofsted.describe(last.framework, last.inspection_date, last.summary, last.grade) + ". ")
    ung = df[(df.framework == "ungraded") & (pd.to_datetime(df.inspection_date) > pd.Timestamp(last.inspection_date))]
    if len(ung):
        u = ung.iloc[0]
        text += f"Since then an ungraded inspection ({pd.Timestamp(u.inspection_date):%d %b %Y}): {u.summary}. "
    own = df[df.school == "this school"]
    text += f"{len(df)} judgement(s) listed, {len(own)} under this URN."
    if df.framework.eq("single_word").all():
        text += (" All are single-word grades from the bundled history (to February 2020); later inspections are not "
                 "held for this school.")
    return text


def report_card(urn: int, path=None) -> tuple[pd.DataFrame, str]:
    """The school's latest Ofsted report card in full: (one row per area with its grade as published
    and its date of grade, a sentence with the inspection and publication dates, safeguarding and any
    category of concern). An empty table and a sentence saying so when the school has none held."""
    from equity.analysis import ofsted
    card = ofsted.report_card(urn, path)
    if card.empty:
        return card, ("No report card held for this school: report cards (from November 2025) are bundled for a "
                      "sample of schools only.")
    first = card.iloc[0]
    coc = first.category_of_concern if isinstance(first.category_of_concern, str) and first.category_of_concern \
        else "none"
    safe = first.safeguarding if isinstance(first.safeguarding, str) else "not stated"
    if not bool(first.safeguarding_known):
        safe += " (a value we do not know)"
    pub = f", published {pd.Timestamp(first.publication_date):%d %B %Y}" if pd.notna(first.publication_date) else ""
    low = card[card.grade >= 4]
    text = (f"Report card from the inspection of {pd.Timestamp(first.inspection_date):%d %B %Y}{pub}"
            f"{ofsted.dated_note(first.inspection_date)}: safeguarding standards {safe.lower()}; category of concern: "
            f"{coc}. " + (f"{len(low)} area(s) graded Needs attention or Urgent improvement: "
                          + ", ".join(f"{a} ({g})" for a, g in zip(low.area, low.grade_label)) + "."
                          if len(low) else "No area is graded below Expected standard."))
    unknown = card[~card.known.astype(bool)]
    if len(unknown):
        text += f" {len(unknown)} area(s) hold a value we do not know, shown as published."
    card = card.assign(grade_date=pd.to_datetime(card.grade_date).dt.date)
    table = card[["area", "grade_label", "grade_date"]].rename(
        columns={"grade_label": "grade (as published)", "grade_date": "date of grade"})
    return table.reset_index(drop=True), text


# ---- partnerships --------------------------------------------------------------------------------

def partnerships_for(urn: int, user_db=None) -> tuple[pd.DataFrame | None, str]:
    """Partnerships in the register (``equity.analysis.partnerships``) that involve the school, as the
    supported school or a supporter: (table with ``role``, '') or (None, reason)."""
    try:
        reg = partnerships.register(path=user_db)
    except partnerships.RegisterError as exc:
        return None, f"The partnership register could not be read ({partnerships.explain(exc)})."
    if reg.empty:
        return reg, ""
    urn = int(urn)
    partners = reg.partner_urns.map(lambda v: [int(x) for x in str(v).split()] if pd.notna(v) else [])
    mine = reg[(reg.school_urn.astype(int) == urn) | partners.map(lambda p: urn in p)].copy()
    mine["role"] = np.where(mine.school_urn.astype(int) == urn, "supported school", "supporting school")
    return mine, ""
