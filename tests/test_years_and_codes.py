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
    from equity import breaks
    assert breaks.breaks_between(2018, 2021, 4, "att8")  # pandemic
    assert breaks.breaks_between(2015, 2016, 4, "att8")  # old points scale
    assert breaks.breaks_between(2015, 2016, 4, "att8_vs_national_other")  # DIFFN_ATT8 shares att8's breaks
    assert breaks.breaks_between(2016, 2017, 4, "att8") == []
    assert breaks.breaks_between(2015, 2016, 4, "p8") == []
    # Progress 8 changed method in 2017/18 (capped extreme scores): a break for P8, not for A8
    assert breaks.real_breaks(2016, 2017, 4, "p8") and breaks.real_breaks(2015, 2018, 4, "p8_vs_national_other")
    assert not breaks.comparable(2015, 2018, 4, "p8") and breaks.comparable(2017, 2018, 4, "p8")
    # 2021/22 KS4 is not comparable with 2018/19 nor with later years (grading back to normal in 2022/23)
    assert not breaks.comparable(2021, 2022, 4, "att8") and not breaks.comparable(2021, 2023, 4, "basics_95")
    assert breaks.comparable(2022, 2023, 4, "att8")
    assert breaks.comparable(2021, 2022, 2, "rwm_exp")  # KS2 tests were not regraded
    # no Progress 8 for 2024/25 and 2025/26; no KS2 progress for 2023/24 and 2024/25
    assert not breaks.published("p8", 4, 2024) and not breaks.published("p8", 4, 2025) and breaks.published("p8", 4, 2023)
    assert not breaks.published("p8_vs_national_other", 4, 2025) and breaks.published("att8", 4, 2024)
    assert not breaks.published("read_prog", 2, 2023) and not breaks.published("mat_prog", 2, 2024)
    assert breaks.published("rwm_exp", 2, 2023)
    assert not breaks.comparable(2023, 2026, 4, "p8") and not breaks.comparable(2022, 2025, 2, "writ_prog")
    # a year DfE did not publish is a break for everyone (a school, an LA, an estimate)
    assert not breaks.published("att8", 4, 2019) and not breaks.published("rwm_exp", 2, 2020)
    assert breaks.published("att8", 4, 2019, level="england")  # England's centre-assessed grades were published
    assert not breaks.comparable(2019, 2020, 4, "att8")
    # reformed GCSEs: a caution on A8 across 2016/17-2018/19, not a break, and none on Progress 8
    assert breaks.cautions(2016, 2018, 4, "att8") and breaks.comparable(2016, 2018, 4, "att8")
    assert not breaks.cautions(2016, 2018, 4, "p8") and not breaks.cautions(2018, 2023, 4, "att8")
    # every break has a reason and splits a two-year series
    for after, stages, measures, why in breaks.BREAKS:
        for ks in stages:
            m = (measures or ("att8" if ks == 4 else "rwm_exp"))[0] if measures else ("att8" if ks == 4 else "rwm_exp")
            assert why and len(breaks.segments([after - 1, after], ks, m)[0]) == 2, (after, ks, m)


def test_every_break_is_decided_in_equity_breaks():
    """No other module keeps its own list of breaks (issue 13: seven places decided them)."""
    import re
    from pathlib import Path
    root = Path(__file__).resolve().parent.parent
    for f in list((root / "equity").glob("*.py")) + list((root / "pages").glob("*.py")):
        if f.name == "breaks.py":
            continue
        text = f.read_text(encoding="utf-8")
        assert not re.search(r"^\s*[A-Z_]*BREAKS\s*=", text, re.M), f.name
        assert "years.breaks_between" not in text and "years.BREAKS" not in text, f.name


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
