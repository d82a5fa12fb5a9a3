"""Data brought in through the browser (equity/ingest/uploads.py, the Data page's "Load your own files").

On real files: Hertfordshire's 2024/25 KS4 and KS2 performance tables as DfE serves them (bundled in
data/raw/dfe_csp_herts_jshi12/2024-2025/), as CSV files and zipped; the malformed variants of
Surrey's 2018/19 file in tests/fixtures/messy. Uploads are checked and kept (caps, what a zip may
hold, a manifest), built in a separate process by the same build as the command line, one at a
time, and a failed build leaves the previous database serving. The last test does it all in a real
browser against the stack (two replicas behind nginx).
"""
from __future__ import annotations

import hashlib
import io
import os
import shutil
import stat
import time
import urllib.request
import zipfile
from pathlib import Path

import duckdb
import pytest

import fixtures
from equity.ingest import build, uploads

ROOT = Path(__file__).resolve().parent.parent
HERTS = ROOT / "data" / "raw" / "dfe_csp_herts_jshi12" / "2024-2025"
KS4, KS2 = HERTS / "919_ks4final.csv", HERTS / "919_ks2final.csv"
MESSY = ROOT / "tests" / "fixtures" / "messy"


def _zip(members: dict[str, bytes]) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
        for name, data in members.items():
            z.writestr(name, data)
    return buf.getvalue()


def _herts_zip() -> bytes:
    """The two files zipped in their year folder, as DfE's download holds them."""
    return _zip({f"2024-2025/{p.name}": p.read_bytes() for p in (KS4, KS2)})


@pytest.fixture()
def where(tmp_path, monkeypatch) -> Path:
    w = tmp_path / "uploads"
    monkeypatch.setenv("EQUITY_UPLOADS", str(w))
    return w


def _rows(db_path, sql, params=()):
    con = duckdb.connect(str(db_path), read_only=True)
    try:
        return con.execute(sql, list(params)).fetchall()
    finally:
        con.close()


def _wait(db_path, timeout=300) -> tuple[dict, list[float]]:
    """Poll the job until it ends; returns its last state and the progress fractions seen."""
    seen, end = [], time.monotonic() + timeout
    while True:
        job = uploads.status(db_path)
        if job["state"] != "running":
            return job, seen
        seen.append(job["fraction"])
        assert time.monotonic() < end, f"the build did not finish within {timeout} s: {job}"
        time.sleep(0.2)


# ---- checking and keeping an upload -------------------------------------------------------------

def test_a_zip_and_csv_files_are_kept_with_their_manifest_and_private_modes(where):
    zipped = _herts_zip()
    folder = uploads.save([("herts.zip", zipped), (KS4.name, KS4.read_bytes())], who="officer@herts.example")
    assert folder.parent == where and uploads.path_for(folder.name) == folder
    kept = sorted(str(p.relative_to(folder)) for p in folder.rglob("*") if p.is_file())
    assert kept == [".manifest.json", "919_ks4final.csv", "herts/2024-2025/919_ks2final.csv",
                    "herts/2024-2025/919_ks4final.csv"]
    for p in [folder, *folder.rglob("*")]:
        assert stat.S_IMODE(p.stat().st_mode) == (0o700 if p.is_dir() else 0o600), p
    manifest = uploads.kept()[0]
    assert manifest["id"] == folder.name and manifest["who"] == "officer@herts.example"
    assert manifest["when"].endswith("Z") and manifest["builds"] == []
    digests = {f["name"]: (f["sha256"], f["bytes"], f["from"]) for f in manifest["files"]}
    ks4 = (hashlib.sha256(KS4.read_bytes()).hexdigest(), KS4.stat().st_size)
    assert digests["919_ks4final.csv"] == (*ks4, None)
    assert digests["herts/2024-2025/919_ks4final.csv"] == (*ks4, "herts.zip")
    assert digests["herts/2024-2025/919_ks2final.csv"][0] == hashlib.sha256(KS2.read_bytes()).hexdigest()
    assert [u["name"] for u in manifest["uploaded"]] == ["herts.zip", "919_ks4final.csv"]
    assert manifest["uploaded"][0]["sha256"] == hashlib.sha256(zipped).hexdigest()
    assert "919_ks4final.csv" in uploads.describe(manifest)


@pytest.mark.parametrize("files, env, named, words", [
    ([("evil.zip", _zip({"2024-2025/919_ks4final.csv": b"x", "../../etc/cron.d/x.csv": b"x"}))], {},
     "evil.zip, member ../../etc/cron.d/x.csv", "outside the upload's folder"),
    ([("abs.zip", _zip({"/tmp/x.csv": b"x"}))], {}, "abs.zip, member /tmp/x.csv", "outside the upload's folder"),
    ([("nested.zip", _zip({"inner.zip": _zip({"a.csv": b"x"})}))], {}, "nested.zip, member inner.zip",
     "zip inside the zip"),
    ([("mixed.zip", _zip({"919_ks4final.csv": b"x", "notes.pdf": b"%PDF"}))], {}, "mixed.zip, member notes.pdf",
     "not a CSV file"),
    ([("results.xlsx", b"PK\x03\x04")], {}, "results.xlsx", "not a CSV or zip file"),
    ([("broken.zip", b"PK\x03\x04 not really a zip")], {}, "broken.zip", "not a zip file that can be read"),
    ([("../919_ks4final.csv", b"x")], {}, "../919_ks4final.csv", "outside the upload's folder"),
    ([("big.csv", KS2.read_bytes() * 4)], {"EQUITY_MAX_UPLOAD_MB": "1"}, "big.csv",
     "over the cap of 1.0 MB per file (EQUITY_MAX_UPLOAD_MB)"),
    ([(f"{c}.csv", KS2.read_bytes()) for c in "abcd"], {"EQUITY_MAX_UPLOAD_TOTAL_MB": "1"}, "d.csv",
     "over the cap of 1.0 MB for one upload"),
    ([("bomb.zip", _zip({f"{c}.csv": KS2.read_bytes() for c in "abcd"}))], {"EQUITY_MAX_INFLATED_MB": "1"},
     "bomb.zip, member d.csv", "past the cap of 1.0 MB (EQUITY_MAX_INFLATED_MB)"),
    ([("a.csv", b"x"), ("A.CSV", b"y")], {}, "A.CSV", "same name as another file"),
])
def test_refused_uploads_name_the_file_and_keep_nothing(where, monkeypatch, files, env, named, words):
    for k, v in env.items():
        monkeypatch.setenv(k, v)
    with pytest.raises(uploads.Refused) as err:
        uploads.save([(KS4.name, KS4.read_bytes())] + files)
    problems = dict(err.value.problems)
    assert named in problems and words in problems[named], err.value.problems
    assert KS4.name not in problems  # the good file is not blamed
    assert not where.exists() or list(where.iterdir()) == []  # nothing kept, not even a partial folder


def test_a_zip_member_that_unpacks_past_its_declared_size_is_refused(where, monkeypatch):
    """A zip bomb whose header lies about its size is stopped while unpacking, and nothing is kept."""
    data = bytearray(_zip({"919_ks2final.csv": KS2.read_bytes()}))
    real = KS2.stat().st_size.to_bytes(4, "little")
    small = (1000).to_bytes(4, "little")
    data = bytes(data).replace(real, small)  # the local header and the central directory say 1,000 bytes
    with pytest.raises(uploads.Refused) as err:
        uploads.save([("liar.zip", data)])
    why = dict(err.value.problems)["liar.zip, member 919_ks2final.csv"]
    assert "cannot be unpacked" in why or "unpacks to more than" in why
    assert list(where.iterdir()) == []


# ---- the build in the background ----------------------------------------------------------------

@pytest.fixture()
def base(tmp_path) -> Path:
    """A small database built by the real build from one real KS4 file (no Hertfordshire)."""
    path = tmp_path / "db" / "equity.duckdb"
    build.build([MESSY / "ks4_no_bom.csv"], path)
    return path


@pytest.mark.slow  # runs real builds in background processes
def test_the_upload_is_built_in_the_background_on_the_current_sources_and_can_be_repeated(where, base):
    assert uploads.current_sources(base) == [MESSY / "ks4_no_bom.csv"]  # recorded by the build
    assert _rows(base, "select count(*) from school_result where la_code = '919'") == [(0,)]
    folder = uploads.save([("herts.zip", _herts_zip())], who="admin@herts.example")
    job = uploads.start(folder, base, who="admin@herts.example")
    assert job["state"] == "running" and job["upload"] == folder.name
    with pytest.raises(uploads.Busy):  # one build at a time
        uploads.start(folder, base)
    job, seen = _wait(base)
    assert job["state"] == "built", job["message"]
    assert seen and seen == sorted(seen) and max(seen) > 0  # progress moved forward
    # the new database is swapped in: Hertfordshire's 2024/25 is there, dated by its content
    assert _rows(base, "select distinct academic_year from school_result where la_code = '919' "
                       "and kind = 'current'") == [("2024/25",)]
    assert uploads.current_sources(base) == [MESSY / "ks4_no_bom.csv", folder]
    # its report: what loaded, from the upload folder
    loaded = {f["file"].rsplit("/", 1)[-1]: (f["status"], f["year"]) for f in job["report"]["files"]}
    assert loaded == {"ks4_no_bom.csv": ("loaded", "2018/19"), "919_ks4final.csv": ("loaded", "2024/25"),
                      "919_ks2final.csv": ("loaded", "2024/25")}
    from equity.analysis.catalogue import attempt_checks, attempt_files
    assert list(attempt_files(job["report"]).file) == [f["file"] for f in job["report"]["files"]]
    assert set(attempt_checks(job["report"]).status) <= {"pass", "warning"}
    manifest = uploads.kept()[0]
    assert [b["state"] for b in manifest["builds"]] == ["built"] and manifest["builds"][0]["who"] == "admin@herts.example"
    assert "(last build: built)" in uploads.describe(manifest)
    # built again from the kept files: the same sources, the same data, a new database file
    before = base.stat().st_ino
    uploads.rebuild(folder.name, base)
    job, _ = _wait(base)
    assert job["state"] == "built" and base.stat().st_ino != before
    assert job["sources"] == manifest["builds"][0]["sources"]
    assert _rows(base, "select count(distinct urn) from school_result where la_code = '919'")[0][0] > 100
    with pytest.raises(KeyError):
        uploads.rebuild("../../etc", base)


@pytest.mark.slow  # runs real builds in background processes
def test_a_malformed_upload_fails_naming_file_row_column_and_the_previous_database_keeps_serving(where, base,
                                                                                                 monkeypatch):
    monkeypatch.setenv("EQUITY_DB", str(base))  # for the Data page below
    from equity import db
    before = db.query("lookups/school", {"urn": 139948}, path=base)
    ident = (base.stat().st_ino, base.stat().st_mtime_ns)
    folder = uploads.save([("ks4_bad_urn.csv", (MESSY / "ks4_bad_urn.csv").read_bytes())])
    uploads.start(folder, base)
    job, _ = _wait(base)
    assert job["state"] == "failed"
    assert "ks4_bad_urn.csv, row 5, column URN: " in job["message"] and "'12A456' is not a number" in job["message"]
    assert (base.stat().st_ino, base.stat().st_mtime_ns) == ident  # the previous database is untouched
    after = db.query("lookups/school", {"urn": 139948}, path=base)
    assert len(before) == len(after) == 1 and before.name[0] == after.name[0]
    from equity.analysis.catalogue import attempt_checks
    fails = attempt_checks(job["report"])
    assert fails.status[0] == "fail" and "row 5, column URN" in fails.message[0]
    assert uploads.kept()[0]["builds"][0]["state"] == "failed"
    assert uploads.current_sources(base) == [MESSY / "ks4_no_bom.csv"]  # the next upload starts from what serves
    # the Data page says so, with the located error, and offers the upload to build again
    at = _data_page(base)
    assert [e.value for e in at.error if e.value.startswith("The build started")] == [
        f"The build started {job['started']} failed: {_md(job['message'])}. The dashboard still shows the previous build."]
    assert [b.proto.label for b in at.button] == ["Load these files", "Build again from these files"]


def _md(text):
    from equity.safe_text import md
    return md(text)


def _data_page(db_path):
    """The Data page run by AppTest on ``db_path``."""
    from streamlit.testing.v1 import AppTest
    assert os.environ["EQUITY_DB"] == str(db_path)
    at = AppTest.from_file(str(ROOT / "dashboard.py"), default_timeout=120)
    at.run()
    at.switch_page("pages/data.py")
    at.run()
    assert not at.exception, [e.message for e in at.exception]
    return at


@pytest.mark.slow  # runs real builds in background processes
def test_the_command_line_build_waits_its_turn_too(tmp_path):
    """While a build holds the lock (the Data page's), ``python -m equity build`` on the same database is
    refused and writes nothing; once it is released, the command line builds."""
    import subprocess
    import sys
    db_path = tmp_path / "equity.duckdb"
    cmd = [sys.executable, "-m", "equity", "build", "--quiet", "--db", str(db_path), "--source", str(MESSY / "ks4_no_bom.csv")]
    with uploads.held(db_path):
        assert uploads.building(db_path)
        with pytest.raises(uploads.Busy):
            uploads.start(tmp_path, db_path)
        out = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=300)
        assert out.returncode == 2 and "a build is already running" in out.stderr
        assert not db_path.exists()
    assert not uploads.building(db_path)
    out = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr
    assert uploads.current_sources(db_path) == [MESSY / "ks4_no_bom.csv"]


@pytest.mark.slow  # runs real builds in background processes
def test_a_build_killed_half_way_is_reported_and_frees_the_lock(where, base):
    import signal
    folder = uploads.save([("herts.zip", _herts_zip())])
    ident = base.stat().st_ino
    uploads.start(folder, base)
    end = time.monotonic() + 120
    while not (uploads.status(base) or {}).get("pid"):
        assert time.monotonic() < end
        time.sleep(0.05)
    os.kill(uploads.status(base)["pid"], signal.SIGKILL)
    end = time.monotonic() + 30
    while uploads.building(base):
        assert time.monotonic() < end, "the lock outlived its build"
        time.sleep(0.05)
    job = uploads.status(base)
    assert job["state"] == "failed" and "stopped before it finished" in job["message"]
    assert base.stat().st_ino == ident


# ---- in a real browser, against the stack ---------------------------------------------------------

def _replica_cookies(stack) -> dict[str, str]:
    """One sticky-cookie value that nginx sends to each replica (its X-Equity-Replica header)."""
    found = {}
    for i in range(32):
        req = urllib.request.Request(f"{stack.url}/_stcore/health", headers={"Cookie": f"equity_replica=user-{i}"})
        with urllib.request.urlopen(req, timeout=60) as r:
            found.setdefault(r.headers["X-Equity-Replica"].split(",")[-1].strip(), f"user-{i}")
    return found


def test_an_admin_uploads_hertfordshire_2024_25_in_the_browser_and_every_replica_shows_it(tmp_path, monkeypatch,
                                                                                           chromium):
    """A database without Hertfordshire's 2024/25 files, served by two replicas behind nginx; the files
    uploaded on the Data page through the browser's file input; the build's progress and report on the
    page; then the overview for Hertfordshire shows 2024/25 on each replica, none restarted."""
    fixtures.require("nginx", what="the upload browser test")
    from bench.browser import exceptions_shown, wait_ready
    from equity.cli.serve import Stack
    artifacts = ROOT / "test-artifacts" / "upload"
    artifacts.mkdir(parents=True, exist_ok=True)
    raw = tmp_path / "raw"
    shutil.copytree(ROOT / "data" / "raw", raw, ignore=shutil.ignore_patterns("dfe_csp_herts_jshi12"))
    db_path = tmp_path / "db" / "equity.duckdb"
    build.build([raw], db_path)
    monkeypatch.setenv("EQUITY_UPLOADS", str(tmp_path / "uploads"))  # the replicas inherit it
    stack = Stack(replicas=2, db=db_path)
    stack.start()
    try:
        pids = [r.proc.pid for r in stack.members]
        cookies = _replica_cookies(stack)
        assert len(cookies) == 2
        overview = f"{stack.url}/?la=919&ks=4"
        latest = "Latest KS4 results held for Hertfordshire: 2024/25"
        with fixtures.new_page(chromium) as page:
            page.goto(overview)
            wait_ready(page)
            assert latest not in page.locator('[data-testid="stMain"]').inner_text()  # not there yet
            page.goto(f"{stack.url}/data")
            wait_ready(page)
            page.locator('[data-testid="stFileUploaderDropzoneInput"]').set_input_files([str(KS4), str(KS2)])
            page.get_by_text(KS2.name).first.wait_for()
            page.get_by_role("button", name="Load these files").click()
            page.locator('[data-testid="stProgress"]').first.wait_for(timeout=60_000)
            page.get_by_text("finished").first.wait_for(timeout=600_000)
            wait_ready(page)
            page.screenshot(path=str(artifacts / "data-after-upload.png"), full_page=True)
            main = page.locator('[data-testid="stMain"]').inner_text()
            assert not exceptions_shown(page), exceptions_shown(page)
            assert "failed" not in main.split("Load your own files", 1)[-1], main
            assert "Its report:" in main and page.locator('[data-testid="stDataFrame"]').count() > 0
            # the overview in a new tab, then a fresh visitor on each replica
            tab = page.context.new_page()
            tab.goto(overview)
            wait_ready(tab)
            assert latest in tab.locator('[data-testid="stMain"]').inner_text()
            tab.screenshot(path=str(artifacts / "overview-919.png"), full_page=True)
            for addr, cookie in cookies.items():
                other = chromium.new_context()
                other.add_cookies([{"name": "equity_replica", "value": cookie, "url": stack.url}])
                pg = other.new_page()
                pg.set_default_timeout(120_000)
                pg.goto(overview)
                wait_ready(pg)
                assert latest in pg.locator('[data-testid="stMain"]').inner_text(), addr
                other.close()
        assert [r.proc.pid for r in stack.members] == pids  # no replica restarted
    finally:
        stack.stop()
    assert uploads.kept(tmp_path / "uploads")[0]["builds"][-1]["state"] == "built"
