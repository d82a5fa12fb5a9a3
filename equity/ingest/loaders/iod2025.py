"""IoD2025 on 2021 LSOAs: MHCLG's English Indices of Deprivation 2025 (Files 1 and 3, xlsx), ONS's
2021 LSOA boundaries and the look-ups 2011 -> 2021 LSOA and 2021 LSOA -> 2024 ward -> district.

What arrives and where it goes (``equity/sql/build/marts_lsoa21.sql`` assembles the ``lsoa21``
table and gives every school a 2021 LSOA):

* IoD2025 workbooks (xlsx, read with python-calamine): a sheet is recognised by its columns, never
  by its name: an ``LSOA code (2021)`` column in the first row and at least one IoD rank or decile
  column (IMD, IDACI, IDAOPI). Files 1 and 3 give **ranks and deciles only, no scores** (scores are
  in Files 5 and 7, not bundled); score columns are read where a workbook has them. Rows go to
  ``stg_lsoa21_wide``, one per LSOA per sheet. A workbook that mentions LSOA codes but whose sheets
  are laid out otherwise (title rows above the header, 2011 codes, no rank or decile column) fails
  naming the file and the sheet.
* The 2011 -> 2021 LSOA look-up (``lsoa11_code``, ``lsoa21_code``, ``change_code``): ``lsoa11_lsoa21``.
  Change codes: U unchanged, S a 2011 LSOA split into several 2021 LSOAs, M several 2011 LSOAs
  merged into one, X an irregular change; any other code fails naming the row.
* 2021 LSOA -> 2024 ward -> district: ``lsoa21_ward``.
* 2021 LSOA boundaries (GeoJSON with ``LSOA21CD``): English polygons into ``lsoa21_boundary`` with
  their edges into ``stg_lsoa21_edge`` (used during the build for each polygon's area, extent and
  centre, and to find which part of a split 2011 LSOA a school stands in). Coordinates are kept as
  published (5 decimal places, about a metre). Welsh
  polygons are counted and skipped.

2021 LSOAs have no population-weighted centroids here: a 2021 LSOA's location is the centre of its
(simplified) polygon.
"""
from __future__ import annotations

import gzip
import json
import re
from pathlib import Path

import numpy as np
import pandas as pd
from python_calamine import CalamineError, CalamineWorkbook

from equity.ingest.errors import IngestError, rel
from equity.ingest.sniff import Sniffed, check_truncated
from equity.ingest.loaders.geography import _polygons, _read, read_geojson

LSOA21_CODE = re.compile(r"^[EW]01\d{6}$")
KEY21 = r"^lsoa code \(2021\)$|^lsoa21_?cd$|^lsoa21_code$"
XLSX_FIELDS = [
    ("imd_rank", r"^index of multiple deprivation \(imd\) rank"),
    ("imd_decile", r"^index of multiple deprivation \(imd\) decile"),
    ("imd_score", r"^index of multiple deprivation \(imd\) score"),
    ("idaci_rank", r"^income deprivation affecting children index \(idaci\) rank"),
    ("idaci_decile", r"^income deprivation affecting children index \(idaci\) decile"),
    ("idaci_score", r"^income deprivation affecting children index \(idaci\) score"),
    ("idaopi_rank", r"^income deprivation affecting older people \(idaopi\) rank"),
    ("idaopi_decile", r"^income deprivation affecting older people \(idaopi\) decile"),
    ("idaopi_score", r"^income deprivation affecting older people \(idaopi\) score"),
]
XLSX_TEXT = [("name", r"^lsoa name"), ("lad_code", r"^local authority district code"),
             ("lad_name", r"^local authority district name")]
CHANGE_CODES = {"U": "unchanged", "S": "split", "M": "merged", "X": "irregular"}
N_LSOA21 = 33755  # English 2021 LSOAs: ranks run 1..N

def ensure_tables(writer) -> None:
    """Create the IoD2025 loaders' tables (idempotent); stg_lsoa21_wide's value columns are XLSX_FIELDS."""
    writer.run("build/iod2025/staging")


def _match(header: list[str], patterns) -> dict[str, int]:
    """field -> column index of the first column matching each pattern (case-insensitive)."""
    out, used = {}, set()
    low = [str(h).strip().lower() for h in header]
    for name, pat in patterns:
        rx = re.compile(pat)
        for i, h in enumerate(low):
            if i not in used and rx.search(h):
                out[name] = i
                used.add(i)
                break
    return out


# ---- IoD2025 workbooks ----------------------------------------------------------------------------

def _mentions_lsoa(rows: list[list]) -> bool:
    return any(isinstance(c, str) and c.strip().lower().startswith(("lsoa code", "lsoa21", "lsoa11"))
               for r in rows for c in r)


class IoD2025Workbook:
    """An IoD2025 LSOA workbook (xlsx): recognised by its sheets' columns."""
    kind = "IoD2025 LSOA deprivation (xlsx)"

    def recognise(self, s) -> bool:  # not a CSV loader
        return False

    def recognise_path(self, path: Path) -> bool:
        if not Path(path).name.lower().endswith((".xlsx", ".xlsm")):
            return False
        try:
            wb = CalamineWorkbook.from_path(str(path))
            return any(_mentions_lsoa(wb.get_sheet_by_name(n).to_python(nrows=10)) for n in wb.sheet_names)
        except (CalamineError, OSError, ValueError):  # not a workbook calamine can open: left to the "unrecognised" listing
            return False

    def load_path(self, ctx, path: Path) -> None:
        fname = rel(path)
        ensure_tables(ctx.writer)
        frames = read_workbook(path, fname)
        total = 0
        for sheet, df in frames:
            ctx.writer.insert_df("stg_lsoa21_wide", df)
            fields = [f for f, _ in XLSX_FIELDS if df[f].notna().any()]
            ctx.report.ok("IoD2025 files read", f"sheet {sheet!r}: {len(df):,} 2021 LSOAs; fields: {', '.join(fields)}"
                          + ("" if any(f.endswith("_score") for f in fields) else " (ranks and deciles, no scores)"),
                          len(df), fname)
            total += len(df)
        ctx.record_file(Sniffed(Path(path), [], "xlsx", Path(path)), self.kind, rows=total,
                        year_evidence="IoD2025 (LSOA 2021 geography): 'LSOA code (2021)' column")


def read_workbook(path: Path, fname: str | None = None) -> list[tuple[str, pd.DataFrame]]:
    """Every IoD2025 sheet of a workbook as (sheet name, rows for ``stg_lsoa21_wide``).

    Sheets that mention no LSOA code (notes, contents) are skipped. A sheet that does, but whose
    first row is not a header with ``LSOA code (2021)`` and an IoD rank or decile column, raises
    IngestError naming the file and sheet; so does a cell that is not an LSOA code, rank or decile.
    """
    fname = fname or str(path)
    try:
        wb = CalamineWorkbook.from_path(str(path))
    except Exception as exc:  # calamine's own errors and any other: named as the file's problem
        raise IngestError(fname, None, None, f"cannot open the workbook: {exc}") from exc
    out = []
    for sheet in wb.sheet_names:
        rows = wb.get_sheet_by_name(sheet).to_python()
        if not rows or not _mentions_lsoa(rows[:10]):
            continue
        header = [str(c).strip() for c in rows[0]]
        key = _match(header, [("key", KEY21)]).get("key")
        vals = _match(header, XLSX_FIELDS)
        if key is None or not any(f.endswith(("_rank", "_decile")) for f in vals):
            where = next((i for i, r in enumerate(rows[:10]) if _mentions_lsoa([r])), 0)
            raise IngestError(fname, None, None, (
                f"sheet {sheet!r} is not in the IoD2025 layout: expected a first row with 'LSOA code (2021)' and "
                f"IoD rank or decile columns (e.g. 'Index of Multiple Deprivation (IMD) Rank'); found "
                f"{', '.join(repr(h) for h in header[:6] if h) or 'an empty first row'}"
                + (f" (LSOA codes are named in row {where + 1})" if where else "")))
        texts = _match(header, XLSX_TEXT)
        width = len(header)
        kept = [(i, r) for i, r in enumerate(rows[1:], start=1) if any(str(c).strip() for c in r)]
        rownum = [i for i, _ in kept]  # data row numbers as in the sheet (blank rows skipped, not renumbered)
        body = [list(r) + [""] * (width - len(r)) for _, r in kept]
        cols = list(zip(*body)) if body else [[] for _ in range(width)]
        codes = pd.Series([str(c).strip() for c in cols[key]], dtype=object)
        bad = ~codes.str.match(LSOA21_CODE)
        if bad.any():
            i = int(bad.idxmax())
            raise IngestError(fname, rownum[i], header[key], f"sheet {sheet!r}: {codes[i]!r} is not an LSOA code")
        if codes.duplicated().any():
            i = int(codes.duplicated().idxmax())
            raise IngestError(fname, rownum[i], header[key], f"sheet {sheet!r}: LSOA {codes[i]} appears twice")
        df = pd.DataFrame({"lsoa21": codes, "source_file": fname, "sheet": sheet})
        for f in ("name", "lad_code", "lad_name"):
            df[f] = [str(c).strip() or None for c in cols[texts[f]]] if f in texts else None
        for f, _ in XLSX_FIELDS:
            if f not in vals:
                df[f] = np.nan
                continue
            num, unreadable = _numbers(cols[vals[f]])
            lo, hi = (1, 10) if f.endswith("_decile") else (1, N_LSOA21) if f.endswith("_rank") else (-np.inf, np.inf)
            wrong = unreadable | ~(num.between(lo, hi) | num.isna())
            if f.endswith(("_rank", "_decile")):
                wrong |= num.notna() & (num != np.floor(num))
            if wrong.any():
                i = int(wrong.idxmax())
                cell = cols[vals[f]][i]
                cell = int(cell) if isinstance(cell, float) and cell.is_integer() else cell
                raise IngestError(fname, rownum[i], header[vals[f]],
                                  f"sheet {sheet!r}: {cell!r} is not a {f.rsplit('_', 1)[1]}"
                                  + (f" ({lo}..{hi})" if np.isfinite(hi) else ""))
            df[f] = num.astype("float64")
        out.append((sheet, df))
    if not out:
        raise IngestError(fname, None, None, "no sheet holds IoD2025 LSOA rows (sheets: "
                          + ", ".join(repr(s) for s in wb.sheet_names) + ")")
    return out


def _numbers(cells) -> tuple[pd.Series, pd.Series]:
    """Workbook cells -> numbers: numeric cells as they are, text like ``'29,199'`` read as 29199,
    blank -> missing. Returns (numbers, cells that are neither blank nor a number)."""
    nums, bad = [], []
    for c in cells:
        if isinstance(c, bool) or not isinstance(c, (int, float, str)):
            nums.append(np.nan)
            bad.append(c is not None and str(c).strip() != "")
        elif isinstance(c, (int, float)):
            nums.append(float(c))
            bad.append(False)
        else:
            t = c.strip().replace(",", "")
            try:
                v = float(t) if t else np.nan
                nums.append(v if np.isfinite(v) or not t else np.nan)
                bad.append(bool(t) and not np.isfinite(v))
            except ValueError:
                nums.append(np.nan)
                bad.append(True)
    return pd.Series(nums, dtype="float64"), pd.Series(bad, dtype=bool)


# ---- look-ups (CSV) ---------------------------------------------------------------------------------

def _col(df: pd.DataFrame, *names: str) -> str | None:
    low = {c.lower(): c for c in df.columns}
    return next((low[n] for n in names if n in low), None)


def _check_codes(df, col, fname, allow=LSOA21_CODE) -> None:
    c = df[col].str.strip()
    bad = ~c.str.match(allow)
    if bad.any():
        i = bad.idxmax()
        raise IngestError(fname, int(df["_row"][i]), col, f"{df[col][i]!r} is not an LSOA code (E01... or W01...)")


class Lsoa11To21:
    """ONS LSOA 2011 -> LSOA 2021 look-up with change codes (U, S, M, X)."""
    kind = "LSOA 2011 to 2021 look-up"

    def recognise(self, s) -> bool:
        low = {h.strip().lower() for h in s.header}
        return bool({"lsoa11_code", "lsoa11cd"} & low and {"lsoa21_code", "lsoa21cd"} & low
                    and {"change_code", "chgind"} & low)

    def load(self, ctx, s) -> None:
        check_truncated(s)
        fname = rel(s.path)
        ensure_tables(ctx.writer)
        df = _read(s)
        c11, c21 = _col(df, "lsoa11_code", "lsoa11cd"), _col(df, "lsoa21_code", "lsoa21cd")
        chg = _col(df, "change_code", "chgind")
        _check_codes(df, c11, fname)
        _check_codes(df, c21, fname)
        code = df[chg].str.strip().str.upper()
        bad = ~code.isin(list(CHANGE_CODES))
        if bad.any():
            i = bad.idxmax()
            raise IngestError(fname, int(df["_row"][i]), chg,
                              f"{df[chg][i]!r} is not a change code (U unchanged, S split, M merged, X irregular)")
        get = lambda *n: df[_col(df, *n)].str.strip() if _col(df, *n) else None  # noqa: E731
        out = pd.DataFrame({"lsoa11": df[c11].str.strip(), "lsoa11_name": get("lsoa11_name", "lsoa11nm"),
                            "change_code": code, "lsoa21": df[c21].str.strip(),
                            "lsoa21_name": get("lsoa21_name", "lsoa21nm"),
                            "lad22cd": get("ltla22_code", "lad22cd"), "lad22nm": get("ltla22_name", "lad22nm"),
                            "source_file": fname, "source_row": df["_row"].astype("int32")})
        ctx.writer.insert_df("lsoa11_lsoa21", out)
        n = out.change_code.value_counts()
        ctx.report.ok("LSOA 2011 to 2021 look-up", "; ".join(f"{k} {CHANGE_CODES[k]} {int(n.get(k, 0)):,}"
                                                            for k in CHANGE_CODES) + " rows", len(out), fname)
        ctx.record_file(s, self.kind, rows=len(df), year_evidence="LSOA 2011 and 2021 codes")


class Lsoa21Ward:
    """ONS LSOA 2021 -> ward -> local authority district look-up."""
    kind = "LSOA 2021 to ward look-up"

    def recognise(self, s) -> bool:
        low = {h.strip().lower() for h in s.header}
        return bool({"lsoa21_code", "lsoa21cd"} & low) and not ({"lsoa11_code", "lsoa11cd"} & low) and any(
            re.match(r"^(ward\d\d_code|wd\d\dcd)$", h) for h in low)

    def load(self, ctx, s) -> None:
        fname = rel(s.path)
        ensure_tables(ctx.writer)
        df = _read(s)
        c21 = _col(df, "lsoa21_code", "lsoa21cd")
        _check_codes(df, c21, fname)
        low = {c.lower(): c for c in df.columns}
        pick = lambda rx: next((df[c].str.strip() for l, c in low.items() if re.match(rx, l)), None)  # noqa: E731
        out = pd.DataFrame({"lsoa21": df[c21].str.strip(), "lsoa21_name": pick(r"^lsoa21_?(name|nm)$"),
                            "ward_code": pick(r"^(ward\d\d_code|wd\d\dcd)$"), "ward_name": pick(r"^(ward\d\d_name|wd\d\dnm)$"),
                            "lad_code": pick(r"^(ltla\d\d_code|lad\d\dcd)$"), "lad_name": pick(r"^(ltla\d\d_name|lad\d\dnm)$"),
                            "source_file": fname})
        ctx.writer.insert_df("lsoa21_ward", out)
        ctx.record_file(s, self.kind, rows=len(df), year_evidence="LSOA 2021, 2024 wards and districts")


# ---- 2021 boundaries (GeoJSON) ---------------------------------------------------------------------

def _is_lsoa21_geojson(path: Path) -> bool:
    name = Path(path).name.lower()
    if not name.endswith((".geojson", ".geojson.gz", ".json", ".json.gz")):
        return False
    try:
        with (gzip.open(path, "rb") if Path(path).read_bytes()[:2] == b"\x1f\x8b" else open(path, "rb")) as fh:
            head = fh.read(65536)
    except (OSError, EOFError):
        return False
    return b'"FeatureCollection"' in head and re.search(rb'"LSOA21CD"\s*:', head, re.I) is not None


class Lsoa21Boundaries:
    """ONS 2021 LSOA polygons (GeoJSON with an ``LSOA21CD`` property), England only."""
    kind = "LSOA 2021 boundaries (GeoJSON)"

    def recognise(self, s) -> bool:
        return False

    def recognise_path(self, path: Path) -> bool:
        return _is_lsoa21_geojson(path)

    def load_path(self, ctx, path: Path) -> None:
        fname = rel(path)
        ensure_tables(ctx.writer)
        doc = read_geojson(path)
        if doc is None:
            raise IngestError(fname, None, None, "not a GeoJSON FeatureCollection")
        rows, rings, meta, welsh, empty = [], [], [], 0, 0
        for i, feat in enumerate(doc["features"], start=1):
            props = {k.lower(): v for k, v in (feat.get("properties") or {}).items()}
            code = str(props.get("lsoa21cd") or "").strip()
            if not LSOA21_CODE.match(code):
                raise IngestError(fname, i, "LSOA21CD", f"feature {i}: {code!r} is not an LSOA code")
            if code.startswith("W"):
                welsh += 1
                continue
            polys = [[ring for ring in poly if len(ring) >= 4] for poly in _polygons(feat.get("geometry"))]
            polys = [p for p in polys if p]
            if not polys:
                empty += 1
                continue
            rows.append({"lsoa21": code, "name": props.get("lsoa21nm"),
                         "geometry": json.dumps({"type": "MultiPolygon", "coordinates": polys}, separators=(",", ":")),
                         "n_points": sum(len(r) for p in polys for r in p), "source_file": fname})
            for pi, poly in enumerate(polys):
                for ri, ring in enumerate(poly):
                    rings.extend(ring)
                    meta.append((code, pi, ri, len(ring), i))
        # Edges of every ring, vectorised (a polygon's area and centre are derived from them in
        # marts_lsoa21.sql): consecutive points, without the step from one ring to the next.
        try:
            pts = np.asarray([p[:2] for p in rings], dtype=float)
        except (TypeError, ValueError) as exc:
            raise IngestError(fname, None, "geometry", f"a coordinate is not a number: {exc}") from exc
        if len(pts) and not (np.isfinite(pts).all() and (np.abs(pts[:, 0]) <= 180).all() and (np.abs(pts[:, 1]) <= 90).all()):
            bad = int(np.flatnonzero(~(np.isfinite(pts).all(axis=1) & (np.abs(pts[:, 0]) <= 180) & (np.abs(pts[:, 1]) <= 90)))[0])
            feature = meta[int(np.searchsorted(np.cumsum([m[3] for m in meta]), bad, side="right"))][4]
            raise IngestError(fname, feature, "geometry", "coordinates are not longitude/latitude in degrees (WGS84)")
        lengths = np.array([m[3] for m in meta], dtype=np.int64)
        last = np.cumsum(lengths) - 1
        keep = np.ones(max(len(pts) - 1, 0), dtype=bool)
        keep[last[:-1]] = False  # the step from a ring's last point to the next ring's first
        edges = pd.DataFrame({"lsoa21": np.repeat([m[0] for m in meta], lengths - 1),
                              "part": np.repeat([m[1] for m in meta], lengths - 1).astype("int32"),
                              "ring": np.repeat([m[2] for m in meta], lengths - 1).astype("int32"),
                              "x1": pts[:-1][keep, 0], "y1": pts[:-1][keep, 1],
                              "x2": pts[1:][keep, 0], "y2": pts[1:][keep, 1]})
        ctx.writer.insert_df("lsoa21_boundary", pd.DataFrame(rows))
        ctx.writer.insert_df("stg_lsoa21_edge", edges)
        ctx.report.ok("LSOA 2021 boundaries", f"{len(rows):,} English 2021 LSOA polygons; {welsh:,} Welsh skipped"
                      + (f"; {empty} features without a polygon skipped" if empty else ""), len(rows), fname)
        ctx.record_file(Sniffed(Path(path), [], "utf-8", Path(path)), self.kind, rows=len(doc["features"]),
                        year_evidence="LSOA December 2021 geography (LSOA21CD)")


WORKBOOK = IoD2025Workbook()  # an .xlsx: recognised by its path (its sheets), not by CSV columns
BOUNDARIES_2021 = Lsoa21Boundaries()  # GeoJSON: recognised by its path
LOADERS = [Lsoa11To21(), Lsoa21Ward(), WORKBOOK, BOUNDARIES_2021]


# ---- checks added to the ingest report (called from equity.ingest.checks.run_checks) ---------------------------------

def checks(ctx) -> None:
    """IoD2025 coverage, 2021 LSOAs missing from the boundaries, and schools' 2021 LSOA routes."""
    w, r = ctx.writer, ctx.report
    n = int(w.fetch("build/iod2025/lsoa21_count").n[0])
    if n == 0:
        r.warn("IoD2025", "no IoD2025 files were loaded: neighbourhoods use IoD2019 only", 0)
        return
    s = w.fetch("build/iod2025/lsoa21_coverage").iloc[0]
    r.ok("IoD2025", f"{int(s.n):,} 2021 LSOAs; IMD decile for {int(s.imd):,}, IDACI decile for {int(s.idaci):,}; "
         f"scores for {int(s.scores):,} (Files 1 and 3 publish ranks and deciles only); DfE LA code for {int(s.la):,}",
         int(s.n))
    missing = w.fetch("build/iod2025/lsoa21_without_boundary")
    (r.warn if len(missing) else r.ok)(
        "2021 LSOAs missing from the boundaries",
        f"{len(missing):,} IoD2025 LSOAs have no 2021 polygon (they are left off maps and neighbourhoods)"
        + (": " + ", ".join(missing.lsoa21[:5]) + ("..." if len(missing) > 5 else "") if len(missing) else ""),
        len(missing))
    routes = w.fetch("build/iod2025/schools_by_route")
    r.ok("schools placed in a 2021 LSOA", "; ".join(f"{x.route}: {int(x.n):,}" for x in routes.itertuples()),
         int(routes[routes.route != "none"].n.sum()))
    sm = w.fetch("build/iod2025/schools_in_changed_lsoas").iloc[0]
    r.ok("2011 to 2021 LSOA changes at schools", f"{int(sm.split):,} schools in a 2011 LSOA that was split, "
         f"{int(sm.merged):,} in one that was merged, {int(sm.irregular):,} in an irregular change",
         int(sm.split + sm.merged + sm.irregular))
