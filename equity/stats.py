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
* Models (random effects, shrinkage, Mahalanobis): :func:`random_effects_line` (a line allowing for
  real differences between schools, robust sandwich interval), :func:`shrink` (empirical-Bayes shrinkage
  of a figure picked for being extreme), :func:`mahalanobis_transform` (a distance that does not count
  correlated features twice).
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from equity.measures import MEASURES

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


# --- models: random effects, shrinkage, Mahalanobis ---------------------------------------------

def _design(x, k: int) -> np.ndarray:
    """Design matrix with an intercept: ``x`` None (intercept only), one column or a 2-D array."""
    if x is None:
        return np.ones((k, 1))
    x = np.asarray(x, dtype=float)
    return np.column_stack([np.ones(k), x.reshape(k, -1)])


def between_variance(y, v, x=None) -> float:
    """Between-unit variance tau² by the method of moments (DerSimonian-Laird; for a regression
    on ``x``, its generalisation to meta-regression, Raudenbush 2009).

    ``y`` are the units' results, ``v`` their sampling variances (standard error squared). tau²
    is how much the units' *true* results differ (beyond what the line predicts, when ``x`` is
    given) once sampling noise is taken out: Q = sum w_i r_i² with w = 1/v and r the residuals of
    the line fitted with weights w; tau² = (Q - (k - p)) / (sum w - trace((X'WX)^-1 X'W²X)),
    set to 0 when negative (the units differ no more than noise alone would make them).
    """
    y, v = np.asarray(y, dtype=float), np.asarray(v, dtype=float)
    k = len(y)
    X = _design(x, k)
    p = X.shape[1]
    if k <= p:
        return float("nan")
    w = 1.0 / v
    XtW = X.T * w
    A = XtW @ X
    beta = np.linalg.solve(A, XtW @ y)
    r = y - X @ beta
    q = float((w * r ** 2).sum())
    c = float(w.sum() - np.trace(np.linalg.solve(A, (X.T * w ** 2) @ X)))
    return max(0.0, (q - (k - p)) / c) if c > 0 else 0.0


@dataclass
class RandomEffectsLine:
    """A straight line fitted across units (schools) allowing for real differences between them.

    Model: y_i = intercept + slope x_i + u_i + e_i, where u_i (variance ``tau2``) is the unit's
    real difference from the line and e_i (variance v_i, known) its sampling noise. Each unit is
    weighted 1 / (v_i + tau2): a large school counts more than a small one, but not without limit,
    because its real difference from the line does not shrink with its size.

    ``cov`` is the robust (HC1 sandwich) covariance of (intercept, slope): it stays honest when the
    variances assumed are wrong. ``cov_model`` is the model-based one, for comparison.
    ``explained`` is the share of the real between-unit variance the line accounts for:
    (tau2_null - tau2) / tau2_null, with tau2_null the between-unit variance before ``x`` is used
    (0 when the line explains nothing). ``r2`` is the weighted R² of the fit (it counts noise too,
    so it is lower). ``noise_share`` is the share of the units' total spread that is sampling noise.
    """
    intercept: float
    slope: float
    tau2: float
    tau2_null: float
    cov: np.ndarray = field(repr=False)
    cov_model: np.ndarray = field(repr=False)
    weights: np.ndarray = field(repr=False)
    n: int
    explained: float
    r2: float
    noise_share: float

    @property
    def slope_se(self) -> float:
        """Robust standard error of the slope."""
        return math.sqrt(self.cov[1, 1])

    @property
    def slope_se_model(self) -> float:
        return math.sqrt(self.cov_model[1, 1])

    def predict(self, x) -> np.ndarray:
        return self.intercept + self.slope * np.asarray(x, dtype=float)

    def fit_variance(self, x) -> np.ndarray:
        """Variance of the line's value at each x (robust), for intervals around a prediction."""
        X = _design(x, len(np.atleast_1d(x)))
        return np.einsum("ij,jk,ik->i", X, self.cov, X)


def sandwich_cov(X: np.ndarray, w: np.ndarray, resid: np.ndarray) -> np.ndarray:
    """HC1 sandwich covariance of weighted least-squares coefficients:
    (X'WX)^-1 X'W diag(r²) W X (X'WX)^-1 * k / (k - p)."""
    k, p = X.shape
    bread = np.linalg.inv((X.T * w) @ X)
    meat = (X.T * (w * resid) ** 2) @ X
    return bread @ meat @ bread * (k / max(k - p, 1))


def random_effects_line(x, y, v) -> RandomEffectsLine:
    """Fit :class:`RandomEffectsLine` of ``y`` on ``x`` with sampling variances ``v``."""
    x, y, v = (np.asarray(a, dtype=float) for a in (x, y, v))
    k = len(y)
    tau2 = between_variance(y, v, x)
    tau2_null = between_variance(y, v)
    w = 1.0 / (v + tau2)
    X = _design(x, k)
    XtW = X.T * w
    A = XtW @ X
    beta = np.linalg.solve(A, XtW @ y)
    r = y - X @ beta
    ybar = float(np.average(y, weights=w))
    ss_tot = float((w * (y - ybar) ** 2).sum())
    total = float(np.var(y, ddof=1)) if k > 1 else float("nan")
    return RandomEffectsLine(
        intercept=float(beta[0]), slope=float(beta[1]), tau2=tau2, tau2_null=tau2_null,
        cov=sandwich_cov(X, w, r), cov_model=np.linalg.inv(A), weights=w, n=k,
        explained=max(0.0, (tau2_null - tau2) / tau2_null) if tau2_null > 0 else 0.0,
        r2=1 - float((w * r ** 2).sum()) / ss_tot if ss_tot > 0 else float("nan"),
        noise_share=min(1.0, float(np.mean(v)) / total) if total and total > 0 else float("nan"))


def shrink(value, se, prior, tau2: float, prior_se=0.0) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Empirical-Bayes shrinkage of each unit's result toward its ``prior`` (for example its
    family's mean).

    reliability = tau2 / (tau2 + se²): the share of a unit's difference from the prior that is
    likely real rather than noise. Returns (shrunk value = prior + reliability x (value - prior),
    its standard error, reliability). The standard error is sqrt(reliability x se² +
    (1 - reliability)² x prior_se²): the unit's own noise, shrunk, plus the uncertainty of the
    prior it is pulled toward. A small school's extreme result moves most; this is what makes a
    school picked *because* its result is extreme look less extreme, as its next result is likely
    to (regression to the mean).
    """
    value, se, prior = (np.asarray(a, dtype=float) for a in (value, se, prior))
    prior_se = np.broadcast_to(np.asarray(prior_se, dtype=float), value.shape)
    with np.errstate(invalid="ignore", divide="ignore"):
        rel = np.where(se > 0, tau2 / (tau2 + se ** 2), 1.0) if tau2 > 0 else np.zeros_like(se)
    return prior + rel * (value - prior), np.sqrt(rel * se ** 2 + (1 - rel) ** 2 * prior_se ** 2), rel


def mahalanobis_matrix(corr: np.ndarray, weights) -> np.ndarray:
    """The matrix M = W^½ R^-1 W^½ of a weighted Mahalanobis distance on z-scores:
    d² = (z_a - z_b)' M (z_a - z_b), with R the correlation matrix of the variables across the
    units and W the (normalised) user weights on the diagonal. With uncorrelated variables it is
    the weighted Euclidean distance; where two variables move together (prior attainment and
    % disadvantaged), the shared part is counted once, not twice."""
    s = np.sqrt(np.asarray(weights, dtype=float))
    return (s[:, None] * np.linalg.inv(np.asarray(corr, dtype=float))) * s[None, :]


def mahalanobis_transform(Z: np.ndarray, corr: np.ndarray, weights) -> np.ndarray:
    """Rows of z-scores mapped so that plain Euclidean distance between rows is the weighted
    Mahalanobis distance of :func:`mahalanobis_matrix` (Z @ L, with M = L L' by Cholesky); a
    k-d tree on the result finds Mahalanobis-nearest units."""
    L = np.linalg.cholesky(mahalanobis_matrix(corr, weights))
    return np.asarray(Z, dtype=float) @ L
