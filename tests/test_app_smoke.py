"""Every page of the app runs on the real bundled data without an exception (AppTest)."""
from __future__ import annotations

from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

ROOT = Path(__file__).resolve().parent.parent
PAGES = sorted(p.relative_to(ROOT).as_posix() for p in (ROOT / "pages").glob("*.py") if not p.name.startswith("_"))


def test_the_app_loads_and_its_title_is_right(small_db):
    at = AppTest.from_file(str(ROOT / "dashboard.py"), default_timeout=120)
    at.run()
    assert not at.exception


def test_every_pages_url_path_is_the_name_streamlit_gives_its_file():
    # Until a session has run dashboard.py's st.navigation, Streamlit resolves a URL against the files
    # in pages/ by the name it derives from each file; a deep link opened first after a server start
    # shows "Page not found" unless that name is the page's url path (tests/test_browser.py opens one).
    from streamlit.source_util import page_icon_and_name

    from bench.browser import app_pages
    pages = app_pages()
    assert len(pages) == len(PAGES), "every page file is listed in dashboard.py"
    for file, _title, url in pages:
        assert page_icon_and_name(ROOT / file)[1] == url, (file, url)


@pytest.mark.parametrize("page", PAGES)
def test_page_runs_without_exception(built_db, page):
    at = AppTest.from_file(str(ROOT / "dashboard.py"), default_timeout=120)
    at.run()
    at.switch_page(page)
    at.run()
    assert not at.exception, [e.message for e in at.exception]
    assert at.title, f"{page} has no title"


def test_data_page_shows_holdings_and_report(built_db):
    at = AppTest.from_file(str(ROOT / "dashboard.py"), default_timeout=120)
    at.run()
    at.switch_page("pages/data.py")
    at.run()
    headers = [h.value for h in at.header]
    assert "What we actually hold" in headers and "Latest build" in headers
    text = " ".join(d.value.to_csv() for d in at.dataframe)
    assert "Surrey (936)" in text and "Hertfordshire (919)" in text and "rows read per file type" in text


def test_a_newcomers_first_page_is_the_la_with_the_latest_results(built_db):
    """No URL parameters: the overview opens on Hertfordshire, whose 2024/25 results are the most recent held,
    says which year it shows, and why Progress 8 is not there."""
    at = AppTest.from_file(str(ROOT / "dashboard.py"), default_timeout=120)
    at.run()
    assert not at.exception, [e.message for e in at.exception]
    assert at.selectbox(key="la").value == "919" and at.radio(key="ks").value == 4
    assert at.title[0].value == "Hertfordshire: the disadvantage gap"
    notes = " ".join(i.value for i in at.info)
    assert "Latest KS4 results held for Hertfordshire: **2024/25**" in notes and "no Progress 8 for 2024/25" in notes
    # the tiles and the funnel open on 2024/25
    assert any("2024/25" in c.value for c in at.caption)
    assert at.selectbox(key="ov_year").value == 2024
    assert at.selectbox(key="ov_measure").value == "att8"


def test_data_page_says_what_is_current(built_db):
    at = AppTest.from_file(str(ROOT / "dashboard.py"), default_timeout=120)
    at.run()
    at.switch_page("pages/data.py")
    at.run()
    assert not at.exception, [e.message for e in at.exception]
    assert "What is current" in [h.value for h in at.header]
    warnings = [w.value for w in at.warning]
    assert any(w.startswith("Ofsted inspection history") and "2020-02-26" in w for w in warnings)
    current = at.dataframe[0].value
    assert current.set_index("source").loc["KS4 performance table", "latest held"] == "2024/25"
