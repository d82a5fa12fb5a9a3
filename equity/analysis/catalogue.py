"""What data the dashboard holds: the register of bundled sources, coverage by LA, year and
measure, known breaks in the series, and the ingest report of the latest build."""
from __future__ import annotations

import csv
import datetime as dt
import re

import pandas as pd

from equity import db
from equity.cache import per_build
from equity.report import load as load_report
from equity.report import report_path
from equity.breaks import BREAKS, CAUTIONS
from equity.years import label

# What we actually hold with the disadvantaged split (shown on the Data page and in the README).
HOLDINGS = pd.DataFrame([
    ("KS4 (age 16)", "Hampshire (850)", "2016/17–2017/18", "Full performance tables; 2015/16 and earlier from history columns "
     "(2015/16 Attainment 8 is on the old points scale)"),
    ("KS4 (age 16)", "Surrey (936)", "2016/17–2018/19", "Full performance tables; earlier years from history columns"),
    ("KS4 (age 16)", "North Yorkshire (815)", "2016/17–2017/18", "Full performance tables; 2018/19 provisional headline only"),
    ("KS2 (age 11)", "Hampshire (850), Surrey (936)", "2016/17–2018/19", "Full performance tables"),
    ("KS4 (age 16)", "Hertfordshire (919)", "2024/25; LA and England 2022/23–2023/24",
     "Full 2024/25 performance tables as DfE serves them; 2023/24 and 2022/23 from their _PREV/_PREV2 columns. "
     "No Progress 8 for 2024/25 (not published)"),
    ("KS2 (age 11)", "Hertfordshire (919)", "2024/25; 2022/23–2023/24 from history columns",
     "Full 2024/25 performance tables; no KS2 progress scores for 2023/24 and 2024/25 (not published)"),
    ("KS4 (age 16)", "Every school in England", "2023/24",
     "Only the gap between the school's disadvantaged pupils and national other pupils (DIFFN), "
     "shown as published; the two groups' scores are not in the file"),
    ("KS4 destinations", "Every school in England", "2018/19 tables", "Sustained destinations, disadvantaged vs other"),
    ("Context", "England", "various", "Census (January 2019 and January 2025), spine, GIAS extracts, links, Ofsted "
     "history to 2020, coordinates, absence, IoD2019 and LSOA geography"),
    ("Ofsted", "A sample of 209 schools (Camden, Greenwich and others)", "inspections to March 2026",
     "Ofsted management information: latest report card (8 schools), graded inspection under the previous framework "
     "and ungraded outcome; other schools have only the history to February 2020"),
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
    p = report_path(db.default_path() if path is None else path)
    return load_report(p)


_STATUS_ORDER = {"fail": 0, "warning": 1, "pass": 2}


def attempt_checks(attempt: dict) -> pd.DataFrame:
    """A build attempt's report (:func:`last_build_attempt`, or a browser build's) as the same table as
    :func:`ingest_checks`: one row per check (check, status, count, message, file), failures first.
    Unlike ``ingest_checks`` it exists for a failed build too (which wrote no database)."""
    rows = [{"check": c.get("name"), "status": c.get("status"), "count": c.get("count"), "message": c.get("message"),
             "file": c.get("file")} for c in (attempt or {}).get("checks", [])]
    out = pd.DataFrame(rows, columns=["check", "status", "count", "message", "file"])
    return out.sort_values(["status", "check"], key=lambda col: col.map(_STATUS_ORDER) if col.name == "status"
                           else col, kind="stable").reset_index(drop=True)


def attempt_files(attempt: dict) -> pd.DataFrame:
    """The files a build attempt read, as :func:`files_loaded` lists them (file, kind, academic_year,
    version, rows, encoding, year_evidence, status), loaded or skipped."""
    cols = ["file", "kind", "academic_year", "version", "rows", "encoding", "year_evidence", "status"]
    rows = [{**{c: f.get(c) for c in cols}, "academic_year": f.get("year")} for f in (attempt or {}).get("files", [])]
    return pd.DataFrame(rows, columns=cols)


def breaks() -> pd.DataFrame:
    """Every break in a series (lines stop, no change is stated across it) and every caution, from equity.breaks."""
    rows = [{"Kind": "break", "From": label(after), "Key stages": ", ".join(f"KS{k}" for k in stages),
             "Measures": "all" if measures is None else ", ".join(measures), "Why": why}
            for after, stages, measures, why in BREAKS]
    rows += [{"Kind": "caution", "From": f"{label(start)}–{label(end)}",
              "Key stages": ", ".join(f"KS{k}" for k in stages), "Measures": ", ".join(measures), "Why": why}
             for start, end, stages, measures, why in CAUTIONS]
    return pd.DataFrame(rows)


# ---- what is current -----------------------------------------------------------------------------
# A source older than this (its newest file's latest year or date) gets a plain warning on the Data page.
OLD_AFTER_YEARS = 3
# Which pages rely on a kind of source (matched by words in the kind the build records): only these warn.
# Kinds sharing a word are judged together on their newest file (IoD2019's files), except Ofsted's: a
# recent management-information file covers some schools, the old history file the rest, so each warns.
SEPARATE = ("ofsted",)
RELIED_ON = [
    ("ofsted", "Keys to Success (its Ofsted sign) and the school profile",
     "for schools outside the Ofsted management-information file, the latest judgement held is from {latest}; "
     "single-word judgements ended in September 2024 and report cards began in November 2025"),
    ("iod2019", "Neighbourhoods and families (IDACI)",
     "IoD2019 (on 2011 neighbourhoods) is what maps and deprivation figures use for years before IoD2025; it "
     "describes deprivation around 2015-16"),
    ("census", "school profiles (context) and families", "the latest school census held is {latest}"),
    ("performance table", "every results page", "the newest results held are {latest}"),
    ("gias establishments", "school names, types and locations", "the newest establishment list held is from {latest}"),
]


def _register_year(text: str) -> int | None:
    """The newest calendar year a register entry's 'year' mentions ('IoD2019' -> 2019)."""
    ys = [int(y) for y in re.findall(r"(?<!\d)(20\d\d|19\d\d)(?!\d)", text or "")]
    return max(ys) if ys else None


@per_build(maxsize=4)
def _held_per_file(path=None) -> pd.DataFrame | None:
    """Per file the build read: its kind, its own year, and the latest start year and date its rows
    hold in any table (None when the build recorded no files). Read once per build: it scans every
    table that keeps a ``source_file`` (the Data page asked on every run, twice)."""
    files = db.query("catalogue/source_files", path=path)
    if files.empty:
        return None
    per_file = files[["file", "kind", "start_year"]].rename(columns={"start_year": "file_year"}).copy()
    found = []
    for r in db.query("catalogue/dated_columns", path=path).itertuples():
        cols = [list(c) if isinstance(c, (list, tuple)) or hasattr(c, "tolist") else [] for c in (r.year_columns, r.date_columns)]
        got = db.latest_by_source_file(r.table_name, *cols, path=path)
        if not got.empty:
            found.append(got)
    if found:
        latest = pd.concat(found).groupby("source_file", as_index=False).agg(
            latest_year=("latest_year", "max"), latest_date=("latest_date", "max"))
        per_file = per_file.merge(latest, left_on="file", right_on="source_file", how="left")
    else:
        per_file["latest_year"], per_file["latest_date"] = None, None
    reg = sources()
    reg_year = dict(zip(reg.path, reg.year.map(_register_year))) if not reg.empty else {}
    per_file["register_year"] = per_file.file.map(reg_year)
    return per_file


def currency(path=None, today: dt.date | None = None) -> pd.DataFrame:
    """For each kind of source the build read: how many files, the latest year or date held, how old that
    is, and a plain warning where a page relies on it and it is old.

    Generic over the files the build records (``source_file``): the latest academic year or date is read
    from every table that keeps a ``source_file`` column (a start year, or any date column such as an
    inspection date), else from the file's own year, else from the year its register entry names. A new
    loader's files appear here with no change. Columns: ``kind``, ``files``, ``latest`` (text),
    ``latest_year`` (start year), ``latest_date``, ``age_years``, ``relied_on_by``, ``warning``.
    """
    today = today or dt.date.today()
    per_file = _held_per_file(path)
    if per_file is None:
        return pd.DataFrame(columns=["kind", "files", "latest", "latest_year", "latest_date", "age_years",
                                     "relied_on_by", "warning"])
    rows = []
    for kind, g in per_file.groupby("kind"):
        years = pd.to_numeric(pd.concat([g.latest_year, g.file_year]), errors="coerce").dropna()
        dates = pd.to_datetime(g.latest_date, errors="coerce").dropna()
        ryear = pd.to_numeric(g.register_year, errors="coerce").dropna()
        latest_year = int(years.max()) if len(years) else None
        latest_date = dates.max().date() if len(dates) else None
        if latest_date is not None:
            text, end = latest_date.isoformat(), latest_date
        elif latest_year is not None:
            text, end = label(latest_year), dt.date(latest_year + 1, 8, 31)
        elif len(ryear):
            text, end = f"{int(ryear.max())} (from the register of sources)", dt.date(int(ryear.max()), 12, 31)
        else:
            text, end = "not recorded", None
        age = None if end is None else max((today - end).days / 365.25, 0.0)
        topic = next((t for t in RELIED_ON if t[0] in kind.lower()), None)
        rows.append({"kind": kind, "files": len(g), "latest": text, "latest_year": latest_year,
                     "latest_date": latest_date, "age_years": None if age is None else round(age, 1),
                     "relied_on_by": topic[1] if topic else "", "topic": topic[0] if topic else ""})
    out = pd.DataFrame(rows)
    # one warning per topic, judged on its newest source (IoD2019's three files say one thing)
    out["warning"] = ""
    for word, pages, why in RELIED_ON:
        g = out[(out.topic == word) & out.age_years.notna()]
        groups = [g.loc[[i]] for i in g.index] if word in SEPARATE else [g]
        for part in groups:
            if part.empty or part.age_years.min() <= OLD_AFTER_YEARS:
                continue
            newest = part.sort_values("age_years").iloc[0]
            what = why.format(latest=newest.latest)
            out.loc[newest.name, "warning"] = (
                f"{', '.join(sorted(part.kind))}: the latest held is {newest.latest}, {newest.age_years:.0f} years "
                f"ago. {what[0].upper() + what[1:]}. Relied on by: {pages}.")
    return out.drop(columns="topic").sort_values(["warning", "kind"], ascending=[False, True]).reset_index(drop=True)


def currency_warnings(path=None, today: dt.date | None = None) -> list[str]:
    """The plain warnings of :func:`currency`: sources the pages rely on that are old."""
    c = currency(path, today)
    return [w for w in c.warning if w]
