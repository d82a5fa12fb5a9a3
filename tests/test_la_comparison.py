"""LA comparison: the LA indicator loaders (SMC, LG Inform, statistical neighbours, DfE FSM) against the
raw files, the comparison maths, and the page."""
from __future__ import annotations

import csv
import gzip
import io
import math
from pathlib import Path

import duckdb
import pandas as pd
import pytest
from streamlit.testing.v1 import AppTest

ROOT = Path(__file__).resolve().parent.parent
RAW = ROOT / "data" / "raw"
SMC_LA = RAW / "smc_state_of_nation_la_disadvantage" / "IN12-attainment-at-age-11--by-local-authority-and-disadvantage--original.csv.gz"
SMC_KS2 = RAW / "smc_state_of_nation_la_disadvantage" / "IN12-3.0-attainment-at-age-11--full-dataset.csv.gz"
FSM = RAW / "dfe_fsm_ees_anetobradley" / "fsm_time_series.csv.gz"
LGI = RAW / "la_indicators_trafford_cssn"


def _rows(path):
    return list(csv.DictReader(io.StringIO(gzip.decompress(path.read_bytes()).decode("utf-8-sig"))))


def _num(s):
    try:
        v = float(str(s).strip())
    except ValueError:
        return None
    return v if math.isfinite(v) else None


@pytest.fixture(scope="module")
def ind(small_db):
    con = duckdb.connect(str(small_db), read_only=True)
    try:
        yield con.execute("select * from la_indicator").df()
    finally:
        con.close()


def test_smc_la_file_loaded_as_published(ind):
    rows = _rows(SMC_LA)
    assert len(rows) == 304
    grp = {"Disadvantaged": "disadvantaged", "Not known to be disadvantaged": "other"}
    la = ind[(ind.source.str.startswith("Social Mobility")) & (ind.area_level == "la")]
    for r in rows:
        hit = la[(la.gss_code == r["Area_code"]) & (la.pupil_group == grp[r["SEB"]])]
        assert len(hit) == 1, r
        h = hit.iloc[0]
        assert h.start_year == int(r["Time_period"][:4]) and h.academic_year == "2021/22" and h.measure == "rwm_exp"
        v = _num(r["Value"])
        if v is None:
            assert pd.isna(h.value) and h.status == r["Value"].strip().upper()  # 'NA' kept as the reason
        else:
            assert h.value == v and h.status == "ok"


def test_gss_codes_map_to_dfe_codes(ind):
    la = ind[(ind.source.str.startswith("Social Mobility")) & (ind.area_level == "la")]
    unmapped = set(la.loc[~la.area_code.str.fullmatch(r"\d{3}"), "area_name"])
    # LAs created after DfE's 2019 code list, absent from the FSM file: kept under their GSS code
    assert unmapped <= {"North Northamptonshire", "West Northamptonshire"}
    # wherever DfE's FSM file prints both codes, the mapping agrees with it
    both = {(r["new_la_code"], r["old_la_code"]) for r in _rows(FSM) if r["geographic_level"] == "Local authority"}
    fsm_map = dict(both)
    checked = 0
    for gss, code in zip(la.gss_code, la.area_code):
        if gss in fsm_map:
            assert fsm_map[gss] == code, (gss, code)
            checked += 1
    assert checked > 250
    # renamed GSS codes (Gateshead E08000037, Buckinghamshire E06000060) are mapped through the LA's name
    assert set(la.loc[la.gss_code == "E08000037", "area_code"]) == {"390"}
    assert set(la.loc[la.gss_code == "E06000060", "area_code"]) == {"825"}


@pytest.mark.slow  # 1.5 s: reads every LA file independently (quiet run, 2 cores)
def test_fsm_and_lg_inform_values_equal_the_files(ind):
    fsm = ind[ind.measure == "fsm_eligible_pct"]
    n = 0
    for r in _rows(FSM):
        if r["phase"] != "Total" or r["geographic_level"] != "Local authority":
            continue
        hit = fsm[(fsm.area_code == r["old_la_code"]) & (fsm.start_year == int(r["time_period"][:4]))]
        assert len(hit) == 1 and hit.iloc[0].value == pytest.approx(float(r["fsm_eligible_percent"])), r
        n += 1
    assert n > 900
    measure = {"expected_standard_ks2.csv.gz": "rwm_exp", "grades_5_or_above_ks4.csv.gz": "basics_95",
               "progress_8_score.csv.gz": "p8"}
    for name, m in measure.items():
        sub = ind[(ind.measure == m) & ind.source.str.contains("LG Inform")]
        rows = _rows(LGI / name)
        assert len(sub) == len(rows)
        for r in rows:
            code = "england" if r["area_code"] == "E92000001" else None
            hit = sub[(sub.gss_code == r["area_code"]) & (sub.academic_year == r["period"])]
            assert len(hit) == 1, r
            if code:
                assert hit.iloc[0].area_code == "england"
            v = _num(r["value"])
            assert (pd.isna(hit.iloc[0].value) and hit.iloc[0].status == "NA") if v is None else hit.iloc[0].value == v


def test_england_series_from_smc_matches_and_keeps_missing_years(small_db):
    from equity.analysis import gaps
    eng = gaps.area_gaps("england", 2, ["rwm_exp"], estimates=False)
    raw = {(int(r["time_period"]) - 1, r["primary_split_value"]): r["value"] for r in _rows(SMC_KS2)
           if r["chart_type"] == "trend"}
    for y in (2021, 2022, 2023):
        row = eng[eng.start_year == y].iloc[0]
        if y == 2021:  # only the SMC file has 2021/22
            assert row.disadvantaged == float(raw[(y, "Disadvantaged")])
            assert row.other == float(raw[(y, "Not known to be disadvantaged")])
            assert "Social Mobility" in row.publisher
        else:  # 2022/23 and 2023/24 are in DfE's own KS2 file too (Hertfordshire 2024/25's history), which wins
            assert row.publisher == "DfE performance tables"
            assert abs(row.disadvantaged - float(raw[(y, "Disadvantaged")])) <= 1  # the two publishers agree
    # 2019/20: no tests; the file has no number and neither do we
    r19 = eng[eng.start_year == 2019]
    assert r19.empty or (r19.disadvantaged.isna().all() and r19.gap.isna().all())
    # DfE's own tables win where both exist (2015/16 to 2018/19)
    assert (eng[eng.start_year == 2018].publisher == "DfE performance tables").all()


def test_statistical_neighbours_are_trafford_s_list(small_db):
    from equity.analysis import la_compare
    g = la_compare.neighbour_group("358")
    names = [r["area_name"] for r in _rows(LGI / "cssn.csv.gz")]
    assert g["relation"] == "subject" and len(g["members"]) == len(names) == 10
    assert [g["member_names"][c] for c in g["members"]] == names  # in the file's order
    assert all(len(c) == 3 and c.isdigit() for c in g["members"])
    assert la_compare.neighbour_group("936")["relation"] == "member"  # Surrey is on Trafford's list
    assert la_compare.neighbour_group("850")["relation"] is None


def test_comparison_uses_published_figures_and_ranks_them(built_db, ind):
    from equity.analysis import la_compare
    c = la_compare.compare("850", 2, "rwm_exp", 2021, "region")
    t = c["table"]
    assert set(t.region_name) == {"South East"} and "850" in set(t.area_code)
    smc = ind[(ind.measure == "rwm_exp") & (ind.start_year == 2021) & (ind.area_level == "la")]
    for r in t.itertuples():
        for grp in ("disadvantaged", "other"):
            v = smc[(smc.area_code == r.area_code) & (smc.pupil_group == grp)].value.iloc[0]
            assert getattr(r, grp) == v
        assert r.gap == pytest.approx(r.other - r.disadvantaged)
    assert c["england"]["disadvantaged"] == 43 and c["england"]["other"] == 66  # SMC England 2022 row
    row = c["row"]
    whole, _ = la_compare.la_gap_table(2, "rwm_exp", 2021)
    assert row["rank_in_england"] == int((whole.gap > row["gap"]).sum()) + 1
    assert "Hampshire" in c["sentence"] and f"{row['gap']:.0f} percentage points" in c["sentence"]
    # KS4 destinations: DfE's own LA rows for every LA
    # dated by the leavers' cohort: the 2018/19 tables report the pupils who finished KS4 in 2016/17
    d = la_compare.compare("358", 4, "dest_sustained", 2016, "england")
    assert len(d["table"]) > 140 and d["row"]["disadvantaged"] == 86 and d["row"]["other"] == 98
    near = la_compare.nearest_by_fsm("352", 10)
    assert len(near) == 10 and "352" not in near


def _page(params):
    at = AppTest.from_file(str(ROOT / "pages" / "compare.py"), default_timeout=180)
    for k, v in params.items():
        at.query_params[k] = v
    at.run()
    assert not at.exception, [e.message for e in at.exception]
    return at


def _sentences(at):
    return [m.value for m in at.markdown if m.value.startswith("In ")]


def test_page_widgets_url_and_sentences(built_db):
    at = _page({"la": "850", "cmp_against": "every LA"})
    assert at.radio(key="cmp_against").value == "england"
    assert at.selectbox(key="cmp_set") is not None and at.radio(key="cmp_itl2") is not None
    hants = _sentences(at)
    assert any("Hampshire" in s and "LAs in England" in s for s in hants), hants
    trafford = _page({"la": "358", "cmp_against": "Trafford's statistical neighbours",
                      "cmp_nb_measure": "English and maths grade 5 or above"})
    assert trafford.radio(key="cmp_against").value == "neighbours"
    assert trafford.radio(key="cmp_nb_measure").value == "basics_95"
    ts = _sentences(trafford)
    assert ts != hants and any("Trafford" in s and "statistical neighbours" in s for s in ts), ts
    # what the data allow is said plainly
    text = " ".join(m.value for m in at.markdown)
    assert "only Trafford's list is bundled" in text


def test_sources_are_credited_to_the_publisher_of_the_figures_shown(small_db):
    """Issue 13, finding 10: SMC's KS2 2021/22 figures were credited to LG Inform for the 11 LAs whose
    all-pupils row came from an LG Inform file, and England's row came from LG Inform beside SMC's LAs."""
    from equity.analysis import la_compare
    las, eng = la_compare.la_gap_table(2, "rwm_exp", 2021)
    assert len(las) >= 100
    assert set(las.source) == {"Social Mobility Commission (from DfE)"}
    assert eng is not None and eng["source"] == "Social Mobility Commission (from DfE)"
