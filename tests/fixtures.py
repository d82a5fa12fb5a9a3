"""The small database of the fast test tier (Datasette's tests/fixtures.py is the model).

A few real bundled files, unchanged, built by the real build once per test session (the
``small_db`` fixture in tests/conftest.py): Hampshire's and Surrey's performance tables and GIAS
extracts, Hertfordshire's 2024/25 tables (the newest year, so pages open where they do on the
bundle), the Ofsted sample and inspection history, and the small LA-level tables (SMC, LG Inform,
free school meals). No England-wide school files, census, IoD or boundaries: a test that needs
them (families across England, neighbourhoods, every bundled file) stays on ``built_db`` and is
marked slow.
"""
from __future__ import annotations

import contextlib
import os
import shutil
from pathlib import Path

import pytest

RAW = Path(__file__).resolve().parent.parent / "data" / "raw"

# In CI (CI=true) a missing tool is a failure: .ci/run installs every one. Elsewhere the test skips, saying why.
IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")


def _has_module(name: str) -> bool:
    import importlib.util
    return importlib.util.find_spec(name) is not None


def _has_chromium() -> bool:
    from bench.browser import chromium_path
    return chromium_path() is not None


# What a tool is called in a skip or failure message, and how to tell it is there.
TOOLS = {
    "playwright": ("the playwright Python package (requirements-test.txt)", lambda: _has_module("playwright")),
    "chromium": ("Debian's chromium (/usr/bin/chromium; `apt-get install chromium`)", _has_chromium),
    "nginx": ("nginx (`apt-get install nginx`)", lambda: shutil.which("nginx") is not None),
    "oidc-provider-mock": ("oidc-provider-mock (requirements-test.txt)", lambda: _has_module("oidc_provider_mock")),
}


def require(*tools: str, what: str = "this test") -> None:
    """Skip (or, in CI, fail) naming every one of ``tools`` that this machine lacks."""
    missing = [TOOLS[t][0] for t in tools if not TOOLS[t][1]()]
    if missing:
        msg = f"{what} needs " + " and ".join(missing)
        if IN_CI:
            pytest.fail(msg + " (CI=true: .ci/run installs them, so this is an error)")
        pytest.skip(msg)


@contextlib.contextmanager
def new_page(browser, timeout_ms: int = 120_000):
    """A page in a new browser context (no cookies shared with any other page), closed afterwards."""
    ctx = browser.new_context(viewport={"width": 1400, "height": 1000})
    try:
        page = ctx.new_page()
        page.set_default_timeout(timeout_ms)
        yield page
    finally:
        ctx.close()

SMALL_FILES = [
    "dfe_hants_surrey_clarelgibson",  # KS4 and KS2 2016/17-2018/19 of Hampshire (850) and Surrey (936), GIAS
    "dfe_csp_herts_jshi12",  # Hertfordshire (919) KS4 and KS2 2024/25, with 2022/23 and 2023/24 history
    "ofsted_mi_2026_hemaleed/ofsted_mi_sample.csv",  # report cards and latest inspections (209 schools)
    "dfe_ofsted_waiky8_schools_data/ofsted_ratings_2018.csv.gz",  # inspection history to 2020
    "la_indicators_trafford_cssn",  # LG Inform LA figures and Trafford's statistical neighbours
    "smc_state_of_nation_la_disadvantage",  # Social Mobility Commission LA and England series
    "dfe_fsm_ees_anetobradley",  # free school meals by LA
]


def small_sources() -> list[Path]:
    return [RAW / f for f in SMALL_FILES]


def build_small(path: Path) -> Path:
    """Build the small database at ``path`` with the real build; fails loudly if it does not build."""
    from equity.ingest import build
    report = build.build(small_sources(), path)
    assert report.outcome == "built", report.outcome
    return path


@contextlib.contextmanager
def pointed_at(path: Path):
    """EQUITY_DB set to ``path`` for the block (for module-scoped fixtures that read the default
    database before the per-test setting applies)."""
    old = os.environ.get("EQUITY_DB")
    os.environ["EQUITY_DB"] = str(path)
    try:
        yield path
    finally:
        if old is None:
            del os.environ["EQUITY_DB"]
        else:
            os.environ["EQUITY_DB"] = old
