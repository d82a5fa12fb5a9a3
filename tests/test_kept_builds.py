""""Since last meeting" compares with a build the server kept, chosen from a list (issue 14, item 10).

A rebuild keeps the database it replaces in a folder beside it; meeting mode offers those by name
only (no typed path, no server path in any message), and a pack compares with the chosen one.
"""
from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from equity.ingest import build
from equity import kept_builds

ROOT = Path(__file__).resolve().parent.parent
SMALL = ROOT / "data" / "raw" / "dfe_fsm_ees_anetobradley"  # one small real source: a build in seconds


def test_a_rebuild_keeps_the_build_it_replaces(tmp_path):
    path = tmp_path / "equity.duckdb"
    build.build([SMALL], path)
    assert kept_builds.listing(path) == [], "nothing replaced by a first build"
    first = path.stat().st_ino
    build.build([SMALL], path)
    kept = kept_builds.listing(path)
    assert len(kept) == 1 and kept[0]["path"].parent == tmp_path / "builds"
    assert kept[0]["path"].stat().st_ino == first, "the replaced file itself, kept by a hard link"
    assert kept[0]["label"].startswith("Build of ")
    assert kept_builds.path_for(kept[0]["name"], path) == kept[0]["path"]


def test_only_listed_names_resolve_and_the_newest_are_kept(tmp_path):
    path = tmp_path / "equity.duckdb"
    path.write_bytes(b"not a database")
    for i in range(kept_builds.KEEP + 3):
        os.utime(path, (1_700_000_000 + 60 * i, 1_700_000_000 + 60 * i))
        assert kept_builds.keep_previous(path) is not None
    kept = kept_builds.listing(path)
    assert len(kept) == kept_builds.KEEP
    stamps = [k["name"] for k in kept]
    assert stamps == sorted(stamps, reverse=True), "newest first"
    for bad in ("../equity.duckdb", str(path), "/etc/passwd", kept[0]["name"] + "/..", ""):
        assert kept_builds.path_for(bad, path) is None


@pytest.mark.slow  # 1.6 s: builds and runs the page (quiet run, 2 cores)
def test_meeting_page_offers_kept_builds_from_a_list(small_db, tmp_path, monkeypatch):
    live = tmp_path / "live.duckdb"
    shutil.copyfile(small_db, live)
    monkeypatch.setenv("EQUITY_DB", str(live))
    monkeypatch.setenv("EQUITY_USER_DB", str(tmp_path / "partnerships.sqlite"))
    at = AppTest.from_file(str(ROOT / "pages" / "meeting.py"), default_timeout=240)
    for k, v in {"pack": "la", "la": "936", "since": "two database builds"}.items():
        at.query_params[k] = v
    at.run()
    assert not at.exception, [e.message for e in at.exception]
    assert not [t for t in at.text_input if t.key == "since_db"], "no typed path"
    assert "No earlier build is kept yet" in " ".join(i.value for i in at.sidebar.info)

    kept = kept_builds.keep_previous(live)  # what the next rebuild does with the build it replaces
    at = AppTest.from_file(str(ROOT / "pages" / "meeting.py"), default_timeout=240)
    for k, v in {"pack": "la", "la": "936", "since": "two database builds", "since_build": "../../etc/passwd"}.items():
        at.query_params[k] = v
    at.run()
    assert not at.exception, [e.message for e in at.exception]
    assert "There is no kept build ../../etc/passwd" in " ".join(w.value for w in at.warning).replace("\\", "")
    box = at.selectbox(key="since_build")
    assert box.options == [kept_builds.listing(live)[0]["label"]] and box.value == kept.name
    words = " ".join(e.value for kind in ("header", "markdown", "caption", "warning", "info")
                     for e in getattr(at, kind))
    assert str(tmp_path) not in words, "no server path on the page"
