"""Neighbourhoods: how deprived the area around each school is, and how disadvantaged pupils do
in schools set in more or less deprived places.

**A school's location is a proxy for where its pupils live.** We do not hold pupils' home
postcodes, so "the neighbourhood" here is the area around the school building: a school can
draw many pupils from elsewhere (a faith or selective school, a rural school with a wide
catchment), and its neighbourhood then says little about its intake. Read every figure below
with that in mind.

Method (the choices are ours and are shown on the page):

* **Own LSOA**: the LSOA the school sits in (from the IoD2019 postcode look-up, else GIAS, else
  the LSOA whose population-weighted centroid is nearest; see ``school.lsoa_source``).
* **Neighbourhood**: the school's own LSOA plus every LSOA whose population-weighted centroid is
  within ``radius_km`` (default 1.5 km, about a 20-minute walk) of the school, by great-circle
  distance.
* **Averages are of scores, never of ranks or deciles**, and population-weighted: the IMD score
  (rebuilt from the IoD2019 domain scores with the official weights) weighted by total
  population, and the IDACI score (the share of children aged 0-15 in income-deprived families)
  weighted by the number of children aged 0-15, so it is close to the share of all the area's
  children who are income-deprived. Populations are MHCLG's mid-2015 denominators.
* **Neighbourhood decile**: where the neighbourhood's average score would fall among England's
  32,844 LSOAs (1 = as deprived as the most deprived 10% of LSOAs). Cut points are the scores at
  each tenth of England's LSOAs ranked by the same score.
* **Better or worse than the neighbourhood predicts**: a straight line of the disadvantaged
  pupils' result on the neighbourhood score across the schools with a result, allowing for real
  differences between schools (random effects: each school weighted 1 / (its noise² + tau²), tau²
  the between-school variance around the line by the method of moments), with a robust
  (sandwich) interval for the slope and the share of the real between-school differences the line
  explains. A school's noise is its published confidence interval where there is one (Progress 8,
  KS2 progress), the binomial error for percentages, otherwise a pupil-level spread over the root
  of its number of disadvantaged pupils. A school is "above" or "below" its prediction only when
  its result lies outside the range where 95% of schools in such a neighbourhood would fall, so the
  share flagged means the same on every measure (about 5% by chance alone).

**IoD2025 on 2021 LSOAs** (the default for results from 2022/23 on; IoD2019 stays for older years
and can be chosen for any year). MHCLG's Files 1 and 3 give IMD, IDACI and IDAOPI *ranks and
deciles* for England's 33,755 2021 LSOAs, not scores, and the bundle holds no 2021 populations or
population-weighted centroids. So with IoD2025:

* a 2021 LSOA is located at the centre of its (simplified) polygon, and the neighbourhood is the
  school's own 2021 LSOA plus every 2021 LSOA whose centre is within ``radius_km``;
* areas are **combined by deciles, never by averaging ranks**: the share of the neighbourhood's
  LSOAs in each national decile, the share among England's most deprived 20% (deciles 1-2), and the
  neighbourhood's median decile (the decile of its middle LSOA, lower of the two middle ones when
  the count is even). LSOAs count equally (each holds roughly 1,000-3,000 residents);
* outcomes by decile group schools by that median decile, and the line "better or worse than the
  neighbourhood predicts" receives the share of neighbourhood LSOAs in deciles 1-2 (0-100) in
  place of a score.
"""
from __future__ import annotations

import json
import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from equity import db, stats
from equity.cache import per_build
from equity.measures import MEASURES
from equity.safe_text import html as _esc
from equity.words import fmt_tip
from equity.years import label

RADIUS_KM = 1.5
MIN_RADIUS_KM, MAX_RADIUS_KM = 0.5, 5.0
EARTH_KM = 6371.0088
Z95 = stats.Z95

PROXY_NOTE = ("A school's location stands in for where its pupils live: we do not hold pupils' home postcodes, "
              "so a school that draws pupils from further away (faith, selective, rural schools) may serve "
              "children from quite different places than the streets around it.")

# What a map can shade LSOAs by: label, decile column (1 = most deprived 10%), score column
# (averaged when areas are combined) and the population that weights the average.
FIELDS = {
    "imd": ("Index of Multiple Deprivation (IMD)", "imd_decile", "imd_score", "pop_total"),
    "idaci": ("Income deprivation affecting children (IDACI)", "idaci_decile", "idaci_score", "pop_children"),
    "income": ("Income domain", "income_decile", "income_exp", "pop_total"),
    "employment": ("Employment domain", "employment_decile", "employment_exp", "pop_total"),
    "education": ("Education, skills and training domain", "education_decile", "education_exp", "pop_total"),
    "health": ("Health deprivation and disability domain", "health_decile", "health_exp", "pop_total"),
    "crime": ("Crime domain", "crime_decile", "crime_exp", "pop_total"),
    "barriers": ("Barriers to housing and services domain", "barriers_decile", "barriers_exp", "pop_total"),
    "living_env": ("Living environment domain", "living_env_decile", "living_env_exp", "pop_total"),
}
SCORES = ("imd", "idaci")  # the scores a school's neighbourhood is summarised by

# IoD2025 (2021 LSOAs): label, decile column, rank column. Files 1 and 3 publish no scores.
FIELDS25 = {
    "imd": ("Index of Multiple Deprivation (IMD)", "imd_decile", "imd_rank"),
    "idaci": ("Income deprivation affecting children (IDACI)", "idaci_decile", "idaci_rank"),
    "idaopi": ("Income deprivation affecting older people (IDAOPI)", "idaopi_decile", "idaopi_rank"),
}
INDEXES = {"iod2025": "IoD2025 (2021 LSOAs)", "iod2019": "IoD2019 (2011 LSOAs)"}
# Results from 2022/23 on are read against IoD2025 (its indicators mostly date from 2021-2023),
# older results against IoD2019 (indicators mostly 2015-2017).
IOD2025_FROM = 2022
LSOA21_COUNT = 33755
DECILE_NOTE = ("IoD2025 (Files 1 and 3) publishes ranks and deciles for each 2021 LSOA, not scores. A rank is a "
               "position, not an amount, so ranks are never averaged: areas are combined by deciles, as the share "
               "of a neighbourhood's LSOAs in each national decile, the share among England's most deprived 20% "
               "(deciles 1-2) and the neighbourhood's median decile. Each LSOA counts equally (2021 LSOAs hold "
               "about 1,000-3,000 residents; their populations are not in the bundled files), and is placed at the "
               "centre of its polygon (no population-weighted centres for 2021 LSOAs here).")


class NoLocation(LookupError):
    """The school has no location (no postcode coordinates and no LSOA), so no neighbourhood."""


# ---- data ---------------------------------------------------------------------------------------

def _key(path) -> str:
    """The database a cached helper reads, spelt one way (the cache adds its build)."""
    return str(Path(path).resolve() if path else db.default_path())


@per_build(maxsize=4)
def _lsoas(path: str) -> pd.DataFrame:
    return db.query("neighbourhoods/lsoa_points", path=path)


@per_build(maxsize=4)
def _schools(path: str) -> pd.DataFrame:
    return db.query("neighbourhoods/schools", path=path)


@per_build(maxsize=4)
def _lsoas21(path: str) -> pd.DataFrame:
    if not db.table_exists("lsoa21", path):
        return pd.DataFrame(columns=["lsoa21", "name", "lad24cd", "lad24nm", "la_code", "lat", "lon", "area_km2",
                                     "imd_rank", "imd_decile", "idaci_rank", "idaci_decile", "idaopi_rank",
                                     "idaopi_decile", "imd_score", "idaci_score", "idaopi_score"])
    return db.query("neighbourhoods/lsoa21_points", path=path)


def available_2025(path=None) -> bool:
    """Whether the database holds IoD2025 deciles for 2021 LSOAs with a location."""
    return len(lsoas21(path)) > 0


def lsoas21(path=None) -> pd.DataFrame:
    """Every English 2021 LSOA with an IoD2025 decile and a polygon: ranks and deciles of IMD, IDACI
    and IDAOPI (1 = most deprived 10%), district, DfE LA, polygon centre (lat, lon) and area."""
    return _lsoas21(_key(path))


def default_index(start_year: int, path=None) -> str:
    """'iod2025' for results from 2022/23 on (when the database holds IoD2025), else 'iod2019'."""
    return "iod2025" if int(start_year) >= IOD2025_FROM and available_2025(path) else "iod2019"


def _check_index(index: str) -> str:
    if index not in INDEXES:
        raise ValueError(f"index must be one of {tuple(INDEXES)} (got {index!r})")
    return index


def deprivation_variable(score: str, index: str) -> tuple[str, str]:
    """(column of :func:`all_scores`, label) of the neighbourhood deprivation a school is compared by.

    IoD2019: the population-weighted average score. IoD2025 has no scores: the share (0-100) of
    the neighbourhood's 2021 LSOAs among England's most deprived 20% (deciles 1-2)."""
    if score not in SCORES:
        raise ValueError(f"score must be one of {SCORES}")
    if _check_index(index) == "iod2025":
        return f"{score}_share_20", (f"% of neighbourhood LSOAs in England's most deprived 20% by "
                                     f"{FIELDS25[score][0]}, IoD2025")
    return f"{score}_score", f"neighbourhood {FIELDS[score][0]} score, IoD2019"


def available(path=None) -> bool:
    """Whether the database holds LSOA deprivation (the ``lsoa`` table with rows)."""
    return db.table_exists("lsoa", path) and len(lsoas(path)) > 0


def lsoas(path=None) -> pd.DataFrame:
    """Every English LSOA with a centroid: scores, deciles, populations, location (lat, lon)."""
    return _lsoas(_key(path))


def schools(path=None) -> pd.DataFrame:
    """Every school with a location: urn, name, la_code, phase, lat, lon, location_source
    ('postcode' or 'lsoa_centroid'), lsoa11 and lsoa_source, lsoa21 and lsoa21_route (how the 2011
    LSOA led to the 2021 one: unchanged, merged, or which part of a split)."""
    return _schools(_key(path))


def outcomes(key_stage: int, measure: str, start_year: int, path=None) -> pd.DataFrame:
    """One row per school: the measure for disadvantaged, other and all pupils in the year, with
    cohorts and the published CI of the disadvantaged figure (groups under 6 pupils hidden)."""
    return db.query("neighbourhoods/outcomes", {"key_stage": int(key_stage), "measure": measure,
                                                "start_year": int(start_year)}, path=path)


def measure_years(path=None) -> pd.DataFrame:
    """Measures and years with at least 20 schools showing a figure for disadvantaged pupils:
    key_stage, measure, start_year, academic_year, schools_disadvantaged, schools_other."""
    df = db.query("neighbourhoods/measure_years", path=path)
    return df[df.measure.isin(MEASURES)].reset_index(drop=True)


def latest_ofsted(path=None) -> pd.DataFrame:
    """Each school's most recent single-word Ofsted grade: urn, grade (1-4), grade_label, inspection_date,
    ``dated`` (older than the cut-off, ``equity.analysis.ofsted.DATED_AFTER_YEARS``), and ``newer``: a later
    judgement with no single-word grade (a report card, or a graded inspection from September 2024
    with no overall grade) in words with its date, else ''."""
    from equity.analysis import ofsted
    df = db.query("neighbourhoods/ofsted_latest", path=path)
    df["dated"] = [ofsted.is_dated(d) for d in df.inspection_date]
    last = ofsted.latest_as_of(None, path)
    last = last[last.framework != "single_word"]
    newer = dict(zip(last.urn, [ofsted.describe(f, d, s) for f, d, s in
                                zip(last.framework, last.inspection_date, last.summary)]))
    df["newer"] = df.urn.map(newer).fillna("")
    return df


def lsoa21_polygons(la_code: str, path=None) -> pd.DataFrame:
    """The 2021 LSOA polygons of one LA (GeoJSON geometry text) with IoD2025 ranks and deciles."""
    if not db.table_exists("lsoa21", path):
        return pd.DataFrame(columns=["lsoa21", "name", "la_code", "geometry"])
    return db.query("neighbourhoods/lsoa21_polygons", {"la_code": str(la_code)}, path=path)


def lsoa_polygons(la_code: str, path=None) -> pd.DataFrame:
    """The bundled LSOA polygons of one LA (GeoJSON geometry text) with deprivation fields; empty
    when no boundary file covers the LA (then maps draw LSOA centroids instead)."""
    return db.query("neighbourhoods/lsoa_polygons", {"la_code": str(la_code)}, path=path)


def la_boundaries(path=None) -> pd.DataFrame:
    """LA outlines we hold: la_code, la_name, method ('published' or 'dissolved from LSOA
    polygons'), geometry (GeoJSON text) and bounding box."""
    return db.query("neighbourhoods/la_boundaries", path=path)


# ---- geometry ------------------------------------------------------------------------------------

def haversine_km(lat1, lon1, lat2, lon2):
    """Great-circle distance in km (numpy arrays broadcast)."""
    lat1, lon1, lat2, lon2 = (np.radians(np.asarray(a, dtype=float)) for a in (lat1, lon1, lat2, lon2))
    a = np.sin((lat2 - lat1) / 2) ** 2 + np.cos(lat1) * np.cos(lat2) * np.sin((lon2 - lon1) / 2) ** 2
    return 2 * EARTH_KM * np.arcsin(np.sqrt(np.clip(a, 0, 1)))


def _xyz(lat, lon) -> np.ndarray:
    la, lo = np.radians(np.asarray(lat, dtype=float)), np.radians(np.asarray(lon, dtype=float))
    return EARTH_KM * np.column_stack([np.cos(la) * np.cos(lo), np.cos(la) * np.sin(lo), np.sin(la)])


def _chord(radius_km: float) -> float:
    """Straight-line (chord) length through the Earth for a great-circle distance."""
    return 2 * EARTH_KM * math.sin(radius_km / (2 * EARTH_KM))


def _check_radius(radius_km: float) -> float:
    r = float(radius_km)
    if not MIN_RADIUS_KM <= r <= MAX_RADIUS_KM:
        raise ValueError(f"the neighbourhood radius is {MIN_RADIUS_KM:g} to {MAX_RADIUS_KM:g} km (got {radius_km})")
    return r


def neighbourhood_pairs(school_df: pd.DataFrame, lsoa_df: pd.DataFrame, radius_km: float = RADIUS_KM,
                        code: str = "lsoa11") -> pd.DataFrame:
    """Which LSOAs make up each school's neighbourhood: long table (school row i, lsoa row j,
    km, own) of the school's own LSOA and every LSOA whose centroid is within ``radius_km``.
    ``code`` names the LSOA column of both frames ('lsoa11', or 'lsoa21' for IoD2025).

    Vectorised: a k-d tree on the LSOA centroids in 3-D (so distances are exact on the sphere).
    """
    from scipy.spatial import cKDTree
    r = _check_radius(radius_km)
    ok = school_df.lat.notna().to_numpy() & school_df.lon.notna().to_numpy()
    tree = cKDTree(_xyz(lsoa_df.lat, lsoa_df.lon))
    idx = np.flatnonzero(ok)
    lists = tree.query_ball_point(_xyz(school_df.lat.to_numpy()[idx], school_df.lon.to_numpy()[idx]), _chord(r))
    counts = np.fromiter((len(x) for x in lists), dtype=np.int64, count=len(lists))
    i = np.repeat(idx, counts)
    j = np.concatenate([np.asarray(x, dtype=np.int64) for x in lists]) if len(lists) else np.array([], dtype=np.int64)
    own = pd.Index(lsoa_df[code]).get_indexer(school_df[code])
    has_own = own >= 0
    pairs = pd.DataFrame({"i": np.concatenate([i, np.flatnonzero(has_own)]),
                          "j": np.concatenate([j, own[has_own]])}).drop_duplicates()
    pairs["own"] = own[pairs.i.to_numpy()] == pairs.j.to_numpy()
    pairs["km"] = haversine_km(school_df.lat.to_numpy()[pairs.i], school_df.lon.to_numpy()[pairs.i],
                               lsoa_df.lat.to_numpy()[pairs.j], lsoa_df.lon.to_numpy()[pairs.j])
    return pairs.sort_values(["i", "km"]).reset_index(drop=True)


def decile_cuts(lsoa_df: pd.DataFrame, score: str = "idaci") -> np.ndarray:
    """The nine scores that split England's LSOAs into tenths by ``score`` (a key of FIELDS; most
    deprived first): cut k is the score of the LSOA at position k x 10% in descending order."""
    col = FIELDS[score][2]
    s = np.sort(lsoa_df[col].dropna().to_numpy())[::-1]
    n = len(s)
    return np.array([s[min(n - 1, int(math.ceil(n * k / 10)) - 1)] for k in range(1, 10)]) if n else np.full(9, np.nan)


def to_decile(values, cuts: np.ndarray) -> np.ndarray:
    """Deciles (1 = most deprived 10%) for scores, given :func:`decile_cuts` (higher = more deprived)."""
    v = np.asarray(values, dtype=float)
    d = 1 + (v[:, None] < cuts[None, :]).sum(axis=1)
    return np.where(np.isfinite(v), d, np.nan)


def neighbourhood_scores(school_df: pd.DataFrame, lsoa_df: pd.DataFrame, radius_km: float = RADIUS_KM) -> pd.DataFrame:
    """For every school: its own LSOA's scores and the population-weighted average scores of its
    neighbourhood (own LSOA + LSOAs with a centroid within ``radius_km``), with neighbourhood deciles.

    Columns: urn, lsoa11, own_imd_score, own_idaci_score, own_imd_decile, own_idaci_decile, n_lsoas,
    pop_total, pop_children, imd_score, idaci_score, imd_decile_nbhd, idaci_decile_nbhd. Schools
    without a location get missing values.
    """
    pairs = neighbourhood_pairs(school_df, lsoa_df, radius_km)
    n = len(school_df)
    i, j = pairs.i.to_numpy(), pairs.j.to_numpy()
    out = pd.DataFrame({"urn": school_df.urn.to_numpy(), "lsoa11": school_df.lsoa11.to_numpy()})
    own = pd.Index(lsoa_df.lsoa11).get_indexer(school_df.lsoa11)
    for sc in SCORES:
        _, dec, col, _ = FIELDS[sc]
        vals = lsoa_df[col].to_numpy(dtype=float)
        decs = lsoa_df[dec].to_numpy(dtype=float)
        out[f"own_{sc}_score"] = np.where(own >= 0, vals[own], np.nan)
        out[f"own_{sc}_decile"] = np.where(own >= 0, decs[own], np.nan)
    out["n_lsoas"] = np.bincount(i, minlength=n)
    for sc in SCORES:
        _, _, col, wcol = FIELDS[sc]
        v = lsoa_df[col].to_numpy(dtype=float)[j]
        w = lsoa_df[wcol].to_numpy(dtype=float)[j]
        good = np.isfinite(v) & np.isfinite(w) & (w > 0)
        wsum = np.bincount(i[good], weights=w[good], minlength=n)
        vsum = np.bincount(i[good], weights=(v * w)[good], minlength=n)
        with np.errstate(invalid="ignore", divide="ignore"):
            out[f"{sc}_score"] = np.where(wsum > 0, vsum / wsum, np.nan)
        out[wcol] = np.where(wsum > 0, wsum, np.nan)
        out[f"{sc}_decile_nbhd"] = to_decile(out[f"{sc}_score"], decile_cuts(lsoa_df, sc))
    out.loc[out.n_lsoas == 0, "n_lsoas"] = np.nan
    return out


def median_decile(deciles) -> float:
    """The decile of the middle LSOA (the lower of the two middle ones for an even count): an order
    statistic, so it needs no averaging of deciles or ranks. NaN when there are none."""
    d = np.sort(np.asarray([x for x in deciles if pd.notna(x)], dtype=float))
    return float(d[(len(d) - 1) // 2]) if len(d) else float("nan")


def neighbourhood_deciles(school_df: pd.DataFrame, lsoa21_df: pd.DataFrame, radius_km: float = RADIUS_KM) -> pd.DataFrame:
    """IoD2025 for every school: its own 2021 LSOA's deciles and its neighbourhood combined by deciles.

    The neighbourhood is the school's own 2021 LSOA plus every 2021 LSOA whose polygon centre is
    within ``radius_km``. Columns: urn, lsoa21, n_lsoas and, for each of imd, idaci and idaopi:
    own_<f>_decile (published), <f>_share_20 (% of the neighbourhood's LSOAs in national deciles 1-2,
    i.e. among England's most deprived 20%), <f>_decile_nbhd (median decile, see
    :func:`median_decile`) and <f>_d1 ... <f>_d10 (% of its LSOAs in each decile). Each LSOA counts
    equally; ranks are never averaged. Schools without a location or 2021 LSOA get missing values.
    """
    n = len(school_df)
    out = pd.DataFrame({"urn": school_df.urn.to_numpy(), "lsoa21": school_df.lsoa21.to_numpy()})
    if not len(lsoa21_df):
        out["n_lsoas"] = np.nan
        return out
    pairs = neighbourhood_pairs(school_df, lsoa21_df, radius_km, code="lsoa21")
    i, j = pairs.i.to_numpy(), pairs.j.to_numpy()
    own = pd.Index(lsoa21_df.lsoa21).get_indexer(school_df.lsoa21)
    count = np.bincount(i, minlength=n).astype(float)
    out["n_lsoas"] = np.where(count > 0, count, np.nan)
    for f, (_, dcol, _) in FIELDS25.items():
        dec = lsoa21_df[dcol].to_numpy(dtype=float)
        out[f"own_{f}_decile"] = np.where(own >= 0, dec[np.maximum(own, 0)], np.nan)
        dj = dec[j]
        good = np.isfinite(dj)
        have = np.bincount(i[good], minlength=n).astype(float)
        with np.errstate(invalid="ignore", divide="ignore"):
            for k in range(1, 11):
                out[f"{f}_d{k}"] = np.where(have > 0, 100 * np.bincount(i[good & (dj == k)], minlength=n) / have, np.nan)
            out[f"{f}_share_20"] = out[f"{f}_d1"] + out[f"{f}_d2"]
        # median decile: with the pairs sorted by school then decile, the lower middle one
        order = np.lexsort((dj[good], i[good]))
        ii, dd = i[good][order], dj[good][order]
        start = np.searchsorted(ii, np.arange(n))
        pick = start + (np.maximum(have.astype(int), 1) - 1) // 2
        med = np.full(n, np.nan)
        ok = have > 0
        med[ok] = dd[pick[ok]]
        out[f"{f}_decile_nbhd"] = med
    return out


@per_build(maxsize=8)
def _all_scores(path: str, radius_km: float, index: str = "iod2019") -> pd.DataFrame:
    s = _schools(path)
    cols = ["urn", "name", "la_code", "la_name", "phase", "is_mainstream", "lat", "lon", "location_source",
            "lsoa_source"]
    if index == "iod2025":
        sc = neighbourhood_deciles(s, _lsoas21(path), radius_km)
        return s[cols + ["lsoa21_route"]].merge(sc, on="urn")
    sc = neighbourhood_scores(s, _lsoas(path), radius_km)
    return s[cols].merge(sc, on="urn")


def all_scores(radius_km: float = RADIUS_KM, path=None, index: str = "iod2019") -> pd.DataFrame:
    """Every school with a location and its neighbourhood, cached per build, radius and index:
    IoD2019 :func:`neighbourhood_scores` (population-weighted average scores) or IoD2025
    :func:`neighbourhood_deciles` (combined by deciles), with the school's name, LA, phase and
    location."""
    return _all_scores(_key(path), round(_check_radius(radius_km), 3), _check_index(index))


def profile(urn: int, radius_km: float = RADIUS_KM, path=None, index: str = "iod2019") -> dict:
    """One school's neighbourhood (IoD2025: see :func:`profile_2025`).

    Returns a dict: ``school`` (name, LA, location and where it came from), ``own`` (its LSOA's
    row), ``lsoas`` (the neighbourhood's LSOAs: code, name, km from the school, population,
    children, IMD and IDACI scores and deciles, own flag), ``imd_score`` and ``idaci_score``
    (population-weighted averages), their national deciles, ``radius_km``, ``method`` and
    ``proxy_note``. Raises :class:`NoLocation` when the school has no location.
    """
    if _check_index(index) == "iod2025":
        return profile_2025(urn, radius_km, path)
    r = _check_radius(radius_km)
    s = schools(path)
    row = s[s.urn == int(urn)]
    if row.empty:
        raise NoLocation(f"URN {urn}: no location (no postcode coordinates and no LSOA)")
    L = lsoas(path)
    pairs = neighbourhood_pairs(row.reset_index(drop=True), L, r)
    members = L.iloc[pairs.j.to_numpy()].reset_index(drop=True)
    members.insert(2, "km", pairs.km.round(3).to_numpy())
    members.insert(3, "own", pairs.own.to_numpy())
    out = {"school": row.iloc[0].to_dict(), "radius_km": r, "proxy_note": PROXY_NOTE,
           "own": members[members.own].iloc[0].to_dict() if members.own.any() else None,
           "lsoas": members[["lsoa11", "name", "km", "own", "pop_total", "pop_children", "imd_score", "imd_decile",
                             "idaci_score", "idaci_decile", "idaci_score_source"]]}
    for sc in SCORES:
        _, _, col, wcol = FIELDS[sc]
        m = members[members[col].notna() & (members[wcol] > 0)]
        val = float(np.average(m[col], weights=m[wcol])) if len(m) else float("nan")
        out[f"{sc}_score"] = val
        out[f"{sc}_decile"] = int(to_decile([val], decile_cuts(L, sc))[0]) if math.isfinite(val) else None
    out["method"] = (f"Own LSOA plus every LSOA whose population-weighted centroid is within {r:g} km of the school "
                     f"({len(members)} LSOAs); IMD score averaged weighted by total population, IDACI score by "
                     "children aged 0-15 (mid-2015).")
    return out


def profile_2025(urn: int, radius_km: float = RADIUS_KM, path=None) -> dict:
    """One school's neighbourhood on IoD2025 (2021 LSOAs, deciles only).

    Returns a dict: ``school`` (including its lsoa21 and lsoa21_route), ``own`` (its 2021 LSOA's
    row or None), ``lsoas`` (code, name, km from the school, own flag, IMD/IDACI/IDAOPI ranks and
    deciles), ``deciles`` (one row per decile 1-10: LSOAs and % of the neighbourhood's LSOAs by IMD,
    IDACI and IDAOPI), ``share_20`` and ``median_decile`` per index, ``radius_km``, ``method``,
    ``decile_note`` and ``proxy_note``. Raises :class:`NoLocation` when the school has no location.
    """
    r = _check_radius(radius_km)
    s = schools(path)
    row = s[s.urn == int(urn)]
    if row.empty:
        raise NoLocation(f"URN {urn}: no location (no postcode coordinates and no LSOA)")
    L = lsoas21(path)
    pairs = neighbourhood_pairs(row.reset_index(drop=True), L, r, code="lsoa21")
    members = L.iloc[pairs.j.to_numpy()].reset_index(drop=True)
    members.insert(2, "km", pairs.km.round(3).to_numpy())
    members.insert(3, "own", pairs.own.to_numpy())
    dec = pd.DataFrame({"decile": range(1, 11)})
    out = {"school": row.iloc[0].to_dict(), "radius_km": r, "proxy_note": PROXY_NOTE, "decile_note": DECILE_NOTE,
           "own": members[members.own].iloc[0].to_dict() if members.own.any() else None,
           "lsoas": members[["lsoa21", "name", "km", "own", "imd_rank", "imd_decile", "idaci_rank", "idaci_decile",
                             "idaopi_rank", "idaopi_decile"]],
           "share_20": {}, "median_decile": {}}
    for f, (_, dcol, _) in FIELDS25.items():
        d = members[dcol].dropna()
        counts = d.astype(int).value_counts()
        dec[f"{f}_lsoas"] = [int(counts.get(k, 0)) for k in range(1, 11)]
        dec[f"{f}_pct"] = (100 * dec[f"{f}_lsoas"] / len(d)).round(1) if len(d) else np.nan
        out["share_20"][f] = float(100 * (d <= 2).mean()) if len(d) else float("nan")
        m = median_decile(d)
        out["median_decile"][f] = int(m) if math.isfinite(m) else None
    out["deciles"] = dec
    out["method"] = (f"Own 2021 LSOA plus every 2021 LSOA whose polygon centre is within {r:g} km of the school "
                     f"({len(members)} LSOAs), combined by IoD2025 deciles: each LSOA counts once.")
    return out


# ---- outcomes by neighbourhood -----------------------------------------------------------------

def _frame(key_stage, measure, start_year, radius_km, la_code, path, index="iod2019") -> pd.DataFrame:
    sc = all_scores(radius_km, path, index)
    o = outcomes(key_stage, measure, start_year, path).drop(columns=["la_code"])
    df = o.merge(sc, on="urn", how="inner")
    if la_code:
        df = df[df.la_code == str(la_code)]
    return df


@dataclass(frozen=True)
class DecileOutcomes:
    """Results for disadvantaged pupils by neighbourhood deprivation decile (:func:`outcomes_by_decile`)."""
    table: pd.DataFrame  # one row per decile, 1 (most deprived) to 10: see outcomes_by_decile
    key_stage: int
    measure: str  # the measure (a key of equity.measures.MEASURES)
    start_year: int
    academic_year: str  # the start year as written, e.g. '2023/24'
    score: str  # the deprivation score deciles are of (one of SCORES)
    radius_km: float  # a school's neighbourhood: the LSOAs within this distance
    la_code: str | None  # the one LA whose schools count, or None for England
    schools: int  # schools counted, over all deciles
    index: str  # the deprivation index: 'iod2019' or 'iod2025'


def outcomes_by_decile(key_stage: int, measure: str, start_year: int, *, radius_km: float = RADIUS_KM,
                       score: str = "idaci", la_code: str | None = None, path=None,
                       index: str = "iod2019") -> DecileOutcomes:
    """Disadvantaged (and other) pupils' results by the deprivation decile of the school's
    neighbourhood (1 = as deprived as England's most deprived 10% of LSOAs).

    ``table``: one row per decile with schools, disadvantaged pupils, the pupil-weighted mean for
    disadvantaged pupils (each school counts by its number of disadvantaged pupils), the same
    for other pupils where the measure has them, and the gap (other minus disadvantaged).
    Only schools showing a disadvantaged figure (6 or more pupils) count. ``la_code`` limits
    the schools to one LA; deciles stay national. With ``index='iod2025'`` a school's decile is
    its neighbourhood's median IoD2025 decile (no scores to average).
    """
    if score not in SCORES:
        raise ValueError(f"score must be one of {SCORES}")
    df = _frame(key_stage, measure, start_year, radius_km, la_code, path, index)
    df = df[df.disadvantaged.notna() & (df.cohort_disadvantaged > 0) & df[f"{score}_decile_nbhd"].notna()]
    rows = []
    for d in range(1, 11):
        g = df[df[f"{score}_decile_nbhd"] == d]
        n = g.cohort_disadvantaged.astype(float)
        go = g[g.other.notna() & (g.cohort_other > 0)]
        dis = float(np.average(g.disadvantaged, weights=n)) if len(g) else np.nan
        oth = float(np.average(go.other, weights=go.cohort_other.astype(float))) if len(go) else np.nan
        rows.append({"decile": d, "schools": len(g), "disadvantaged_pupils": int(n.sum()),
                     "disadvantaged": round(dis, 2) if len(g) else np.nan,
                     "schools_with_other": len(go), "other_pupils": int(go.cohort_other.sum()) if len(go) else 0,
                     "other": round(oth, 2) if len(go) else np.nan})
    out = pd.DataFrame(rows)
    out["gap"] = (out.other - out.disadvantaged).round(2)
    return DecileOutcomes(out, key_stage=key_stage, measure=measure, start_year=start_year,
                          academic_year=label(int(start_year)), score=score, radius_km=radius_km, la_code=la_code,
                          schools=int(out.schools.sum()), index=index)


def _sampling_se(measure: str, value, cohort, ci_low, ci_high) -> tuple[np.ndarray, str]:
    """Each school's own noise (standard error of its disadvantaged pupils' figure), decided
    before the line is fitted: the published CI where given; the binomial error for a
    percentage (for a gap to national other pupils, whose disadvantaged percentage is not in the
    row, the largest binomial error, at 50%); else the pupil-level spread of the measure
    (the measure catalogue's, through :func:`equity.stats.standard_error`) over the root of the number of
    pupils. Returns (se, how)."""
    v = np.asarray(value, dtype=float)
    n = np.asarray(cohort, dtype=float)
    how = "no known noise"
    se = stats.standard_error(measure, v, n)  # the one rule (equity.stats)
    if MEASURES[measure].unit == "percent" and measure.endswith("vs_national_other"):
        how = "the largest binomial error of a percentage of the school's disadvantaged pupils (at 50%)"
    elif MEASURES[measure].unit == "percent":
        how = "binomial error of a percentage of the school's disadvantaged pupils"
    elif np.isfinite(stats.pupil_sd(measure)):
        how = (f"a pupil-level spread of {stats.pupil_sd(measure):g} over the root of the number of "
               "disadvantaged pupils")
    ci = stats.se_from_ci(ci_low, ci_high)
    if np.isfinite(ci).any():
        se = np.where(np.isfinite(ci) & (ci > 0), ci, se)
        how = "the school's published 95% confidence interval"
    return se, how


def fit_scope(la_codes, la_names) -> str:
    """Where a line was fitted, in words: "in Surrey" (one LA), "in Hampshire and Surrey" (up to
    three), else "in England (151 LAs)" or "in 12 LAs" when fewer than 100 LAs have figures."""
    names = pd.Series(list(la_names), index=list(la_codes)).groupby(level=0).first()
    names = names.fillna(pd.Series(names.index, index=names.index)).sort_values()
    if len(names) == 1:
        return f"in {names.iloc[0]}"
    if len(names) <= 3:
        return "in " + ", ".join(names.iloc[:-1]) + f" and {names.iloc[-1]}"
    return f"in England ({len(names)} LAs)" if len(names) >= 100 else f"in {len(names)} LAs"


@dataclass(frozen=True)
class Prediction:
    """Schools against what their neighbourhood predicts (:func:`predicted_vs_actual`).

    ``table``: one row per school (see :func:`predicted_vs_actual`). ``model``: the line and what it
    says: intercept, slope (change in the measure per unit of the deprivation variable), slope_se
    (robust, sandwich), slope_se_model, slope_low and slope_high (its 95% interval), r2 and explained
    (shares of the variation between schools the line accounts for), tau (real spread of schools'
    true results around the line), tau_null, noise_share, schools and las (fitted on), scope (where,
    in words), pupils, score, radius_km, noise (how a school's noise was found), better ('higher' or
    'lower'), flagged_share (share of schools outside their 95% range), index, variable (the
    deprivation variable in words) and text (the method in a paragraph).
    """
    table: pd.DataFrame
    model: dict


def predicted_vs_actual(key_stage: int, measure: str, start_year: int, *, radius_km: float = RADIUS_KM,
                        score: str = "idaci", la_code: str | None = None, path=None,
                        index: str = "iod2019") -> Prediction:
    """Schools doing better or worse for disadvantaged pupils than their neighbourhood predicts.

    The line (:func:`equity.stats.random_effects_line`) is fitted across every school with a
    figure that year (all of England where the year covers England; ``la_code`` only limits the
    rows returned). It allows for real differences between schools: each school is weighted
    1 / (its noise² + tau²), tau² being the between-school variance left around the line
    (method of moments), and the slope's interval is robust (sandwich). One row per school: urn,
    name, la_code, neighbourhood score, disadvantaged pupils (cohort), actual, predicted,
    difference (actual minus predicted; for a measure where lower is better the sign is kept and
    ``verdict`` reads it), se_noise (the school's own noise), se (of the difference: noise, real
    between-school spread tau and the line's uncertainty), low, high (the range 95% of schools at
    that neighbourhood score would fall in) and verdict ('above prediction' / 'below prediction'
    when the result is outside that range, else 'in line'). So about 5% of schools are flagged on
    any measure when the neighbourhood and chance are all there is; more means some schools
    really stand out. ``model`` holds the line, its interval, what it explains, tau,
    the number of schools and LAs, the scope in words and the noise method (see :class:`Prediction`).
    The deprivation it receives is :func:`deprivation_variable`: the IoD2019 score, or with
    ``index='iod2025'`` the % of neighbourhood LSOAs in England's most deprived 20%.
    """
    if score not in SCORES:
        raise ValueError(f"score must be one of {SCORES}")
    df = _frame(key_stage, measure, start_year, radius_km, None, path, index)
    col, xlabel = deprivation_variable(score, index)
    df = df[df.disadvantaged.notna() & (df.cohort_disadvantaged > 0) & df[col].notna()].copy()
    n = df.cohort_disadvantaged.to_numpy(dtype=float)
    se_s, how = _sampling_se(measure, df.disadvantaged, n, df.ci_low, df.ci_high)
    ok = np.isfinite(se_s) & (se_s > 0)
    df, n, se_s = df[ok], n[ok], se_s[ok]
    if len(df) < 10:
        raise ValueError(f"too few schools ({len(df)}) with a figure for disadvantaged pupils to fit a line")
    x = df[col].to_numpy(dtype=float)
    y = df.disadvantaged.to_numpy(dtype=float)
    m = stats.random_effects_line(x, y, se_s ** 2)
    pred = m.predict(x)
    se = np.sqrt(se_s ** 2 + m.tau2 + m.fit_variance(x))
    diff = y - pred
    out = pd.DataFrame({"urn": df.urn.to_numpy(), "name": df.name.to_numpy(), "la_code": df.la_code.to_numpy(),
                        "la_name": df.la_name.to_numpy(), "lat": df.lat.to_numpy(), "lon": df.lon.to_numpy(),
                        "neighbourhood_score": np.round(x, 4), "cohort": n.astype(int),
                        "actual": df.disadvantaged.to_numpy(), "predicted": np.round(pred, 2),
                        "difference": np.round(diff, 2), "se_noise": np.round(se_s, 3), "se": np.round(se, 3),
                        "low": np.round(diff - Z95 * se, 2), "high": np.round(diff + Z95 * se, 2)})
    beyond = stats.beyond_noise(diff, se)  # the one noise test (equity.stats)
    out["verdict"] = np.select([beyond & (diff > 0), beyond & (diff < 0)], ["above prediction", "below prediction"],
                               "in line")
    flagged = float((out.verdict != "in line").mean())
    scope = fit_scope(df.la_code, df.la_name)
    las = int(df.la_code.nunique())
    if la_code:
        out = out[out.la_code == str(la_code)]
    better = "higher" if MEASURES[measure].higher_is_better else "lower"
    out = out.sort_values("difference", ascending=not MEASURES[measure].higher_is_better).reset_index(drop=True)
    slope_low, slope_high = m.slope - Z95 * m.slope_se, m.slope + Z95 * m.slope_se
    model = {
        "intercept": m.intercept, "slope": m.slope, "slope_se": m.slope_se, "slope_se_model": m.slope_se_model,
        "slope_low": slope_low, "slope_high": slope_high, "r2": m.r2, "explained": m.explained,
        "tau": math.sqrt(m.tau2), "tau_null": math.sqrt(m.tau2_null), "noise_share": m.noise_share,
        "schools": m.n, "las": las, "scope": scope, "pupils": int(n.sum()), "score": score, "radius_km": radius_km,
        "noise": how, "better": better, "flagged_share": flagged, "index": index, "variable": xlabel,
        "text": (f"A line of disadvantaged pupils' {MEASURES[measure].label} on the "
                 f"{xlabel}, fitted across {m.n:,} schools {scope}. Schools really differ, beyond "
                 f"the noise of their results (the spread of their true results around the line is estimated at "
                 f"{math.sqrt(m.tau2):.2f}), so each school is weighted by 1 / (its noise² + that spread²): a big "
                 f"school counts more than a small one, but not without limit (a random-effects line; the spread by "
                 f"the method of moments). The slope's 95% interval is robust (sandwich), so it stays honest if "
                 f"the noise assumed is wrong. A school's noise is {how}. A school is above or below its prediction "
                 f"when its result lies outside the range where 95% of schools in such a neighbourhood fall "
                 f"(its noise, the real spread between schools and the line's uncertainty), so about 5% are flagged "
                 f"on any measure by chance; here {flagged:.0%}. For this measure {better} is better.")}
    return Prediction(out, model)


# ---- maps ---------------------------------------------------------------------------------------

# Sequential colours for deciles, 1 (most deprived) darkest: viridis steps (colour-blind safe,
# readable in greyscale). Colour is never the only carrier: tooltips and the table give the decile.
DECILE_RGB = [(68, 1, 84), (72, 40, 120), (62, 74, 137), (49, 104, 142), (38, 130, 142), (31, 158, 137),
              (53, 183, 121), (109, 205, 89), (180, 222, 44), (253, 231, 37)]
# Diverging (orange = below, blue = above), Okabe-Ito hues as in equity.present.style.
DIVERGING_RGB = [(213, 94, 0), (230, 159, 0), (220, 220, 220), (86, 180, 233), (0, 114, 178)]
OFSTED_RGB = {1: (0, 114, 178), 2: (0, 158, 115), 3: (230, 159, 0), 4: (213, 94, 0)}
OFSTED_LABELS = {1: "Outstanding", 2: "Good", 3: "Requires improvement", 4: "Inadequate"}


def decile_rgba(deciles, alpha: int = 170) -> list[list[int]]:
    """RGBA per decile (grey for missing)."""
    out = []
    for d in deciles:
        if d is None or (isinstance(d, float) and not math.isfinite(d)) or pd.isna(d):
            out.append([200, 200, 200, 80])
        else:
            out.append([*DECILE_RGB[int(d) - 1], alpha])
    return out


def diverging_rgba(values, centre: float, spread: float) -> list[list[int]]:
    """RGBA on a 5-step diverging scale: value - centre in units of ``spread`` (< -1.5, -0.5..., > 1.5)."""
    out = []
    for v in values:
        if v is None or pd.isna(v):
            out.append([150, 150, 150, 200])
            continue
        z = (float(v) - centre) / spread if spread else 0.0
        k = 0 if z < -1.5 else 1 if z < -0.5 else 2 if z <= 0.5 else 3 if z <= 1.5 else 4
        out.append([*DIVERGING_RGB[k], 230])
    return out


def diverging_bins(centre: float, spread: float) -> list[tuple[str, tuple[int, int, int]]]:
    """Legend rows for :func:`diverging_rgba`."""
    e = [centre - 1.5 * spread, centre - 0.5 * spread, centre + 0.5 * spread, centre + 1.5 * spread]
    labels = [f"below {e[0]:.1f}", f"{e[0]:.1f} to {e[1]:.1f}", f"{e[1]:.1f} to {e[2]:.1f}",
              f"{e[2]:.1f} to {e[3]:.1f}", f"above {e[3]:.1f}"]
    return list(zip(labels, DIVERGING_RGB))


def aggregate_lsoas21(lsoa21_df: pd.DataFrame, field: str = "imd", cell_deg: tuple[float, float] = (0.1, 0.15)) -> pd.DataFrame:
    """IoD2025 2021 LSOAs pooled into grid cells (as :func:`aggregate_lsoas`) and combined by
    deciles: per cell the mean position of its LSOA centres, the number of LSOAs, the % of them in
    England's most deprived 20% by ``field`` (a key of FIELDS25) and their median decile."""
    dcol = FIELDS25[field][1]
    d = lsoa21_df[lsoa21_df[dcol].notna()].copy()
    d["gy"] = np.floor(d.lat / cell_deg[0]).astype(int)
    d["gx"] = np.floor(d.lon / cell_deg[1]).astype(int)
    d["low20"] = (d[dcol] <= 2).astype(float)
    g = d.groupby(["gy", "gx"]).agg(lsoas=("lsoa21", "size"), lat=("lat", "mean"), lon=("lon", "mean"),
                                    share_20=("low20", "mean"), decile=(dcol, median_decile)).reset_index()
    g["share_20"] = (100 * g.share_20).round(1)
    return g[["lat", "lon", "lsoas", "share_20", "decile"]]


def aggregate_lsoas(lsoa_df: pd.DataFrame, field: str = "imd", cell_deg: tuple[float, float] = (0.1, 0.15)) -> pd.DataFrame:
    """LSOA centroids pooled into grid cells (default 0.1 deg latitude x 0.15 deg longitude, about
    11 x 10 km) for a national map: per cell the population-weighted centre, the number of LSOAs,
    the population and the population-weighted mean *score* of ``field``, with the decile that
    score would have among England's LSOAs."""
    lab, _, col, wcol = FIELDS[field]
    d = lsoa_df[lsoa_df[col].notna() & (lsoa_df[wcol] > 0)].copy()
    d["gy"] = np.floor(d.lat / cell_deg[0]).astype(int)
    d["gx"] = np.floor(d.lon / cell_deg[1]).astype(int)
    d["w"] = d[wcol].astype(float)
    d["wv"], d["wlat"], d["wlon"] = d.w * d[col], d.w * d.lat, d.w * d.lon
    g = d.groupby(["gy", "gx"]).agg(lsoas=("lsoa11", "size"), population=("w", "sum"), wv=("wv", "sum"),
                                    wlat=("wlat", "sum"), wlon=("wlon", "sum")).reset_index()
    g["score"] = g.wv / g.population
    g["lat"], g["lon"] = g.wlat / g.population, g.wlon / g.population
    g["decile"] = to_decile(g.score, decile_cuts(lsoa_df, field))
    return g[["lat", "lon", "lsoas", "population", "score", "decile"]]


def school_values(key_stage: int, measure: str, start_year: int, colour_by: str, *, radius_km: float = RADIUS_KM,
                  score: str = "idaci", la_code: str | None = None, path=None, index: str = "iod2019") -> pd.DataFrame:
    """Schools to draw on a map with the value they are coloured by.

    ``colour_by``: 'disadvantaged' (the measure for disadvantaged pupils), 'gap' (other minus
    disadvantaged in the same school), 'prediction' (difference from what the neighbourhood
    predicts, see :func:`predicted_vs_actual`) or 'ofsted' (latest single-word grade, dated). Columns: urn, name,
    la_code, lat, lon, location_source, cohort (disadvantaged pupils, sizes the dot), value,
    value_text, plus the neighbourhood scores. Only schools with a value are returned (Ofsted:
    schools with a result in the year, or every school in the LA when ``measure`` has none).
    """
    sc = all_scores(radius_km, path, index)
    o = outcomes(key_stage, measure, start_year, path).drop(columns=["la_code"])
    df = sc.merge(o, on="urn", how="left")
    if la_code:
        df = df[df.la_code == str(la_code)]
    m = MEASURES[measure]
    if colour_by == "disadvantaged":
        df = df[df.disadvantaged.notna()].copy()
        df["value"] = df.disadvantaged
        df["value_text"] = [f"{m.label}, disadvantaged pupils: {fmt_tip(measure, v)}" for v in df.value]
    elif colour_by == "gap":
        df = df[df.disadvantaged.notna() & df.other.notna()].copy()
        df["value"] = df.other - df.disadvantaged
        df["value_text"] = [f"Gap (other minus disadvantaged): {v:.1f}" for v in df.value]
    elif colour_by == "prediction":
        p = predicted_vs_actual(key_stage, measure, start_year, radius_km=radius_km, score=score, path=path,
                                index=index).table
        df = df.merge(p[["urn", "difference", "low", "high", "verdict"]], on="urn", how="inner")
        df["value"] = df.difference
        df["value_text"] = [f"{fmt_tip(measure, a)} vs {v:+.1f} predicted difference ({lo:+.1f} to {hi:+.1f}): {vd}"
                            for a, v, lo, hi, vd in zip(df.disadvantaged, df.difference, df.low, df.high, df.verdict)]
    elif colour_by == "ofsted":
        of = latest_ofsted(path)
        base = df[df.disadvantaged.notna()] if df.disadvantaged.notna().any() else df
        df = base.merge(of, on="urn", how="inner")
        df["value"] = df.grade.astype(float)
        from equity.analysis.ofsted import dated_note
        df["value_text"] = [f"Ofsted single-word grade: {g} ({d:%d %b %Y}{dated_note(d)})"
                            + (f"; since then: {n}" if n else "")
                            for g, d, n in zip(df.grade_label, pd.to_datetime(df.inspection_date), df.newer)]
    else:
        raise ValueError("colour_by must be 'disadvantaged', 'gap', 'prediction' or 'ofsted'")
    df["cohort"] = df.cohort_disadvantaged.fillna(0).astype(int)
    return df.reset_index(drop=True)


def tooltip_html(*parts) -> str:
    """Tooltip text: the non-empty parts, one per line. The parts are HTML (pydeck renders it):
    names from files go in through ``equity.safe_text.html``."""
    return "<br/>".join(str(p) for p in parts if p)


def lsoa21_layer_rows(la_code: str, field: str = "idaci", path=None) -> tuple[str, pd.DataFrame]:
    """What a map draws for the 2021 LSOAs of one LA on IoD2025, shaded by ``field`` (a key of
    FIELDS25): ('polygons', one row per polygon part with ``polygon`` = list of rings), or
    ('polygons', empty) when the database holds none for the LA. Each row has lsoa21, name,
    decile, rank, ``fill`` (RGBA) and ``tip``."""
    lab, dcol, rcol = FIELDS25[field]
    polys = lsoa21_polygons(la_code, path)
    rows = []
    for r in polys.itertuples(index=False):
        for part in json.loads(r.geometry)["coordinates"]:
            rows.append({"lsoa21": r.lsoa21, "name": r.name, "decile": getattr(r, dcol), "rank": getattr(r, rcol),
                         "imd_decile": r.imd_decile, "idaci_decile": r.idaci_decile, "polygon": part})
    df = pd.DataFrame(rows, columns=["lsoa21", "name", "decile", "rank", "imd_decile", "idaci_decile", "polygon"])
    if df.empty:
        return "polygons", df
    df["fill"] = decile_rgba(df.decile)
    df["tip"] = [tooltip_html(f"<b>{n}</b> ({c})",
                              f"{lab}: decile {int(d) if pd.notna(d) else 'n/a'} (1 = most deprived 10%), "
                              f"rank {int(k):,} of {LSOA21_COUNT:,}" if pd.notna(k) else f"{lab}: n/a",
                              f"IMD decile {int(i)}; IDACI decile {int(a)} (IoD2025)" if pd.notna(i) and pd.notna(a) else "")
                 for n, c, d, k, i, a in zip(df.name, df.lsoa21, df.decile, df["rank"], df.imd_decile, df.idaci_decile)]
    return "polygons", df.reset_index(drop=True)


def lsoa_layer_rows(la_code: str, field: str = "idaci", path=None) -> tuple[str, pd.DataFrame]:
    """What a map draws for the LSOAs of one LA, shaded by ``field`` (a key of FIELDS).

    Returns ('polygons', rows with ``polygon`` = list of rings, one row per polygon part) where
    boundaries are bundled (Hampshire, Surrey, North Yorkshire, Greater Manchester), else
    ('centroids', rows with lat/lon of the population-weighted centroids of the LA's LSOAs), or
    ('centroids around schools', the LSOAs inside the box around the LA's schools) for an LA
    code that no district maps to (LAs reorganised after 2019).
    Each row has lsoa11, name, decile, score, ``fill`` (RGBA) and ``tip`` (tooltip text).
    """
    lab, dcol, scol, _ = FIELDS[field]
    kind = "polygons"
    polys = lsoa_polygons(la_code, path)
    if len(polys):
        rows = []
        for r in polys.itertuples(index=False):
            geom = json.loads(r.geometry)
            for part in geom["coordinates"]:
                rows.append({"lsoa11": r.lsoa11, "name": r.name, "decile": getattr(r, dcol), "score": getattr(r, scol),
                             "imd_score": r.imd_score, "idaci_score": r.idaci_score, "polygon": part})
        df, kind = pd.DataFrame(rows), "polygons"
    else:
        L = lsoas(path)
        sel = L[L.la_code == str(la_code)]
        if sel.empty:  # an LA code newer than the districts' (e.g. after a reorganisation): the area of its schools
            s = schools(path)
            s = s[s.la_code == str(la_code)]
            if len(s):
                sel = L[L.lat.between(s.lat.min() - 0.01, s.lat.max() + 0.01)
                        & L.lon.between(s.lon.min() - 0.015, s.lon.max() + 0.015)]
                kind = "centroids around schools"
        df = pd.DataFrame({"lsoa11": sel.lsoa11, "name": sel.name, "decile": sel[dcol], "score": sel[scol],
                           "imd_score": sel.imd_score, "idaci_score": sel.idaci_score, "lat": sel.lat, "lon": sel.lon})
        kind = "centroids" if kind == "polygons" else kind
    if df.empty:
        return kind, df
    df["fill"] = decile_rgba(df.decile)
    df["tip"] = [tooltip_html(f"<b>{_esc(n)}</b> ({_esc(c)})", f"{lab}: decile {int(d) if pd.notna(d) else 'n/a'} (1 = most deprived 10%)",
                      f"IMD score {i:.1f}; IDACI {a:.3f}" if pd.notna(i) and pd.notna(a) else "")
                 for n, c, d, i, a in zip(df.name, df.lsoa11, df.decile, df.imd_score, df.idaci_score)]
    return kind, df.reset_index(drop=True)


def la_outline_rows(bbox: tuple[float, float, float, float] | None = None, path=None) -> pd.DataFrame:
    """LA outlines as paths (one row per ring): la_code, la_name, method, path, tip. With ``bbox``
    (min_lon, min_lat, max_lon, max_lat) only the LAs whose extent overlaps it (what a map shows)."""
    b = la_boundaries(path)
    if bbox is not None:
        x0, y0, x1, y1 = bbox
        b = b[(b.max_lon >= x0) & (b.min_lon <= x1) & (b.max_lat >= y0) & (b.min_lat <= y1)]
    rows = []
    for r in b.itertuples(index=False):
        for part in json.loads(r.geometry)["coordinates"]:
            for ring in part:
                rows.append({"la_code": r.la_code, "la_name": r.la_name, "method": r.method, "path": ring,
                             "tip": f"<b>{_esc(r.la_name)}</b> ({_esc(r.la_code)}): outline {_esc(r.method)}"})
    return pd.DataFrame(rows, columns=["la_code", "la_name", "method", "path", "tip"])


FOCUS_ZOOM = 11.5  # a map centred on one school shows at least its streets


def view_for(lats, lons, width_px: int = 900, height_px: int | None = None,
             zoom_range: tuple[float, float] = (4.0, 14.0), focus: tuple[float, float] | None = None) -> dict:
    """Centre and zoom (web-Mercator) that fit the points in a map about ``width_px`` wide (and, when
    given, ``height_px`` high), the zoom kept within ``zoom_range``. With ``focus`` (lat, lon) the map
    is centred on that point instead, at the fitted zoom or :data:`FOCUS_ZOOM`, whichever is closer.
    The one map-view rule of the app (the Neighbourhoods and Families maps)."""
    lats = np.asarray(lats, dtype=float)
    lons = np.asarray(lons, dtype=float)
    ok = np.isfinite(lats) & np.isfinite(lons)
    if not ok.any():
        view = {"latitude": 52.8, "longitude": -1.6, "zoom": 5.2}
    else:
        lats, lons = lats[ok], lons[ok]
        mid = float((lats.min() + lats.max()) / 2)
        span_y = max(float(lats.max() - lats.min()) / max(math.cos(math.radians(mid)), 0.2), 0.02)
        span_x = max(float(lons.max() - lons.min()), 0.02)
        # deck.gl's world is 512 px wide at zoom 0
        fit = (width_px * 360 / (512 * max(span_x, span_y)) if height_px is None else
               min(width_px * 360 / (512 * span_x), height_px * 360 / (512 * span_y)))
        zoom = math.log2(fit) - 0.15
        view = {"latitude": mid, "longitude": float((lons.min() + lons.max()) / 2),
                "zoom": round(min(max(zoom, zoom_range[0]), zoom_range[1]), 2)}
    if focus is not None:
        view = {"latitude": float(focus[0]), "longitude": float(focus[1]), "zoom": max(view["zoom"], FOCUS_ZOOM)}
    return view
