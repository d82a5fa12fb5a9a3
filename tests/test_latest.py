"""What is current: the latest year held per LA and key stage, measures DfE did not publish in a year
(Progress 8 in 2024/25) and their fallback, the newcomer's first LA, context from the January 2025
census where a year's results carry none, and the Data page's "what is current" table."""
from __future__ import annotations

import csv
import datetime as dt
import gzip
import io
from pathlib import Path

import duckdb

from equity.analysis import catalogue
from equity import latest
from equity.analysis import keys_to_success as kts

RAW = Path(__file__).resolve().parent.parent / "data" / "raw"
HERTS = RAW / "dfe_csp_herts_jshi12" / "2024-2025"


def _csv(path: Path) -> list[list[str]]:
    raw = path.read_bytes()
    if path.name.endswith(".gz"):
        raw = gzip.decompress(raw)
    return list(csv.reader(io.StringIO(raw.decode("utf-8-sig"))))


def test_latest_year_per_la_and_the_newcomers_la(built_db):
    assert latest.default_la() == "919"  # Hertfordshire: 2024/25 results, the most recent held
    assert latest.latest_year("919", 4) == 2024 and latest.latest_year("919", 2) == 2024
    assert latest.latest_year("850", 2) == 2018  # Hampshire's KS2 files end in 2018/19
    assert latest.latest_year("850", 4) == 2023  # DfE's 2023/24 school file covers every school in England
    assert latest.latest_year("999", 4) is None


def test_a_measure_nobody_published_that_year_is_not_published(small_db):
    assert not latest.is_published(4, "p8", 2024)            # Progress 8: 'NA' for every school, LA and England
    assert latest.is_published(4, "p8", 2023)                # 2023/24, from the 2024/25 file's _PREV columns
    assert latest.is_published(4, "att8", 2024)
    assert not latest.is_published(2, "read_prog", 2024)     # no KS2 progress for 2024/25
    measure, why = latest.usable_measure(4, "p8", 2024)
    assert measure == "att8" and "no Progress 8 for 2024/25" in why and "DIFFN_ATT8" in why
    assert latest.usable_measure(4, "p8", 2018) == ("p8", None)
    note = latest.year_note("919", 4, "Hertfordshire")
    assert "**2024/25**" in note and "no Progress 8" in note
    assert "no KS2 progress scores for 2024/25" in latest.year_note("919", 2, "Hertfordshire")


def test_keys_to_success_rule_falls_back_to_attainment_8_against_national_other_pupils(small_db):
    rule = kts.default_rule(4, ["919"])
    assert (rule.key_stage, rule.year, rule.measure) == (4, 2024, "att8_vs_national_other")
    text = rule.describe()
    assert text.startswith("In 2024/25") and "no Progress 8 for 2024/25" in text and "DIFFN_ATT8" in text
    ev = kts.evaluate(rule, ["919"])
    sel = ev[ev.selected]
    assert len(sel) >= 1
    # the values the rule read are DfE's DIFFN_ATT8 in the raw file
    rows = _csv(HERTS / "919_ks4final.csv")
    head = rows[0]
    diffn = {int(r[head.index("URN")]): r[head.index("DIFFN_ATT8")] for r in rows[1:] if r[0] in ("1", "2")}
    for r in sel.itertuples():
        assert float(diffn[r.urn]) == r.value and r.value <= rule.max_value
    # where Progress 8 exists the rule keeps it (Hampshire 2017/18)
    assert kts.default_rule(4, ["850"], year=2017).measure == "p8"


def test_census_fills_only_what_a_years_results_lack(built_db):
    con = duckdb.connect(str(built_db), read_only=True)
    try:
        # Oakview Primary, new in 2024/25: its KS2 row says NEW, leaves EAL blank and stops before the SEN
        # columns; the January 2025 census fills % SEN, % EAL and pupils on roll, and says so
        row = con.execute("select pct_sen, pct_eal, pupils_on_roll, filled_from_census, census_pct_fsm_ever, "
                          "pct_disadvantaged from school_context where urn = 150844 and key_stage = 2 "
                          "and start_year = 2024").fetchone()
        census_rows = _csv(RAW / "dfe_csp_2024_25_calvinchankf" / "england_census.csv.gz")
        c = dict(zip(census_rows[0], next(r for r in census_rows if r[0] == "150844")))
        expected_sen = float(c["PSENELSE"].rstrip("%")) + float(c["PSENELK"].rstrip("%"))
        assert abs(row[0] - expected_sen) < 1e-9
        assert row[1] == float(c["PNUMEAL"].rstrip("%")) and row[2] == float(c["NOR"])
        assert row[3] == "% EAL, % SEN, pupils on roll"
        # FSM-ever is kept beside the file's % disadvantaged, never in its place
        assert row[4] == float(c["PNUMFSMEVER"].rstrip("%")) and row[5] is None
        # a school whose file carries its own figures keeps them (KS4 2024/25: PSEN_ALL4, PTEALGRP2)
        ks4 = _csv(HERTS / "919_ks4final.csv")
        h4 = ks4[0]
        own = next(r for r in ks4[1:] if r[0] == "1" and r[h4.index("PSEN_ALL4")].endswith("%")
                   and r[h4.index("PTEALGRP2")].endswith("%"))
        got = con.execute("select pct_sen, pct_eal, filled_from_census from school_context where urn = ? "
                          "and key_stage = 4 and start_year = 2024", [int(own[h4.index("URN")])]).fetchone()
        assert got == (float(own[h4.index("PSEN_ALL4")].rstrip("%")), float(own[h4.index("PTEALGRP2")].rstrip("%")),
                       None)
        # the census's SEN columns: PSENELSE is the EHC plan share, PSENELK SEN support (DfE's dictionary)
        ehcp, support = con.execute("select pct_ehcp, pct_sen_support from school_census where urn = 150844 "
                                    "and start_year = 2024").fetchone()
        assert (ehcp, support) == (float(c["PSENELSE"].rstrip("%")), float(c["PSENELK"].rstrip("%")))
    finally:
        con.close()


def test_data_page_says_what_is_current(built_db):
    cur = catalogue.currency(today=dt.date(2026, 11, 30)).set_index("kind")
    assert cur.loc["KS4 performance table", "latest"] == "2024/25"
    assert cur.loc["KS2 performance table", "latest"] == "2024/25"
    assert cur.loc["school census", "latest"] == "2024/25"
    assert cur.loc["Ofsted inspection history", "latest"] == "2020-02-26"
    warnings = catalogue.currency_warnings(today=dt.date(2026, 11, 30))
    assert any(w.startswith("Ofsted inspection history") and "2020-02-26" in w for w in warnings)
    assert any("IoD2019" in w and "Neighbourhoods" in w for w in warnings)
    assert not any(w.startswith("KS4 performance table") for w in warnings)
    # the same data read in 2019 would be current: the warning follows the date
    assert not any(w.startswith("Ofsted") for w in catalogue.currency_warnings(today=dt.date(2020, 6, 1)))


def test_default_year_is_the_newest_the_la_has(small_db):
    """Surrey's latest KS4 school results are older than Hertfordshire's 2024/25: a page listing every
    year held opens Surrey on a year it has results for, Hertfordshire on 2024/25."""
    from equity import latest
    years = [2024, 2023, 2018, 2017]
    assert latest.default_year(years, "919", 4) == 2024
    surrey = latest.latest_year("936", 4)
    assert surrey is not None and surrey < 2024
    assert latest.default_year(years, "936", 4) == max(y for y in years if y <= surrey)
    assert latest.default_year(years, "999", 4) == 2024  # an LA with no results: the newest year
