"""Ingest safety (issue 14): impossible or misread numbers are caught, duplicate and conflicting files
are named, unreadable and hostile files are reported and skipped, memory stays bounded, temporary
folders are cleaned up. Hostile files are made in each test from a real DfE file (Surrey 2018/19 KS4,
tests/fixtures/messy/ks4_no_bom.csv)."""
from __future__ import annotations

import csv
import io
from pathlib import Path

import duckdb
import pytest

from equity.ingest.build import build

MESSY = Path(__file__).parent / "fixtures" / "messy"
KS4 = MESSY / "ks4_no_bom.csv"


def _rows(db, sql, params=()):
    con = duckdb.connect(str(db), read_only=True)
    try:
        return con.execute(sql, list(params)).fetchall()
    finally:
        con.close()


def _edited(path: Path, edits: dict[tuple[int, str], str]) -> Path:
    """A copy of the real KS4 file with some cells rewritten: {(data row, column): text}."""
    rows = list(csv.reader(io.StringIO(KS4.read_text(encoding="utf-8"))))
    head = rows[0]
    for (r, col), text in edits.items():
        rows[r][head.index(col)] = text
    out = io.StringIO()
    csv.writer(out, lineterminator="\n").writerows(rows)
    path.write_text(out.getvalue(), encoding="utf-8")
    return path


def _check(report, start):
    return next(c for c in report.checks if c.name.startswith(start))


# ---- plausibility checks ----------------------------------------------------------------------

def test_misread_and_impossible_numbers_are_reported_and_left_out(tmp_path):
    f = _edited(tmp_path / "ks4_hostile_numbers.csv", {
        (1, "ATT8SCR"): "1,234", (1, "PTL2BASICS_95"): "180", (1, "P8MEA"): "-0.37",
        (2, "ATT8SCR"): "4,5", (2, "PTFSM6CLA1A"): "250%", (2, "TOTPUPS"): "-5",
        (3, "ATT8SCR"): "1e3", (3, "ATT8SCR_FSM6CLA1A"): "-50", (3, "P8MEA"): "7.5",
        (4, "URN"): "-142315",
        (5, "PTL2BASICS_95"): "18.30%",
        (7, "ATT8SCR"): "95",  # the LA row: published figures are checked too
    })
    db, report = tmp_path / "t.duckdb", build([f], tmp_path / "t.duckdb")
    assert report.outcome == "built"  # the build carries on and reports every problem in one run

    def cell(urn, measure, group="all"):
        return _rows(db, "select value, status from school_result_all where urn = ? and measure = ? and "
                         "pupil_group = ? and kind = 'current'", [urn, measure, group])[0]
    assert cell(139948, "att8") == (None, "bad_number")
    assert cell(141200, "att8") == (None, "bad_number")
    assert cell(142490, "att8") == (None, "bad_number")
    assert cell(139948, "basics_95") == (None, "out_of_range")
    assert cell(142490, "att8", "disadvantaged") == (None, "out_of_range")
    assert cell(142490, "p8") == (None, "out_of_range")
    # normal DfE cells still load
    assert cell(139948, "p8") == (-0.37, "ok")
    assert cell(145217, "basics_95") == (18.3, "ok")
    assert _rows(db, "select pct_disadvantaged, pupils_on_roll from school_context_all where urn = 141200") == [(None, None)]
    assert _rows(db, "select value, status from published_result_all where area_code = '936' and measure = 'att8' "
                     "and pupil_group = 'all' and kind = 'current'") == [(None, "out_of_range")]
    # a negative URN: the row is left out, not loaded under URN -142315 or 142315
    assert _rows(db, "select count(*) from school_result_all where abs(urn) = 142315") == [(0,)]

    rejected = _rows(db, 'select row, "column", raw, problem from rejected_cell order by row, "column"')
    assert rejected == [
        (1, "ATT8SCR", "1,234", "bad_number"), (1, "PTL2BASICS_95", "180", "out_of_range"),
        (2, "ATT8SCR", "4,5", "bad_number"), (2, "PTFSM6CLA1A", "250%", "out_of_range"),
        (2, "TOTPUPS", "-5", "out_of_range"),
        (3, "ATT8SCR", "1e3", "bad_number"), (3, "ATT8SCR_FSM6CLA1A", "-50", "out_of_range"),
        (3, "P8MEA", "7.5", "out_of_range"),
        (4, "URN", "-142315", "bad_urn"),
        (7, "ATT8SCR", "95", "out_of_range")]
    sep = _check(report, "numbers with thousands separators")
    assert sep.status == "warning" and sep.count == 3
    assert "ks4_hostile_numbers.csv row 1 column ATT8SCR: '1,234'" in sep.message
    rng = _check(report, "values out of range")
    assert rng.status == "warning" and rng.count == 6
    assert "row 2 column PTFSM6CLA1A: '250%', expected a percentage: 0 to 100" in rng.message
    assert _check(report, "URNs not positive").count == 1
    listed = {(c["row"], c["column"], c["raw"]) for c in report.cells}
    assert (3, "P8MEA", "7.5") in listed and (7, "ATT8SCR", "95") in listed and len(report.cells) == 10


def test_ranges_follow_the_measure():
    from equity.ingest import plausibility as p
    assert (p.for_measure("att8").lo, p.for_measure("att8").hi) == (0, 90)
    assert (p.for_measure("p8").lo, p.for_measure("p8").hi) == (-5, 5)
    assert p.for_measure("basics_95") is p.PERCENT and p.for_measure("rwm_exp") is p.PERCENT
    # KS2 progress scores and scaled scores are not percentages
    assert p.for_measure("read_prog").hi == 50 and p.for_measure("read_prog").lo == -50
    assert p.for_field("prior_attainment").hi is None  # KS2 scaled scores of 100-120 are plausible
    assert p.for_measure("rwm_exp_vs_national_other").lo == -100
    assert p.for_measure("att8", "cohort") is p.COUNT


def test_bundled_data_passes_the_plausibility_checks(built_db):
    # the bundled files hold no misread number; one impossible value is real and reported, not hidden:
    # the January 2025 census gives a school 104.17% of pupils with an EHC plan (PSENELSE)
    got = dict(_rows(built_db, "select name, count from ingest_check where name in ("
                               "'numbers with thousands separators, decimal commas or exponents', "
                               "'values out of range', 'URNs not positive')"))
    assert got == {"numbers with thousands separators, decimal commas or exponents": 0,
                   "values out of range": 1, "URNs not positive": 0}
    rejected = _rows(built_db, "select file, row, \"column\", raw from rejected_cell")
    assert len(rejected) == 1
    file, row, col, raw = rejected[0]
    assert file.endswith("dfe_csp_2024_25_calvinchankf/england_census.csv.gz") and col == "PSENELSE"
    assert raw == "104.17%" and row > 0


# ---- hostile files: bounded resources -----------------------------------------------------------

def _skipped(report, check):
    return [c for c in report.checks if c.name == check]


@pytest.mark.slow  # 1.3 s: builds (quiet run, 2 cores)
def test_gzip_bomb_is_named_and_skipped_and_the_rest_loads(tmp_path, monkeypatch):
    import gzip
    monkeypatch.setenv("EQUITY_MAX_INFLATED_MB", "16")
    src = tmp_path / "src"
    src.mkdir()
    (src / "ks4.csv").write_bytes(KS4.read_bytes())
    zeros = b"\0" * (1 << 20)
    with gzip.open(src / "bomb_zeros.csv.gz", "wb") as fh:  # 64 MB of zero bytes, ~64 KB on disk
        for _ in range(64):
            fh.write(zeros)
    lines = b"1,2\n" * (1 << 18)
    with gzip.open(src / "bomb_rows.csv.gz", "wb") as fh:  # a CSV header, then 64 MB of tiny rows
        fh.write(b"URN,NOR\n")
        for _ in range(64):
            fh.write(lines)
    assert (src / "bomb_zeros.csv.gz").stat().st_size < 1 << 20
    report = build([src], tmp_path / "t.duckdb")
    assert report.outcome == "built"
    named = {c.file.split("/")[-1]: c.message for c in _skipped(report, "files over the size cap")}
    assert set(named) == {"bomb_zeros.csv.gz", "bomb_rows.csv.gz"}
    assert "inflates to more than 16 MB" in named["bomb_zeros.csv.gz"]
    assert _rows(tmp_path / "t.duckdb", "select count(distinct urn) from school_result") == [(6,)]


def test_header_over_the_column_cap_is_skipped_before_duckdb(tmp_path):
    f = tmp_path / "wide.csv"
    f.write_text(",".join(f"C{i}" for i in range(100_000)) + "\n" + ",".join("1" * 100_000) + "\n")
    report = build([f, KS4], tmp_path / "t.duckdb")
    assert report.outcome == "built"
    (c,) = _skipped(report, "files over the column cap")
    assert c.file.endswith("wide.csv") and "100,000 columns" in c.message and "2,000" in c.message
    assert report.seconds < 60  # it never reached DuckDB (which ran out of memory after 32 s)


def test_ten_million_character_field_is_named_with_row_column_and_a_short_excerpt(tmp_path):
    f = _edited(tmp_path / "ks4_long_field.csv", {(3, "SCHNAME"): "Long name " + "A" * 10_000_000})
    report = build([f, KS4], tmp_path / "t.duckdb")
    assert report.outcome == "built"
    (c,) = _skipped(report, "long lines and fields")
    assert c.file.endswith("ks4_long_field.csv")
    assert c.message.startswith("row 3, column SCHNAME:")
    assert "'Long name AAAA" in c.message and "A" * 81 not in c.message and len(c.message) < 400
    assert _rows(tmp_path / "t.duckdb", "select count(distinct urn) from school_result") == [(6,)]


# ---- identical, conflicting, unreadable and UTF-16 files -----------------------------------------

def test_identical_files_load_once_whatever_their_names(tmp_path):
    import gzip
    src = tmp_path / "src"
    (src / "2019").mkdir(parents=True)
    (src / "2020").mkdir()
    (src / "2019" / "ks4final.csv").write_bytes(KS4.read_bytes())
    (src / "2020" / "ks4final.csv").write_bytes(KS4.read_bytes())
    (src / "2020" / "copy.csv.gz").write_bytes(gzip.compress(KS4.read_bytes()))  # same content, compressed
    report = build([src], tmp_path / "t.duckdb")
    assert report.outcome == "built"
    same = _skipped(report, "identical files")
    assert sorted(c.file.split("src/")[-1] for c in same) == ["2020/copy.csv.gz", "2020/ks4final.csv"]
    assert all("2019/ks4final.csv" in c.message for c in same)
    assert _rows(tmp_path / "t.duckdb", "select count(*) from source_file") == [(1,)]
    assert _rows(tmp_path / "t.duckdb", "select count(*) from school_result_all where urn = 139948 "
                                        "and measure = 'att8' and pupil_group = 'all' and kind = 'current'") == [(1,)]


def test_utf16_file_with_a_bom_is_decoded(tmp_path):
    f = tmp_path / "ks4_utf16.csv"
    f.write_bytes(KS4.read_text(encoding="utf-8").encode("utf-16"))
    report = build([f], tmp_path / "t.duckdb")
    assert report.outcome == "built"
    assert any(c.name == "encoding" and "UTF-16" in c.message and c.file.endswith("ks4_utf16.csv")
               for c in report.checks)
    assert _rows(tmp_path / "t.duckdb", "select count(distinct urn) from school_result") == [(6,)]


def test_utf16_without_a_bom_is_refused_by_name(tmp_path):
    f = tmp_path / "ks4_utf16le.csv"
    f.write_bytes(KS4.read_text(encoding="utf-8").encode("utf-16-le"))
    report = build([f, MESSY / "ks4_cp1252.csv"], tmp_path / "t.duckdb")
    assert report.outcome == "built"
    assert any(c.name == "encoding" and "UTF-16" in c.message and "byte-order mark" in c.message
               and c.file.endswith("ks4_utf16le.csv") for c in report.checks)


def test_unreadable_files_and_folders_are_reported(tmp_path, monkeypatch):
    import os
    from equity.ingest import sniff
    src = tmp_path / "src"
    (src / "locked").mkdir(parents=True)
    (src / "locked" / "ks4.csv").write_bytes(KS4.read_bytes())
    (src / "a_ks4.csv").write_bytes(KS4.read_bytes())
    (src / "denied.csv").write_text("URN,NOR\n1,2\n")
    (src / "gone.csv").symlink_to(tmp_path / "nowhere.csv")
    real_scandir, real_open = os.scandir, sniff.open_stream

    def scandir(path="."):  # tests run as root: simulate a folder we may not list
        if str(path).endswith("locked"):
            raise PermissionError(13, "Permission denied", str(path))
        return real_scandir(path)

    def open_stream(path):
        if path.name == "denied.csv":
            raise PermissionError(13, "Permission denied", str(path))
        return real_open(path)
    monkeypatch.setattr(os, "scandir", scandir)
    monkeypatch.setattr(sniff, "open_stream", open_stream)
    report = build([src], tmp_path / "t.duckdb")
    assert report.outcome == "built"
    named = {c.file.split("src/")[-1]: c.message for c in _skipped(report, "unreadable files and folders")}
    assert set(named) == {"locked", "denied.csv", "gone.csv"}
    assert "Permission denied" in named["locked"] and "Permission denied" in named["denied.csv"]
    assert "nowhere.csv" in named["gone.csv"]
    assert {f["file"].split("src/")[-1] for f in report.files if f["status"] == "skipped"} >= set(named)


def test_two_different_files_for_the_same_la_year_and_version_are_named_as_a_conflict(tmp_path):
    # a second copy of Surrey's 2018/19 file with one figure changed (DfE's files carry no LA in their names)
    first = tmp_path / "a_936_ks4final.csv"
    first.write_bytes(KS4.read_bytes())
    other = _edited(tmp_path / "z_936_ks4final_amended.csv", {(1, "ATT8SCR"): "47.5"})
    report = build([first, other], tmp_path / "t.duckdb")
    assert report.outcome == "built"
    (c,) = [c for c in report.checks if c.name == "conflicting files"]
    assert c.status == "warning" and c.count == 1
    assert "a_936_ks4final.csv" in c.message and "z_936_ks4final_amended.csv" in c.message
    assert "URN 139948 att8 (all) 2018/19: 46.0 vs 47.5" in c.message
    assert "The build uses" in c.message and c.file.endswith("z_936_ks4final_amended.csv")
    # the documented precedence is what the app reads
    assert _rows(tmp_path / "t.duckdb", "select value from school_result where urn = 139948 and measure = 'att8' "
                                        "and pupil_group = 'all' and kind = 'current'") == [(47.5,)]


# ---- temporary folders ------------------------------------------------------------------------

def test_a_killed_build_leaves_nothing_behind_after_the_next_build(tmp_path, monkeypatch):
    import os
    import signal
    import subprocess
    import sys
    import tempfile
    import time
    root = Path(__file__).resolve().parent.parent
    tmpdir = tmp_path / "tmp"
    tmpdir.mkdir()
    db = tmp_path / "t.duckdb"
    proc = subprocess.Popen([sys.executable, "-c", f"from equity.ingest.build import build; build(None, {str(db)!r})"],
                            cwd=root, env={**os.environ, "TMPDIR": str(tmpdir)})
    try:
        deadline = time.time() + 180
        while time.time() < deadline and not (list(tmpdir.glob("equity-build-*")) and
                                              list(tmp_path.glob(".t.duckdb.building-*"))):
            time.sleep(0.2)
        time.sleep(2)  # mid-way through reading the bundled files
        assert proc.poll() is None, "the build finished before it could be killed"
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait()
    left = [p.name for p in tmpdir.iterdir()]
    assert len(left) == 1 and left[0].startswith(f"equity-build-{proc.pid}-")  # the killed build's work folder
    assert list(tmp_path.glob(".t.duckdb.building-*"))
    monkeypatch.setattr(tempfile, "tempdir", str(tmpdir))
    report = build([KS4], db)
    assert report.outcome == "built"
    assert list(tmpdir.iterdir()) == []  # its own work folder removed on exit, the killed one at the start
    assert [p.name for p in tmp_path.iterdir() if ".building-" in p.name] == []


def test_a_long_field_under_the_line_cap_is_left_out_and_named(tmp_path):
    f = _edited(tmp_path / "ks4_long_name.csv", {(2, "SCHNAME"): "B" * 100_000})
    report = build([f], tmp_path / "t.duckdb")
    assert report.outcome == "built"
    (c,) = [c for c in report.checks if c.name == "long lines and fields"]
    assert c.message.startswith("row 2, column SCHNAME: a field of 100,000 characters")
    assert "'" + "B" * 80 + "'" in c.message and "B" * 81 not in c.message
    assert _rows(tmp_path / "t.duckdb", "select name from school_context_all where urn = 141200") == [(None,)]
    assert _rows(tmp_path / "t.duckdb", "select count(distinct urn) from school_result") == [(6,)]


@pytest.mark.slow  # 3.5 s: a build measured in a subprocess (quiet run, 2 cores)
def test_peak_memory_of_a_build_with_hostile_files_stays_bounded(tmp_path):
    """A 2 MB gzip that inflates to 2 GB (the red-team's took the build to 3.4 GB), a 100,000-column
    header and a 10-million-character field, built in a fresh process: its peak memory stays low."""
    import gzip
    import json
    import subprocess
    import sys
    src = tmp_path / "src"
    src.mkdir()
    member = gzip.compress(b"\0" * (16 << 20))  # 16 MB of zeros in ~16 KB; 128 members inflate to 2 GB
    with open(src / "bomb.csv.gz", "wb") as fh:
        for _ in range(128):
            fh.write(member)
    (src / "wide.csv").write_text(",".join(f"C{i}" for i in range(100_000)) + "\n" + ",".join("1" * 100_000) + "\n")
    _edited(src / "ks4_long_field.csv", {(3, "SCHNAME"): "A" * 10_000_000})
    (src / "ks4.csv").write_bytes(KS4.read_bytes())
    # peak resident memory of the build process itself: VmHWM of its own address space (ru_maxrss would
    # carry over the forking test process's size across exec, about 1.6 GB late in a full test run)
    code = ("import json, sys; from equity.ingest.build import build; r = build([sys.argv[1]], sys.argv[2]); "
            "hwm = [l for l in open('/proc/self/status') if l.startswith('VmHWM:')][0].split()[1]; "
            "print(json.dumps({'outcome': r.outcome, 'checks': sorted({c.name for c in r.checks if c.status == 'warning'}), "
            "'peak_mb': int(hwm) / 1024}))")
    out = subprocess.run([sys.executable, "-c", code, str(src), str(tmp_path / "t.duckdb")], capture_output=True,
                         text=True, cwd=Path(__file__).resolve().parent.parent, timeout=600)
    got = json.loads(out.stdout.strip().splitlines()[-1])
    assert got["outcome"] == "built"
    assert {"files over the size cap", "files over the column cap", "long lines and fields"} <= set(got["checks"])
    assert got["peak_mb"] < 1536, got
