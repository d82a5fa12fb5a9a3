"""Awkward real-world variants of a real DfE file (tests/fixtures/messy, made from Surrey's
2018/19 KS4 file), each driven through the build: it loads correctly, or fails with a message
naming the file, row and column, and nothing already built is lost."""
from __future__ import annotations

from pathlib import Path

import duckdb
import pytest

from equity.ingest.build import build
from equity.ingest.errors import IngestError

MESSY = Path(__file__).parent / "fixtures" / "messy"


def _build(tmp_path, *names):
    db = tmp_path / "t.duckdb"
    report = build([MESSY / n for n in names], db)
    return db, report


def _rows(db, sql, params=()):
    con = duckdb.connect(str(db), read_only=True)
    try:
        return con.execute(sql, list(params)).fetchall()
    finally:
        con.close()


@pytest.mark.parametrize("name", ["ks4_no_bom.csv", "ks4_cp1252.csv", "ks4_renamed_columns.csv",
                                  "ks4_all_suppressed.csv", "ks4_unknown_code.csv", "2015-2016_936_ks4final.csv"])
def test_variant_loads(tmp_path, name):
    db, report = _build(tmp_path, name)
    assert report.outcome == "built"
    years = _rows(db, "select distinct academic_year from school_result where kind = 'current'")
    assert years == [("2018/19",)]  # from the content, whatever the file name says
    n = _rows(db, "select count(distinct urn) from school_result")[0][0]
    assert n == 6
    published = _rows(db, "select value from published_result where area_code = 'england' and measure = 'att8' "
                          "and pupil_group = 'all' and academic_year = '2018/19'")
    assert published == [(46.7,)]


def test_cp1252_names_are_read_correctly(tmp_path):
    db, report = _build(tmp_path, "ks4_cp1252.csv")
    names = [r[0] for r in _rows(db, "select name from school_context")]
    assert "St Mary’s Catholic School" in names
    assert any(c.name == "encoding" and c.status == "warning" for c in report.checks)


def test_all_suppressed_school_keeps_reasons_and_no_numbers(tmp_path):
    db, _ = _build(tmp_path, "ks4_all_suppressed.csv")
    rows = _rows(db, "select count(*), count(value), min(status), max(status) from school_result "
                     "where urn = 141200 and kind = 'current' and measure in ('att8', 'p8', 'basics_95')")
    total, with_value, lo, hi = rows[0]
    assert total > 0 and with_value == 0 and lo == hi == "SUPP"


def test_unknown_code_is_a_warning_not_a_number(tmp_path):
    db, report = _build(tmp_path, "ks4_unknown_code.csv")
    row = _rows(db, "select value, status, raw_token from school_result where urn = 142490 and measure = 'att8' "
                    "and pupil_group = 'disadvantaged' and kind = 'current'")
    assert row == [(None, "unknown", "QQ")]
    warn = [c for c in report.checks if c.name == "unknown codes"]
    assert warn and warn[0].status == "warning" and "'QQ'" in warn[0].message and "row 3" in warn[0].message
    # a thousands separator is not read as a number (it could as well be a decimal comma): the cell is
    # missing and the report names the file, row, column and raw cell; a quoted comma in a name is text
    assert _rows(db, "select pupils_on_roll from school_context where urn = 145217") == [(None,)]
    sep = [c for c in report.checks if c.name.startswith("numbers with thousands separators")]
    assert sep[0].status == "warning" and sep[0].count == 1
    assert "ks4_unknown_code.csv row 5 column TOTPUPS: '1,234'" in sep[0].message
    assert _rows(db, "select row, \"column\", raw, problem from rejected_cell") == [(5, "TOTPUPS", "1,234", "bad_number")]
    assert _rows(db, "select name from school_context where urn = 142490") == [("Smith, Jones and Partners Academy",)]


def test_wrong_year_in_file_name_is_reported(tmp_path):
    _, report = _build(tmp_path, "2015-2016_936_ks4final.csv")
    assert any(c.name == "file years" and "content wins" in c.message for c in report.checks)


@pytest.mark.parametrize("name, row, column, words", [
    ("ks4_truncated.csv", 6, "RANK", "truncated"),
    ("ks4_duplicate_urn.csv", 4, "URN", "appears more than once"),
    ("ks4_bad_urn.csv", 5, "URN", "'12A456' is not a number"),
])
def test_malformed_file_fails_with_file_row_column(tmp_path, name, row, column, words):
    with pytest.raises(IngestError) as err:
        _build(tmp_path, name)
    e = err.value
    assert e.file.endswith(name) and e.row == row and words in str(e)
    if column != "RANK":
        assert e.column == column
    else:
        assert e.column  # the column where the row stops
    assert not (tmp_path / "t.duckdb").exists()


def test_unrecognised_files_are_listed_and_skipped(tmp_path):
    db, report = _build(tmp_path, "spreadsheet_saved_as.csv", "notes_metadata.csv", "ks4_no_bom.csv")
    skipped = {f["file"].split("/")[-1] for f in report.files if f["status"] == "skipped"}
    assert skipped == {"spreadsheet_saved_as.csv", "notes_metadata.csv"}
    assert report.outcome == "built"


@pytest.mark.slow  # 1.7 s: builds twice (quiet run, 2 cores)
def test_failed_rebuild_leaves_previous_database_serving(tmp_path):
    from equity import db as dbmod
    good = tmp_path / "t.duckdb"
    build([MESSY / "ks4_no_bom.csv"], good)
    before = dbmod.query("lookups/school", {"urn": 139948}, path=good)
    with pytest.raises(IngestError):
        build([MESSY / "ks4_no_bom.csv", MESSY / "ks4_duplicate_urn.csv"], good)
    after = dbmod.query("lookups/school", {"urn": 139948}, path=good)
    assert len(before) == len(after) == 1 and before.name[0] == after.name[0]
    leftovers = [p.name for p in tmp_path.iterdir() if ".building-" in p.name]
    assert leftovers == []
    from equity.report import load
    saved = load(tmp_path / "t.duckdb.report.json")
    assert saved["outcome"] == "failed" and "ks4_duplicate_urn.csv" in str(saved["checks"])


@pytest.mark.slow  # 2.0 s: builds twice (quiet run, 2 cores)
def test_reader_picks_up_a_new_build_without_restart(tmp_path):
    from equity import db as dbmod
    path = tmp_path / "t.duckdb"
    build([MESSY / "ks4_no_bom.csv"], path)
    con_before = dbmod.connection(path)
    n1 = dbmod.query("lookups/school_search", {"q": "Smith, Jones", "limit": 5}, path=path)
    assert n1.empty
    build([MESSY / "ks4_unknown_code.csv"], path)
    n2 = dbmod.query("lookups/school_search", {"q": "Smith, Jones", "limit": 5}, path=path)
    assert list(n2.urn) == [142490]
    assert dbmod.connection(path) is not con_before
