"""Earlier database builds the server keeps, for "since last meeting" (meeting mode and packs).

Each rebuild, just before the new database is swapped in, keeps the one it replaces in a folder
beside it (``data/builds/`` for ``data/equity.duckdb``; ``$EQUITY_BUILDS`` to put it elsewhere)
as a hard link (no copy: the swap gives the new build a new file, the old one lives on under its
kept name). The newest :data:`KEEP` are kept. The meeting page offers these by name from a list:
a web user never types a path, and no server path is shown.
"""
from __future__ import annotations

import datetime as dt
import os
import re
import shutil
from pathlib import Path

from equity import db

KEEP = 6
_NAME = re.compile(r"^equity-\d{8}-\d{6}(-\d+)?\.duckdb$")


def folder(db_path: Path | str | None = None) -> Path:
    """Where the builds replaced at ``db_path`` are kept."""
    env = os.environ.get("EQUITY_BUILDS")
    if env:
        return Path(env).expanduser().resolve()
    p = Path(db_path).resolve() if db_path else db.default_path()
    return p.parent / "builds"


def keep_previous(db_path: Path | str) -> Path | None:
    """Keep the database now at ``db_path`` (about to be replaced by a new build) in :func:`folder`,
    named after when it was built; drop the oldest beyond :data:`KEEP`. Returns the kept file, or
    None when there was nothing to keep. Never fails a build: a folder that cannot be written is
    left alone (the rebuild matters more than the history)."""
    src = Path(db_path)
    if not src.is_file():
        return None
    try:
        where = folder(src)
        where.mkdir(parents=True, exist_ok=True)
        stamp = dt.datetime.fromtimestamp(src.stat().st_mtime).strftime("%Y%m%d-%H%M%S")
        dst = where / f"equity-{stamp}.duckdb"
        n = 1
        while dst.exists():
            dst = where / f"equity-{stamp}-{n}.duckdb"
            n += 1
        try:
            os.link(src, dst)
        except OSError:  # no hard links here (another filesystem): a copy
            shutil.copy2(src, dst)
        for old in [p for p in _files(where)][KEEP:]:
            old.unlink(missing_ok=True)
        return dst
    except OSError:
        return None


def _files(where: Path) -> list[Path]:
    if not where.is_dir():
        return []
    def order(p: Path):
        m = _NAME.match(p.name)
        return p.name[7:22], int((m.group(1) or "-0")[1:])  # the time stamp, then the same-second counter
    return sorted((p for p in where.iterdir() if p.is_file() and _NAME.match(p.name)), key=order, reverse=True)


def listing(db_path: Path | str | None = None) -> list[dict]:
    """The kept builds, newest first: ``name`` (the file name, what a page keeps in its URL),
    ``label`` (when it was built, in words) and ``path`` (for the pack; never shown)."""
    out = []
    for p in _files(folder(db_path)):
        m = re.match(r"equity-(\d{8})-(\d{6})", p.name)
        when = dt.datetime.strptime(m.group(1) + m.group(2), "%Y%m%d%H%M%S")
        out.append({"name": p.name, "label": f"Build of {when:%d %B %Y, %H:%M}", "path": p})
    return out


def path_for(name: str, db_path: Path | str | None = None) -> Path | None:
    """The kept build called ``name`` (exactly one of :func:`listing`'s names), else None."""
    for b in listing(db_path):
        if b["name"] == name:
            return b["path"]
    return None
