"""SYNTHETIC national-scale data in DfE file formats -- FOR SPEED MEASUREMENT ONLY.

Everything this module writes is made up. The files describe no real school, local authority or
pupil. They exist so that the loader, the DuckDB build and the dashboard can be timed at national
scale (about 24,000 schools x 8 years) with only a few LAs' real files in the repository. They must
never be shown, published, analysed or mixed with real data as if they were real. Every file name
starts with ``SYNTHETIC_``, URNs start at 900000 (no real school has one) and every school is
called "Synthetic ...".

Usage::

    python -m equity synth --schools 24000 --years 8 --out DIR      # or: python -m bench.synth ...; or write_synthetic(DIR, ...)

What is written (``DIR/``):

* ``SYNTHETIC_england_ks4final_YYYY-YY.csv`` and ``SYNTHETIC_england_ks2final_YYYY-YY.csv``, one
  per academic year, in the real DfE performance-table layout with the *full* real column set of
  the bundled file for that year (``data/raw/dfe_hants_surrey_clarelgibson``): KS4 2016/17 (416
  columns), 2017/18 (496), 2018/19 and later (507); KS2 2016/17 (290), 2017/18 (326), 2018/19 and
  later (318). A year without its own template uses the nearest one with every year token in the
  column names shifted (``_17`` -> ``_20``, ``_18`` -> ``_21``; ``ADMPOL_2017`` -> ``ADMPOL_2016``),
  so the newest history suffix of ``ATT8SCR_YY`` / ``PTRWM_EXP_YY`` is always the last two digits
  of the file's start year (the loader reads the year as that suffix + 1). History columns that then
  name 2019/20 or 2020/21 (suffix ``_20`` / ``_21``) stay in the header but are always blank: no
  results exist for those years.
* Years: the ``years`` most recent results years up to 2024/25, skipping 2019/20 and 2020/21 (no
  results were published). ``years=8`` gives 2015/16, 2016/17, 2017/18, 2018/19, 2021/22,
  2022/23, 2023/24, 2024/25. At most 11 (back to 2012/13).
* Rows, like the national files: school rows (RECTYPE 1 mainstream, 2 special) sorted by LA and
  ESTAB, each LA's rows followed by its LA row (KS4 RECTYPE 4, KS2 3), then the England rows (KS4
  5 = all schools, 7 = state-funded; KS2 4 = all, 5 = state-funded). Every row is cut after its
  last non-empty field, as DfE's writer does; aggregate rows never carry the school-only trailing
  descriptors (``P8_BANDING``, ``*_DESCR``; for templates without them the trailing block of
  prior-year history columns), so LA and England rows are always shorter than the header. KS2
  aggregate rows keep DfE's single-space blanks in their identity columns. CRLF line ends (every
  other file keeps its real model's BOM, quoting and line ends).
* ``schools`` splits as 2/3 primary (KS2 files), 11/48 secondary (KS4 files) and the rest special
  (45%: KS4 files, and KS2 files unless independent special) or independent (KS4 files), over the
  151 LAs of ``la_and_region_codes_meta.csv.gz`` in proportion to the real school census counts.
* Values: every school-year row is a jittered copy of a real school row of the same kind
  (mainstream / independent / special) from the template's real files: numbers get small noise
  (counts x lognormal, percentages +- a few points, scores +- 10% of the column's spread) and keep
  the real formatting (``18%``, trailing-zero style, decimals); codes (SUPP, NE, NP, NA, blanks)
  come with the real rows, so their rates are the real ones. A school keeps a latent "strength"
  (partly its LA's, from the real census FSM rates) that picks which real rows it copies, so results
  persist across years and differ between LAs. Disadvantaged (non-disadvantaged) measures are SUPP
  whenever TFSM6CLA1A (TNOTFSM6CLA1A) is 5 or fewer. NEW (TOTPUPS of a school in its first year) and
  LOWCOV (progress measures) are injected at small rates. LA and England rows are computed from the
  synthetic school rows (sums for counts, means otherwise) in the real aggregate rows' layout.
* Encodings: UTF-8 with BOM like DfE, except the oldest KS2 year, written in cp1252 without BOM;
  some school names contain a curly apostrophe (``St Mary’s``), so that file is not valid UTF-8.
* For the same schools: ``SYNTHETIC_england_census.csv`` (format of england_census.csv, with the
  NAT rows), ``SYNTHETIC_england_spine.csv`` (2017-2018_england_spine.csv), ``SYNTHETIC_ofsted_
  ratings.csv`` (ofsted_ratings_2018.csv: inspection history), ``SYNTHETIC_ks4_school_info_2024.csv``
  (statistics-service 2023/24 KS4 school file; codes z, c, x, low) and
  ``SYNTHETIC_england_ks4final_trimmed_with_latlong.csv`` / ``..._ks2final_...`` (school coordinates
  inside England's bounding box, clustered around each LA's real schools).
* ``README_SYNTHETIC.txt`` saying all of the above.

Speed: jittered row variants are built once per template with numpy and joined once; each
school-year row is then its identity prefix plus a shared variant string. 24,000 schools x 8 years
(22 files, ~310 MB) take about 12-15 s of CPU on one core.

Limits: values come from Hampshire and Surrey rows only (affluent LAs: national averages come out
high, e.g. state-funded Progress 8 about +0.1); LA rows with no synthetic number behind a published
cell print NA; the same schools appear every year (no openings or closures beyond NEW/ICLOSE codes).
"""
from __future__ import annotations

import argparse
import csv
import gzip
import io
import math
import re
import sys
import time
import warnings
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

RAW = Path(__file__).resolve().parent.parent / "data" / "raw"
_HS = "dfe_hants_surrey_clarelgibson"
TEMPLATES = {
    "ks4": {
        2016: (f"{_HS}/2016-2017_850_ks4final.csv.gz", f"{_HS}/2016-2017_936_ks4final.csv.gz"),
        2017: (f"{_HS}/2017-2018_850_ks4final.csv.gz", f"{_HS}/2017-2018_936_ks4final.csv.gz"),
        2018: (f"{_HS}/2018-2019_936_ks4final.csv.gz",),
    },
    "ks2": {
        2016: (f"{_HS}/ks2_2016-850-ks2.csv.gz", f"{_HS}/ks2_2016-936-ks2.csv.gz"),
        2017: (f"{_HS}/ks2_2017-850-ks2.csv.gz", f"{_HS}/ks2_2017-936-ks2.csv.gz"),
        2018: (f"{_HS}/ks2_2018-850-ks2.csv.gz", f"{_HS}/ks2_2018-936-ks2.csv.gz"),
    },
}
LA_META = "dfe_perf_tables_2018_19_kspdeveloper/la_and_region_codes_meta.csv.gz"
CENSUS = "dfe_perf_tables_2018_19_kspdeveloper/england_census.csv.gz"
SPINE = "dfe_ofsted_waiky8_schools_data/2017-2018_england_spine.csv.gz"
OFSTED = "dfe_ofsted_waiky8_schools_data/ofsted_ratings_2018.csv.gz"
EES_KS4 = "dfe_ees_ks4_2023_24_pvhee/ks4_school_info_2024.csv.gz"
COORDS = {"ks4": "school_coords_waiky8_eng_schools/england_ks4final_trimmed_with_latlong.csv.gz",
          "ks2": "school_coords_waiky8_eng_schools/england_ks2final_trimmed_with_latlong.csv.gz"}

# record types (DfE metadata; they differ between key stages)
LA_RECTYPE = {"ks4": "4", "ks2": "3"}
ENGLAND_RECTYPES = {"ks4": (("5", "all"), ("7", "state")), "ks2": (("4", "all"), ("5", "state"))}

# identity columns: generated per synthetic school; attribute columns: fixed per school across years
ID_COLS = {"RECTYPE", "ALPHAIND", "LEA", "ESTAB", "URN", "SCHNAME", "SCHNAME_AC", "URN_AC", "OPEN_AC",
           "ADDRESS1", "ADDRESS2", "ADDRESS3", "TOWN", "PCODE", "TELNUM", "PCON_CODE", "PCON_NAME"}
ATTR_COLS = {"CONTFLAG", "NFTYPE", "RELDENOM", "ADMPOL", "ADMPOL_PT", "EGENDER", "FEEDER", "TABKS2",
             "TAB1618", "TAB15", "AGERANGE", "CONFEXAM"}
COHORT_COLS = {"TFSM6CLA1A", "PTFSM6CLA1A", "TNOTFSM6CLA1A", "PTNOTFSM6CLA1A"}
LOWCOV_GROUPS = {
    "ks4": [(0.002, ("TP8ADJ", "P8MEA", "P8CILOW", "P8CIUPP", "P8MEA_ORIG", "P8CILOW_ORIG", "P8CIUPP_ORIG"))],
    "ks2": [(0.003, ("READPROG", "READPROG_LOWER", "READPROG_UPPER", "READCOV", "READPROG_UNADJUSTED",
                     "READPROG_DESCR")),
            (0.001, ("WRITPROG", "WRITPROG_LOWER", "WRITPROG_UPPER", "WRITCOV", "WRITPROG_UNADJUSTED",
                     "WRITPROG_DESCR")),
            (0.001, ("MATPROG", "MATPROG_LOWER", "MATPROG_UPPER", "MATCOV", "MATPROG_UNADJUSTED",
                     "MATPROG_DESCR"))],
}
NEW_SCHOOL_RATE = 0.008   # per school-year: TOTPUPS = NEW in the school's first published year
POOL_TARGET = 4000        # jittered row variants per (template, kind)
SHARE = {"primary": 16000 / 24000, "secondary": 5500 / 24000}
SPECIAL_SHARE_OF_REST = 0.45
SPECIAL_IN_KS2 = 0.65
ENGLAND_BOX = (49.90, 55.80, -6.40, 1.80)  # lat min/max, lon min/max

# LAs re-coded since a source was published: which codes to borrow towns, coordinates, etc. from
LA_FALLBACK = {"838": ("835",), "839": ("836", "837"), "909": ("942", "943"), "928": ("940", "941")}
LA_GSS_FALLBACK = {"909": ("E10000006", "Cumbria"), "928": ("E10000021", "Northamptonshire")}

NFTYPE_TEXT = {  # performance-table code -> spine NFTYPE, MINORGROUP, EES type group, coords SCHTYPE
    "AC": ("Academy sponsor led mainstream", "Academy", "Sponsored academies", "Academy"),
    "ACC": ("Academy - Converter mainstream", "Academy", "Converter academies", "Academy"),
    "F": ("Free school - Mainstream", "Academy", "Free schools", "Academy"),
    "UTC": ("University technical college", "Academy", "University technical colleges (UTCs)", "Academy"),
    "SS": ("Studio school", "Academy", "Studio schools", "Academy"),
    "CTC": ("City technology college", "Maintained School", "CTCs", "Maintained school"),
    "CY": ("Community school", "Maintained School", "Community school", "Maintained school"),
    "VA": ("Voluntary aided school", "Maintained School", "Voluntary aided school", "Maintained school"),
    "VC": ("Voluntary controlled school", "Maintained School", "Voluntary controlled school", "Maintained school"),
    "FD": ("Foundation school", "Maintained School", "Foundation school", "Maintained school"),
    "CYS": ("Community special school", "Special School", "Community special school", "Special school"),
    "FDS": ("Foundation special school", "Special School", "Foundation special school", "Special school"),
    "ACS": ("Academy - Sponsor led special school", "Special School", "Sponsored academies - special school",
            "Special school"),
    "ACCS": ("Academy - Converter special school", "Special School", "Converter academies - special school",
             "Special school"),
    "FS": ("Free school - Special", "Special School", "Free schools - special school", "Special school"),
    "NMSS": ("Non-maintained special school", "Special School", "Non-maintained special schools",
             "Special school"),
    "IND": ("Other independent school", "Independent School", "Independent schools", "Independent school"),
    "INDSPEC": ("Other independent special school", "Special School", "Independent special schools",
                "Special school"),
}
NOT_STATE = {"IND", "INDSPEC", "NMSS"}

README = """SYNTHETIC DATA - FOR SPEED MEASUREMENT ONLY
============================================

Every file in this directory whose name starts with SYNTHETIC_ was generated by bench/synth.py.
The data are SYNTHETIC: made-up schools (URN 900000 and up, names "Synthetic ...") with values
resampled and jittered from a handful of real local-authority files. They describe no real
school, local authority or pupil.

Use them only to measure the speed of loading, building and querying at national scale.
NEVER show, publish or analyse them as if they were real, and never mix them with real data.

Generated: {schools} schools, years {years}, seed {seed}.
"""


# ---------------------------------------------------------------------------------------------
# years and column names
# ---------------------------------------------------------------------------------------------
def academic_years(n: int) -> list[int]:
    """Start years of the ``n`` most recent results years up to 2024/25, skipping 2019/20 and 2020/21."""
    if not 1 <= n <= 11:
        raise ValueError("years must be between 1 and 11")
    out, y = [], 2024
    while len(out) < n:
        if y not in (2019, 2020):
            out.append(y)
        y -= 1
    return sorted(out)


def file_label(start: int) -> str:
    return f"{start}-{(start + 1) % 100:02d}"


def template_year(start: int) -> int:
    """The bundled template used for a year: 2016/17 for 2016/17 and earlier, 2017/18, 2018/19 after."""
    return min(max(start, 2016), 2018)


def shift_year_tokens(header: list[str], shift: int) -> list[str]:
    """Shift every year token of the column names by ``shift`` years.

    A year token is an ``_``-separated part of two digits from 10 to 40 (``ATT8SCR_17``,
    ``PTL2BASICS_94_17_PTQ_EE``; 94/95 are grades, not years) or four digits 2010-2040
    (``ADMPOL_2017``).
    """
    if shift == 0:
        return list(header)
    out = []
    for name in header:
        parts = name.split("_")
        for i in range(1, len(parts)):
            p = parts[i]
            if len(p) == 2 and p.isdigit() and 10 <= int(p) <= 40:
                parts[i] = f"{int(p) + shift:02d}"
            elif len(p) == 4 and p.isdigit() and 2010 <= int(p) <= 2040:
                parts[i] = str(int(p) + shift)
        out.append("_".join(parts))
    return out


def _has_year_token(name: str) -> bool:
    return any((len(p) == 2 and p.isdigit() and 10 <= int(p) <= 40) or
               (len(p) == 4 and p.isdigit() and 2010 <= int(p) <= 2040) for p in name.split("_")[1:])


# ---------------------------------------------------------------------------------------------
# small helpers
# ---------------------------------------------------------------------------------------------
def _q(s: str) -> str:
    """CSV-quote a field only when it needs it (like DfE's writer)."""
    if "," in s or '"' in s or "\n" in s or "\r" in s:
        return '"' + s.replace('"', '""') + '"'
    return s


def _qa(values) -> np.ndarray:
    return np.array([_q(v) for v in values], dtype=object)


def _unq(s: str) -> str:
    return s[1:-1].replace('""', '"') if len(s) > 1 and s[0] == '"' and s[-1] == '"' else s


def _read_text(path: Path) -> str:
    raw = gzip.decompress(path.read_bytes()) if path.suffix == ".gz" else path.read_bytes()
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        return raw.decode("cp1252")


def _read_rows(path: Path) -> tuple[list[str], list[list[str]]]:
    rows = list(csv.reader(io.StringIO(_read_text(path))))
    header = [h.strip() for h in rows[0]]
    return header, [r for r in rows[1:] if r]


def _read_df(rel: str) -> pd.DataFrame:
    return pd.read_csv(io.StringIO(_read_text(RAW / rel)), dtype=str, keep_default_na=False)


def _fmt(x: float, d: int, pct: bool, strip: bool) -> str:
    s = f"{x:.{d}f}"
    if strip and d > 0:
        s = s.rstrip("0").rstrip(".")
    if s == "-0":
        s = "0"
    return s + "%" if pct else s


def _parse(S: np.ndarray):
    """Numbers in a string matrix: value (nan if not a number), is-percentage, decimals, ends-in-0."""
    shape = S.shape
    s = pd.Series(S.ravel(), dtype=object).astype(str)
    isnum = s.str.fullmatch(r"-?\d+(?:\.\d+)?%?").to_numpy(dtype=bool)
    pct = (s.str.endswith("%").to_numpy(dtype=bool)) & isnum
    body = s.str.rstrip("%")
    val = pd.to_numeric(body.where(isnum), errors="coerce").to_numpy(dtype=float)
    pos = body.str.find(".").to_numpy()
    ln = body.str.len().to_numpy()
    dec = np.where(isnum & (pos >= 0), ln - pos - 1, 0)
    end0 = (body.str.endswith("0").to_numpy(dtype=bool)) & (dec > 0)
    return (val.reshape(shape), pct.reshape(shape), dec.reshape(shape).astype(np.int16),
            end0.reshape(shape))


def _largest_remainder(total: int, weights: np.ndarray, at_least_one: bool = False) -> np.ndarray:
    w = np.asarray(weights, dtype=float)
    if total <= 0 or w.sum() <= 0:
        return np.zeros(len(w), dtype=int)
    if at_least_one and total >= len(w):
        return 1 + _largest_remainder(total - len(w), w)
    exp = total * w / w.sum()
    base = np.floor(exp).astype(int)
    rest = total - base.sum()
    if rest:
        base[np.argsort(-(exp - base), kind="stable")[:rest]] += 1
    return base


def _rank_uniform(x: np.ndarray) -> np.ndarray:
    """Ranks mapped to (0, 1)."""
    if len(x) == 0:
        return x.astype(float)
    return (np.argsort(np.argsort(x, kind="stable"), kind="stable") + 0.5) / len(x)


# ---------------------------------------------------------------------------------------------
# a template: real rows of one key stage and year, and jittered row pools built from them
# ---------------------------------------------------------------------------------------------
@dataclass
class _Matrix:
    """Real rows of one file format; the column rules for jittering them."""
    header: list[str]
    S: np.ndarray                  # donor rows (strings, quoted for CSV), n x C
    fixed_cols: set                # columns never jittered (identity, attributes)
    val: np.ndarray = field(init=False)
    pct: np.ndarray = field(init=False)
    jit: np.ndarray = field(init=False)   # numeric cell in a jittered column

    def __post_init__(self):
        C = len(self.header)
        val, pct, dec, end0 = _parse(self.S)
        self.val, self.pct = val, pct
        isnum = np.isfinite(val)
        measure = np.array([h.upper() not in self.fixed_cols for h in self.header])
        anynum = isnum.any(axis=0)
        with np.errstate(all="ignore"):
            vmin = np.where(anynum, np.nanmin(np.where(isnum, val, np.inf), axis=0), 0.0)
            vmax = np.where(anynum, np.nanmax(np.where(isnum, val, -np.inf), axis=0), 0.0)
            mu = np.where(anynum, np.nansum(np.where(isnum, val, 0), axis=0) / np.maximum(isnum.sum(0), 1), 0)
            var = np.nansum(np.where(isnum, (val - mu) ** 2, 0), axis=0) / np.maximum(isnum.sum(0) - 1, 1)
        std = np.sqrt(var)
        has_pct = (pct & isnum).any(axis=0)
        nonpct = isnum & ~pct
        self.d_pct = np.where(pct, dec, 0).max(axis=0) if len(self.S) else np.zeros(C, int)
        self.d_num = np.where(nonpct, dec, 0).max(axis=0) if len(self.S) else np.zeros(C, int)
        self.strip = ~(end0 & isnum).any(axis=0)
        self.int_col = anynum & (self.d_num == 0) & ~has_pct
        # codes that only look like numbers (bandings, progress descriptors 1-5) are never jittered
        self.categorical = np.array([("BANDING" in h.upper() or "DESCR" in h.upper()) for h in self.header])
        self.nonneg = vmin >= 0
        self.bounded = has_pct | (~self.int_col & (vmin >= 0) & (vmax <= 100) & (vmax >= 99.5))
        self.additive = measure & anynum & ~self.int_col & ~self.categorical
        self.mult = measure & anynum & self.int_col & ~self.categorical
        self.sd = np.where(has_pct, np.minimum(2.5, 0.15 * std), 0.10 * std)
        self.jitter_col = self.additive | self.mult
        self.jit = isnum & self.jitter_col[None, :]
        self.measure = measure

    def pool(self, donors: np.ndarray, k: int, rng: np.random.Generator):
        """``k`` jittered copies of the donor rows: (strings V x C, values V x C); variant = i*n + d."""
        S = np.tile(self.S[donors], (k, 1))
        val = np.tile(self.val[donors], (k, 1))
        pct = np.tile(self.pct[donors], (k, 1))
        jit = np.tile(self.jit[donors], (k, 1))
        z = rng.standard_normal(val.shape)
        new = np.where(self.additive[None, :], val + z * self.sd[None, :], val)
        new = np.where(self.mult[None, :], np.round(val * np.exp(0.08 * z)), new)
        new = np.where(self.nonneg[None, :] & (new < 0), 0.0, new)
        new = np.where(self.bounded[None, :] & (new > 100), 100.0, new)
        # exact 0 (and 100 in percentage columns) are structural in DfE data: keep them
        new = np.where((val == 0) | (self.bounded[None, :] & (val == 100)), val, new)
        r, c = np.nonzero(jit)
        vals, p = new[r, c], pct[r, c]
        d = np.where(p, self.d_pct[c], self.d_num[c]).astype(int)
        st = self.strip[c]
        key = d * 4 + p * 2 + st
        out = np.empty(len(vals), dtype=object)
        for kk in np.unique(key):
            m = key == kk
            dd, pp, ss = int(kk) // 4, bool((kk // 2) % 2), bool(kk % 2)
            rv = np.round(vals[m], dd) + 0.0
            u, inv = np.unique(rv, return_inverse=True)
            out[m] = np.array([_fmt(x, dd, pp, ss) for x in u.tolist()], dtype=object)[inv]
            vals[m] = rv
        S[r, c] = out
        num = np.full(val.shape, np.nan)
        num[r, c] = vals
        keep = self.measure & ~self.jitter_col  # numeric cells of un-jittered measure columns
        num[:, keep] = val[:, keep]
        return S, num


@dataclass
class _Template:
    ks: str
    year: int
    header: list[str]
    m: _Matrix
    kinds: dict                    # kind -> donor row indices
    la_rows: list                  # real LA rows (padded, quoted)
    england_rows: dict             # rectype -> row
    quality: np.ndarray            # per donor row, for ordering
    forced_blank: np.ndarray       # aggregate-row columns left blank
    agg_kind: np.ndarray           # per column: 0 keep donor, 1 sum, 2 mean
    gates: list                    # (measure col, cohort col)
    pools: dict = field(default_factory=dict)
    spec_cache: dict = field(default_factory=dict)


def _load_template(ks: str, year: int) -> _Template:
    header, rows = None, []
    for rel in TEMPLATES[ks][year]:
        h, r = _read_rows(RAW / rel)
        if header is None:
            header = h
        elif h != header:
            raise ValueError(f"{rel}: header differs from {TEMPLATES[ks][year][0]}")
        rows.extend(r)
    C = len(header)
    rows = [[_q(v) for v in (r + [""] * (C - len(r)))[:C]] for r in rows]
    up = [h.upper() for h in header]
    rt = np.array([r[0].strip() for r in rows])
    school = np.isin(rt, ("1", "2"))
    S = np.array([r for r, s in zip(rows, school) if s], dtype=object)
    m = _Matrix(header, S, ID_COLS | ATTR_COLS | {"ICLOSE"})
    nf = S[:, up.index("NFTYPE")] if "NFTYPE" in up else np.full(len(S), "")
    srt = S[:, 0]
    kinds = {
        "main": np.flatnonzero((srt == "1") & ~np.isin(nf, ("IND", "INDSPEC"))),
        "ind": np.flatnonzero((srt == "1") & (nf == "IND")),
        "special": np.flatnonzero(srt == "2"),
    }
    la_rows = [r for r, t in zip(rows, rt) if t == LA_RECTYPE[ks]]
    england_rows = {t: r for r, t in zip(rows, rt) for t2, _ in ENGLAND_RECTYPES[ks] if t == t2}
    qcol = up.index("ATT8SCR") if ks == "ks4" else up.index("PTRWM_EXP")
    q = m.val[:, qcol].copy()
    q[~np.isfinite(q)] = np.nanmedian(q) if np.isfinite(q).any() else 0.0

    # aggregate rows never carry school-only trailing descriptors; where the template has none, the
    # trailing block of prior-year history columns -> aggregate rows are always ragged
    def trailing(pred):
        n = 0
        for h in reversed(up):
            if not pred(h):
                break
            n += 1
        return n
    n_blank = trailing(lambda h: "DESCR" in h or "BANDING" in h) or trailing(_has_year_token)
    forced = np.zeros(C, dtype=bool)
    forced[C - n_blank:] = True

    # sums for counts (an LA figure far above a school's), means otherwise
    agg = np.zeros(C, dtype=np.int8)
    la_val = _parse(np.array(la_rows + list(england_rows.values()), dtype=object))[0]
    med = np.nanmedian(np.where(np.isfinite(m.val), m.val, np.nan), axis=0) if len(S) else np.zeros(C)
    for j in range(C):
        if not m.measure[j] or m.categorical[j] or not np.isfinite(m.val[:, j]).any():
            continue
        lv = la_val[:, j][np.isfinite(la_val[:, j])]
        if not len(lv):
            continue
        is_pct = bool((m.pct[:, j] & np.isfinite(m.val[:, j])).any())
        agg[j] = 1 if (not is_pct and m.nonneg[j] and lv.max() > 3 * max(1.0, abs(med[j]))) else 2

    # disadvantaged / other measures of the current year, SUPP when that group has 5 or fewer pupils
    gates = []
    t_dis, t_non = up.index("TFSM6CLA1A") if "TFSM6CLA1A" in up else None, None
    for cand in ("TNOTFSM6CLA1A",):
        if cand in up:
            t_non = up.index(cand)
    for j, h in enumerate(up):
        if "FSM6CLA1A" not in h or h in COHORT_COLS or _has_year_token(h) or not m.jitter_col[j]:
            continue
        cohort = t_non if ("NFSM6CLA1A" in h or "NOTFSM6CLA1A" in h) else t_dis
        if cohort is not None:
            gates.append((j, cohort))
    return _Template(ks, year, header, m, kinds, la_rows, england_rows, q, forced, agg, gates)


def _pool_tails(tpl: _Template, kind: str, need: int, rng: np.random.Generator, m0: int,
                blank: np.ndarray) -> np.ndarray:
    """Each pool variant's measure columns (from ``m0``) as one CSV string, cut after its last field."""
    key = ("tails", kind, need, m0, blank.tobytes())
    if key not in tpl.pools:
        PS = _pool(tpl, kind, need, rng)[0]
        T = PS[:, m0:].copy()
        T[:, blank[m0:]] = ""
        tpl.pools[key] = np.array([",".join(r).rstrip(",") for r in T.tolist()], dtype=object)
    return tpl.pools[key]


def _pool(tpl: _Template, kind: str, need: int, rng: np.random.Generator):
    """Jittered variants for one kind of school, ordered so that variant = i * n + donor."""
    key = (kind, need)
    if key in tpl.pools:
        return tpl.pools[key]
    donors = tpl.kinds[kind]
    if not len(donors):
        donors = tpl.kinds["main"]
    donors = donors[np.argsort(tpl.quality[donors], kind="stable")]   # weakest first
    k = int(max(4, math.ceil(min(max(need, 1), POOL_TARGET) / len(donors))))
    S, num = tpl.m.pool(donors, k, rng)
    for j, t in tpl.gates:
        small = num[:, t] <= 5
        hit = small & np.isfinite(num[:, j])
        S[hit, j] = "SUPP"
        num[hit, j] = np.nan
    tpl.pools[key] = (S, num, len(donors), k)
    return tpl.pools[key]


# ---------------------------------------------------------------------------------------------
# the synthetic schools
# ---------------------------------------------------------------------------------------------
def _geography():
    """Per-LA look-ups from the real files: names, GSS codes, towns, postcodes, coordinates, pcons."""
    meta = _read_df(LA_META)
    las = sorted(meta.LEA.str.strip().tolist(), key=int)
    la_name = dict(zip(meta.LEA.str.strip(), meta["LA Name"].str.strip()))
    census = _read_df(CENSUS)
    census = census[census.URN.str.isdigit()]
    spine = _read_df(SPINE)
    ees = _read_df(EES_KS4)

    def borrow(la, table):
        if la in table:
            return table[la]
        for alt in LA_FALLBACK.get(la, ()):
            if alt in table:
                return table[alt]
        return None

    counts = census.groupby(["LA", "SCHOOLTYPE"]).size().unstack(fill_value=0)
    fsm = pd.to_numeric(census.PNUMFSMEVER, errors="coerce")
    la_fsm = fsm[census.SCHOOLTYPE.str.startswith("State-funded")].groupby(census.LA).mean().to_dict()
    towns = spine[spine.TOWN != ""].groupby("LA").TOWN.apply(list).to_dict()
    locs = spine[spine.LOCALITY != ""].groupby("LA").LOCALITY.apply(list).to_dict()
    outward = spine.POSTCODE.str.split(" ").str[0]
    pcs = outward[outward != ""].groupby(spine.LA).apply(list).to_dict()
    sec = spine.ISSECONDARY == "1"
    sel = (spine.ADMPOL == "Selective")[sec].groupby(spine.LA[sec]).mean().to_dict()
    streets = spine.STREET[spine.STREET != ""].value_counts().index[:400].tolist()
    urn_la = dict(zip(spine.URN, spine.LA))
    coords = pd.concat([_read_df(COORDS["ks4"])[["URN", "LATITUDE", "LONGITUDE"]],
                        _read_df(COORDS["ks2"])[["URN", "LATITUDE", "LONGITUDE"]]])
    coords["LA"] = coords.URN.map(urn_la)
    coords = coords.dropna(subset=["LA"])
    for c in ("LATITUDE", "LONGITUDE"):
        coords[c] = pd.to_numeric(coords[c], errors="coerce")
    coords = coords.dropna()
    cstat = coords.groupby("LA").agg(lat=("LATITUDE", "median"), lon=("LONGITUDE", "median"),
                                     slat=("LATITUDE", "std"), slon=("LONGITUDE", "std"))
    cstat = cstat.fillna({"slat": 0.1, "slon": 0.1})
    cstat = {la: tuple(r) for la, r in zip(cstat.index, cstat.itertuples(index=False))}
    pcon = ees[["old_la_code", "pcon_code", "pcon_name"]].drop_duplicates()
    pcons = {la: list(zip(g.pcon_code, g.pcon_name)) for la, g in pcon.groupby("old_la_code")}
    gss = {r.old_la_code: (r.new_la_code, r.la_name) for r in
           ees[["old_la_code", "new_la_code", "la_name"]].drop_duplicates().itertuples()}

    counts_by_la = {k: counts.loc[k] for k in counts.index}
    geo = {}
    fsm_vals = np.array([v for v in la_fsm.values() if np.isfinite(v)])
    for la in las:
        cnt = borrow(la, counts_by_la)
        def c(t):
            return float(cnt.get(t, 0)) if cnt is not None else 1.0
        f = borrow(la, la_fsm)
        geo[la] = {
            "name": la_name[la],
            "w": {"primary": c("State-funded primary"), "secondary": c("State-funded secondary"),
                  "special": c("State-funded special school") + c("Non-maintained special school"),
                  "independent": c("Independent school")},
            "fsm_z": 0.0 if f is None or not np.isfinite(f) else (f - fsm_vals.mean()) / fsm_vals.std(),
            "towns": borrow(la, towns) or ["Synthtown"],
            "locs": borrow(la, locs) or [""],
            "pcs": borrow(la, pcs) or ["ZZ1"],
            "sel": borrow(la, sel) or 0.0,
            "coord": borrow(la, cstat),
            "pcons": borrow(la, pcons) or [("", "")],
            "gss": gss.get(la) or LA_GSS_FALLBACK.get(la) or ("", la_name[la]),
        }
    return las, geo, streets


@dataclass
class _Schools:
    df: pd.DataFrame
    las: list
    geo: dict
    cache: dict = field(default_factory=dict)


def _make_schools(n: int, n_years: int, rng: np.random.Generator, tpl4: _Template, tpl2: _Template) -> _Schools:
    las, geo, streets = _geography()
    n_pri = round(n * SHARE["primary"])
    n_sec = round(n * SHARE["secondary"])
    n_spe = round((n - n_pri - n_sec) * SPECIAL_SHARE_OF_REST)
    n_ind = n - n_pri - n_sec - n_spe
    parts = []
    for kind, total in (("primary", n_pri), ("secondary", n_sec), ("special", n_spe), ("independent", n_ind)):
        alloc = _largest_remainder(total, np.array([geo[la]["w"][kind] for la in las]),
                                   at_least_one=kind in ("primary", "secondary"))
        parts.append(pd.DataFrame({"la": np.repeat(las, alloc), "kind": kind}))
    df = pd.concat(parts, ignore_index=True)
    base = {"primary": 2000, "secondary": 4000, "independent": 6000, "special": 7000}
    limit = {"primary": 1999, "secondary": 999, "independent": 999, "special": 999}
    df["seq"] = df.groupby(["la", "kind"]).cumcount() + 1
    if (df.seq > df.kind.map(limit)).any():
        raise ValueError("too many schools for one LA's ESTAB range; use fewer schools")
    df["estab"] = df.kind.map(base) + df.seq
    df["la_int"] = df.la.astype(int)
    df = df.sort_values(["la_int", "estab"], kind="stable").reset_index(drop=True)
    N = len(df)
    df["urn"] = 900000 + np.arange(N)
    if df.urn.max() > 999999:
        raise ValueError("at most 100,000 schools (6-digit URNs from 900000)")
    df["laestab"] = df.la_int * 10000 + df.estab
    df["la_name"] = df.la.map(lambda la: geo[la]["name"])

    # names (some with a curly apostrophe for the cp1252 file, some with a comma to need quoting)
    word = df.kind.map({"primary": "Primary School", "secondary": "Academy", "special": "Special School",
                        "independent": "Independent School"}).to_numpy(dtype=object)
    word[(df.kind == "secondary").to_numpy() & (rng.random(N) < 0.4)] = "High School"
    u = rng.random(N)
    prefix = np.where(u < 0.03, "St Mary’s ", np.where(u < 0.05, "St John's ", ""))
    town = np.array([geo[la]["towns"][i % len(geo[la]["towns"])] for la, i in
                     zip(df.la, rng.integers(0, 1 << 30, N))], dtype=object)
    names = [f"{p}Synthetic {w} {urn}" for p, w, urn in zip(prefix, word, df.urn)]
    comma = rng.random(N) < 0.02
    names = [f"{nm}, {t}" if c else nm for nm, c, t in zip(names, comma, town)]
    df["name"] = names
    df["town"] = town
    df["street"] = np.array(streets, dtype=object)[rng.integers(0, len(streets), N)]
    loc = np.array([geo[la]["locs"][i % len(geo[la]["locs"])] for la, i in
                    zip(df.la, rng.integers(0, 1 << 30, N))], dtype=object)
    df["locality"] = np.where(rng.random(N) < 0.3, loc, "")
    letters = np.array(list("ABDEFGHJLNPQRSTUWXYZ"))
    out = [geo[la]["pcs"][i % len(geo[la]["pcs"])] for la, i in zip(df.la, rng.integers(0, 1 << 30, N))]
    inward = (rng.integers(1, 10, N).astype(str).astype(object) + letters[rng.integers(0, 20, N)]
              + letters[rng.integers(0, 20, N)])
    df["pcode"] = [f"{o} {i}" for o, i in zip(out, inward)]
    df["telnum"] = ["01" + f"{x:09d}" for x in rng.integers(0, 10 ** 9, N)]
    pc = [geo[la]["pcons"][i % len(geo[la]["pcons"])] for la, i in zip(df.la, rng.integers(0, 1 << 30, N))]
    df["pcon_code"] = [p[0] for p in pc]
    df["pcon_name"] = [p[1] for p in pc]
    lat, lon = np.empty(N), np.empty(N)
    for la, idx in df.groupby("la").indices.items():
        c = geo[la]["coord"]
        if c is None:
            lat[idx] = rng.uniform(51.0, 53.8, len(idx))
            lon[idx] = rng.uniform(-2.8, 0.5, len(idx))
        else:
            lat[idx] = c[0] + rng.standard_normal(len(idx)) * np.clip(c[2], 0.02, 0.35) * 0.8
            lon[idx] = c[1] + rng.standard_normal(len(idx)) * np.clip(c[3], 0.02, 0.45) * 0.8
    df["lat"] = np.clip(lat, ENGLAND_BOX[0] + 0.05, ENGLAND_BOX[1] - 0.05)
    df["lon"] = np.clip(lon, ENGLAND_BOX[2] + 0.05, ENGLAND_BOX[3] - 0.05)

    # latent strength: partly the LA's (high-FSM LAs weaker), persistent across years
    la_z = df.la.map(lambda la: geo[la]["fsm_z"]).to_numpy(dtype=float)
    df["z"] = -0.45 * la_z + 0.89 * rng.standard_normal(N)
    df["new_year_idx"] = np.where(rng.random(N) < NEW_SCHOOL_RATE * n_years, rng.integers(0, n_years, N), -1)

    # fixed attributes from a real profile row of the same kind (latest templates)
    def profile(tpl: _Template, kind: str, mask: np.ndarray) -> dict:
        donors = tpl.kinds[kind] if len(tpl.kinds[kind]) else tpl.kinds["main"]
        pick = donors[rng.integers(0, len(donors), mask.sum())]
        up = [h.upper() for h in tpl.header]
        return {c: np.array([_unq(v) for v in tpl.m.S[pick, up.index(c)]], dtype=object)
                for c in ATTR_COLS if c in up}

    attrs4 = {c: np.full(N, "", dtype=object) for c in ATTR_COLS}
    attrs2 = {c: np.full(N, "", dtype=object) for c in ATTR_COLS}
    for kind, k4 in (("secondary", "main"), ("special", "special"), ("independent", "ind")):
        mask = (df.kind == kind).to_numpy()
        for c, v in profile(tpl4, k4, mask).items():
            attrs4[c][mask] = v
    mask = (df.kind == "primary").to_numpy()
    for c, v in profile(tpl2, "main", mask).items():
        attrs2[c][mask] = v
    mask = (df.kind == "special").to_numpy()
    for c, v in profile(tpl2, "special", mask).items():
        attrs2[c][mask] = v
    for c in ("NFTYPE", "RELDENOM", "AGERANGE"):
        attrs2[c][mask] = attrs4[c][mask]
    # grammar schools where the LA really has them
    secm = (df.kind == "secondary").to_numpy()
    sel = secm & (rng.random(N) < df.la.map(lambda la: geo[la]["sel"]).to_numpy(dtype=float))
    attrs4["ADMPOL"][sel] = "SEL"
    attrs4["ADMPOL_PT"][sel] = "SEL"
    for c in ATTR_COLS:
        df["a4_" + c] = attrs4[c]
        df["a2_" + c] = attrs2[c]
    df["nftype"] = np.where(df.kind == "primary", df.a2_NFTYPE, df.a4_NFTYPE)
    df["in_ks4"] = df.kind != "primary"
    df["in_ks2"] = (df.kind == "primary") | ((df.kind == "special") & (df.a4_NFTYPE != "INDSPEC")
                                            & (rng.random(N) < SPECIAL_IN_KS2))
    df["state"] = ~df.nftype.isin(NOT_STATE)
    df["alphaind"] = _rank_uniform(np.array(df.name, dtype=str)) * N + 0.5
    df["alphaind"] = df.alphaind.round().astype(int).astype(str)
    for c in df.columns:   # plain object strings: iterating arrow-backed strings is slow
        if df[c].dtype == object or pd.api.types.is_string_dtype(df[c].dtype):
            df[c] = df[c].astype(object)
    return _Schools(df, las, geo)


# ---------------------------------------------------------------------------------------------
# performance-table files
# ---------------------------------------------------------------------------------------------
def _ks_arrays(sch: "_Schools", ks: str) -> dict:
    """Per key stage, once: the schools in its files and their quoted identity/attribute cells."""
    if ks in sch.cache:
        return sch.cache[ks]
    sub = sch.df[sch.df["in_" + ks]]
    n = len(sub)

    def col(c):
        return sub[c].to_numpy(dtype=object)
    pre = "a4_" if ks == "ks4" else "a2_"
    kind_map = {"primary": "main", "secondary": "main", "special": "special", "independent": "ind"}
    kinds = np.array([kind_map[k] for k in col("kind")], dtype=object)
    out = {
        "n": n, "kinds": kinds, "z": sub.z.to_numpy(dtype=float), "la": col("la"),
        "state": sub.state.to_numpy(dtype=bool), "urn": sub.urn.to_numpy(), "new": sub.new_year_idx.to_numpy(),
        "need": {k: int((kinds == k).sum()) for k in ("main", "special", "ind")},
        "ids": {
            "RECTYPE": np.where(col("kind") == "special", "2", "1").astype(object),
            "ALPHAIND": col("alphaind"), "LEA": col("la"),
            "ESTAB": sub.estab.astype(str).to_numpy(dtype=object), "URN": sub.urn.astype(str).to_numpy(dtype=object),
            "SCHNAME": _qa(col("name")), "SCHNAME_AC": np.full(n, "", dtype=object),
            "URN_AC": np.full(n, "0", dtype=object), "OPEN_AC": np.full(n, "", dtype=object),
            "ADDRESS1": _qa(col("street")), "ADDRESS2": _qa(col("locality")), "ADDRESS3": np.full(n, "", dtype=object),
            "TOWN": _qa(col("town")), "PCODE": col("pcode"), "TELNUM": col("telnum"),
            "PCON_CODE": col("pcon_code"), "PCON_NAME": _qa(col("pcon_name")),
        },
        "attrs": {c: _qa(col(pre + c)) for c in ATTR_COLS},
    }
    sch.cache[ks] = out
    return out


def _agg_spec(tpl: _Template, donor: list) -> tuple:
    """How one real aggregate row prints each column: (numeric?, percent?, decimals, strip zeros?)."""
    C = len(donor)
    isnum = np.zeros(C, bool)
    pct = np.zeros(C, bool)
    dec = np.zeros(C, int)
    strip = np.zeros(C, bool)
    for j, cell in enumerate(donor):
        if tpl.agg_kind[j] == 0 or not re.fullmatch(r"-?\d+(?:\.\d+)?%?", cell):
            continue
        isnum[j] = True
        pct[j] = cell.endswith("%")
        body = cell.rstrip("%")
        d = len(body) - body.find(".") - 1 if "." in body else 0
        if tpl.agg_kind[j] == 1:
            dec[j], strip[j] = int(tpl.m.d_num[j]), bool(tpl.m.strip[j])
        elif pct[j]:
            dec[j], strip[j] = d, False
        else:
            dec[j], strip[j] = max(d, int(tpl.m.d_num[j])), bool(tpl.m.strip[j])
    return isnum, pct, dec, strip


def _agg_lines(tpl: _Template, donors: list, values: np.ndarray, rectypes: list, leas: list | None,
               names: list | None, ks: str, blank: np.ndarray) -> list[str]:
    """Aggregate rows: the real row's layout (its codes and blanks), synthetic numbers where it has numbers.

    A number with no synthetic school behind it prints as NA: the real figure is never copied.
    """
    up = [h.upper() for h in tpl.header]
    cells = np.array([list(d) for d in donors], dtype=object)
    cells[:, 0] = rectypes
    if leas is not None and "LEA" in up:
        cells[:, up.index("LEA")] = leas
    if names is not None and ks == "ks2" and "SCHNAME" in up:
        cells[:, up.index("SCHNAME")] = _qa(names)
    specs = {}
    keys = [id(d) for d in donors]
    for key, d in zip(keys, donors):
        if key not in specs:
            specs[key] = _agg_spec(tpl, d) if key not in tpl.spec_cache else tpl.spec_cache[key]
            tpl.spec_cache[key] = specs[key]
    keys = np.array(keys)
    for key, (isnum, pct, dec, strip) in specs.items():
        rows = np.flatnonzero(keys == key)
        block = values[rows]
        for j in np.flatnonzero(isnum):
            d, p, st = int(dec[j]), bool(pct[j]), bool(strip[j])
            cells[rows, j] = [_fmt(v, d, p, st) if v == v else "NA" for v in block[:, j].tolist()]
    cells[:, tpl.forced_blank | blank] = ""
    return [",".join(r).rstrip(",") for r in cells.tolist()]


def _no_results_columns(header: list[str]) -> np.ndarray:
    """History columns naming 2019/20 or 2020/21 (suffix 20 or 21): no results exist, so always blank."""
    return np.array([any(p in ("20", "21") for p in h.split("_")[1:]) for h in header])


def _performance_file(ks: str, yi: int, tpl: _Template, sch: "_Schools", rng: np.random.Generator,
                      capture: dict | None, blank: np.ndarray) -> list[str]:
    a = _ks_arrays(sch, ks)
    n, C = a["n"], len(tpl.header)
    up = [h.upper() for h in tpl.header]
    # a school row = its identity/attribute prefix (columns before TOTPUPS, rebuilt per school) + the
    # measure tail of a jittered real row (joined once per pool variant and shared across years)
    m0 = up.index("TOTPUPS")
    P = np.empty((n, m0), dtype=object)
    tails = np.empty(n, dtype=object)
    num = np.empty((n, C))
    src = {}                                   # kind -> (rows, pool strings, variant per row)
    kinds = a["kinds"]
    zy = 0.85 * a["z"] + 0.53 * rng.standard_normal(n)
    for kind in ("main", "special", "ind"):
        rows = np.flatnonzero(kinds == kind)
        if not len(rows):
            continue
        PS, PN, nd, k = _pool(tpl, kind, a["need"][kind], rng)
        donor = np.minimum((_rank_uniform(zy[rows]) * nd).astype(int), nd - 1)
        var = rng.integers(0, k, len(rows)) * nd + donor
        P[rows] = PS[var, :m0]
        tails[rows] = _pool_tails(tpl, kind, a["need"][kind], rng, m0, blank)[var]
        num[rows] = PN[var]
        src[kind] = (rows, PS, var)
    for c, arr in a["ids"].items():
        if c in up:
            P[:, up.index(c)] = arr
    for c, arr in a["attrs"].items():
        if c in up:
            P[:, up.index(c)] = arr
    num[:, blank] = np.nan
    patched = {}                               # row -> {column: code}
    # injected codes: NEW in a school's first year, LOWCOV on progress measures
    new = a["new"] == yi
    num[new, m0] = np.nan
    for i in np.flatnonzero(new):
        patched.setdefault(i, {})[m0] = "NEW"
    mainstream = kinds == "main"
    for rate, group in LOWCOV_GROUPS[ks]:
        hit = mainstream & (rng.random(n) < rate)
        for c in group:
            if c in up:
                j = up.index(c)
                for i in np.flatnonzero(hit & np.isfinite(num[:, j])):
                    patched.setdefault(i, {})[j] = "LOWCOV"
                    num[i, j] = np.nan
    row_src = {}
    for kind, (rows, PS, var) in src.items():
        for i, v in zip(rows.tolist(), var.tolist()):
            if i in patched:
                row_src[i] = (PS, v)
    for i, cells in patched.items():
        PS, v = row_src[i]
        t = PS[v, m0:].copy()
        t[blank[m0:]] = ""
        for j, code in cells.items():
            t[j - m0] = code
        tails[i] = ",".join(t.tolist()).rstrip(",")
    if capture is not None:
        for c in capture["cols"]:
            if c not in up:
                continue
            j = up.index(c)
            vals = np.empty(n, dtype=object)
            for kind, (rows, PS, var) in src.items():
                vals[rows] = PS[var, j]
            for i, cells in patched.items():
                if j in cells:
                    vals[i] = cells[j]
            capture[c] = dict(zip(a["urn"].tolist(), vals.tolist()))

    school_lines = [p + "," + t if t else p.rstrip(",")
                    for p, t in zip([",".join(r) for r in P.tolist()], tails.tolist())]

    # LA and England rows from the synthetic schools (LA rows: state-funded schools only)
    la, state = a["la"], a["state"]
    bounds = np.flatnonzero(np.r_[True, la[1:] != la[:-1], True])
    fin = np.isfinite(num)
    z = np.where(fin, num, 0.0)
    st = state[:, None]
    la_sum = np.add.reduceat(z * st, bounds[:-1], axis=0)
    la_cnt = np.add.reduceat((fin & st).astype(np.int32), bounds[:-1], axis=0)
    kind1 = (tpl.agg_kind == 1)[None, :]

    def value(sums, counts):
        with np.errstate(all="ignore"):
            return np.where(counts > 0, np.where(kind1, sums, sums / np.maximum(counts, 1)), np.nan)
    la_codes = la[bounds[:-1]].tolist()
    donors = [tpl.la_rows[i] for i in rng.integers(0, len(tpl.la_rows), len(la_codes))]
    la_lines = _agg_lines(tpl, donors, value(la_sum, la_cnt), [LA_RECTYPE[ks]] * len(la_codes), la_codes,
                          [sch.geo[c]["name"] for c in la_codes], ks, blank)
    eng_vals = []
    for rectype, scope in ENGLAND_RECTYPES[ks]:
        if scope == "all":
            eng_vals.append(value(z.sum(0)[None, :], fin.sum(0)[None, :])[0])
        else:
            eng_vals.append(value(la_sum.sum(0)[None, :], la_cnt.sum(0)[None, :])[0])
    rts = [rt for rt, _ in ENGLAND_RECTYPES[ks]]
    eng_lines = _agg_lines(tpl, [tpl.england_rows[rt] for rt in rts], np.array(eng_vals), rts, None, None, ks,
                           blank)

    lines = []
    for i, (s0, s1) in enumerate(zip(bounds[:-1], bounds[1:])):
        lines.extend(school_lines[s0:s1])
        lines.append(la_lines[i])
    lines.extend(eng_lines)
    return lines


def _write_lines(path: Path, header: list[str], lines: list[str], encoding: str, bom: bool,
                 newline: str = "\r\n") -> int:
    text = newline.join([",".join(header)] + lines) + newline
    data = text.encode(encoding, errors="replace")
    if bom:
        data = b"\xef\xbb\xbf" + data
    path.write_bytes(data)
    return len(data)


# ---------------------------------------------------------------------------------------------
# the other files
# ---------------------------------------------------------------------------------------------
def _census(sch: _Schools, rng: np.random.Generator) -> pd.DataFrame:
    real = _read_df(CENSUS)
    nat = real[~real.URN.str.isdigit()]
    real = real[real.URN.str.isdigit()]
    df = sch.df
    stype = np.where(df.kind == "primary", "State-funded primary",
                     np.where(df.kind == "secondary", "State-funded secondary",
                              np.where(df.kind == "independent", "Independent school",
                                       np.where(df.nftype == "NMSS", "Non-maintained special school",
                                                "State-funded special school"))))
    cols = list(real.columns)
    out = pd.DataFrame({"URN": df.urn.astype(str), "LA": df.la, "ESTAB": df.estab.astype(str),
                        "SCHOOLTYPE": stype})
    measure_cols = cols[4:]
    vals = {c: np.empty(len(df), dtype=object) for c in measure_cols}
    fsm = pd.to_numeric(real.PNUMFSMEVER, errors="coerce").fillna(-1).to_numpy()
    for t in np.unique(stype):
        rows = np.flatnonzero(stype == t)
        donors = np.flatnonzero(real.SCHOOLTYPE.to_numpy() == t)
        if not len(donors):
            donors = np.arange(len(real))
        donors = donors[np.argsort(-fsm[donors], kind="stable")]   # most disadvantaged first
        u = _rank_uniform(0.8 * df.z.to_numpy()[rows] + 0.6 * rng.standard_normal(len(rows)))
        pick = donors[np.minimum((u * len(donors)).astype(int), len(donors) - 1)]
        for c in measure_cols:
            vals[c][rows] = real[c].to_numpy()[pick]
    counts = ["NOR", "NORG", "NORB", "TSENELSE", "TSENELK", "NUMEAL", "NUMENGFL", "NUMUNCFL", "NUMFSM",
              "NUMFSMEVER"]
    f = np.exp(0.1 * rng.standard_normal(len(df)))
    for c in measure_cols:
        out[c] = vals[c]
    for c in counts:
        v = pd.to_numeric(out[c], errors="coerce")
        out[c] = np.where(v.notna(), (v * f).round().astype("Int64").astype(str), out[c])
    g, b = pd.to_numeric(out.NORG, errors="coerce"), pd.to_numeric(out.NORB, errors="coerce")
    out["NOR"] = np.where(g.notna() & b.notna(), (g + b).astype("Int64").astype(str), out.NOR)

    def f1(x):
        return f"{x:.1f}".rstrip("0").rstrip(".")
    nat_rows = []
    for code, t in (("PRI", "State-funded primary"), ("SEC", "State-funded secondary"),
                    ("SPE", "State-funded special school")):
        blk = out[out.SCHOOLTYPE == t]
        row = {"URN": "NAT", "LA": "", "ESTAB": code, "SCHOOLTYPE": t}
        nor = pd.to_numeric(blk.NOR, errors="coerce")
        for c in measure_cols:
            v = pd.to_numeric(blk[c], errors="coerce")
            if c in counts:
                row[c] = str(int(v.sum()))
            else:
                ok = v.notna() & nor.notna()
                row[c] = f1((v[ok] * nor[ok]).sum() / max(nor[ok].sum(), 1))
        nat_rows.append(row)
    assert list(nat.columns) == cols
    return pd.concat([out, pd.DataFrame(nat_rows)], ignore_index=True)[cols]


def _spine(sch: _Schools, rng: np.random.Generator) -> pd.DataFrame:
    real = _read_df(SPINE)
    df = sch.df
    N = len(df)
    nf = df.nftype.to_numpy()
    age = np.where(df.kind == "primary", df.a2_AGERANGE, df.a4_AGERANGE)
    agel = [a.split("-")[0] if "-" in a else "" for a in age]
    ageh = [a.split("-")[1] if "-" in a else "" for a in age]
    gender = pd.Series(df.a4_EGENDER).str.title().replace("", "Mixed").to_numpy()
    admpol = np.where(df.a4_ADMPOL_PT == "SEL", "Selective",
                      np.where(df.kind == "secondary", "Non-selective", "Not recorded"))

    def sample(col):
        v = real[col].to_numpy()
        return v[rng.integers(0, len(v), N)]
    isnew = rng.random(N) < 0.08
    opened = np.where(isnew, rng.choice(["2018-09-01", "2019-09-01", "2018-04-01", "2019-04-01"], N), "")
    ah = pd.to_numeric(pd.Series(ageh), errors="coerce").fillna(0).to_numpy()
    al = pd.to_numeric(pd.Series(agel), errors="coerce").fillna(0).to_numpy()
    out = pd.DataFrame({
        "URN": df.urn.astype(str), "LA": df.la, "ESTAB": df.estab.astype(str), "LAESTAB": df.laestab.astype(str),
        "SCHNAME": df.name, "OTHERSCHNAME": "", "STREET": df.street, "LOCALITY": df.locality, "ADDRESS3": "",
        "TOWN": df.town, "POSTCODE": df.pcode, "TELNUM": df.telnum, "ICLOSE": sample("ICLOSE"),
        "OPENDATE": opened, "CLOSEDATE": "", "ISNEW": isnew.astype(int).astype(str),
        "MINORGROUP": [NFTYPE_TEXT.get(x, ("", "Maintained School"))[1] for x in nf],
        "NFTYPE": [NFTYPE_TEXT.get(x, ("Community school",))[0] for x in nf], "OTHERNFTYPE": "",
        "ISPRIMARY": ((al <= 7) & (ah >= 10)).astype(int).astype(str),
        "ISSECONDARY": ((al <= 12) & (ah >= 15)).astype(int).astype(str),
        "ISPOST16": (ah >= 17).astype(int).astype(str), "AGEL": agel, "AGEH": ageh,
        "GENDER": gender, "SIXFGENDER": gender,
        "RELDENOM": np.where(df.kind == "primary", df.a2_RELDENOM, df.a4_RELDENOM),
        "ADMPOL": admpol, "OTHERURN": "", "NEWACFLAG": sample("NEWACFLAG"), "RE-BROKERED": sample("RE-BROKERED"),
    })
    return out[list(real.columns)]


def _ofsted(sch: _Schools, rng: np.random.Generator) -> pd.DataFrame:
    real = _read_df(OFSTED)
    per_urn = real.URN.value_counts().to_numpy()
    share_inspected = real.URN.nunique() / 26000
    dates = real["Inspection Date"].astype(int).to_numpy()
    df = sch.df
    N = len(df)
    n_insp = np.where(rng.random(N) < share_inspected, per_urn[rng.integers(0, len(per_urn), N)], 0)
    owner = np.repeat(np.arange(N), n_insp)
    d = dates[rng.integers(0, len(dates), len(owner))]
    order = np.lexsort((d, owner))
    owner, d = owner[order], d[order]
    late = d >= 20120901
    # rating distribution per era from the real file, ordered worst -> best, tilted by school strength
    u = _rank_uniform(0.7 * df.z.to_numpy()[owner] + 0.7 * rng.standard_normal(len(owner)))
    rating = np.empty(len(owner), dtype=object)
    for era, m in ((False, ~late), (True, late)):
        r = real[(real["Inspection Date"] >= "20120901") == era].Rating.value_counts()
        order_ = [x for x in ("Inadequate", "Requires Improvement", "Satisfactory", "Good", "Outstanding") if x in r]
        cum = np.cumsum([r[x] for x in order_]) / r.sum()
        uu = _rank_uniform(u[m]) if m.any() else u[m]
        rating[m] = np.array(order_, dtype=object)[np.minimum(np.searchsorted(cum, uu), len(order_) - 1)]
    return pd.DataFrame({"URN": df.urn.to_numpy()[owner].astype(str), "Rating": rating,
                         "Inspection Date": d.astype(str)})


def _ees_ks4(sch: _Schools, rng: np.random.Generator) -> tuple[list[str], list[str]]:
    header, rows = _read_rows(RAW / EES_KS4)
    C = len(header)
    ident = set(header[:header.index("t_allks_pupils")])
    S = np.array([[_q(v) for v in (r + [""] * C)[:C]] for r in rows], dtype=object)
    m = _Matrix(header, S, {h.upper() for h in ident})
    grp = S[:, header.index("establishment_type_group")]
    donors_of = {"special": np.flatnonzero(np.char.find(grp.astype(str), "special") >= 0),
                 "independent": np.flatnonzero(grp == "Independent schools")}
    donors_of["main"] = np.setdiff1d(np.arange(len(S)), np.r_[donors_of["special"], donors_of["independent"]])
    sub = sch.df[sch.df.in_ks4]
    n = len(sub)
    kind = sub.kind.replace({"secondary": "main"}).to_numpy()
    out = np.empty((n, C), dtype=object)
    num = np.empty((n, C))
    for k in ("main", "special", "independent"):
        rws = np.flatnonzero(kind == k)
        if not len(rws):
            continue
        d = donors_of[k]
        kk = max(2, math.ceil(min(len(rws), POOL_TARGET) / len(d)))
        PS, PN = m.pool(d, kk, rng)
        pick = rng.integers(0, len(PS), len(rws))
        out[rws], num[rws] = PS[pick], PN[pick]
    jit = m.jitter_col
    # 'low': a percentage that rounds to zero but is not zero; 'x': not available
    for j, h in enumerate(header):
        if not jit[j]:
            continue
        if h.startswith("pt_"):
            low = (num[:, j] > 0) & (num[:, j] < 0.5)
            out[low, j] = "low"
        x = np.isfinite(num[:, j]) & (rng.random(n) < 0.004)
        out[x, j] = "x"
    nf = sub.a4_NFTYPE.to_numpy()
    geo = sch.geo
    age = sub.a4_AGERANGE.str.replace("-", " to ", regex=False)
    admpt = np.where(sub.a4_ADMPOL_PT == "SEL", "selective schools",
                     np.where(sub.a4_ADMPOL_PT == "OTHER NON SEL", "non-selective schools in other areas",
                              "Admission type unclassified"))
    values = {
        "time_period": "202324", "time_identifier": "Academic year", "geographic_level": "School",
        "country_code": "E92000001", "country_name": "England",
        "school_laestab": sub.laestab.astype(str), "school_urn": sub.urn.astype(str), "school_name": sub.name,
        "old_la_code": sub.la, "new_la_code": sub.la.map(lambda la: geo[la]["gss"][0]),
        "la_name": sub.la.map(lambda la: geo[la]["gss"][1]), "version": "Final",
        "establishment_type_group": [NFTYPE_TEXT.get(x, ("", "", "Community school"))[2] for x in nf],
        "full_address": [", ".join(p for p in (s, lo, t, pc) if p) for s, lo, t, pc in
                         zip(sub.street, sub.locality, sub.town, sub.pcode)],
        "telnum": sub.telnum, "pcon_code": sub.pcon_code, "pcon_name": sub.pcon_name,
        "contflag": "0", "iclose": "0", "reldenom": sub.a4_RELDENOM.replace("", "Does not apply"),
        "admpol_pt": admpt, "egender": sub.a4_EGENDER.str.title().replace("", "Mixed"),
        "feeder": "0", "agerange": age,
    }
    unquoted = {"contflag", "iclose", "feeder"}   # numbers in the real file; everything else is quoted
    cols = []
    for j, h in enumerate(header):
        if h in values:
            v = values[h]
            if isinstance(v, str):
                cols.append([v if h in unquoted else '"' + v + '"'] * n)
                continue
            col = [str(c) for c in np.asarray(v, dtype=object).tolist()]
        else:
            col = [_unq(c) for c in out[:, j].tolist()]
        if h not in unquoted:
            col = ['"' + c.replace('"', '""') + '"' if '"' in c else '"' + c + '"' for c in col]
        cols.append(col)
    lines = [",".join(r) for r in zip(*cols)]
    return ['"' + h + '"' for h in header], lines


def _coords(ks: str, sch: _Schools, captured: dict, ofsted: pd.DataFrame) -> pd.DataFrame:
    real_cols = list(_read_df(COORDS[ks]).columns)
    df = sch.df[sch.df["in_" + ks]].reset_index(drop=True)
    last = ofsted.groupby("URN").tail(1).set_index("URN")
    urn_s = df.urn.astype(str)
    rating = urn_s.map(last.Rating).fillna("").to_numpy()
    insp = urn_s.map(last["Inspection Date"]).fillna("").to_numpy()
    colour = {"Good": "dodgerblue", "": "dimgrey", "Outstanding": "limegreen", "Requires Improvement": "orangered",
              "Inadequate": "red", "Satisfactory": "orangered"}
    nf = df.nftype.to_numpy()
    pre = "a4_" if ks == "ks4" else "a2_"
    out = {
        "RECTYPE": np.where(df.kind == "special", "2", "1"), "URN": urn_s, "SCHNAME": df.name, "PCODE": df.pcode,
        "PCODE2": df.pcode.str.split(" ").str[0], "TOWN": df.town, "OFSTEDRATING": rating, "INSPECTIONDT": insp,
        "WEB": [f"https://synthetic-school-{u}.example" for u in df.urn],
        "SCHTYPE": [NFTYPE_TEXT.get(x, ("", "", "", "Maintained school"))[3] for x in nf],
        "GRAMMAR": np.where(df.a4_ADMPOL_PT == "SEL", "Yes", "No"),
        "GENDER": df[pre + "EGENDER"].str.title().replace("", "Mixed") if ks == "ks4" else "Mixed",
        "RELIGION": df[pre + "RELDENOM"], "LATITUDE": df.lat.map(lambda x: f"{x:.6f}"),
        "LONGITUDE": df.lon.map(lambda x: f"{x:.6f}"), "COLOUR1": [colour.get(r, "dimgrey") for r in rating],
        "COLOUR2": "dodgerblue" if ks == "ks4" else "limegreen", "PHASE": "Secondary" if ks == "ks4" else "Primary",
    }
    for c in real_cols:
        if c not in out:
            vals = captured.get(c, {})
            out[c] = [vals.get(u, "").strip('"') for u in df.urn]
    return pd.DataFrame(out)[real_cols]


def _csv_bytes(path: Path, frame: pd.DataFrame, bom: bool, newline: str) -> int:
    text = frame.to_csv(index=False, lineterminator=newline)
    data = (b"\xef\xbb\xbf" if bom else b"") + text.encode("utf-8")
    path.write_bytes(data)
    return len(data)


# ---------------------------------------------------------------------------------------------
# entry points
# ---------------------------------------------------------------------------------------------
def write_synthetic(out_dir, schools: int = 24000, years: int = 8, seed: int = 0) -> dict:
    """Write the SYNTHETIC data set into ``out_dir``; return a summary.

    The summary: ``files`` (name -> rows, bytes, kind...), total ``rows`` and ``bytes``, ``years``,
    ``schools`` (counts by kind), ``seconds``. The data are synthetic, for speed measurement only
    (see the module docstring).
    """
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)   # all-blank columns in nan-aggregates
        return _write_synthetic(out_dir, schools, years, seed)


def _write_synthetic(out_dir, schools: int, years: int, seed: int) -> dict:
    t0 = time.perf_counter()
    if schools < 50:
        raise ValueError("schools must be at least 50")
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    year_list = academic_years(years)
    rng = np.random.default_rng(seed)
    tpl_years = sorted({template_year(s) for s in year_list})
    tpls = {(ks, y): _load_template(ks, y) for ks in ("ks4", "ks2") for y in tpl_years}
    for key in (("ks4", 2018), ("ks2", 2018)):
        if key not in tpls:
            tpls[key] = _load_template(*key)
    sch = _make_schools(schools, len(year_list), rng, tpls[("ks4", 2018)], tpls[("ks2", 2018)])

    files: dict[str, dict] = {}
    coords_year = max([y for y in year_list if y <= 2018] or year_list)
    cp1252_year = min(year_list)
    captured = {"ks4": {"cols": ["P8MEA", "P8_BANDING", "ATT8SCR", "PTL2BASICS_95", "PTEBACC_E_PTQ_EE", "EBACCAPS"]},
                "ks2": {"cols": ["READPROG", "READPROG_DESCR", "WRITPROG", "WRITPROG_DESCR", "MATPROG",
                                 "MATPROG_DESCR"]}}
    for yi, y in enumerate(year_list):
        ty = template_year(y)
        for ks in ("ks4", "ks2"):
            tpl = tpls[(ks, ty)]
            header = shift_year_tokens(tpl.header, y - ty)
            lines = _performance_file(ks, yi, tpl, sch, rng, captured[ks] if y == coords_year else None,
                                      _no_results_columns(header))
            name = f"SYNTHETIC_england_{ks}final_{file_label(y)}.csv"
            cp = ks == "ks2" and y == cp1252_year
            nbytes = _write_lines(out / name, header, lines, "cp1252" if cp else "utf-8", bom=not cp)
            files[name] = {"rows": len(lines), "bytes": nbytes, "kind": f"{ks.upper()} performance table",
                           "start_year": y, "template": TEMPLATES[ks][ty][0],
                           "encoding": "cp1252" if cp else "utf-8-sig"}

    def add(name, frame, bom, newline, kind):
        files[name] = {"rows": len(frame), "bytes": _csv_bytes(out / name, frame, bom, newline), "kind": kind}

    add("SYNTHETIC_england_census.csv", _census(sch, rng), True, "\n", "school census")
    add("SYNTHETIC_england_spine.csv", _spine(sch, rng), False, "\r\n", "school spine")
    ofsted = _ofsted(sch, rng)
    add("SYNTHETIC_ofsted_ratings.csv", ofsted, False, "\r\n", "Ofsted inspection history")
    header, lines = _ees_ks4(sch, rng)
    name = "SYNTHETIC_ks4_school_info_2024.csv"
    files[name] = {"rows": len(lines), "bytes": _write_lines(out / name, header, lines, "utf-8", False),
                   "kind": "statistics-service KS4 school information 2023/24"}
    for ks in ("ks4", "ks2"):
        add(f"SYNTHETIC_england_{ks}final_trimmed_with_latlong.csv", _coords(ks, sch, captured[ks], ofsted),
            False, "\r\n", "school coordinates")
    readme = README.format(schools=schools, years=", ".join(file_label(y) for y in year_list), seed=seed)
    (out / "README_SYNTHETIC.txt").write_text(readme, encoding="utf-8")

    df = sch.df
    return {
        "out_dir": str(out),
        "synthetic": True,
        "years": [file_label(y) for y in year_list],
        "schools": {"total": len(df), **df.kind.value_counts().to_dict(),
                    "in_ks4_files": int(df.in_ks4.sum()), "in_ks2_files": int(df.in_ks2.sum()),
                    "las": int(df.la.nunique())},
        "files": files,
        "rows": sum(f["rows"] for f in files.values()),
        "bytes": sum(f["bytes"] for f in files.values()),
        "seconds": round(time.perf_counter() - t0, 2),
    }


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(
        prog="python -m equity synth",
        description="Write a SYNTHETIC national-scale data set in DfE formats, for speed measurement only. "
                    "The data are made up and must never be shown as real.")
    p.add_argument("--schools", type=int, default=24000, help="number of synthetic schools (default 24000)")
    p.add_argument("--years", type=int, default=8, help="number of results years, 1-11 (default 8)")
    p.add_argument("--out", required=True, help="output directory")
    p.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv[:1] == ["--"]:          # ``python -m equity synth -- --schools ...``
        argv = argv[1:]
    a = p.parse_args(argv)
    try:
        s = write_synthetic(a.out, a.schools, a.years, a.seed)
    except ValueError as exc:
        p.error(str(exc))
    for name, f in s["files"].items():
        print(f"{name:60s} {f['rows']:>9,d} rows {f['bytes'] / 1e6:>9.1f} MB")
    print(f"SYNTHETIC data (speed measurement only): {len(s['files'])} files, {s['rows']:,d} rows, "
          f"{s['bytes'] / 1e6:.1f} MB in {s['seconds']:.1f} s -> {s['out_dir']}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
