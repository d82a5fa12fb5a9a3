"""The small database of the fast test tier (Datasette's tests/fixtures.py is the model).

A few real bundled files, unchanged, built by the real build once per test session (the
``small_db`` fixture in tests/conftest.py): Hampshire's and Surrey's KS4 and KS2 performance
tables for three years and their GIAS extracts. Built in a few seconds where the whole bundle
takes half a minute, so a test whose assertions hold on these two LAs runs in the fast tier; a
test that needs more (England's school-level files, Hertfordshire 2024/25, neighbourhoods,
families across England) stays on ``built_db`` and is marked slow.
"""
from __future__ import annotations

import contextlib
import os
from pathlib import Path

RAW = Path(__file__).resolve().parent.parent / "data" / "raw"

SMALL_FILES = [
    "dfe_hants_surrey_clarelgibson",  # KS4 2016/17-2018/19 and KS2 2016/17-2018/19 of 850 and 936, GIAS
]


def small_sources() -> list[Path]:
    return [RAW / f for f in SMALL_FILES]


def build_small(path: Path) -> Path:
    """Build the small database at ``path`` with the real build; fails loudly if it does not build."""
    from equity import build
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
