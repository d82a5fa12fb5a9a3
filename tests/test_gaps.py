"""Gaps between disadvantaged and other pupils (equity.analysis.gaps, the gaps CLI, the overview and trend pages).

The LA and England figures are checked against the DfE files themselves, read here with the csv
module: every LA and England row (KS4 RECTYPE 4 / 7, KS2 RECTYPE 3 / 5) of every bundled performance
table, for every year each file carries.
"""
from __future__ import annotations

import csv
import gzip
import io
import json
import math
import re
import subprocess
import sys
from collections import defaultdict
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from streamlit.testing.v1 import AppTest

ROOT = Path(__file__).resolve().parent.parent
RAW = ROOT / "data" / "raw"

# The academic year (start year) of each bundled performance table, from data/raw/PROVENANCE.md
# ("2016-17 KS4 final", "2018-19 provisional"...): independent of how the build reads it.
YEAR_OF_FILE = {
    "2016-2017_850_ks4final.csv.gz": 2016, "2016-2017_936_ks4final.csv.gz": 2016,
    "2017-2018_850_ks4final.csv.gz": 2017, "2017-2018_936_ks4final.csv.gz": 2017,
    "2018-2019_936_ks4final.csv.gz": 2018, "815_2017_ks4final.csv.gz": 2016, "815_2018_ks4final.csv.gz": 2017,
    "815_2019_ks4provisional.csv.gz": 2018, "england_ks4provisional.csv.gz": 2018,
    "ks2_2016-850-ks2.csv.gz": 2016, "ks2_2016-936-ks2.csv.gz": 2016, "ks2_2017-850-ks2.csv.gz": 2017,
    "ks2_2017-936-ks2.csv.gz": 2017, "ks2_2018-850-ks2.csv.gz": 2018, "ks2_2018-936-ks2.csv.gz": 2018,
    "919_ks4final.csv": 2024, "919_ks2final.csv": 2024,
}
AREA_ROWS = {4: {"4": "la", "7": "england"}, 2: {"3": "la", "5": "england"}}
# (key stage, measure) -> the DfE column for each group
COLUMNS = {
    (4, "att8"): {"disadvantaged": "ATT8SCR_FSM6CLA1A", "other": "ATT8SCR_NFSM6CLA1A", "all": "ATT8SCR"},
    (4, "p8"): {"disadvantaged": "P8MEA_FSM6CLA1A", "other": "P8MEA_NFSM6CLA1A"},
    (4, "basics_95"): {"disadvantaged": "PTFSM6CLA1ABASICS_95", "other": "PTNOTFSM6CLA1ABASICS_95"},
    (2, "rwm_exp"): {"disadvantaged": "PTRWM_EXP_FSM6CLA1A", "other": "PTRWM_EXP_NOTFSM6CLA1A", "all": "PTRWM_EXP"},
    (2, "rwm_high"): {"disadvantaged": "PTRWM_HIGH_FSM6CLA1A", "other": "PTRWM_HIGH_NOTFSM6CLA1A"},
}


def _num(cell):
    if cell is None:
        return None
    s = cell.strip().replace("%", "").replace(",", "")
    try:
        v = float(s)
    except ValueError:
        return None
    return v if math.isfinite(v) else None


def _performance_tables():
    out = []
    for path in sorted([*RAW.rglob("*.csv.gz"), *RAW.rglob("*.csv")]):
        raw = path.read_bytes()
        if path.name.endswith(".gz"):
            raw = gzip.decompress(raw)
        try:
            text = raw.decode("utf-8-sig")
        except UnicodeDecodeError:  # DfE's other encoding
            text = raw.decode("cp1252")
        head = next(csv.reader(io.StringIO(text)))
        up = {h.strip().upper() for h in head}
        if {"RECTYPE", "URN", "LEA"} <= up and up & {"ATT8SCR", "PTRWM_EXP"}:
            out.append((path, text))
    return out


@pytest.fixture(scope="module")
def published_in_files():
    """{(area, ks, start_year, measure, group): {"current": {values}, "history": {values}}} from the raw
    files: the file's own year, and earlier years in suffixed history columns (_17 = 2016/17,
    _PREV = one year back)."""
    found = defaultdict(lambda: {"current": set(), "history": set(), "final": set()})
    files = _performance_tables()
    assert files, "no bundled performance tables found"
    for path, text in files:
        assert path.name in YEAR_OF_FILE, f"new performance table {path.name}: add its year to YEAR_OF_FILE"
        year = YEAR_OF_FILE[path.name]
        final = "provisional" not in path.name
        reader = csv.reader(io.StringIO(text))
        head = [h.strip().upper() for h in next(reader)]
        ks = 4 if "ATT8SCR" in head else 2
        idx = {h: i for i, h in enumerate(head)}
        for row in reader:
            if not row:
                continue
            level = AREA_ROWS[ks].get(row[idx["RECTYPE"]].strip())
            if level is None:
                continue
            area = row[idx["LEA"]].strip() if level == "la" else "england"
            for (k, measure), cols in COLUMNS.items():
                if k != ks:
                    continue
                for grp, col in cols.items():
                    candidates = [(col, year, "current")] if col in idx else []
                    for c in idx:
                        m = re.fullmatch(re.escape(col) + r"_(\d\d|PREV|PREV2)", c)
                        if m:
                            suf = m.group(1)
                            y = year - 1 if suf == "PREV" else year - 2 if suf == "PREV2" else 2000 + int(suf) - 1
                            if y < year:
                                candidates.append((c, y, "history"))
                    for c, y, kind in candidates:
                        v = _num(row[idx[c]]) if idx[c] < len(row) else None
                        if v is not None:
                            found[(area, ks, y, measure, grp)][kind].add(v)
                            if kind == "current" and final:
                                found[(area, ks, y, measure, grp)]["final"].add(v)
    return dict(found)


def _expected(sets):
    """The value the dashboard must show: the file's own year beats a history column, final beats provisional."""
    return sets["final"] or sets["current"] or sets["history"]


def test_every_published_la_and_england_figure_matches_the_dfe_files(built_db, published_in_files):
    from equity.analysis import gaps
    checked = 0
    keys = defaultdict(list)
    for (area, ks, y, measure, grp), sets in published_in_files.items():
        keys[(area, ks)].append((y, measure, grp, sets))
    for (area, ks), items in keys.items():
        measures = sorted({m for _, m, _, _ in items})
        table = gaps.area_gaps(area, ks, measures, estimates=False)
        for y, measure, grp, sets in items:
            row = table[(table.start_year == y) & (table.measure == measure)]
            assert len(row) == 1, (area, ks, y, measure)
            got = row.iloc[0][grp]
            assert pd.notna(got) and any(abs(got - v) < 1e-9 for v in _expected(sets)), \
                (area, ks, y, measure, grp, got, sets)
            assert row.iloc[0]["source"] == "published"
            checked += 1
    assert checked > 150
    # the same England figure is printed in every LA's file of a year: the files agree with each other
    for (area, ks, y, measure, grp), sets in published_in_files.items():
        if area == "england" and len(sets["final"]) > 1:
            pytest.fail(f"England {measure} {grp} {y} differs between files: {sets['final']}")


def test_gap_is_other_minus_disadvantaged_and_diffn_is_used_where_printed(small_db):
    from equity.analysis import gaps
    t = gaps.area_gaps("936", 4, ["att8"], estimates=False)
    both = t[t.disadvantaged.notna() & t.other.notna()]
    assert not both.empty
    assert np.allclose(both.gap, both.other - both.disadvantaged)
    # Surrey 2018/19: DIFFN_ATT8 is printed on the LA row; 2015/16 only via history columns, so derived
    r18 = t[t.start_year == 2018].iloc[0]
    assert r18.gap_to_national_source == "published (DfE DIFFN)"
    eng = gaps.area_gaps("england", 4, ["att8"], estimates=False)
    e18 = eng[eng.start_year == 2018].iloc[0]
    # DfE's DIFFN is disadvantaged minus national other pupils, to the file's rounding
    assert abs(r18.gap_to_national_other - (r18.disadvantaged - e18.other)) < 0.11
    r15 = t[t.start_year == 2015].iloc[0]
    assert r15.gap_to_national_source == "derived from published rows"
    e15 = eng[eng.start_year == 2015].iloc[0]
    assert abs(r15.gap_to_national_other - (r15.disadvantaged - e15.other)) < 1e-9


def test_cli_json_equals_the_dfe_files(built_db, published_in_files):
    checked = 0
    for la, ks in [("850", 4), ("936", 4), ("815", 4), ("850", 2), ("936", 2), ("919", 4), ("919", 2)]:
        # without --measure the CLI gives the headline measures: the ones in COLUMNS
        out = subprocess.run([sys.executable, "-m", "equity", "gaps", "--la", la, "--key-stage", str(ks),
                              "--format", "json", "--db", str(built_db)],
                             cwd=ROOT, capture_output=True, text=True, timeout=300)
        assert out.returncode == 0, out.stderr
        every = json.loads(out.stdout)
        assert {r["measure"] for r in every} == {m for k, m in COLUMNS if k == ks}
        for measure in ([m for k, m in COLUMNS if k == ks]):
            recs = [r for r in every if r["measure"] == measure]
            assert recs and {"academic_year", "area_code", "measure", "disadvantaged", "other", "gap", "source"} <= set(recs[0])
            assert {r["area_code"] for r in recs} == {la, "england"}
            assert {r["source"] for r in recs} <= {"published", "estimate"}
            for r in recs:
                if r["source"] != "published":
                    continue
                y = int(r["academic_year"][:4])
                for grp in ("disadvantaged", "other"):
                    sets = published_in_files.get((r["area_code"], ks, y, measure, grp))
                    if sets is None:  # not in a performance table: DfE statistics re-published (see test_la_comparison)
                        assert r[grp] is None or "DfE performance tables" not in r["publisher"], r
                        continue
                    assert any(abs(r[grp] - v) < 1e-9 for v in _expected(sets)), (r, sets)
                    checked += 1
                if r["disadvantaged"] is not None and r["other"] is not None:
                    assert abs(r["gap"] - (r["other"] - r["disadvantaged"])) < 1e-6
                if MEASURE_UNIT[measure] == "percent":
                    for grp in ("disadvantaged", "other", "all"):
                        assert r[grp] is None or 0 <= r[grp] <= 100
    assert checked > 60


HERTS = RAW / "dfe_csp_herts_jshi12" / "2024-2025"
# the years a 2024/25 file carries, and the column suffix that holds each: its own, then history
HERTS_YEARS = {4: {"2024/25": "", "2023/24": "_PREV", "2022/23": "_PREV2"},
               2: {"2024/25": "", "2023/24": "_24", "2022/23": "_23"}}
HERTS_MEASURES = {4: ["att8", "p8", "basics_95", "basics_94"], 2: ["rwm_exp", "rwm_high"]}
HERTS_COLUMNS = {**COLUMNS, (4, "p8"): {**COLUMNS[(4, "p8")], "all": "P8MEA"},
                 (4, "basics_95"): {**COLUMNS[(4, "basics_95")], "all": "PTL2BASICS_95"},
                 (4, "basics_94"): {"disadvantaged": "PTFSM6CLA1ABASICS_94", "other": "PTNOTFSM6CLA1ABASICS_94",
                                    "all": "PTL2BASICS_94"},
                 (2, "rwm_high"): {**COLUMNS[(2, "rwm_high")], "all": "PTRWM_HIGH"}}


@pytest.mark.parametrize("ks", [4, 2])
def test_cli_json_for_hertfordshire_equals_its_2024_25_file(built_db, ks):
    """`gaps --la 919 --measure M --format json`: for 2024/25, 2023/24 and 2022/23 the LA and England
    figures are exactly the LA and state-funded England rows of DfE's 2024/25 file (read here with csv)."""
    with (HERTS / f"919_ks{ks}final.csv").open(encoding="utf-8-sig", newline="") as fh:
        rows = list(csv.reader(fh))
    head = [h.upper() for h in rows[0]]
    area_row = {AREA_ROWS[ks][r[0]]: dict(zip(head, r)) for r in rows[1:] if r[0] in AREA_ROWS[ks]}
    checked = 0
    for measure in HERTS_MEASURES[ks]:
        out = subprocess.run([sys.executable, "-m", "equity", "gaps", "--la", "919", "--key-stage", str(ks),
                              "--measure", measure, "--format", "json", "--db", str(built_db)],
                             cwd=ROOT, capture_output=True, text=True, timeout=300)
        assert out.returncode == 0, out.stderr
        recs = [r for r in json.loads(out.stdout) if r["source"] == "published"]
        assert {"academic_year", "area_code", "measure", "disadvantaged", "other", "all", "source"} <= set(recs[0])
        for year, sfx in HERTS_YEARS[ks].items():
            for level, code in (("la", "919"), ("england", "england")):
                printed = {g: (area_row[level].get(col + sfx) or "").strip()
                           for g, col in HERTS_COLUMNS[(ks, measure)].items()}
                got = [r for r in recs if r["academic_year"] == year and r["area_code"] == code]
                numbers = {g: _num(v) for g, v in printed.items()}
                if all(v is None for v in numbers.values()):
                    # not published (Progress 8 in 2024/25: 'NA'): no number at all, not a 0 or NaN
                    assert all(r[g] is None for r in got for g in ("disadvantaged", "other", "all")), got
                    continue
                assert len(got) == 1, (measure, year, code, got)
                for g, v in numbers.items():
                    assert got[0][g] == v, (measure, year, code, g, printed[g], got[0][g])
                    checked += 1
    assert checked >= (40 if ks == 4 else 30)
    if ks == 4:  # Progress 8 for 2024/25 is not published: the JSON has no P8 number for that year
        out = subprocess.run([sys.executable, "-m", "equity", "gaps", "--la", "919", "--key-stage", "4", "--measure",
                              "p8", "--format", "json", "--db", str(built_db)], cwd=ROOT, capture_output=True,
                             text=True, timeout=300)
        assert "NaN" not in out.stdout
        p8 = [r for r in json.loads(out.stdout) if r["academic_year"] == "2024/25"]
        assert all(r[g] is None for r in p8 for g in ("disadvantaged", "other", "all", "gap"))


MEASURE_UNIT = {"att8": "points", "p8": "score", "basics_95": "percent", "rwm_exp": "percent", "rwm_high": "percent"}


@pytest.mark.slow  # 3.1 s: runs the command line several times (quiet run, 2 cores)
def test_cli_default_measures_and_help(small_db):
    out = subprocess.run([sys.executable, "-m", "equity", "gaps", "--la", "936", "--key-stage", "2", "--format", "json",
                          "--db", str(small_db)], cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr
    assert "rwm_exp" in {r["measure"] for r in json.loads(out.stdout)}
    out = subprocess.run([sys.executable, "-m", "equity", "gaps", "--help"], cwd=ROOT, capture_output=True, text=True)
    from equity.analysis.gaps import GAP_MEASURES
    for m in GAP_MEASURES[4] + GAP_MEASURES[2]:
        assert m in out.stdout
    assert "Attainment 8" in out.stdout
    bad = subprocess.run([sys.executable, "-m", "equity", "gaps", "--la", "Surrey", "--key-stage", "4", "--db",
                          str(small_db)], cwd=ROOT, capture_output=True, text=True)
    assert bad.returncode == 2 and "three-digit" in bad.stderr


def test_estimates_are_labelled_and_never_replace_published_rows(built_db):
    from equity.analysis import gaps
    t = gaps.area_gaps("358", 4, ["att8"])  # Trafford: no published split; 2023/24 DIFFN for every school
    est = t[t.source == "estimate"]
    assert not est.empty and (est.start_year == 2023).all()
    assert est.gap_to_national_source.eq("estimate").all() and est.coverage.between(0, 1).all()
    pub = gaps.area_gaps("936", 4, ["att8"])
    for y in pub[pub.source == "published"].dropna(subset=["disadvantaged"]).start_year:
        assert not ((pub.source == "estimate") & (pub.start_year == y)).any()


def test_breaks_are_never_bridged(built_db):
    from equity.present import gap_charts
    from equity.analysis import gaps
    from equity.breaks import BREAKS
    # Attainment 8: 2015/16 (old scale) never joined to 2016/17
    lines, brks = gaps.trend_lines("936", 4, "att8", view="groups")
    for _, sub in lines.groupby(["series", "segment"]):
        ys = sorted(sub.start_year)
        for a, b in zip(ys, ys[1:]):
            assert gaps.comparable(a, b, 4, "att8") and b - a == 1, (a, b)
    assert any(b["after"] == 2015 and b["before"] == 2016 for b in brks)
    # KS2: 2018/19 and 2021/22 are on separate lines, with a marked break
    lines, brks = gaps.trend_lines("850", 2, "rwm_exp", view="gap")
    segs = lines[lines.area_kind == "la"].groupby("segment").start_year.agg(set)
    assert not any({2018, 2021} <= s for s in segs)
    assert any(b["after"] == 2018 and b["before"] == 2021 for b in brks)
    fig = gap_charts.trend_figure(lines, brks, "rwm_exp", view="gap")
    for tr in fig.data:
        xs = sorted(x for x in tr.x)
        for a, b in zip(xs, xs[1:]):
            assert not (a < 2021 <= b), "a trace joins years across the pandemic break"
    # every shared BREAKS entry splits a series
    for after, stages, measures, _why in BREAKS:
        for ks in stages:
            m = (measures or gaps.GAP_MEASURES[ks])[0]
            runs, _ = gaps.segments([after - 1, after], ks, m)
            assert len(runs) == 2
    # a trend never reaches back over a break; pooling never crosses one
    t = gaps.trend([2015, 2016, 2017, 2018], [10, 15, 15.2, 15.4], [0.3] * 4, 4, "att8")
    assert t.first_year == 2016 and t.breaks
    pooled = gaps.pooled_school_gaps("936", 4, "att8", end_year=2016)
    assert not pooled.pooled_years.fillna("").str.contains("2015/16").any()


def test_trend_verdict_depends_on_noise():
    from equity.analysis import gaps
    sure = gaps.trend([2016, 2017, 2018], [10.0, 11.0, 14.0], [0.5, 0.5, 0.5], 4, "att8")
    assert sure.significant and sure.verdict == "widening" and sure.change == pytest.approx(4.0)
    noisy = gaps.trend([2016, 2017, 2018], [10.0, 11.0, 14.0], [3.0, 3.0, 3.0], 4, "att8")
    assert not noisy.significant and noisy.verdict == "no clear change"
    closing = gaps.trend([2016, 2017], [20.0, 15.0], [1.0, 1.0], 2, "rwm_exp")
    assert closing.verdict == "closing"
    # for a measure where lower is better a falling gap (other minus disadvantaged) is a widening one
    lower = gaps.trend([2016, 2017], [-5.0, -12.0], [1.0, 1.0], 4, "dest_not_sustained")
    # a year missing between two comparable years does not stop the comparison (as in the profile's sentence:
    # one verdict everywhere), a break does
    assert gaps.trend([2016, 2018], [20.0, 15.0], [1.0, 1.0], 2, "rwm_exp").verdict == "closing"
    assert gaps.trend([2018, 2021], [20.0, 15.0], [1.0, 1.0], 2, "rwm_exp").verdict == "only one comparable year"
    assert lower.verdict == "widening"


def test_standard_errors_follow_the_stated_method():
    from equity.analysis import gaps
    # binomial for a percentage
    assert gaps.standard_error("rwm_exp", [50.0], [100])[0] == pytest.approx(5.0)
    # a published CI wins
    assert gaps.standard_error("p8", [0.1], [100], [-0.1], [0.3])[0] == pytest.approx(0.2 / 1.959964)
    # a point score: assumed pupil sd / sqrt(n); more pupils, less noise
    se = gaps.standard_error("att8", [40.0, 40.0], [25, 400])
    assert se[0] == pytest.approx(gaps.PUPIL_SD["att8"] / 5) and se[1] < se[0]


def test_funnel_limits_narrow_as_cohorts_grow(small_db):
    from equity.analysis import gaps
    lim = gaps.funnel_limits(40.0, [5, 10, 20, 50, 200, 1000], 20.0)
    w95, w998 = lim.hi95 - lim.lo95, lim.hi998 - lim.lo998
    assert (np.diff(w95) < 0).all() and (np.diff(w998) < 0).all() and (w998 > w95).all()
    assert np.allclose((lim.hi95 + lim.lo95) / 2, 40.0)
    f = gaps.school_funnel("850", 4, "att8", 2017, "disadvantaged", allow_between_school=False)
    L = f["limits"].sort_values("n")
    assert (np.diff(L.hi95 - L.lo95) <= 1e-12).all()
    pts = f["points"]
    assert len(pts) > 20 and f["reference_source"] == "LA (published)" and f["target_source"].startswith("estimate")
    outside = (pts.y < pts.lo95) | (pts.y > pts.hi95)
    assert (outside == pts.outside_95).all()
    assert set(f["outliers"].urn) == set(pts[pts.outside_95].urn)
    # allowing for real between-school differences can only widen the limits
    g = gaps.school_funnel("850", 4, "att8", 2017, "disadvantaged")  # the default allows for them
    assert g["allow_between_school"] and g["tau2"] >= 0 and g["outliers"].shape[0] <= f["outliers"].shape[0]


@pytest.mark.slow  # 1.9 s: builds (quiet run, 2 cores)
def test_suppressed_values_stay_missing(small_db):
    import duckdb

    from equity.analysis import gaps
    con = duckdb.connect(str(small_db), read_only=True)
    try:
        supp = con.execute("""
            select d.urn, d.la_code, d.key_stage, d.start_year, d.measure from school_result d
            join school_result o using (urn, key_stage, start_year, measure)
            join school_result a using (urn, key_stage, start_year, measure)
            where d.pupil_group = 'disadvantaged' and d.status = 'SUPP' and o.pupil_group = 'other'
              and a.pupil_group = 'all' and a.status = 'ok' and d.measure in ('att8', 'rwm_exp')
            limit 25""").fetchall()
        small = con.execute("""select urn, key_stage, start_year, measure, pupil_group from school_result
                               where cohort < 6 and status = 'ok' and measure in ('att8', 'rwm_exp') limit 10""").fetchall()
    finally:
        con.close()
    assert supp, "expected suppressed disadvantaged figures in the bundled files"
    for urn, la, ks, y, m in supp:
        g = gaps.school_gaps(ks, urns=[urn], measures=[m])
        r = g[(g.start_year == y) & (g.measure == m)].iloc[0]
        assert pd.isna(r.disadvantaged) and pd.isna(r.gap), (urn, y, m)  # never all minus other
        assert "SUPP" in r.status
    for urn, ks, y, m, grp in small:
        g = gaps.school_gaps(ks, urns=[urn], measures=[m])
        r = g[(g.start_year == y) & (g.measure == m)].iloc[0]
        assert pd.isna(r[grp]), (urn, y, m, grp)


def test_pooled_view_is_pupil_weighted_and_labelled(small_db):
    from equity.analysis import gaps
    table = gaps.pooled_school_gaps("936", 2, "rwm_exp", end_year=2018)
    assert (table.pooled_source == "estimate").all()
    g = gaps.school_gaps(2, la_code="936", measures=["rwm_exp"])
    row = table[table.pooled_years.fillna("").str.count(",") == 2].iloc[0]
    sub = g[(g.urn == row.urn) & g.start_year.isin([2016, 2017, 2018]) & g.disadvantaged.notna()]
    expect = (sub.disadvantaged * sub.n_disadvantaged).sum() / sub.n_disadvantaged.sum()
    assert row.pooled_disadvantaged == pytest.approx(expect)
    # DfE's own three-year figure (all pupils) sits beside it where the file has one
    assert table.dfe_3yr_all.notna().sum() > 50


# ---- pages -------------------------------------------------------------------------------------

# The shared filters keep codes in the URL (?la=936&ks=2); this page's own widgets, bound with
# bind="query-params" and a format_func, carry their label (?ov_measure=Attainment+8), as Streamlit 1.67 does.
def _page(page, params):
    at = AppTest.from_file(str(ROOT / page), default_timeout=180)  # the page alone, as a deep link opens it
    for k, v in params.items():
        at.query_params[k] = v
    at.run()
    assert not at.exception, [e.message for e in at.exception]
    return at


def _sentences(at):
    return [m.value for m in at.markdown if m.value.startswith("In ") or "No published" in m.value]


def test_overview_page_widgets_tiles_and_sentences(built_db):
    at = _page("pages/overview.py", {"la": "936", "ks": "4"})
    assert at.selectbox(key="ov_measure").value == "att8"
    assert at.radio(key="ov_quantity") is not None and at.selectbox(key="ov_year") is not None
    labels = [m.label for m in at.metric]
    assert any("Disadvantaged" in l for l in labels) and any(l.startswith("KS4 gap") for l in labels)
    surrey = _sentences(at)
    assert any("Surrey" in s and "17.5 points" in s for s in surrey), surrey
    other = _sentences(_page("pages/overview.py", {"la": "850", "ks": "4"}))
    assert other != surrey and any("Hampshire" in s for s in other)
    # the funnel: the between-school allowance is on by default and said so; the sentence keeps its form
    assert at.checkbox(key="ov_between").value is True
    funnel = [s for s in surrey if "outside the 95% limits" in s]
    assert funnel and re.search(r"\d+ above and \d+ below", funnel[0]) and "real differences between schools" in funnel[0]
    assert "reference line" in funnel[0]


@pytest.mark.slow  # 1.2 s: runs the page twice (quiet run, 2 cores)
def test_overview_view_restored_from_the_url(small_db):
    at = _page("pages/overview.py", {"la": "936", "ks": "2", "ov_measure": "Reading, writing and maths: higher standard",
                                         "ov_quantity": "Within-school gap (other minus disadvantaged)",
                                         "ov_year": "2017/18"})
    assert at.selectbox(key="la").value == "936" and at.radio(key="ks").value == 2
    assert at.selectbox(key="ov_measure").value == "rwm_high"
    assert at.radio(key="ov_quantity").value == "gap"
    assert at.selectbox(key="ov_year").value == 2017
    assert any("higher standard" in s for s in _sentences(at))
    assert any(s.startswith("In 2017/18,") and "outside the 95% limits" in s for s in _sentences(at))


RWM = "Reading, writing and maths: expected standard"
GAP = "Gap (other minus disadvantaged)"


def test_gap_trends_page_restores_view_and_follows_the_la(built_db):
    at = _page("pages/gaps.py", {"la": "850", "ks": "2", "gt_measure": RWM, "gt_view": GAP})
    assert at.selectbox(key="gt_measure").value == "rwm_exp" and at.radio(key="gt_view").value == "gap"
    assert at.multiselect(key="gt_schools") is not None and at.radio(key="gt_weights") is not None
    hants = _sentences(at)
    assert any("Hampshire" in s for s in hants)
    assert at.dataframe, "the school table is missing"
    surrey = _sentences(_page("pages/gaps.py", {"la": "936", "ks": "2", "gt_measure": RWM, "gt_view": GAP}))
    assert surrey != hants and any("Surrey" in s for s in surrey)
    # a school chosen in the URL is drawn and described
    from equity.analysis import gaps
    opts = gaps.school_options("850", 2, "rwm_exp")
    school = opts[opts.n_disadvantaged > 10].iloc[0]
    at2 = _page("pages/gaps.py", {"la": "850", "ks": "2", "gt_measure": RWM, "gt_view": GAP,
                                         "gt_schools": school["name"]})
    assert at2.multiselect(key="gt_schools").value == [int(school.urn)]
    assert any(school["name"] in s for s in _sentences(at2)), school["name"]


def _raw_funnel_inputs(file: str):
    """Mainstream schools' disadvantaged Attainment 8 and pupils, and the LA row, read with the csv module."""
    rows, la = [], None
    with gzip.open(RAW / "dfe_hants_surrey_clarelgibson" / file, "rt", encoding="utf-8-sig") as fh:
        for r in csv.DictReader(fh):
            v, n = r.get("ATT8SCR_FSM6CLA1A") or "", r.get("TFSM6CLA1A") or ""
            if (r["RECTYPE"] or "").strip() == "4":
                la = float(v)
            try:
                v, n = float(v), float(n)
            except ValueError:
                continue
            if (r["RECTYPE"] or "").strip() == "1" and n >= 6:
                rows.append((int(r["URN"]), v, n))
    return rows, la


@pytest.mark.parametrize("la,file,year", [("936", "2018-2019_936_ks4final.csv.gz", 2018),
                                          ("850", "2017-2018_850_ks4final.csv.gz", 2017)])
def test_funnel_centre_is_the_plotted_schools_so_flags_are_not_lopsided(small_db, la, file, year):
    """Issue 13, finding 2: the LA's published figure covers pupils the dots do not (special schools, withheld
    results); centred on it, Surrey 2018/19 had 15 schools above and 1 below. The centre is now the plotted
    schools' pupil-weighted mean (an estimate) and the published figure a separate reference line."""
    from equity.analysis import gaps
    rows, la_published = _raw_funnel_inputs(file)
    raw_mean = sum(v * n for _, v, n in rows) / sum(n for _, v, n in rows)
    chance = gaps.school_funnel(la, 4, "att8", year, "disadvantaged", allow_between_school=False)
    pts = chance["points"]
    assert set(pts.urn) == {u for u, _, _ in rows}
    assert chance["target"] == pytest.approx(raw_mean, abs=1e-9) and "estimate" in chance["target_source"]
    assert chance["reference"] == pytest.approx(la_published) and chance["reference_source"] == "LA (published)"
    assert raw_mean - la_published > 1.5  # the published LA figure sits well below the plotted schools
    # centred on the plotted schools, about half lie on each side, and flags fall on both sides
    above = (pts.y > chance["target"]).mean()
    assert 0.35 < above < 0.65
    out = pts[pts.outside_95]
    assert (out.direction == "above").sum() >= 2 and (out.direction == "below").sum() >= 2
    # centred on the published figure instead, the same limits would flag mostly schools above it
    shifted_above = int(((pts.y - pts.hi95) > la_published - chance["target"]).sum())
    assert shifted_above > (out.direction == "above").sum()
    # the default allows for real differences between schools: fewer flags, never more, and the sentence says so
    f = gaps.school_funnel(la, 4, "att8", year, "disadvantaged")
    assert f["allow_between_school"] and f["tau2"] > 0 and f["outliers"].shape[0] < out.shape[0]
    s = gaps.funnel_sentence(f, gaps.area_name(la), "att8")
    assert s.startswith(f"In {gaps.label(year)},") and re.search(r"\d+ above and \d+ below", s)
    assert "reference line" in s and "real differences between schools" in s


def test_a_group_of_no_pupils_has_no_value_phantom_gaps(small_db):
    """Issue 13, finding 3: DfE's KS2 2015/16 history columns print "0%" for a school with no disadvantaged
    pupils (ks2_2017-850-ks2.csv.gz, URN 116356). Read with the csv module: every school whose group share
    was 0% has no value for that group and no gap that year, in the tables the pages and CSVs use."""
    from equity.analysis import gaps
    zero = {}
    with gzip.open(RAW / "dfe_hants_surrey_clarelgibson" / "ks2_2017-850-ks2.csv.gz", "rt", encoding="utf-8-sig") as fh:
        for r in csv.DictReader(fh):
            if (r["RECTYPE"] or "").strip() == "1" and (r["URN"] or "").strip():
                for col, grp in (("PTFSM6CLA1A_16", "disadvantaged"), ("PTNOTFSM6CLA1A_16", "other")):
                    if (r.get(col) or "").strip() in ("0%", "0"):
                        zero.setdefault(int(r["URN"]), []).append(grp)
    assert 116356 in zero and len(zero) >= 10
    g = gaps.school_gaps(2, la_code="850", measures=["rwm_exp", "rwm_high"])
    g = g[g.start_year == 2015].set_index("urn")
    for urn, groups in zero.items():
        if urn not in g.index:
            continue
        for row in g.loc[[urn]].itertuples():
            for grp in groups:
                assert pd.isna(getattr(row, grp)) and pd.isna(row.gap), (urn, grp, row.measure)
    r = g.loc[[116356]].iloc[0]
    assert "no_pupils" in r.status
    # a value whose group size is not published says so (the fewer-than-6 rule cannot run on it)
    unknown = g[g.disadvantaged.notna() & g.n_disadvantaged.isna()]
    assert len(unknown) and unknown.status.str.contains("disadvantaged: number of pupils not published").all()


def _view_sql() -> str:
    text = (ROOT / "equity" / "sql" / "build" / "marts_results.sql").read_text(encoding="utf-8")
    return text[text.index("create view school_result_shown"):].split(";")[0]


def test_a_hidden_small_group_cannot_be_rebuilt_by_differencing(small_db):
    """Issue 14, finding 8: with an LA's own unsuppressed file, a hidden group of 4 was recoverable from the
    shown all-pupils and other-pupils figures and counts. Real rows of a school with 1-5 disadvantaged pupils,
    made unsuppressed as such a file would print them, go through the view the app reads."""
    import duckdb
    con = duckdb.connect(str(small_db), read_only=True)
    try:
        key = con.execute("""
            select d.urn, d.key_stage, d.start_year, d.measure from school_result d
            join school_result a using (urn, key_stage, start_year, measure)
            join school_result o using (urn, key_stage, start_year, measure)
            where d.pupil_group = 'disadvantaged' and d.cohort between 1 and 5 and a.pupil_group = 'all'
              and a.value is not null and o.pupil_group = 'other' and o.cohort >= 6 and d.measure = 'att8'
            order by 1, 3 limit 1""").fetchone()
        assert key, "expected a school with 1-5 disadvantaged pupils in the bundle"
        rows = con.execute("select * from school_result where urn = ? and key_stage = ? and start_year = ? "
                           "and measure = ?", list(key)).df()
        # the real view: nowhere a 1-5 group sits beside both the all-pupils figure and its complement's
        leaks = con.execute("""
            select count(*) from school_result_shown s join school_result_shown a using (urn, key_stage, start_year, measure)
            join school_result_shown c using (urn, key_stage, start_year, measure)
            where s.pupil_group in ('disadvantaged', 'other') and s.cohort between 1 and 5 and a.pupil_group = 'all'
              and a.value is not null and c.pupil_group in ('disadvantaged', 'other') and c.pupil_group <> s.pupil_group
              and c.value is not null""").fetchone()[0]
    finally:
        con.close()
    assert leaks == 0
    rows.loc[rows.pupil_group != "all", "value"] = [47.8 if g == "other" else 30.0 for g in
                                                      rows.pupil_group[rows.pupil_group != "all"]]
    rows.loc[rows.pupil_group != "all", "status"] = "ok"
    mem = duckdb.connect()
    mem.register("rows_df", rows)
    mem.execute("create table school_result as select * from rows_df")
    mem.execute(_view_sql())
    shown = mem.execute("select pupil_group, value, cohort, status from school_result_shown").df().set_index("pupil_group")
    assert pd.isna(shown.loc["disadvantaged", "value"]) and shown.loc["disadvantaged", "status"] == "small_cohort"
    assert pd.isna(shown.loc["other", "value"]) and pd.isna(shown.loc["other", "cohort"])
    assert shown.loc["other", "status"] == "hidden_complement"
    assert pd.notna(shown.loc["all", "value"])  # the all-pupils figure stays as published


def test_provisional_figures_are_flagged_on_the_trend_charts(built_db):
    """Issue 13, finding 10: Hampshire's 2018/19 KS4 figures come from DfE's provisional file; the chart rings them."""
    from equity.present import gap_charts, pack_charts
    from equity.analysis import gaps, profile
    lines, brks = gaps.trend_lines("850", 4, "att8", view="groups", groups=("all",))
    prov = lines[lines.version == "provisional"]
    assert {(r.area_code, r.start_year) for r in prov.itertuples()} >= {("850", 2018)}
    assert (lines[lines.start_year < 2018].version == "final").all()
    fig = gap_charts.trend_figure(lines, brks, "att8")
    ring = [t for t in fig.data if t.name == "provisional (DfE may revise)"]
    assert len(ring) == 1 and 2018 in list(ring[0].x)
    d = profile.published_comparison("850", 4, "att8")
    d = d[d.pupil_group.isin(["disadvantaged", "other"])]
    fig2 = pack_charts.trend_figure(d, 4, "att8", "t")
    assert bool((d.version == "provisional").any()) == any(t.name == "provisional (DfE may revise)" for t in fig2.data)
