"""Data brought in through the browser: DfE files uploaded on the Data page, kept per upload, and
built in the background by the same build as ``python -m equity build`` (:func:`equity.ingest.build.build`).

* :func:`save` checks an upload and keeps it in a folder of its own under :func:`folder`
  (``data/uploads/<UTC time>-<id>/``; ``$EQUITY_UPLOADS`` to put it elsewhere), files 0600 and
  folders 0700 like the register, with a manifest (``.manifest.json``: who, when, each file's name,
  size and SHA-256, and each build made from it). Accepted: ``.csv`` files and the ``.zip`` DfE
  serves, whose members must be ``.csv`` files inside the zip's own folder (no ``..``, no absolute
  path, no link, no zip inside the zip). Caps: ``EQUITY_MAX_UPLOAD_MB`` per file (default 200, as
  ``server.maxUploadSize`` in ``.streamlit/config.toml`` and ``client_max_body_size`` in
  ``deploy/nginx.conf.template``), ``EQUITY_MAX_UPLOAD_TOTAL_MB`` for one upload (default 500), and
  the build's own ``EQUITY_MAX_INFLATED_MB`` (:func:`equity.ingest.sniff.limits`) for what a zip holds once
  unpacked. A refused upload keeps nothing and says which file and why (:class:`Refused`).
* :func:`start` runs the build in a separate process (it outlives the page's script run and the
  app process that started it) on the sources the current database was built from (the build
  records them) plus the upload folder. One build at a time, whichever session or replica asks:
  the build process holds a lock file beside the database (``<db>.build.lock``) for its whole life.
* Its state (running, its progress, then built or failed with the build's report) is a JSON file
  beside the database (``<db>.job.json``) that any session of any replica reads (:func:`status`).
  A successful build swaps the new database in atomically (the build does); each replica reads it
  on its next query. A failed one leaves the previous database serving.
"""
from __future__ import annotations

import argparse
import datetime as dt
import fcntl
import hashlib
import io
import json
import os
import re
import secrets
import shutil
import subprocess
import sys
import threading
import time
import zipfile
from pathlib import Path, PurePosixPath

from equity.ingest import build
from equity import db
from equity.ingest.errors import IngestError
from equity.report import load as load_report, report_path
from equity.ingest.sniff import limits as build_limits

MANIFEST = ".manifest.json"  # a hidden name: the build leaves hidden files out (build.discover)
LOG = ".build.log"           # the build process's output, for the operator (never shown on the page)
_NAME = re.compile(r"^\d{8}T\d{6}Z-[0-9a-f]{8}$")
CHUNK = 1 << 20


class Refused(ValueError):
    """An upload refused before anything is kept: ``problems`` is a list of (file, reason)."""

    def __init__(self, problems: list[tuple[str, str]]):
        self.problems = problems
        super().__init__("; ".join(f"{f}: {why}" for f, why in problems))


class Busy(RuntimeError):
    """A build is already running (started from any session, replica or the command line's lock)."""


# ---- caps and places -------------------------------------------------------------------------

def limits() -> dict[str, int]:
    """The caps in force, in bytes: ``file`` (each uploaded file), ``total`` (one upload) and
    ``inflated`` (a zip's members once unpacked, the build's cap). Read from the environment."""
    def env(name, default):
        try:
            return max(1, int(os.environ.get(name, default)))
        except ValueError:
            return default
    return {"file": env("EQUITY_MAX_UPLOAD_MB", 200) << 20, "total": env("EQUITY_MAX_UPLOAD_TOTAL_MB", 500) << 20,
            "inflated": build_limits()["inflated"]}


def folder() -> Path:
    """Where uploads are kept: ``$EQUITY_UPLOADS``, else ``data/uploads``."""
    env = os.environ.get("EQUITY_UPLOADS")
    return Path(env).expanduser().resolve() if env else db.ROOT / "data" / "uploads"


def _mb(n: int) -> str:
    return f"{n / (1 << 20):,.1f} MB"


# ---- checking and keeping an upload -------------------------------------------------------------

def _name_problem(name: str) -> str | None:
    """Why a file name (an uploaded file's, or a path inside a zip) cannot be kept as given, or None."""
    if not name or "\x00" in name or any(ord(c) < 32 for c in name):
        return "has an empty or unprintable name"
    if name.startswith("/") or "\\" in name or re.match(r"^[A-Za-z]:", name):
        return "has a path outside the upload's folder: refused"
    parts = PurePosixPath(name).parts
    if any(p == ".." for p in parts):
        return "has a path outside the upload's folder (..): refused"
    if any(p.startswith(".") for p in parts):
        return "is a hidden file (its name starts with a dot): refused"
    return None


def _check_zip(shown: str, data: bytes, lim: dict, problems: list) -> list[tuple[PurePosixPath, tuple]]:
    """The members of an uploaded zip to keep, as (path in the upload folder, (zip, member)); what
    is refused is added to ``problems`` as (file, reason)."""
    def refuse(name, why):
        problems.append((name, why))

    try:
        z = zipfile.ZipFile(io.BytesIO(data))
        members = z.infolist()
    except (zipfile.BadZipFile, zipfile.LargeZipFile, ValueError, EOFError) as exc:
        refuse(shown, f"is not a zip file that can be read ({exc})")
        return []
    stem = PurePosixPath(shown).stem
    out, inflated, before = [], 0, len(problems)
    for info in members:
        if info.is_dir():
            continue
        where = f"{shown}, member {info.filename}"
        problem = _name_problem(info.filename)
        mode = (info.external_attr >> 16) & 0o170000
        if problem:
            refuse(where, problem)
        elif mode == 0o120000:
            refuse(where, "is a link, not a file: refused")
        elif info.flag_bits & 0x1:
            refuse(where, "is encrypted: refused")
        elif info.filename.lower().endswith(".zip"):
            refuse(where, "is a zip inside the zip: unpack it and upload its CSV files")
        elif not info.filename.lower().endswith(".csv"):
            refuse(where, "is not a CSV file (a zip may hold only .csv files)")
        else:
            inflated += info.file_size
            if inflated > lim["inflated"]:
                refuse(where, f"takes the zip's unpacked content past the cap of {_mb(lim['inflated'])} "
                              "(EQUITY_MAX_INFLATED_MB)")
                return out
            out.append((PurePosixPath(stem) / info.filename, (z, info)))
    if not out and len(problems) == before:
        refuse(shown, "holds no CSV file")
    return out


def save(files: list[tuple[str, bytes]], who: str | None = None, where: Path | None = None) -> Path:
    """Check an upload (``files``: (name as uploaded, content)) and keep it in a new folder under
    :func:`folder` (or ``where``), with its manifest. Returns the folder. Raises :class:`Refused`
    naming every file refused and why; then nothing is kept."""
    lim = limits()
    problems: list[tuple[str, str]] = []

    def refuse(name, why):
        problems.append((name, why))

    if not files:
        raise Refused([("(no file)", "choose at least one CSV or zip file")])
    plan: list[tuple[PurePosixPath, object, str | None]] = []  # (path in folder, bytes or (zip, member), from zip)
    uploaded, total = [], 0
    for name, data in files:
        shown = str(name)
        size = len(data)
        total += size
        problem = _name_problem(shown) or ("has a folder in its name: refused" if "/" in shown else None)
        if problem:
            refuse(shown, problem)
        elif size > lim["file"]:
            refuse(shown, f"is {_mb(size)}, over the cap of {_mb(lim['file'])} per file (EQUITY_MAX_UPLOAD_MB)")
        elif total > lim["total"]:
            refuse(shown, f"brings the upload to {_mb(total)}, over the cap of {_mb(lim['total'])} for one upload "
                          "(EQUITY_MAX_UPLOAD_TOTAL_MB)")
        elif shown.lower().endswith(".csv"):
            plan.append((PurePosixPath(shown), data, None))
        elif shown.lower().endswith(".zip"):
            plan += [(p, m, shown) for p, m in _check_zip(shown, data, lim, problems)]
        else:
            refuse(shown, "is not a CSV or zip file: only .csv files and the .zip DfE serves are accepted")
        uploaded.append({"name": shown, "bytes": size, "sha256": hashlib.sha256(data).hexdigest()})
    seen: dict[str, str] = {}
    for path, _content, source in plan:
        key = str(path).lower()
        if key in seen:
            refuse(str(path) if source is None else f"{source}, member {_content[1].filename}",
                   "has the same name as another file of this upload: upload one of them")
        seen[key] = str(path)
    if problems:
        raise Refused(problems)

    base = Path(where) if where else folder()
    _private_dir(base)
    name = f"{dt.datetime.now(dt.timezone.utc):%Y%m%dT%H%M%SZ}-{secrets.token_hex(4)}"
    partial = base / f".{name}.partial"  # hidden and renamed only when complete: never half a source
    _private_dir(partial)
    kept = []
    try:
        for path, content, source in plan:
            dest = partial.joinpath(*path.parts)
            for d in reversed([p for p in dest.parents if p != partial and partial in p.parents]):
                _private_dir(d)
            shown = f"{source}, member {content[1].filename}" if source else str(path)
            size, digest = _write_private(dest, content, lim["inflated"], shown)
            kept.append({"name": str(path), "bytes": size, "sha256": digest, "from": source})
        manifest = {"id": name, "who": who, "when": _utc(), "files": kept, "uploaded": uploaded, "builds": []}
        _write_json(partial / MANIFEST, manifest)
        os.rename(partial, base / name)
    except BaseException:
        shutil.rmtree(partial, ignore_errors=True)
        raise
    return base / name


def _private_dir(d: Path) -> None:
    d.mkdir(mode=0o700, parents=True, exist_ok=True)
    os.chmod(d, 0o700)


def _write_private(dest: Path, content, cap: int, shown: str) -> tuple[int, str]:
    """Write a file 0600; returns (bytes, SHA-256). A zip member is unpacked as a stream, counted as
    it comes: one inflating past its declared size or the cap is refused (a zip bomb stops here)."""
    h, size = hashlib.sha256(), 0
    fd = os.open(dest, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600)
    with os.fdopen(fd, "wb") as out:
        if isinstance(content, (bytes, bytearray, memoryview)):
            out.write(content)
            h.update(content)
            return len(content), h.hexdigest()
        z, info = content
        try:
            with z.open(info) as src:
                while chunk := src.read(CHUNK):
                    size += len(chunk)
                    if size > min(cap, info.file_size):
                        raise Refused([(shown, f"unpacks to more than the {_mb(min(cap, info.file_size))} "
                                               "it declares or the cap allows (EQUITY_MAX_INFLATED_MB): refused")])
                    out.write(chunk)
                    h.update(chunk)
        except (zipfile.BadZipFile, EOFError, OSError, NotImplementedError) as exc:
            raise Refused([(shown, f"cannot be unpacked ({exc})")]) from exc
    return size, h.hexdigest()


def _utc() -> str:
    return dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds").replace("+00:00", "Z")


def _write_json(path: Path, data: dict) -> None:
    """Write JSON atomically (a reader sees the old or the new content), mode 0600."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}-{threading.get_ident()}.tmp")
    fd = os.open(tmp, os.O_CREAT | os.O_TRUNC | os.O_WRONLY, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        json.dump(data, fh, indent=1, default=str)
    os.replace(tmp, path)


def _read_json(path: Path) -> dict | None:
    try:
        return json.loads(Path(path).read_text(encoding="utf-8"))
    except FileNotFoundError:
        return None


def kept(where: Path | None = None) -> list[dict]:
    """The kept uploads, newest first: each its manifest (``id``, ``who``, ``when``, ``files``,
    ``builds``)."""
    base = Path(where) if where else folder()
    if not base.is_dir():
        return []
    out = []
    for p in sorted(base.iterdir(), reverse=True):
        m = _read_json(p / MANIFEST) if _NAME.match(p.name) and p.is_dir() else None
        if m:
            out.append(m)
    return out


def path_for(name: str, where: Path | None = None) -> Path | None:
    """The kept upload called ``name`` (exactly one of :func:`kept`'s ids), else None: a page never
    turns text it was given into a path."""
    base = Path(where) if where else folder()
    return base / name if any(m["id"] == name for m in kept(base)) else None


def describe(manifest: dict) -> str:
    """One line for a kept upload: when, by whom, its files, and how its last build ended."""
    when = dt.datetime.strptime(manifest["id"][:16], "%Y%m%dT%H%M%SZ")
    names = ", ".join(f["name"] for f in manifest.get("files", []))
    builds = manifest.get("builds") or []
    last = f" (last build: {builds[-1]['state']})" if builds else ""
    who = f" by {manifest['who']}" if manifest.get("who") else ""
    return f"Upload of {when:%d %B %Y, %H:%M} UTC{who}: {names}{last}"


# ---- the build in the background ----------------------------------------------------------------

def job_file(db_path: Path | None = None) -> Path:
    return Path(str(Path(db_path) if db_path else db.default_path()) + ".job.json")


def lock_file(db_path: Path | None = None) -> Path:
    return Path(str(Path(db_path) if db_path else db.default_path()) + ".build.lock")


def _lock_fd(db_path: Path) -> int:
    p = lock_file(db_path)
    p.parent.mkdir(parents=True, exist_ok=True)
    return os.open(p, os.O_CREAT | os.O_RDWR, 0o600)


class held:
    """``with held(db_path):`` the build lock, for a build started elsewhere (``python -m equity build``):
    raises :class:`Busy` when a build is running, so a terminal and a browser never build at once."""

    def __init__(self, db_path: Path | None = None):
        self.db_path = Path(db_path) if db_path else db.default_path()

    def __enter__(self):
        self.fd = _lock_fd(self.db_path)
        try:
            fcntl.flock(self.fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(self.fd)
            raise Busy("a build is already running (started from the Data page or another terminal); "
                       "wait for it to finish") from None
        return self

    def __exit__(self, *exc):
        os.close(self.fd)  # closing the file releases the lock


def building(db_path: Path | None = None) -> bool:
    """True while a build started here holds the lock (in any process of this machine)."""
    fd = _lock_fd(Path(db_path) if db_path else db.default_path())
    try:
        fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)  # shared: two sessions asking do not block each other
        return False
    except BlockingIOError:
        return True
    finally:
        os.close(fd)


def _resolve(text: str) -> Path:
    p = Path(text)
    return p if p.is_absolute() else db.ROOT / p


def current_sources(db_path: Path | None = None) -> list[Path]:
    """The folders and files the database now serving was built from (the build records them);
    for a database built before it did, ``$EQUITY_SOURCES`` (paths separated by ``:``), else the
    bundled ``data/raw``."""
    db_path = Path(db_path) if db_path else db.default_path()
    if db_path.exists():
        info = db.query("uploads/build_info", path=db_path)
        if not info.empty and "sources" in info.columns and info.sources[0]:
            return [_resolve(s) for s in json.loads(info.sources[0])]
    env = os.environ.get("EQUITY_SOURCES")
    if env:
        return [Path(p).expanduser() for p in env.split(os.pathsep) if p]
    return list(build.DEFAULT_SOURCES)


def start(upload: Path, db_path: Path | None = None, sources: list[Path] | None = None,
          who: str | None = None) -> dict:
    """Start a build of ``sources`` (default: :func:`current_sources`) plus the kept ``upload`` folder
    into ``db_path``, in a separate process; returns the job's first state. Raises :class:`Busy` when a
    build is already running. A source that no longer exists is left out and named in the job."""
    db_path = (Path(db_path) if db_path else db.default_path()).resolve()
    upload = Path(upload).resolve()
    chosen: list[Path] = []
    for p in [*(sources if sources is not None else current_sources(db_path)), upload]:
        p = Path(p).resolve()
        if p not in chosen:
            chosen.append(p)
    missing = [p for p in chosen if not p.exists()]
    chosen = [p for p in chosen if p.exists()]
    fd = _lock_fd(db_path)
    try:
        for _ in range(20):  # a session's status check holds the lock shared for a moment
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                time.sleep(0.05)
        else:
            raise Busy("a build is already running; wait for it to finish")
        job = {"id": f"{upload.name}/{secrets.token_hex(3)}", "upload": upload.name, "who": who, "state": "running",
               "started": _utc(), "finished": None, "fraction": 0.0, "text": "Starting the build",
               "sources": [build.rel(p) for p in chosen], "left_out": [build.rel(p) for p in missing],
               "message": "", "report": None}
        _write_json(job_file(db_path), job)
        log_fd = os.open(upload / LOG, os.O_CREAT | os.O_APPEND | os.O_WRONLY, 0o600)
        cmd = [sys.executable, "-m", "equity.ingest.uploads", "--db", str(db_path), "--upload", str(upload),
               "--lock-fd", str(fd)] + [a for p in chosen for a in ("--source", str(p))]
        try:
            # its own session: the build outlives the page's script run and the app process that started it
            proc = subprocess.Popen(cmd, cwd=db.ROOT, stdin=subprocess.DEVNULL, stdout=log_fd, stderr=subprocess.STDOUT,
                                    pass_fds=(fd,), start_new_session=True)
        finally:
            os.close(log_fd)
        threading.Thread(target=proc.wait, daemon=True).start()  # reaped when it ends
        return job
    finally:
        os.close(fd)  # the build process holds its own copy of the lock until it exits


def rebuild(name: str, db_path: Path | None = None, who: str | None = None, where: Path | None = None) -> dict:
    """Build again from a kept upload (``name``, one of :func:`kept`'s ids): the same sources as its
    last build (else the current database's) plus its files. Raises KeyError for a name not kept."""
    upload = path_for(name, where)
    if upload is None:
        raise KeyError(f"no kept upload {name!r}")
    builds = (_read_json(upload / MANIFEST) or {}).get("builds") or []
    sources = [_resolve(s) for s in builds[-1]["sources"]] if builds else None
    return start(upload, db_path, sources, who)


def status(db_path: Path | None = None) -> dict | None:
    """The latest build job started from the browser (see :func:`start`), or None. ``state`` is
    ``running`` (with ``fraction`` 0-1 and ``text``), ``built`` or ``failed`` (with ``message``
    naming file, row and column when a file was at fault, and the build's ``report``)."""
    db_path = Path(db_path) if db_path else db.default_path()
    job = _read_json(job_file(db_path))
    if job and job.get("state") == "running" and not building(db_path):
        job = _read_json(job_file(db_path))  # it may have finished between the two looks
        if job and job.get("state") == "running":
            job = dict(job, state="failed", message="the build process stopped before it finished (killed, or out "
                                                    "of memory); the previous database is still serving")
    return job


def _record_build(upload: Path, job: dict) -> None:
    """Add a build made from this upload to its manifest: what it read and how it ended."""
    path = upload / MANIFEST
    manifest = _read_json(path)
    if manifest is None:
        return
    manifest.setdefault("builds", []).append({k: job.get(k) for k in (
        "id", "who", "started", "finished", "state", "sources", "left_out", "message")})
    _write_json(path, manifest)


def run_job(db_path: Path, upload: Path, sources: list[Path]) -> int:
    """The build process (see :func:`start`): build, and keep the job state up to date."""
    job = _read_json(job_file(db_path)) or {"id": upload.name, "upload": upload.name}
    job.update(pid=os.getpid())
    last = [0.0]

    def progress(fraction: float, text: str) -> None:
        job.update(fraction=round(float(fraction), 3), text=text)
        now = time.monotonic()
        if now - last[0] > 0.25 or fraction >= 1:  # enough for a bar polled each second
            last[0] = now
            _write_json(job_file(db_path), job)

    def finish(state: str, message: str) -> None:
        job.update(state=state, message=message, finished=_utc(), report=load_report(report_path(db_path)))
        _write_json(job_file(db_path), job)
        _record_build(upload, job)

    try:
        build.build(sources, db_path, progress=progress)
    except IngestError as exc:
        finish("failed", str(exc))
        return 2
    except Exception as exc:  # an unexpected fault: the page says the build stopped; the traceback goes to the log
        finish("failed", f"the build stopped: {type(exc).__name__}: {exc}")
        raise
    finish("built", "")
    return 0


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m equity.ingest.uploads", description="the browser's build process")
    ap.add_argument("--db", required=True)
    ap.add_argument("--upload", required=True)
    ap.add_argument("--source", action="append", default=[])
    ap.add_argument("--lock-fd", type=int, help="the lock file, held open for the build's life")
    args = ap.parse_args(argv)
    return run_job(Path(args.db), Path(args.upload), [Path(s) for s in args.source])


if __name__ == "__main__":
    sys.exit(main())
