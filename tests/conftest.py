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
