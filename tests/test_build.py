"""The build on the real bundled files: years from content, published rows exactly as printed,
every file accounted for, the report's checks."""
from __future__ import annotations

import csv
import gzip
import io
from pathlib import Path

import duckdb
import pytest

import fixtures
from equity import db
from equity.ingest.errors import IngestError
from equity.ingest.sniff import sniff

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
    "919_ks4final.csv": 2024, "919_ks2final.csv": 2024,
}
PERF_FILES = [n for n in EXPECTED_YEARS if "ks4final" in n or "-ks2" in n or "ks2final" in n]
PUBLISHED_TYPES = {4: {"4": "la", "5": "england_all", "7": "england"}, 2: {"3": "la", "4": "england_all", "5": "england"}}
CHECKED_COLUMNS = {4: {"ATT8SCR": ("att8", "all"), "ATT8SCR_FSM6CLA1A": ("att8", "disadvantaged"),
                       "ATT8SCR_NFSM6CLA1A": ("att8", "other"), "P8MEA_FSM6CLA1A": ("p8", "disadvantaged"),
                       "PTFSM6CLA1ABASICS_95": ("basics_95", "disadvantaged"),
                       "PTNOTFSM6CLA1ABASICS_95": ("basics_95", "other")},
                   2: {"PTRWM_EXP": ("rwm_exp", "all"), "PTRWM_EXP_FSM6CLA1A": ("rwm_exp", "disadvantaged"),
                       "PTRWM_EXP_NOTFSM6CLA1A": ("rwm_exp", "other"), "READPROG_FSM6CLA1A": ("read_prog", "disadvantaged")}}


def _file(name):
    return next(RAW.rglob(name))


def _read(path: Path) -> list[list[str]]:
    """A bundled CSV (gzipped or not) read with the csv module: rows as DfE wrote them, short rows and all."""
    raw = path.read_bytes()
    if path.name.endswith(".gz"):
        raw = gzip.decompress(raw)
    return list(csv.reader(io.StringIO(raw.decode("utf-8-sig"))))


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


SMALL_DB_FILES = {p.name for src in fixtures.small_sources() for p in ([src] if src.is_file() else src.rglob("*"))}


@pytest.mark.parametrize("name", [n for n in PERF_FILES if n in SMALL_DB_FILES])
def test_published_rows_are_in_the_database_exactly_as_published(small_db, name):
    _published_rows_are_in_the_database(small_db, name)


@pytest.mark.parametrize("name", [n for n in PERF_FILES if n not in SMALL_DB_FILES])
def test_published_rows_of_files_outside_the_small_database_are_in_the_bundle_exactly_as_published(built_db, name):
    _published_rows_are_in_the_database(built_db, name)


def _published_rows_are_in_the_database(db_path, name):
    rows = _read(_file(name))
    head = [h.upper() for h in rows[0]]
    ks = 4 if "ATT8SCR" in head else 2
    year = EXPECTED_YEARS[name]
    con = _con(db_path)
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


def test_report_has_named_checks(small_db):
    con = _con(small_db)
    names = {r[0] for r in con.execute("select name from ingest_check").fetchall()}
    con.close()
    assert {"rows read per file type", "values missing by reason", "unknown codes",
            "one value per school, year, measure and group", "result URNs with a school record",
            "years and measures present"} <= names


# --- dating DfE files from their content (2024/25 and earlier) -----------------------------------------
HERTS = RAW / "dfe_csp_herts_jshi12" / "2024-2025"
ENGLAND_RECTYPE = {4: "7", 2: "5"}


def _england_row(rows, ks):
    head = [h.upper() for h in rows[0]]
    row = next(r for r in rows[1:] if r[head.index("RECTYPE")].strip() == ENGLAND_RECTYPE[ks])
    return dict(zip(head, row))


def test_england_figures_table_equals_the_files():
    """Every figure in the one table of England figures is the file's own England row, as printed."""
    from equity.measures import ENGLAND_FIGURES
    checked = set()
    for ref in ENGLAND_FIGURES:
        row = _england_row(_read(_file(ref.source)), ref.key_stage)
        for col, printed in ref.figures.items():
            assert row[col + ref.suffix].strip() == printed, (ref.source, col + ref.suffix)
        checked.add((ref.key_stage, ref.start_year))
    assert {(4, 2022), (4, 2023), (4, 2024), (2, 2022), (2, 2023), (2, 2024), (4, 2018), (2, 2018)} <= checked


def test_each_year_of_england_figures_dates_only_itself():
    from equity.measures import ENGLAND_FIGURES, england_year
    for ref in ENGLAND_FIGURES:
        year, why, _ = england_year(ref.key_stage, ref.figures)
        assert year == ref.start_year, (ref.key_stage, ref.start_year, why)


def test_a_pupil_count_alone_dates_nothing():
    from equity.measures import england_year
    # 2023/24 had 629,207 KS4 pupils and 2024/25 625,647: close, and never enough on their own
    for tpup in ("629207", "625647"):
        year, why, _ = england_year(4, {"TPUP": tpup})
        assert year is None and "too few figures" in why
    herts = _england_row(_read(HERTS / "919_ks4final.csv"), 4)
    assert england_year(4, {"TPUP": herts["TPUP"], "TFSM6CLA1A": herts["TFSM6CLA1A"]})[0] is None


def test_2024_25_file_history_columns_carry_the_two_years_before():
    """_PREV / _PREV2 name no year by themselves, but matched against the England table they date the file."""
    from equity.measures import england_matches
    row = _england_row(_read(HERTS / "919_ks4final.csv"), 4)
    matches, _ = england_matches(4, row)
    assert {(m.start_year, m.via) for m in matches} == {(2024, ""), (2024, "_PREV"), (2024, "_PREV2")}


def _write(path: Path, rows) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", newline="", encoding="utf-8") as fh:
        csv.writer(fh, lineterminator="\n").writerows(rows)
    return path


def _without_history(rows):
    """The file with every history column (_PREV, _PREV2, _NN, _3YR) removed; short rows stay short."""
    import re
    drop = {i for i, h in enumerate(rows[0]) if re.search(r"_(PREV2?|\d\d|3YR)$", h.upper())
            and not re.search(r"BASICS_9[45]$|_9[45]$", h.upper())}
    return [[v for i, v in enumerate(r) if i not in drop] for r in rows]


def _year_of(db_path, name):
    con = _con(db_path)
    try:
        return con.execute("select start_year, version, year_evidence from source_file where file like ?",
                           [f"%{name}"]).fetchone()
    finally:
        con.close()


@pytest.mark.parametrize("ks, where", [(4, "2024-2025/919_ks4final.csv"), (4, "downloads/919_ks4final.csv"),
                                       (4, "919_ks4final.csv"), (2, "downloads/919_ks2final.csv")])
def test_hertfordshire_files_load_named_as_downloaded_or_renamed(tmp_path, ks, where):
    from equity.ingest.build import build
    src = HERTS / f"919_ks{ks}final.csv"
    path = tmp_path / "in" / where
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(src.read_bytes())
    report = build([path], tmp_path / "t.duckdb")
    assert report.outcome == "built"
    year, version, evidence = _year_of(tmp_path / "t.duckdb", where.split("/")[-1])
    assert (year, version) == (2024, "final")
    assert evidence.startswith("England row" if ks == 4 else "newest history column TELIG_24"), evidence


def test_ks4_file_without_history_or_year_in_name_is_dated_by_its_england_row(tmp_path):
    from equity.ingest.build import build
    rows = _without_history(_read(HERTS / "919_ks4final.csv"))
    assert not any(h.endswith(("_PREV", "_PREV2")) for h in rows[0])
    path = _write(tmp_path / "downloads" / "919_ks4final.csv", rows)
    report = build([path], tmp_path / "t.duckdb")
    assert report.outcome == "built"
    year, _, evidence = _year_of(tmp_path / "t.duckdb", "919_ks4final.csv")
    assert year == 2024 and "England row (its own figures)" in evidence and "ATT8SCR_FSM6CLA1A" in evidence


def test_england_row_matching_no_known_year_fails_naming_the_file(tmp_path):
    from equity.ingest.build import build
    rows = _without_history(_read(HERTS / "919_ks4final.csv"))
    head = rows[0]
    for r in rows[1:]:
        if r[head.index("RECTYPE")] == "7":  # a year we do not know: Attainment 8 figures nobody published
            for col, v in (("ATT8SCR", "47.7"), ("ATT8SCR_FSM6CLA1A", "33.3"), ("ATT8SCR_NFSM6CLA1A", "52.2")):
                r[head.index(col)] = v
    path = _write(tmp_path / "2024-2025" / "919_ks4final.csv", rows)  # a year in the folder does not override it
    with pytest.raises(IngestError) as err:
        build([path], tmp_path / "t.duckdb")
    assert err.value.file.endswith("919_ks4final.csv") and "matches no year" in str(err.value)


def test_file_nothing_dates_fails_and_year_option_dates_it(tmp_path):
    from equity.ingest.build import build
    rows = _without_history(_read(HERTS / "919_ks4final.csv"))
    rows = [rows[0]] + [r for r in rows[1:] if r[0] not in ("5", "7")]  # no England rows
    path = _write(tmp_path / "downloads" / "919_ks4final.csv", rows)
    with pytest.raises(IngestError) as err:
        build([path], tmp_path / "t.duckdb")
    assert err.value.file.endswith("919_ks4final.csv") and "--year" in str(err.value)
    report = build([path], tmp_path / "t.duckdb", year=2024)
    assert report.outcome == "built"
    assert _year_of(tmp_path / "t.duckdb", "919_ks4final.csv")[0] == 2024
    assert any(c.name == "file years" and "--year" in c.message for c in report.checks)


@pytest.mark.slow  # 3.6 s: builds three times (quiet run, 2 cores)
def test_final_beats_revised_beats_provisional(tmp_path):
    """Versions of one year resolve to the latest, whatever order the files are read in."""
    from equity.ingest.build import build
    rows = _read(HERTS / "919_ks4final.csv")
    head = rows[0]
    paths = {}
    for version, att8 in (("provisional", "50.0"), ("revised", "50.3"), ("final", None)):
        copy = [list(r) for r in rows]
        for r in copy[1:]:
            if att8 and r[head.index("RECTYPE")] == "4":
                r[head.index("ATT8SCR")] = att8
        paths[version] = _write(tmp_path / version / f"919_ks4{version}.csv", copy)

    def la_att8(files):
        db_path = tmp_path / f"{len(files)}.duckdb"
        build(files, db_path)
        con = _con(db_path)
        try:
            return con.execute("select value, version from published_result where area_code = '919' and "
                               "start_year = 2024 and measure = 'att8' and pupil_group = 'all'").fetchone()
        finally:
            con.close()
    assert la_att8([paths["provisional"]]) == (50.0, "provisional")
    assert la_att8([paths["revised"], paths["provisional"]]) == (50.3, "revised")
    assert la_att8([paths["provisional"], paths["final"], paths["revised"]]) == (50.6, "final")


def test_statements_built_from_a_files_columns_keep_their_shape_in_sql_files():
    # the screen's distinct cells of each column: only its column lists are generated, into named slots
    text = db.sql_with("build/screen_tokens", table="raw_1", names="'ATT8SCR'",
                       tokens="list(distinct \"ATT8SCR\")")
    assert "from raw_1" in text and "['ATT8SCR']" in text and "{" not in text
    with pytest.raises(KeyError, match="no slot"):
        db.sql_with("build/screen_tokens", where="true")
    assert db.sql_literal("ATT8SCR_FSM6CLA1A") == "'ATT8SCR_FSM6CLA1A'"
    with pytest.raises(ValueError):
        db.sql_literal("x' or 1=1 --")
    # column lists from a header are quoted one by one, a missing optional column is null, and a table
    # slot takes only a name the build chose: a hostile header or table name never reaches the SQL
    text = db.sql_with("build/la_tables/smc_la_load", table="raw_2", sample=["Sample_size"], sex=None)
    assert 'cell_value("Sample_size")' in text and "trim(null)" in text and "from raw_2 t" in text
    with pytest.raises(ValueError):
        db.sql_with("build/la_tables/smc_la_load", table="raw_2", sample=['x") or (1=1'], sex=None)
    with pytest.raises(ValueError):
        db.sql_with("build/la_tables/row_count", table="raw_2; drop table school")


@pytest.mark.parametrize("loader, table, fields", [("geography", "stg_lsoa_wide", "VALUE_FIELDS"),
                                                   ("iod2025", "stg_lsoa21_wide", "XLSX_FIELDS")])
def test_staging_ddl_holds_every_field_the_loader_fills(loader, table, fields):
    """The wide staging tables are written out in their SQL files; their value columns are the loader's
    fields, in order, so a field added in Python without its column fails here, not in a build."""
    import re
    from equity.ingest.loaders import geography, iod2025
    mod = {"geography": geography, "iod2025": iod2025}[loader]
    con = duckdb.connect()
    try:
        con.execute(db.sql(f"build/{loader}/staging"))
        got = [r[0] for r in con.execute(f"describe {table}").fetchall()]
    finally:
        con.close()
    want = [f for f, _ in getattr(mod, fields)]
    assert [c for c in got if c in want] == want
    assert all(re.fullmatch(r"lsoa(11|21)|source_file|sheet|name|lad_code|lad_name", c) for c in got if c not in want)
