"""Academic-year spelling, history suffixes, breaks, and missing-value codes (Python and SQL twins)."""
import duckdb
import pytest

from equity import codes, db, years


@pytest.mark.parametrize("text, start", [("2017/18", 2017), ("2017-18", 2017), ("2017-2018", 2017), ("201718", 2017),
                                         (2017, 2017)])
def test_parse(text, start):
    assert years.parse(text) == start


@pytest.mark.parametrize("bad", ["2017/19", "2017-2019", "17/18", "abc", "201719"])
def test_parse_rejects(bad):
    with pytest.raises(ValueError):
        years.parse(bad)


def test_labels_and_suffix():
    assert years.label(2017) == "2017/18" and years.file_label(2019) == "2019-20" and years.label(1999) == "1999/00"
    assert years.from_suffix("17") == 2016


def test_breaks():
    assert years.breaks_between(2018, 2021, 4, "att8")  # pandemic
    assert years.breaks_between(2015, 2016, 4, "att8")  # old points scale
    assert years.breaks_between(2016, 2017, 4, "att8") == []
    assert years.breaks_between(2015, 2016, 4, "p8") == []


CELLS = ["18.30%", "SUPP", "", "  ne ", "NP", "x", "c", "z", "low", "LOWCOV", "NEW", "SP", "1,234", "-0.5", "QQ",
         "inf", "nan", "NOT AVAIL", "u", "0"]


def test_python_and_sql_parsers_agree():
    con = duckdb.connect()
    con.execute(db.sql("build/schema").split("create table")[0])
    for cell in CELLS:
        value, status = codes.parse_cell(cell)
        sql_value, sql_status = con.execute("select cell_value(?), cell_status(?)", [cell, cell]).fetchone()
        assert (value, status) == (sql_value, sql_status), cell
    assert codes.parse_cell("18.30%") == (18.3, "ok")
    assert codes.parse_cell("QQ") == (None, "unknown")
    assert codes.parse_cell("inf") == (None, "unknown")


def test_history_columns_named_prev_map_to_earlier_years():
    from equity.measures import column_map
    rows = column_map(4, ["ATT8SCR", "ATT8SCR_FSM6CLA1A_PREV", "ATT8SCR_FSM6CLA1A_PREV2", "ATT8SCR_FSM6CLA1A_22"], 2023)
    got = {(c, y, k) for c, m, g, f, y, k in rows if m == "att8" and f == "value"}
    assert ("ATT8SCR_FSM6CLA1A_PREV", 2022, "history") in got
    assert ("ATT8SCR_FSM6CLA1A_PREV2", 2021, "history") in got
    assert ("ATT8SCR_FSM6CLA1A_22", 2021, "history") in got
    assert ("ATT8SCR", 2023, "current") in got


def test_build_statements_refuse_odd_table_names():
    assert db.table_name("raw_3") == "raw_3" and db.table_name('"stg_lsoa"') == '"stg_lsoa"'
    for bad in ["x; drop table school", "a b", '"x"; --', ""]:
        with pytest.raises(ValueError):
            db.table_name(bad)
