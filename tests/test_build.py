"""The build on the real bundled files: years from content, published rows exactly as printed,
every file accounted for, the report's checks."""
from __future__ import annotations

import csv
import gzip
import io
from pathlib import Path

import duckdb
import pytest

from equity import db
from equity.sniff import sniff

RAW = Path(__file__).resolve().parent.parent / "data" / "raw"

# Academic year of every bundled performance-table file (start year), checked by hand against the
# files' England rows and history columns. Note ks2_2016-850 holds 2016/17.
EXPECTED_YEARS = {
    "2016-2017_850_ks4final.csv.gz": 2016, "2016-2017_936_ks4final.csv.gz": 2016,
    "2017-2018_850_ks4final.csv.gz": 2017, "2017-2018_936_ks4final.csv.gz": 2017,
    "2018-2019_936_ks4final.csv.gz": 2018, "815_2017_ks4final.csv.gz": 2016, "815_2018_ks4final.csv.gz": 2017,
    "815_2019_ks4provisional.csv.gz": 2018, "england_ks4provisional.csv.gz": 2018,
    "ks2_2016-850-ks2.csv.gz": 2016, "ks2_2016-936-ks2.csv.gz": 2016, "ks2_2017-850-ks2.csv.gz": 2017,
    "ks2_2017-936-ks2.csv.gz": 2017, "ks2_2018-850-ks2.csv.gz": 2018, "ks2_2018-936-ks2.csv.gz": 2018,
    "ks4_school_info_2024.csv.gz": 2023, "england_ks4-pupdest.csv.gz": 2016,  # 2018/19 tables: the 2016/17 KS4 leavers' destinations
    "ks2_perf_2016.csv.gz": 2015, "ks2_perf_2017.csv.gz": 2016, "ks2_perf_2018.csv.gz": 2017,
    "ks4_perf_2016.csv.gz": 2015, "ks4_perf_2017.csv.gz": 2016, "ks4_perf_2018.csv.gz": 2017,
}
PERF_FILES = [n for n in EXPECTED_YEARS if "ks4final" in n or "-ks2" in n]
PUBLISHED_TYPES = {4: {"4": "la", "5": "england_all", "7": "england"}, 2: {"3": "la", "4": "england_all", "5": "england"}}
CHECKED_COLUMNS = {4: {"ATT8SCR": ("att8", "all"), "ATT8SCR_FSM6CLA1A": ("att8", "disadvantaged"),
                       "ATT8SCR_NFSM6CLA1A": ("att8", "other"), "P8MEA_FSM6CLA1A": ("p8", "disadvantaged"),
                       "PTFSM6CLA1ABASICS_95": ("basics_95", "disadvantaged"),
                       "PTNOTFSM6CLA1ABASICS_95": ("basics_95", "other")},
                   2: {"PTRWM_EXP": ("rwm_exp", "all"), "PTRWM_EXP_FSM6CLA1A": ("rwm_exp", "disadvantaged"),
                       "PTRWM_EXP_NOTFSM6CLA1A": ("rwm_exp", "other"), "READPROG_FSM6CLA1A": ("read_prog", "disadvantaged")}}


def _file(name):
    return next(RAW.rglob(name))


def _con(path):
    return duckdb.connect(str(path), read_only=True)


def test_every_bundled_file_year_comes_from_its_content(built_db):
    con = _con(built_db)
    got = {f.split("/")[-1]: y for f, y in con.execute("select file, start_year from source_file").fetchall()}
    con.close()
    for name, year in EXPECTED_YEARS.items():
        assert got.get(name) == year, name


def test_every_bundled_file_is_loaded_or_listed(built_db):
    from equity.report import load
    report = load(Path(str(built_db) + ".report.json"))
    seen = {f["file"].split("/")[-1] for f in report["files"]}
    bundled = {p.name for p in RAW.rglob("*") if p.is_file()}
    assert bundled <= seen
    assert report["outcome"] == "built"


@pytest.mark.parametrize("name", PERF_FILES)
def test_published_rows_are_in_the_database_exactly_as_published(built_db, name):
    text = gzip.decompress(_file(name).read_bytes()).decode("utf-8-sig")
    rows = list(csv.reader(io.StringIO(text)))
    head = [h.upper() for h in rows[0]]
    ks = 4 if "ATT8SCR" in head else 2
    year = EXPECTED_YEARS[name]
    con = _con(built_db)
    checked = 0
    for r in rows[1:]:
        level = PUBLISHED_TYPES[ks].get(r[0].strip())
        if not level:
            continue
        area = r[head.index("LEA")].strip() if level == "la" else level
        for col, (measure, group) in CHECKED_COLUMNS[ks].items():
            if col not in head or head.index(col) >= len(r):
                continue
            raw = r[head.index(col)].strip()
            got = con.execute("""select value, status from published_result_all where area_code = ? and key_stage = ?
                                 and start_year = ? and measure = ? and pupil_group = ? and source_file like ?""",
                              [area, ks, year, measure, group, f"%{name}"]).fetchall()
            assert len(got) == 1, (name, area, col)
            value, status = got[0]
            if raw.replace("%", "").replace(".", "", 1).lstrip("-").isdigit():
                assert value == pytest.approx(float(raw.replace("%", ""))), (name, area, col, raw)
                assert status == "ok"
            else:
                assert value is None and status in ("blank", "SUPP", "NE", "NP", "NA", "LOWCOV", "x", "c", "z")
            checked += 1
    con.close()
    assert checked >= 6


def test_final_beats_provisional_and_own_year_beats_history(built_db):
    con = _con(built_db)
    # Surrey 2017/18 Attainment 8 for disadvantaged pupils: in the 2017/18 file and as history in 2018/19
    rows = con.execute("""select kind, source_file from published_result where area_code = '936' and measure = 'att8'
                          and pupil_group = 'disadvantaged' and start_year = 2017""").fetchall()
    assert rows == [("current", "data/raw/dfe_hants_surrey_clarelgibson/2017-2018_936_ks4final.csv.gz")]
    prov = con.execute("""select distinct version from school_result where la_code = '815' and start_year = 2018
                          and measure = 'att8' and kind = 'current'""").fetchall()
    assert prov == [("provisional",)]
    con.close()


def test_small_cohorts_are_hidden_in_the_shown_view(built_db):
    con = _con(built_db)
    leaks = con.execute("select count(*) from school_result_shown where cohort < 6 and value is not null").fetchone()[0]
    assert leaks == 0
    con.close()


def test_sniff_reads_bom_and_header_of_real_files():
    s = sniff(_file("2018-2019_936_ks4final.csv.gz"))
    assert s.header[:3] == ["RECTYPE", "LEA", "ESTAB"] and s.encoding == "utf-8-sig"
    links = sniff(_file("links_edubasealldata.csv.gz"))
    assert links.encoding == "cp1252" and links.first_bad_byte[0] > 0


def test_report_has_named_checks(built_db):
    con = _con(built_db)
    names = {r[0] for r in con.execute("select name from ingest_check").fetchall()}
    con.close()
    assert {"rows read per file type", "values missing by reason", "unknown codes",
            "one value per school, year, measure and group", "result URNs with a school record",
            "years and measures present"} <= names
