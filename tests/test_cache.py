"""Results cached per database build (equity.cache.per_build): reused while the build stays, handed
out as copies, and recomputed as soon as a rebuild is swapped in at the same path. Charts cached by
the content of their data (equity.cache.per_content), on the real gap-trend figure."""
from __future__ import annotations

import os

import pandas as pd
import pytest

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
