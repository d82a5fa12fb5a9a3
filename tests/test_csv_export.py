"""Every CSV the product writes neutralises formula cells (issue 14, item 2; OWASP's CSV-injection
rule): the writer itself, then each route on real data: page downloads, the CLI (gaps, family,
keys-to-success) and the register export."""
from __future__ import annotations

import csv
import io
from pathlib import Path

import pandas as pd
import pytest

from conftest import HOSTILE  # noqa: E402  the school name the hostile_db fixture writes into the files
from equity import csv_export

ROOT = Path(__file__).resolve().parent.parent
FORMULA = '=HYPERLINK("https://evil.example","click")'


def _rows(text: str) -> list[dict]:
    return list(csv.DictReader(io.StringIO(text)))


# ---- the writer -----------------------------------------------------------------------------------

@pytest.mark.parametrize("cell", [FORMULA, "+cmd|' /C calc'!A0", "-cmd", "@SUM(A1)", "\t=1+1", "\r=1+1",
                                  "-2+3", "=1"])
def test_text_starting_a_formula_gets_a_quote(cell):
    assert csv_export.neutralise(cell) == "'" + cell


@pytest.mark.parametrize("cell", [-0.37, 5, None, "", "Surrey", "-0.37", "+1", "1e3", "St Paul's = good"])
def test_numbers_and_plain_text_are_left_alone(cell):
    assert csv_export.neutralise(cell) == cell


def test_to_csv_neutralises_text_cells_and_names_but_not_numbers():
    df = pd.DataFrame({"name": [FORMULA, "Surrey", "-cmd"], "value": [-0.37, 1.5, -2.0],
                       "=header": ["a", "b", "c"], "mixed": [-4, "@x", None]})
    text = csv_export.to_csv(df)
    rows = _rows(text)
    assert [r["name"] for r in rows] == ["'" + FORMULA, "Surrey", "'-cmd"]
    assert [r["value"] for r in rows] == ["-0.37", "1.5", "-2.0"]
    assert "'=header" in text.splitlines()[0]
    assert [r["mixed"] for r in rows] == ["-4", "'@x", ""]
    assert df.name.iloc[0] == FORMULA, "the caller's frame is not changed"


# ---- the routes ------------------------------------------------------------------------------------

def test_register_export_neutralises_focus_and_notes(tmp_path, monkeypatch, small_db):
    from equity.analysis import partnerships as reg
    monkeypatch.setenv("EQUITY_USER_DB", str(tmp_path / "partnerships.sqlite"))
    reg.create(school_urn=141200, partner_urns=[138190], key_stage=4, baseline_year="2016/17", measure="p8",
               start_date="2018-09-01", focus=FORMULA, notes="+cmd|' /C calc'!A0", user="@officer")
    rows = _rows(reg.export_csv())
    assert rows[0]["focus"] == "'" + FORMULA
    assert rows[0]["notes"] == "'+cmd|' /C calc'!A0"
    assert rows[0]["school_urn"] == "141200" and rows[0]["key_stage"] == "4"


def test_cli_gaps_csv_neutralises_names(small_db, capsys, monkeypatch):
    from equity.cli import gaps as cli_gaps
    from equity.cli import main
    real_rows = cli_gaps.rows
    monkeypatch.setattr(cli_gaps, "rows", lambda *a: [dict(r, area_name=FORMULA) for r in real_rows(*a)])
    assert main(["gaps", "--la", "936", "--key-stage", "4", "--format", "csv", "--db", str(small_db)]) == 0
    rows = _rows(capsys.readouterr().out)
    assert rows and all(r["area_name"] == "'" + FORMULA for r in rows)
    gaps = [float(r["gap"]) for r in rows if r["gap"]]  # numbers are written as numbers
    assert gaps and any(g < 0 for g in gaps) == any(r["gap"].startswith("-") for r in rows)


def test_cli_family_and_keys_to_success_csv_neutralise_a_hostile_school_name(hostile_db, capsys):
    from equity.cli import main
    assert main(["family", "--urn", "125315", "--size", "20", "--radius-km", "0", "--format", "csv",
                 "--db", str(hostile_db)]) == 0
    fam = _rows(capsys.readouterr().out)
    assert fam and all(not r["name"].startswith(("=", "+", "-", "@")) for r in fam)
    assert main(["keys-to-success", "--la", "936", "--max-value", "5", "--min-pct-disadvantaged", "0",
                 "--year", "2018/19", "--format", "csv", "--db", str(hostile_db)]) == 0
    kts = _rows(capsys.readouterr().out)
    hit = [r for r in kts if "evil.example" in r["name"]]
    assert hit and hit[0]["name"] == "'" + HOSTILE
    assert all(not r["name"].startswith(("=", "+", "-", "@")) for r in kts)
    margins = [r["margin"] for r in kts if r["margin"]]
    assert all(not m.startswith("'") for m in margins), "numbers stay numbers"


def test_page_downloads_neutralise_a_hostile_school_name(hostile, monkeypatch):
    """The school profile's CSV downloads (chart blocks) on the hostile build: what the browser
    would download, taken from Streamlit's media store."""
    from streamlit.runtime.memory_media_file_storage import MemoryMediaFileStorage
    from streamlit.testing.v1 import AppTest
    saved = []
    real = MemoryMediaFileStorage.load_and_get_id

    def keep(self, path_or_data, mimetype, kind, filename=None):
        if mimetype == "text/csv":
            saved.append((filename, bytes(path_or_data)))
        return real(self, path_or_data, mimetype, kind, filename)

    monkeypatch.setattr(MemoryMediaFileStorage, "load_and_get_id", keep)
    at = AppTest.from_file(str(ROOT / "dashboard.py"), default_timeout=180)
    at.query_params["urn"] = "125311"
    at.run()
    at.switch_page("pages/families.py")
    at.run()
    assert not at.exception, [e.message for e in at.exception]
    texts = [data.decode("utf-8") for _, data in saved]
    with_name = [t for t in texts if "evil.example" in t]
    assert with_name, [f for f, _ in saved]
    for t in with_name:
        cells = [c for row in csv.reader(io.StringIO(t)) for c in row if "evil.example" in c]
        assert cells and all(c == "'" + HOSTILE or c.startswith("▶") for c in cells), cells


def test_no_page_writes_csv_itself():
    """Every download goes through the one writer: no page calls DataFrame.to_csv."""
    offenders = [p.name for p in (ROOT / "pages").glob("*.py") if ".to_csv(" in p.read_text(encoding="utf-8")]
    assert not offenders
