"""Families of schools, on the real bundled data (see equity/analysis/families.py for the method)."""
from __future__ import annotations

import contextlib
import io
import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from equity import db
from equity.analysis import families as F

ROOT = Path(__file__).resolve().parent.parent


def _sql(built_db, text: str) -> pd.DataFrame:
    """An independent look at the database (not through equity.analysis.families) for the checks below."""
    cur = db.connection(built_db).cursor()
    try:
        return cur.execute(text).df()
    finally:
        cur.close()


@pytest.fixture(scope="module")
def fams(built_db):
    return F.all_families(path=built_db)


@pytest.fixture(scope="module")
def complete_secondaries(built_db) -> pd.DataFrame:
    """Mainstream state-funded secondary schools with all four context figures in KS4 2023/24."""
    return _sql(built_db, """
        select c.urn, s.la_code, s.phase from school_context c join school s using (urn)
        where c.key_stage = 4 and c.start_year = 2023 and s.phase in ('secondary', 'all-through')
          and s.is_mainstream and s.is_state_funded and c.prior_attainment is not null
          and c.pct_disadvantaged is not null and c.pct_eal is not null and c.pct_sen is not null""")


def test_default_year_is_the_national_2023_file(built_db):
    assert F.default_year(4, built_db) == 2023
    assert set(F.family_years(4, built_db)) >= {2023, 2017, 2016}
    assert F.default_year(2, built_db) == 2018


def test_every_complete_secondary_has_a_family_of_12_to_20(fams, complete_secondaries):
    assert len(complete_secondaries) > 3000  # all of England
    sizes = fams.groupby("urn").size()
    missing = set(complete_secondaries.urn) - set(sizes.index)
    assert not missing, f"schools with complete context but no family: {sorted(missing)[:10]}"
    got = sizes.loc[complete_secondaries.urn]
    assert got.between(F.MIN_SIZE, F.MAX_SIZE).all()
    assert (got == F.DEFAULT_SIZE).all()


def test_members_are_of_the_phase_mainstream_and_state_funded(built_db, fams):
    members = pd.DataFrame({"urn": fams.member_urn.unique()})
    info = _sql(built_db, "select urn, phase, is_mainstream, is_state_funded, is_special, is_independent from school")
    m = members.merge(info, on="urn", how="left")
    assert m.phase.isin(["secondary", "all-through"]).all()
    assert m.is_mainstream.all() and m.is_state_funded.all()
    assert not m.is_special.any() and not m.is_independent.any()
    ctx = _sql(built_db, "select urn from school_context where key_stage = 4 and start_year = 2023")
    assert set(members.urn) <= set(ctx.urn)


def test_no_member_within_the_radius_and_no_self(built_db, fams):
    assert (fams.urn != fams.member_urn).all()
    assert not fams.duplicated(["urn", "member_urn"]).any()
    known = fams.km.notna()
    assert (fams.km[known] >= F.DEFAULT_RADIUS_KM).all()
    # where a location is missing, the same LA stands in for the radius
    la = _sql(built_db, "select urn, la_code from school_context where key_stage = 4 and start_year = 2023")
    la = la.set_index("urn").la_code
    unknown = fams[~known]
    assert (unknown.urn.map(la) != unknown.member_urn.map(la)).all()
    # km is the real distance: check pairs by hand against the postcode coordinates in the school table
    loc = _sql(built_db, "select urn, lat, lon from school where location_source = 'postcode'").set_index("urn")
    pairs = fams[fams.urn.isin(loc.index) & fams.member_urn.isin(loc.index)].head(50)
    assert len(pairs) == 50
    d = F.haversine_km(loc.lat[pairs.urn].to_numpy(), loc.lon[pairs.urn].to_numpy(),
                       loc.lat[pairs.member_urn].to_numpy(), loc.lon[pairs.member_urn].to_numpy())
    assert np.allclose(d, pairs.km.to_numpy(), rtol=1e-9)


def test_a_wider_radius_pushes_members_further_away(built_db):
    wide = F.all_families(radius_km=20, path=built_db)
    assert (wide.km.dropna() >= 20).all()
    assert wide.km.median() > F.all_families(radius_km=0, path=built_db).km.median()


def test_ranks_follow_distance_and_are_deterministic(built_db, fams):
    assert (fams.groupby("urn")["distance"].apply(lambda s: s.is_monotonic_increasing)).all()
    assert (fams.groupby("urn")["rank"].apply(lambda s: list(s) == list(range(1, len(s) + 1)))).all()
    F._families_cached.cache_clear()
    F._space_cached.cache_clear()
    again = F.all_families(path=built_db)
    pd.testing.assert_frame_equal(fams.reset_index(drop=True), again.reset_index(drop=True))


@pytest.mark.parametrize("key_stage,year,radius", [(4, 2023, 5.0), (4, 2017, 12.0), (2, 2018, 5.0)])
def test_families_of_some_schools_are_the_same_as_in_all_families(built_db, key_stage, year, radius):
    every = F.all_families(key_stage=key_stage, start_year=year, radius_km=radius)
    some = sorted(every.urn.unique())[::7]
    assert len(some) >= 20
    got = F.family_members(some, key_stage=key_stage, start_year=year, radius_km=radius)
    want = every[every.urn.isin(some)].drop(columns="closeness")
    key = ["urn", "rank"]
    pd.testing.assert_frame_equal(got.sort_values(key).reset_index(drop=True),
                                  want.sort_values(key).reset_index(drop=True), check_dtype=False)


def test_ties_are_broken_by_urn():
    # six schools with the same context, far apart: the nearest-first order must be by URN
    X = np.zeros((6, 2))
    lat = np.array([50.0, 51.0, 52.0, 53.0, 54.0, 55.0])
    lon = np.zeros(6)
    urns = np.array([600, 100, 500, 200, 400, 300])
    members, dist, km = F._nearest(X, lat, lon, np.array(["a"] * 6, dtype=object), urns, 4, 5.0)
    assert (dist == 0).all()
    first = urns[members[0]]
    assert list(first) == [100, 200, 300, 400]
    assert list(urns[members[1]]) == [200, 300, 400, 500]


def test_distance_is_a_weighted_mahalanobis_distance_of_z_scores(built_db):
    from scipy.spatial.distance import mahalanobis
    sp = F.space(path=built_db)
    result = F.family(int(sp.schools.urn.iloc[100]), path=built_db)
    fam = result.members
    a = sp.schools.iloc[100]
    b = sp.schools[sp.schools.urn == fam.urn.iloc[0]].iloc[0]
    # independently: correlations of the raw figures across the pool, the weights as the page states them
    raw = sp.schools[list(sp.variables)].to_numpy(float)
    R = np.corrcoef(raw, rowvar=False)
    w = np.sqrt([F.DEFAULT_WEIGHTS[v] / sum(F.DEFAULT_WEIGHTS[u] for u in sp.variables) for v in sp.variables])
    za = np.array([(a[v] - raw[:, i].mean()) / raw[:, i].std() for i, v in enumerate(sp.variables)])
    zb = np.array([(b[v] - raw[:, i].mean()) / raw[:, i].std() for i, v in enumerate(sp.variables)])
    vi = np.diag(w) @ np.linalg.inv(R) @ np.diag(w)
    assert fam.distance.iloc[0] == pytest.approx(mahalanobis(za, zb, vi), rel=1e-9)
    # prior attainment and % disadvantaged move together, so the plain weighted distance would differ
    i, j = sp.variables.index("prior_attainment"), sp.variables.index("pct_disadvantaged")
    assert -0.7 < R[i, j] < -0.5
    assert result.method["correlations"]["prior_attainment~pct_disadvantaged"] == pytest.approx(R[i, j], abs=1e-3)
    euclid = np.sqrt(((w * (za - zb)) ** 2).sum())
    assert abs(euclid - fam.distance.iloc[0]) > 1e-3
    # z-scores are standardised within the pool
    for v in sp.variables:
        assert sp.schools[f"z_{v}"].mean() == pytest.approx(0, abs=1e-9)


def test_members_come_from_other_las_where_similar_schools_exist(fams, built_db):
    la = _sql(built_db, "select urn, la_code from school").set_index("urn").la_code
    other = fams.member_urn.map(la) != fams.urn.map(la)
    share = other.groupby(fams.urn).any().mean()
    assert share > 0.95
    # a Surrey secondary: most of its family is outside Surrey
    surrey = fams[fams.urn.map(la) == "936"]
    assert len(surrey) and (surrey.member_urn.map(la) != "936").mean() > 0.5


def test_found_by_a_predecessor_urn(built_db):
    pairs = _sql(built_db, """
        select l.urn as new_urn, l.related_urn as old_urn
        from school_lineage l join school_context c on c.urn = l.urn and c.key_stage = 4 and c.start_year = 2023
        join school s on s.urn = l.urn
        where l.relation = 'predecessor' and c.pct_sen is not null and s.is_mainstream
          and not exists (select 1 from school_context o where o.urn = l.related_urn and o.key_stage = 4
                          and o.start_year = 2023)
          and exists (select 1 from school_context o where o.urn = l.related_urn and o.key_stage = 4
                      and o.start_year < 2023)
        order by l.urn limit 3""")
    assert len(pairs) > 0
    for new, old in zip(pairs.new_urn, pairs.old_urn):
        assert F.resolve_urn(int(old), path=built_db) == new
        by_old = F.family(int(old), path=built_db)
        by_new = F.family(int(new), path=built_db)
        assert by_old.urn == new and by_old.requested_urn == old
        assert by_new.urn == new and by_new.requested_urn == new
        assert list(by_old.members.urn) == list(by_new.members.urn)
    # and the other way round: the new URN finds the old one in an earlier year
    old_year = F.family(int(pairs.new_urn.iloc[0]), start_year=2017, path=built_db) \
        if F.resolve_urn(int(pairs.new_urn.iloc[0]), start_year=2017, path=built_db) != pairs.new_urn.iloc[0] else None
    if old_year is not None:
        assert old_year.urn != old_year.requested_urn


def test_missing_figures_are_not_imputed_and_say_why(built_db):
    sp = F.space(path=built_db)
    assert sp.schools[list(sp.variables)].notna().all().all()
    no_data = sp.excluded[sp.excluded.reason.str.startswith("no ")]
    assert len(no_data) > 0
    with pytest.raises(F.FamilyUnavailable) as exc:
        F.family(int(no_data.urn.iloc[0]), path=built_db)
    assert exc.value.reason == no_data.reason.iloc[0]
    special = sp.excluded[sp.excluded.reason.str.startswith("special")]
    with pytest.raises(F.FamilyUnavailable, match="special"):
        F.family(int(special.urn.iloc[0]), path=built_db)
    # KS2 2018/19 has no SEN figures at all: the variable is dropped for the year, and said so
    ks2 = F.method(key_stage=2, start_year=2018, path=built_db)
    assert "pct_sen" not in ks2["variables"] and "pct_sen" in ks2["dropped_variables"]
    assert "% special educational needs is not used" in F.describe_method(ks2)


def test_closeness_ratings_split_distances_in_thirds(built_db, fams):
    counts = fams.closeness.value_counts(normalize=True)
    for label in F.CLOSENESS:
        assert counts[label] == pytest.approx(1 / 3, abs=0.02)
    q1, q2 = F.method(path=built_db)["closeness_thresholds"]
    # a school's family carries the same thresholds
    assert F.family(int(fams.urn.iloc[0]), path=built_db).closeness_thresholds == (q1, q2)
    assert (fams.loc[fams.closeness == "very close", "distance"] <= q1).all()
    assert (fams.loc[fams.closeness == "fair", "distance"] > q2).all()


def test_validation_shows_families_group_similar_results_and_moves_with_weights(built_db):
    default = F.validation(path=built_db)
    assert default["measure"] == "att8_vs_national_other"
    assert default["schools"] > 3000
    assert 0 < default["spread_ratio"] < default["la_ratio"] < 1.05  # families beat LAs as a yardstick
    assert 0 < default["r2"] < 1
    no_prior = F.validation(weights={"prior_attainment": 0}, path=built_db)
    assert no_prior["spread_ratio"] != pytest.approx(default["spread_ratio"], abs=1e-6)
    assert no_prior["spread_ratio"] > default["spread_ratio"]  # prior attainment matters for attainment
    assert no_prior["method"]["variables"] == ["pct_disadvantaged", "pct_eal", "pct_sen"]


@pytest.mark.parametrize("ks, year", [(4, 2023), (2, 2018)])
def test_validation_per_key_stage_and_measure_says_where_families_explain_little(built_db, ks, year):
    t = F.validation_table(ks, year, path=built_db)
    ms = F.measures_for(ks, year, built_db)
    assert list(t.measure) == [m for m in ms if m in set(t.measure)] and len(t) >= 2
    for m in set(ms) - set(t.measure):  # left out only for too few schools (Hertfordshire's 2023/24 history)
        assert F.validation(m, key_stage=ks, start_year=year, path=built_db)["schools"] < F.MIN_VALIDATION_SCHOOLS
    assert t.r2.between(0, 1).all() and (t.schools > 100).all()
    # each row is the validation of its own measure, independently recomputed for one of them
    one = t.iloc[-1]
    fams = F.all_families(key_stage=ks, start_year=year, path=built_db)
    res = F.school_outcomes(one.measure, key_stage=ks, start_year=year, path=built_db).table.set_index("urn").value
    med = fams.assign(v=fams.member_urn.map(res)).dropna(subset=["v"]).groupby("urn").v.agg(["median", "count"])
    med = med[med["count"] >= 3].assign(own=lambda d: d.index.map(res)).dropna(subset=["own"])
    assert one.r2 == pytest.approx(np.corrcoef(med.own, med["median"])[0, 1] ** 2, abs=1e-9)
    if ks == 4:  # attainment follows intake; progress less so
        row = t.set_index("measure")
        assert row.r2["att8_vs_national_other"] > 0.5 and row.strength["att8_vs_national_other"] == "much"
        assert 0.2 < row.r2["p8_vs_national_other"] < row.r2["att8_vs_national_other"]
    else:  # KS2 families (two counties) explain next to nothing: say so
        assert (t.r2 < 0.05).all() and (t.strength == "little").all()
        v = F.validation("rwm_exp", key_stage=2, start_year=year, path=built_db)
        assert F.explains_little(v) and "families explain little" in F.describe_validation(v)
    v4 = F.validation("att8_vs_national_other", key_stage=4, start_year=2023, path=built_db)
    assert "explain little" not in F.describe_validation(v4)


def test_p8_noise_matches_dfe_confidence_intervals(built_db):
    implied = _sql(built_db, """
        select median((ci_high - ci_low) / (2 * 1.96) * sqrt(cohort)) as sd from school_result_shown
        where measure = 'p8' and key_stage = 4 and start_year = 2018 and ci_low is not null and cohort > 0""")
    assert implied.sd.iloc[0] == pytest.approx(F.PUPIL_SD["p8"], abs=0.05)


def test_family_outcomes_median_and_small_groups(built_db):
    urn = int(F.space(path=built_db).schools.urn.iloc[0])
    result = F.family_outcomes(urn, path=built_db)
    fo = result.table
    assert fo.role.iloc[0] == "this school" and (fo.role.iloc[1:] == "family").all()
    members = fo[fo.role == "family"]
    assert result.family_median == pytest.approx(members.value.median())
    assert result.members_with_value == members.value.notna().sum()
    assert (fo.cohort.dropna() >= 6).all()
    ranked = fo.dropna(subset=["value"]).sort_values("position")
    assert ranked.value.is_monotonic_decreasing  # higher is better for this measure
    # pooled years: the year and up to two earlier comparable ones
    # Progress 8 changed method in 2017/18: never pooled with 2016/17 (issue 13, finding 4)
    assert F.outcome_years("p8", 4, 2017, span=3, path=built_db) == [2017]
    assert F.outcome_years("p8", 4, 2016, span=3, path=built_db) == [2016, 2015]
    assert F.outcome_years("att8", 4, 2016, span=3, path=built_db) == [2016]  # 2015/16 Att8 is the old scale
    # cached per build: each caller has its own table and method to change
    result.table.loc[0, "value"] = -999.0
    result.method["variables"].clear()
    again = F.family_outcomes(urn, path=built_db)
    assert again.table.value.iloc[0] != -999.0 and again.method["variables"]
    assert again.family_median == result.family_median and again.urn == result.urn


def test_learn_from_names_better_members_with_reasons(built_db):
    la = _sql(built_db, "select urn from school_context where key_stage = 4 and start_year = 2023 and la_code = '936'")
    found = 0
    for urn in la.urn[:15]:
        try:
            fo = F.family_outcomes(int(urn), path=built_db)
        except F.FamilyUnavailable:
            continue
        learn = F.learn_from(fo)
        lf = learn.schools
        if lf.empty:
            continue
        assert learn.reference == ("this school" if pd.notna(fo.school_value) else "the family median")
        found += 1
        assert (lf.margin > 0).all()
        assert ((lf.margin > F.Z95 * lf.se_diff) == lf.beyond_noise).all()
        assert lf.why.str.contains("2023/24").all()
        assert lf.urn.isin(fo.table.urn[fo.table.role == "family"]).all()
    assert found > 0


def test_la_positions_cover_the_la(built_db):
    pos = F.la_positions("936", path=built_db)
    sp = F.space(path=built_db)
    assert set(pos.urn) == set(sp.schools.urn[sp.schools.la_code == "936"])
    fig = pos.dropna(subset=["value"])
    assert np.allclose(fig.difference, fig.value - fig.family_median)
    assert set(pos.verdict) <= {"above its family", "below its family", "in line with its family", "no figure"}
    above = pos[pos.verdict == "above its family"]
    assert (above.difference > F.Z95 * above.se_diff).all()


def test_older_years_use_the_counties(built_db):
    m = F.method(start_year=2017, path=built_db)
    assert m["schools"] > 100 and m["las"] == 3
    f = F.all_families(start_year=2017, path=built_db)
    assert f.groupby("urn").size().between(F.MIN_SIZE, F.MAX_SIZE).all()


def test_settings_out_of_range_are_refused(built_db):
    with pytest.raises(ValueError):
        F.all_families(size=30, path=built_db)
    with pytest.raises(ValueError):
        F.all_families(radius_km=-1, path=built_db)
    with pytest.raises(ValueError):
        F.all_families(weights={"shoe_size": 1}, path=built_db)
    with pytest.raises(LookupError, match="no KS4 context data"):
        F.all_families(start_year=2020, path=built_db)


def test_neighbourhood_deprivation_is_optional_and_off_by_default(built_db):
    assert "idaci" not in F.method(path=built_db)["variables"]
    m = F.method(weights={"idaci": 1}, path=built_db)
    if F.idaci_available(built_db):
        assert "idaci" in m["variables"]
        fam = F.family(125311, weights={"idaci": 1}, path=built_db)
        assert fam.members.idaci.notna().all()
    else:
        assert "idaci" in m["dropped_variables"]


def test_cli_json(built_db):
    from equity.cli import main
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        rc = main(["family", "--urn", "125311", "--size", "12", "--radius-km", "8", "--format", "json",
                   "--db", str(built_db)])
    assert rc == 0
    data = json.loads(out.getvalue())
    assert data["requested_urn"] == 125311 and data["urn"] != 125311
    assert data["method"]["size"] == 12 and data["method"]["radius_km"] == 8
    assert data["method"]["variables"] == ["prior_attainment", "pct_disadvantaged", "pct_eal", "pct_sen"]
    assert len(data["members"]) == 12
    for m in data["members"]:
        assert {"urn", "name", "la_code", "distance", "km"} <= set(m)
        assert len(m["la_code"]) == 3 and m["la_code"].isdigit()
        assert m["km"] is None or m["km"] >= 8


def test_cli_table_and_unknown_school(built_db, capsys):
    from equity.cli import main
    assert main(["family", "--urn", "125311", "--db", str(built_db)]) == 0
    text = capsys.readouterr().out
    assert "found from URN 125311" in text and "very close" in text
    assert main(["family", "--urn", "1", "--db", str(built_db)]) == 1
    assert "No family for URN 1" in capsys.readouterr().err


def _page(urn: str | None = None, **params):
    from streamlit.testing.v1 import AppTest
    at = AppTest.from_file(str(ROOT / "dashboard.py"), default_timeout=120)
    if urn:
        at.query_params["urn"] = urn
    for k, v in params.items():
        at.query_params[k] = v
    at.run()
    at.switch_page("pages/families.py")
    at.run()
    return at


def _sentence(at) -> str:
    return next(m.value for m in at.markdown if "family median of" in m.value or "has no published figure" in m.value)


def test_page_restores_the_view_from_the_url(built_db):
    at = _page("125311", size="12", radius="8.0")
    assert not at.exception
    assert at.text_input(key="urn").value == "125311"
    assert at.slider(key="size").value == 12
    assert at.slider(key="radius").value == 8.0
    assert any("URN 125311 has no KS4 data for 2023/24" in i.value for i in at.info)
    first = _sentence(at)
    assert "St Paul's Catholic College" in first and "among the school and its family" in first
    assert "of 12 members" in first
    assert any(w.key == "w_prior_attainment" for w in at.slider)
    # the sentence changes with the data: another school, another sentence
    other = _page("125315")
    assert not other.exception
    assert _sentence(other) != first and "All Hallows" in _sentence(other)


def test_page_la_tab_and_method(built_db):
    # only the open tab is worked out: the default view has neither the LA's chart nor the validation
    at = _page(None)
    assert not at.exception
    assert not any("measure by measure" in m.value or "schools with a KS4 family" in m.value for m in at.markdown)
    # each tab opens from the URL (?fam_tab=, kept there like every other setting)
    at = _page(None, fam_tab="Every school in an LA")
    assert not at.exception
    at.selectbox(key="la").set_value("936").run()
    assert not at.exception
    texts = " ".join(m.value for m in at.markdown)
    assert "Surrey schools with a KS4 family" in texts
    at = _page(None, fam_tab="How families are made")
    assert not at.exception
    texts = " ".join(m.value for m in at.markdown)
    assert "How families are made" in texts
    assert any("Within a family" in m.value for m in at.markdown)
    # the validation for every measure of the key stage, and no warning where families explain much
    assert any("measure by measure" in m.value for m in at.markdown)
    assert not any("families explain little" in w.value for w in at.warning)


def test_page_says_plainly_where_families_explain_little(built_db):
    at = _page(None, fam_tab="How families are made")
    at.radio(key="ks").set_value(2).run()
    assert not at.exception
    warn = " ".join(w.value for w in at.warning)
    assert "families explain little" in warn and "KS2" in warn
    assert any("they explain little (under 10%)" in m.value for m in at.markdown)
