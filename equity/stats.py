"""One home for the statistics every page, sentence, CLI command and pack uses.

# --- noise, standard errors, funnel
* :data:`Z95` / :data:`Z998`: the normal quantiles for 95% and 99.8% (two-sided), defined once.
* :func:`standard_error`: one standard error per published figure, one rule for every measure:
  DfE's published 95% confidence interval where there is one (half-width / 1.96); for percentages the
  binomial error with one success and one failure added (so 0% and 100% still carry noise); for a
  percentage-point gap to national other pupils the widest binomial (p = 50%: the group's own share
  is not in the row); for point scores the pupil-level standard deviation of the measure catalogue
  (:attr:`equity.measures.Measure.pupil_sd`, with its source) divided by sqrt(pupils).
* :func:`beyond_noise`: the one test of "bigger than its noise": |difference| > 1.96 x its standard
  error. Every change, gap-against-family and prediction verdict uses it.
* :func:`funnel_limits` and :func:`overdispersion`: control limits for funnel plots, with the
  between-school variance (DerSimonian-Laird) added to each school's sampling variance
  (Spiegelhalter's additive method, 2005) so that the limits allow for real differences between
  schools and flag only schools that stand out beyond them.
"""
from __future__ import annotations

import math

import numpy as np
import pandas as pd

from .measures import MEASURES

# --- noise, standard errors, funnel ------------------------------------------------------------------

Z95 = 1.959963984540054   # two-sided 95%
Z998 = 3.090232306167813  # two-sided 99.8%

NOISE_RULE = ("A difference or change counts as real (beyond noise) when it is more than 1.96 times its standard "
              "error (95%). Standard errors: DfE's published 95% confidence intervals where given (Progress 8, KS2 "
              "progress); binomial for percentages (one success and one failure added); for other scores the "
              "pupil-level spread of the measure divided by the square root of the number of pupils. The error of a "
              "gap or a change adds the variances of its parts (independent groups and cohorts).")


def base_measure(measure: str) -> str:
    return measure.removesuffix("_vs_national_other").removesuffix("_3yr")


def pupil_sd(measure: str) -> float:
    """Pupil-level standard deviation of a point-score measure (NaN for percentages and unknown measures)."""
    m = MEASURES.get(measure) or MEASURES.get(base_measure(measure))
    return float(m.pupil_sd) if m is not None and m.pupil_sd is not None else float("nan")


def se_from_ci(ci_low, ci_high):
    """Standard error from a published 95% interval: (upper - lower) / (2 x 1.96); NaN where none."""
    lo = np.asarray(ci_low, dtype="float64")
    hi = np.asarray(ci_high, dtype="float64")
    with np.errstate(invalid="ignore"):
        se = (hi - lo) / (2 * Z95)
    return np.where(np.isfinite(se) & (se > 0), se, np.nan)


def standard_error(measure: str, value, cohort, ci_low=None, ci_high=None):
    """Standard error of one published figure for one group (vectorised; NaN where the number of pupils
    is unknown or zero and no interval is published). See the module docstring for the rule."""
    value = np.asarray(value, dtype="float64")
    n = np.asarray(cohort, dtype="float64") * np.ones_like(value)
    unit = MEASURES[measure].unit if measure in MEASURES else "points"
    with np.errstate(invalid="ignore", divide="ignore"):
        if unit == "percent" and measure.endswith("_vs_national_other"):
            model = 100.0 * np.sqrt(0.25 / n)
        elif unit == "percent":
            p = (value / 100.0 * n + 1) / (n + 2)
            model = 100.0 * np.sqrt(p * (1 - p) / n)
        else:
            model = pupil_sd(measure) / np.sqrt(n)
        model = np.where(n > 0, model, np.nan)
    if ci_low is not None and ci_high is not None:
        ci = se_from_ci(ci_low, ci_high) * np.ones_like(value)
        return np.where(np.isfinite(ci), ci, model)
    return model


def combined_se(*ses):
    """Standard error of a sum or difference of independent figures: sqrt of the summed variances."""
    out = np.zeros_like(np.asarray(ses[0], dtype="float64"))
    for s in ses:
        out = out + np.asarray(s, dtype="float64") ** 2
    return np.sqrt(out)


def beyond_noise(difference, se):
    """True where |difference| > 1.96 x se (and se is known and positive). The one noise test."""
    d = np.asarray(difference, dtype="float64")
    s = np.asarray(se, dtype="float64")
    with np.errstate(invalid="ignore"):
        out = np.isfinite(d) & np.isfinite(s) & (s > 0) & (np.abs(d) > Z95 * s)
    return bool(out) if out.ndim == 0 else out


def noise_margin(se) -> float:
    """The half-width of the 95% noise band: 1.96 x se."""
    return Z95 * float(se)


def overdispersion(y, se, target: float) -> float:
    """Between-school variance tau² (DerSimonian-Laird method of moments): how much more schools differ than
    chance alone would make them. 0 when they differ no more than chance (or fewer than 3 schools)."""
    y, se = np.asarray(y, dtype="float64"), np.asarray(se, dtype="float64")
    ok = np.isfinite(y) & np.isfinite(se) & (se > 0)
    y, se = y[ok], se[ok]
    if len(y) < 3:
        return 0.0
    w = 1.0 / se ** 2
    q = float((w * (y - target) ** 2).sum())
    denom = float(w.sum() - (w ** 2).sum() / w.sum())
    return max(0.0, (q - (len(y) - 1)) / denom) if denom > 0 else 0.0


def funnel_limits(target: float, n, sd_unit: float, tau2: float = 0.0, z=(Z95, Z998)) -> pd.DataFrame:
    """Control limits target ± z x sqrt(sd_unit² / n + tau²) for each cohort size n (95% and 99.8%).

    ``sd_unit`` is the pupil-level standard deviation (sqrt(p(1-p)) x 100 for a percentage at the centre's
    proportion p). ``tau2`` is the between-school variance (:func:`overdispersion`; Spiegelhalter's additive
    allowance): with it, the limits stop narrowing towards zero width for large schools.
    """
    n = np.asarray(n, dtype="float64")
    with np.errstate(divide="ignore", invalid="ignore"):
        sd = np.sqrt(sd_unit ** 2 / n + tau2)
    return pd.DataFrame({"n": n, "lo95": target - z[0] * sd, "hi95": target + z[0] * sd,
                         "lo998": target - z[1] * sd, "hi998": target + z[1] * sd})


def weighted_mean(values, weights) -> float:
    """Pupil-weighted mean (NaN where there is no weight)."""
    v = np.asarray(values, dtype="float64")
    w = np.asarray(weights, dtype="float64")
    ok = np.isfinite(v) & np.isfinite(w) & (w > 0)
    return float((v[ok] * w[ok]).sum() / w[ok].sum()) if ok.any() else float("nan")


def finite(v) -> bool:
    """A real number (not None, NaN or pandas NA)."""
    try:
        return v is not None and not pd.isna(v) and math.isfinite(float(v))
    except (TypeError, ValueError):
        return False
