"""Shared fixtures and the two test tiers.

The fast tier (``python -m pytest -m "not slow"``) runs on ``small_db``: a database built once per
session from a few real bundled files (tests/fixtures.py). Everything else is marked ``slow`` here,
from what a test uses, so a new test file is tiered without a marker of its own:

- the whole bundle (``built_db``, ``hostile_db``, ``hostile``; the Streamlit servers, the stack behind
  nginx, packs and the concurrency runs all stand on it),
- a browser (a test or fixture that drives Playwright; also marked ``browser``),
- work at once in several threads or processes (a test or fixture that starts them).

The partnership register's tests on PostgreSQL stay fast: one server per session, started in a
second or two, each test on its own empty database (skipped outside CI where none is installed).
"""
from __future__ import annotations

import functools
import inspect
import os
from pathlib import Path

import pytest

import fixtures

ROOT = Path(__file__).resolve().parent.parent
RAW = ROOT / "data" / "raw"

# Fixtures that stand for the whole bundle: a test using one, directly or through another fixture, is slow.
SLOW_FIXTURES = {"built_db", "hostile_db", "hostile"}


@functools.cache
def _source(fn) -> str:
    try:
        return inspect.getsource(fn)
    except (OSError, TypeError):  # a builtin fixture, or no function at all
        return ""


def _sources(item):
    """The source text of the test function and of every fixture it uses (pytest's own have none)."""
    yield _source(getattr(item, "function", None))
    for defs in item._fixtureinfo.name2fixturedefs.values():
        for d in defs:
            yield _source(d.func)


# Text in a test or its fixtures that means a browser, or work at once in several threads/processes.
BROWSER = ("playwright",)
CONCURRENT = ("threading.Thread(", "subprocess.Popen(", "multiprocessing", "ThreadPoolExecutor",
              "ProcessPoolExecutor")


def pytest_collection_modifyitems(config, items):
    for item in items:
        names = set(getattr(item, "fixturenames", ()))
        text = "\n".join(_sources(item))
        if any(b in text for b in BROWSER):
            item.add_marker(pytest.mark.browser)
            item.add_marker(pytest.mark.slow)
        elif names & SLOW_FIXTURES or any(c in text for c in CONCURRENT):
            item.add_marker(pytest.mark.slow)
        if item.get_closest_marker("slow"):
            # pytest-xdist (``-n auto --dist loadgroup`` in pyproject.toml) spreads the fast tests over
            # the cores; the slow ones run one after another on one worker, as they did before, so
            # servers, browsers and timed runs never compete with each other for the machine.
            item.add_marker(pytest.mark.xdist_group("slow"))
        elif any(d.scope in ("module", "class") for defs in item._fixtureinfo.name2fixturedefs.values() for d in defs):
            # a fast module with a fixture made once per module (a synthetic set): one worker makes it
            item.add_marker(pytest.mark.xdist_group(item.module.__name__))


@pytest.fixture(scope="session")
def small_db(tmp_path_factory) -> Path:
    """The small database of tests/fixtures.py, built once per session. Tests that use it (directly
    or through another fixture) have EQUITY_DB pointed at it for their duration."""
    return fixtures.build_small(tmp_path_factory.mktemp("small") / "equity.duckdb")


@pytest.fixture(autouse=True)
def _small_db_is_the_default(request, monkeypatch):
    """Point the app at ``small_db`` for a test that uses it (and not the whole bundle)."""
    names = set(request.fixturenames)
    if "small_db" in names and not names & SLOW_FIXTURES:
        monkeypatch.setenv("EQUITY_DB", str(request.getfixturevalue("small_db")))


@pytest.fixture(scope="module")
def chromium():
    """Debian's headless Chromium through Playwright, one per test module that drives a browser. Not one
    per session: Playwright's sync API keeps an event loop running in the thread while it is open, and a
    later module's ``asyncio.run`` (the deploy tests' WebSocket sessions) would then fail."""
    fixtures.require("playwright", "chromium", what="real-browser tests")
    from playwright.sync_api import sync_playwright

    from bench.browser import launch
    with sync_playwright() as p:
        b = launch(p)
        try:
            yield b
        finally:
            b.close()


@pytest.fixture()
def fresh_page(chromium):
    """A page in a browser context of its own: no cookies, nobody signed in."""
    with fixtures.new_page(chromium) as page:
        yield page


@pytest.fixture(scope="session")
def built_db(tmp_path_factory) -> Path:
    """Build the bundled data once into a temporary file and point the app (EQUITY_DB) at it."""
    from equity.ingest import build
    path = tmp_path_factory.mktemp("db") / "equity.duckdb"
    build.build(None, path)
    os.environ["EQUITY_DB"] = str(path)
    return path


# A school name a hostile file could carry: a spreadsheet formula, Markdown bold and a link, a
# Streamlit colour directive, LaTeX, an HTML link and a tracking image (issue 14).
HOSTILE = ("=cmd|' /C calc'!A0 **Bold** [click me](https://evil.example) :red[x] $x^2$ "
           "<a href='https://evil.example'>x</a> ![t](https://evil.example/pixel.png)")
HOSTILE_REAL = "St Paul's Catholic College"  # URN 125311 and its successor


@pytest.fixture(scope="session")
def hostile_db(tmp_path_factory, built_db) -> Path:
    """The bundled files, copied, with St Paul's Catholic College renamed to HOSTILE in every file
    that names it, built by the real build into a separate database (EQUITY_DB is not changed)."""
    import gzip
    import shutil

    from equity.ingest import build
    raw = tmp_path_factory.mktemp("hostile") / "raw"
    shutil.copytree(RAW, raw)
    changed = 0
    for f in raw.rglob("*.csv.gz"):
        with gzip.open(f, "rt", encoding="utf-8", errors="surrogateescape", newline="") as fh:
            text = fh.read()
        if HOSTILE_REAL in text:
            changed += 1
            with gzip.open(f, "wt", encoding="utf-8", errors="surrogateescape", newline="") as fh:
                fh.write(text.replace(HOSTILE_REAL, HOSTILE))
    assert changed >= 3, "the school is named in several bundled files"
    path = raw.parent / "equity.duckdb"
    build.build([raw], path)
    return path


@pytest.fixture
def hostile(hostile_db, monkeypatch) -> Path:
    """Point the app at the hostile build for one test."""
    monkeypatch.setenv("EQUITY_DB", str(hostile_db))
    return hostile_db
