"""Compare an LA with England, its region and similar LAs, using published LA figures only.

Every figure here is an area figure as published: DfE's LA and England rows (performance tables,
KS4 destinations), and DfE statistics re-published by the Social Mobility Commission (KS2 by
disadvantage for every LA, 2021/22; England series; ITL2 regions by free-school-meal eligibility) and
by LG Inform (Trafford and its statistical neighbours, all pupils). Nothing is recomputed from schools,
and no regional average is built from LAs: a region is shown as its LAs side by side.

What the bundled data allow (see :func:`availability`): a disadvantaged/other comparison of every LA
for KS2 reading, writing and maths in 2021/22 and for KS4 destinations in 2018/19; free-school-meal
eligibility for every LA, region and England 2015/16-2020/21; DfE's statistical neighbours only for the
one LA whose list is bundled (Trafford); ITL2 regions only for 2023/24 and only by FSM eligibility.
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from equity.cache import per_build
from equity import db
from equity.analysis import gaps
from equity.measures import LA_ALL_PUPILS, MEASURES
from equity.words import fmt_amount, fmt_number, fmt_value
from equity.years import label

# Greater Manchester's ten LAs form one ITL2 region; other LAs are matched to an ITL2 name that contains theirs.
GM_CODES = {str(c) for c in range(350, 360)}
MIN_LAS = 20  # a measure-year with fewer LAs than this is not offered as an LA-by-LA comparison


def _q(name: str, params: dict | None = None, path=None) -> pd.DataFrame:
    return gaps._query(name, params or {}, path)


def _has_indicators(path=None) -> bool:
    return db.table_exists("la_indicator", path)


def regions(path=None) -> pd.DataFrame:
    """Every LA's code, name and region (government office region from DfE's FSM file where held)."""
    if not _has_indicators(path):
        return _q("gaps/la_names", {}, path)
    return _q("la_compare/la_regions", {}, path)


def la_region(la_code: str, path=None) -> str | None:
    r = regions(path)
    r = r[r.la_code == la_code]
    return None if r.empty or pd.isna(r.region_name.iloc[0]) else str(r.region_name.iloc[0])


def _indicator(measure: str, path=None) -> pd.DataFrame:
    if not _has_indicators(path):
        return pd.DataFrame()
    return _q("la_compare/indicator", {"measure": measure}, path)


def _wide(long: pd.DataFrame) -> pd.DataFrame:
    piv = long.pivot_table(index=["area_code"], columns="pupil_group", values="value", aggfunc="first")
    n = long.pivot_table(index=["area_code"], columns="pupil_group", values="cohort", aggfunc="first")
    out = piv.reindex(columns=["disadvantaged", "other", "all"]).join(
        n.reindex(columns=["disadvantaged", "other", "all"]).add_prefix("n_")).reset_index()
    out["gap"] = out.other - out.disadvantaged
    return out


def comparison_sets(path=None) -> pd.DataFrame:
    """The (key stage, measure, year) combinations published for enough LAs (>= MIN_LAS) with both
    disadvantaged and other pupils: the LA-by-LA comparisons the bundled data allow."""
    rows = []
    pub = _q("la_compare/published_all_las", {}, path)
    if not pub.empty:
        for r in pub.itertuples():
            rows.append({"key_stage": int(r.key_stage), "measure": r.measure, "start_year": int(r.start_year),
                         "las": int(r.las), "source": "DfE performance tables"})
    if _has_indicators(path):
        for m in LA_ALL_PUPILS:
            ind = _indicator(m, path)
            ind = ind[(ind.area_level == "la") & ind.pupil_group.isin(["disadvantaged", "other"]) & (ind.status == "ok")]
            for (ks, y), sub in ind.groupby(["key_stage", "start_year"]):
                las = sub.groupby("area_code").pupil_group.nunique()
                rows.append({"key_stage": int(ks), "measure": m, "start_year": int(y), "las": int((las == 2).sum()),
                             "source": "; ".join(sorted(sub.source.unique()))})
    out = pd.DataFrame(rows, columns=["key_stage", "measure", "start_year", "las", "source"])
    out = out[out.las >= MIN_LAS].drop_duplicates(["key_stage", "measure", "start_year"])
    out["academic_year"] = out.start_year.map(label)
    out["label"] = [f"KS{k}: {MEASURES[m].label}, {label(y)}" for k, m, y in zip(out.key_stage, out.measure, out.start_year)]
    return out.sort_values(["key_stage", "measure", "start_year"]).reset_index(drop=True)


@per_build(maxsize=32)
def la_gap_table(key_stage: int, measure: str, start_year: int, path=None) -> tuple[pd.DataFrame, dict | None]:
    """Every LA's published disadvantaged and other figures for one measure and year, with region, and
    England's published row (or None). Gap = other minus disadvantaged."""
    parts = []
    pub = _q("la_compare/published_las", {"ks": key_stage, "measure": measure, "year": start_year}, path)
    if not pub.empty:
        parts.append(pub.assign(source="DfE performance tables", area_name=None))
    ind = _indicator(measure, path)
    if not ind.empty:
        ind = ind[(ind.key_stage == key_stage) & (ind.start_year == start_year) & ind.area_level.isin(["la", "england"])]
        parts.append(ind[["area_code", "area_level", "pupil_group", "value", "cohort", "status", "source", "area_name"]])
    if not parts:
        return pd.DataFrame(), None
    long = pd.concat(parts, ignore_index=True)
    long = long[long.pupil_group.isin(["disadvantaged", "other", "all"])]
    long["_ok"] = (long.status == "ok").astype(int)
    long["_p"] = (long.source != "DfE performance tables").astype(int)
    # England's row from the same source as most LAs' rows, so the comparison does not mix publishers
    split = long[long.pupil_group.isin(["disadvantaged", "other"]) & (long.area_code != "england") & (long._ok == 1)]
    if not split.empty:
        main = split.groupby("source").area_code.nunique().idxmax()
        eng = long.area_code == "england"
        long.loc[eng, "_p"] = (long.loc[eng, "source"] != main).astype(int)
    long = long.sort_values(["area_code", "pupil_group", "_ok", "_p"], ascending=[True, True, False, True]) \
        .drop_duplicates(["area_code", "pupil_group"])
    long.loc[long.status != "ok", "value"] = np.nan
    wide = _wide(long)
    # credit the publisher of the figures shown (the two groups), not of an all-pupils row from another file
    shown = long[long.pupil_group.isin(["disadvantaged", "other"])]
    src = shown.groupby("area_code").source.agg(lambda v: "; ".join(sorted(set(v))))
    wide["source"] = wide.area_code.map(src)
    eng = wide[wide.area_code == "england"]
    england = eng.iloc[0].to_dict() if not eng.empty else None
    las = wide[wide.area_code != "england"].copy()
    reg = regions(path)
    names = dict(zip(reg.la_code, reg.la_name))
    ind_names = long.dropna(subset=["area_name"]).groupby("area_code").area_name.first().to_dict()
    las["area_name"] = las.area_code.map(lambda c: names.get(c) or ind_names.get(c) or c)
    las["region_name"] = las.area_code.map(dict(zip(reg.la_code, reg.region_name)))
    las = las[las.disadvantaged.notna() & las.other.notna()]
    las["rank_in_england"] = las.gap.rank(ascending=False, method="min").astype(int)
    las["las_in_england"] = len(las)
    return las.sort_values("gap", ascending=False).reset_index(drop=True), england


def nearest_by_fsm(la_code: str, k: int = 10, path=None) -> list[str]:
    """The k LAs whose latest % of pupils eligible for free school meals is closest to this LA's: a
    simple, transparent similarity of our own (not DfE's statistical neighbours)."""
    ind = _indicator("fsm_eligible_pct", path)
    if ind.empty:
        return []
    ind = ind[(ind.area_level == "la") & ind.value.notna() & ind.area_code.str.fullmatch(r"\d{3}")]
    latest = ind[ind.start_year == ind.start_year.max()].drop_duplicates("area_code").set_index("area_code").value
    if la_code not in latest:
        return []
    d = (latest - latest[la_code]).abs().drop(la_code).sort_values()
    return list(d.index[:k])


def neighbour_group(la_code: str, path=None) -> dict:
    """Statistical neighbours held for this LA: ``relation`` is 'subject' (its own list is bundled),
    'member' (it is on another LA's list: that list is offered), or None."""
    if not _has_indicators(path) or not db.table_exists("la_neighbour", path):
        return {"relation": None, "subject": None, "members": []}
    nb = _q("la_compare/neighbours", {"la": la_code}, path)
    if nb.empty:
        lists = _q("la_compare/all_neighbour_lists", {}, path)
        return {"relation": None, "subject": lists.la_code.iloc[0] if not lists.empty else None,
                "subject_name": lists.la_name.iloc[0] if not lists.empty else None, "members": []}
    own = nb[nb.la_code == la_code]
    rel = "subject" if not own.empty else "member"
    subject = la_code if rel == "subject" else nb.la_code.iloc[0]
    lists = _q("la_compare/all_neighbour_lists", {}, path)
    mem = lists[lists.la_code == subject]
    return {"relation": rel, "subject": subject, "subject_name": mem.la_name.iloc[0] if not mem.empty else subject,
            "members": list(mem.neighbour_code), "member_names": dict(zip(mem.neighbour_code, mem.neighbour_name))}


def compare(la_code: str, key_stage: int, measure: str, start_year: int, against: str = "region",
            path=None) -> dict:
    """An LA against a comparison group for one published measure and year.

    ``against``: 'region' (the LAs of its region), 'neighbours' (the bundled statistical-neighbour list
    it belongs to), 'nearest_fsm' (the ten LAs with the nearest FSM rate) or 'england' (every LA).
    Returns ``table`` (the group's LAs, with the chosen one), ``england`` (published row), ``row`` (the
    LA's), ``group_label`` and ``sentence``.
    """
    table, england = la_gap_table(key_stage, measure, start_year, path)
    name = gaps.area_name(la_code, path)
    out = {"table": pd.DataFrame(), "england": england, "row": None, "group_label": "", "sentence": ""}
    if table.empty:
        out["sentence"] = "No LA figures for disadvantaged and other pupils for this measure and year."
        return out
    row = table[table.area_code == la_code]
    region = la_region(la_code, path)
    if against == "region":
        group = table[table.region_name == region] if region else table.iloc[0:0]
        group_label = f"LAs in {region}" if region else "LAs in its region"
    elif against == "neighbours":
        ng = neighbour_group(la_code, path)
        codes = set(ng["members"]) | ({ng["subject"]} if ng["subject"] else set())
        group = table[table.area_code.isin(codes)]
        group_label = f"{ng.get('subject_name') or ''}'s statistical neighbours"
    elif against == "nearest_fsm":
        codes = set(nearest_by_fsm(la_code, 10, path)) | {la_code}
        group = table[table.area_code.isin(codes)]
        group_label = "the 10 LAs with the nearest free-school-meal rate"
    else:
        group, group_label = table, "all LAs in England"
    if not row.empty and la_code not in set(group.area_code):
        group = pd.concat([group, row])
    out.update(table=group.sort_values("gap", ascending=False).reset_index(drop=True), group_label=group_label,
               row=row.iloc[0].to_dict() if not row.empty else None)
    out["sentence"] = compare_sentence(out, name, measure, start_year)
    return out


def compare_sentence(c: dict, name: str, measure: str, start_year: int) -> str:
    m = MEASURES[measure]
    unit = m.unit
    year = label(start_year)
    r, eng, grp = c["row"], c["england"], c["table"]
    if r is None:
        return (f"{name} has no published {m.label} figures for disadvantaged and other pupils in {year}; "
                f"the chart shows {c['group_label']}.")
    s = (f"In {year} the gap in {m.label} in {name} was {fmt_amount(r['gap'], unit)} (disadvantaged pupils "
         f"{fmt_value(r['disadvantaged'], unit)}, other pupils {fmt_value(r['other'], unit)})")
    if eng is not None and pd.notna(eng.get("gap")):
        diff = r["gap"] - eng["gap"]
        word = "wider than" if diff > 0 else "narrower than" if diff < 0 else "the same as"
        s += f", {word} England's {fmt_number(eng['gap'], unit)}"
    if len(grp) > 1 and len(grp) != int(r["las_in_england"]):
        rank = int((grp.gap > r["gap"]).sum()) + 1
        s += f"; {_widest(rank)} of {len(grp)} among {c['group_label']}"
    s += f" ({_widest(int(r['rank_in_england']))} of {int(r['las_in_england'])} LAs in England)."
    return s


def _widest(rank: int) -> str:
    return "the widest" if rank == 1 else f"the {_ordinal(rank)} widest"


def _ordinal(n: int) -> str:
    return f"{n}{'th' if 10 <= n % 100 <= 20 else {1: 'st', 2: 'nd', 3: 'rd'}.get(n % 10, 'th')}"


def fsm_lines(la_code: str, path=None) -> pd.DataFrame:
    """% of pupils eligible for free school meals: the LA, its region and England, every year held."""
    ind = _indicator("fsm_eligible_pct", path)
    if ind.empty:
        return pd.DataFrame(columns=["series", "start_year", "academic_year", "value", "note"])
    region = la_region(la_code, path)
    la = ind[(ind.area_code == la_code) & (ind.area_level == "la")]
    reg = ind[(ind.area_level == "region") & (ind.area_name == region)]
    eng = ind[ind.area_level == "england"]
    parts = []
    for series, sub in ((gaps.area_name(la_code, path), la), (region or "region", reg), ("England", eng)):
        if not sub.empty:
            parts.append(sub.assign(series=series)[["series", "start_year", "academic_year", "value", "note"]])
    return pd.concat(parts, ignore_index=True) if parts else pd.DataFrame(
        columns=["series", "start_year", "academic_year", "value", "note"])


def fsm_sentence(lines: pd.DataFrame, name: str) -> str:
    if lines.empty or name not in set(lines.series):
        return f"No free-school-meal figures for {name} in the bundled data."
    la = lines[lines.series == name].sort_values("start_year")
    first, last = la.iloc[0], la.iloc[-1]
    s = (f"In {last.academic_year} ({last.note}) {last.value:.1f}% of pupils in {name} were eligible for free school "
         f"meals, up from {first.value:.1f}% in {first.academic_year}" if last.value >= first.value else
         f"In {last.academic_year} ({last.note}) {last.value:.1f}% of pupils in {name} were eligible for free school "
         f"meals, down from {first.value:.1f}% in {first.academic_year}")
    others = lines[(lines.series != name) & (lines.start_year == last.start_year)]
    if not others.empty:
        s += "; " + ", ".join(f"{o.series} {o.value:.1f}%" for o in others.itertuples())
    return s + ". The autumn 2020 figure follows a different census from the spring ones before it."


def neighbour_lines(subject: str, measure: str, path=None) -> pd.DataFrame:
    """All-pupil figures by year for an LA's statistical-neighbour group and England (LG Inform files)."""
    ng = neighbour_group(subject, path)
    codes = set(ng["members"]) | {ng["subject"]} | {"england"}
    ind = _indicator(measure, path)
    if ind.empty:
        return pd.DataFrame()
    ind = ind[ind.area_code.isin(codes) & (ind.pupil_group == "all") & ind.source.str.contains("LG Inform")]
    ind = ind.assign(series=ind.area_name.where(ind.area_code != "england", "England"))
    return ind[["series", "area_code", "start_year", "academic_year", "value", "status", "source"]] \
        .sort_values(["series", "start_year"]).reset_index(drop=True)


def neighbour_sentence(lines: pd.DataFrame, subject_name: str, chosen_name: str, measure: str) -> str:
    m = MEASURES[measure]
    ok = lines.dropna(subset=["value"])
    if ok.empty:
        return f"No {m.label} figures for {subject_name}'s statistical neighbours."
    y = int(ok.start_year.max())
    latest = ok[ok.start_year == y]
    me = latest[latest.series == chosen_name]
    eng = latest[latest.series == "England"]
    others = latest[~latest.series.isin([chosen_name, "England"])]
    s = f"In {label(y)}"
    if not me.empty:
        s += f" {chosen_name}'s {m.label} for all pupils was {fmt_value(me.value.iloc[0], m.unit)}"
    if not others.empty:
        s += (f"; {subject_name}'s statistical neighbours ranged from {fmt_value(others.value.min(), m.unit)} "
              f"to {fmt_value(others.value.max(), m.unit)}")
    if not eng.empty:
        s += f"; England {fmt_value(eng.value.iloc[0], m.unit)}"
    return s + ". These files give all pupils only, not disadvantaged pupils."


def itl2_for(la_code: str, path=None) -> str | None:
    """The ITL2 region an LA sits in, where we can tell: Greater Manchester's ten LAs, else an ITL2 name
    that contains the LA's name (Hampshire -> 'Hampshire and Isle of Wight'). None when unsure."""
    if la_code in GM_CODES:
        return "Greater Manchester"
    ind = _indicator("rwm_exp", path)
    if ind.empty:
        return None
    names = sorted(ind.loc[ind.area_level == "itl2", "area_name"].unique())
    la = gaps.area_name(la_code, path).lower()
    hits = [n for n in names if la in n.lower()]
    return hits[0] if len(hits) == 1 else None


def itl2_table(measure: str, path=None) -> pd.DataFrame:
    """ITL2 regions, 2023/24: % of FSM-eligible and other pupils (SMC, from DfE), with the gap."""
    ind = _indicator(measure, path)
    if ind.empty:
        return pd.DataFrame()
    ind = ind[ind.area_level == "itl2"]
    piv = ind.pivot_table(index=["area_name", "academic_year"], columns="pupil_group", values="value",
                          aggfunc="first").reset_index()
    if not {"fsm_eligible", "not_fsm_eligible"} <= set(piv.columns):
        return pd.DataFrame()
    piv["gap"] = piv.not_fsm_eligible - piv.fsm_eligible
    return piv.sort_values("gap", ascending=False).reset_index(drop=True)


def gap_index(path=None) -> pd.DataFrame:
    """DfE's disadvantage gap index for England (0 = no gap; pupil-level, published for England only)."""
    ind = _indicator("gap_index", path)
    if ind.empty:
        return ind
    return ind[["key_stage", "start_year", "academic_year", "value", "status", "source"]] \
        .sort_values(["key_stage", "start_year"]).reset_index(drop=True)


@per_build(maxsize=32)
def availability(la_code: str, path=None) -> list[str]:
    """Plain statements of which comparisons the bundled data allow for this LA."""
    name = gaps.area_name(la_code, path)
    out = []
    sets = comparison_sets(path)
    held = _q("la_compare/la_sets" if _has_indicators(path) else "la_compare/la_sets_published", {"la": la_code}, path)
    held = set(zip(held.key_stage.astype(int), held.measure, held.start_year.astype(int)))
    for r in sets.itertuples():
        has = (int(r.key_stage), r.measure, int(r.start_year)) in held
        out.append(f"{r.label}: disadvantaged and other pupils for {r.las} LAs"
                   + ("" if has else f" ({name} not among them)") + ".")
    region = la_region(la_code, path)
    out.append(f"Region: {name} is in {region}; a region is shown as its LAs side by side (no averaged region figure "
               "exists in these files for attainment). Free-school-meal rates are published for regions too."
               if region else f"Region: not known for {name}.")
    ng = neighbour_group(la_code, path)
    if ng["relation"] == "subject":
        out.append(f"Statistical neighbours: {name}'s own list of {len(ng['members'])} (DfE's children's services "
                   "neighbours) is bundled, with their all-pupil KS2 and KS4 figures by year.")
    elif ng["relation"] == "member":
        out.append(f"Statistical neighbours: only {ng['subject_name']}'s list is bundled; {name} is one of its "
                   "neighbours, so that group is shown.")
    else:
        out.append(f"Statistical neighbours: only {ng.get('subject_name') or 'one LA'}'s list is bundled, so for "
                   f"{name} we offer the ten LAs with the nearest free-school-meal rate instead (our own simple "
                   "choice, not DfE's neighbours).")
    itl = itl2_for(la_code, path)
    out.append(f"ITL2 region ({itl}): 2023/24 results for pupils eligible and not eligible for free school meals."
               if itl else "ITL2 regions: 2023/24 results by free-school-meal eligibility; we cannot tell which ITL2 "
                           f"region {name} is in from the bundled files.")
    out.append("England: DfE's disadvantage gap index (KS2 and KS4) by year, for England only.")
    return out


def itl2_sentence(table: pd.DataFrame, itl: str | None, measure: str) -> str:
    m = MEASURES[measure]
    if table.empty:
        return f"No ITL2 figures for {m.label}."
    year = table.academic_year.iloc[0]
    top = table.iloc[0]
    s = (f"In {year} the gap in {m.label} between pupils eligible for free school meals and the rest was widest in "
         f"{top.area_name} ({top.gap:.1f} percentage points) and narrowest in {table.iloc[-1].area_name} "
         f"({table.iloc[-1].gap:.1f})")
    if itl and itl in set(table.area_name):
        r = table[table.area_name == itl].iloc[0]
        rank = int((table.gap > r.gap).sum()) + 1
        s += (f"; {itl}: {r.fsm_eligible:.1f}% against {r.not_fsm_eligible:.1f}%, a gap of {r.gap:.1f} "
              f"({_widest(rank)} of {len(table)})")
    return s + ". These groups are FSM-eligible pupils, not DfE's wider 'disadvantaged' group."


def gap_index_sentence(idx: pd.DataFrame) -> str:
    if idx.empty:
        return "DfE's disadvantage gap index is not in the bundled data."
    parts = []
    for ks, sub in idx.dropna(subset=["value"]).groupby("key_stage"):
        sub = sub.sort_values("start_year")
        last = sub.iloc[-1]
        pre = sub[sub.start_year == 2018]
        s = f"KS{ks} {last.value:.2f} in {last.academic_year}"
        if not pre.empty and int(pre.start_year.iloc[0]) != int(last.start_year):
            s += f" (before the pandemic, 2018/19: {pre.value.iloc[0]:.2f})"
        parts.append(s)
    return ("DfE's disadvantage gap index for England (0 = no gap; it compares the average rank of disadvantaged "
            "and other pupils and needs pupil-level data, so it exists for England only): " + "; ".join(parts) + ".")
