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
