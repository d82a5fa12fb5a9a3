"""What data the dashboard holds: the register of bundled sources, coverage by LA, year and
measure, known breaks in the series, and the ingest report of the latest build."""
from __future__ import annotations

import csv

import pandas as pd

from . import build, db
from .report import load as load_report
from .breaks import BREAKS, CAUTIONS
from .years import label

# What we actually hold with the disadvantaged split (shown on the Data page and in the README).
HOLDINGS = pd.DataFrame([
    ("KS4 (age 16)", "Hampshire (850)", "2016/17–2017/18", "Full performance tables; 2015/16 and earlier from history columns "
     "(2015/16 Attainment 8 is on the old points scale)"),
    ("KS4 (age 16)", "Surrey (936)", "2016/17–2018/19", "Full performance tables; earlier years from history columns"),
    ("KS4 (age 16)", "North Yorkshire (815)", "2016/17–2017/18", "Full performance tables; 2018/19 provisional headline only"),
    ("KS2 (age 11)", "Hampshire (850), Surrey (936)", "2016/17–2018/19", "Full performance tables"),
    ("KS4 (age 16)", "Every school in England", "2023/24",
     "Only the gap between the school's disadvantaged pupils and national other pupils (DIFFN), "
     "shown as published; the two groups' scores are not in the file"),
    ("KS4 destinations", "Every school in England", "2018/19 tables", "Sustained destinations, disadvantaged vs other"),
    ("Context", "England", "various", "Census, spine, GIAS extracts, links, Ofsted history to 2020, coordinates, "
     "absence, IoD2019 and LSOA geography"),
], columns=["Key stage", "Where", "Years", "What"])


def sources() -> pd.DataFrame:
    """The register of bundled files (data/sources.csv): file, publisher, year, rows, licence, attribution."""
    path = db.ROOT / "data" / "sources.csv"
    with path.open(encoding="utf-8") as fh:
        return pd.DataFrame(list(csv.DictReader(fh)))


def coverage(path=None) -> pd.DataFrame:
    """Which measures exist for which LA and year, with the disadvantaged split (school rows)."""
    return db.query("catalogue/coverage", path=path)


def files_loaded(path=None) -> pd.DataFrame:
    return db.query("catalogue/files_loaded", path=path)


def ingest_checks(path=None) -> pd.DataFrame:
    return db.query("catalogue/ingest_checks", path=path)


def last_build_attempt(path=None) -> dict | None:
    """The report of the latest build attempt, successful or not (a failed one leaves the old DB)."""
    p = build.report_path(db.default_path() if path is None else path)
    return load_report(p)


def breaks() -> pd.DataFrame:
    """Every break in a series (lines stop, no change is stated across it) and every caution, from equity.breaks."""
    rows = [{"Kind": "break", "From": label(after), "Key stages": ", ".join(f"KS{k}" for k in stages),
             "Measures": "all" if measures is None else ", ".join(measures), "Why": why}
            for after, stages, measures, why in BREAKS]
    rows += [{"Kind": "caution", "From": f"{label(start)}–{label(end)}",
              "Key stages": ", ".join(f"KS{k}" for k in stages), "Measures": ", ".join(measures), "Why": why}
             for start, end, stages, measures, why in CAUTIONS]
    return pd.DataFrame(rows)
