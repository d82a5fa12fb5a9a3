"""Ofsted as it is now: the management-information loader (report cards, the previous framework's
graded judgements, ungraded outcomes), dated judgements, the Keys to Success Ofsted and "stuck"
signs, and the profile's report card. Checked on the bundled sample (read with the csv module) and on
files built from its real rows for the cases the sample lacks."""
from __future__ import annotations

import csv
import json
from datetime import date
from pathlib import Path

import duckdb
import pandas as pd
import pytest
from streamlit.testing.v1 import AppTest

from equity.ingest import build
from equity.analysis import ofsted, profile
from equity.analysis import keys_to_success as kts

ROOT = Path(__file__).resolve().parent.parent
MI = ROOT / "data" / "raw" / "ofsted_mi_2026_hemaleed" / "ofsted_mi_sample.csv"
HISTORY = ROOT / "data" / "raw" / "dfe_ofsted_waiky8_schools_data" / "ofsted_ratings_2018.csv.gz"
AREAS = ["Inclusion", "Curriculum and teaching", "Achievement", "Attendance and behaviour",
         "Personal development and wellbeing", "Early years (where applicable)",
         "Post-16 provision (where applicable)", "Leadership and governance"]
CAMDEN, KENT, CORNWALL, SUTTON = 100055, 136923, 136873, 136914


def mi_rows() -> tuple[list[str], list[dict]]:
    with MI.open(encoding="utf-8-sig", newline="") as fh:
        reader = csv.DictReader(fh)
        return reader.fieldnames, list(reader)


def report_card_rows() -> dict[int, dict]:
    return {int(r["URN"]): r for r in mi_rows()[1] if r["Inspection start date"] != "NULL"}


def _sql(db_path, text, params=None) -> pd.DataFrame:
    con = duckdb.connect(str(db_path), read_only=True)
    try:
        return con.execute(text, params or []).df()
    finally:
        con.close()


# ---- the loader, on the bundled sample ----------------------------------------------------------------

def test_the_sample_loads_every_school_and_every_report_card_area_as_published(small_db):
    header, rows = mi_rows()
    assert len(header) == 85 and len(rows) == 209
    cards = report_card_rows()
    assert len(cards) == 8
    mi = _sql(small_db, "select * from ofsted_mi")
    assert len(mi) == 209 and set(mi.urn) == {int(r["URN"]) for r in rows}
    rc = _sql(small_db, "select * from ofsted_report_card")
    assert set(rc.urn) == set(cards)
    for urn, r in cards.items():
        mine = rc[rc.urn == urn].set_index("area")
        assert len(mine) == 8
        for ours, col in zip(ofsted.AREAS, AREAS):
            assert mine.loc[ours, "grade_label"] == r[col]
            date_col = col.split(" (")[0] + " - date of grade"
            if col.startswith("Post-16"):
                date_col = "Post-16 provision - date of grade"
            assert mine.loc[ours, "grade_date"].strftime("%d/%m/%Y") == r[date_col]
            expected = {"Exceptional": 1, "Strong standard": 2, "Expected standard": 3, "Needs attention": 4,
                        "Urgent improvement": 5}.get(r[col])
            assert (pd.isna(mine.loc[ours, "grade"]) and expected is None) or mine.loc[ours, "grade"] == expected
    m = mi.set_index("urn")
    for urn, r in cards.items():
        assert m.loc[urn, "safeguarding"] == r["Safeguarding standards"] == "Met"
        assert pd.isna(m.loc[urn, "category_of_concern"])  # blank in the file: none
    # the previous framework: 'Not judged' overall is kept as words, never a number
    not_judged = [r for r in rows if r["Latest OEIF overall effectiveness"] == "Not judged"]
    assert len(not_judged) == 21
    for r in not_judged:
        row = m.loc[int(r["URN"])]
        assert row.oeif_overall_label == "Not judged" and pd.isna(row.oeif_overall)
        assert row.oeif_quality_of_education == int(r["Latest OEIF quality of education"])
    graded = [r for r in rows if r["Latest OEIF overall effectiveness"] in ("1", "2", "3", "4")]
    assert all(m.loc[int(r["URN"]), "oeif_overall"] == int(r["Latest OEIF overall effectiveness"]) for r in graded)
    # 9 = no sixth form: not a grade
    nine = [r for r in rows if r["Latest OEIF sixth form provision (where applicable)"] == "9"]
    assert nine and all(pd.isna(m.loc[int(r["URN"]), "oeif_sixth_form"]) for r in nine)
    ung = [r for r in rows if r["Ungraded inspection overall outcome"] != "NULL"]
    assert all(m.loc[int(r["URN"]), "ungraded_outcome"] == r["Ungraded inspection overall outcome"] for r in ung)
    rep = json.loads(Path(str(small_db) + ".report.json").read_text())
    f = [x for x in rep["files"] if x["file"].endswith("ofsted_mi_sample.csv")]
    assert f and f[0]["kind"] == "Ofsted management information" and f[0]["rows"] == 209
    latest = max(pd.to_datetime(r[c], format="%d/%m/%Y") for r in rows for c in
                 ("Inspection start date", "Inspection start date of latest OEIF graded inspection",
                  "Date of latest ungraded inspection") if r[c] != "NULL")
    check = [c for c in rep["checks"] if c["name"] == "Ofsted report cards"]
    assert check[0]["message"] == f"209 schools, 8 with a report card; latest inspection {latest:%d %b %Y}"


def test_every_judgement_is_dated_and_under_its_framework(small_db):
    j = _sql(small_db, "select * from ofsted_judgement")
    assert j.inspection_date.notna().all()
    counts = j.framework.value_counts().to_dict()
    assert counts["report_card"] == 8 and counts["no_overall"] == 21
    assert (j[j.framework == "no_overall"].inspection_date >= pd.Timestamp("2024-09-01")).all()
    assert (j[j.framework == "report_card"].inspection_date >= pd.Timestamp("2025-11-01")).all()
    assert j[j.framework == "ungraded"].below_good.isna().all()
    camden = j[(j.urn == CAMDEN) & (j.framework == "report_card")].iloc[0]
    assert camden.below_good and camden.inspection_date == pd.Timestamp("2026-03-17")
    assert camden.summary.startswith("Needs attention: Curriculum and teaching, Achievement, Leadership and governance")


# ---- bad input ---------------------------------------------------------------------------------------

def _write(path: Path, header, rows):
    with path.open("w", encoding="utf-8", newline="") as fh:
        w = csv.DictWriter(fh, header)
        w.writeheader()
        w.writerows(rows)


def test_an_unknown_report_card_value_is_a_warning_naming_file_row_and_column(tmp_path):
    header, rows = mi_rows()
    rows = [dict(r) for r in rows]
    i = next(k for k, r in enumerate(rows) if int(r["URN"]) == CAMDEN)
    rows[i]["Achievement"] = "Requires improvement"          # not on the report-card scale
    rows[i]["Safeguarding standards"] = "Partly met"
    src = tmp_path / "src"
    src.mkdir()
    _write(src / "mi.csv", header, rows)
    db_path = tmp_path / "e.duckdb"
    rep = build.build([src], db_path)  # no crash
    assert rep.outcome == "built"
    warn = [c for c in rep.checks if c.name == "Ofsted values not on Ofsted's scales"]
    assert len(warn) == 1 and warn[0].status == "warning" and warn[0].count == 2
    assert warn[0].file.endswith("mi.csv")
    assert f"row {i + 1}, column Achievement: 'Requires improvement'" in warn[0].message
    assert f"row {i + 1}, column Safeguarding standards: 'Partly met'" in warn[0].message
    area = _sql(db_path, "select * from ofsted_report_card where urn = ? and area = 'Achievement'", [CAMDEN]).iloc[0]
    assert area.grade_label == "Requires improvement" and pd.isna(area.grade) and not area.known  # text, never a number
    card, sentence = profile.report_card(CAMDEN, db_path)
    assert "Requires improvement" in set(card["grade (as published)"]) and "a value we do not know" in sentence


def test_a_missing_column_or_a_bad_urn_names_file_row_and_column(tmp_path):
    header, rows = mi_rows()
    src = tmp_path / "src"
    src.mkdir()
    _write(src / "mi.csv", [h for h in header if h != "Achievement - date of grade"],
           [{k: v for k, v in r.items() if k != "Achievement - date of grade"} for r in rows[:5]])
    with pytest.raises(Exception, match=r"mi\.csv, header row, column Achievement - date of grade"):
        build.build([src], tmp_path / "a.duckdb")
    rows = [dict(r) for r in rows[:5]]
    rows[3]["URN"] = "10O055"
    _write(src / "mi.csv", header, rows)
    with pytest.raises(Exception, match=r"mi\.csv, row 4, column URN: URN '10O055' is not a number"):
        build.build([src], tmp_path / "b.duckdb")


# ---- dated judgements ---------------------------------------------------------------------------------

def test_a_judgement_older_than_the_cut_off_is_dated():
    assert ofsted.DATED_AFTER_YEARS == 4
    on = date(2026, 11, 30)
    assert ofsted.is_dated(date(2020, 2, 26), on) and not ofsted.is_dated(date(2023, 7, 12), on)
    assert ofsted.is_dated(date(2022, 11, 29), on) and not ofsted.is_dated(date(2022, 11, 30), on)
    words = ofsted.describe("single_word", date(2019, 10, 15), "Good", 2, on)
    assert words == ("grade 2 Good (inspected 15 Oct 2019), single-word grade, DATED: more than 4 years before "
                     "30 Nov 2026")


def test_the_cut_off_is_a_setting(monkeypatch):
    import importlib
    monkeypatch.setenv("EQUITY_OFSTED_DATED_YEARS", "7")
    try:
        mod = importlib.reload(ofsted)
        assert mod.DATED_AFTER_YEARS == 7 and not mod.is_dated(date(2020, 2, 26), date(2026, 11, 30))
    finally:
        monkeypatch.delenv("EQUITY_OFSTED_DATED_YEARS")
        importlib.reload(ofsted)


# ---- the signs on the sample's report cards -------------------------------------------------------------

def test_signs_on_the_samples_report_cards(small_db):
    cards = report_card_rows()
    latest = ofsted.latest_as_of(None).set_index("urn")
    for urn, r in cards.items():
        row = latest.loc[urn]
        assert row.framework == "report_card"
        assert row.inspection_date.strftime("%d/%m/%Y") == r["Inspection start date"]
        weak = any(r[a] in ("Needs attention", "Urgent improvement") for a in AREAS)
        assert bool(row.below_good) == weak, urn
    assert sum(bool(latest.loc[u, "below_good"]) for u in cards) == 3  # Camden 100055, Cornwall, Kent
    # Kent's St Augustine: Requires improvement in July 2023, then Needs attention in March 2026: stuck
    kent = latest.loc[KENT]
    assert kent.stuck and kent.below_good_run == 2
    assert kent.previous_framework == "single_word" and kent.previous_date == pd.Timestamp("2023-07-12")
    # Cornwall's Mounts Bay: Good in 2021, Needs attention in 2026: below good now, not stuck
    corn = latest.loc[CORNWALL]
    assert corn.below_good and not corn.stuck and corn.previous_summary.startswith("Good")
    # Sutton's Glenthorne: strong report card: no sign
    assert not latest.loc[SUTTON].below_good and not latest.loc[SUTTON].stuck


def test_not_judged_inspections_count_below_good_on_any_key_judgement_3_or_4(small_db):
    _, rows = mi_rows()
    latest = ofsted.latest_as_of(None).set_index("urn")
    keys = ["Latest OEIF quality of education", "Latest OEIF behaviour and attitudes", "Latest OEIF personal development",
            "Latest OEIF effectiveness of leadership and management",
            "Latest OEIF early years provision (where applicable)", "Latest OEIF sixth form provision (where applicable)"]
    seen = 0
    for r in rows:
        if r["Latest OEIF overall effectiveness"] != "Not judged" or r["Inspection start date"] != "NULL":
            continue
        row = latest.loc[int(r["URN"])]
        assert row.framework == "no_overall" and pd.isna(row.grade)
        expect = any(r[k] in ("3", "4") for k in keys) or r["Latest OEIF  safeguarding is effective?"] == "No"
        assert bool(row.below_good) == expect, r["URN"]
        seen += expect
    assert seen == 2  # Lincolnshire 136871 (quality of education 3) and Wirral 136895 (4s, special measures)


def _constructed(tmp_path: Path) -> Path:
    """A build from real sample rows edited into the cases the sample lacks, plus the real history."""
    header, rows = mi_rows()
    base = {int(r["URN"]): dict(r) for r in rows}
    out = []

    def card(urn, **changes):
        assert base[urn]["Inspection start date"] != "NULL"  # a report-card row of the sample
        out.append({**base[urn], **changes})
    # safeguarding not met, otherwise a good report card (Sutton's row)
    card(SUTTON, **{"Safeguarding standards": "Not met"})
    # a category of concern on an otherwise expected report card (Greenwich 100142)
    card(100142, **{"Category of concern": "Special measures"})
    # urgent improvement in one area (Camden 100046, all Expected standard in the file)
    card(100046, **{"Leadership and governance": "Urgent improvement"})
    # Cornwall's Mounts Bay, stuck: its previous graded inspection made Requires improvement
    card(CORNWALL, **{"Latest OEIF overall effectiveness": "3"})
    # Kent's St Augustine, the run broken by a good: previous graded inspection Good
    card(KENT, **{"Latest OEIF overall effectiveness": "2", "Latest OEIF quality of education": "2"})
    # a 'Not judged' inspection with one key judgement 3 (Camden 100045, 2/2/1/1 in the file)
    r = dict(base[100045])
    r["Latest OEIF personal development"] = "3"
    out.append(r)
    # and one with every key judgement 1 or 2 (unchanged)
    out.append(dict(base[100041]))
    src = tmp_path / "src"
    src.mkdir()
    _write(src / "mi.csv", header, out)
    (src / "history.csv.gz").write_bytes(HISTORY.read_bytes())
    db_path = tmp_path / "constructed.duckdb"
    assert build.build([src], db_path).outcome == "built"
    return db_path


@pytest.mark.slow  # 1.8 s: builds (quiet run, 2 cores)
def test_signs_on_constructed_rows_for_the_cases_the_sample_lacks(tmp_path):
    db_path = _constructed(tmp_path)
    latest = ofsted.latest_as_of(None, db_path).set_index("urn")
    for urn, why in [(SUTTON, "safeguarding not met"), (100142, "category of concern Special measures"),
                     (100046, "Urgent improvement: Leadership and governance")]:
        row = latest.loc[urn]
        assert row.framework == "report_card" and row.below_good and row.equivalent == 4, urn
        assert why in row.summary
    # Not judged with a key judgement 3: below good (not inadequate); all 1s and 2s: not
    assert latest.loc[100045].below_good and latest.loc[100045].equivalent == 3
    assert "personal development 3" in latest.loc[100045].summary
    assert not latest.loc[100041].below_good
    # stuck across two inspections: RI (OEIF, Dec 2021) then Needs attention (report card, Mar 2026)
    corn = latest.loc[CORNWALL]
    assert corn.stuck and corn.below_good_run == 2 and corn.previous_date == pd.Timestamp("2021-12-01")
    # a good breaks the run: Kent's RI in 2023 is now Good, and the report card alone is one
    kent = latest.loc[KENT]
    assert kent.below_good and not kent.stuck and kent.below_good_run == 1
    # the inadequate-or-equivalent setting (4) takes safeguarding, a category and urgent improvement only
    of = kts.ofsted_as_of(None, db_path).set_index("urn")
    assert {u for u in of.index if of.loc[u, "grade"] >= 4} >= {SUTTON, 100142, 100046}
    assert of.loc[CORNWALL, "grade"] == 3 and of.loc[100045, "grade"] == 3


# ---- Keys to Success --------------------------------------------------------------------------------

def test_keys_to_success_shows_each_schools_framework_and_date(built_db):
    rule = kts.Rule.default(4, measure="p8_vs_national_other")
    assert kts.ofsted_cutoff(4, kts.resolve_year(rule, ["886"]).year, ["886"]) is None  # latest year: all held
    ev = kts.evaluate(rule, ["886", "202", "908", "319"]).set_index("urn")
    kent = ev.loc[KENT]
    assert kent.meets_ofsted and kent.meets_stuck and kent.ofsted_framework == "report_card"
    assert "Ofsted report card of 03 Mar 2026: Needs attention: Achievement" in kent.reasons_text
    assert "stuck: below good or equivalent at 2 consecutive graded inspections" in kent.reasons_text
    assert "single-word grade of 12 Jul 2023" in kent.reasons_text
    camden = ev.loc[CAMDEN]
    assert camden.meets_ofsted and not camden.meets_stuck
    assert camden.ofsted_latest.startswith("report card of 17 Mar 2026")
    assert not ev.loc[SUTTON].meets_ofsted
    # a school outside the sample: its latest grade is from the history, shown with its date and marked dated
    sample = {int(r["URN"]) for r in mi_rows()[1]}
    old = ev[~ev.index.isin(sample) & ev.ofsted_date.notna()]
    assert len(old) > 100 and (old.ofsted_framework == "single_word").all()
    assert (pd.to_datetime(old.ofsted_date) <= "2020-02-26").all()
    assert old.ofsted_dated.all() and old.ofsted_latest.str.contains(r"\(inspected \d\d \w\w\w 20\d\d\)").all()
    assert old.ofsted_latest.str.contains("DATED: more than 4 years before").all()
    sentence = ofsted.cohort_sentence(ev[ev.selected].reset_index())
    assert "by a report card (2026)" in sentence and "dated" in sentence


def test_an_earlier_year_uses_the_judgements_made_by_its_end(small_db):
    assert kts.ofsted_cutoff(4, 2016) == date(2017, 8, 31)
    ev = kts.evaluate(kts.Rule.default(4, year=2016), ["936"])
    assert (pd.to_datetime(ev.ofsted_date.dropna()) <= "2017-08-31").all()
    assert not ev.ofsted_dated.any() or (pd.to_datetime(ev[ev.ofsted_dated].ofsted_date) < "2013-08-31").all()


def test_keys_to_success_page_states_the_ofsted_rule_and_dates(built_db):
    AppTest.from_file(str(ROOT / "dashboard.py"), default_timeout=180).run()
    at = AppTest.from_file(str(ROOT / "dashboard.py"), default_timeout=240)
    at.switch_page("pages/keys-to-success.py")
    at.query_params.update({"la": "886", "ks": "4", "kts_measure4": "p8_vs_national_other"})
    at.run()
    assert not at.exception, [e.message for e in at.exception]
    md = " ".join(m.value for m in at.markdown)
    assert "Not judged" in md and "graded 3 or 4" in md and "Needs attention" in md
    assert "**Stuck**" in md and "dated" in md
    assert "1 by a report card (2026)" in md and "by a single-word grade (20" in md
    assert "Ofsted last judged" not in md


# ---- the profile ----------------------------------------------------------------------------------------

def test_profile_report_card_in_full_and_history_with_dates(small_db):
    r = report_card_rows()[CAMDEN]
    card, sentence = profile.report_card(CAMDEN)
    assert list(card.area) == ofsted.AREAS
    assert list(card["grade (as published)"]) == [r[a] for a in AREAS]
    assert sentence.startswith("Report card from the inspection of 17 March 2026, published 13 May 2026: "
                               "safeguarding standards met; category of concern: none.")
    assert "Curriculum and teaching (Needs attention), Achievement (Needs attention), Leadership and governance" \
        in sentence
    hist = profile.ofsted_history(CAMDEN)
    assert hist.framework.iloc[0] == "report_card" and hist.inspection_date.iloc[0] == pd.Timestamp("2026-03-17")
    assert "ungraded" in set(hist.framework) and "single_word" in set(hist.framework)
    assert hist[hist.framework == "single_word"].dated.all()
    table = profile.ofsted_table(hist)
    assert list(table.columns) == ["inspected", "framework", "judgement", "dated", "school"]
    assert table.judgement.iloc[0].startswith("Needs attention") and table.dated.iloc[0] == ""
    old = table[table.framework == ofsted.FRAMEWORKS["single_word"]]
    assert (old.dated == "DATED").all() and "2 Good" in set(old.judgement)
    text = profile.ofsted_sentence(hist, "Maria Fidelis")
    assert text.startswith("Latest graded judgement held: report card of 17 Mar 2026: Needs attention")


def test_profile_of_an_old_framework_school_dates_its_grade(small_db):
    hist = profile.ofsted_history(125249)  # Broadwater School, Surrey: history only (to 2020)
    card, why = profile.report_card(125249)
    assert card.empty and "No report card held" in why
    assert (hist.framework == "single_word").all() and hist.dated.all()
    text = profile.ofsted_sentence(hist, "Broadwater School")
    assert "grade 2 Good (inspected 15 Oct 2019), single-word grade, DATED: more than 4 years" in text
    assert "later inspections are not held" in text


def test_profile_page_shows_the_report_card(built_db):
    AppTest.from_file(str(ROOT / "dashboard.py"), default_timeout=180).run()
    at = AppTest.from_file(str(ROOT / "dashboard.py"), default_timeout=240)
    at.switch_page("pages/school.py")
    at.query_params["urn"] = str(CAMDEN)
    at.run()
    assert not at.exception, [e.message for e in at.exception]
    md = " ".join(m.value for m in at.markdown)
    assert "**Latest report card.** Report card from the inspection of 17 March 2026" in md
    frames = [d.value for d in at.dataframe]
    card = next(f for f in frames if "area" in f.columns)
    assert list(card["grade (as published)"])[:3] == ["Expected standard", "Needs attention", "Needs attention"]
    assert str(card["date of grade"].iloc[0]) == "2026-03-17"
    history = next(f for f in frames if "judgement" in f.columns)
    assert history.framework.iloc[0] == "report card (from November 2025)"
