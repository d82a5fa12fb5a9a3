"""Results cached per database build (equity.cache.per_build): reused while the build stays, handed
out as copies, and recomputed as soon as a rebuild is swapped in at the same path."""
from __future__ import annotations

import os

import pandas as pd
import pytest

from equity.cache import per_build


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
