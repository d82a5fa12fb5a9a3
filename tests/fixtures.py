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
from pathlib import Path

RAW = Path(__file__).resolve().parent.parent / "data" / "raw"

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
