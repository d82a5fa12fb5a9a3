"""The measures we read from performance tables, and the explicit map from DfE column names to them.

Each canonical measure has a key stage, a unit, a plain-words meaning and whether higher is better.
The column map is explicit: every DfE column we read is listed with the measure, pupil group and
field (value, ci_low, ci_high, cohort) it feeds. Column names drift between years and even inside
one file (``PTNOTFSMBASICS_94_17`` beside ``PTNOTFSM6CLA1ABASICS_95_17``), so aliases are listed too,
and ``tests/test_measures.py`` checks the map against every bundled file.
"""
from __future__ import annotations

from dataclasses import dataclass

GROUPS = ("all", "disadvantaged", "other")
GROUP_LABELS = {"all": "All pupils", "disadvantaged": "Disadvantaged pupils", "other": "Other pupils"}


@dataclass(frozen=True)
class Measure:
    key: str
    key_stage: int
    label: str
    unit: str  # "points", "percent", "score"
    meaning: str
    higher_is_better: bool = True
    headline: bool = False
    # Pupil-level standard deviation of a point score (None for percentages: binomial instead), used for the
    # standard error sd / sqrt(pupils) where DfE publishes no confidence interval (equity.stats), and its source.
    pupil_sd: float | None = None
    pupil_sd_source: str = ""


_SD_A8 = ("approximate national spread of pupils' Attainment 8 scores (DfE does not print it in these files); "
          "an assumption, on the cautious side for the spread within one school")
_SD_P8 = "what DfE's 2018/19 Progress 8 confidence intervals imply: half-width / 1.96 x sqrt(pupils), median over schools"
_SD_KS2 = "what DfE's KS2 progress confidence intervals imply: half-width / 1.96 x sqrt(pupils), median over schools"


MEASURES = {m.key: m for m in [
    Measure("att8", 4, "Attainment 8", "points",
            "Average Attainment 8 score per pupil: grades in eight GCSE-level qualifications, English and maths "
            "double-weighted (0-90). 2015/16 is on the old points scale.", headline=True,
            pupil_sd=20.0, pupil_sd_source=_SD_A8),
    Measure("p8", 4, "Progress 8", "score",
            "Progress 8: pupils' Attainment 8 compared with pupils nationally who had the same KS2 results. "
            "0 is the national average; +0.5 means half a grade better in each of the eight slots.", headline=True,
            pupil_sd=1.28, pupil_sd_source=_SD_P8),
    Measure("basics_95", 4, "English and maths grade 5 or above", "percent",
            "Percentage of pupils achieving grade 5 or above in both English and maths.", headline=True),
    Measure("basics_94", 4, "English and maths grade 4 or above", "percent",
            "Percentage of pupils achieving grade 4 or above in both English and maths."),
    Measure("ebacc_aps", 4, "EBacc average point score", "points",
            "English Baccalaureate average point score per pupil (from 2017/18).", pupil_sd=2.2,
            pupil_sd_source="approximate national spread of pupils' EBacc average point scores (an assumption)"),
    Measure("att8_vs_national_other", 4, "Attainment 8: disadvantaged vs national other pupils", "points",
            "DfE's DIFFN_ATT8: the school's disadvantaged pupils' Attainment 8 minus the Attainment 8 of "
            "non-disadvantaged pupils in all of England. Negative = below national other pupils.", headline=True,
            pupil_sd=20.0, pupil_sd_source=_SD_A8),
    Measure("p8_vs_national_other", 4, "Progress 8: disadvantaged vs national other pupils", "score",
            "DfE's DIFFN_P8MEA: the school's disadvantaged pupils' Progress 8 minus that of non-disadvantaged "
            "pupils in all of England.", pupil_sd=1.28, pupil_sd_source=_SD_P8),
    Measure("rwm_exp", 2, "Reading, writing and maths: expected standard", "percent",
            "Percentage of pupils reaching the expected standard in reading, writing and maths at the end of KS2.",
            headline=True),
    Measure("rwm_high", 2, "Reading, writing and maths: higher standard", "percent",
            "Percentage of pupils reaching the higher standard in reading, writing and maths."),
    Measure("read_prog", 2, "Reading progress", "score", "KS1-KS2 value-added progress score in reading (0 = national average).",
            pupil_sd=6.2, pupil_sd_source=_SD_KS2),
    Measure("writ_prog", 2, "Writing progress", "score", "KS1-KS2 value-added progress score in writing (0 = national average).",
            pupil_sd=5.8, pupil_sd_source=_SD_KS2),
    Measure("mat_prog", 2, "Maths progress", "score", "KS1-KS2 value-added progress score in maths (0 = national average).",
            pupil_sd=5.5, pupil_sd_source=_SD_KS2),
    Measure("rwm_exp_vs_national_other", 2, "RWM expected standard: disadvantaged vs national other pupils", "percent",
            "DfE's DIFFN_RWM_EXP: the percentage of the school's (or LA's) disadvantaged pupils reaching the expected "
            "standard in RWM minus that of non-disadvantaged pupils in all of England, in percentage points."),
    Measure("rwm_high_vs_national_other", 2, "RWM higher standard: disadvantaged vs national other pupils", "percent",
            "DfE's DIFFN_RWM_HIGH: disadvantaged pupils' percentage at the higher standard in RWM minus that of "
            "non-disadvantaged pupils in all of England, in percentage points."),
    Measure("rwm_exp_3yr", 2, "Reading, writing and maths: expected standard, 3 years", "percent",
            "DfE's three-year figure (the latest three years pooled) for the expected standard in RWM."),
    Measure("rwm_high_3yr", 2, "Reading, writing and maths: higher standard, 3 years", "percent",
            "DfE's three-year figure for the higher standard in RWM."),
    Measure("dest_sustained", 4, "Sustained education, apprenticeship or employment", "percent",
            "KS4 destination measure: percentage of the cohort in a sustained destination (education, "
            "apprenticeship or employment) in the year after KS4. Dated by the year the pupils finished KS4 (the "
            "2018/19 tables report the 2016/17 leavers)."),
    Measure("dest_education", 4, "Sustained education destination", "percent",
            "KS4 destination measure: percentage in sustained education."),
    Measure("dest_not_sustained", 4, "Destination not sustained", "percent",
            "KS4 destination measure: percentage whose destination was not sustained.", higher_is_better=False),
]}

HEADLINE = {2: ["rwm_exp", "rwm_high", "read_prog", "writ_prog", "mat_prog"],
            4: ["att8", "p8", "basics_95", "basics_94", "att8_vs_national_other"]}

# --- column map -------------------------------------------------------------------------------
# (column, measure, group, field). Fields: value, ci_low, ci_high, cohort, share (a group's % of pupils). History columns get a
# year suffix (see history_columns). Column names are matched upper-cased.

_KS4_GROUP_SUFFIX = {"all": "", "disadvantaged": "_FSM6CLA1A", "other": "_NFSM6CLA1A"}
_KS4_COHORT = {"all": "TPUP", "disadvantaged": "TFSM6CLA1A", "other": "TNOTFSM6CLA1A"}


def _ks4_current() -> list[tuple[str, str, str, str]]:
    rows = []
    for g, sfx in _KS4_GROUP_SUFFIX.items():
        rows += [
            (f"ATT8SCR{sfx}", "att8", g, "value"),
            (f"P8MEA{sfx}", "p8", g, "value"),
            (f"P8CILOW{sfx}", "p8", g, "ci_low"),
            (f"P8CIUPP{sfx}", "p8", g, "ci_high"),
            (f"P8PUP{sfx}", "p8", g, "cohort"),
            (f"EBACCAPS{sfx}", "ebacc_aps", g, "value"),
        ]
        for m in ("att8", "basics_95", "basics_94", "ebacc_aps"):
            rows.append((_KS4_COHORT[g], m, g, "cohort"))
    rows += [
        ("PTL2BASICS_95", "basics_95", "all", "value"),
        ("PTL2BASICS_94", "basics_94", "all", "value"),
        ("PTFSM6CLA1ABASICS_95", "basics_95", "disadvantaged", "value"),
        ("PTFSM6CLA1ABASICS_94", "basics_94", "disadvantaged", "value"),
        ("PTNOTFSM6CLA1ABASICS_95", "basics_95", "other", "value"),
        ("PTNOTFSM6CLA1ABASICS_94", "basics_94", "other", "value"),
        ("DIFFN_ATT8", "att8_vs_national_other", "disadvantaged", "value"),
        ("DIFFN_P8MEA", "p8_vs_national_other", "disadvantaged", "value"),
        ("TFSM6CLA1A", "att8_vs_national_other", "disadvantaged", "cohort"),
        ("P8PUP_FSM6CLA1A", "p8_vs_national_other", "disadvantaged", "cohort"),
    ]
    return rows


def _ks4_history() -> list[tuple[str, str, str, str]]:
    """History columns, named with ``{yy}`` where the two-digit year suffix goes."""
    rows = []
    for g, sfx in _KS4_GROUP_SUFFIX.items():
        rows += [
            (f"ATT8SCR{sfx}_{{yy}}", "att8", g, "value"),
            (f"P8MEA{sfx}_{{yy}}", "p8", g, "value"),
            (f"P8CILOW{sfx}_{{yy}}", "p8", g, "ci_low"),
            (f"P8CIUPP{sfx}_{{yy}}", "p8", g, "ci_high"),
            (f"P8PUP{sfx}_{{yy}}", "p8", g, "cohort"),
            (f"P8PUP{sfx}_{{yy}}", "att8", g, "cohort"),
        ]
    rows += [
        ("PTL2BASICS_95_{yy}", "basics_95", "all", "value"),
        ("PTL2BASICS_94_{yy}", "basics_94", "all", "value"),
        ("PTFSM6CLA1ABASICS_95_{yy}", "basics_95", "disadvantaged", "value"),
        ("PTFSM6CLA1ABASICS_94_{yy}", "basics_94", "disadvantaged", "value"),
        ("PTNOTFSM6CLA1ABASICS_95_{yy}", "basics_95", "other", "value"),
        ("PTNOTFSM6CLA1ABASICS_94_{yy}", "basics_94", "other", "value"),
        # name drift seen in 2018/19 files: the 'other' group without the 6CLA1A part
        ("PTNOTFSMBASICS_95_{yy}", "basics_95", "other", "value"),
        ("PTNOTFSMBASICS_94_{yy}", "basics_94", "other", "value"),
    ]
    return rows


_KS2_GROUP_SUFFIX = {"all": "", "disadvantaged": "_FSM6CLA1A", "other": "_NOTFSM6CLA1A"}
_KS2_COHORT = {"all": "TELIG", "disadvantaged": "TFSM6CLA1A", "other": "TNOTFSM6CLA1A"}
_KS2_PROG = {"read_prog": "READPROG", "writ_prog": "WRITPROG", "mat_prog": "MATPROG"}


def _ks2_current() -> list[tuple[str, str, str, str]]:
    rows = []
    for g, sfx in _KS2_GROUP_SUFFIX.items():
        rows += [(f"PTRWM_EXP{sfx}", "rwm_exp", g, "value"), (f"PTRWM_HIGH{sfx}", "rwm_high", g, "value")]
        for m, col in _KS2_PROG.items():
            rows += [(f"{col}{sfx}", m, g, "value"), (f"{col}{sfx}_LOWER", m, g, "ci_low"),
                     (f"{col}{sfx}_UPPER", m, g, "ci_high")]
        for m in ("rwm_exp", "rwm_high", *_KS2_PROG):
            rows.append((_KS2_COHORT[g], m, g, "cohort"))
    rows += [("DIFFN_RWM_EXP", "rwm_exp_vs_national_other", "disadvantaged", "value"),
             ("DIFFN_RWM_HIGH", "rwm_high_vs_national_other", "disadvantaged", "value"),
             ("TFSM6CLA1A", "rwm_exp_vs_national_other", "disadvantaged", "cohort"),
             ("TFSM6CLA1A", "rwm_high_vs_national_other", "disadvantaged", "cohort")]
    rows += [("PTRWM_EXP_3YR", "rwm_exp_3yr", "all", "value"), ("PTRWM_HIGH_3YR", "rwm_high_3yr", "all", "value"),
             ("TELIG_3YR", "rwm_exp_3yr", "all", "cohort"), ("TELIG_3YR", "rwm_high_3yr", "all", "cohort")]
    return rows


def _ks2_history() -> list[tuple[str, str, str, str]]:
    rows = []
    for g, sfx in _KS2_GROUP_SUFFIX.items():
        rows += [(f"PTRWM_EXP{sfx}_{{yy}}", "rwm_exp", g, "value"), (f"PTRWM_HIGH{sfx}_{{yy}}", "rwm_high", g, "value")]
    for m, col in _KS2_PROG.items():
        rows += [(f"{col}_{{yy}}", m, "all", "value"), (f"{col}_LOWER_{{yy}}", m, "all", "ci_low"),
                 (f"{col}_UPPER_{{yy}}", m, "all", "ci_high")]
    for m in ("rwm_exp", "rwm_high", *_KS2_PROG):
        rows.append(("TELIG_{yy}", m, "all", "cohort"))
    # History years carry no group counts, only each group's share of the pupils: a share of 0% means the
    # group had no pupils, so its printed "0%" is no value (field 'share', read by the loader for that only).
    for m in ("rwm_exp", "rwm_high"):
        rows += [("PTFSM6CLA1A_{yy}", m, "disadvantaged", "share"), ("PTNOTFSM6CLA1A_{yy}", m, "other", "share")]
    return rows


# Which history columns tell a file's year: newest suffix + 1 is the file's own year.
YEAR_MARKERS = {4: ("ATT8SCR", "P8MEA"), 2: ("PTRWM_EXP", "READPROG", "TELIG")}

# England rows identify a file's year where it has no history columns (trimmed downloads):
# published number of pupils at the end of the key stage, state-funded schools (KS4 RECTYPE 7).
ENGLAND_TPUP_KS4 = {2016: 527744, 2017: 523636, 2018: 542621}


def column_map(key_stage: int, columns: list[str], file_start_year: int) -> list[tuple[str, str, str, str, int, str]]:
    """The map rows that apply to a file: (column, measure, group, field, start_year, kind).

    ``columns`` are the file's upper-cased column names. ``kind`` is ``current`` for the file's own
    year and ``history`` for earlier years carried in suffixed columns. History suffixes are only
    read for years before the file's own year.
    """
    present = set(columns)
    current = _ks4_current() if key_stage == 4 else _ks2_current()
    history = _ks4_history() if key_stage == 4 else _ks2_history()
    out = [(c, m, g, f, file_start_year, "current") for c, m, g, f in current if c in present]
    seen = {r[0] for r in out}
    for back in range(1, 6):
        year = file_start_year - back
        # newer files name history columns _PREV / _PREV2 (one and two years back) instead of _17
        suffixes = [f"{(year + 1) % 100:02d}"] + (["PREV"] if back == 1 else ["PREV2"] if back == 2 else [])
        for yy in suffixes:
            for c, m, g, f in history:
                col = c.format(yy=yy)
                if col in present and (col, m, g, f) not in seen:
                    seen.add((col, m, g, f))
                    out.append((col, m, g, f, year, "history"))
    return out


def current_column_names(key_stage: int) -> set[str]:
    rows = _ks4_current() if key_stage == 4 else _ks2_current()
    return {r[0] for r in rows}
