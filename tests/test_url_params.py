"""Every URL parameter is checked, and a link opens what it names (issue 14, items 5 and 9).

Each page is opened alone with the parameters in its address, as a deep link opens it (AppTest).
No run may show an exception; a bad or unknown value gets a plain message saying what is wrong,
never another record shown silently. Also the CLI's --urn and the app's error-detail setting.
"""
from __future__ import annotations

import re
import shutil
import tomllib
from pathlib import Path

import duckdb
import pytest
from streamlit.testing.v1 import AppTest

ROOT = Path(__file__).resolve().parent.parent


def _page(page: str, **params) -> AppTest:
    at = AppTest.from_file(str(ROOT / "pages" / page), default_timeout=180)
    for k, v in params.items():
        at.query_params[k] = v
    at.run()
    assert not at.exception, [e.message for e in at.exception]
    return at


def _notices(at) -> str:
    """The page's notices as a reader sees them (Markdown escapes of quoted values undone)."""
    return re.sub(r"\\(.)", r"\1", " ".join(e.value for kind in ("warning", "info", "error") for e in getattr(at, kind)))


def test_no_error_details_reach_the_browser():
    config = tomllib.loads((ROOT / ".streamlit" / "config.toml").read_text(encoding="utf-8"))
    assert config["client"]["showErrorDetails"] == "none"


@pytest.mark.parametrize("urn, says", [
    ("²", "“²” is not a URN"),                       # '²'.isdigit() is True, int('²') fails
    ("9" * 30000, "is not a URN: URNs are numbers from 1 to 9,999,999"),  # int() refuses > 4,300 digits
    ("2147483648", "“2147483648” is not a URN"),     # past the database's integer column
    ("-5", "“-5” is not a URN: a URN is a number such as 125311"),
])
def test_school_page_explains_a_bad_urn(small_db, urn, says):
    at = _page("school.py", urn=urn)
    assert says in _notices(at)
    assert len(_notices(at)) < 400, "the value is quoted short"


def test_school_page_unknown_urn_says_so(small_db):
    at = _page("school.py", urn="999998")
    assert "No school with URN 999998 in this database" in _notices(at)


def test_families_page_explains_a_urn_past_the_integer_range(small_db):
    at = _page("families.py", urn="2147483648")
    assert "“2147483648” is not a URN" in _notices(at)


def test_unknown_la_code_says_so_instead_of_showing_another_la(small_db):
    at = _page("overview.py", la="999")
    notice = _notices(at)
    assert "There is no LA 999 in this database" in notice and "instead" in notice
    shown = at.selectbox(key="la").value
    assert shown != "999" and at.query_params["la"] in (shown, [shown])
    # a real code is used as given, with no notice
    at = _page("overview.py", la="936")
    assert at.selectbox(key="la").value == "936" and "There is no LA" not in _notices(at)


def test_unknown_key_stage_says_so(small_db):
    at = _page("gaps.py", la="936", ks="7")
    assert "There is no key stage 7 in this database" in _notices(at)


def test_cli_family_refuses_a_huge_urn_without_a_traceback(small_db, capsys):
    from equity.cli import main
    with pytest.raises(SystemExit) as stop:
        main(["family", "--urn", "99999999999999999999", "--db", str(small_db)])
    assert stop.value.code == 2
    err = capsys.readouterr().err
    assert "is not a URN" in err and "Traceback" not in err


# ---- links keep the record they name --------------------------------------------------------------

@pytest.mark.slow  # 1.4 s: runs two pages (quiet run, 2 cores)
def test_partnership_link_opens_that_partnership_and_keeps_pid(small_db, tmp_path, monkeypatch):
    from equity.analysis import partnerships as reg
    monkeypatch.setenv("EQUITY_USER_DB", str(tmp_path / "partnerships.sqlite"))
    for partner in (125249, 125252, 125257, 125259, 125264, 125268):
        reg.create(school_urn=141200, partner_urns=[partner], key_stage=4, baseline_year="2016/17", measure="p8",
                   start_date="2018-09-01", focus=f"with {partner}", user="officer A")
    at = _page("partnerships.py", pid="3", la="936")
    assert at.selectbox(key="pid").value == 3
    assert at.query_params["pid"] in ("3", ["3"])
    assert any(m.value.startswith("Partnership 3:") for m in at.markdown)
    # a partnership that does not exist is named as missing, not replaced silently
    at = _page("partnerships.py", pid="99", la="936")
    assert "There is no partnership 99 in this database" in _notices(at)
    # the meeting page reads the same link the same way
    at = _page("meeting.py", pack="partnership", pid="3")
    assert at.selectbox(key="pid").value == "3" and at.query_params["pid"] in ("3", ["3"])


# ---- a year a rebuild dropped ----------------------------------------------------------------------

@pytest.fixture
def without_2017(small_db, tmp_path) -> Path:
    """The small build with KS4 2017/18 context data taken out, as a rebuild without that year's
    files would leave it (a copy: the session's database is not changed)."""
    path = tmp_path / "rebuilt.duckdb"
    shutil.copyfile(small_db, path)
    con = duckdb.connect(str(path))
    kind = con.execute("select table_type from information_schema.tables where table_name = 'school_context'"
                       ).fetchone()[0]
    assert kind == "BASE TABLE"
    con.execute("delete from school_context where key_stage = 4 and start_year = 2017")
    con.close()
    return path


def test_families_says_a_year_is_gone_after_a_rebuild(small_db, without_2017, monkeypatch):
    monkeypatch.setenv("EQUITY_DB", str(small_db))
    at = _page("families.py", ks="4", year="2017", urn="125311")
    assert at.selectbox(key="year").value == 2017
    monkeypatch.setenv("EQUITY_DB", str(without_2017))  # the rebuild is swapped in under the session
    at.run()
    assert not at.exception, [e.message for e in at.exception]
    assert "Year 2017/18 is no longer in this database" in _notices(at)
    assert at.selectbox(key="year").value != 2017
    assert at.query_params["year"] in (str(at.selectbox(key="year").value), [str(at.selectbox(key="year").value)])
    # a link made before the rebuild, opened after it
    at = _page("families.py", ks="4", year="2017")
    assert "There is no year 2017/18 in this database" in _notices(at)
