"""Neighbourhood files: the English Indices of Deprivation 2019 (IoD2019), ONS LSOA geography and
boundaries. Each loader recognises its file by its columns (GeoJSON by its features' properties).

What arrives and where it goes (staging tables; ``equity/sql/build/marts_location.sql`` assembles
the ``lsoa`` table from them and gives every school an LSOA):

* IoD2019 LSOA files (File 1 IMD rank/decile, File 2 domain ranks/deciles, File 3 IDACI/IDAOPI,
  File 6 population denominators, File 9 exponentially transformed domain scores, and the
  humaniverse indicator and sub-domain files): ``stg_lsoa_wide``, one row per LSOA per file
  with the fields that file has (see VALUE_FIELDS), plus names and districts in ``stg_lsoa_text``. Ranks printed with thousands commas
  (``"29,199"``) are read as numbers; a blank cell stays missing (the IDACI numerator is blank for
  LSOAs where MHCLG suppressed it), never 0.
* IoD2019 postcode look-up output (``Postcode``, ``LSOA code``, ``IDACI Score``...): postcode ->
  LSOA (``stg_postcode_lsoa``) and the *published* IDACI, income, employment and IDAOPI scores for
  the LSOAs it covers. Rows marked ``**UNMATCHED**`` are skipped and counted.
* LSOA 2011 population-weighted centroids (``X`` = longitude, ``Y`` = latitude, WGS84): English
  LSOAs (E01) only, into ``stg_lsoa_centroid``; Welsh rows are counted and skipped.
* LSOA and LA boundaries (GeoJSON, gzipped or not): LSOA polygons into ``lsoa_boundary``; LA
  polygons as published into ``la_boundary``; where LSOA polygons carry their upper-tier LA code
  (``UTLACD``), the LA outline is also dissolved from them (edges used by exactly one LSOA polygon
  are the outside edges; the ONS generalised polygons share vertices exactly, so no geometry
  library is needed) and stored with ``method = 'dissolved from LSOA polygons'``.
* GM look-ups (LSOA -> ward, OA -> LSOA -> MSOA -> district) and the IoD2019 district summaries,
  kept as published in ``lsoa_ward``, ``oa_lsoa`` and ``lad_deprivation``.

Coordinates are rounded to 5 decimal places (about a metre) when stored: the maps do not need
more and the browser gets less to draw.

The derived ``lsoa`` table (marts_location.sql) holds, per LSOA: name, district (lad19cd/nm), the
DfE LA code where known (boundary files, the GM codes, else the LA of most of the district's
schools), IMD rank/decile and the **IMD score rebuilt from File 9** (the official weights; ranks
agree exactly with File 1 for about 90% of LSOAs and within 4 places for all, as File 9 is rounded),
domain ranks/deciles and transformed scores, IDACI rank/decile and **IDACI score** with
``idaci_score_source``: 'published' (the postcode look-up, 17,099 LSOAs), else 'interpolated from
rank' (linear in IDACI rank between the nearest published LSOAs above and below), else 'estimated
from numerator' (IDACI numerator / children aged 0-15). Interpolation comes before the numerator
because it is far closer where both can be checked: rebuilding half the published scores from the
other half misses by 0.0001 on average, the numerator / children route by 0.005 (its mid-2015
child counts are not exactly MHCLG's denominator). Populations (mid-2015), sub-domains, and the
population-weighted centroid (lat, lon) complete the row.
"""
from __future__ import annotations

import gzip
import json
import re
from collections import defaultdict
from pathlib import Path

import numpy as np
import pandas as pd

from equity.ingest.errors import IngestError, rel
from equity.ingest.sniff import Sniffed, check_truncated

LSOA_CODE = re.compile(r"^[EW]01\d{6}$")

# DfE three-digit LA codes for the ONS codes of the areas whose boundaries are bundled. Pairs as
# published side by side (old_la_code, new_la_code) in DfE's 2023/24 KS4 school file.
ONS_TO_DFE_LA = {
    "E10000014": "850",  # Hampshire
    "E10000030": "936",  # Surrey
    "E06000065": "815",  # North Yorkshire (2023 unitary; the same area as DfE's LA 815)
    "E06000014": "816",  # York
    "E08000001": "350", "E08000002": "351", "E08000003": "352", "E08000004": "353", "E08000005": "354",
    "E08000006": "355", "E08000007": "356", "E08000008": "357", "E08000009": "358", "E08000010": "359",
}

# field -> pattern on the lower-cased column name (first match wins, one field per column)
VALUE_FIELDS = [
    ("imd_rank", r"^index of multiple deprivation \(imd\) rank"),
    ("imd_decile", r"^index of multiple deprivation \(imd\) decile"),
    ("income_rank", r"^income rank"), ("income_decile", r"^income decile"),
    ("employment_rank", r"^employment rank"), ("employment_decile", r"^employment decile"),
    ("education_rank", r"^education, skills and training rank"),
    ("education_decile", r"^education, skills and training decile"),
    ("health_rank", r"^health deprivation and disability rank"),
    ("health_decile", r"^health deprivation and disability decile"),
    ("crime_rank", r"^crime rank"), ("crime_decile", r"^crime decile"),
    ("barriers_rank", r"^barriers to housing and services rank"),
    ("barriers_decile", r"^barriers to housing and services decile"),
    ("living_env_rank", r"^living environment rank"), ("living_env_decile", r"^living environment decile"),
    ("idaci_rank", r"^income deprivation affecting children index \(idaci\) rank"),
    ("idaci_decile", r"^income deprivation affecting children index \(idaci\) decile"),
    ("idaopi_rank", r"^income deprivation affecting older people \(idaopi\) rank"),
    ("idaopi_decile", r"^income deprivation affecting older people \(idaopi\) decile"),
    ("pop_total", r"^total population"),
    ("pop_children", r"^dependent children aged 0-15"),
    ("pop_16_59", r"^population aged 16-59"),
    ("pop_60_plus", r"^older population aged 60"),
    ("pop_working_age", r"^working age population"),
    ("income_exp", r"^income score - exponentially transformed"),
    ("employment_exp", r"^employment score - exponentially transformed"),
    ("education_exp", r"^education score - exponentially transformed"),
    ("health_exp", r"^health score - exponentially transformed"),
    ("crime_exp", r"^crime score - exponentially transformed"),
    ("barriers_exp", r"^barriers score - exponentially transformed"),
    ("living_env_exp", r"^living environment score - exponentially transformed"),
    # humaniverse: IoD2019 File 8 indicators (numerators) and File 4 sub-domains, renamed
    ("income_numerator", r"^income_domain_numerator$"),
    ("idaci_numerator", r"^income_deprivation_affecting_children_index_idaci_numerator$"),
    ("idaopi_numerator", r"^income_deprivation_affecting_older_people_index_idaopi_numerator$"),
    ("employment_numerator", r"^employment_domain_numerator$"),
    ("cyp_rank", r"^children_and_young_people_rank$"), ("cyp_decile", r"^children_and_young_people_decile$"),
    ("adult_skills_rank", r"^adult_skills_rank$"), ("adult_skills_decile", r"^adult_skills_decile$"),
    ("geographical_barriers_rank", r"^geographical_barriers_rank$"),
    ("geographical_barriers_decile", r"^geographical_barriers_decile$"),
    ("wider_barriers_rank", r"^wider_barriers_rank$"), ("wider_barriers_decile", r"^wider_barriers_decile$"),
    ("indoors_rank", r"^indoors_rank$"), ("indoors_decile", r"^indoors_decile$"),
    ("outdoors_rank", r"^outdoors_rank$"), ("outdoors_decile", r"^outdoors_decile$"),
]
TEXT_FIELDS = [("name", r"^lsoa name"), ("lad19cd", r"^local authority district code"),
               ("lad19nm", r"^local authority district name")]
KEY = r"^(lsoa code( \(2011\))?|lsoa11_?code|lsoa11cd)$"

def ensure_tables(writer) -> None:
    """Create the staging tables (idempotent) and the ONS -> DfE LA code pairs."""
    writer.run("build/geography/staging")  # stg_lsoa_wide's value columns are VALUE_FIELDS
    if int(writer.fetch("build/geography/ons_la_codes").n[0]) == 0:
        writer.insert_df("ons_la_code", pd.DataFrame(sorted(ONS_TO_DFE_LA.items()), columns=["ons_code", "la_code"]))


# ---- reading helpers ----------------------------------------------------------------------------

def _read(s) -> pd.DataFrame:
    """All cells as text ('' for empty), columns as in the header; ``_row`` = data row from 1."""
    try:
        df = pd.read_csv(s.readable_path, dtype=str, keep_default_na=False, na_filter=False,
                         encoding="utf-8-sig", compression="infer")
    except Exception as exc:  # pandas names the line
        raise IngestError(rel(s.path), None, None, f"the CSV reader could not parse it: {exc}") from exc
    df.columns = [str(c).strip() for c in df.columns]
    df["_row"] = np.arange(1, len(df) + 1)
    return df


def numeric(values: pd.Series) -> tuple[pd.Series, int, int]:
    """Text cells -> numbers: ``'29,199'`` -> 29199, ``'18.3%'`` -> 18.3, blank -> missing.

    Returns (numbers, blank cells, cells that are neither blank nor a number). The second kind stays
    missing too and is reported; it never becomes 0.
    """
    t = values.astype(str).str.strip()
    blank = t.eq("")
    num = pd.to_numeric(t.str.replace(",", "", regex=False).str.replace("%", "", regex=False), errors="coerce")
    num = num.where(np.isfinite(num))
    bad = ~blank & num.isna()
    return num, int(blank.sum()), int(bad.sum())


def _match(header: list[str], patterns: list[tuple[str, str]]) -> dict[str, str]:
    """field -> column, first pattern that matches a column (case-insensitive), one field per column."""
    out, used = {}, set()
    for field_name, pat in patterns:
        rx = re.compile(pat)
        for col in header:
            if col not in used and rx.search(col.lower()):
                out[field_name] = col
                used.add(col)
                break
    return out


def _key_column(header: list[str]) -> str | None:
    rx = re.compile(KEY)
    return next((c for c in header if rx.match(c.strip().lower())), None)


def _check_codes(codes: pd.Series, rows: pd.Series, fname: str, column: str, allow_blank: bool = False) -> None:
    """Raise IngestError at the first cell that is not an LSOA code (E01... or W01...)."""
    c = codes.str.strip()
    bad = ~c.str.match(LSOA_CODE)
    if allow_blank:
        bad &= c.ne("")
    if bad.any():
        i = bad.idxmax()
        raise IngestError(fname, int(rows[i]), column, f"{codes[i]!r} is not an LSOA code (E01... or W01...)")


def _lower(header) -> set[str]:
    return {h.strip().lower() for h in header}


# ---- CSV loaders ---------------------------------------------------------------------------------

class IoDLsoaFile:
    """Any IoD2019 LSOA-level file: an LSOA code column and at least one known IoD column."""
    kind = "IoD2019 LSOA indicators"

    def recognise(self, s) -> bool:
        low = _lower(s.header)
        if _key_column(s.header) is None or "postcode" in low or {"x", "y"} <= low:
            return False
        return bool(_match(s.header, VALUE_FIELDS))

    def load(self, ctx, s) -> None:
        check_truncated(s)
        fname = rel(s.path)
        ensure_tables(ctx.writer)
        df = _read(s)
        key = _key_column(list(df.columns))
        _check_codes(df[key], df["_row"], fname, key)
        values = _match(list(df.columns), VALUE_FIELDS)
        texts = _match(list(df.columns), TEXT_FIELDS)
        codes = df[key].str.strip()
        wide, blanks, bad_cells = pd.DataFrame({"lsoa11": codes}), 0, []
        for field_name, col in values.items():
            num, n_blank, n_bad = numeric(df[col])
            blanks += n_blank
            if n_bad:
                i = (df[col].str.strip().ne("") & num.isna()).idxmax()
                bad_cells.append(f"{col} row {int(df['_row'][i])}: {df[col][i]!r}")
            wide[field_name] = num.astype("float64")
        wide["source_file"] = fname
        ctx.writer.insert_df("stg_lsoa_wide", wide)  # by name: the fields this file has
        if texts:
            t = pd.DataFrame({"lsoa11": codes})
            for f in ("name", "lad19cd", "lad19nm"):
                t[f] = df[texts[f]].str.strip().replace("", None) if f in texts else None
            t["source_file"] = fname
            ctx.writer.insert_df("stg_lsoa_text", t)
        dups = int(codes.duplicated().sum())
        if dups:
            raise IngestError(fname, int(df["_row"][codes.duplicated().idxmax()]), key,
                              f"{dups} LSOA codes appear more than once")
        unused = [c for c in df.columns if c not in set(values.values()) | set(texts.values()) | {key, "_row"}]
        msg = (f"{len(df):,} LSOAs; fields: {', '.join(values)}"
               + (f"; {blanks:,} blank cells kept as missing" if blanks else "")
               + (f"; columns not used: {', '.join(unused)}" if unused else ""))
        ctx.report.ok("deprivation files read", msg, len(df), fname)
        if bad_cells:
            ctx.report.warn("deprivation files read", "cells that are not numbers, kept as missing: "
                            + "; ".join(bad_cells[:5]), len(bad_cells), fname)
        ctx.record_file(s, self.kind, rows=len(df), year_evidence="IoD2019 (LSOA 2011 geography)")


class PostcodeLookup:
    """Output of MHCLG's IoD2019 postcode look-up tool: postcode -> LSOA with published scores."""
    kind = "IoD2019 postcode look-up"
    NUMS = {"imd_rank": "index of multiple deprivation rank", "idaci_rank": "idaci rank",
            "idaci_score": "idaci score", "income_score": "income score", "employment_score": "employment score",
            "idaopi_score": "idaopi score"}

    def recognise(self, s) -> bool:
        return {"postcode", "lsoa code", "idaci score"} <= _lower(s.header)

    def load(self, ctx, s) -> None:
        check_truncated(s)
        fname = rel(s.path)
        ensure_tables(ctx.writer)
        df = _read(s)
        cols = {c.lower(): c for c in df.columns}
        status = df[cols["postcode status"]].str.strip() if "postcode status" in cols else pd.Series("", index=df.index)
        lsoa = df[cols["lsoa code"]].str.strip()
        unmatched = status.str.upper().eq("**UNMATCHED**") | lsoa.eq("")
        _check_codes(lsoa[~unmatched], df["_row"][~unmatched], fname, cols["lsoa code"])
        keep = df[~unmatched]
        pc = keep[cols["postcode"]].str.strip().str.upper()
        out = pd.DataFrame({"postcode": pc, "postcode_key": pc.str.replace(" ", "", regex=False),
                            "status": status[~unmatched], "lsoa11": lsoa[~unmatched],
                            "lsoa_name": keep[cols["lsoa name"]].str.strip() if "lsoa name" in cols else None})
        for f, c in self.NUMS.items():
            out[f] = numeric(keep[cols[c]])[0] if c in cols else np.nan
        out["source_file"] = fname
        out["source_row"] = keep["_row"].astype("int32")
        ctx.writer.insert_df("stg_postcode_lsoa", out)
        ctx.report.ok("postcode look-up", f"{len(out):,} postcodes with an LSOA ({out.lsoa11.nunique():,} LSOAs, "
                      f"{int(out.idaci_score.notna().sum()):,} with a published IDACI score); "
                      f"{int(unmatched.sum())} rows marked **UNMATCHED** skipped", len(out), fname)
        ctx.record_file(s, self.kind, rows=len(df), year_evidence="IoD2019 (LSOA 2011 geography)")


class LsoaCentroids:
    """ONS LSOA 2011 population-weighted centroids: X = longitude, Y = latitude (WGS84)."""
    kind = "LSOA population-weighted centroids"

    def recognise(self, s) -> bool:
        return _key_column(s.header) is not None and {"x", "y"} <= _lower(s.header)

    def load(self, ctx, s) -> None:
        check_truncated(s)
        fname = rel(s.path)
        ensure_tables(ctx.writer)
        df = _read(s)
        cols = {c.lower(): c for c in df.columns}
        key = _key_column(list(df.columns))
        _check_codes(df[key], df["_row"], fname, key)
        # a cell that is not a number is missing, and an English row without a position fails below
        lon, _, _ = numeric(df[cols["x"]])
        lat, _, _ = numeric(df[cols["y"]])
        england = df[key].str.strip().str.startswith("E01")
        out_of_range = england & ~(lat.between(49.8, 55.9) & lon.between(-6.5, 2.0))
        if out_of_range.any():
            i = out_of_range.idxmax()
            raise IngestError(fname, int(df["_row"][i]), cols["y"],
                              f"centroid ({df[cols['x']][i]}, {df[cols['y']][i]}) is not in England: expected "
                              "X = longitude and Y = latitude in WGS84 degrees")
        name_col = next((c for c in df.columns if c.lower().startswith("lsoa11nm")), None)
        out = pd.DataFrame({"lsoa11": df[key].str.strip(), "name": df[name_col].str.strip() if name_col else None,
                            "lat": lat, "lon": lon})[england]
        out["source_file"] = fname
        ctx.writer.insert_df("stg_lsoa_centroid", out)
        ctx.report.ok("LSOA centroids", f"{len(out):,} English LSOA centroids; {int((~england).sum()):,} outside "
                      "England (Welsh W01) skipped", len(out), fname)
        ctx.record_file(s, self.kind, rows=len(df), year_evidence="LSOA December 2011 geography")


class LsoaWard:
    """ONS best-fit look-up from LSOA 2011 to wards."""
    kind = "LSOA to ward look-up"

    def recognise(self, s) -> bool:
        low = _lower(s.header)
        return "lsoa11cd" in low and any(h.startswith("wd") and h.endswith("cd") for h in low)

    def load(self, ctx, s) -> None:
        fname = rel(s.path)
        ensure_tables(ctx.writer)
        df = _read(s)
        low = {c.lower(): c for c in df.columns}
        wcd = next(c for l, c in low.items() if l.startswith("wd") and l.endswith("cd"))
        wnm = next((c for l, c in low.items() if l.startswith("wd") and l.endswith("nm")), None)
        lcd = next((c for l, c in low.items() if l.startswith("lad") and l.endswith("cd")), None)
        lnm = next((c for l, c in low.items() if l.startswith("lad") and l.endswith("nm")), None)
        _check_codes(df[low["lsoa11cd"]], df["_row"], fname, low["lsoa11cd"])
        out = pd.DataFrame({"lsoa11": df[low["lsoa11cd"]].str.strip(), "ward_code": df[wcd].str.strip(),
                            "ward_name": df[wnm] if wnm else None, "lad_code": df[lcd] if lcd else None,
                            "lad_name": df[lnm] if lnm else None, "source_file": fname})
        ctx.writer.insert_df("lsoa_ward", out)
        ctx.record_file(s, self.kind, rows=len(df), year_evidence=f"ward codes {wcd}")


class OaLsoaLookup:
    """ONS output area -> LSOA -> MSOA -> district look-up (2011 statistical geography)."""
    kind = "OA to LSOA look-up"

    def recognise(self, s) -> bool:
        return {"oa11cd", "lsoa11cd"} <= _lower(s.header)

    def load(self, ctx, s) -> None:
        fname = rel(s.path)
        ensure_tables(ctx.writer)
        df = _read(s)
        low = {c.lower(): c for c in df.columns}
        _check_codes(df[low["lsoa11cd"]], df["_row"], fname, low["lsoa11cd"])
        get = lambda *names: next((df[low[n]].str.strip() for n in names if n in low), None)  # noqa: E731
        out = pd.DataFrame({"oa11": get("oa11cd"), "lsoa11": get("lsoa11cd"), "lsoa_name": get("lsoa11nm"),
                            "msoa11": get("msoa11cd"), "msoa_name": get("msoa11nm"),
                            "lad_code": get("lad11cd", "lad17cd", "lad19cd"),
                            "lad_name": get("lad11nm", "lad17nm", "lad19nm"), "source_file": fname})
        ctx.writer.insert_df("oa_lsoa", out)
        ctx.record_file(s, self.kind, rows=len(df), year_evidence="2011 statistical geography")


class LadSummaries:
    """IoD2019 local authority district summaries (average rank, average score, share in the most
    deprived decile), one row per district and index or domain."""
    kind = "IoD2019 district summaries"
    NUMS = ["average_rank", "rank_average_rank", "average_score", "rank_average_score", "proportion_bottom_decile",
            "rank_proportion_bottom_decile", "year"]

    def recognise(self, s) -> bool:
        return {"lad19cd", "index_domain", "average_score"} <= _lower(s.header)

    def load(self, ctx, s) -> None:
        fname = rel(s.path)
        ensure_tables(ctx.writer)
        df = _read(s)
        low = {c.lower(): c for c in df.columns}
        out = pd.DataFrame({"lad19cd": df[low["lad19cd"]].str.strip(),
                            "lad19nm": df[low["lad19nm"]].str.strip() if "lad19nm" in low else None,
                            "index_domain": df[low["index_domain"]].str.strip()})
        for f in self.NUMS:
            out[f] = numeric(df[low[f]])[0] if f in low else np.nan
        out["year"] = out["year"].astype("Int64")
        out["source_file"] = fname
        ctx.writer.insert_df("lad_deprivation", out)
        ctx.record_file(s, self.kind, rows=len(df), year_evidence="IoD2019")


# ---- GeoJSON -----------------------------------------------------------------------------------

def read_geojson(path: Path) -> dict | None:
    """The parsed FeatureCollection, or None when the file is not GeoJSON (gzip aware)."""
    try:
        raw = Path(path).read_bytes()
        if raw[:2] == b"\x1f\x8b":
            raw = gzip.decompress(raw)
        head = raw[:4096].lstrip()
        if not head.startswith(b"{") or b"Feature" not in raw[:65536]:
            return None
        doc = json.loads(raw.decode("utf-8-sig"))
    except (OSError, EOFError, ValueError, UnicodeDecodeError, gzip.BadGzipFile):
        return None
    if not isinstance(doc, dict) or doc.get("type") != "FeatureCollection" or not isinstance(doc.get("features"), list):
        return None
    return doc


def _code_of(props: dict, pattern: str) -> tuple[str | None, str | None]:
    """(property name, value) of the first property whose value matches ``pattern``."""
    prefer = ["LSOA11CD", "lsoa11cd", "area_code", "code", "LAD21CD", "LAD19CD", "CTYUA21CD", "UTLA21CD"]
    rx = re.compile(pattern)
    for k in prefer + [k for k in props if k not in prefer]:
        v = props.get(k)
        if isinstance(v, str) and rx.match(v):
            return k, v
    return None, None


def _name_of(props: dict) -> str | None:
    for k in ("LSOA11NM", "lsoa11nm", "area_name", "name", "LAD21NM", "LAD19NM"):
        if isinstance(props.get(k), str):
            return props[k]
    return None


def _polygons(geometry: dict) -> list:
    """A Polygon or MultiPolygon as a list of polygons (each a list of rings of [lon, lat])."""
    if not geometry:
        return []
    if geometry.get("type") == "Polygon":
        return [geometry["coordinates"]]
    if geometry.get("type") == "MultiPolygon":
        return list(geometry["coordinates"])
    return []


def _round_polys(polys: list, dp: int = 5) -> list:
    """Coordinates rounded to ``dp`` decimals, repeated points dropped, rings of < 4 points dropped."""
    out = []
    for poly in polys:
        rings = []
        for ring in poly:
            a = np.round(np.asarray(ring, dtype=float)[:, :2], dp)
            keep = np.ones(len(a), dtype=bool)
            keep[1:] = (a[1:] != a[:-1]).any(axis=1)
            a = a[keep]
            if len(a) >= 4:
                rings.append(a.tolist())
        if rings:
            out.append(rings)
    return out


def _bbox(polys: list) -> tuple[float, float, float, float]:
    xs = [p[0] for poly in polys for ring in poly for p in ring]
    ys = [p[1] for poly in polys for ring in poly for p in ring]
    return min(xs), min(ys), max(xs), max(ys)


def _ring_area(ring: list) -> float:
    x = np.array([p[0] for p in ring])
    y = np.array([p[1] for p in ring])
    return 0.5 * float(np.dot(x[:-1], y[1:]) - np.dot(x[1:], y[:-1]))


def _inside(pt, ring) -> bool:
    """Ray casting: is point ``pt`` inside ``ring``?"""
    x, y = pt
    inside = False
    for (x1, y1), (x2, y2) in zip(ring, ring[1:]):
        if (y1 > y) != (y2 > y) and x < (x2 - x1) * (y - y1) / (y2 - y1) + x1:
            inside = not inside
    return inside


def dissolve(polygon_sets: list[list]) -> list:
    """Dissolve polygons that tile an area into its outline, as MultiPolygon coordinates.

    An edge shared by two neighbouring polygons is inside the area; an edge used once is on its
    boundary. Chaining the once-used edges gives the outline's rings; the largest rings are outer
    rings and a ring inside one of them is a hole (enclaves). This relies on neighbours sharing
    vertices exactly, which holds for ONS's generalised LSOA boundaries (checked by the count of
    vertices on the outline with other than two outline edges, returned in the report).
    """
    count: dict = defaultdict(int)
    for polys in polygon_sets:
        for poly in polys:
            for ring in poly:
                for a, b in zip(ring, ring[1:]):
                    a, b = tuple(a), tuple(b)
                    if a != b:
                        count[(a, b) if a < b else (b, a)] += 1
    adj: dict = defaultdict(list)
    for (a, b), n in count.items():
        if n == 1:
            adj[a].append(b)
            adj[b].append(a)
    used: set = set()
    rings = []
    for start in list(adj):
        for nxt in adj[start]:
            e = (start, nxt) if start < nxt else (nxt, start)
            if e in used:
                continue
            ring, prev, cur = [start], start, nxt
            used.add(e)
            while True:
                ring.append(cur)
                if cur == start:
                    break
                cand = [v for v in adj[cur] if ((cur, v) if cur < v else (v, cur)) not in used]
                if not cand:
                    break
                # prefer not to turn straight back; any unused edge keeps the ring valid
                v = next((c for c in cand if c != prev), cand[0])
                used.add((cur, v) if cur < v else (v, cur))
                prev, cur = cur, v
            if len(ring) >= 4 and ring[0] == ring[-1]:
                rings.append([list(p) for p in ring])
    rings.sort(key=lambda r: abs(_ring_area(r)), reverse=True)
    polys: list = []
    for r in rings:
        host = next((p for p in polys if _inside(r[0], p[0])), None)
        if host is not None:
            host.append(r)
        else:
            polys.append([r])
    return polys


class GeoJsonBoundaries:
    """LSOA or LA boundary polygons in GeoJSON (recognised by the features' codes, not the file name)."""
    kind = "boundaries (GeoJSON)"

    def __init__(self):
        self._cache: dict[str, dict] = {}

    def recognise(self, s) -> bool:  # not a CSV loader
        return False

    def _doc(self, path: Path) -> dict | None:
        key = str(path)
        if key not in self._cache:
            name = Path(path).name.lower()
            if not (name.endswith((".geojson", ".geojson.gz", ".json", ".json.gz"))):
                self._cache[key] = None
            else:
                self._cache[key] = read_geojson(path)
        return self._cache[key]

    def _level(self, doc: dict) -> str | None:
        feats = doc.get("features") or []
        if not feats:
            return None
        props = feats[0].get("properties") or {}
        if _code_of(props, r"^[EW]01\d{6}$")[0]:
            return "lsoa"
        if _code_of(props, r"^E(06|07|08|09|10)\d{6}$")[0]:
            return "la"
        return None

    def recognise_path(self, path: Path) -> bool:
        doc = self._doc(path)
        return doc is not None and self._level(doc) is not None

    def load_path(self, ctx, path: Path) -> None:
        fname = rel(path)
        ensure_tables(ctx.writer)
        doc = self._cache.pop(str(path), None) or read_geojson(path)
        if doc is None:
            raise IngestError(fname, None, None, "not a GeoJSON FeatureCollection")
        level = self._level(doc)
        rows, by_la, skipped = [], defaultdict(list), 0
        pattern = r"^[EW]01\d{6}$" if level == "lsoa" else r"^E(06|07|08|09|10)\d{6}$"
        for i, feat in enumerate(doc["features"], start=1):
            props = feat.get("properties") or {}
            _, code = _code_of(props, pattern)
            if code is None:
                raise IngestError(fname, i, "properties", f"feature {i} has no {level.upper()} code")
            polys = _round_polys(_polygons(feat.get("geometry")))
            if not polys:
                skipped += 1
                continue
            bb = _bbox(polys)
            npts = sum(len(r) for p in polys for r in p)
            geom = json.dumps({"type": "MultiPolygon", "coordinates": polys}, separators=(",", ":"))
            if level == "lsoa":
                ons_la = props.get("UTLACD") or props.get("utlacd")
                rows.append({"lsoa11": code, "name": _name_of(props), "la_code": ONS_TO_DFE_LA.get(ons_la),
                             "ons_la_code": ons_la, "lad_code": props.get("LADCD_ACTIVE") or props.get("LAD11CD"),
                             "geometry": geom, "n_points": npts, "min_lon": bb[0], "min_lat": bb[1],
                             "max_lon": bb[2], "max_lat": bb[3], "source_file": fname})
                if ons_la:
                    by_la[ons_la].append(polys)
            else:
                rows.append({"la_code": ONS_TO_DFE_LA.get(code), "ons_code": code, "la_name": _name_of(props),
                             "method": "published", "geometry": geom, "n_points": npts, "min_lon": bb[0],
                             "min_lat": bb[1], "max_lon": bb[2], "max_lat": bb[3], "source_file": fname})
        df = pd.DataFrame(rows)
        ctx.writer.insert_df("lsoa_boundary" if level == "lsoa" else "la_boundary", df)
        dissolved = []
        for ons, sets in by_la.items():
            polys = dissolve(sets)
            if not polys:
                continue
            bb = _bbox(polys)
            dissolved.append({"la_code": ONS_TO_DFE_LA.get(ons), "ons_code": ons, "la_name": None,
                              "method": "dissolved from LSOA polygons",
                              "geometry": json.dumps({"type": "MultiPolygon", "coordinates": polys},
                                                     separators=(",", ":")),
                              "n_points": sum(len(r) for p in polys for r in p), "min_lon": bb[0], "min_lat": bb[1],
                              "max_lon": bb[2], "max_lat": bb[3], "source_file": fname})
        if dissolved:
            ctx.writer.insert_df("la_boundary", pd.DataFrame(dissolved))
        msg = f"{len(df):,} {level.upper()} polygons"
        if dissolved:
            msg += "; LA outline dissolved for " + ", ".join(
                f"{d['ons_code']} ({d['la_code'] or 'no DfE code'}, {len(json.loads(d['geometry'])['coordinates'])} part(s))"
                for d in dissolved)
        if skipped:
            msg += f"; {skipped} features without a polygon skipped"
        ctx.report.ok("boundaries", msg, len(df), fname)
        s = Sniffed(Path(path), [], "utf-8", Path(path))
        ctx.record_file(s, self.kind, rows=len(doc["features"]), year_evidence="2011 LSOA / 2021 LA geography",
                        )


GEOJSON = GeoJsonBoundaries()
LOADERS = [PostcodeLookup(), LsoaCentroids(), LsoaWard(), OaLsoaLookup(), LadSummaries(), IoDLsoaFile(), GEOJSON]


# ---- checks added to the ingest report (called from equity.ingest.checks.run_checks) ------------------------

def checks(ctx) -> None:
    """Named checks on the neighbourhood tables after the derivation step."""
    w, r = ctx.writer, ctx.report
    n = int(w.fetch("build/geography/lsoa_count").n[0])
    if n == 0:
        r.warn("LSOA deprivation", "no IoD2019 LSOA files were loaded: the neighbourhood page has no IoD2019 data", 0)
        return
    s = w.fetch("build/geography/lsoa_coverage").iloc[0]
    r.ok("LSOA deprivation", f"{int(s.n):,} LSOAs; IMD score rebuilt from File 9 for {int(s.imd):,}; "
         f"centroid for {int(s.n_loc):,}", int(s.n))
    if s.imd:
        share = s.same_rank / s.n
        (r.ok if share >= 0.85 else r.warn)(
            "IMD score rebuilt from domain scores",
            f"the rebuilt score ranks LSOAs exactly as File 1 for {int(s.same_rank):,} of {int(s.n):,} "
            f"({share:.1%}); largest difference {int(s.max_shift or 0)} places (File 9 scores are rounded to 3 dp)",
            int(s.same_rank))
    r.ok("IDACI scores", f"published (postcode look-up): {int(s.pub):,}; interpolated from IDACI rank between "
         f"published neighbours: {int(s.interp):,}; estimated from numerator / children 0-15: {int(s.est):,}; "
         f"missing: {int(s.n - s.idaci):,}", int(s.idaci))
    differ = dict(w.fetch("build/geography/files_disagree").itertuples(index=False))
    dis = pd.Series({f: differ[f] for f, _ in VALUE_FIELDS if differ.get(f, 0) > 0}, dtype="int64")
    if len(dis):
        r.warn("IoD files agree", "files disagree on: " + ", ".join(f"{f} ({int(n)} LSOAs)" for f, n in dis.items()),
               int(dis.sum()))
    else:
        r.ok("IoD files agree", "where two files give the same LSOA field (e.g. IMD rank in Files 1, 2 and 3) they agree", 0)
    sch = w.fetch("build/geography/schools_by_lsoa_source")
    r.ok("schools placed in an LSOA", "; ".join(f"{x.src}: {int(x.n):,}" for x in sch.itertuples()),
         int(sch[sch.src != "none"].n.sum()))
    loc = int(w.fetch("build/geography/schools_at_centroid").n[0])
    r.ok("schools located at their LSOA centroid", f"{loc:,} schools with no postcode coordinates are placed at "
         "their LSOA's population-weighted centroid (flagged location_source = 'lsoa_centroid')", loc)
