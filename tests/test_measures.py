"""The explicit column map against the headers of every bundled performance-table file."""
from __future__ import annotations

import csv
import gzip
import io
import re
from pathlib import Path

import pytest

from equity.measures import MEASURES, column_map

RAW = Path(__file__).resolve().parent.parent / "data" / "raw"
FILES = {"2016-2017_850_ks4final.csv.gz": (4, 2016), "2017-2018_936_ks4final.csv.gz": (4, 2017),
         "2018-2019_936_ks4final.csv.gz": (4, 2018), "815_2017_ks4final.csv.gz": (4, 2016),
         "ks2_2016-850-ks2.csv.gz": (2, 2016), "ks2_2017-936-ks2.csv.gz": (2, 2017), "ks2_2018-850-ks2.csv.gz": (2, 2018),
         "919_ks4final.csv": (4, 2024), "919_ks2final.csv": (2, 2024)}
# Disadvantaged-split columns of the headline measures that every file must have mapped
HEADLINE = re.compile(r"^(ATT8SCR|P8MEA|P8CILOW|P8CIUPP|PTRWM_EXP|PTRWM_HIGH|READPROG|WRITPROG|MATPROG)"
                      r"_N?O?T?FSM6CLA1A(_LOWER|_UPPER)?(_\d\d|_PREV2?)?$|^PTN?O?T?FSM6?C?L?A?1?A?BASICS_9[45](_\d\d|_PREV2?)?$")


def _header(name):
    raw = next(RAW.rglob(name)).read_bytes()
    text = (gzip.decompress(raw) if name.endswith(".gz") else raw).decode("utf-8-sig")
    return [h.upper() for h in next(csv.reader(io.StringIO(text)))]


@pytest.mark.parametrize("name", FILES)
def test_every_headline_disadvantage_column_is_mapped(name):
    ks, year = FILES[name]
    head = _header(name)
    mapped = {r[0] for r in column_map(ks, head, year)}
    wanted = {c for c in head if HEADLINE.match(c)}
    assert wanted, name
    assert wanted <= mapped, sorted(wanted - mapped)


def test_name_drift_inside_one_file_is_mapped():
    head = _header("2018-2019_936_ks4final.csv.gz")
    rows = {(r[0]): r[1:] for r in column_map(4, head, 2018)}
    assert rows["PTNOTFSMBASICS_94_17"] == ("basics_94", "other", "value", 2016, "history")
    assert rows["PTNOTFSM6CLA1ABASICS_95_17"] == ("basics_95", "other", "value", 2016, "history")
    assert rows["ATT8SCR_FSM6CLA1A_18"] == ("att8", "disadvantaged", "value", 2017, "history")


def test_ks2_mixed_case_other_group_is_mapped():
    head = _header("ks2_2018-850-ks2.csv.gz")
    rows = {r[0]: r[1:] for r in column_map(2, head, 2018)}
    assert rows["PTRWM_EXP_NOTFSM6CLA1A"] == ("rwm_exp", "other", "value", 2018, "current")


def test_every_mapped_measure_is_described():
    for ks, year in {(4, 2018), (2, 2018)}:
        head = _header("2018-2019_936_ks4final.csv.gz" if ks == 4 else "ks2_2018-850-ks2.csv.gz")
        for r in column_map(ks, head, year):
            assert r[1] in MEASURES and MEASURES[r[1]].meaning


def test_2024_25_history_columns_map_to_the_years_they_carry():
    """KS4 _PREV/_PREV2 are 2023/24 and 2022/23; KS2 _24/_23 likewise; _3YR is a three-year figure, not a year."""
    ks4 = {r[0]: r[1:] for r in column_map(4, _header("919_ks4final.csv"), 2024)}
    assert ks4["ATT8SCR_FSM6CLA1A_PREV"] == ("att8", "disadvantaged", "value", 2023, "history")
    assert ks4["PTNOTFSM6CLA1ABASICS_95_PREV2"] == ("basics_95", "other", "value", 2022, "history")
    assert ks4["ATT8SCR_NFSM6CLA1A"] == ("att8", "other", "value", 2024, "current")
    ks2 = column_map(2, _header("919_ks2final.csv"), 2024)
    got = {(r[0], r[4]) for r in ks2 if r[3] == "value"}
    assert ("PTRWM_EXP_FSM6CLA1A_24", 2023) in got and ("PTRWM_EXP_NOTFSM6CLA1A_23", 2022) in got
    assert ("PTRWM_EXP_3YR", 2024) in got  # DfE's three-year figure, filed under the file's own year


# ---- the catalogue: every part of the dashboard reads its measures from equity.measures ----------------

def test_every_role_names_measures_of_its_key_stage():
    from equity import measures as M
    by_stage = {"HEADLINE": M.HEADLINE, "GAP_MEASURES": M.GAP_MEASURES, "HEADLINE_GAP": M.HEADLINE_GAP,
                "RULE_MEASURES": M.RULE_MEASURES, "FAMILY_MEASURES": M.FAMILY_MEASURES, "PACK_TREND": M.PACK_TREND}
    for name, role in by_stage.items():
        assert set(role) == {2, 4}, name
        for ks, keys in role.items():
            assert keys and len(set(keys)) == len(keys), name
            assert all(MEASURES[k].key_stage == ks for k in keys), (name, ks)
    assert set(M.HEADLINE_GAP[4]) <= set(M.GAP_MEASURES[4]) and set(M.HEADLINE_GAP[2]) <= set(M.GAP_MEASURES[2])
    assert {"att8", "rwm_exp"} <= set(M.HEADLINE_GAP[4] + M.HEADLINE_GAP[2])
    # a rule may claim strength only on a measure with an interval or a stated pupil spread
    for keys in M.RULE_MEASURES.values():
        assert all(MEASURES[k].pupil_sd or MEASURES[k].unit == "percent" for k in keys)
    for base, related in {**M.DIFFN, **M.THREE_YEAR}.items():
        assert MEASURES[related].key_stage == MEASURES[base].key_stage and MEASURES[related].unit == MEASURES[base].unit
    assert all(k in MEASURES for k in M.LA_ALL_PUPILS + M.REGION_MEASURES)


def test_short_names_are_fields_of_the_catalogue():
    assert MEASURES["rwm_exp"].short_label == "RWM expected" and MEASURES["basics_95"].short_label == "Eng & maths 5+"
    assert MEASURES["rwm_exp_3yr"].short == "" and MEASURES["rwm_exp_3yr"].short_label == MEASURES["rwm_exp_3yr"].label
    from equity.present import gap_charts
    assert gap_charts._unit_title("basics_95", "gap") == "Gap in Eng & maths 5+ (percentage points)"
    assert gap_charts._unit_title("read_prog") == "reading progress (score)"


def test_the_analysis_modules_read_their_measures_from_the_catalogue():
    from equity import measures as M
    from equity.analysis import families, gaps, keys_to_success, la_compare
    from equity.present import pack
    assert gaps.GAP_MEASURES is M.GAP_MEASURES and gaps.HEADLINE_GAP is M.HEADLINE_GAP and gaps.DIFFN is M.DIFFN
    assert keys_to_success.RULE_MEASURES is M.RULE_MEASURES and pack.PACK_TREND is M.PACK_TREND
    assert families.FAMILY_MEASURES is M.FAMILY_MEASURES and la_compare.LA_ALL_PUPILS is M.LA_ALL_PUPILS
    for module in (gaps, keys_to_success, pack, families):
        assert not hasattr(module, "SHORT") and not hasattr(module, "OUTCOME_MEASURES")
        assert not hasattr(module, "HEADLINE_TREND")


def test_every_number_formatter_is_in_words_and_writes_as_before():
    from equity import words as W
    assert W.fmt("basics_95", 4, True) == "+4 percentage points" and W.fmt("att8_vs_national_other", -12.34) == "-12.3"
    assert W.fmt_short("basics_95", 4.0, True) == "+4 points" and W.fmt_short("p8", -0.5249) == "-0.52"
    assert W.fmt_short("att8", float("nan")) == "n/a" and W.fmt("att8", None) == "–"
    assert W.column_format("basics_95") == "%.0f%%" and W.column_format("att8_vs_national_other") == "%+.1f"
    assert W.fmt_amount(1.0, "percent") == "1 percentage point" and W.fmt_amount(4.06, "points") == "4.1 points"
    assert W.fmt_signed(-0.3, "score") == "−0.30" and W.fmt_value(46.0, "percent") == "46%"
    assert W.fmt_value(None, "points") == "not published" and W.fmt_number(35.5, "percent") == "35.5"
    assert W.fmt_tip("rwm_exp", 45.27) == "45.3%" and W.fmt_tip("p8", 0.25) == "+0.25"
    assert W.fmt_cell(12.5) == "12.5" and W.fmt_cell(123456.0) == "123,456" and W.fmt_cell(float("nan")) == "–"
    assert W.fmt_cell(3) == "3"
