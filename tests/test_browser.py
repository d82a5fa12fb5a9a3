"""The app in a real browser: Debian's headless Chromium driven by Playwright against
``streamlit run dashboard.py`` on the real bundled data.

Every page in dashboard.py's PAGES is opened by its URL, waited for (connected, script finished,
no skeletons, every chart drawn), screenshotted to ``test-artifacts/browser/`` and checked: no
exception on screen, every Plotly chart drawn as SVG and every map as a canvas, and the charts and
tables that AppTest says the page has are there. A filter is changed and the page and its URL
follow. axe-core (vendored: tests/vendor/axe.min.js, MPL-2.0) checks each page against WCAG 2.1
A/AA: a serious or critical violation in our content fails the test; those inside Streamlit's
own chrome (toolbar, navigation, Plotly's mode bar, the data grid) are reported separately in
``test-artifacts/browser/axe.json``.

In CI (``CI=true``) a missing browser is a failure; elsewhere these tests skip, saying why.
"""
from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import fixtures  # noqa: E402
from bench.browser import Server, app_pages, exceptions_shown, page_url, wait_ready  # noqa: E402

ARTIFACTS = ROOT / "test-artifacts" / "browser"
AXE = ROOT / "tests" / "vendor" / "axe.min.js"

# Where a violation belongs to Streamlit (or Plotly) rather than to our pages: its element sits
# inside one of these. Everything else on the page is our content.
STREAMLIT_CHROME = [
    '[data-testid="stHeader"]', '[data-testid="stToolbar"]', '[data-testid="stDecoration"]',
    '[data-testid="stSidebarNav"]', '[data-testid="stSidebarHeader"]', '[data-testid="stSidebarCollapseButton"]',
    '[data-testid="stSidebarCollapsedControl"]', '[data-testid="stStatusWidget"]', '[data-testid="stElementToolbar"]',
    '[data-testid="stDataFrameResizable"]', '[data-testid="stDataFrameGlideDataEditor"]', '.modebar', '.modebar-container',
    '[data-testid="stMainMenu"]', '[data-testid="stAppDeployButton"]', '[data-testid="stFullScreenFrame"] > button',
    '[data-testid="stDeckGlJsonChart"] .mapboxgl-control-container', '.deckgl-overlay + div',
]
FAIL_IMPACTS = ("serious", "critical")


def _serving(db_path: Path, log_name: str):
    """An app server on ``db_path`` for the duration of a fixture (stopped afterwards)."""
    fixtures.require("playwright", "chromium", what="real-browser tests")
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    srv = Server(db_path, ARTIFACTS / log_name)
    try:
        srv.wait_healthy(180)
        yield srv
    finally:
        srv.stop()


@pytest.fixture(scope="module")
def server(built_db):
    yield from _serving(built_db, "server.log")


@pytest.fixture(scope="module")
def browser(server, chromium):
    """The session's Chromium, once this module's server is up."""
    return chromium


@pytest.fixture()
def page(browser):
    with fixtures.new_page(browser) as pg:
        yield pg


def _open(page, server, url: str) -> None:
    page.goto(f"{server.base}/{page_url(url)}")
    wait_ready(page)


def _drawn(page) -> dict:
    """Charts, maps and tables on the page, and how many of each actually drew."""
    return page.evaluate("""() => {
        // only what is on screen: charts in a tab that is not selected are laid out at zero size
        const q = s => [...document.querySelectorAll(s)].filter(e => e.getClientRects().length > 0 && e.offsetWidth > 0);
        const charts = q('[data-testid="stPlotlyChart"]'), maps = q('[data-testid="stDeckGlJsonChart"]');
        const frames = q('[data-testid="stDataFrame"]'), tables = q('[data-testid="stTable"] table');
        return {charts: charts.length,
                charts_drawn: charts.filter(c => { const s = c.querySelector('svg.main-svg');
                                                   return s && s.getBoundingClientRect().width > 0; }).length,
                maps: maps.length, maps_drawn: maps.filter(m => m.querySelector('canvas')).length,
                frames: frames.length, tables: tables.length};
    }""")


PAGES = app_pages()


@pytest.mark.parametrize("file,title,url", PAGES, ids=[u for _f, _t, u in PAGES])
def test_every_page_renders_in_a_real_browser(server, page, file, title, url):
    _open(page, server, url)
    page.screenshot(path=str(ARTIFACTS / f"{url}.png"), full_page=True)
    assert not exceptions_shown(page), exceptions_shown(page)
    assert title in page.title() or page.get_by_role("heading").count() > 0
    d = _SEEN[url] = _drawn(page)
    axe = _AXE[url] = _axe(page)
    ours = [v for v in axe if v["owner"] == "ours" and v["impact"] in FAIL_IMPACTS]
    assert d["charts_drawn"] == d["charts"], f"{d['charts'] - d['charts_drawn']} Plotly chart(s) did not draw: {d}"
    assert d["maps_drawn"] == d["maps"], f"a map did not draw a canvas: {d}"
    # a chart's "Show data" table opens and draws in the grid
    show = page.locator('[data-testid="stExpander"]:visible').filter(
        has=page.locator("summary", has_text="Show data"))
    if show.count():
        expander = show.first
        expander.locator("summary").click(timeout=20_000)
        grid = expander.locator('[data-testid="stDataFrame"]').first
        grid.wait_for(state="visible", timeout=30_000)
        page.wait_for_timeout(300)
        assert grid.locator("canvas").count() > 0 or grid.locator("table").count() > 0
        page.screenshot(path=str(ARTIFACTS / f"{url}-data.png"), full_page=True)
    # accessibility (axe-core, WCAG 2.1 A/AA): nothing serious or critical in our own content
    assert not ours, "\n".join(f"{v['rule']} ({v['impact']}) {v['help']} at {v['target']}: {v['html']} -- "
                               f"{v['summary']}" for v in ours[:10])


_SEEN: dict = {}
_AXE: dict = {}


@pytest.mark.parametrize("urn", ["116325", "151078"])
def test_a_primary_school_profile_renders_in_a_real_browser(server, page, urn):
    """Primary profiles crashed for most primaries (issue 13): Wickham CofE Primary (Hampshire, KS2
    2018/19, pupil counts missing in early years) and Richard Whittington Primary (Hertfordshire, KS2
    2024/25) open with their charts drawn and no exception."""
    _open(page, server, f"school?urn={urn}")
    assert not exceptions_shown(page), exceptions_shown(page)
    assert page.get_by_text("primary", exact=False).count() > 0
    d = _drawn(page)
    assert d["charts"] > 0 and d["charts_drawn"] == d["charts"], d


def test_the_app_shows_charts_and_tables_somewhere(server, page):
    """Not every page has a chart (the Guide does not), but the app as a whole must draw both."""
    total = {"charts_drawn": 0, "maps_drawn": 0, "frames": 0, "tables": 0}
    for _f, _t, url in PAGES:
        if url not in _SEEN:  # run on its own: visit the page here
            _open(page, server, url)
            _SEEN[url] = _drawn(page)
        for k in total:
            total[k] += _SEEN[url][k]
    assert total["charts_drawn"] + total["maps_drawn"] > 0, total
    assert total["frames"] + total["tables"] > 0, total


def _la_select(page):
    return page.locator('[data-testid="stSidebar"] [data-testid="stSelectbox"]').filter(has_text="Local authority")


def test_changing_the_la_filter_updates_the_page_and_its_url(server, page):
    chosen = None
    for _f, _t, url in PAGES:
        _open(page, server, url)
        if _la_select(page).count():
            chosen = url
            break
    if chosen is None:
        pytest.skip("no page in PAGES shows the shared LA filter yet")
    main = page.locator('[data-testid="stMain"]')
    before_text, before_url = main.inner_text(), page.url
    box = _la_select(page).first.get_by_role("combobox")
    current = box.input_value()
    box.click()
    options = page.get_by_role("option")
    options.first.wait_for()
    labels = [t.strip() for t in options.all_inner_texts()]
    other = next(t for t in labels if t and t != current)
    options.filter(has_text=other).first.click()
    wait_ready(page)
    assert not exceptions_shown(page), exceptions_shown(page)
    code = other.rsplit("(", 1)[-1].rstrip(")")
    from urllib.parse import parse_qs, urlparse
    la_param = parse_qs(urlparse(page.url).query).get("la", [""])[0]
    assert code in la_param, (page.url, before_url)  # Streamlit writes the option's label: "Surrey (936)"
    assert box.input_value() == other
    assert main.inner_text() != before_text, "the page did not change with the LA"
    page.screenshot(path=str(ARTIFACTS / f"{chosen or 'home'}-la-{code}.png"), full_page=True)
    # the URL restores the view in a fresh tab
    fresh = page.context.new_page()
    fresh.goto(page.url)
    wait_ready(fresh)
    assert _la_select(fresh).first.get_by_role("combobox").input_value() == other
    fresh.close()


@pytest.fixture()
def fresh_server(built_db):
    """A server no session has visited yet: the first request is the one under test."""
    yield from _serving(built_db, "fresh_server.log")


def _new_page(browser, request):
    pages = fixtures.new_page(browser)
    request.addfinalizer(lambda: pages.__exit__(None, None, None))
    return pages.__enter__()


def test_a_deep_link_opened_first_after_a_server_start_shows_its_page(fresh_server, browser, request):
    # a page whose url path ("keys-to-success") is not a Python-style name: Streamlit's first,
    # file-based lookup must find it too (test_app_smoke checks every page's name)
    page = _new_page(browser, request)
    page.goto(f"{fresh_server.base}/keys-to-success?la=936")
    wait_ready(page)
    assert not exceptions_shown(page), exceptions_shown(page)
    assert "Page not found" not in page.locator("body").inner_text()
    assert page.get_by_role("heading", name="Keys to Success").count() >= 1
    assert _la_select(page).first.get_by_role("combobox").input_value() == "Surrey (936)"


@pytest.mark.parametrize("first", [True, False], ids=["first-request-after-start", "later-request"])
def test_a_bookmark_of_overview_lands_on_the_default_page_with_its_filters(first, request, browser):
    # Streamlit resolves a server's first request against the files in pages/ (old-style multipage),
    # later ones against dashboard.py's navigation: both must land on the overview.
    server = request.getfixturevalue("fresh_server" if first else "server")
    if not first:
        warm = browser.new_page()
        warm.goto(server.base + "/")
        wait_ready(warm)
        warm.close()
    page = _new_page(browser, request)
    page.goto(f"{server.base}/overview?la=936&ks=2")
    wait_ready(page)
    assert not exceptions_shown(page), exceptions_shown(page)
    assert "Page not found" not in page.locator("body").inner_text()
    assert page.get_by_role("heading", name="Surrey: the disadvantage gap").count() == 1
    assert _la_select(page).first.get_by_role("combobox").input_value() == "Surrey (936)"
    from urllib.parse import parse_qs, urlparse
    q = parse_qs(urlparse(page.url).query)
    assert q.get("ks") == ["2"] and "936" in q.get("la", [""])[0], page.url


AXE_RUN = """async (chrome) => {
    const res = await axe.run(document, {runOnly: {type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa']},
                                         resultTypes: ['violations']});
    const out = [];
    for (const v of res.violations) {
        for (const n of v.nodes) {
            let el = null;
            try { el = document.querySelector(n.target[n.target.length - 1]); } catch (e) {}
            const theirs = !!el && chrome.some(sel => { try { return el.closest(sel); } catch (e) { return false; } });
            out.push({rule: v.id, impact: n.impact || v.impact, help: v.help, target: n.target.join(' '),
                      html: n.html.slice(0, 200), owner: theirs ? 'streamlit' : 'ours', summary: n.failureSummary});
        }
    }
    return out;
}"""


def _axe(page) -> list[dict]:
    page.add_script_tag(path=str(AXE))
    return page.evaluate(AXE_RUN, STREAMLIT_CHROME)


def test_accessibility_report(server, page):
    """axe-core's findings for every page, written to test-artifacts/browser/axe.json; Streamlit's
    own (its navigation, toolbar, mode bar, data grid) are listed apart and do not fail the build."""
    for _f, _t, url in PAGES:
        if url not in _AXE:
            _open(page, server, url)
            _AXE[url] = _axe(page)
    (ARTIFACTS / "axe.json").write_text(json.dumps(_AXE, indent=1))
    theirs = sorted({(v["rule"], v["impact"]) for vs in _AXE.values() for v in vs if v["owner"] == "streamlit"})
    ours = sorted({(u, v["rule"], v["impact"]) for u, vs in _AXE.items() for v in vs if v["owner"] == "ours"})
    print("\naxe-core, Streamlit-internal (reported, not ours):", theirs)
    print("axe-core, in our content:", ours or "none")
    assert not [o for o in ours if o[2] in FAIL_IMPACTS], ours


# ---- offline: no request leaves the machine --------------------------------------------------------

LOCAL_HOSTS = {"127.0.0.1", "localhost", "::1", "[::1]"}


def test_no_page_requests_anything_from_another_host(server, page):
    """Every page (and the family map and a school profile, which load more) is opened while every
    request the browser makes is recorded: any request to a host other than this machine fails
    the test (issue 14: fonts.gstatic.com for a :material: page icon, basemaps.cartocdn.com for
    a map style)."""
    from urllib.parse import urlsplit
    seen: list[tuple[str, str]] = []
    page.on("request", lambda r: seen.append((page.url, r.url)))
    # an element the front end cannot draw (a map given a style it cannot read) is caught by its error
    # boundary, which logs it: the page then shows the error instead of the map
    broken: list[tuple[str, str]] = []
    page.on("console", lambda m: broken.append((page.url, m.text)) if m.type == "error" and (
        "ErrorBoundary" in m.text or "TypeError" in m.text) else None)
    urls = [u for _f, _t, u in PAGES] + ["families?urn=125311", "school?urn=125311", "neighbourhoods?urn=125311"]
    for url in urls:
        _open(page, server, url)
        page.wait_for_timeout(1500)  # a map style, favicon or font is fetched after the script ends
        assert not exceptions_shown(page), url
    outside = sorted({(p, r) for p, r in seen
                      if urlsplit(r).scheme in ("http", "https", "ws", "wss") and urlsplit(r).hostname not in LOCAL_HOSTS})
    assert not outside, "requests off this machine:\n" + "\n".join(f"{p} -> {r}" for p, r in outside[:20])
    assert not broken, "elements that failed to draw:\n" + "\n".join(f"{p}: {t[:200]}" for p, t in broken[:10])
    assert len(seen) > 50, "the pages were loaded and their requests recorded"
