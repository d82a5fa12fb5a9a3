"""One home for the statistics (equity.stats): the z, one standard error per measure, one noise test, funnel
limits with the between-school allowance; and the same verdict for the same school, measure and years on
every page function, in the CLI and in the pack (issue 13, finding 6)."""
from __future__ import annotations

import math
import re

import numpy as np
import pytest

from equity import measures, stats
from equity.analysis import families, gaps, keys_to_success as kts, profile
from equity.present import pack

ASH_MANOR = 125271  # Surrey secondary, 35-44 disadvantaged pupils a year


def test_one_z_and_one_pupil_sd_with_its_source():
    assert stats.Z95 == pytest.approx(1.959964, abs=1e-6) and stats.Z998 == pytest.approx(3.090232, abs=1e-6)
    for mod in (gaps, families, kts):
        assert mod.Z95 is stats.Z95
    for key, m in measures.MEASURES.items():
        if m.unit == "percent":
            assert m.pupil_sd is None, key
        elif not key.endswith("_3yr"):
            assert m.pupil_sd and m.pupil_sd_source, key
    assert gaps.PUPIL_SD["p8"] == families.PUPIL_SD["p8"] == measures.MEASURES["p8"].pupil_sd


def test_one_standard_error_rule_everywhere():
    v, n, lo, hi = np.array([50.0, 0.0, 40.0]), np.array([100, 12, 30]), np.array([np.nan] * 3), np.array([np.nan] * 3)
    for m in ("rwm_exp", "basics_95"):
        want = stats.standard_error(m, v, n)
        assert want[0] == pytest.approx(5.0) and want[1] > 0  # binomial; 0% still carries noise
        assert np.allclose(gaps.standard_error(m, v, n), want)
        assert np.allclose(families.standard_error(m, v, n, lo, hi), want)
        assert np.allclose(kts.standard_errors(m, v, lo, hi, n)[0], want)
    # a published interval wins; a point score without one uses the catalogue's pupil sd
    assert stats.standard_error("p8", [0.1], [100], [-0.1], [0.3])[0] == pytest.approx(0.2 / stats.Z95)
    assert stats.standard_error("att8", [40.0], [25])[0] == pytest.approx(20.0 / 5)
    assert np.allclose(kts.standard_errors("p8", [0.1], [np.nan], [np.nan], [64])[0], 1.28 / 8)
    # unknown or zero pupils: no standard error
    assert np.isnan(stats.standard_error("att8", [40.0, 40.0], [np.nan, 0])).all()


def test_one_noise_test():
    assert stats.beyond_noise(2.0, 1.0) and not stats.beyond_noise(1.9, 1.0) and stats.beyond_noise(-2.0, 1.0)
    assert not stats.beyond_noise(5.0, np.nan) and not stats.beyond_noise(5.0, 0.0)
    assert list(stats.beyond_noise(np.array([3.0, 0.5]), np.array([1.0, 1.0]))) == [True, False]


def test_funnel_limits_with_the_between_school_allowance():
    lim = stats.funnel_limits(40.0, [10, 100, 10_000], 20.0)
    assert (np.diff(lim.hi95 - lim.lo95) < 0).all()
    wide = stats.funnel_limits(40.0, [10, 100, 10_000], 20.0, tau2=9.0)
    assert ((wide.hi95 - wide.lo95) > (lim.hi95 - lim.lo95)).all()
    assert (wide.hi95 - 40.0).iloc[-1] == pytest.approx(stats.Z95 * math.sqrt(400 / 10_000 + 9.0))
    # DerSimonian-Laird: schools spread exactly as chance predicts give no between-school variance
    rng = np.random.default_rng(1)
    se = np.full(400, 2.0)
    assert stats.overdispersion(rng.normal(0, 2.0, 400), se, 0.0) < 0.5
    assert stats.overdispersion(rng.normal(0, math.sqrt(4 + 9), 400), se, 0.0) == pytest.approx(9.0, rel=0.3)


def _school_verdict(urn: int, measure: str):
    """The Gap trends page's verdict on a school's within-school gap (equity.analysis.gaps)."""
    t = gaps.gap_trend(gaps.school_gaps(4, urns=[urn], measures=[measure]), measure, 4)
    return t


def _profile_claim(text: str) -> str | None:
    if "more than the noise" in text:
        return "beyond"
    if "within the noise" in text:
        return "within"
    return None


def test_same_school_measure_and_years_same_verdict_on_every_page_cli_and_pack(built_db):
    """The Gap trends functions, the profile page's sentence, the pack's school slide and the CLI's gap rows
    agree: same first and last year, same standard errors, same verdict."""
    seen = {"beyond": 0, "within": 0}
    surrey = gaps.school_gaps(4, la_code="936", measures=["att8"])
    urns = [ASH_MANOR] + sorted(set(surrey[surrey.gap.notna()].urn) - {ASH_MANOR})[:14]
    for urn in urns:
        t = _school_verdict(urn, "att8")
        if t.change is None:
            continue
        res = profile.outcomes(urn, 4, include_lineage=False)
        text = profile.outcome_sentence(res, "att8", "School", 4)
        claim = _profile_claim(text)
        assert claim == ("beyond" if t.significant else "within"), (urn, t, text)
        assert f"In {gaps.label(t.first_year)} the gap was" in text and f"In {gaps.label(t.last_year)}," in text
        g = profile.gaps(res, "att8").set_index("start_year")
        assert float(stats.combined_se(g.loc[t.first_year, "se_gap"], g.loc[t.last_year, "se_gap"])) == \
            pytest.approx(t.se)
        seen[claim] += 1
        if urn == ASH_MANOR:  # issue 13, finding 5: "2.6 points wider now" was within the noise
            assert claim == "within" and not t.significant
            slide = pack._school_trend_slide(urn, 4, "att8", pack.Namer(False, {urn: "Ash Manor"}), None)
            assert _profile_claim(slide.sentence) == claim
    assert seen["within"] >= 3
    # the LA: the overview / Gap trends sentence and the pack's LA slide use the same trend and noise test
    for m in ("att8", "p8"):
        t = gaps.gap_trend(gaps.area_gaps("936", 4, [m], estimates=False), m, 4)
        page = gaps.trend_sentence("936", 4, m)
        d = pack._published_trend(["936"], 4, m, None)
        slide = pack._la_trend_sentence(d, "936", "Surrey", 4, m)
        if t.change is not None:
            assert t.describe(measures.MEASURES[m].unit) in page and t.describe(measures.MEASURES[m].unit) in slide
    # the CLI prints the same published LA gaps the trend is computed from
    from equity.cli import gaps as cli_gaps
    recs = cli_gaps.rows("936", 4, "att8", False, None)
    la = gaps.area_gaps("936", 4, ["att8"], estimates=False)
    cli = {r["academic_year"]: r["gap"] for r in recs if r["area_code"] == "936" and r["gap"] is not None}
    for r in la[la.gap.notna()].itertuples():
        assert cli[r.academic_year] == pytest.approx(r.gap, abs=1e-6)


def test_no_progress8_change_is_stated_across_the_method_change(small_db):
    """Issue 13, finding 4: 'gap widened by 0.11 from 2015/16 to 2018/19' crossed the 2017/18 P8 change."""
    s = gaps.trend_sentence("936", 4, "p8")
    assert "2015/16" not in s and "2016/17 to" not in s
    t = gaps.gap_trend(gaps.area_gaps("936", 4, ["p8"], estimates=False), "p8", 4)
    assert t.first_year is None or t.first_year >= 2017
    for urn in (ASH_MANOR, 125249):
        text = profile.outcome_sentence(profile.outcomes(urn, 4), "p8", "School", 4)
        assert not re.search(r"In 201[56]/1[67] the gap was", text), text
