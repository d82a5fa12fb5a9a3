"""The one cache (equity.cache): results cached per database build (per_build) are reused while the
build stays, handed out as copies, and recomputed as soon as a rebuild is swapped in at the same path;
charts cached by the content of their data (per_content), on the real gap-trend figure. Every cached
public function in ``equity`` is called on the small database: a caller that changes what it got
changes nothing for the next caller, and a new build swapped in is read again."""
from __future__ import annotations

import dataclasses
import importlib
import os
import shutil

import numpy as np
import pandas as pd
import plotly.graph_objects as go
import pytest

from equity import db
from equity.cache import per_build, per_content


def _swap_in_new_build(path):
    tmp = path.with_name(path.name + ".new")
    tmp.write_bytes(os.urandom(16))
    os.replace(tmp, path)  # as the build does: a new file (new inode) at the same path


def test_reused_per_arguments_copied_and_dropped_after_a_rebuild(tmp_path):
    dbfile = tmp_path / "x.duckdb"
    dbfile.write_bytes(b"first build")
    calls = []

    @per_build(maxsize=8)
    def table(la: str, measures=None, path=None):
        calls.append((la, tuple(measures or ())))
        return pd.DataFrame({"la": [la], "n": [len(calls)]})

    a = table("936", ["p8"], path=dbfile)
    b = table("936", measures=["p8"], path=dbfile)  # same call, spelt differently
    assert len(calls) == 1 and a.equals(b)
    b.loc[0, "la"] = "changed by a caller"
    assert table("936", ["p8"], path=dbfile).la.iloc[0] == "936"  # the cached result was not touched
    table("850", ["p8"], path=dbfile)
    table("936", ["att8"], path=dbfile)
    assert len(calls) == 3  # other arguments, other results

    _swap_in_new_build(dbfile)
    c = table("936", ["p8"], path=dbfile)
    assert len(calls) == 4 and c.n.iloc[0] == 4  # the new build is read, not the old result
    table.cache_clear()
    table("936", ["p8"], path=dbfile)
    assert len(calls) == 5


def test_oldest_results_are_dropped_beyond_maxsize(tmp_path):
    dbfile = tmp_path / "x.duckdb"
    dbfile.write_bytes(b"build")
    calls = []

    @per_build(maxsize=2)
    def f(k, path=None):
        calls.append(k)
        return [k]

    for k in (1, 2, 1, 3, 1, 2):
        f(k, path=dbfile)
    assert calls == [1, 2, 3, 2]  # 1 stays (recently used); 2 was dropped when 3 came in


def test_a_function_without_a_database_argument_is_refused():
    with pytest.raises(TypeError, match="path"):
        per_build()(lambda x: x)


def test_a_chart_is_cached_by_its_data_and_handed_back_as_a_new_figure():
    import plotly.graph_objects as go
    import plotly.io as pio

    from equity.present import gap_charts
    calls = []

    @per_content(maxsize=4)
    def chart(df: pd.DataFrame, title: str) -> go.Figure:
        calls.append(title)
        return go.Figure(go.Scatter(x=df.start_year, y=df.value, name=title))

    df = pd.DataFrame({"start_year": [2022, 2023], "value": [40.5, 42.0]})
    a = chart(df, "LA")
    b = chart(df.copy(), "LA")  # equal data in another frame: the same figure, built once
    assert len(calls) == 1 and a is not b and pio.to_json(a) == pio.to_json(b)
    b.update_layout(title="changed by a caller")
    assert chart(df, "LA").layout.title.text is None  # the cached figure was not touched
    chart(df.assign(value=[40.5, 43.0]), "LA")  # one value changed: built again
    chart(df, "England")
    assert len(calls) == 3
    with pytest.raises(ValueError):
        chart(df, "LA").update_traces(mode="not a mode")  # a figure handed back still validates changes

    # the real trend figure: the cached copy draws exactly what a fresh build draws
    lines = pd.DataFrame({"series": ["Surrey: disadvantaged"] * 2, "source": ["DfE"] * 2, "segment": [0, 0],
                          "area_kind": ["la"] * 2, "area_code": ["936"] * 2, "group": ["disadvantaged"] * 2,
                          "start_year": [2022, 2023], "academic_year": ["2022/23", "2023/24"],
                          "value": [32.0, 33.5], "n": [2000, 2100]})
    first = gap_charts.trend_figure(lines, [], "rwm_exp")
    again = gap_charts.trend_figure(lines, [], "rwm_exp")
    gap_charts.trend_figure.cache_clear()
    fresh = gap_charts.trend_figure(lines, [], "rwm_exp")
    assert pio.to_json(first) == pio.to_json(again) == pio.to_json(fresh)


# ---- every cached public function in equity, on the small database ---------------------------------

GLEBELANDS = 125259  # a Surrey secondary with a KS4 family in 2018/19 on the small database
SURREY = "936"


def _calls():
    from equity import latest, lookups
    from equity.analysis import families as F
    from equity.analysis import gaps as G
    from equity.analysis import keys_to_success as K
    from equity.analysis import la_compare as L
    from equity.analysis import profile as P
    from equity.present import gap_charts, pack_charts
    u, rule = GLEBELANDS, K.Rule.default(4)

    def hub_table(p):  # a lead chart's table: schools against their families, as the tracker gives it
        t = K.hub_years(4, "p8", [u, 125249], path=p)
        return t.assign(role=np.where(t.urn == u, "supported", "supporting"))

    return {
        "equity.lookups.las_with_data": lambda p: lookups.las_with_data(path=p),
        "equity.latest.measure_years": lambda p: latest.measure_years(path=p),
        "equity.latest.la_years": lambda p: latest.la_years(path=p),
        "equity.analysis.la_compare.la_gap_table": lambda p: L.la_gap_table(4, "att8", 2018, path=p),
        "equity.analysis.la_compare.availability": lambda p: L.availability(SURREY, path=p),
        "equity.analysis.families.method": lambda p: F.method(key_stage=4, start_year=2018, path=p),
        "equity.analysis.families.family": lambda p: F.family(u, start_year=2018, path=p),
        "equity.analysis.families.measures_for": lambda p: F.measures_for(4, 2018, path=p),
        "equity.analysis.families.family_outcomes": lambda p: F.family_outcomes(u, "p8", start_year=2018, path=p),
        "equity.analysis.families.learn_from":
            lambda p: F.learn_from(F.family_outcomes(u, "p8", start_year=2018, path=p)),
        "equity.analysis.families.validation": lambda p: F.validation("p8", start_year=2018, path=p),
        "equity.analysis.families.la_positions": lambda p: F.la_positions(SURREY, "p8", start_year=2018, path=p),
        "equity.analysis.families.scatter_data": lambda p: F.scatter_data(u, "p8", start_year=2018, path=p),
        "equity.analysis.keys_to_success.outcomes": lambda p: K.outcomes(4, "p8", path=p),
        "equity.analysis.keys_to_success.pupil_sd": lambda p: K.pupil_sd(2, "read_prog", path=p),
        "equity.analysis.keys_to_success.measure_table": lambda p: K.measure_table(4, "p8", path=p),
        "equity.analysis.keys_to_success.years_with": lambda p: K.years_with(4, "p8", [SURREY], path=p),
        "equity.analysis.keys_to_success.successors": lambda p: K.successors(path=p),
        "equity.analysis.keys_to_success.evaluate": lambda p: K.evaluate(rule, [SURREY], path=p),
        "equity.analysis.keys_to_success.suggest_partners":
            lambda p: K.suggest_partners(rule.with_year(2018), [SURREY], path=p),
        "equity.analysis.keys_to_success.hubs": lambda p: K.hubs(4, "p8", [SURREY], path=p),
        "equity.analysis.keys_to_success.hub_years": lambda p: K.hub_years(4, "p8", [u], path=p),
        "equity.analysis.keys_to_success.backtest": lambda p: K.backtest(4, path=p),
        "equity.analysis.profile.school": lambda p: P.school(u, path=p),
        "equity.analysis.profile.context_history": lambda p: P.context_history(u, path=p),
        "equity.analysis.profile.neighbourhood": lambda p: P.neighbourhood(u, path=p),
        "equity.analysis.profile.context_table": lambda p: P.context_table(u, path=p),
        "equity.analysis.profile.lineage": lambda p: P.lineage(u, path=p),
        "equity.analysis.profile.key_stages": lambda p: P.key_stages(u, path=p),
        "equity.analysis.profile.outcomes": lambda p: P.outcomes(u, 4, path=p),
        "equity.analysis.profile.family_position": lambda p: P.family_position(u, 4, path=p),
        "equity.analysis.profile.ofsted_history": lambda p: P.ofsted_history(u, path=p),
        "equity.analysis.gaps.area_long": lambda p: G.area_long([SURREY], 4, path=p),
        "equity.analysis.gaps.area_gaps": lambda p: G.area_gaps(SURREY, 4, path=p),
        "equity.analysis.gaps.school_gaps": lambda p: G.school_gaps(4, SURREY, path=p),
        "equity.analysis.gaps.pooled_school_gaps": lambda p: G.pooled_school_gaps(SURREY, 4, "att8", path=p),
        "equity.analysis.gaps.school_funnel": lambda p: G.school_funnel(SURREY, 4, "att8", path=p),
        "equity.analysis.gaps.trend_lines": lambda p: G.trend_lines(SURREY, 4, "att8", path=p),
        "equity.analysis.gaps.trend_sentence": lambda p: G.trend_sentence(SURREY, 4, "att8", path=p),
        "equity.analysis.gaps.overview_tiles": lambda p: G.overview_tiles(SURREY, path=p),
        "equity.analysis.gaps.funnel_options": lambda p: G.funnel_options(SURREY, 4, "att8", path=p),
        "equity.analysis.gaps.school_options": lambda p: G.school_options(SURREY, 4, "att8", path=p),
        "equity.analysis.gaps.default_measure": lambda p: G.default_measure(SURREY, 4, path=p),
        "equity.present.gap_charts.trend_figure":
            lambda p: gap_charts.trend_figure(*G.trend_lines(SURREY, 4, "att8", path=p), "att8"),
        "equity.present.gap_charts.funnel_figure":
            lambda p: gap_charts.funnel_figure(G.school_funnel(SURREY, 4, "att8", path=p), "att8", "Surrey"),
        "equity.present.gap_charts.dumbbell_figure":
            lambda p: gap_charts.dumbbell_figure(*L.la_gap_table(4, "att8", 2018, path=p)[:1], SURREY,
                                                 L.la_gap_table(4, "att8", 2018, path=p)[1], "att8"),
        "equity.present.gap_charts.lines_figure":
            lambda p: gap_charts.lines_figure(G.area_long([SURREY], 4, path=p).query("measure == 'att8'"),
                                              "start_year", "value", "pupil_group", "disadvantaged", "Attainment 8"),
        "equity.present.pack_charts.trend_figure":
            lambda p: pack_charts.trend_figure(P.published_comparison(SURREY, 4, "att8", path=p), 4, "att8", "t"),
        "equity.present.pack_charts.ranked_bar":
            lambda p: pack_charts.ranked_bar(F.family_outcomes(u, "p8", start_year=2018, path=p)
                                             .table.assign(label=lambda d: d.name, key=lambda d: d.urn), "p8", "t",
                                             highlight=[u]),
        "equity.present.pack_charts.lead_figure": lambda p: pack_charts.lead_figure(hub_table(p), 4, "p8", "t"),
        "equity.present.pack_charts.ofsted_timeline":
            lambda p: pack_charts.ofsted_timeline(P.ofsted_history(u, path=p).assign(school="Glebelands"), "t"),
    }


def _cached_public_functions() -> dict:
    """Every public function of an equity module that goes through equity.cache, by its full name."""
    from pathlib import Path
    root = Path(db.__file__).resolve().parent
    found = {}
    for f in sorted(root.rglob("*.py")):
        parts = list(f.relative_to(root.parent).with_suffix("").parts)
        if parts[-1] in ("__init__", "__main__") or "cli" in parts:
            continue
        mod = importlib.import_module(".".join(parts))
        for name, obj in vars(mod).items():
            if (not name.startswith("_") and callable(obj) and getattr(obj, "cache_policy", None)
                    and obj.__module__ == mod.__name__):
                found[f"{mod.__name__}.{name}"] = obj
    return found


CALLS = _calls()


def _picture(v):
    """What a result shows, as plain values, to tell whether it changed."""
    if isinstance(v, go.Figure):
        return ("figure", v.to_json())
    if isinstance(v, pd.DataFrame):
        return ("frame", tuple(map(str, v.columns)), tuple(map(str, v.dtypes)), v.to_csv(), repr(v.attrs))
    if isinstance(v, pd.Series):
        return ("series", str(v.name), v.to_csv(), repr(v.attrs))
    if isinstance(v, np.ndarray):
        return ("array", v.tobytes(), v.shape)
    if dataclasses.is_dataclass(v):
        return (type(v).__name__, tuple((f.name, _picture(getattr(v, f.name))) for f in dataclasses.fields(v)))
    if isinstance(v, dict):
        return ("dict", tuple(sorted(((repr(k), _picture(x)) for k, x in v.items()))))
    if isinstance(v, (list, tuple)):
        return (type(v).__name__, tuple(_picture(x) for x in v))
    return repr(v)


def _spoil(v) -> None:
    """Change a result in place the ways a careless caller might: rows dropped, columns and keys
    added, lists emptied, figures restyled, all the way down."""
    if isinstance(v, go.Figure):
        v.update_layout(title="changed by a caller")
        v.add_trace(go.Scatter(x=[0], y=[0]))
    elif isinstance(v, (pd.DataFrame, pd.Series)):
        v.attrs["changed"] = True
        for x in v.attrs.values():
            _spoil(x)
        if isinstance(v, pd.DataFrame):
            for c in list(v.columns):
                del v[c]
            v["changed_by_a_caller"] = 1
        else:
            v.name = "changed by a caller"
            v.index = range(len(v))
    elif isinstance(v, np.ndarray):
        if v.size and v.flags.writeable:
            v.fill(0)
    elif dataclasses.is_dataclass(v):
        for f in dataclasses.fields(v):
            _spoil(getattr(v, f.name))
    elif isinstance(v, dict):
        for x in list(v.values()):
            _spoil(x)
        v.clear()
        v["changed"] = True
    elif isinstance(v, list):
        for x in v:
            _spoil(x)
        v.clear()
        v.append("changed")
    elif isinstance(v, tuple):
        for x in v:
            _spoil(x)


def _immutable(v) -> bool:
    return isinstance(v, (str, int, float, type(None))) or (isinstance(v, tuple) and all(map(_immutable, v)))


def test_every_cached_public_function_is_checked_here():
    found = _cached_public_functions()
    assert set(found) == set(CALLS)
    # the policies: charts and learn_from by content, everything else per build of the database
    by_content = {n for n, f in found.items() if f.cache_policy == "per_content"}
    assert by_content == {n for n in CALLS if ".present." in n} | {"equity.analysis.families.learn_from"}


@pytest.fixture(scope="module")
def live(small_db, tmp_path_factory):
    """A copy of the small database at a path of its own, so that a new build can be swapped in."""
    path = tmp_path_factory.mktemp("live") / "equity.duckdb"
    shutil.copyfile(small_db, path)
    return path


def _swap_in_copy(src, path):
    tmp = path.with_name(path.name + ".new")
    shutil.copyfile(src, tmp)
    os.replace(tmp, path)  # a new file (new inode) at the same path, as the build swaps one in


@pytest.mark.parametrize("name", sorted(CALLS))
def test_a_caller_that_changes_a_result_changes_nothing_cached(name, small_db):
    call = CALLS[name]
    first = call(small_db)
    before = _picture(first)
    assert before == _picture(call(small_db))  # the cache's answer is the first answer
    _spoil(first)
    assert _picture(first) != before or _immutable(first)  # the caller's own copy did change
    assert _picture(call(small_db)) == before


@pytest.mark.slow  # each function computed again from nothing after the swap: about 30 s in all
@pytest.mark.parametrize("name", sorted(n for n in CALLS if ".present." not in n
                                        and n != "equity.analysis.families.learn_from"))
def test_a_new_build_swapped_in_is_read_again(name, live, small_db, monkeypatch):
    call = CALLS[name]
    before = _picture(call(live))
    queries = []
    real = db.query
    monkeypatch.setattr(db, "query", lambda *a, **k: queries.append(a[0]) or real(*a, **k))
    call(live)
    assert queries == []  # the same build: answered from the cache
    _swap_in_copy(small_db, live)
    after = call(live)
    assert queries  # the new build is read
    assert _picture(after) == before  # (a copy of the same data: the same answer)


@pytest.mark.slow  # meeting packs belong to the slow tier
def test_the_meeting_pack_is_cached_per_build_and_per_register_state(small_db, tmp_path, monkeypatch):
    """What st.cache_resource did on the meeting page: one pack per build and register state; an edited
    partnership is never shown stale; each caller gets its own copy."""
    from equity.analysis import partnerships
    from equity.present import pack
    register = tmp_path / "partnerships.sqlite"
    partnerships.create(school_urn=GLEBELANDS, partner_urns="125249", key_stage=4, baseline_year=2017,
                        measure="p8", start_date="2019-09-01", focus="English for disadvantaged boys",
                        notes="Termly visits", user="officer.a", path=register)
    builds = []
    real = pack.build
    monkeypatch.setattr(pack, "build", lambda *a, **k: builds.append(a) or real(*a, **k))
    first = pack.meeting_pack("la", SURREY, path=small_db, user_db=register)
    before = _picture(first.slides)
    first.slides[1].title = "changed by a caller"
    first.slides.clear()
    again = pack.meeting_pack("la", SURREY, path=small_db, user_db=register)
    assert len(builds) == 1 and _picture(again.slides) == before
    assert again.scope.kind == "la" and again.scope.la_codes == [SURREY] and len(again.slides) > 3
    pack.meeting_pack("la", SURREY, anonymise=True, path=small_db, user_db=register)
    assert len(builds) == 2  # other settings, another pack
    rec = partnerships.register(path=register).iloc[0]
    partnerships.edit(int(rec.id), int(rec.version), user="officer.b", notes="Termly visits; first in March",
                      path=register)
    pack.meeting_pack("la", SURREY, path=small_db, user_db=register)
    assert len(builds) == 3  # the register changed: built again, never answered from the old copy


def test_a_typed_result_is_handed_out_with_its_own_copy_of_each_field(tmp_path):
    """A dataclass result (families.FamilyOutcomes and the like): each caller gets its own table and
    dicts; a per_content function taking one is keyed on its fields."""
    from dataclasses import dataclass

    @dataclass(frozen=True)
    class Result:
        table: pd.DataFrame
        method: dict
        median: float

    dbfile = tmp_path / "x.duckdb"
    dbfile.write_bytes(b"build")
    calls = []

    @per_build(maxsize=4)
    def result(la: str, path=None):
        calls.append(la)
        return Result(pd.DataFrame({"urn": [1, 2]}), {"variables": ["a"]}, 0.5)

    a = result("936", path=dbfile)
    a.table.loc[0, "urn"] = 99
    a.method["variables"].append("changed by a caller")
    b = result("936", path=dbfile)
    assert len(calls) == 1 and isinstance(b, Result)
    assert list(b.table.urn) == [1, 2] and b.method == {"variables": ["a"]} and b.median == 0.5
    assert b.table is not a.table

    seen = []

    @per_content(maxsize=4)
    def summary(r: Result) -> float:
        seen.append(r.median)
        return float(r.table.urn.sum())

    assert summary(b) == summary(result("936", path=dbfile)) == 3.0
    assert len(seen) == 1  # the same fields: the same key
    assert summary(Result(pd.DataFrame({"urn": [1, 3]}), {"variables": ["a"]}, 0.5)) == 4.0 and len(seen) == 2
