"""The measure catalogue: the measures we read from performance tables, what each part of the dashboard
offers of them, and the explicit map from DfE column names to them.

Each canonical measure has a key stage, a unit, a plain-words meaning, whether higher is better, a short
name for tiles and axes, and (for point scores) a pupil-level spread. The roles below (``HEADLINE``,
``GAP_MEASURES``, ``HEADLINE_GAP``, ``RULE_MEASURES``, ``FAMILY_MEASURES``, ``PACK_TREND``,
``LA_ALL_PUPILS``, ``REGION_MEASURES``) say which measures each page, command and pack offers, in order;
``DIFFN`` and ``THREE_YEAR`` tie a measure to DfE's related figures. No other module keeps its own list.
The column map is explicit: every DfE column we read is listed with the measure, pupil group and
field (value, ci_low, ci_high, cohort) it feeds. Column names drift between years and even inside
one file (``PTNOTFSMBASICS_94_17`` beside ``PTNOTFSM6CLA1ABASICS_95_17``), so aliases are listed too,
and ``tests/test_measures.py`` checks the map against every bundled file.
"""
from __future__ import annotations

from dataclasses import dataclass, replace

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
    # Pupil-level standard deviation of a point score (None for percentages: binomial instead), used for the
    # standard error sd / sqrt(pupils) where DfE publishes no confidence interval (equity.stats), and its source.
    pupil_sd: float | None = None
    pupil_sd_source: str = ""
    short: str = ""  # a short name for tiles and chart axes ("RWM expected"); the label when empty

    @property
    def short_label(self) -> str:
        return self.short or self.label


_SD_A8 = ("approximate national spread of pupils' Attainment 8 scores (DfE does not print it in these files); "
          "an assumption, on the cautious side for the spread within one school")
_SD_P8 = "what DfE's 2018/19 Progress 8 confidence intervals imply: half-width / 1.96 x sqrt(pupils), median over schools"
_SD_KS2 = "what DfE's KS2 progress confidence intervals imply: half-width / 1.96 x sqrt(pupils), median over schools"


MEASURES = {m.key: m for m in [
    Measure("att8", 4, "Attainment 8", "points",
            "Average Attainment 8 score per pupil: grades in eight GCSE-level qualifications, English and maths "
            "double-weighted (0-90). 2015/16 is on the old points scale.",
            pupil_sd=20.0, pupil_sd_source=_SD_A8),
    Measure("p8", 4, "Progress 8", "score",
            "Progress 8: pupils' Attainment 8 compared with pupils nationally who had the same KS2 results. "
            "0 is the national average; +0.5 means half a grade better in each of the eight slots.",
            pupil_sd=1.28, pupil_sd_source=_SD_P8),
    Measure("basics_95", 4, "English and maths grade 5 or above", "percent",
            "Percentage of pupils achieving grade 5 or above in both English and maths."),
    Measure("basics_94", 4, "English and maths grade 4 or above", "percent",
            "Percentage of pupils achieving grade 4 or above in both English and maths."),
    Measure("ebacc_aps", 4, "EBacc average point score", "points",
            "English Baccalaureate average point score per pupil (from 2017/18).", pupil_sd=2.2,
            pupil_sd_source="approximate national spread of pupils' EBacc average point scores (an assumption)"),
    Measure("att8_vs_national_other", 4, "Attainment 8: disadvantaged vs national other pupils", "points",
            "DfE's DIFFN_ATT8: the school's disadvantaged pupils' Attainment 8 minus the Attainment 8 of "
            "non-disadvantaged pupils in all of England. Negative = below national other pupils.",
            pupil_sd=20.0, pupil_sd_source=_SD_A8),
    Measure("p8_vs_national_other", 4, "Progress 8: disadvantaged vs national other pupils", "score",
            "DfE's DIFFN_P8MEA: the school's disadvantaged pupils' Progress 8 minus that of non-disadvantaged "
            "pupils in all of England.", pupil_sd=1.28, pupil_sd_source=_SD_P8),
    Measure("rwm_exp", 2, "Reading, writing and maths: expected standard", "percent",
            "Percentage of pupils reaching the expected standard in reading, writing and maths at the end of KS2."),
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

# Short names for tiles and chart axes.
_SHORT = {"att8": "Attainment 8", "p8": "Progress 8", "basics_95": "Eng & maths 5+", "basics_94": "Eng & maths 4+",
          "ebacc_aps": "EBacc APS", "dest_sustained": "sustained destination", "dest_education": "education destination",
          "dest_not_sustained": "destination not sustained", "rwm_exp": "RWM expected", "rwm_high": "RWM higher",
          "read_prog": "reading progress", "writ_prog": "writing progress", "mat_prog": "maths progress"}
MEASURES = {k: replace(m, short=_SHORT.get(k, "")) for k, m in MEASURES.items()}

# ---- roles: which measures each part of the dashboard offers, by key stage, in order -----------------

# The school profile's headline measures (the order its measures are offered in).
HEADLINE = {2: ["rwm_exp", "rwm_high", "read_prog", "writ_prog", "mat_prog"],
            4: ["att8", "p8", "basics_95", "basics_94", "att8_vs_national_other"]}
# Measures that have a disadvantaged / other split (the ones a gap makes sense for): the gap pages and CLI.
GAP_MEASURES = {4: ["att8", "p8", "basics_95", "basics_94", "ebacc_aps", "dest_sustained", "dest_education",
                    "dest_not_sustained"],
                2: ["rwm_exp", "rwm_high", "read_prog", "writ_prog", "mat_prog"]}
# The gap pages' headline measures (the CLI's default and the overview's tiles): at least att8 and rwm_exp.
HEADLINE_GAP = {4: ["att8", "p8", "basics_95"], 2: ["rwm_exp", "rwm_high"]}
# Keys to Success: measures a rule may select on and a match may claim strength on (each has a 95%
# interval, or for Attainment 8 a stated pupil spread); the first is the rule's default.
RULE_MEASURES = {
    4: ["p8", "p8_vs_national_other", "basics_94", "basics_95", "att8_vs_national_other"],
    2: ["rwm_exp", "read_prog", "writ_prog", "mat_prog", "rwm_exp_vs_national_other"],
}
# Families: the outcomes a family is judged on, in order of preference (the first held is the default).
FAMILY_MEASURES = {4: ["att8_vs_national_other", "p8_vs_national_other", "p8", "att8", "basics_95", "basics_94",
                       "ebacc_aps"],
                   2: ["rwm_exp", "read_prog", "writ_prog", "mat_prog", "rwm_high"]}
# Meeting packs: the trend lines of a key stage (the first is the "since last meeting" measure).
PACK_TREND = {4: ["att8", "p8"], 2: ["rwm_exp"]}
# LA comparison: all-pupil measures compared with statistical neighbours, and across ITL2 regions.
LA_ALL_PUPILS = ("rwm_exp", "basics_95", "p8")
REGION_MEASURES = ("rwm_exp", "basics_95")
# DfE's own "disadvantaged minus national other pupils" measure for a base measure, where files print one.
DIFFN = {"att8": "att8_vs_national_other", "p8": "p8_vs_national_other",
         "rwm_exp": "rwm_exp_vs_national_other", "rwm_high": "rwm_high_vs_national_other"}
# DfE's three-year figures (all pupils only) for a base measure.
THREE_YEAR = {"rwm_exp": "rwm_exp_3yr", "rwm_high": "rwm_high_3yr"}

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
        ]
    # Attainment 8 and basics cohorts: the year's disadvantaged / other pupils (TFSM6CLA1A_PREV ...), as for
    # the file's own year; the whole cohort only as P8PUP (files carry no TPUP history)
    rows += [("P8PUP_{yy}", "att8", "all", "cohort")]
    for g in ("disadvantaged", "other"):
        for m in ("att8", "basics_95", "basics_94"):
            rows.append((f"{_KS4_COHORT[g]}_{{yy}}", m, g, "cohort"))
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


# Which history columns tell a file's year: a two-digit suffix names the year a year ends in
# (KS2 ``PTRWM_EXP_24`` is 2023/24, so the file is 2024/25). ``_3YR`` (a three-year figure) and KS4's
# ``_PREV``/``_PREV2`` (one and two years back) name no year by themselves.
YEAR_MARKERS = {4: ("ATT8SCR", "P8MEA"), 2: ("PTRWM_EXP", "READPROG", "TELIG")}


# --- England figures per year -------------------------------------------------------------------
# The state-funded England row (KS4 RECTYPE 7, KS2 RECTYPE 5) of each year, as DfE printed it, copied
# from the bundled files themselves (``source``; ``suffix`` "" = that file's own year, else the history
# columns it was read from). tests/test_build.py checks every figure against its file. A file with no
# history columns is dated by matching its England row against this table (see ``england_year``).
@dataclass(frozen=True)
class EnglandFigures:
    key_stage: int
    start_year: int
    version: str   # final / revised / provisional
    source: str    # bundled file the figures were copied from
    suffix: str    # "" (the file's own year) or the history suffix read: "_16", "_PREV", "_PREV2", "_24"
    figures: dict  # DfE column (own-year name, upper case) -> value as printed


ENGLAND_FIGURES = [
    EnglandFigures(4, 2015, "final", "2016-2017_850_ks4final.csv.gz", "_16", {
        "ATT8SCR": "49.9", "ATT8SCR_FSM6CLA1A": "41.1", "ATT8SCR_NFSM6CLA1A": "53.3", "P8MEA": "-0.03",
        "TFSM6CLA1A": "149876", "TNOTFSM6CLA1A": "390780"}),
    EnglandFigures(4, 2016, "final", "2016-2017_850_ks4final.csv.gz", "", {
        "TPUP": "527744", "ATT8SCR": "46.3", "ATT8SCR_FSM6CLA1A": "37", "ATT8SCR_NFSM6CLA1A": "49.8", "P8MEA": "-0.03",
        "PTL2BASICS_95": "42.70%", "PTL2BASICS_94": "63.90%", "PTFSM6CLA1ABASICS_95": "24.50%",
        "PTNOTFSM6CLA1ABASICS_95": "49.40%", "PTFSM6CLA1ABASICS_94": "44.30%", "PTNOTFSM6CLA1ABASICS_94": "71.20%",
        "TFSM6CLA1A": "143544", "TNOTFSM6CLA1A": "384200"}),
    EnglandFigures(4, 2017, "final", "2017-2018_850_ks4final.csv.gz", "", {
        "TPUP": "523636", "ATT8SCR": "46.5", "ATT8SCR_FSM6CLA1A": "36.7", "ATT8SCR_NFSM6CLA1A": "50.1", "P8MEA": "-0.02",
        "PTL2BASICS_95": "43.30%", "PTL2BASICS_94": "64.20%", "PTFSM6CLA1ABASICS_95": "24.90%",
        "PTNOTFSM6CLA1ABASICS_95": "50.10%", "PTFSM6CLA1ABASICS_94": "44.50%", "PTNOTFSM6CLA1ABASICS_94": "71.50%",
        "TFSM6CLA1A": "141134", "TNOTFSM6CLA1A": "382502", "EBACCAPS": "4.04"}),
    EnglandFigures(4, 2018, "final", "2018-2019_936_ks4final.csv.gz", "", {
        "TPUP": "542621", "ATT8SCR": "46.7", "ATT8SCR_FSM6CLA1A": "36.7", "ATT8SCR_NFSM6CLA1A": "50.3", "P8MEA": "-0.03",
        "PTL2BASICS_95": "43%", "PTL2BASICS_94": "65%", "PTFSM6CLA1ABASICS_95": "25%", "PTNOTFSM6CLA1ABASICS_95": "50%",
        "PTFSM6CLA1ABASICS_94": "45%", "PTNOTFSM6CLA1ABASICS_94": "72%", "TFSM6CLA1A": "143816",
        "TNOTFSM6CLA1A": "398805", "EBACCAPS": "4.07"}),
    EnglandFigures(4, 2018, "provisional", "england_ks4provisional.csv.gz", "", {
        "TPUP": "542831", "ATT8SCR": "46.5", "P8MEA": "-0.03", "PTL2BASICS_95": "43.0%", "PTL2BASICS_94": "64.4%",
        "EBACCAPS": "4.06"}),
    EnglandFigures(4, 2022, "final", "919_ks4final.csv", "_PREV2", {
        "ATT8SCR": "46.3", "ATT8SCR_FSM6CLA1A": "35", "ATT8SCR_NFSM6CLA1A": "50.3", "P8MEA": "-0.03",
        "PTL2BASICS_95": "45.30%", "PTL2BASICS_94": "65.10%", "PTFSM6CLA1ABASICS_95": "25.20%",
        "PTNOTFSM6CLA1ABASICS_95": "52.40%", "PTFSM6CLA1ABASICS_94": "43.40%", "PTNOTFSM6CLA1ABASICS_94": "72.80%",
        "TFSM6CLA1A": "159363", "TNOTFSM6CLA1A": "447552", "EBACCAPS": "4.05"}),
    EnglandFigures(4, 2023, "final", "919_ks4final.csv", "_PREV", {
        "ATT8SCR": "45.9", "ATT8SCR_FSM6CLA1A": "34.6", "ATT8SCR_NFSM6CLA1A": "50", "P8MEA": "-0.03",
        "PTL2BASICS_95": "45.90%", "PTL2BASICS_94": "65.00%", "PTFSM6CLA1ABASICS_95": "25.80%",
        "PTNOTFSM6CLA1ABASICS_95": "53.10%", "PTFSM6CLA1ABASICS_94": "43.40%", "PTNOTFSM6CLA1ABASICS_94": "72.80%",
        "TFSM6CLA1A": "166470", "TNOTFSM6CLA1A": "462737", "EBACCAPS": "4.07"}),
    EnglandFigures(4, 2024, "final", "919_ks4final.csv", "", {
        "TPUP": "625647", "ATT8SCR": "46.1", "ATT8SCR_FSM6CLA1A": "34.9", "ATT8SCR_NFSM6CLA1A": "50.4",
        "PTL2BASICS_95": "45.40%", "PTL2BASICS_94": "64.80%", "PTFSM6CLA1ABASICS_95": "25.80%",
        "PTNOTFSM6CLA1ABASICS_95": "53.10%", "PTFSM6CLA1ABASICS_94": "43.80%", "PTNOTFSM6CLA1ABASICS_94": "73.10%",
        "TFSM6CLA1A": "176227", "TNOTFSM6CLA1A": "449420", "EBACCAPS": "4.09"}),
    EnglandFigures(2, 2015, "final", "ks2_2016-850-ks2.csv.gz", "_16", {
        "PTRWM_EXP": "53%", "PTRWM_EXP_FSM6CLA1A": "39%", "PTRWM_EXP_NOTFSM6CLA1A": "60%", "PTRWM_HIGH": "5%",
        "PTRWM_HIGH_FSM6CLA1A": "2%", "PTRWM_HIGH_NOTFSM6CLA1A": "7%"}),
    EnglandFigures(2, 2016, "final", "ks2_2016-850-ks2.csv.gz", "", {
        "TELIG": "599728", "PTRWM_EXP": "61%", "PTRWM_EXP_FSM6CLA1A": "47%", "PTRWM_EXP_NOTFSM6CLA1A": "67%",
        "PTRWM_HIGH": "9%", "PTRWM_HIGH_FSM6CLA1A": "4%", "PTRWM_HIGH_NOTFSM6CLA1A": "11%", "TFSM6CLA1A": "189606",
        "TNOTFSM6CLA1A": "410122"}),
    EnglandFigures(2, 2017, "final", "ks2_2017-850-ks2.csv.gz", "", {
        "TELIG": "619703", "PTRWM_EXP": "64%", "PTRWM_EXP_FSM6CLA1A": "51%", "PTRWM_EXP_NOTFSM6CLA1A": "70%",
        "PTRWM_HIGH": "10%", "PTRWM_HIGH_FSM6CLA1A": "4%", "PTRWM_HIGH_NOTFSM6CLA1A": "12%", "TFSM6CLA1A": "190712",
        "TNOTFSM6CLA1A": "428991"}),
    EnglandFigures(2, 2018, "final", "ks2_2018-850-ks2.csv.gz", "", {
        "TELIG": "644967", "PTRWM_EXP": "65%", "PTRWM_EXP_FSM6CLA1A": "51%", "PTRWM_EXP_NOTFSM6CLA1A": "71%",
        "PTRWM_HIGH": "11%", "PTRWM_HIGH_FSM6CLA1A": "5%", "PTRWM_HIGH_NOTFSM6CLA1A": "13%", "TFSM6CLA1A": "197488",
        "TNOTFSM6CLA1A": "447479"}),
    EnglandFigures(2, 2022, "final", "919_ks2final.csv", "_23", {
        "TELIG": "673070", "PTRWM_EXP": "60%", "PTRWM_EXP_FSM6CLA1A": "44%", "PTRWM_EXP_NOTFSM6CLA1A": "66%",
        "PTRWM_HIGH": "8%", "PTRWM_HIGH_FSM6CLA1A": "3%", "PTRWM_HIGH_NOTFSM6CLA1A": "10%"}),
    EnglandFigures(2, 2023, "final", "919_ks2final.csv", "_24", {
        "TELIG": "662983", "PTRWM_EXP": "61%", "PTRWM_EXP_FSM6CLA1A": "46%", "PTRWM_EXP_NOTFSM6CLA1A": "67%",
        "PTRWM_HIGH": "8%", "PTRWM_HIGH_FSM6CLA1A": "3%", "PTRWM_HIGH_NOTFSM6CLA1A": "10%"}),
    EnglandFigures(2, 2024, "final", "919_ks2final.csv", "", {
        "TELIG": "652648", "PTRWM_EXP": "62%", "PTRWM_EXP_FSM6CLA1A": "47%", "PTRWM_EXP_NOTFSM6CLA1A": "69%",
        "PTRWM_HIGH": "8%", "PTRWM_HIGH_FSM6CLA1A": "4%", "PTRWM_HIGH_NOTFSM6CLA1A": "11%", "TFSM6CLA1A": "208051",
        "TNOTFSM6CLA1A": "444597"}),
]

# Pupil counts must agree exactly; they never date a file by themselves (2023/24 and 2024/25 differ by 0.6%).
COUNT_COLUMNS = {"TPUP", "TELIG", "TFSM6CLA1A", "TNOTFSM6CLA1A"}
# Printed precision of scores: Attainment 8 to one decimal, Progress 8 and EBacc APS to two ("37" is 37.0).
SCORE_DECIMALS = {"ATT8SCR": 1, "P8MEA": 2, "EBACCAPS": 2}
MIN_AGREEING = 3           # figures that must agree, with none disagreeing ...
MIN_AGREEING_OUTCOMES = 2  # ... of which at least this many are results, not pupil counts


def _number(text: str | None) -> tuple[float, int] | None:
    """(value, decimals printed) of a DfE cell such as '45.40%' or '-0.03'; None for codes and blanks."""
    t = (text or "").strip().replace("%", "").replace(",", "")
    try:
        v = float(t)
    except ValueError:
        return None
    return v, (len(t.split(".", 1)[1]) if "." in t else 0)


def figures_agree(column: str, a: str, b: str) -> bool | None:
    """Whether two printings of one England figure are the same number (None: one of them is not a number).

    Counts must be equal; scores within half their printed precision; percentages within half the
    coarser of the two printings ('43%' agrees with '43.30%', '45.40%' does not with '45.90%').
    """
    x, y = _number(a), _number(b)
    if x is None or y is None:
        return None
    if column in COUNT_COLUMNS:
        return x[0] == y[0]
    base = next((d for k, d in SCORE_DECIMALS.items() if column.startswith(k)), None)
    decimals = base if base is not None else min(x[1], y[1])
    return abs(x[0] - y[0]) <= 0.5 * 10 ** -decimals + 1e-9


@dataclass(frozen=True)
class EnglandMatch:
    start_year: int
    version: str
    agreeing: tuple[str, ...]   # the columns that agreed
    via: str                    # "" (the row's own figures) or "_PREV" / "_PREV2" (history columns)


def england_matches(key_stage: int, row: dict[str, str]) -> tuple[list[EnglandMatch], int]:
    """Years whose published England figures the state-funded England ``row`` (upper-case column -> text) matches.

    The row's own figures are compared with each year in ENGLAND_FIGURES; so are its ``_PREV``/``_PREV2``
    columns (KS4), which carry the year before and two years before: a match there dates the file one or
    two years later. A year matches when at least MIN_AGREEING figures agree (MIN_AGREEING_OUTCOMES of
    them results, not counts) and none disagrees. Also returns the most figures any year could be compared on.
    """
    out, most = [], 0
    for via, shift in (("", 0), ("_PREV", 1), ("_PREV2", 2)):
        if via and key_stage != 4:
            continue
        for ref in ENGLAND_FIGURES:
            if ref.key_stage != key_stage:
                continue
            verdicts = {c: figures_agree(c, row.get(c + via), v) for c, v in ref.figures.items()}
            agree = tuple(c for c, ok in verdicts.items() if ok)
            compared = sum(ok is not None for ok in verdicts.values())
            most = max(most, compared)
            if (len(agree) >= MIN_AGREEING and not any(ok is False for ok in verdicts.values())
                    and sum(c not in COUNT_COLUMNS for c in agree) >= MIN_AGREEING_OUTCOMES):
                out.append(EnglandMatch(ref.start_year + shift, ref.version if not via else "final", agree, via))
    return out, most


def england_year(key_stage: int, row: dict[str, str]) -> tuple[int | None, str, list[EnglandMatch]]:
    """The start year an England row dates its file to: (year, why, matches).

    year is None when the row matches no known year or matches two different years; ``why`` says which.
    """
    matches, compared = england_matches(key_stage, row)
    years = sorted({m.start_year for m in matches})
    if len(years) == 1:
        return years[0], "", matches
    if not years:
        return None, (f"its England row matches no year we know (compared on up to {compared} figures)"
                      if compared >= MIN_AGREEING else "its England row has too few figures to compare"), matches
    return None, "its England row matches more than one year (" + ", ".join(map(str, years)) + ")", matches


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
