"""One home for the statistics the pages use.

Each function says what its number means. Pages and sentences call these; none re-derives them.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

Z95 = 1.959963984540054  # the two-sided 95% point of the normal distribution


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
