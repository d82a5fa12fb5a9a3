"""Ingest safety (issue 14): impossible or misread numbers are caught, duplicate and conflicting files
are named, unreadable and hostile files are reported and skipped, memory stays bounded, temporary
folders are cleaned up. Hostile files are made in each test from a real DfE file (Surrey 2018/19 KS4,
tests/fixtures/messy/ks4_no_bom.csv)."""
from __future__ import annotations

import csv
import io
from pathlib import Path

import duckdb
import pytest

from equity.build import build

MESSY = Path(__file__).parent / "fixtures" / "messy"
KS4 = MESSY / "ks4_no_bom.csv"


def _rows(db, sql, params=()):
    con = duckdb.connect(str(db), read_only=True)
    try:
        return con.execute(sql, list(params)).fetchall()
    finally:
        con.close()


def _edited(path: Path, edits: dict[tuple[int, str], str]) -> Path:
    """A copy of the real KS4 file with some cells rewritten: {(data row, column): text}."""
    rows = list(csv.reader(io.StringIO(KS4.read_text(encoding="utf-8"))))
    head = rows[0]
    for (r, col), text in edits.items():
        rows[r][head.index(col)] = text
    out = io.StringIO()
    csv.writer(out, lineterminator="\n").writerows(rows)
    path.write_text(out.getvalue(), encoding="utf-8")
    return path


def _check(report, start):
    return next(c for c in report.checks if c.name.startswith(start))


# ---- plausibility checks ----------------------------------------------------------------------

def test_misread_and_impossible_numbers_are_reported_and_left_out(tmp_path):
    f = _edited(tmp_path / "ks4_hostile_numbers.csv", {
        (1, "ATT8SCR"): "1,234", (1, "PTL2BASICS_95"): "180", (1, "P8MEA"): "-0.37",
        (2, "ATT8SCR"): "4,5", (2, "PTFSM6CLA1A"): "250%", (2, "TOTPUPS"): "-5",
        (3, "ATT8SCR"): "1e3", (3, "ATT8SCR_FSM6CLA1A"): "-50", (3, "P8MEA"): "7.5",
        (4, "URN"): "-142315",
        (5, "PTL2BASICS_95"): "18.30%",
        (7, "ATT8SCR"): "95",  # the LA row: published figures are checked too
    })
    db, report = tmp_path / "t.duckdb", build([f], tmp_path / "t.duckdb")
    assert report.outcome == "built"  # the build carries on and reports every problem in one run

    def cell(urn, measure, group="all"):
        return _rows(db, "select value, status from school_result_all where urn = ? and measure = ? and "
                         "pupil_group = ? and kind = 'current'", [urn, measure, group])[0]
    assert cell(139948, "att8") == (None, "bad_number")
    assert cell(141200, "att8") == (None, "bad_number")
    assert cell(142490, "att8") == (None, "bad_number")
    assert cell(139948, "basics_95") == (None, "out_of_range")
    assert cell(142490, "att8", "disadvantaged") == (None, "out_of_range")
    assert cell(142490, "p8") == (None, "out_of_range")
    # normal DfE cells still load
    assert cell(139948, "p8") == (-0.37, "ok")
    assert cell(145217, "basics_95") == (18.3, "ok")
    assert _rows(db, "select pct_disadvantaged, pupils_on_roll from school_context_all where urn = 141200") == [(None, None)]
    assert _rows(db, "select value, status from published_result_all where area_code = '936' and measure = 'att8' "
                     "and pupil_group = 'all' and kind = 'current'") == [(None, "out_of_range")]
    # a negative URN: the row is left out, not loaded under URN -142315 or 142315
    assert _rows(db, "select count(*) from school_result_all where abs(urn) = 142315") == [(0,)]

    rejected = _rows(db, 'select row, "column", raw, problem from rejected_cell order by row, "column"')
    assert rejected == [
        (1, "ATT8SCR", "1,234", "bad_number"), (1, "PTL2BASICS_95", "180", "out_of_range"),
        (2, "ATT8SCR", "4,5", "bad_number"), (2, "PTFSM6CLA1A", "250%", "out_of_range"),
        (2, "TOTPUPS", "-5", "out_of_range"),
        (3, "ATT8SCR", "1e3", "bad_number"), (3, "ATT8SCR_FSM6CLA1A", "-50", "out_of_range"),
        (3, "P8MEA", "7.5", "out_of_range"),
        (4, "URN", "-142315", "bad_urn"),
        (7, "ATT8SCR", "95", "out_of_range")]
    sep = _check(report, "numbers with thousands separators")
    assert sep.status == "warning" and sep.count == 3
    assert "ks4_hostile_numbers.csv row 1 column ATT8SCR: '1,234'" in sep.message
    rng = _check(report, "values out of range")
    assert rng.status == "warning" and rng.count == 6
    assert "row 2 column PTFSM6CLA1A: '250%', expected a percentage: 0 to 100" in rng.message
    assert _check(report, "URNs not positive").count == 1
    listed = {(c["row"], c["column"], c["raw"]) for c in report.cells}
    assert (3, "P8MEA", "7.5") in listed and (7, "ATT8SCR", "95") in listed and len(report.cells) == 10


def test_ranges_follow_the_measure():
    from equity import plausibility as p
    assert (p.for_measure("att8").lo, p.for_measure("att8").hi) == (0, 90)
    assert (p.for_measure("p8").lo, p.for_measure("p8").hi) == (-5, 5)
    assert p.for_measure("basics_95") is p.PERCENT and p.for_measure("rwm_exp") is p.PERCENT
    # KS2 progress scores and scaled scores are not percentages
    assert p.for_measure("read_prog").hi == 50 and p.for_measure("read_prog").lo == -50
    assert p.for_field("prior_attainment").hi is None  # KS2 scaled scores of 100-120 are plausible
    assert p.for_measure("rwm_exp_vs_national_other").lo == -100
    assert p.for_measure("att8", "cohort") is p.COUNT


def test_bundled_data_passes_the_plausibility_checks(built_db):
    # the bundled DfE files hold no misread or impossible number: each check runs and finds none
    got = dict(_rows(built_db, "select name, count from ingest_check where name in ("
                               "'numbers with thousands separators, decimal commas or exponents', "
                               "'values out of range', 'URNs not positive')"))
    assert got == {"numbers with thousands separators, decimal commas or exponents": 0,
                   "values out of range": 0, "URNs not positive": 0}
    assert _rows(built_db, "select count(*) from rejected_cell") == [(0,)]
