"""Neighbourhoods: IoD2019 and ONS loaders, school LSOAs and locations, neighbourhood profiles,
outcomes by neighbourhood deprivation, and the map page. On the real bundled files.

Expected values are computed here independently, from the raw gzipped files with pandas.
"""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from equity import db
from equity.analysis import neighbourhoods as nb
from equity.ingest.errors import IngestError
from equity.ingest.loaders import geography

ROOT = Path(__file__).resolve().parent.parent
RAW = ROOT / "data" / "raw"
IOD = RAW / "mhclg_iod2019"


def _sql(built_db, text: str, params=None) -> pd.DataFrame:
    cur = db.connection(built_db).cursor()
    try:
        return cur.execute(text, params or []).df()
    finally:
        cur.close()


@pytest.fixture(scope="module")
def raw_iod() -> pd.DataFrame:
    """IMD score rebuilt here from File 9, with File 1 ranks, File 6 populations and ONS centroids."""
    f9 = pd.read_csv(IOD / "File_9_-_IoD2019_Transformed_Scores.csv.gz", encoding="utf-8-sig")
    w = [0.225, 0.225, 0.135, 0.135, 0.093, 0.093, 0.093]  # MHCLG's domain weights, in File 9's column order
    score = (f9.iloc[:, 4:11].to_numpy() * np.array(w)).sum(axis=1)
    out = pd.DataFrame({"lsoa11": f9.iloc[:, 0], "imd": score})
    f1 = pd.read_csv(IOD / "File_1_-_IMD2019_Index_of_Multiple_Deprivation.csv.gz", encoding="utf-8-sig",
                     thousands=",")
    out["rank_file1"] = out.lsoa11.map(dict(zip(f1.iloc[:, 0], f1.iloc[:, 4])))
    f6 = pd.read_csv(IOD / "File_6_-_IoD2019_Population_Denominators.csv.gz", encoding="utf-8-sig", thousands=",")
    out["pop"] = out.lsoa11.map(dict(zip(f6.iloc[:, 0], f6.iloc[:, 4])))
    c = pd.read_csv(RAW / "ons_lsoa11_pwc_nimbusdata" /
                    "Lower_Layer_Super_Output_Areas_December_2011_Population_Weighted_Centroids.csv.gz",
                    encoding="utf-8-sig")
    out["lat"] = out.lsoa11.map(dict(zip(c.lsoa11cd, c.Y)))
    out["lon"] = out.lsoa11.map(dict(zip(c.lsoa11cd, c.X)))
    return out


# ---- loaders --------------------------------------------------------------------------------------

def test_every_lsoa_in_england_is_loaded_with_scores_and_a_centroid(built_db):
    s = _sql(built_db, """select count(*) n, count(distinct lsoa11) d, count(imd_score) imd, count(idaci_score) idaci,
                            count(lat) lat, count(pop_total) pop, count(pop_children) kids, count(imd_decile) as ndec,
                            count(la_code) as nla, min(lsoa11) as first_code from lsoa""").iloc[0]
    assert s.n == s.d == 32844
    assert s.imd == s.idaci == s.lat == s["pop"] == s.kids == s.ndec == s.nla == 32844
    assert s.first_code == "E01000001"
    # Welsh centroids are in the ONS file but not in the table
    assert _sql(built_db, "select count(*) n from lsoa where lsoa11 like 'W%'").n[0] == 0


def test_staging_columns_match_the_loader_fields():
    import duckdb

    from equity import db
    con = duckdb.connect()  # the staging tables are dropped at the end of a build: check their definition
    text = db.sql("build/marts_location")
    start = text.index("create table if not exists stg_lsoa_wide")
    con.execute(text[start:text.index(";", start)])
    cols = [r[0] for r in con.execute("describe stg_lsoa_wide").fetchall()]
    assert cols == ["lsoa11", "source_file"] + [f for f, _ in geography.VALUE_FIELDS]


def test_ranks_with_thousands_commas_are_read_as_numbers(built_db):
    row = _sql(built_db, "select imd_rank, imd_decile, pop_total from lsoa where lsoa11 = 'E01000001'").iloc[0]
    assert row.imd_rank == 29199 and row.imd_decile == 9  # File 1 prints "29,199"
    assert row.pop_total == 1296  # File 6 prints "1,296"


def test_imd_score_rebuilt_from_the_domain_scores(built_db, raw_iod):
    got = _sql(built_db, "select lsoa11, imd_score, imd_rank from lsoa")
    assert got.set_index("lsoa11").imd_score["E01000001"] == pytest.approx(6.208, abs=0.0005)
    m = got.merge(raw_iod, on="lsoa11")
    assert len(m) == 32844
    assert np.allclose(m.imd_score, m.imd, atol=0.0006)  # stored to 3 dp
    # ranking our scores (1 = highest score = most deprived) reproduces File 1's ranks for ~90%
    our_rank = m.imd.rank(ascending=False, method="min")
    same = (our_rank == m.rank_file1).mean()
    assert same > 0.88, same
    assert (our_rank - m.rank_file1).abs().max() <= 10


def test_idaci_scores_are_published_or_interpolated_in_rank_order(built_db):
    pc = pd.concat([pd.read_csv(p, dtype=str) for p in sorted((RAW / "mhclg_iod2019_postcode_lookup_saqibsafdar")
                                                              .glob("*.csv.gz"))])
    pc = pc[pc["Postcode Status"] != "**UNMATCHED**"].dropna(subset=["LSOA code"])
    published = pc.groupby("LSOA code")["IDACI Score"].first().astype(float)
    got = _sql(built_db, "select lsoa11, idaci_rank, idaci_score, idaci_score_source from lsoa").set_index("lsoa11")
    pub = got[got.idaci_score_source == "published"]
    assert len(pub) == len(published) == 17099
    assert np.allclose(pub.idaci_score, published.reindex(pub.index), atol=1e-9)
    assert set(got.idaci_score_source) <= {"published", "interpolated from rank", "estimated from numerator"}
    # IDACI rank 1 is the most deprived: scores never rise as the rank number rises
    ordered = got.sort_values("idaci_rank").idaci_score.to_numpy()
    assert (np.diff(ordered) <= 1e-9).mean() > 0.999


def test_boundaries_lookups_and_summaries_are_loaded(built_db):
    b = _sql(built_db, "select la_code, count(*) n from lsoa_boundary group by 1 order by 1").set_index("la_code").n
    assert b["850"] == 832 and b["936"] == 709 and b["815"] == 373
    assert sum(b[c] for c in b.index if c and c.startswith("35")) == 1673  # Greater Manchester (350-359)
    la = _sql(built_db, "select la_code, method, geometry from la_boundary order by la_code")
    assert set(la[la.method == "published"].la_code) == {str(c) for c in range(350, 360)}
    assert set(la[la.method == "dissolved from LSOA polygons"].la_code) == {"815", "850", "936"}
    surrey = json.loads(la[la.la_code == "936"].geometry.iloc[0])
    assert surrey["type"] == "MultiPolygon" and len(surrey["coordinates"]) == 1  # one piece of land
    counts = _sql(built_db, """select (select count(*) from oa_lsoa) oa, (select count(*) from lsoa_ward) ward,
                                (select count(*) from lad_deprivation) lad, (select count(*) from postcode_lsoa) pc""").iloc[0]
    assert counts.oa == 8684 and counts.ward == 1673 and counts.lad == 3170
    assert 22000 < counts.pc < 25136  # distinct postcodes of the three look-up files, UNMATCHED rows dropped


def test_dfe_la_codes_for_bundled_boundaries_match_dfe_own_pairs():
    ees = pd.read_csv(RAW / "dfe_ees_ks4_2023_24_pvhee" / "ks4_school_info_2024.csv.gz", dtype=str,
                      usecols=["old_la_code", "new_la_code"]).drop_duplicates()
    pairs = dict(zip(ees.new_la_code, ees.old_la_code))
    for ons, dfe in geography.ONS_TO_DFE_LA.items():
        assert pairs[ons] == dfe


def test_dissolve_keeps_outside_edges_and_holes():
    sq = lambda x0, y0, s=1.0: [[[x0, y0], [x0 + s, y0], [x0 + s, y0 + s], [x0, y0 + s], [x0, y0]]]  # noqa: E731
    two = geography.dissolve([[sq(0, 0)], [sq(1, 0)]])
    assert len(two) == 1 and len(two[0]) == 1
    ring = two[0][0]
    assert ring[0] == ring[-1] and len(ring) == 7  # 6 corners (the shared edge's ends stay) + closing point
    assert abs(geography._ring_area(ring)) == pytest.approx(2.0)
    # a 3x3 block with the middle square missing: an outer ring and a hole
    cells = [[sq(x, y)] for x in range(3) for y in range(3) if (x, y) != (1, 1)]
    holed = geography.dissolve(cells)
    assert len(holed) == 1 and len(holed[0]) == 2
    assert abs(geography._ring_area(holed[0][1])) == pytest.approx(1.0)


def _one_file_build(tmp_path, name: str, text: str):
    from equity.ingest import build
    src = tmp_path / "src"
    src.mkdir()
    (src / name).write_text(text, encoding="utf-8")
    return build.build([src], tmp_path / "x.duckdb")


def test_a_malformed_lsoa_code_names_file_row_and_column(tmp_path):
    text = ("LSOA code (2011),LSOA name (2011),Local Authority District code (2019),Local Authority District name (2019),"
            "Index of Multiple Deprivation (IMD) Rank,Index of Multiple Deprivation (IMD) Decile\n"
            'E01000001,City of London 001A,E09000001,City of London,"29,199",9\n'
            'E0100002,City of London 001B,E09000001,City of London,"30,379",10\n')
    with pytest.raises(IngestError) as exc:
        _one_file_build(tmp_path, "imd.csv", text)
    assert exc.value.row == 2 and exc.value.column == "LSOA code (2011)" and "E0100002" in exc.value.problem


def test_centroids_with_latitude_and_longitude_swapped_are_refused(tmp_path):
    text = "X,Y,objectid,lsoa11cd,lsoa11nm\n51.5,-0.1,1,E01000001,City of London 001A\n"
    with pytest.raises(IngestError) as exc:
        _one_file_build(tmp_path, "centroids.csv", text)
    assert exc.value.row == 1 and "longitude" in exc.value.problem


def test_a_build_without_neighbourhood_files_still_has_empty_tables(tmp_path):
    text = "LEA,LA Name,REGION,REGION NAME\n850,Hampshire,J,South East\n"
    report = _one_file_build(tmp_path, "la.csv", text)
    assert report.outcome == "built"
    assert _sql(tmp_path / "x.duckdb", "select count(*) n from lsoa").n[0] == 0
    assert any(c.name == "LSOA deprivation" and c.status == "warning" for c in report.checks)


# ---- school LSOAs and locations -----------------------------------------------------------------------

def test_schools_get_their_lsoa_from_the_postcode_look_up_first(built_db):
    pc = pd.concat([pd.read_csv(p, dtype=str) for p in sorted((RAW / "mhclg_iod2019_postcode_lookup_saqibsafdar")
                                                              .glob("*.csv.gz"))])
    pc = pc[pc["Postcode Status"] != "**UNMATCHED**"].dropna(subset=["LSOA code"])
    lookup = dict(zip(pc.Postcode.str.replace(" ", "").str.upper(), pc["LSOA code"]))
    s = _sql(built_db, "select urn, postcode, lsoa11, lsoa_source from school where postcode is not null")
    s["key"] = s.postcode.str.replace(" ", "").str.upper()
    hit = s[s.key.isin(lookup)]
    assert len(hit) > 20000
    assert (hit.lsoa11 == hit.key.map(lookup)).all()
    assert (hit.lsoa_source == "postcode look-up").all()


def test_nearest_centroid_is_the_nearest(built_db):
    s = _sql(built_db, """select urn, lat, lon, lsoa11, lsoa_km from school
                          where lsoa_source = 'nearest centroid' order by urn limit 40""")
    assert len(s) >= 20
    c = _sql(built_db, "select lsoa11, lat, lon from lsoa")
    for r in s.itertuples():
        d = nb.haversine_km(r.lat, r.lon, c.lat.to_numpy(), c.lon.to_numpy())
        assert c.lsoa11.iloc[int(np.argmin(d))] == r.lsoa11
        assert d.min() == pytest.approx(r.lsoa_km, abs=0.02)


def test_schools_without_coordinates_are_placed_at_their_lsoa_centroid(built_db):
    s = _sql(built_db, """select s.lat, s.lon, l.lat llat, l.lon llon from school s join lsoa l using (lsoa11)
                          where s.location_source = 'lsoa_centroid'""")
    assert len(s) > 1000
    assert np.allclose(s.lat, s.llat) and np.allclose(s.lon, s.llon)


# ---- neighbourhood profiles ---------------------------------------------------------------------------

@pytest.fixture(scope="module")
def surrey_school(built_db) -> dict:
    """A real Surrey secondary school located by its postcode."""
    row = _sql(built_db, """select urn, name, lat, lon, lsoa11 from school where la_code = '936' and phase = 'secondary'
                            and location_source = 'postcode' and lsoa11 is not null order by urn limit 1""")
    return row.iloc[0].to_dict()


def test_profile_matches_a_hand_computed_population_weighted_mean(built_db, raw_iod, surrey_school):
    prof = nb.profile(surrey_school["urn"], 1.5)
    d = nb.haversine_km(surrey_school["lat"], surrey_school["lon"], raw_iod.lat, raw_iod.lon)
    members = raw_iod[(d <= 1.5) | (raw_iod.lsoa11 == surrey_school["lsoa11"])]
    expected = float((members.imd.round(3) * members["pop"]).sum() / members["pop"].sum())
    assert prof["imd_score"] == pytest.approx(expected, rel=1e-9)
    assert set(prof["lsoas"].lsoa11) == set(members.lsoa11)
    assert prof["own"]["lsoa11"] == surrey_school["lsoa11"]
    assert "proxy" in nb.__doc__ and "where its pupils live" in prof["proxy_note"]
    wider = nb.profile(surrey_school["urn"], 3.0)
    assert len(wider["lsoas"]) > len(prof["lsoas"])


def test_vectorised_scores_agree_with_the_single_school_profile(built_db, surrey_school):
    allsc = nb.all_scores(1.5)
    me = allsc[allsc.urn == surrey_school["urn"]].iloc[0]
    prof = nb.profile(surrey_school["urn"], 1.5)
    assert me.imd_score == pytest.approx(prof["imd_score"], rel=1e-12)
    assert me.idaci_score == pytest.approx(prof["idaci_score"], rel=1e-12)
    assert me.n_lsoas == len(prof["lsoas"])
    assert allsc.imd_score.notna().mean() > 0.99


def test_neighbourhood_deciles_use_national_cut_points(built_db):
    lsoas = nb.lsoas()
    own = nb.to_decile(lsoas.idaci_score, nb.decile_cuts(lsoas, "idaci"))
    # scored against themselves, England's LSOAs fall into tenths that match MHCLG's published deciles
    assert (own == lsoas.idaci_decile).mean() > 0.97
    assert np.bincount(own.astype(int))[1:].min() >= 3000  # published scores are rounded: some ties


def test_radius_outside_the_allowed_range_is_refused(built_db, surrey_school):
    with pytest.raises(ValueError, match="radius"):
        nb.profile(surrey_school["urn"], 50)


# ---- outcomes by neighbourhood ------------------------------------------------------------------------

def test_outcomes_by_decile_count_every_school_with_a_figure(built_db):
    byd = nb.outcomes_by_decile(4, "att8_vs_national_other", 2023, radius_km=1.5, score="idaci").table
    shown = _sql(built_db, """select count(*) n from school_result_shown r join school s using (urn)
                              where r.key_stage = 4 and r.start_year = 2023 and r.measure = 'att8_vs_national_other'
                                and r.pupil_group = 'disadvantaged' and r.value is not null and s.lat is not null""").n[0]
    assert byd.schools.sum() == shown > 3000
    assert list(byd.decile) == list(range(1, 11))
    # the pupil-weighted mean of decile 1, by hand
    sc = nb.all_scores(1.5)
    o = _sql(built_db, """select urn, value, cohort from school_result_shown where key_stage = 4 and start_year = 2023
                          and measure = 'att8_vs_national_other' and pupil_group = 'disadvantaged' and value is not null""")
    d1 = o.merge(sc[sc.idaci_decile_nbhd == 1][["urn"]], on="urn")
    assert byd.disadvantaged.iloc[0] == pytest.approx((d1.value * d1.cohort).sum() / d1.cohort.sum(), abs=0.005)


def test_gap_by_decile_where_the_measure_has_both_groups(built_db):
    byd = nb.outcomes_by_decile(4, "att8", 2017, la_code="936").table
    have = byd[byd.schools_with_other > 0]
    assert len(have) >= 3
    assert np.allclose(have.gap, (have.other - have.disadvantaged).round(2), atol=0.011)
    assert byd.schools.sum() <= 60  # Surrey only


def _hand_random_effects(x, y, v):
    """The random-effects line computed here on its own: tau² by the method of moments through the
    leverages of a QR decomposition (not equity.stats' trace formula), then a weighted polyfit and
    an explicit HC1 sandwich."""
    X = np.column_stack([np.ones_like(x), x])

    def moments(X):
        w = 1 / v
        q, _ = np.linalg.qr(X * np.sqrt(w)[:, None])
        h = (q ** 2).sum(axis=1)  # leverages of the weighted fit
        beta = np.linalg.lstsq(X * np.sqrt(w)[:, None], y * np.sqrt(w), rcond=None)[0]
        big_q = (w * (y - X @ beta) ** 2).sum()
        return max(0.0, (big_q - (len(y) - X.shape[1])) / (w * (1 - h)).sum())

    tau2 = moments(X)
    tau2_null = moments(X[:, :1])
    w = 1 / (v + tau2)
    slope, intercept = np.polyfit(x, y, 1, w=np.sqrt(w))
    r = y - intercept - slope * x
    bread = np.linalg.inv(X.T @ (X * w[:, None]))
    meat = sum(np.outer(X[i], X[i]) * (w[i] * r[i]) ** 2 for i in range(len(y)))
    cov = bread @ meat @ bread * len(y) / (len(y) - 2)
    return tau2, tau2_null, slope, intercept, float(np.sqrt(cov[1, 1]))


def test_prediction_is_a_random_effects_line_with_a_robust_interval(built_db):
    pred = nb.predicted_vs_actual(4, "att8_vs_national_other", 2023, radius_km=1.5, score="idaci")
    p, m = pred.table, pred.model
    # independent: the school's raw figure and cohort from the database, its unrounded neighbourhood score
    raw = _sql(built_db, """select urn, value, cohort from school_result_shown where key_stage = 4 and start_year = 2023
                            and measure = 'att8_vs_national_other' and pupil_group = 'disadvantaged'
                            and value is not null and cohort > 0""")
    d = raw.merge(nb.all_scores(1.5)[["urn", "idaci_score"]], on="urn").dropna()
    assert len(d) == m["schools"] == len(p) > 3000
    v = 20.0 ** 2 / d.cohort.to_numpy(float)  # Attainment 8 has no published interval: pupil-level SD 20
    tau2, tau2_null, slope, intercept, se = _hand_random_effects(d.idaci_score.to_numpy(float),
                                                                 d.value.to_numpy(float), v)
    assert m["tau"] ** 2 == pytest.approx(tau2, rel=1e-6)
    assert m["tau_null"] ** 2 == pytest.approx(tau2_null, rel=1e-6)
    assert m["slope"] == pytest.approx(slope, rel=1e-6)
    assert m["intercept"] == pytest.approx(intercept, rel=1e-6)
    assert m["slope_se"] == pytest.approx(se, rel=1e-6)
    assert m["slope_low"] < m["slope"] < m["slope_high"]
    assert 0 <= m["explained"] <= 1 and m["scope"] == "in England (151 LAs)"
    # real differences between schools are far larger than noise for this measure: weighting by pupils alone was wrong
    assert tau2 > 4 * np.median(v)
    assert (p[p.verdict == "above prediction"].low > 0).all()
    assert (p[p.verdict == "below prediction"].high < 0).all()
    assert ((p.verdict == "in line") == ((p.low <= 0) & (p.high >= 0))).all()
    assert np.allclose(p.difference, (p.actual - p.predicted), atol=0.011)
    surrey = nb.predicted_vs_actual(4, "att8_vs_national_other", 2023, la_code="936")
    assert set(surrey.table.la_code) == {"936"} and surrey.model["schools"] == m["schools"]


@pytest.mark.parametrize("ks, measure, year", [(4, "att8_vs_national_other", 2023), (4, "p8", 2018),
                                               (2, "rwm_exp", 2018), (2, "read_prog", 2018)])
def test_flags_mean_the_same_on_every_measure(built_db, ks, measure, year):
    """Outside the range where 95% of schools fall: about 5% flagged whatever the measure's noise
    (before, 7% on the A8 gap, 21% on KS2 RWM and 28% on P8, only because their noise differs)."""
    pred = nb.predicted_vs_actual(ks, measure, year)
    p, m = pred.table, pred.model
    assert m["flagged_share"] == pytest.approx((p.verdict != "in line").mean())
    assert 0.02 <= m["flagged_share"] <= 0.12


def test_a_fit_on_one_or_two_las_says_so(built_db):
    surrey = nb.predicted_vs_actual(4, "p8", 2018).model
    assert surrey["scope"] == "in Surrey" and surrey["las"] == 1 and surrey["schools"] == 58
    assert "58 schools in Surrey" in surrey["text"] and "England" not in surrey["text"]
    ks2 = nb.predicted_vs_actual(2, "rwm_exp", 2018).model
    assert ks2["scope"] == "in Hampshire and Surrey"


def test_progress_measures_use_the_published_confidence_interval(built_db):
    pred = nb.predicted_vs_actual(2, "read_prog", 2018)
    p = pred.table
    assert "published 95% confidence interval" in pred.model["noise"]
    ci = _sql(built_db, """select urn, (ci_high - ci_low) / (2 * 1.959964) se from school_result_shown
                           where key_stage = 2 and start_year = 2018 and measure = 'read_prog'
                             and pupil_group = 'disadvantaged' and value is not null""")
    m = p.merge(ci, on="urn")
    assert (m.se_x >= m.se_y - 1e-6).all()  # the line's own uncertainty is added, never taken away


# ---- the page -----------------------------------------------------------------------------------------

def _page(**params):
    """The page opened from a deep link such as ``/neighbourhoods?la=936&shade=imd&urn=125249``
    (run as its own script, as the frame routes a deep link straight to it)."""
    from streamlit.testing.v1 import AppTest
    at = AppTest.from_file(str(ROOT / "pages" / "neighbourhoods.py"), default_timeout=180)
    for k, v in params.items():
        at.query_params[k] = v
    at.run()
    return at


def test_page_runs_inside_the_dashboard_frame(built_db):
    from streamlit.testing.v1 import AppTest
    at = AppTest.from_file(str(ROOT / "dashboard.py"), default_timeout=180)
    at.run()
    at.switch_page("pages/neighbourhoods.py")
    at.run()
    assert not at.exception
    assert at.title[0].value == "Neighbourhoods"
    assert {l["id"] for l in _deck(at)["layers"]} >= {"lsoas", "schools"}


def _deck(at) -> dict:
    decks = at.get("deck_gl_json_chart")
    assert len(decks) == 1
    return json.loads(decks[0].proto.json)


def _map_sentence(at) -> str:
    return next(m.value for m in at.markdown if "LSOAs are shaded" in m.value or "LSOAs are pooled" in m.value)


def test_page_draws_deprivation_and_schools_without_a_base_map(built_db):
    at = _page(la="936", iod="iod2019")
    assert not at.exception
    spec = _deck(at)
    layers = {l["id"]: l for l in spec["layers"]}
    assert layers["lsoas"]["@@type"] == "PolygonLayer" and len(layers["lsoas"]["data"]) >= 709
    assert layers["schools"]["@@type"] == "ScatterplotLayer" and len(layers["schools"]["data"]) > 30
    assert "la_outlines" in layers
    # no base map from a tile service: Streamlit gives a Deck with no style (or an inline style object,
    # which its front end cannot read) a CARTO one; pydeck's "no style chosen" marker it drops, drawing none
    assert spec.get("mapStyle") == "__MAP_STYLE__" and spec.get("mapProvider") in (None, "")
    assert any(w.key == "nb_urn" for w in at.selectbox)
    surrey = _map_sentence(at)
    assert "Surrey's 709 LSOAs" in surrey
    assert "Hampshire" not in surrey
    assert any(b.label == "Download CSV" for b in at.get("download_button"))


def test_page_restores_a_chosen_school_with_its_neighbourhood(built_db, surrey_school):
    at = _page(la="936", urn=str(surrey_school["urn"]), nb_radius="2.0", iod="iod2019")
    assert not at.exception
    assert at.selectbox(key="nb_urn").value == surrey_school["urn"]
    assert at.slider(key="nb_radius").value == 2.0
    assert any(s.value.startswith("The neighbourhood of") for s in at.subheader)
    prof = nb.profile(surrey_school["urn"], 2.0)
    metric = next(m for m in at.metric if m.label.startswith("Neighbourhood IMD score"))
    assert metric.value == f"{prof['imd_score']:.1f}"
    layers = {l["id"] for l in _deck(at)["layers"]}
    assert "radius" in layers  # the neighbourhood circle around the school


def test_page_sentence_changes_with_the_la_and_the_view(built_db):
    hants = _map_sentence(_page(la="850", iod="iod2019"))
    assert "Hampshire's 832 LSOAs" in hants
    england = _page(view="england", shade="imd")
    assert england.radio(key="view").value == "england" and england.selectbox(key="shade").value == "imd"
    assert not england.exception
    assert "pooled into" in _map_sentence(england) and "(IMD)" in _map_sentence(england)
    spec = _deck(england)
    assert {l["id"] for l in spec["layers"]} >= {"lsoas", "schools"}
    assert len(next(l for l in spec["layers"] if l["id"] == "lsoas")["data"]) < 2000  # aggregated, bounded


def test_page_centroids_where_no_boundaries_are_bundled(built_db):
    at = _page(la="330", iod="iod2019")
    assert not at.exception
    spec = _deck(at)
    lsoas = next(l for l in spec["layers"] if l["id"] == "lsoas")
    assert lsoas["@@type"] == "ScatterplotLayer" and 500 < len(lsoas["data"]) < 1000
    assert "population-weighted centre" in _map_sentence(at)


# ---- IoD2025 on 2021 LSOAs ------------------------------------------------------------------------------

IOD25 = RAW / "mhclg_iod2025_sianreilly"
LSOA21 = RAW / "ons_lsoa21_geographr"
FILE1 = IOD25 / "File_1_IoD2025_Index_of_Multiple_Deprivation.xlsx"
FILE3 = IOD25 / "File_3_IoD2025_Supplementary_Indices_IDACI_and_IDAOPI.xlsx"
# Hertfordshire's ten districts (2024 codes): the county the DfE calls LA 919
HERTS_DISTRICTS = {"E07000095", "E07000096", "E07000098", "E07000099", "E07000102", "E07000103",
                   "E07000240", "E07000241", "E07000242", "E07000243"}


@pytest.fixture(scope="module")
def raw_iod25() -> pd.DataFrame:
    """File 3 read here with openpyxl (not the loader's reader): code, district and the six values."""
    import openpyxl
    wb = openpyxl.load_workbook(FILE3, read_only=True, data_only=True)
    ws = wb["IoD2025 IDACI & IDAOPI"]
    rows = list(ws.iter_rows(values_only=True))
    wb.close()
    df = pd.DataFrame(rows[1:], columns=["lsoa21", "name", "lad", "lad_name", "imd_rank", "imd_decile", "idaci_rank",
                                         "idaci_decile", "idaopi_rank", "idaopi_decile"])
    assert rows[0][0] == "LSOA code (2021)" and "IDACI) Decile" in rows[0][7]
    return df


def _report(built_db) -> dict:
    from equity.ingest.build import report_path
    return json.loads(report_path(built_db).read_text())


def _check(report: dict, name: str) -> dict:
    return next(c for c in report["checks"] if c["name"] == name)


def test_iod2025_loads_every_2021_lsoa_with_ranks_and_deciles_and_no_scores(built_db, raw_iod25):
    s = _sql(built_db, """select count(*) n, count(distinct lsoa21) d, count(imd_decile) imd, count(idaci_decile) idaci,
                            count(idaopi_decile) idaopi, count(imd_score) + count(idaci_score) scores, count(lat) located,
                            count(la_code) la from lsoa21""").iloc[0]
    assert s.n == s.d == len(raw_iod25) == 33755
    assert s.imd == s.idaci == s.idaopi == s.located == s.la == 33755
    assert s.scores == 0  # Files 1 and 3 publish no scores


def test_iod2025_ranks_and_deciles_equal_the_xlsx(built_db, raw_iod25):
    herts = raw_iod25[raw_iod25.lad.isin(HERTS_DISTRICTS)]
    picks = pd.concat([raw_iod25.head(2), raw_iod25.tail(1), herts.iloc[[0, len(herts) // 2, -1]],
                       raw_iod25[raw_iod25.idaci_rank == 1]]).drop_duplicates("lsoa21")
    db_rows = _sql(built_db, "select * from lsoa21 where lsoa21 in (select unnest(?))", [list(picks.lsoa21)])
    m = picks.merge(db_rows, on="lsoa21", suffixes=("_raw", ""))
    assert len(m) == len(picks) >= 7
    for f in ("imd_rank", "imd_decile", "idaci_rank", "idaci_decile", "idaopi_rank", "idaopi_decile"):
        assert (m[f + "_raw"].astype(float) == m[f]).all(), f
    assert (m.lad == m.lad24cd).all()
    # File 1's IMD (read with calamine) is the same as File 3's for every LSOA
    from python_calamine import CalamineWorkbook
    f1 = CalamineWorkbook.from_path(str(FILE1)).get_sheet_by_name("IMD25").to_python()
    f1 = pd.DataFrame(f1[1:], columns=["lsoa21", "n", "c", "cn", "imd_rank", "imd_decile"])
    both = f1.merge(raw_iod25, on="lsoa21", suffixes=("_1", "_3"))
    assert len(both) == 33755 and (both.imd_rank_1 == both.imd_rank_3).all()


def test_lookup_change_codes_as_in_the_raw_file(built_db):
    import csv
    import gzip
    with gzip.open(LSOA21 / "lookup_lsoa11_lsoa21_ltla22.csv.gz", "rt", encoding="utf-8") as fh:
        raw = [r["change_code"] for r in csv.DictReader(fh)]
    assert {c: raw.count(c) for c in "USMX"} == {"U": 33647, "S": 1900, "M": 239, "X": 9}
    got = _sql(built_db, "select change_code c, count(*) n from lsoa11_lsoa21 group by 1")
    assert dict(zip(got.c, got.n)) == {"U": 33647, "S": 1900, "M": 239, "X": 9}
    msg = _check(_report(built_db), "LSOA 2011 to 2021 look-up")["message"]
    assert "S split 1,900" in msg and "M merged 239" in msg and "X irregular 9" in msg


def test_boundaries_are_england_only_and_missing_ones_are_counted(built_db):
    b = _sql(built_db, "select count(*) n, count(*) filter (where lsoa21 like 'E01%') e, min(area_km2) a from lsoa21_boundary").iloc[0]
    assert b.n == b.e == 33755 and b.a > 0
    rep = _report(built_db)
    assert _check(rep, "2021 LSOAs missing from the boundaries")["count"] == 0
    assert "1,917 Welsh skipped" in _check(rep, "LSOA 2021 boundaries")["message"]


@pytest.mark.slow  # 2.3 s: builds (quiet run, 2 cores)
def test_a_2021_lsoa_missing_from_the_boundaries_is_counted(tmp_path):
    from equity.ingest import build
    src = tmp_path / "src"
    src.mkdir()
    (src / FILE1.name).write_bytes(FILE1.read_bytes())
    doc = geography.read_geojson(LSOA21 / "lsoa21_boundaries.geojson.gz")
    welsh = next(f for f in doc["features"] if f["properties"]["LSOA21CD"].startswith("W"))
    keep = [f for f in doc["features"] if f["properties"]["LSOA21CD"] in {"E01000001", "E01000002"}] + [welsh]
    (src / "three.geojson").write_text(json.dumps({"type": "FeatureCollection", "features": keep}))
    rep = build.build([src], tmp_path / "t.duckdb")
    assert _check(rep.to_dict(), "2021 LSOAs missing from the boundaries")["count"] == 33755 - 2
    assert "1 Welsh skipped" in _check(rep.to_dict(), "LSOA 2021 boundaries")["message"]


def test_schools_get_a_2021_lsoa_through_the_lookup(built_db):
    routes = _sql(built_db, "select lsoa21_route r, count(*) n from school where lsoa21 is not null group by 1")
    counts = dict(zip(routes.r, routes.n))
    in_lookup = _sql(built_db, """select count(*) n from school where lsoa11 in (select lsoa11 from lsoa11_lsoa21)""").n[0]
    assert sum(counts.values()) == in_lookup > 25000
    assert counts["unchanged (U)"] > 24000 and counts["merged (M)"] > 50
    assert counts["split (S): the part holding the school"] > 500
    # unchanged and merged: the one 2021 LSOA the look-up gives for the school's 2011 LSOA
    bad = _sql(built_db, """select count(*) n from school s join lsoa11_lsoa21 k on k.lsoa11 = s.lsoa11
                            where s.lsoa21_route in ('unchanged (U)', 'merged (M)') and k.lsoa21 <> s.lsoa21""").n[0]
    assert bad == 0
    # splits: the chosen polygon holds the school's point (checked here with the ray-casting of geography)
    sp = _sql(built_db, """select s.urn, s.lat, s.lon, b.geometry from school s join lsoa21_boundary b using (lsoa21)
                           where s.lsoa21_route = 'split (S): the part holding the school' order by s.urn limit 40""")
    for r in sp.itertuples():
        polys = json.loads(r.geometry)["coordinates"]
        assert sum(geography._inside((r.lon, r.lat), ring) for poly in polys for ring in poly) % 2 == 1, r.urn
    # the largest part when the point is in none: no other candidate is larger
    lg = _sql(built_db, """select s.urn, max(b.area_km2) biggest, any_value(c.area_km2) chosen from school s
                           join lsoa11_lsoa21 k on k.lsoa11 = s.lsoa11 join lsoa21_boundary b on b.lsoa21 = k.lsoa21
                           join lsoa21_boundary c on c.lsoa21 = s.lsoa21
                           where s.lsoa21_route like 'split (S): largest part%' group by s.urn""")
    assert len(lg) > 0 and (lg.biggest == lg.chosen).all()
    rep = _report(built_db)
    msg = _check(rep, "schools placed in a 2021 LSOA")["message"]
    assert f"unchanged (U): {counts['unchanged (U)']:,}" in msg
    changes = _check(rep, "2011 to 2021 LSOA changes at schools")["message"]
    split = sum(n for r, n in counts.items() if r.startswith("split"))
    assert f"{split:,} schools in a 2011 LSOA that was split" in changes
    assert f"{counts['merged (M)']:,} in one that was merged" in changes


def test_iod2025_is_the_default_from_2022_23_results(built_db):
    assert nb.default_index(2022) == nb.default_index(2024) == "iod2025"
    assert nb.default_index(2021) == nb.default_index(2017) == "iod2019"
    assert "not scores" in nb.DECILE_NOTE and "never averaged" in nb.DECILE_NOTE


def test_hertfordshire_neighbourhoods_on_iod2025_by_decile_shares(built_db, raw_iod25):
    sc = nb.all_scores(1.5, index="iod2025")
    herts = sc[sc.la_code == "919"]
    assert len(herts) > 400 and herts.n_lsoas.notna().mean() > 0.99
    for f in ("imd", "idaci"):
        shares = herts[[f"{f}_d{k}" for k in range(1, 11)]].sum(axis=1)
        assert np.allclose(shares, 100)
        assert np.allclose(herts[f"{f}_share_20"], herts[f"{f}_d1"] + herts[f"{f}_d2"])
    # one school by hand: members by distance to the 2021 LSOA centres, deciles from the raw xlsx
    L = nb.lsoas21()
    me = herts.sort_values("urn").iloc[0]
    sch = nb.schools()
    s = sch[sch.urn == me.urn].iloc[0]
    d = nb.haversine_km(s.lat, s.lon, L.lat, L.lon)
    members = L[(d <= 1.5) | (L.lsoa21 == s.lsoa21)].lsoa21
    dec = raw_iod25.set_index("lsoa21").loc[list(members), "idaci_decile"].astype(int)
    assert me.n_lsoas == len(members)
    assert me.idaci_share_20 == pytest.approx(100 * (dec <= 2).mean())
    assert me.idaci_decile_nbhd == sorted(dec)[(len(dec) - 1) // 2]
    prof = nb.profile(int(me.urn), 1.5, index="iod2025")
    assert set(prof["lsoas"].lsoa21) == set(members)
    assert list(prof["deciles"].idaci_lsoas) == [int((dec == k).sum()) for k in range(1, 11)]
    # the map: Hertfordshire's 2021 LSOAs are those of its ten districts in File 3
    kind, rows = nb.lsoa21_layer_rows("919", "idaci")
    assert kind == "polygons"
    assert set(rows.lsoa21) == set(raw_iod25[raw_iod25.lad.isin(HERTS_DISTRICTS)].lsoa21)
    assert rows.lsoa21.nunique() == 713
    by_decile = nb.outcomes_by_decile(4, "att8_vs_national_other", 2023, la_code="919", index="iod2025")
    assert by_decile.index == "iod2025" and by_decile.table.schools.sum() > 40
    assert by_decile.schools == by_decile.table.schools.sum() and by_decile.la_code == "919"


def test_the_prediction_on_iod2025_receives_the_share_in_deciles_1_and_2(built_db):
    pred = nb.predicted_vs_actual(4, "att8_vs_national_other", 2023, score="idaci", index="iod2025")
    p = pred.table
    sc = nb.all_scores(1.5, index="iod2025").set_index("urn")
    assert np.allclose(p.neighbourhood_score, sc.loc[p.urn, "idaci_share_20"].round(4))
    assert p.neighbourhood_score.between(0, 100).all()
    assert "most deprived 20%" in pred.model["text"] and pred.model["index"] == "iod2025"


def _xlsx(path: Path, rows: list[list], sheet: str = "IMD25") -> Path:
    import openpyxl
    wb = openpyxl.Workbook()
    wb.active.title = "Notes"
    wb.active.append(["English Indices of Deprivation 2025"])
    ws = wb.create_sheet(sheet)
    for r in rows:
        ws.append(r)
    wb.save(path)
    return path


def test_an_xlsx_in_another_layout_fails_naming_file_and_sheet(tmp_path):
    from equity.ingest import build
    src = tmp_path / "src"
    src.mkdir()
    # a title row above the header (the header moved to row 3)
    _xlsx(src / "imd_2025.xlsx", [["Index of Multiple Deprivation 2025"], [],
                                  ["LSOA code (2021)", "LSOA name (2021)", "Index of Multiple Deprivation (IMD) Rank",
                                   "Index of Multiple Deprivation (IMD) Decile"], ["E01000001", "City of London 001A", 26525, 8]])
    with pytest.raises(IngestError, match=r"imd_2025\.xlsx.*sheet 'IMD25' is not in the IoD2025 layout.*row 3"):
        build.build([src], tmp_path / "a.duckdb")
    # 2011 codes and scores only
    (src / "imd_2025.xlsx").unlink()
    _xlsx(src / "scores.xlsx", [["LSOA code (2011)", "IMD score"], ["E01000001", 6.2]], sheet="Scores")
    with pytest.raises(IngestError, match=r"scores\.xlsx.*sheet 'Scores'.*'LSOA code \(2011\)'"):
        build.build([src], tmp_path / "b.duckdb")


def test_a_bad_decile_in_the_xlsx_names_file_sheet_row_and_column(tmp_path):
    from equity.ingest.loaders import iod2025
    f = _xlsx(tmp_path / "f1.xlsx", [["LSOA code (2021)", "Index of Multiple Deprivation (IMD) Rank",
                                      "Index of Multiple Deprivation (IMD) Decile"],
                                     ["E01000001", 26525, 8], ["E01000002", 31203, 11]])
    with pytest.raises(IngestError, match=r"f1\.xlsx, row 2, column Index of Multiple Deprivation \(IMD\) Decile: "
                                          r"sheet 'IMD25': 11 is not a decile"):
        iod2025.read_workbook(f)
    # and a workbook that mentions no LSOA (DfE's abbreviations) is not taken for an IoD file
    assert not iod2025.IoD2025Workbook().recognise_path(RAW / "dfe_north_yorks_englishdevil" / "abbreviations.xlsx")
    assert iod2025.IoD2025Workbook().recognise_path(FILE1)


def test_page_hertfordshire_on_iod2025_draws_2021_lsoas_offline_and_says_why_deciles(built_db):
    at = _page(la="919")
    assert not at.exception
    assert at.radio(key="iod").value == "auto"
    spec = _deck(at)
    layers = {l["id"]: l for l in spec["layers"]}
    assert layers["lsoas"]["@@type"] == "PolygonLayer"
    assert len({r["tip"].split("(")[1].split(")")[0] for r in layers["lsoas"]["data"]}) == 713
    assert spec.get("mapStyle") == "__MAP_STYLE__" and spec.get("mapProvider") in (None, "")
    assert "713 2021 LSOAs are shaded by IoD2025" in _map_sentence(at)
    assert any("not scores" in i.value and "never averaged" in i.value for i in at.info)
    urn = int(nb.all_scores(1.5, index="iod2025").query("la_code == '919'").sort_values("urn").urn.iloc[0])
    at = _page(la="919", urn=str(urn))
    assert not at.exception
    prof = nb.profile(urn, 1.5, index="iod2025")
    metric = next(m for m in at.metric if m.label.startswith("Most deprived 20%, IDACI"))
    assert metric.value == f"{prof['share_20']['idaci']:.0f}%"
    old = _page(la="919", iod="iod2019")
    assert not old.exception and "LSOAs are shaded by IoD2019" in _map_sentence(old)


@pytest.fixture(scope="module")
def herts_db(built_db) -> Path:
    """The bundle, which holds Hertfordshire's 2024/25 KS4 and KS2 files as DfE names them."""
    assert list(RAW.rglob("919_ks4final.csv")) and list(RAW.rglob("919_ks2final.csv"))
    return built_db


@pytest.mark.parametrize("ks,measure", [(4, "att8"), (2, "rwm_exp")])
def test_beyond_school_analysis_runs_on_2024_25_results_with_iod2025(herts_db, ks, measure):
    assert nb.default_index(2024, path=herts_db) == "iod2025"
    shown = _sql(herts_db, """select r.urn from school_result_shown r join school s using (urn)
                              where r.key_stage = ? and r.start_year = 2024 and r.measure = ?
                                and r.pupil_group = 'disadvantaged' and r.value is not null and r.cohort > 0
                                and s.lat is not null""", [ks, measure])
    p = nb.predicted_vs_actual(ks, measure, 2024, score="idaci", index="iod2025", path=herts_db).table
    assert set(p.urn) == set(shown.urn) and len(p) > 50
    assert set(p.la_code) == {"919"}
    sc = nb.all_scores(1.5, path=herts_db, index="iod2025").set_index("urn")
    assert np.allclose(p.neighbourhood_score, sc.loc[p.urn, "idaci_share_20"].round(4))
    byd = nb.outcomes_by_decile(ks, measure, 2024, la_code="919", index="iod2025", path=herts_db).table
    assert byd.schools.sum() == len(p)
    d = sc.loc[p.urn, "idaci_decile_nbhd"]
    assert list(byd.schools) == [int((d == k).sum()) for k in range(1, 11)]
