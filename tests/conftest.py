"""Shared fixtures: one database built from the real bundled files per test session."""
from __future__ import annotations

import os
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
RAW = ROOT / "data" / "raw"


@pytest.fixture(scope="session")
def built_db(tmp_path_factory) -> Path:
    """Build the bundled data once into a temporary file and point the app (EQUITY_DB) at it."""
    from equity import build
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

    from equity import build
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
