"""Families of schools: schools with a similar intake that do not compete for the same pupils.

The method (a choice of ours, stated on screen; see docs/DOMAIN.md "Families of schools"):

1. **Pool.** One phase and one year at a time: for KS4 the secondary and all-through schools with
   KS4 context that year, for KS2 the schools with KS2 context. Only mainstream state-funded schools
   by default (special and independent schools are left out: their intakes are not comparable and
   independent schools publish no context figures).
2. **Variables.** The cohort's prior attainment (KS4: the KS2 score of the pupils; KS2: their KS1
   score), % disadvantaged, % with English as an additional language, % with special educational
   needs, and, when the database holds an ``lsoa`` table with ``idaci_score``, the deprivation of
   the school's own neighbourhood (IDACI of its LSOA; off by default, because a school's LSOA is
   not its intake). Each variable is turned into a z-score within the pool and year.
3. **Missing values.** We do not impute. A school missing a variable that is in use gets no family
   and is offered to no family, and the page lists how many and why: putting a school at the
   average of a variable it lacks would pair it with schools it may not resemble. A variable known
   for fewer than half the pool in a year (KS2 SEN in 2018/19, for example) is left out for that
   year instead, and that is stated.
4. **Distance.** A weighted Mahalanobis distance on the z-scores, with the weights scaled to sum
   to 1: ``distance² = d' W^½ R^-1 W^½ d``, d the difference of the two schools' z-scores, W the
   weights and R the correlation matrix of the variables across the pool's schools
   (:func:`equity.stats.mahalanobis_matrix`). Prior attainment and % disadvantaged move together
   (correlation about -0.6 among secondary schools): a plain weighted distance would count that
   shared part, deprivation, twice. With uncorrelated variables this is the weighted root-mean-square
   difference in standard deviations (0 = identical context).
5. **Family.** A school's family is its ``size`` nearest schools by that distance (12-20, default
   20), from anywhere in England (across LA boundaries), **leaving out every school within the
   competition radius** (straight-line km between school locations, default 5 km; see
   :data:`DEFAULT_RADIUS_KM`). Where either school has no location at all, the distance cannot be
   measured, so schools in the same LA are treated as competitors and left out instead.
   Ties are broken by URN, so the result is deterministic. Locations: the school's postcode
   centroid; else the same postcode's centroid held for another school; else its predecessor's
   (academy conversions keep their site); else its LSOA centroid where the build adds one.
6. **Closeness.** Each member is rated *very close*, *close* or *fair* by the thirds of all
   member distances in all families at the same settings.
7. **Validation.** How much a disadvantaged outcome varies within families compared with across
   all schools, and how much of it the family median explains, for the chosen measure and key
   stage (:func:`validation`, :func:`validation_table`); where families explain little (KS2
   results, for example), the pages say so.

All families are computed at once with a k-d tree on the z-scores mapped so that Euclidean distance
is the Mahalanobis distance (:func:`equity.stats.mahalanobis_transform`; scipy ``cKDTree``),
then filtered by the radius with a haversine distance on the candidates (well under a second for
the ~3,300 secondary schools of England; ``bench/families_timing.py`` measures it).
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
from scipy.spatial import cKDTree

from equity.cache import per_build, per_content
from equity import breaks, db, stats, years as yrs
from equity.measures import FAMILY_MEASURES, MEASURES
from equity.words import fmt, fmt_diff
from equity.safe_text import html

# ---- constants ---------------------------------------------------------------------------------

VARIABLES = ("prior_attainment", "pct_disadvantaged", "pct_eal", "pct_sen", "idaci")
LABELS = {
    "prior_attainment": "Prior attainment of the cohort",
    "pct_disadvantaged": "% disadvantaged",
    "pct_eal": "% English as an additional language",
    "pct_sen": "% special educational needs",
    "idaci": "Deprivation of the school's neighbourhood (IDACI of its LSOA)",
}
SHORT_LABELS = {"prior_attainment": "Prior attainment", "pct_disadvantaged": "% disadvantaged",
                "pct_eal": "% EAL", "pct_sen": "% SEN", "idaci": "Neighbourhood IDACI"}
IN_TEXT = {"prior_attainment": "prior attainment", "pct_disadvantaged": "% disadvantaged", "pct_eal": "% EAL",
           "pct_sen": "% SEN", "idaci": "neighbourhood IDACI"}
# Prior attainment and home background carry the most weight (the Greater Manchester families were
# built "on the basis of the prior attainment of their students and their socio-economic home
# backgrounds"); EAL and SEN count half. IDACI describes the school's street, not its pupils: off.
DEFAULT_WEIGHTS = {"prior_attainment": 1.0, "pct_disadvantaged": 1.0, "pct_eal": 0.5, "pct_sen": 0.5, "idaci": 0.0}
DEFAULT_SIZE = 20
MIN_SIZE, MAX_SIZE = 12, 20
# 5 km: the statutory walking distance beyond which an LA must provide free transport is 3 miles
# (4.8 km) for pupils aged 8 and over, so most pupils of a school live within about 5 km of it and
# two schools closer than that draw on overlapping neighbourhoods. Beyond it, in most of England,
# two schools do not compete for the same pupils. The user can change it (0-50 km).
DEFAULT_RADIUS_KM = 5.0
MAX_RADIUS_KM = 50.0
PHASES = {4: ("secondary", "all-through"), 2: ("primary", "all-through")}
MIN_COVERAGE = 0.5  # a variable known for fewer than this share of the pool is left out that year
MIN_POOL = 2 * MIN_SIZE  # a year needs at least this many schools with the variables to offer families
CLOSENESS = ("very close", "close", "fair")
MIN_VALIDATION_SCHOOLS = 30  # fewer schools with a figure and a family: too few to say how much families explain

# Pupil-level standard deviations: a field of the measure catalogue (equity.measures, with its source); the
# standard error and the noise test are equity.stats'.
PUPIL_SD = {k: m.pupil_sd for k, m in MEASURES.items() if m.pupil_sd is not None}
Z95 = stats.Z95


class FamilyUnavailable(LookupError):
    """A school has no family at these settings; ``reason`` says why in plain words."""

    def __init__(self, urn: int, reason: str):
        self.urn, self.reason = urn, reason
        super().__init__(f"URN {urn}: {reason}")


# ---- helpers -----------------------------------------------------------------------------------

def _key(path) -> str:
    """The database a cached helper reads, spelt one way (the cache adds its build)."""
    return str(Path(path).resolve() if path else db.default_path())


def _weights(weights: dict | None) -> tuple[tuple[str, float], ...]:
    w = dict(DEFAULT_WEIGHTS)
    if weights:
        unknown = set(weights) - set(VARIABLES)
        if unknown:
            raise ValueError(f"unknown variables {sorted(unknown)}; choose from {list(VARIABLES)}")
        w.update({k: float(v) for k, v in weights.items() if v is not None})
    if any(v < 0 or not math.isfinite(v) for v in w.values()):
        raise ValueError("weights must be zero or positive numbers")
    return tuple((v, w[v]) for v in VARIABLES)


def _check(size: int, radius_km: float) -> None:
    if not MIN_SIZE <= int(size) <= MAX_SIZE:
        raise ValueError(f"a family has {MIN_SIZE} to {MAX_SIZE} members (got {size})")
    if not 0 <= float(radius_km) <= MAX_RADIUS_KM:
        raise ValueError(f"the competition radius is 0 to {MAX_RADIUS_KM:g} km (got {radius_km})")


def haversine_km(lat1, lon1, lat2, lon2):
    """Great-circle distance in km between points given in degrees (numpy arrays broadcast)."""
    lat1, lon1, lat2, lon2 = (np.radians(np.asarray(a, dtype=float)) for a in (lat1, lon1, lat2, lon2))
    a = np.sin((lat2 - lat1) / 2) ** 2 + np.cos(lat1) * np.cos(lat2) * np.sin((lon2 - lon1) / 2) ** 2
    return 2 * 6371.0088 * np.arcsin(np.sqrt(np.clip(a, 0, 1)))


# ---- data --------------------------------------------------------------------------------------

@per_build(maxsize=16)
def _context_cached(key_stage: int, start_year: int, path: str) -> pd.DataFrame:
    df = db.query("families/context", {"key_stage": key_stage, "start_year": start_year}, path=path)
    df["idaci"] = np.nan
    cols = set(db.query("families/lsoa_columns", path=path).column_name.str.lower())
    if "idaci_score" in cols:
        lsoa = db.query("families/lsoa_idaci", path=path)
        lsoa.columns = [c.lower() for c in lsoa.columns]
        code = next((c for c in ("lsoa11", "lsoa11cd", "lsoa_code", "lsoa") if c in lsoa.columns), None)
        if code:
            scores = lsoa.dropna(subset=[code]).drop_duplicates(code).set_index(code)["idaci_score"]
            df["idaci"] = pd.to_numeric(df["lsoa11"].map(scores), errors="coerce")
    return df


def idaci_available(path=None) -> bool:
    """Whether the database holds LSOA deprivation (an ``lsoa`` table with ``idaci_score``)."""
    return "idaci_score" in set(db.query("families/lsoa_columns", path=path).column_name.str.lower())


def context(key_stage: int = 4, start_year: int | None = None, path=None) -> pd.DataFrame:
    """Every school with context data in the year (before the pool filter): one row per URN with
    name, LA, phase, type flags, location (``lat``, ``lon``, ``location_source``) and the raw
    context variables (prior attainment on the year's own scale, percentages 0-100)."""
    year = default_year(key_stage, path) if start_year is None else int(start_year)
    return _context_cached(int(key_stage), year, _key(path)).copy()


@per_build(maxsize=8)
def _years_cached(key_stage: int, path: str) -> pd.DataFrame:
    return db.query("families/years", {"key_stage": key_stage}, path=path)


def family_years(key_stage: int = 4, path=None) -> list[int]:
    """Start years (newest first) with enough schools carrying context data to build families:
    KS4 2023/24 covers all of England, KS4 2016/17-2018/19 and KS2 only the counties we hold."""
    y = _years_cached(int(key_stage), _key(path))
    ok = y[(y.with_prior_attainment >= MIN_POOL) & (y.with_pct_disadvantaged >= MIN_POOL)]
    return [int(v) for v in ok.start_year]


def default_year(key_stage: int = 4, path=None) -> int:
    """The latest year with context data for the key stage (KS4: 2023/24, all of England)."""
    years = family_years(key_stage, path)
    if not years:
        raise LookupError(f"no KS{key_stage} context data in the database")
    return years[0]


def _family_year(key_stage: int, start_year: int | None, path) -> int:
    """The year to build families on: the default, or ``start_year`` if it has context data."""
    if start_year is None:
        return default_year(key_stage, path)
    if int(start_year) not in family_years(key_stage, path):
        have = ", ".join(yrs.label(y) for y in sorted(family_years(key_stage, path)))
        raise LookupError(f"no KS{key_stage} context data to build families for {yrs.label(int(start_year))} "
                          f"(years with data: {have or 'none'})")
    return int(start_year)


def resolve_urn(urn: int, *, key_stage: int = 4, start_year: int | None = None, path=None) -> int:
    """The URN under which a school has context data in the year, following predecessor and
    successor links (academy conversions, mergers; up to four steps, nearest first, ties by URN).

    A school that became an academy in 2020 has its old URN in 2017/18 data and its new one in
    2023/24: either URN finds it. Returns ``urn`` itself when it has data or nothing better is found.
    """
    urn = int(urn)
    year = default_year(key_stage, path) if start_year is None else int(start_year)
    links = db.query("families/lineage", {"urn": urn, "key_stage": int(key_stage), "start_year": year}, path=path)
    hit = links[links.has_context.astype(bool)]
    return int(hit.urn.iloc[0]) if not hit.empty else urn


# ---- the context space -------------------------------------------------------------------------

@dataclass
class Space:
    """The standardised context space of one pool: who is in it, who is left out and why."""
    key_stage: int
    start_year: int
    schools: pd.DataFrame  # schools with a family, sorted by URN, raw variables + z_<var>
    excluded: pd.DataFrame  # urn, name, la_code, reason: schools of the phase left out
    variables: tuple[str, ...]  # variables in use (weight > 0 and known for enough schools)
    weights: dict  # the user's weights for the variables in use
    normalised: dict  # the same scaled to sum to 1
    dropped: dict  # variable -> why it is not used this year
    means: dict
    sds: dict
    X: np.ndarray = field(repr=False)  # z-scores mapped so Euclidean distance = weighted Mahalanobis, rows as schools
    corr: np.ndarray = field(default=None, repr=False)  # correlations of the variables in use across the pool


@per_build(maxsize=32)
def _space_cached(key_stage: int, start_year: int, weights: tuple, include_special: bool,
                  include_independent: bool, path: str) -> Space:
    ctx = _context_cached(key_stage, start_year, path)
    in_phase = ctx.phase.isin(PHASES[key_stage])
    if key_stage == 2:  # a school with KS2 results is in the KS2 pool even if its phase is unknown
        in_phase |= ctx.phase.isna()
    pool = ctx[in_phase].copy()
    reasons = pd.Series("", index=pool.index, dtype=object)
    special = pool.is_special.astype(bool) & ~pool.is_independent.astype(bool)
    if not include_special:
        reasons[special] = "special school (left out by default)"
    if not include_independent:
        reasons[(reasons == "") & pool.is_independent.astype(bool)] = "independent school (left out by default)"
    other = ~pool.is_mainstream.astype(bool) & ~special & ~pool.is_independent.astype(bool)
    reasons[(reasons == "") & other] = "not a mainstream school (college, UTC or similar type we cannot place)"
    eligible = reasons == ""

    # Coverage is judged among the schools with any context figure that year (2018/19 KS4 context
    # figures exist for Surrey only, while the school list covers England).
    has_any = pool[[v for v in VARIABLES if v != "idaci"]].notna().any(axis=1)
    reasons[eligible & ~has_any] = f"no context figures for {yrs.label(start_year)}"
    eligible = reasons == ""
    w = dict(weights)
    variables, dropped = [], {}
    n_elig = int(eligible.sum())
    for v in VARIABLES:
        if w[v] <= 0:
            continue
        known = int(pool.loc[eligible, v].notna().sum())
        if v == "idaci" and known == 0:
            dropped[v] = "no LSOA deprivation in this database (or no school LSOA codes)"
        elif n_elig and known < MIN_COVERAGE * n_elig:
            dropped[v] = (f"known for only {known:,} of {n_elig:,} schools in {yrs.label(start_year)}, "
                          "so left out for this year")
        else:
            variables.append(v)
    if not variables:
        raise ValueError("at least one variable with data must have a positive weight")
    for v in variables:
        miss = eligible & (reasons == "") & pool[v].isna()
        reasons[miss] = f"no {IN_TEXT[v]} figure"
    # several missing variables: name them all
    if len(variables) > 1:
        nmiss = pool.loc[eligible, variables].isna().sum(axis=1)
        multi = nmiss[nmiss > 1].index
        for i in multi:
            reasons[i] = "no " + ", ".join(IN_TEXT[v] for v in variables if pd.isna(pool.at[i, v])) + " figures"
    keep = pool[reasons == ""].sort_values("urn").reset_index(drop=True)
    excluded = pool.loc[reasons != "", ["urn", "name", "la_code", "la_name"]].assign(reason=reasons[reasons != ""])
    means = {v: float(keep[v].mean()) for v in variables}
    sds = {v: float(keep[v].std(ddof=0)) or 1.0 for v in variables}
    total = sum(w[v] for v in variables)
    normalised = {v: w[v] / total for v in variables}
    for v in variables:
        keep[f"z_{v}"] = (keep[v] - means[v]) / sds[v]
    Z = np.column_stack([keep[f"z_{v}"].to_numpy(float) for v in variables])
    corr = _correlations(Z)
    X = stats.mahalanobis_transform(Z, corr, [normalised[v] for v in variables])
    return Space(key_stage, start_year, keep, excluded.sort_values("urn").reset_index(drop=True), tuple(variables),
                 {v: w[v] for v in variables}, normalised, dropped, means, sds, X, corr)


def _correlations(Z: np.ndarray) -> np.ndarray:
    """Correlation matrix of the z-score columns; a variable with no spread counts as uncorrelated,
    and a nearly singular matrix is pulled slightly toward the identity so it can be inverted."""
    k = Z.shape[1]
    if k < 2 or len(Z) < 3:
        return np.eye(k)
    with np.errstate(invalid="ignore", divide="ignore"):
        R = np.corrcoef(Z, rowvar=False)
    R = np.where(np.isfinite(R), R, 0.0)
    np.fill_diagonal(R, 1.0)
    if np.linalg.eigvalsh(R).min() < 1e-6:
        R = 0.99 * R + 0.01 * np.eye(k)
    return R


def space(*, weights: dict | None = None, key_stage: int = 4, start_year: int | None = None,
          include_special: bool = False, include_independent: bool = False, path=None) -> Space:
    """The standardised context space for a phase and year (see :class:`Space`)."""
    year = _family_year(key_stage, start_year, path)
    return _space_cached(int(key_stage), year, _weights(weights), bool(include_special),
                         bool(include_independent), _key(path))


# ---- all families at once ----------------------------------------------------------------------

def _nearest(X: np.ndarray, lat: np.ndarray, lon: np.ndarray, la: np.ndarray, urns: np.ndarray,
             size: int, radius_km: float, rows: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """For every row of X (or only ``rows``): the ``size`` nearest other rows outside the radius.

    Returns (members, distance, km), each (n, size); members are row indices, -1 where a family
    has fewer members. Rows are taken in order of distance, ties by URN. A k-d tree gives the
    nearest k candidates; rows whose family is not complete among them (or whose last member ties
    with the last candidate) are asked again with a larger k.
    """
    n = len(X)
    members = np.full((n, size), -1, dtype=np.int64)
    dist = np.full((n, size), np.nan)
    km_out = np.full((n, size), np.nan)
    if n < 2:
        return members, dist, km_out
    tree = cKDTree(X)
    todo = np.arange(n) if rows is None else np.asarray(rows, dtype=np.int64)
    k = min(n, size * 3 + 1)
    while len(todo):
        d, idx = tree.query(X[todo], k=k)
        d, idx = d.reshape(len(todo), -1), idx.reshape(len(todo), -1)
        order = np.lexsort((urns[idx], d), axis=-1)  # by distance, then URN
        d, idx = np.take_along_axis(d, order, 1), np.take_along_axis(idx, order, 1)
        rows = todo[:, None]
        km = haversine_km(lat[rows], lon[rows], lat[idx], lon[idx])
        unknown = np.isnan(km)
        ok = (idx != rows) & np.where(unknown, la[idx] != la[rows], km >= radius_km)
        count = np.cumsum(ok, axis=1)
        take = ok & (count <= size)
        enough = count[:, -1] >= size
        # the size-th member must be strictly nearer than the last candidate, or a tie may be cut
        last_d = np.where(take, d, -np.inf).max(axis=1)
        done = (enough & (last_d < d[:, -1])) | (k >= n)
        r, c = np.nonzero(take & done[:, None])
        slot = count[r, c] - 1
        members[todo[r], slot] = idx[r, c]
        dist[todo[r], slot] = d[r, c]
        km_out[todo[r], slot] = km[r, c]
        todo = todo[~done]
        k = min(n, k * 4)
    return members, dist, km_out


@per_build(maxsize=32)
def _families_cached(key_stage: int, start_year: int, weights: tuple, size: int, radius_km: float,
                     include_special: bool, include_independent: bool,
                     path: str) -> tuple[pd.DataFrame, tuple[float, float]]:
    """Every family link at these settings, and the closeness thresholds (the thirds of all member distances)."""
    sp = _space_cached(key_stage, start_year, weights, include_special, include_independent, path)
    s = sp.schools
    urns = s.urn.to_numpy(np.int64)
    members, dist, km = _nearest(sp.X, s.lat.to_numpy(float), s.lon.to_numpy(float),
                                 s.la_code.fillna("").to_numpy(object), urns, size, radius_km)
    r, c = np.nonzero(members >= 0)
    out = pd.DataFrame({"urn": urns[r], "member_urn": urns[members[r, c]], "rank": c + 1,
                        "distance": dist[r, c], "km": km[r, c]})
    if len(out):
        q1, q2 = np.quantile(out.distance, [1 / 3, 2 / 3])
    else:
        q1 = q2 = np.nan
    out["closeness"] = np.where(out.distance <= q1, CLOSENESS[0], np.where(out.distance <= q2, CLOSENESS[1], CLOSENESS[2]))
    return out, (float(q1), float(q2))


def all_families(*, size: int = DEFAULT_SIZE, radius_km: float = DEFAULT_RADIUS_KM, weights: dict | None = None,
                 key_stage: int = 4, start_year: int | None = None, include_special: bool = False,
                 include_independent: bool = False, path=None) -> pd.DataFrame:
    """Every school's family at once: a long DataFrame with one row per (school, member).

    Columns: ``urn`` (the school), ``member_urn``, ``rank`` (1 = nearest in context), ``distance``
    (weighted Mahalanobis distance of the z-scores, see the module's method), ``km`` (straight-line
    distance between the two schools; NaN where either has no location), ``closeness``.
    The settings and the closeness thresholds are :func:`method`'s.
    """
    _check(size, radius_km)
    year = _family_year(key_stage, start_year, path)
    args = (int(key_stage), year, _weights(weights), int(size), float(radius_km), bool(include_special),
            bool(include_independent), _key(path))
    return _families_cached(*args)[0].copy()


def family_members(urns, *, size: int = DEFAULT_SIZE, radius_km: float = DEFAULT_RADIUS_KM,
                   weights: dict | None = None, key_stage: int = 4, start_year: int | None = None,
                   include_special: bool = False, include_independent: bool = False, path=None) -> pd.DataFrame:
    """The families of some schools only: the rows of :func:`all_families` for these URNs (``urn``,
    ``member_urn``, ``rank``, ``distance``, ``km``; no closeness band, which is relative to every
    family). The same search, asked for fewer schools: an LA's schools cost a fraction of England's."""
    _check(size, radius_km)
    year = _family_year(key_stage, start_year, path)
    sp = _space_cached(int(key_stage), year, _weights(weights), bool(include_special), bool(include_independent),
                       _key(path))
    s = sp.schools
    all_urns = s.urn.to_numpy(np.int64)
    rows = np.flatnonzero(np.isin(all_urns, np.asarray(list(urns), dtype=np.int64)))
    members, dist, km = _nearest(sp.X, s.lat.to_numpy(float), s.lon.to_numpy(float),
                                 s.la_code.fillna("").to_numpy(object), all_urns, int(size), float(radius_km), rows)
    r, c = np.nonzero(members >= 0)
    return pd.DataFrame({"urn": all_urns[r], "member_urn": all_urns[members[r, c]], "rank": c + 1,
                         "distance": dist[r, c], "km": km[r, c]})


# ---- the method in words -----------------------------------------------------------------------

def _method(key_stage, start_year, weights, size, radius_km, include_special, include_independent, key) -> dict:
    sp = _space_cached(key_stage, start_year, weights, include_special, include_independent, key)
    fam, thresholds = _families_cached(key_stage, start_year, weights, size, radius_km, include_special,
                                       include_independent, key)
    counts = fam.groupby("urn").size() if len(fam) else pd.Series(dtype=int)
    small = int((counts < MIN_SIZE).sum()) + int(len(sp.schools) - len(counts))
    return {
        "key_stage": key_stage, "start_year": start_year, "academic_year": yrs.label(start_year),
        "variables": list(sp.variables), "weights": dict(sp.weights), "normalised_weights": dict(sp.normalised),
        "dropped_variables": dict(sp.dropped), "size": size, "radius_km": radius_km,
        "include_special": include_special, "include_independent": include_independent,
        "schools": int(len(sp.schools)), "las": int(sp.schools.la_code.nunique()),
        "excluded": int(len(sp.excluded)),
        "excluded_reasons": {k: int(v) for k, v in sp.excluded.reason.value_counts().items()},
        "no_location": int(sp.schools.lat.isna().sum()),
        "location_sources": {str(k): int(v) for k, v in sp.schools.location_source.fillna("none").value_counts().items()},
        "smaller_families": small,
        "means": dict(sp.means), "sds": dict(sp.sds),
        "correlations": {f"{a}~{b}": round(float(sp.corr[i, j]), 3) for i, a in enumerate(sp.variables)
                         for j, b in enumerate(sp.variables) if i < j},
        "closeness_thresholds": thresholds,
        "idaci_available": bool(sp.schools.idaci.notna().any()) if "idaci" in sp.schools else False,
        "prior_scale": str(sp.schools.prior_scale.dropna().iloc[0]) if sp.schools.prior_scale.notna().any() else None,
    }


@per_build(maxsize=32)
def method(*, size: int = DEFAULT_SIZE, radius_km: float = DEFAULT_RADIUS_KM, weights: dict | None = None,
           key_stage: int = 4, start_year: int | None = None, include_special: bool = False,
           include_independent: bool = False, path=None) -> dict:
    """The method at these settings, as data: variables and weights in use, variables dropped and
    why, pool size, schools left out and why, locations used, closeness thresholds."""
    _check(size, radius_km)
    year = _family_year(key_stage, start_year, path)
    return _method(int(key_stage), year, _weights(weights), int(size), float(radius_km), bool(include_special),
                   bool(include_independent), _key(path))


_LOCATION_WORDS = {"lsoa_centroid": "LSOA's population-weighted centroid (a rougher location)"}


def describe_method(m: dict) -> str:
    """The method in plain words (markdown), from :func:`method`'s dict."""
    used = ", ".join(f"{IN_TEXT[v]} (weight {m['weights'][v]:g})" for v in m["variables"])
    phase = "secondary and all-through schools" if m["key_stage"] == 4 else "schools with KS2 results"
    kinds = "mainstream state-funded " + phase
    if m["include_special"]:
        kinds += " and special schools"
    lines = [
        f"**How families are made ({m['academic_year']}, KS{m['key_stage']}).** Among {m['schools']:,} {kinds} "
        f"in {m['las']} LAs, each school's family is the {m['size']} schools whose intake is most like its own on "
        f"{used}. Each figure is first put on a common scale (how many standard deviations from the average "
        f"school), then the differences are combined with the weights into one *context distance* "
        f"(0 = the same intake; the larger, the less alike). Figures that move together count once, not twice: "
        f"the distance allows for their correlation across the schools (a Mahalanobis distance)"
        + (f"; for example prior attainment and % disadvantaged correlate at "
           f"{m['correlations']['prior_attainment~pct_disadvantaged']:+.2f}, so a difference in both is largely "
           f"one difference in deprivation." if "prior_attainment~pct_disadvantaged" in m.get("correlations", {})
           else "."),
        f"Schools less than **{m['radius_km']:g} km** away are never in a school's family, because they may "
        "compete for the same pupils; families are drawn from anywhere in England, across LA boundaries. "
        "Ties are broken by URN.",
    ]
    if m.get("closeness_thresholds") and all(np.isfinite(m["closeness_thresholds"])):
        q1, q2 = m["closeness_thresholds"]
        lines.append(f"A member is *very close* when its distance is at most {q1:.2f} (the nearest third of all "
                     f"family links), *close* up to {q2:.2f}, otherwise *fair*.")
    if m["excluded"]:
        why = "; ".join(f"{k}: {v:,}" for k, v in m["excluded_reasons"].items())
        lines.append(f"Left out ({m['excluded']:,} schools): {why}. We do not fill in missing figures: "
                     "a school placed at the average of a figure it lacks could be paired with schools unlike it.")
    if "idaci" not in m["variables"] and "idaci" not in m["dropped_variables"] and m.get("idaci_available"):
        lines.append("The deprivation of each school's own neighbourhood (IDACI of its LSOA) is available but off "
                     "by default (weight 0): a school's LSOA describes its street, not where its pupils live.")
    for v, why in m["dropped_variables"].items():
        lines.append(f"{LABELS[v]} is not used: {why}.")
    other_loc = {k: v for k, v in m["location_sources"].items() if k not in ("postcode", "none")
                 and not k.startswith("postcode (")}
    if other_loc:
        lines.append("Locations are postcode centroids, except: " + "; ".join(
            f"{v:,} at their {_LOCATION_WORDS.get(k, k)}" for k, v in other_loc.items()) + ".")
    if m["no_location"]:
        lines.append(f"{m['no_location']} schools have no location; for them, schools in the same LA are left out "
                     "instead of those within the radius.")
    if m["smaller_families"]:
        lines.append(f"{m['smaller_families']} schools have fewer than {MIN_SIZE} family members at these settings.")
    return "\n\n".join(lines)


# ---- one school's family -----------------------------------------------------------------------

_MEMBER_COLS = ["rank", "urn", "name", "la_code", "la_name", "distance", "closeness", "km", "lat", "lon",
                "location_source", "prior_attainment", "pct_disadvantaged", "pct_eal", "pct_sen", "idaci",
                "cohort", "type_group"]


@dataclass(frozen=True)
class FamilyResult:
    """A school's family (:func:`family`).

    ``members``: one row per member, nearest in context first, with rank (1 = nearest), urn, name,
    la_code (DfE 3-digit), la_name, distance (the context distance: 0 = the same intake, see the
    module's method), closeness ('very close', 'close', 'fair': thirds of all member distances),
    km (straight line from the school; NaN where either has no location), lat, lon,
    location_source, the raw context variables (prior attainment on the year's scale, percentages
    0-100), cohort (pupils in the year group) and type_group.
    """
    members: pd.DataFrame
    urn: int  # the URN the family was built for: ``requested_urn`` or the same school's URN that year (:func:`resolve_urn`)
    requested_urn: int  # the URN asked for
    school: dict  # the school's own row: name, LA, location, raw context variables (no z-scores)
    method: dict  # the method at these settings (:func:`method`)

    @property
    def closeness_thresholds(self) -> tuple[float, float]:
        """The largest distance rated 'very close' and the largest rated 'close' (thirds of all member distances)."""
        return self.method["closeness_thresholds"]


@per_build(maxsize=32)
def family(urn: int, *, size: int = DEFAULT_SIZE, radius_km: float = DEFAULT_RADIUS_KM, weights: dict | None = None,
           key_stage: int = 4, start_year: int | None = None, include_special: bool = False,
           include_independent: bool = False, path=None) -> FamilyResult:
    """A school's family: its members, nearest in context first (see :class:`FamilyResult`).
    Raises :class:`FamilyUnavailable` (with the reason) when the school has no family.
    """
    settings = dict(size=size, radius_km=radius_km, weights=weights, key_stage=key_stage, start_year=start_year,
                    include_special=include_special, include_independent=include_independent, path=path)
    fams = all_families(**settings)
    m = method(**settings)
    year = m["start_year"]
    used = resolve_urn(urn, key_stage=key_stage, start_year=year, path=path)
    sp = space(weights=weights, key_stage=key_stage, start_year=year, include_special=include_special,
               include_independent=include_independent, path=path)
    me = sp.schools[sp.schools.urn == used]
    if me.empty:
        why = sp.excluded[sp.excluded.urn == used]
        if not why.empty:
            reason = why.reason.iloc[0]
        else:
            ctx = _context_cached(int(key_stage), year, _key(path))
            row = ctx[ctx.urn == used]
            reason = (f"no KS{key_stage} context data for {yrs.label(year)}" if row.empty else
                      f"not a KS{key_stage} school (phase: {row.phase.iloc[0] or 'unknown'})")
        raise FamilyUnavailable(used, reason)
    rows = fams[fams.urn == used].drop(columns="urn").rename(columns={"member_urn": "urn"})
    out = rows.merge(sp.schools, on="urn", how="left").sort_values("rank")
    out = out[[c for c in _MEMBER_COLS if c in out.columns]].reset_index(drop=True)
    if "idaci" not in m["variables"] and out["idaci"].isna().all():
        out = out.drop(columns="idaci")
    return FamilyResult(out, urn=used, requested_urn=int(urn), method=m,
                        school=me.iloc[0].drop([c for c in me.columns if c.startswith("z_")]).to_dict())


# ---- outcomes ----------------------------------------------------------------------------------

@per_build(maxsize=64)
def _measure_years(key_stage: int, measure: str, path: str) -> tuple[int, ...]:
    df = db.query("families/measure_years", {"key_stage": key_stage, "measure": measure}, path=path)
    return tuple(int(y) for y in df.start_year)


@per_build(maxsize=32)
def measures_for(key_stage: int = 4, start_year: int | None = None, path=None) -> list[str]:
    """Measures with values for disadvantaged pupils in the year, headline measures first.
    (Cached per build: the query scans every school result of the year, and a page asks on every run.)"""
    year = default_year(key_stage, path) if start_year is None else int(start_year)
    have = set(db.query("families/measures", {"key_stage": int(key_stage), "start_year": year}, path=path).measure)
    order = [m for m in MEASURES if MEASURES[m].key_stage == key_stage]
    preferred = FAMILY_MEASURES[int(key_stage)]
    ranked = [m for m in preferred if m in have] + [m for m in order if m in have and m not in preferred]
    return ranked


def default_measure(key_stage: int = 4, start_year: int | None = None, path=None) -> str:
    """The outcome a family is judged on by default: for KS4 the gap between the school's
    disadvantaged pupils and national other pupils in Attainment 8 (the only KS4 outcome for every
    school in 2023/24, and the fairer yardstick), for KS2 RWM at the expected standard."""
    ms = measures_for(key_stage, start_year, path)
    if not ms:
        raise LookupError("no outcomes for disadvantaged pupils in that year")
    return ms[0]


def outcome_years(measure: str, key_stage: int = 4, start_year: int | None = None, span: int = 3, path=None) -> list[int]:
    """The year and up to ``span - 1`` earlier years of ``measure`` that can be pooled with it:
    consecutive years with data and no break in the series between them (newest first)."""
    year = default_year(key_stage, path) if start_year is None else int(start_year)
    have = set(_measure_years(int(key_stage), measure, _key(path)))
    out = [year] if year in have else []
    y = year
    while out and len(out) < span and (y - 1) in have and not breaks.breaks_between(y - 1, y, key_stage, measure):
        y -= 1
        out.append(y)
    return out


def standard_error(measure: str, value, cohort, ci_low=None, ci_high=None):
    """Standard error of a school's figure for a group: :func:`equity.stats.standard_error`."""
    return stats.standard_error(measure, value, cohort, ci_low, ci_high)


@per_build(maxsize=64)
def _outcomes_cached(key_stage: int, measure: str, years: tuple[int, ...], path: str) -> pd.DataFrame:
    return db.query("families/outcomes", {"key_stage": key_stage, "measure": measure, "years": list(years)},
                    path=path)


@dataclass(frozen=True)
class SchoolOutcomes:
    """Every school's result for disadvantaged pupils on one measure (:func:`school_outcomes`)."""
    table: pd.DataFrame  # one row per URN: value, cohort, se, n_years, years, other_value, status
    measure: str  # the measure (a key of equity.measures.MEASURES)
    years: list[int]  # the start years the values may come from, newest first (one year unless pooled)
    pooled: bool  # whether values are pooled over up to three comparable years


def school_outcomes(measure: str | None = None, *, key_stage: int = 4, start_year: int | None = None,
                    pooled: bool = False, path=None) -> SchoolOutcomes:
    """Every school's result for disadvantaged pupils on ``measure`` (``table``: one row per URN).

    ``value`` is the year's figure (``pooled=False``) or the mean over the year and up to two
    earlier comparable years weighted by the number of disadvantaged pupils (``pooled=True``;
    steadier for small schools). ``cohort`` = disadvantaged pupils (summed when pooled), ``se`` its
    standard error (see :func:`standard_error`), ``years`` the years used (e.g. '2016/17-2017/18'),
    ``other_value`` other pupils' figure in the same school (same years), ``status`` the reason when
    the year's value is missing (e.g. SUPP). Groups of fewer than 6 pupils never have a value.
    """
    year = default_year(key_stage, path) if start_year is None else int(start_year)
    measure = measure or default_measure(key_stage, year, path)
    use = outcome_years(measure, key_stage, year, 3 if pooled else 1, path) or [year]
    raw = _outcomes_cached(int(key_stage), measure, tuple(use), _key(path)).copy()
    raw["se"] = standard_error(measure, raw.value, raw.cohort, raw.ci_low, raw.ci_high)
    ok = raw[raw.value.notna() & raw.cohort.notna() & (raw.cohort.fillna(0) > 0)].copy()
    ok["n"] = ok.cohort.astype(float)
    ok["vn"] = ok.value * ok.n
    ok["sen2"] = (ok.se * ok.n) ** 2
    g = ok.groupby(["urn", "pupil_group"]).agg(vn=("vn", "sum"), n=("n", "sum"), sen2=("sen2", "sum"),
                                               first=("start_year", "min"), last=("start_year", "max"),
                                               n_years=("start_year", "nunique")).reset_index()
    g["value"] = g.vn / g.n
    g["se"] = np.sqrt(g.sen2) / g.n
    dis = g[g.pupil_group == "disadvantaged"].set_index("urn")
    oth = g[g.pupil_group == "other"].set_index("urn")
    status = raw[(raw.start_year == year) & (raw.pupil_group == "disadvantaged")].drop_duplicates("urn").set_index("urn").status
    urns = sorted(set(raw.urn))
    out = pd.DataFrame({"urn": urns})
    out["value"] = out.urn.map(dis.value)
    out["cohort"] = out.urn.map(dis.n)
    out["se"] = out.urn.map(dis.se)
    out["n_years"] = out.urn.map(dis.n_years)
    first, last = out.urn.map(dis["first"]), out.urn.map(dis["last"])
    out["years"] = [(yrs.label(int(a)) if a == b else f"{yrs.label(int(a))}-{yrs.label(int(b))}")
                    if pd.notna(a) else None for a, b in zip(first, last)]
    out["other_value"] = out.urn.map(oth.value)
    out["status"] = out.urn.map(status)
    return SchoolOutcomes(out, measure=measure, years=list(use), pooled=bool(pooled))


@dataclass(frozen=True)
class FamilyOutcomes:
    """A school and its family with their results for disadvantaged pupils (:func:`family_outcomes`).

    ``table``: one row for the school (``role`` 'this school', rank 0) and one per member
    ('family'), with the member columns of :class:`FamilyResult` and ``value`` (the measure for
    disadvantaged pupils), ``cohort`` (disadvantaged pupils), ``se`` (its standard error),
    ``years``, ``other_value`` (other pupils in the same school), ``status`` (why a value is
    missing), ``position`` (1 = best result for disadvantaged pupils among the school and its
    family; no value, no position) and ``vs_median`` (value minus the family median, in the
    measure's units).
    """
    table: pd.DataFrame
    family_median: float  # median of the members' values (the school itself not included); NaN when none has one
    members_with_value: int  # members with a value for the measure
    school_value: float  # the school's own value (NaN when it has none)
    measure: str  # the measure (a key of equity.measures.MEASURES)
    measure_label: str  # its label
    years: list[int]  # the start years the values may come from, newest first
    pooled: bool  # whether values are pooled over up to three comparable years
    urn: int  # the URN the family was built for (see :class:`FamilyResult`)
    requested_urn: int  # the URN asked for
    school: dict  # the school's own row (see :class:`FamilyResult`)
    method: dict  # the family method at these settings (:func:`method`)


@per_build(maxsize=32)
def family_outcomes(urn: int, measure: str | None = None, *, size: int = DEFAULT_SIZE,
                    radius_km: float = DEFAULT_RADIUS_KM, weights: dict | None = None, key_stage: int = 4,
                    start_year: int | None = None, pooled: bool = False, path=None) -> FamilyOutcomes:
    """The school and its family with their results for disadvantaged pupils (see :class:`FamilyOutcomes`)."""
    result = family(urn, size=size, radius_km=radius_km, weights=weights, key_stage=key_stage,
                    start_year=start_year, path=path)
    fam, m = result.members, result.method
    year = m["start_year"]
    measure = measure or default_measure(key_stage, year, path)
    so = school_outcomes(measure, key_stage=key_stage, start_year=year, pooled=pooled, path=path)
    res = so.table.set_index("urn")
    me = result.school
    head = pd.DataFrame([{**{c: me.get(c) for c in fam.columns if c in me}, "rank": 0, "distance": 0.0, "km": 0.0,
                          "closeness": "—"}])
    out = pd.concat([head.assign(role="this school"), fam.assign(role="family")], ignore_index=True)
    for c in ("value", "cohort", "se", "years", "other_value", "status"):
        out[c] = out.urn.map(res[c]) if len(res) else np.nan
    better = MEASURES[measure].higher_is_better
    out["position"] = out.value.rank(ascending=not better, method="min")
    members = out[out.role == "family"]
    median = float(members.value.median()) if members.value.notna().any() else float("nan")
    out["vs_median"] = out.value - median
    return FamilyOutcomes(out, family_median=median, members_with_value=int(members.value.notna().sum()),
                          school_value=out.value.iloc[0], measure=measure, measure_label=MEASURES[measure].label,
                          years=so.years, pooled=pooled, urn=result.urn, requested_urn=result.requested_urn,
                          school=me, method=m)


def outcome_phrase(measure: str) -> str:
    """The outcome in words, for sentences: "Progress 8 for disadvantaged pupils", or for DfE's
    gap measures "disadvantaged pupils' Attainment 8 minus national other pupils'"."""
    if measure == "att8_vs_national_other":
        return "disadvantaged pupils' Attainment 8 minus national other pupils'"
    if measure == "p8_vs_national_other":
        return "disadvantaged pupils' Progress 8 minus national other pupils'"
    return f"{MEASURES[measure].label} for disadvantaged pupils"




@dataclass(frozen=True)
class LearnFrom:
    """Family members to learn from (:func:`learn_from`).

    ``schools``: best first, with urn, name, la_name, closeness, distance, km, value, cohort, years,
    margin (member minus the reference, in the measure's units; positive = better even for measures
    where lower is better), se_diff (standard error of that difference), beyond_noise (the margin is
    more than 1.96 standard errors of the difference), why (a sentence). Empty when no member did better.
    """
    schools: pd.DataFrame
    reference: str  # what the members are compared with: 'this school' or 'the family median'
    reference_value: float  # its value (NaN when neither the school nor any member has one)
    measure: str  # the measure (a key of equity.measures.MEASURES)


@per_content(maxsize=32)
def learn_from(outcomes: FamilyOutcomes, top: int = 5) -> LearnFrom:
    """Who to learn from: family members whose disadvantaged pupils do better than the school's
    (or, when the school has no figure, better than the family median), best first.

    Takes :func:`family_outcomes`' result; see :class:`LearnFrom`.
    """
    measure = outcomes.measure
    better = MEASURES[measure].higher_is_better
    sign = 1 if better else -1
    table = outcomes.table
    me = table.iloc[0]
    fam = table[(table.role == "family") & table.value.notna()].copy()
    if pd.notna(me.value):
        ref, ref_se, ref_name = float(me.value), float(me.se) if pd.notna(me.se) else 0.0, "this school"
        ref_text = f"this school's {fmt(measure, ref)} ({int(me.cohort)} pupils)"
    else:
        ref = outcomes.family_median
        vals = fam.value.to_numpy(float)
        m = len(vals)
        ref_se = 1.2533 * float(np.std(vals, ddof=1)) / math.sqrt(m) if m > 1 else float("nan")
        ref_name = "the family median"
        ref_text = f"the family median of {fmt(measure, ref)} (this school has no published figure)"
    cols = ["urn", "name", "la_name", "closeness", "distance", "km", "value", "cohort", "years", "margin",
            "se_diff", "beyond_noise", "why"]
    if not np.isfinite(ref):
        return LearnFrom(pd.DataFrame(columns=cols), reference=ref_name, reference_value=ref, measure=measure)
    fam["margin"] = sign * (fam.value - ref)
    fam["se_diff"] = np.sqrt(fam.se.astype(float) ** 2 + ref_se ** 2)
    fam["beyond_noise"] = (fam.margin > 0) & stats.beyond_noise(fam.margin, fam.se_diff)
    fam = fam[fam.margin > 0].sort_values(["beyond_noise", "margin", "distance"], ascending=[False, False, True])
    fam = fam.head(top)
    label = outcome_phrase(measure)
    label = label[0].upper() + label[1:]
    whys = []
    for r in fam.itertuples():
        noise = "beyond noise" if r.beyond_noise else "within noise (it could be chance)"
        where = f"{r.km:.0f} km away in {r.la_name}" if pd.notna(r.km) else f"in {r.la_name}"
        whys.append(f"{label}: {fmt(measure, r.value)} in {r.years} "
                    f"({int(r.cohort)} pupils) against {ref_text}: {fmt_diff(measure, r.margin)} better, {noise}. "
                    f"Context {r.closeness} (distance {r.distance:.2f}), {where}.")
    fam["why"] = whys
    return LearnFrom(fam[cols].reset_index(drop=True), reference=ref_name, reference_value=ref, measure=measure)


# ---- validation --------------------------------------------------------------------------------

@per_build(maxsize=32)
def validation(measure: str | None = None, *, size: int = DEFAULT_SIZE, radius_km: float = DEFAULT_RADIUS_KM,
               weights: dict | None = None, key_stage: int = 4, start_year: int | None = None,
               pooled: bool = False, path=None) -> dict:
    """How well families group schools with similar results for disadvantaged pupils.

    * ``spread_ratio``: the mean over schools of the standard deviation of the outcome among the
      family's members, divided by the standard deviation across all schools in the pool. 1 means
      families are no more alike than schools picked at random; lower is better.
    * ``la_ratio``: the same for LAs (mean within-LA standard deviation / overall), the yardstick
      of comparing a school with its own LA.
    * ``r2``: the share of the variation in schools' outcomes explained by their family's median
      (squared correlation; the school itself is not in its family).
    Also ``overall_sd``, ``within_family_sd``, ``within_la_sd``, ``schools`` (with a value and at
    least 3 members with values), ``measure``, ``years``.
    """
    fams = all_families(size=size, radius_km=radius_km, weights=weights, key_stage=key_stage,
                        start_year=start_year, path=path)
    m = method(size=size, radius_km=radius_km, weights=weights, key_stage=key_stage, start_year=start_year, path=path)
    year = m["start_year"]
    measure = measure or default_measure(key_stage, year, path)
    so = school_outcomes(measure, key_stage=key_stage, start_year=year, pooled=pooled, path=path)
    res = so.table
    sp = space(weights=weights, key_stage=key_stage, start_year=year, path=path)
    vals = res.set_index("urn").value
    pool = sp.schools[["urn", "la_code"]].assign(value=lambda d: d.urn.map(vals)).dropna(subset=["value"])
    f = fams.assign(value=fams.member_urn.map(vals)).dropna(subset=["value"])
    g = f.groupby("urn").value.agg(["std", "median", "count"])
    g = g[g["count"] >= 3]
    g["own"] = g.index.map(vals)
    g = g.dropna(subset=["own"])
    overall = float(pool.value.std(ddof=1)) if len(pool) > 1 else float("nan")
    la = pool.groupby("la_code").value.agg(["std", "count"])
    la = la[la["count"] >= 3]
    within_la = float(la["std"].mean()) if len(la) else float("nan")
    within = float(g["std"].mean()) if len(g) else float("nan")
    r2 = float(np.corrcoef(g.own, g["median"])[0, 1] ** 2) if len(g) > 2 else float("nan")
    return {"measure": measure, "measure_label": MEASURES[measure].label, "years": so.years,
            "key_stage": int(key_stage), "schools": int(len(g)), "overall_sd": overall, "within_family_sd": within,
            "within_la_sd": within_la, "spread_ratio": within / overall if overall else float("nan"),
            "la_ratio": within_la / overall if overall else float("nan"), "las": int(len(la)), "r2": r2,
            "strength": strength(r2), "method": m}


# How much the family median explains, in words. A random grouping explains about 0%; below 10%
# a family says little more about a school's result than any other schools would.
STRENGTH = ((0.10, "little"), (0.30, "some"), (0.60, "a fair part"), (1.01, "much"))


def strength(r2: float) -> str:
    """'little', 'some', 'a fair part' or 'much' of schools' differences explained by families
    (:data:`STRENGTH`); 'unknown' without enough schools."""
    if not np.isfinite(r2):
        return "unknown"
    return next(word for top, word in STRENGTH if r2 < top)


def explains_little(v: dict) -> bool:
    """Whether families explain little of the outcome (or it cannot be checked)."""
    return v["strength"] in ("little", "unknown")


def validation_table(key_stage: int = 4, start_year: int | None = None, *, size: int = DEFAULT_SIZE,
                     radius_km: float = DEFAULT_RADIUS_KM, weights: dict | None = None, pooled: bool = False,
                     path=None) -> pd.DataFrame:
    """:func:`validation` for every measure of the key stage and year: one row per measure with
    measure, label, schools, spread_ratio, la_ratio, r2 and strength, headline measures first. A measure
    that fewer than :data:`MIN_VALIDATION_SCHOOLS` schools with a family carry (e.g. one LA's figures
    from a later file's history columns) is left out: a share explained over a handful of schools means
    little."""
    year = _family_year(key_stage, start_year, path)
    rows = []
    for ms in measures_for(key_stage, year, path):
        v = validation(ms, size=size, radius_km=radius_km, weights=weights, key_stage=key_stage, start_year=year,
                       pooled=pooled, path=path)
        if not v["schools"] >= MIN_VALIDATION_SCHOOLS:
            continue
        rows.append({k: v[k] for k in ("measure", "measure_label", "schools", "spread_ratio", "la_ratio", "r2",
                                       "strength")})
    out = pd.DataFrame(rows, columns=["measure", "measure_label", "schools", "spread_ratio", "la_ratio", "r2",
                                      "strength"])
    return out


def describe_validation(v: dict) -> str:
    """The validation figures in one plain sentence."""
    if not np.isfinite(v["spread_ratio"]):
        return "Not enough schools with results to check how well families explain outcomes."
    text = (f"Within a family, {outcome_phrase(v['measure'])} varies "
            f"{v['spread_ratio']:.0%} as much as across all {v['schools']:,} schools "
            f"(standard deviation {v['within_family_sd']:.2f} against {v['overall_sd']:.2f})")
    if np.isfinite(v["la_ratio"]) and v["las"] > 1:
        text += f"; within an LA it varies {v['la_ratio']:.0%} as much"
    text += (f". The family median explains {v['r2']:.0%} of the differences between schools' results "
             "(100% = families fully predict results; a random grouping would explain about 0%).")
    if explains_little(v):
        text += (" **On this measure families explain little**: a family's results say hardly more about a "
                 "school's than a group of schools picked at random would, so read its family as schools "
                 "with a similar intake, not as a yardstick for this result.")
    return text


# ---- a whole LA --------------------------------------------------------------------------------

@per_build(maxsize=32)
def la_positions(la_code: str, measure: str | None = None, *, size: int = DEFAULT_SIZE,
                 radius_km: float = DEFAULT_RADIUS_KM, weights: dict | None = None, key_stage: int = 4,
                 start_year: int | None = None, pooled: bool = False, path=None) -> pd.DataFrame:
    """Every school of an LA that has a family, with its disadvantaged pupils' result against its
    family's: ``value``, ``cohort``, ``family_median`` (members with a value), ``members_with_value``,
    ``difference`` (value minus family median, positive = better even where lower is better),
    ``se_diff`` (the school's standard error combined with the median's, about 1.25 SD/sqrt(m)),
    ``position`` ('3 of 18': rank of the school among itself and its members with values, 1 = best),
    ``verdict`` ('above its family' / 'below its family' when beyond noise, else 'in line with its
    family'; 'no figure' when the school has none). Sorted by difference, best first.
    """
    fams = all_families(size=size, radius_km=radius_km, weights=weights, key_stage=key_stage,
                        start_year=start_year, path=path)
    year = _family_year(key_stage, start_year, path)
    measure = measure or default_measure(key_stage, year, path)
    sign = 1 if MEASURES[measure].higher_is_better else -1
    sp = space(weights=weights, key_stage=key_stage, start_year=year, path=path)
    res = school_outcomes(measure, key_stage=key_stage, start_year=year, pooled=pooled, path=path).table.set_index("urn")
    mine = sp.schools[sp.schools.la_code == str(la_code)][["urn", "name", "la_code", "la_name", "pct_disadvantaged",
                                                            "prior_attainment"]].copy()
    f = fams[fams.urn.isin(mine.urn)].assign(value=lambda d: d.member_urn.map(res.value)).dropna(subset=["value"])
    g = f.groupby("urn").value
    mine["value"] = mine.urn.map(res.value)
    mine["cohort"] = mine.urn.map(res.cohort)
    mine["se"] = mine.urn.map(res.se)
    mine["years"] = mine.urn.map(res.years)
    mine["status"] = mine.urn.map(res.status)
    mine["family_median"] = mine.urn.map(g.median())
    mine["members_with_value"] = mine.urn.map(g.count()).fillna(0).astype(int)
    sd = mine.urn.map(g.std())
    mine["difference"] = sign * (mine.value - mine.family_median)
    mine["se_diff"] = np.sqrt(mine.se ** 2 + (1.2533 * sd / np.sqrt(mine.members_with_value.clip(lower=1))) ** 2)
    better_count = [int((sign * (f.loc[f.urn == u, "value"] - v) > 0).sum()) if pd.notna(v) else None
                    for u, v in zip(mine.urn, mine.value)]
    mine["position"] = [f"{b + 1} of {n + 1}" if b is not None else "–"
                        for b, n in zip(better_count, mine.members_with_value)]
    beyond = stats.beyond_noise(mine.difference, mine.se_diff)
    mine["verdict"] = np.where(mine.value.isna(), "no figure",
                               np.where(beyond & (mine.difference > 0), "above its family",
                                        np.where(beyond & (mine.difference < 0), "below its family",
                                                 "in line with its family")))
    return mine.sort_values(["difference", "urn"], ascending=[False, True], na_position="last").reset_index(drop=True)


@per_build(maxsize=32)
def scatter_data(urn: int | None, measure: str | None = None, *, size: int = DEFAULT_SIZE,
                 radius_km: float = DEFAULT_RADIUS_KM, weights: dict | None = None, key_stage: int = 4,
                 start_year: int | None = None, pooled: bool = False, path=None) -> pd.DataFrame:
    """Every school of the pool with its context variables, context distance to the chosen
    school's intake (``distance``) and result for disadvantaged pupils, with ``role`` 'this school',
    'family' or 'other schools' (for a context-against-outcome chart), and ``label``: "name (LA)"
    escaped for a chart's hover text (made once here, not on every page run)."""
    sp = space(weights=weights, key_stage=key_stage, start_year=start_year, path=path)
    year = sp.start_year
    measure = measure or default_measure(key_stage, year, path)
    res = school_outcomes(measure, key_stage=key_stage, start_year=year, pooled=pooled, path=path).table.set_index("urn")
    cols = ["urn", "name", "la_name", *sp.variables, *[v for v in ("prior_attainment", "pct_disadvantaged", "pct_eal",
                                                                     "pct_sen") if v not in sp.variables]]
    out = sp.schools[cols].copy()
    out["value"] = out.urn.map(res.value)
    out["cohort"] = out.urn.map(res.cohort)
    out["label"] = [html(f"{n} ({la or ''})") for n, la in zip(out.name.astype(object), out.la_name.astype(object))]
    out["role"] = "other schools"
    out["distance"] = np.nan
    if urn is not None:
        fam = family(urn, size=size, radius_km=radius_km, weights=weights, key_stage=key_stage, start_year=year,
                     path=path)
        used = fam.urn
        i = np.flatnonzero(sp.schools.urn.to_numpy() == used)[0]
        out["distance"] = np.sqrt(((sp.X - sp.X[i]) ** 2).sum(axis=1))  # Mahalanobis: X is transformed
        out.loc[out.urn.isin(fam.members.urn), "role"] = "family"
        out.loc[out.urn == used, "role"] = "this school"
    return out
