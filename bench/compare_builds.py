"""Compare two built databases table by table: the safety net for a change to the build.

    python bench/compare_builds.py REFERENCE.duckdb CANDIDATE.duckdb

For every table and view of either database: both must have it, with the same columns and row
count, and ``EXCEPT ALL`` both ways must be empty (every row, duplicates counted). Only the build's
own record of when and how long it ran (``build_info.started``, ``build_info.seconds``) is left
out. Exits 1 and names each difference (with up to three differing rows per side) if any.
"""
from __future__ import annotations

import argparse
import sys

import duckdb

# the build's own clock: differs between any two builds of the same files
IGNORED = {"build_info": {"started", "seconds"}}


def columns(con, schema: str, table: str) -> list[str]:
    return [r[0] for r in con.execute(
        "select column_name from information_schema.columns where table_catalog = ? and table_schema = 'main' "
        "and table_name = ? order by ordinal_position", [schema, table]).fetchall()]


def tables(con, schema: str) -> set[str]:
    return {r[0] for r in con.execute(
        "select table_name from information_schema.tables where table_catalog = ? and table_schema = 'main'",
        [schema]).fetchall()}


def compare(ref: str, new: str) -> list[str]:
    """Every difference between the two databases, as lines of text (empty when they hold the same data)."""
    con = duckdb.connect()
    con.execute(f"attach '{ref}' as a (read_only)")
    con.execute(f"attach '{new}' as b (read_only)")
    out = []
    ta, tb = tables(con, "a"), tables(con, "b")
    for t in sorted(ta ^ tb):
        out.append(f"{t}: only in {'reference' if t in ta else 'candidate'}")
    for t in sorted(ta & tb):
        ca, cb = columns(con, "a", t), columns(con, "b", t)
        if ca != cb:
            out.append(f"{t}: columns differ: {ca} vs {cb}")
            continue
        keep = ", ".join(f'"{c}"' for c in ca if c not in IGNORED.get(t, set()))
        na = con.execute(f'select count(*) from a."{t}"').fetchone()[0]
        nb = con.execute(f'select count(*) from b."{t}"').fetchone()[0]
        if na != nb:
            out.append(f"{t}: {na} rows vs {nb}")
        for x, y, what in (("a", "b", "reference only"), ("b", "a", "candidate only")):
            q = f'select {keep} from {x}."{t}" except all select {keep} from {y}."{t}"'
            n = con.execute(f"select count(*) from ({q})").fetchone()[0]
            if n:
                out.append(f"{t}: {n} rows {what}, e.g. {con.execute(q + ' limit 3').fetchall()}")
    return out


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("reference")
    ap.add_argument("candidate")
    a = ap.parse_args(argv)
    diffs = compare(a.reference, a.candidate)
    for line in diffs:
        print(line)
    print("identical" if not diffs else f"{len(diffs)} differences")
    return 1 if diffs else 0


if __name__ == "__main__":
    sys.exit(main())
