"""Build the analytics database from source files: ``python -m equity build``.

The build reads every file under the source folders, recognises each by its columns (never by
its name), loads it into staging tables, derives the tables the app reads, writes an ingest
report, and only then swaps the new database file in with an atomic rename. A failed or killed
build leaves the previous database serving; the app's read-only connection notices the new file
on its next query.
"""
from __future__ import annotations

import datetime as dt
import json
import os
import re
import shutil
import tempfile
import time
from pathlib import Path
from typing import Callable

from equity import db
from equity.ingest.checks import run_checks
from equity.ingest.errors import IngestError, rel
from equity.ingest.context import Context
from equity.kept_builds import keep_previous
from equity.report import Report, report_path
from equity.ingest.sniff import CHECK_UNREADABLE
from equity.ingest.loaders import LOADERS, load_file

DEFAULT_SOURCES = [db.ROOT / "data" / "raw"]
# The derivation steps, in order (each an SQL file under equity/sql/build/): a new mart is added here.
MART_STEPS = ["build/marts_results", "build/marts_context", "build/marts_la_indicator", "build/marts_location",
              "build/marts_lsoa21", "build/marts_ofsted_a_tables", "build/marts_ofsted_b_judgements",
              "build/marts_summary"]


def discover(sources: list[Path], problems: list | None = None) -> list[Path]:
    """Every file under the source folders, in path order (hidden files left out).

    A folder that cannot be listed and a link that leads nowhere are added to ``problems`` as
    (path, message), for the report: nothing is dropped silently.
    """
    files = []
    problems = problems if problems is not None else []
    for src in sources:
        src = Path(src)
        if src.is_file():
            files.append(src)
        elif src.is_dir():
            found = []
            for top, dirs, names in os.walk(src, onerror=lambda e: problems.append(
                    (Path(e.filename or src), f"folder cannot be read ({e.strerror or e}): its files were not loaded"))):
                dirs.sort()
                for n in names:
                    p = Path(top) / n
                    if n.startswith("."):
                        continue
                    if p.is_file():
                        found.append(p)
                    elif p.is_symlink():
                        problems.append((p, f"a link to {os.readlink(p)}, which cannot be read: skipped"))
            files += sorted(found)
        elif src.is_symlink():
            problems.append((src, f"a link to {os.readlink(src)}, which cannot be read: skipped"))
        else:
            raise FileNotFoundError(f"source folder not found: {src}")
    return files


def build(sources: list[Path] | None = None, db_path: Path | None = None,
          progress: Callable[[float, str], None] | None = None, year: int | None = None) -> Report:
    """Build a new database from ``sources`` and swap it in at ``db_path``.

    Returns the report. On failure the report's outcome is ``failed``, the previous database (if
    any) is untouched, and IngestError is re-raised after the report is saved. ``year`` (a start year)
    dates performance tables that nothing else dates (see PerformanceTables.derive_year).
    """
    sources = [Path(s) for s in (sources or DEFAULT_SOURCES)]
    db_path = Path(db_path) if db_path else db.default_path()
    db_path.parent.mkdir(parents=True, exist_ok=True)
    report = Report(started=dt.datetime.now().isoformat(timespec="seconds"),
                    sources=[rel(Path(s).resolve()) for s in sources])
    t0 = time.perf_counter()
    _remove_abandoned_builds(db_path)
    tmp = db_path.with_name(f".{db_path.name}.building-{os.getpid()}")
    workdir = _new_workdir()
    say = progress or (lambda f, t: None)
    writer = None
    try:
        problems: list = []
        files = discover(sources, problems)
        writer = db.Writer(tmp)
        writer.run("build/schema")
        ctx = Context(writer, report, workdir, registry=_registry(), year=year)
        for path, message in problems:
            ctx.skip(path, CHECK_UNREADABLE, message)
        for i, path in enumerate(files):
            say(i / max(len(files), 1) * 0.85, f"Reading {path.name}")
            load_file(ctx, path, LOADERS)
        say(0.88, "Deriving tables")
        for step in MART_STEPS:
            writer.run(step)
        run_checks(ctx)
        if report.failed:
            raise IngestError("(build)", None, None, "a check failed: see the report")
        _drop_staging(writer)
        report.outcome = "built"
        report.seconds = time.perf_counter() - t0
        report.finished = dt.datetime.now().isoformat(timespec="seconds")
        _save_checks(writer, report)
        writer.close()
        writer = None
        keep_previous(db_path)  # for "since last meeting": the build being replaced stays listed
        os.replace(tmp, db_path)  # atomic on one filesystem: readers see the old file or the new one
        say(1.0, "Done")
        report.save(report_path(db_path))
        return report
    except BaseException as exc:
        report.outcome = "failed"
        report.seconds = time.perf_counter() - t0
        report.finished = dt.datetime.now().isoformat(timespec="seconds")
        if isinstance(exc, IngestError):
            report.fail("file loads", str(exc), file=exc.file)
        elif not isinstance(exc, KeyboardInterrupt):
            report.fail("build", f"{type(exc).__name__}: {exc}")
        report.save(report_path(db_path))
        raise
    finally:
        if writer is not None:
            try:
                writer.con.close()
            except db.Error:
                pass  # the error that stopped the build is the one reported
        for p in (tmp, Path(str(tmp) + ".wal")):
            if p.exists():
                p.unlink()
        shutil.rmtree(Path(str(tmp) + ".tmp"), ignore_errors=True)  # DuckDB's spill folder
        shutil.rmtree(workdir, ignore_errors=True)


def _drop_staging(writer: db.Writer) -> None:
    """Working tables of the loaders (column maps, stg_*) are not part of the database the app reads."""
    names = writer.fetch("build/staging_tables")
    for name in names.table_name:
        writer.drop(db.quote_ident(name))


def _remove_abandoned_builds(db_path: Path) -> None:
    """Delete half-written files left by a build that was killed (its process is gone)."""
    for p in db_path.parent.glob(f".{db_path.name}.building-*"):
        m = re.match(r".*\.building-(\d+)", p.name)
        if m and not _alive(int(m.group(1))):
            if p.is_dir() and not p.is_symlink():
                shutil.rmtree(p, ignore_errors=True)  # DuckDB's spill folder (.building-PID.tmp)
            else:
                p.unlink(missing_ok=True)


WORK_PREFIX = "equity-build-"


def _new_workdir() -> Path:
    """The build's work folder (UTF-8 copies of source files), named after the build's process.

    Removed when the build ends, whatever the outcome; one left behind by a killed build (its
    process gone) is removed when the next build starts.
    """
    base = Path(tempfile.gettempdir())
    for p in base.glob(WORK_PREFIX + "*"):
        pid = p.name[len(WORK_PREFIX):].split("-", 1)[0]
        if pid.isdigit() and "-" in p.name[len(WORK_PREFIX):]:
            stale = not _alive(int(pid))
        else:  # named by an older version of the build (no process id): stale after an hour
            try:
                stale = time.time() - p.stat().st_mtime > 3600
            except OSError:
                stale = False
        if stale and p.is_dir() and not p.is_symlink():
            shutil.rmtree(p, ignore_errors=True)
    return Path(tempfile.mkdtemp(prefix=f"{WORK_PREFIX}{os.getpid()}-", dir=base))


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _save_checks(writer: db.Writer, report: Report) -> None:
    import pandas as pd
    checks = pd.DataFrame([c.__dict__ for c in report.checks],
                          columns=["name", "status", "count", "message", "file"])
    writer.table_from_df("ingest_check", checks)
    # the folders and files it read, so a rebuild from the browser starts from the same ones (equity.ingest.uploads)
    writer.run("build/build_info", [report.started, report.seconds, report.outcome, json.dumps(report.sources)])


def _registry() -> dict:
    """Facts about bundled files that their content does not carry (publisher, year of a census)."""
    import csv
    path = db.ROOT / "data" / "sources.csv"
    out = {}
    if path.exists():
        with path.open(encoding="utf-8") as fh:
            rows = list(csv.DictReader(fh))
        names = [r["file"] for r in rows]
        for row in rows:
            out[row["path"]] = row
            if names.count(row["file"]) == 1:  # a name two bundled files share is looked up by path only
                out[row["file"]] = row
    return out
