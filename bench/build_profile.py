"""Time the database build of a folder, step by step, in this process (run as a child by bench/run.py).

    python bench/build_profile.py SOURCE_DIR DB_PATH [--json OUT.json] [--cprofile OUT.prof]

Wraps (without changing them) the build's entry points to attribute wall time to: sniffing each
file, DuckDB's CSV read into staging, every other SQL statement (grouped by its SQL file),
each derivation step (``build/marts_*``), the checks and the final checkpoint. Prints one JSON
object: total seconds, peak resident memory (``ru_maxrss``) and the breakdown.

Also usable for the raw-read reference: ``--raw`` reads every CSV the build would read with
DuckDB's own ``read_csv`` and the build's options (all_varchar, null_padding, ...) into tables of
a fresh database file, and nothing else.
"""
from __future__ import annotations

import argparse
import collections
import json
import resource
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
# the script's own folder first on sys.path would shadow the app's modules (e.g. pages/)
sys.path[:] = [str(ROOT)] + [p for p in sys.path if Path(p or ".").resolve() != Path(__file__).resolve().parent]

from equity import db  # noqa: E402

READ_OPTIONS = ("all_varchar=true, header=true, delim=',', quote='\"', escape='\"', null_padding=true, "
                "strict_mode=false, sample_size=-1")


def peak_rss_mb() -> float:
    """Peak resident memory of this process so far, MB: VmHWM from /proc (ru_maxrss where there is none)."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux reports KB


def cpu_seconds() -> float:
    """CPU seconds (user + system) of this process so far, every thread of DuckDB included."""
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


def csv_files(source: Path) -> list[Path]:
    """The CSV files under ``source`` that the build reads (the README and non-CSV files are skipped)."""
    return sorted(p for p in source.rglob("*") if p.is_file() and p.name.lower().endswith((".csv", ".csv.gz")))


def raw_read(source: Path, db_path: Path) -> dict:
    """DuckDB's own read_csv of every CSV (same options as the build) into a fresh database file.

    A file that is not UTF-8 (DuckDB's latin-1 decoder refuses cp1252's curly quotes) is read from
    a UTF-8 copy made before the clock starts: the build's own cp1252 decoding is part of its time,
    on purpose, and not of this reference.
    """
    import tempfile
    tmp = Path(tempfile.mkdtemp(prefix="bench-raw-"))
    files = []
    for p in csv_files(source):
        data = p.read_bytes()
        try:
            data.decode("utf-8")
            files.append((p, p, "utf-8"))
        except UnicodeDecodeError:
            copy = tmp / p.name
            copy.write_text(data.decode("cp1252"), encoding="utf-8")
            files.append((p, copy, "cp1252 (read from a UTF-8 copy)"))
    t0, c0 = time.perf_counter(), cpu_seconds()
    w = db.Writer(db_path)
    w.con.execute("set enable_progress_bar = false")
    per_file, rows = [], 0
    for i, (p, readable, enc) in enumerate(files):
        t = time.perf_counter()
        w.con.execute(f"create table t{i} as select * from read_csv(?, {READ_OPTIONS})", [str(readable)])
        n = w.con.execute(f"select count(*) from t{i}").fetchone()[0]
        rows += n
        per_file.append({"file": p.name, "seconds": round(time.perf_counter() - t, 3), "rows": n, "encoding": enc})
    w.close()
    total = time.perf_counter() - t0
    size = db_path.stat().st_size
    db_path.unlink()
    import shutil
    shutil.rmtree(tmp, ignore_errors=True)
    return {"seconds": round(total, 2), "cpu_s": round(cpu_seconds() - c0, 2), "rows": rows, "files": len(per_file),
            "db_mb": round(size / 2**20, 1),
            "peak_rss_mb": round(peak_rss_mb(), 1), "per_file": per_file}


def profiled_build(source: Path, db_path: Path, cprofile: str | None = None) -> dict:
    from equity.ingest import build as buildmod
    from equity.ingest import loaders as srcmod
    import equity.ingest.checks as checks

    spent = collections.defaultdict(float)
    calls = collections.Counter()
    per_file = []
    current = {"file": None}

    def timed(label, fn):
        def wrapper(*a, **k):
            t = time.perf_counter()
            try:
                return fn(*a, **k)
            finally:
                spent[label(*a, **k) if callable(label) else label] += time.perf_counter() - t
                calls[label(*a, **k) if callable(label) else label] += 1
        return wrapper

    W = db.Writer
    W.read_csv = timed("DuckDB read_csv into staging (Writer.read_csv)", W.read_csv)
    W.run = timed(lambda self, name, *a, **k: f"step {name}", W.run)
    W.fetch = timed(lambda self, name, *a, **k: f"step {name}", W.fetch)
    W.table_from_df = timed("table_from_df", W.table_from_df)
    W.insert_df = timed("insert_df", W.insert_df)
    W.close = timed("checkpoint and close", W.close)
    orig_init = W.__init__

    def init(self, path):
        orig_init(self, path)
        self.con.execute("set enable_progress_bar = false")
    W.__init__ = init
    srcmod.sniff = timed("sniff (Python: decode, header, cp1252 copy)", srcmod.sniff)
    checks.run_checks = timed("checks (equity.ingest.checks.run_checks)", checks.run_checks)
    orig_load = srcmod.load_file

    def load_file(ctx, path, loaders):
        t = time.perf_counter()
        current["file"] = path.name
        orig_load(ctx, path, loaders)
        kind = ctx.report.files[-1]["kind"] if ctx.report.files else "?"
        per_file.append({"file": path.name, "kind": kind, "seconds": round(time.perf_counter() - t, 2)})
    srcmod.load_file = load_file

    prof = None
    if cprofile:
        import cProfile
        prof = cProfile.Profile()
        prof.enable()
    t0, c0 = time.perf_counter(), cpu_seconds()
    report = buildmod.build([source], db_path)
    total, cpu = time.perf_counter() - t0, cpu_seconds() - c0
    if prof:
        prof.disable()
        prof.dump_stats(cprofile)
    top = sorted(spent.items(), key=lambda kv: -kv[1])
    return {"seconds": round(total, 2), "cpu_s": round(cpu, 2), "outcome": report.outcome, "db_mb": round(db_path.stat().st_size / 2**20, 1),
            "peak_rss_mb": round(peak_rss_mb(), 1), "per_file": per_file,
            "steps": [{"what": k, "seconds": round(v, 2), "calls": calls[k]} for k, v in top[:25]],
            "rows": {c.name: c.count for c in report.checks if c.name == "published LA and England rows"}}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("source")
    ap.add_argument("db")
    ap.add_argument("--raw", action="store_true", help="DuckDB read_csv of the same files only")
    ap.add_argument("--cprofile")
    ap.add_argument("--json")
    a = ap.parse_args(argv)
    out = raw_read(Path(a.source), Path(a.db)) if a.raw else profiled_build(Path(a.source), Path(a.db), a.cprofile)
    text = json.dumps(out, indent=1)
    if a.json:
        Path(a.json).write_text(text)
    print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
