"""Partnerships between schools: the register officers keep, and the tracker that follows both schools.

**The register is user data**, not analytics: it lives in its own SQLite file
(``data/user/partnerships.sqlite``, or ``$EQUITY_USER_DB``), apart from the DuckDB database that
``python -m equity build`` replaces wholesale, so it survives every rebuild.

**Or on PostgreSQL**, when ``$EQUITY_REGISTER_URL`` is set (``postgresql://user:password@host:port/db``;
it wins over ``$EQUITY_USER_DB``), so several app servers share one register. Both back-ends sit
behind the same functions (:func:`create`, :func:`edit`, :func:`end`, :func:`register`, :func:`audit`,
:func:`import_csv`...; ``path=`` takes a file or an address) and the same SQL, with the same
guarantees, kept by the database itself: optimistic versions, one writer at a time (SQLite's write
lock; a transaction-scoped advisory lock on PostgreSQL), nothing left of a writer killed mid-change,
an audit table that refuses UPDATE, DELETE, TRUNCATE and rewriting inserts (triggers), and a schema
version (a newer register is refused untouched). ``python -m equity register-migrate --to URL``
copies a SQLite register into an empty PostgreSQL database (:func:`copy_to_postgres`). Details of
the PostgreSQL side are in its section below; the rest of this text describes the SQLite file.

Safety when several people use the dashboard at once:

* WAL journal, ``synchronous=FULL`` and a busy timeout: readers never block the writer, and a
  second writer waits its turn instead of failing. SQLite's wait is not first come, first served:
  on a loaded machine a writer can be passed over for the whole busy timeout, so a writer that is
  still locked out tries again, up to ``WAIT_FOR_WRITE_S`` in all, then gives up with
  :class:`RegisterBusy` (naming the file; nothing changed).
* Every write runs inside ``BEGIN IMMEDIATE`` ... ``COMMIT``: it takes the write lock before it
  reads what it is about to change, so two writers can never interleave. A process that dies
  mid-transaction leaves nothing behind (SQLite rolls the unfinished transaction back).
* Optimistic concurrency: each partnership carries a ``version``. An edit names the version it was
  based on; if someone else saved in between, the edit is refused with :class:`StaleEdit` (who
  changed it, and when), never silently overwritten.
* An append-only ``audit`` table records who changed what, and when: one row per changed field.
  Triggers refuse UPDATE and DELETE on it, and also an insert that names an existing row (SQLite's
  REPLACE deletes the row it replaces without firing DELETE triggers) or goes back before the last
  one. ``changed_by`` is the name the officer types: there is no sign-in yet.

The file itself:

* Its layout carries a version (``PRAGMA user_version``, :data:`SCHEMA_VERSION`), read from the
  header before SQLite opens the file. A file from a newer dashboard is refused untouched
  (:class:`RegisterTooNew`); an older layout is migrated step by step on the first write.
* A file that is not a register (not SQLite, damaged, another database) is :class:`RegisterCorrupt`;
  reading never presents it as an empty register. Only a missing or empty file is empty.
* Reading opens the file read-only (``mode=ro``), so a register on a read-only file system or
  without write permission can still be read and exported; changes are refused
  (:class:`RegisterReadOnly`). A full disk is :class:`RegisterFull` (the change rolled back).
* The file is created 0600 (SQLite gives its WAL and index the same mode) in a folder created 0700:
  it holds officers' names and notes.
* An import (:func:`import_csv`) is checked row by row before anything is written, and capped.

The tracker (:func:`progress`) follows **both** schools of a partnership from its baseline year:
each school's disadvantaged pupils and their gap, against the school's own family, year by year,
with 95% intervals. It never projects: years not yet published are reported as *awaiting data*.
"""
from __future__ import annotations

import csv
import errno
import io
import os
import random
import re
import sqlite3
import time
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date, datetime, timezone
from pathlib import Path

import numpy as np
import pandas as pd

from equity import years
from equity.db import ROOT
from equity.measures import MEASURES, RULE_MEASURES
from equity.words import fmt_short

DEFAULT_USER_DB = ROOT / "data" / "user" / "partnerships.sqlite"
BUSY_TIMEOUT_S = 30.0     # one wait inside SQLite for another writer's lock
WAIT_FOR_WRITE_S = 120.0  # all waits for one write, retries included
STATUSES = ("active", "ended")
# Fields an officer may set or edit, and the CSV columns (in this order).
EDITABLE = ("school_urn", "partner_urns", "key_stage", "baseline_year", "measure", "start_date", "end_date",
            "focus", "notes", "status")
CSV_COLUMNS = ("id", "version", *EDITABLE, "created_at", "created_by", "updated_at", "updated_by")

# The register's layout, kept in the file as ``PRAGMA user_version``:
#   1  the first layout (files written before versions were recorded say 0 and hold this layout);
#   2  the audit table also refuses INSERT OR REPLACE and out-of-order ids (triggers audit_no_replace,
#      audit_in_order).
# A file with a higher number was written by a newer version of the dashboard: it is refused untouched.
SCHEMA_VERSION = 2

_SCHEMA_V1 = """
create table if not exists partnership (
    id            integer primary key autoincrement,
    school_urn    integer not null,          -- the school receiving support
    partner_urns  text    not null,          -- supporting school(s), space-separated URNs (one, or two for a trio)
    key_stage     integer not null check (key_stage in (2, 4)),
    baseline_year integer not null,          -- start year of the academic year the tracker measures from
    measure       text,                      -- the measure the partnership focuses on (equity.measures key)
    start_date    text    not null,          -- ISO date
    end_date      text,                      -- ISO date, set when the partnership ends
    focus         text    not null default '',
    notes         text    not null default '',
    status        text    not null default 'active' check (status in ('active', 'ended')),
    version       integer not null default 1,
    created_at    text    not null,
    created_by    text    not null,
    updated_at    text    not null,
    updated_by    text    not null
);
create table if not exists audit (
    seq            integer primary key autoincrement,  -- never supplied by the app
    partnership_id integer not null,
    action         text    not null,         -- create, edit, end, import
    field          text,                     -- the field changed (null for a whole-record action)
    old_value      text,
    new_value      text,
    version        integer not null,         -- the partnership's version after the change
    changed_by     text    not null,         -- as typed by the officer (no sign-in yet)
    changed_at     text    not null
);
create trigger if not exists audit_no_update before update on audit
begin select raise(abort, 'the audit trail is append-only'); end;
create trigger if not exists audit_no_delete before delete on audit
begin select raise(abort, 'the audit trail is append-only'); end;
"""
# From version 2. REPLACE deletes the row it conflicts with without firing DELETE triggers, so an
# insert naming an existing seq is refused before it happens; an explicit seq may only extend the
# trail (an upsert's DO UPDATE is an update, refused above).
_SCHEMA_V2_AUDIT = """
create trigger if not exists audit_no_replace before insert on audit
when exists (select 1 from audit where seq = new.seq)
begin select raise(abort, 'the audit trail is append-only'); end;
create trigger if not exists audit_in_order after insert on audit
when new.seq < 1 or new.seq < (select max(seq) from audit)
begin select raise(abort, 'the audit trail is append-only'); end;
"""
_MIGRATIONS = {1: _SCHEMA_V2_AUDIT}  # from version N to N + 1


class RegisterError(ValueError):
    """A change the register refuses (bad value, unknown partnership)."""


class RegisterBusy(RegisterError):
    """Another writer kept the register locked for longer than ``WAIT_FOR_WRITE_S``; nothing changed."""


class StaleEdit(RegisterError):
    """The partnership changed since the version the edit was based on: nothing was written."""


class RegisterUnavailable(RegisterError):
    """The register file cannot be used as it is; ``path`` names it and the message says why and
    what to do. Never means "empty": an empty register reads as an empty table."""

    def __init__(self, path, message: str):
        self.path = path if _is_url(path) else Path(path)
        super().__init__(message)


class RegisterTooNew(RegisterUnavailable):
    """The file records a schema version newer than this dashboard knows; it is left untouched."""


class RegisterCorrupt(RegisterUnavailable):
    """The file is not a readable partnership register (not SQLite, damaged, or another database)."""


class RegisterReadOnly(RegisterUnavailable):
    """The file or its folder cannot be written: the register can be read, changes are refused."""


class RegisterFull(RegisterUnavailable):
    """The disk holding the register is full: the change was rolled back, nothing was written."""


def explain(exc: RegisterError) -> str:
    """The message of a register error for a page: the register's folder left out (the file's name
    is enough to a reader and the server's layout is nobody's business)."""
    text = str(exc)
    for p in {getattr(exc, "path", None), user_db_path(), os.environ.get("EQUITY_REGISTER_URL") or None} - {None}:
        text = text.replace(_where(p), register_name(p))
    return text


def user_db_path() -> Path:
    """Where the SQLite register lives: ``$EQUITY_USER_DB`` if set, else ``data/user/partnerships.sqlite``."""
    env = os.environ.get("EQUITY_USER_DB")
    return Path(env).expanduser().resolve() if env else DEFAULT_USER_DB


def register_url() -> str | None:
    """The PostgreSQL register's address, ``$EQUITY_REGISTER_URL`` (``postgresql://user@host:port/db``),
    or None when the register is the SQLite file. When set it wins over ``$EQUITY_USER_DB``."""
    env = os.environ.get("EQUITY_REGISTER_URL", "").strip()
    if env and not _is_url(env):
        raise RegisterUnavailable(env, "EQUITY_REGISTER_URL must be a postgresql:// address; the register was not "
                                       "opened.")
    return env or None


def _is_url(target) -> bool:
    return isinstance(target, str) and target.startswith(("postgresql://", "postgres://"))


def _target(path=None):
    """The register a call works on: ``path`` when given (a file, or a ``postgresql://`` address),
    else ``$EQUITY_REGISTER_URL``, else the SQLite file :func:`user_db_path`."""
    if path is not None:
        return str(path) if _is_url(str(path)) else Path(path)
    return register_url() or user_db_path()


def _where(target) -> str:
    """How a message names the register: the file's path, or the address without its password."""
    if not _is_url(target):
        return str(target)
    from urllib.parse import urlsplit, urlunsplit
    u = urlsplit(target)
    if u.password is None:
        return target
    host = (u.hostname or "") + (f":{u.port}" if u.port else "")
    return urlunsplit((u.scheme, (f"{u.username}@" if u.username else "") + host, u.path, u.query, ""))


def register_name(target=None) -> str:
    """The register's name for a page: the file's name, or the PostgreSQL database's name (never the
    server's folders, address or password)."""
    try:
        t = _target(target)
    except RegisterError:   # a malformed $EQUITY_REGISTER_URL: the page says so when it reads the register
        return "the partnership register"
    if _is_url(t):
        from urllib.parse import urlsplit
        return f"PostgreSQL database {urlsplit(t).path.lstrip('/') or 'register'}"
    return Path(t).name


# ---- opening the file ----------------------------------------------------------------------------

_MAGIC = b"SQLite format 3\x00"


def _header_version(p: Path) -> int | None:
    """The schema version in the file's header (bytes 60-63, ``user_version``), read without opening
    the database; None for an empty (0-byte) file. Not SQLite: :class:`RegisterCorrupt`."""
    try:
        with open(p, "rb") as f:
            head = f.read(100)
    except PermissionError:
        raise RegisterUnavailable(p, f"The partnership register {p} cannot be read: permission denied. Ask whoever "
                                     "runs the dashboard to check the file's owner and permissions.") from None
    if not head:
        return None
    if len(head) < 100 or not head.startswith(_MAGIC):
        raise _corrupt(p, "it is not an SQLite database")
    page = int.from_bytes(head[16:18], "big")
    if not (page == 1 or (512 <= page <= 32768 and page & (page - 1) == 0)) or head[21:24] != b"\x40\x20\x20":
        raise _corrupt(p, "the file is damaged (its SQLite header is not valid)")
    return int.from_bytes(head[60:64], "big", signed=True)


def _corrupt(p: Path, why: str) -> RegisterCorrupt:
    return RegisterCorrupt(p, f"The partnership register {_where(p)} cannot be read: {why}. Nothing was changed "
                              "and the file is left as it is. Restore it from a backup (or an exported CSV), or "
                              "move it aside to start a new register.")


def _too_new(p: Path, found: int) -> RegisterTooNew:
    return RegisterTooNew(p, f"The partnership register {_where(p)} was written by a newer version of the "
                             f"dashboard (schema version {found}; this version knows up to {SCHEMA_VERSION}). It is "
                             "left untouched: update the dashboard to read or change it.")


def _read_only(p: Path, why: str = "") -> RegisterReadOnly:
    return RegisterReadOnly(p, f"The partnership register {_where(p)} is read-only"
                               f"{' (' + why + ')' if why else ''}: it can be read and exported, but changes cannot "
                               "be saved. Nothing was changed.")


def _full(p: Path) -> RegisterFull:
    return RegisterFull(p, f"The disk holding the partnership register {_where(p)} is full: nothing was changed. "
                           "Free some space and try again.")


def _writable(p: Path) -> bool:
    """The file (if it exists) and its folder can be written (the folder holds the WAL and its index)."""
    return os.access(p.parent, os.W_OK) and (not p.exists() or os.access(p, os.W_OK))


def read_only_reason(path=None) -> str | None:
    """Why changes to the register cannot be saved (for a page: :class:`RegisterReadOnly`'s message
    naming the file, not its folder), or None
    when they can (or the register does not exist yet and its folder can be created)."""
    p = _target(path)
    if _is_url(p):
        return _pg_read_only_reason(p)
    folder = next((d for d in [p.parent, *p.parent.parents] if d.exists()), None)
    if p.exists():
        ok = _writable(p)
    else:
        ok = folder is not None and os.access(folder, os.W_OK)
    return None if ok else explain(_read_only(p, "no permission to write it, or a read-only file system"))


def _explained(exc: BaseException, p: Path) -> BaseException:
    """The register's own error for an SQLite or file-system error, or ``exc`` when it is neither."""
    if isinstance(exc, RegisterError):
        return exc
    if isinstance(exc, sqlite3.Error):
        code = (getattr(exc, "sqlite_errorcode", None) or 0) & 0xFF
        text = str(exc).lower()
        if code == 13 or "database or disk is full" in text:                  # SQLITE_FULL
            return _full(p)
        if code == 8 or "readonly database" in text:                          # SQLITE_READONLY
            return _read_only(p)
        if code in (11, 26) or "malformed" in text or "not a database" in text:  # CORRUPT, NOTADB
            return _corrupt(p, "the file is damaged (SQLite: " + str(exc) + ")")
        if code == 14:                                                        # SQLITE_CANTOPEN
            return RegisterUnavailable(p, f"The partnership register {p} cannot be opened ({exc}). Nothing was "
                                          "changed.")
        if code == 10 and "full" in text:                                     # SQLITE_IOERR on a full disk
            return _full(p)
        return exc
    if isinstance(exc, OSError):
        if exc.errno == errno.ENOSPC:
            return _full(p)
        if exc.errno in (errno.EROFS, errno.EACCES, errno.EPERM):
            return _read_only(p, exc.strerror or "")
    return exc


def _create_file(p: Path) -> None:
    """An empty register file, mode 0600, in a folder made 0700 if we create it: the register holds
    officers' notes and names and is nobody else's to read. SQLite gives the WAL and its index the
    database file's mode."""
    missing = [d for d in [p.parent, *p.parent.parents] if not d.exists()]
    for d in reversed(missing):
        d.mkdir(mode=0o700, exist_ok=True)
        os.chmod(d, 0o700)
    try:
        fd = os.open(p, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600)
    except FileExistsError:  # another process created it first
        return
    os.close(fd)


def _private(p: Path) -> None:
    """Files of a register made before it was private (mode 0644 and so on) become 0600, when ours."""
    for f in (p, p.with_name(p.name + "-wal"), p.with_name(p.name + "-shm")):
        try:
            st = f.stat()
            if st.st_mode & 0o077 and st.st_uid == os.geteuid():
                os.chmod(f, 0o600)
        except OSError:
            pass


def _pragmas(con: sqlite3.Connection) -> None:
    con.execute(f"pragma busy_timeout = {int(BUSY_TIMEOUT_S * 1000)}")
    con.execute("pragma journal_mode = wal")
    con.execute("pragma synchronous = full")
    con.execute("pragma foreign_keys = on")


def _tables(con) -> set[str]:
    return {r[0] for r in con.execute("select name from sqlite_master where type = 'table'")}


def _run_script(con: sqlite3.Connection, script: str) -> None:
    """Each statement of ``script`` inside the open transaction (``executescript`` would commit it)."""
    stmt = ""
    for line in script.splitlines(keepends=True):
        stmt += line
        if sqlite3.complete_statement(stmt):
            con.execute(stmt)
            stmt = ""


def _migrate(con: sqlite3.Connection, p: Path) -> None:
    """Bring the layout to SCHEMA_VERSION, one step at a time, in one transaction (a new file gets
    the whole layout). Another database that happens to sit at this path is refused, not changed."""
    con.execute("begin immediate")
    try:
        found = con.execute("pragma user_version").fetchone()[0]
        tables = _tables(con) - {"sqlite_sequence"}
        if found > SCHEMA_VERSION:
            raise _too_new(p, found)
        if found == 0:
            if not tables:
                _run_script(con, _SCHEMA_V1 + _SCHEMA_V2_AUDIT)
                found = SCHEMA_VERSION
            elif {"partnership", "audit"} <= tables:
                found = 1  # written before versions were recorded: the first layout
            else:
                raise _corrupt(p, "it is an SQLite database but not a partnership register")
        while found < SCHEMA_VERSION:
            _run_script(con, _MIGRATIONS[found])
            found += 1
        con.execute(f"pragma user_version = {SCHEMA_VERSION}")
        con.execute("commit")
    except BaseException:
        if con.in_transaction:
            con.execute("rollback")
        raise


def connect(path: Path | str | None = None) -> sqlite3.Connection:
    """A new connection for writing (one per call: sqlite3 connections must not be shared between
    threads), the file created (0600) or migrated to SCHEMA_VERSION first.

    Autocommit mode (``isolation_level=None``) so transactions are exactly the explicit
    ``BEGIN IMMEDIATE`` blocks below. The file's version is read from its header before SQLite opens
    it: a newer file is refused (:class:`RegisterTooNew`) before anything could be written into it.
    """
    p = Path(path) if path else user_db_path()
    try:
        if not p.exists():
            _create_file(p)
        found = _header_version(p)
        if found is not None and found > SCHEMA_VERSION:
            raise _too_new(p, found)
        if not _writable(p):
            raise _read_only(p, "no permission to write it, or a read-only file system")
    except OSError as exc:
        raise _explained(exc, p) from exc

    def open_and_set_up() -> sqlite3.Connection:
        con = sqlite3.connect(str(p), timeout=BUSY_TIMEOUT_S, isolation_level=None)
        try:
            con.row_factory = sqlite3.Row
            # the header can lag a committed change still in the WAL: ask SQLite too, before any write
            found = con.execute("pragma user_version").fetchone()[0]
            if found > SCHEMA_VERSION:
                raise _too_new(p, found)
            if found == 0 and (_tables(con) - {"sqlite_sequence"}) and not {"partnership", "audit"} <= _tables(con):
                raise _corrupt(p, "it is an SQLite database but not a partnership register")
            _pragmas(con)
            if found < SCHEMA_VERSION:
                _migrate(con, p)
            _private(p)
            return con
        except BaseException:
            con.close()
            raise
    try:
        return _until_unlocked(open_and_set_up, "opening", p)
    except (sqlite3.Error, OSError) as exc:
        raise _explained(exc, p) from exc


def _connect_read(p: Path) -> sqlite3.Connection | None:
    """A read-only connection (``mode=ro``: reading never writes, and works on a read-only file or file
    system), or None for a register that exists but holds nothing yet (an empty file)."""
    found = _header_version(p)
    if found is None:
        return None
    if found > SCHEMA_VERSION:
        raise _too_new(p, found)
    uri = p.resolve().as_uri()
    last = None
    # mode=ro needs the WAL index, which SQLite creates beside the file; where the folder is
    # read-only and no index exists, the file is read as it stands (immutable; after a clean close
    # the WAL has been folded into the file)
    for query in ("?mode=ro", "?mode=ro&immutable=1"):
        con = sqlite3.connect(uri + query, uri=True, timeout=BUSY_TIMEOUT_S, isolation_level=None)
        try:
            con.row_factory = sqlite3.Row
            con.execute(f"pragma busy_timeout = {int(BUSY_TIMEOUT_S * 1000)}")
            found = con.execute("pragma user_version").fetchone()[0]
            if found > SCHEMA_VERSION:
                raise _too_new(p, found)
            tables = _tables(con)
            if "partnership" not in tables or "audit" not in tables:
                if found == 0 and not tables - {"sqlite_sequence"}:
                    con.close()
                    return None
                raise _corrupt(p, "it is an SQLite database but not a partnership register")
            return con
        except sqlite3.OperationalError as exc:
            con.close()
            if (getattr(exc, "sqlite_errorcode", 0) or 0) & 0xFF != 14:  # only "cannot open" is retried
                raise
            last = exc
        except BaseException:
            con.close()
            raise
    raise last


@contextmanager
def _reading(path=None):
    """A read-only connection to the register, or None when there is no register (or an empty one):
    callers then show an empty register. Every other problem is raised as the register's own error,
    never shown as empty."""
    p = _target(path)
    if _is_url(p):
        with _pg_reading(p) as con:
            yield con
        return
    if not p.exists():
        yield None
        return
    try:
        con = _until_unlocked(lambda: _connect_read(p), "reading", p)
    except (sqlite3.Error, OSError) as exc:
        raise _explained(exc, p) from exc
    if con is None:
        yield None
        return
    try:
        yield con
    except (sqlite3.Error, OSError) as exc:
        raise _explained(exc, p) from exc
    finally:
        con.close()


def _until_unlocked(step, doing: str, path: Path):
    """``step()``, tried again while SQLite reports the register locked or busy, for up to
    ``WAIT_FOR_WRITE_S`` seconds in all (short random pauses between tries, so waiting writers do
    not retry in step); then :class:`RegisterBusy`. Any other error is raised at once."""
    deadline = time.monotonic() + WAIT_FOR_WRITE_S
    while True:
        try:
            return step()
        except Exception as exc:
            text = str(exc).lower()
            busy = (isinstance(exc, sqlite3.OperationalError) and ("locked" in text or "busy" in text)) \
                or getattr(exc, "sqlstate", None) in _PG_BUSY
            if not busy:
                raise
            if time.monotonic() >= deadline:
                raise RegisterBusy(f"{doing} the partnership register {_where(path)}: another user kept it locked for "
                                   f"more than {WAIT_FOR_WRITE_S:.0f} s. Nothing was changed; try again.") from exc
            time.sleep(random.uniform(0.02, 0.25))


def _commit(con) -> None:
    con.execute("commit")


@contextmanager
def _transaction(path=None):
    """``BEGIN IMMEDIATE`` (take the write lock first), commit on success, roll back on any error.
    SQLite and file-system errors leave as the register's own errors (full disk, read-only...).
    On PostgreSQL the same, with a transaction-scoped advisory lock in place of the write lock."""
    p = _target(path)
    if _is_url(p):
        with _pg_transaction(p) as con:
            yield con
        return

    def begin() -> sqlite3.Connection:
        con = connect(p)
        try:
            con.execute("begin immediate")
            return con
        except BaseException:
            con.close()
            raise
    try:
        con = _until_unlocked(begin, "saving to", p)
    except (sqlite3.Error, OSError) as exc:
        raise _explained(exc, p) from exc
    try:
        yield con
        _commit(con)
    except BaseException as exc:
        if con.in_transaction:  # SQLite has already rolled back after some errors (a full disk)
            try:
                con.execute("rollback")
            except sqlite3.Error:
                pass
        if isinstance(exc, (sqlite3.Error, OSError)):
            raise _explained(exc, p) from exc
        raise
    finally:
        con.close()


# ---- PostgreSQL ----------------------------------------------------------------------------------
# The same register on a PostgreSQL server when $EQUITY_REGISTER_URL is set (several app servers share
# it). The same guarantees as the SQLite file, kept by the server:
#   * every write is one transaction holding a transaction-scoped advisory lock (writers take turns, as
#     under BEGIN IMMEDIATE); a client that dies mid-transaction loses its connection, and the server
#     rolls the transaction back and releases the lock;
#   * optimistic versions: the same queries as on SQLite (``where id = ? and version = ?``);
#   * the audit table refuses UPDATE, DELETE (row triggers), TRUNCATE (a statement trigger, and the
#     privilege revoked from PUBLIC) and an insert that does not extend the trail; ``seq`` is GENERATED
#     ALWAYS, so an insert cannot choose it without OVERRIDING SYSTEM VALUE. (The tables' owner could
#     still disable the triggers: in production the app connects as a role that does not own them.)
#   * the layout's version is the row of ``register_schema``; a newer one is refused untouched.

_PG_LOCK = 74_020_016           # the advisory lock every writer holds (any fixed number, ours alone)
_PG_BUSY = {"55P03", "40001", "40P01"}  # lock not available (lock_timeout), serialization failure, deadlock
_PG_SCHEMA = """
create table partnership (
    id            integer generated by default as identity primary key,
    school_urn    integer not null,
    partner_urns  text    not null,
    key_stage     integer not null check (key_stage in (2, 4)),
    baseline_year integer not null,
    measure       text,
    start_date    text    not null,
    end_date      text,
    focus         text    not null default '',
    notes         text    not null default '',
    status        text    not null default 'active' check (status in ('active', 'ended')),
    version       integer not null default 1,
    created_at    text    not null,
    created_by    text    not null,
    updated_at    text    not null,
    updated_by    text    not null
);
create table audit (
    seq            bigint  generated always as identity primary key,
    partnership_id integer not null,
    action         text    not null,
    field          text,
    old_value      text,
    new_value      text,
    version        integer not null,
    changed_by     text    not null,
    changed_at     text    not null
);
create function audit_append_only() returns trigger language plpgsql as $$
begin raise exception 'the audit trail is append-only'; end $$;
create function audit_in_order() returns trigger language plpgsql as $$
begin
    if new.seq < 1 or new.seq <= coalesce((select max(seq) from audit), 0) then
        raise exception 'the audit trail is append-only';
    end if;
    return new;
end $$;
create trigger audit_no_update_delete before update or delete on audit
    for each row execute function audit_append_only();
create trigger audit_no_truncate before truncate on audit
    for each statement execute function audit_append_only();
create trigger audit_in_order before insert on audit
    for each row execute function audit_in_order();
revoke truncate, update, delete on audit from public;
create table register_schema (version integer not null);
"""


class _PgConnection:
    """A psycopg connection that takes the register's SQL as written for SQLite (``?`` placeholders)
    and gives rows as dicts, so one set of queries serves both back-ends."""

    def __init__(self, con):
        self.con = con

    def execute(self, sql: str, params=None):
        return self.con.execute(sql.replace("?", "%s"), params if params else None)

    @property
    def in_transaction(self) -> bool:
        from psycopg.pq import TransactionStatus
        return self.con.info.transaction_status != TransactionStatus.IDLE

    def close(self) -> None:
        self.con.close()


def _pg_explained(exc: BaseException, url: str) -> BaseException:
    """The register's own error for a PostgreSQL error, or ``exc`` when there is none."""
    if isinstance(exc, RegisterError):
        return exc
    state = getattr(exc, "sqlstate", None)
    if state == "53100":                                   # disk_full
        return _full(url)
    if state in ("42501", "25006"):                        # insufficient privilege, read-only transaction
        return _read_only(url, "the database role may not write it")
    if state is None and type(exc).__module__.startswith("psycopg") and type(exc).__name__ == "OperationalError":
        return RegisterUnavailable(url, f"The partnership register {_where(url)} cannot be reached "
                                        f"({str(exc).strip().splitlines()[0] if str(exc).strip() else 'no answer'}). "
                                        "Nothing was changed; check that the PostgreSQL server is running.")
    return exc


def _pg_errors() -> type[Exception]:
    """What the PostgreSQL driver raises (imported only when the register is on PostgreSQL)."""
    import psycopg
    return psycopg.Error


def _pg_connect(url: str) -> _PgConnection:
    try:
        import psycopg
        from psycopg.rows import dict_row
    except ImportError:
        raise RegisterUnavailable(url, "The register is configured on PostgreSQL but the psycopg driver is not "
                                       "installed (pip install -r requirements.txt).") from None
    try:
        con = psycopg.connect(url, autocommit=True, row_factory=dict_row, connect_timeout=10)
    except psycopg.Error as exc:
        raise _pg_explained(exc, url) from None
    return _PgConnection(con)


def _pg_version(con: _PgConnection, url: str) -> int | None:
    """The register's schema version, None when the database holds no register yet; a newer one
    raises :class:`RegisterTooNew`, a database with a partnership table but no version row
    :class:`RegisterCorrupt`."""
    r = con.execute("select to_regclass('register_schema') is not null as versioned, "
                    "to_regclass('partnership') is not null as has_table").fetchone()
    if not r["versioned"]:
        if r["has_table"]:
            raise _corrupt(url, "the database has a partnership table but no register_schema version")
        return None
    rows = con.execute("select version from register_schema").fetchall()
    if len(rows) != 1:
        raise _corrupt(url, "its register_schema table does not hold exactly one version")
    found = rows[0]["version"]
    if found > SCHEMA_VERSION:
        raise _too_new(url, found)
    return found


def _pg_set_up(con: _PgConnection, url: str) -> None:
    """The register's tables created (the whole layout, version SCHEMA_VERSION) if the database holds
    none yet, under the writers' lock so two first writers cannot both create them. The lock is taken
    outside a transaction, so the check after it sees tables another writer has just created."""
    if _pg_version(con, url) is not None:
        return
    con.execute("select pg_advisory_lock(%s)" % _PG_LOCK)
    try:
        if _pg_version(con, url) is None:
            con.execute("begin")
            try:
                con.execute(_PG_SCHEMA)
                con.execute("insert into register_schema (version) values (?)", [SCHEMA_VERSION])
                con.execute("commit")
            except BaseException:
                if con.in_transaction:
                    con.execute("rollback")
                raise
    finally:
        con.execute("select pg_advisory_unlock(%s)" % _PG_LOCK)


def _pg_check_writable(url: str) -> None:
    """An existing PostgreSQL register that cannot take a write (too new, not a register) says so."""
    con = _pg_connect(url)
    try:
        _pg_version(con, url)
    except Exception as exc:
        raise _pg_explained(exc, url) from None
    finally:
        con.close()


def _pg_read_only_reason(url: str) -> str | None:
    """Why the PostgreSQL register cannot be changed (a role without INSERT/UPDATE on it, a read-only
    server), or None when it can or that cannot be told."""
    try:
        con = _pg_connect(url)
    except RegisterError:
        return None
    try:
        if _pg_version(con, url) is None:
            return None
        r = con.execute("select current_setting('transaction_read_only') = 'on' as ro, "
                        "has_table_privilege('partnership', 'INSERT, UPDATE') "
                        "and has_table_privilege('audit', 'INSERT') as may").fetchone()
        if r["ro"] or not r["may"]:
            return explain(_read_only(url, "the database role may not write it"))
        return None
    except (RegisterError, _pg_errors()):  # a register this version cannot read, a query refused: cannot be told
        return None
    finally:
        con.close()


@contextmanager
def _pg_reading(url: str):
    """A read-only session on the PostgreSQL register, or None when the database holds no register
    yet (reading creates nothing)."""
    con = _pg_connect(url)
    try:
        try:
            con.execute("set default_transaction_read_only = on")
            found = _pg_version(con, url)
        except Exception as exc:
            raise _pg_explained(exc, url) from None
        if found is None:
            yield None
            return
        try:
            yield con
        except Exception as exc:
            raise _pg_explained(exc, url) from exc
    finally:
        con.close()


@contextmanager
def _pg_transaction(url: str):
    """One write transaction holding the writers' advisory lock, waited for ``BUSY_TIMEOUT_S`` at a
    time (``lock_timeout``) and retried up to ``WAIT_FOR_WRITE_S``; committed on success, rolled back
    on any error. A killed client's transaction is rolled back by the server."""
    def begin() -> _PgConnection:
        con = _pg_connect(url)
        try:
            _pg_set_up(con, url)
            con.execute(f"set lock_timeout = {max(1, int(BUSY_TIMEOUT_S * 1000))}")
            con.execute("begin")
            con.execute("select pg_advisory_xact_lock(%s)" % _PG_LOCK)
            _pg_version(con, url)   # a newer dashboard may have upgraded it while we waited
            return con
        except BaseException:
            if con.in_transaction:
                con.execute("rollback")
            con.close()
            raise
    try:
        con = _until_unlocked(begin, "saving to", url)
    except Exception as exc:
        raise _pg_explained(exc, url) from exc
    try:
        yield con
        _commit(con)
    except BaseException as exc:
        try:
            if con.in_transaction:
                con.execute("rollback")
        except _pg_errors():
            pass  # a connection that cannot roll back is closed below: the server rolls the transaction back
        if not isinstance(exc, RegisterError) and getattr(exc, "sqlstate", None):
            raise _pg_explained(exc, url) from exc
        raise
    finally:
        con.close()


def grant_app_role(url: str, role: str) -> None:
    """Let the login ``role`` use the PostgreSQL register at ``url`` as the app does and no more: read
    all three tables, add and edit partnerships, add audit rows (INSERT only: no UPDATE, DELETE or
    TRUNCATE on the trail, and, not owning the tables, it cannot disable their triggers or drop them).
    Run as the tables' owner, once the register exists (``python -m equity register-migrate``, or the
    first write made as the owner); the app then connects as ``role``."""
    if not re.fullmatch(r"[a-z_][a-z0-9_]{0,62}", role):
        raise RegisterError(f"not a plain PostgreSQL role name: {role!r}")
    con = _pg_connect(url)
    try:
        _pg_set_up(con, url)
        con.execute("begin")
        con.execute(f"revoke all on partnership, audit, register_schema from {role}")
        con.execute(f"grant select, insert, update on partnership to {role}")
        con.execute(f"grant select, insert on audit to {role}")
        con.execute(f"grant select on register_schema to {role}")
        con.execute("commit")
    except Exception as exc:
        if con.in_transaction:
            con.execute("rollback")
        raise _pg_explained(exc, url) from None
    finally:
        con.close()


def copy_to_postgres(url: str, path=None) -> tuple[int, int]:
    """Copy the SQLite register (``path``, default :func:`user_db_path`) into the PostgreSQL database
    at ``url``, in one transaction: every partnership with its id and version, every audit row with
    its sequence number. The database must not hold a register with anything in it yet; the file is
    only read. Returns ``(partnerships, audit rows)`` copied."""
    src = Path(path) if path else user_db_path()
    if not _is_url(url):
        raise RegisterError(f"not a postgresql:// address: {url!r}")
    if not src.exists():
        raise RegisterError(f"there is no register file at {src}; nothing was copied")
    with _reading(src) as con:
        parts = [dict(r) for r in con.execute("select * from partnership order by id")] if con else []
        trail = [dict(r) for r in con.execute("select * from audit order by seq")] if con else []
    with _pg_transaction(url) as pg:
        n = pg.execute("select (select count(*) from partnership) + (select count(*) from audit) as n").fetchone()["n"]
        if n:
            raise RegisterError(f"the PostgreSQL register {_where(url)} already holds partnerships or an audit trail; "
                                "nothing was copied (copy into an empty database)")
        pcols = ["id", "version", *EDITABLE, "created_at", "created_by", "updated_at", "updated_by"]
        for r in parts:
            pg.execute(f"insert into partnership ({', '.join(pcols)}) values ({', '.join('?' for _ in pcols)})",
                       [r[c] for c in pcols])
        acols = ["seq", "partnership_id", "action", "field", "old_value", "new_value", "version", "changed_by",
                 "changed_at"]
        for r in trail:
            pg.execute(f"insert into audit ({', '.join(acols)}) overriding system value "
                       f"values ({', '.join('?' for _ in acols)})", [r[c] for c in acols])
        # the next id and seq carry on after the copied ones
        pg.execute("select setval(pg_get_serial_sequence('partnership', 'id'), "
                   "coalesce((select max(id) from partnership), 0) + 1, false)")
        pg.execute("select setval(pg_get_serial_sequence('audit', 'seq'), "
                   "coalesce((select max(seq) from audit), 0) + 1, false)")
    return len(parts), len(trail)


def _now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


# ---- validation --------------------------------------------------------------------------------

def _blank(v) -> bool:
    return v is None or (isinstance(v, str) and not v.strip()) or (isinstance(v, float) and np.isnan(v))


def parse_urns(value) -> list[int]:
    """``"123456 234567"``, ``"123456;234567"``, ``[123456, 234567]`` -> ``[123456, 234567]``.
    A URN is a positive whole number written in ASCII digits; anything else is refused."""
    if _blank(value):
        return []
    items = value if isinstance(value, (list, tuple)) else str(value).replace(";", " ").replace(",", " ").split()
    out = []
    for item in items:
        if isinstance(item, (int, np.integer)) and not isinstance(item, bool):
            n = int(item)
        elif isinstance(item, float) and item.is_integer():
            n = int(item)
        elif re.fullmatch(r"[0-9]+", str(item).strip()):
            n = int(str(item).strip())
        else:
            raise RegisterError(f"not a URN: {item!r} (a URN is a positive whole number)")
        if n <= 0:
            raise RegisterError(f"not a URN: {item!r} (a URN is a positive whole number)")
        out.append(n)
    return out


def _iso_date(value, name: str) -> str | None:
    """A date as ``YYYY-MM-DD`` exactly (a date object, or text with nothing before or after it)."""
    if _blank(value):
        return None
    if isinstance(value, datetime):
        return value.date().isoformat()
    if isinstance(value, date):
        return value.isoformat()
    text = str(value).strip()
    try:
        if not re.fullmatch(r"[0-9]{4}-[0-9]{2}-[0-9]{2}", text):
            raise ValueError
        return date.fromisoformat(text).isoformat()
    except ValueError:
        raise RegisterError(f"not a date (YYYY-MM-DD): {value!r}") from None


def _check(values: dict, *, creating: bool) -> tuple[dict, list[tuple[str, str]]]:
    """The editable fields checked and normalised: ``(clean values, [(column, problem), ...])``, every
    problem found rather than the first."""
    out, problems = {}, []
    for k, v in values.items():
        if k not in EDITABLE:
            problems.append((k, f"{k!r} cannot be edited"))
            continue
        try:
            if k == "school_urn":
                urns = parse_urns(v)
                if len(urns) != 1:
                    raise RegisterError("the supported school needs exactly one URN")
                out[k] = urns[0]
            elif k == "partner_urns":
                urns = parse_urns(v)
                if not 1 <= len(urns) <= 2:
                    raise RegisterError("a partnership needs one or two supporting schools (a pair or a trio)")
                if len(set(urns)) != len(urns):
                    raise RegisterError("the same supporting school is named twice")
                out[k] = " ".join(str(u) for u in urns)
            elif k == "key_stage":
                if str(v).strip() not in ("2", "4"):
                    raise RegisterError("key stage must be 2 or 4")
                out[k] = int(str(v).strip())
            elif k == "baseline_year":
                out[k] = years.parse(v)
            elif k in ("start_date", "end_date"):
                out[k] = _iso_date(v, k)
            elif k == "status":
                if v not in STATUSES:
                    raise RegisterError(f"status must be one of {', '.join(STATUSES)}")
                out[k] = v
            elif k == "measure":
                m = None if _blank(v) else str(v).strip()
                if m is not None and m not in MEASURES:
                    raise RegisterError(f"not a measure this dashboard knows: {m!r} (use a code such as "
                                        "p8 or rwm_exp, as exported)")
                out[k] = m
            else:
                out[k] = "" if _blank(v) else str(v)
        except (RegisterError, ValueError) as exc:
            problems.append((k, str(exc)))
    if creating:
        for k in ("school_urn", "partner_urns", "key_stage", "baseline_year", "start_date"):
            if k not in dict(problems) and out.get(k) in (None, ""):
                problems.append((k, f"{k} is required"))
    if "school_urn" in out and "partner_urns" in out and out["school_urn"] in parse_urns(out["partner_urns"]):
        problems.append(("partner_urns", "a school cannot partner itself"))
    if out.get("measure") and "key_stage" in out and MEASURES[out["measure"]].key_stage != out["key_stage"]:
        problems.append(("measure", f"{out['measure']} is a KS{MEASURES[out['measure']].key_stage} measure, the "
                                    f"partnership is KS{out['key_stage']}"))
    if out.get("start_date") and out.get("end_date") and out["end_date"] < out["start_date"]:
        problems.append(("end_date", "the end date is before the start date"))
    if out.get("status") == "ended" and not out.get("end_date") and (creating or "end_date" in values):
        problems.append(("end_date", "an ended partnership needs its end date"))
    return out, problems


def _clean(values: dict, *, creating: bool) -> dict:
    """Check and normalise the editable fields; raise RegisterError with a plain message."""
    out, problems = _check(values, creating=creating)
    if problems:
        column, problem = problems[0]
        raise RegisterError(f"{column}: {problem}" if column in ("start_date", "end_date") else problem)
    return out


def _row(con, pid: int) -> dict:
    r = con.execute("select * from partnership where id = ?", [pid]).fetchone()
    if r is None:
        raise RegisterError(f"no partnership with id {pid}")
    return dict(r)


def _audit(con, pid, action, version, user, when, changes=None):
    if not changes:
        con.execute("insert into audit (partnership_id, action, field, old_value, new_value, version, changed_by, "
                    "changed_at) values (?, ?, null, null, null, ?, ?, ?)", [pid, action, version, user, when])
        return
    for f, (old, new) in changes.items():
        con.execute("insert into audit (partnership_id, action, field, old_value, new_value, version, changed_by, "
                    "changed_at) values (?, ?, ?, ?, ?, ?, ?, ?)",
                    [pid, action, f, None if old is None else str(old), None if new is None else str(new),
                     version, user, when])


# ---- writing -----------------------------------------------------------------------------------

def _insert(con, values: dict, user: str, action: str) -> dict:
    when = _now()
    rec = {"focus": "", "notes": "", "status": "active", "measure": None, "end_date": None, **values}
    cols = list(EDITABLE)
    pid = con.execute(
        f"insert into partnership ({', '.join(cols)}, version, created_at, created_by, updated_at, updated_by) "
        f"values ({', '.join('?' for _ in cols)}, 1, ?, ?, ?, ?) returning id",
        [rec.get(c) for c in cols] + [when, user, when, user]).fetchone()["id"]
    _audit(con, pid, action, 1, user, when, {c: (None, rec.get(c)) for c in cols if rec.get(c) not in (None, "")})
    return _row(con, pid)


def create(*, school_urn, partner_urns, key_stage, baseline_year, start_date=None, measure=None, focus="",
           notes="", user: str, path=None) -> dict:
    """Accept a partnership: the supported school, one or two supporters, the baseline year the
    tracker measures from, a start date (default today), the focus and notes. Returns the record
    (version 1)."""
    if not str(user or "").strip():
        raise RegisterError("say who is making the change")
    values = _clean({"school_urn": school_urn, "partner_urns": partner_urns, "key_stage": key_stage,
                     "baseline_year": baseline_year, "start_date": start_date or date.today().isoformat(),
                     "measure": measure, "focus": focus, "notes": notes}, creating=True)
    with _transaction(path) as con:
        return _insert(con, values, str(user).strip(), "create")


def _transition_problem(cur: dict, changes: dict) -> tuple[str, str] | None:
    """What is wrong with ``changes`` to the partnership ``cur`` taken together, as ``(column, problem)``,
    or None. An ended partnership stays ended (a new one is recorded instead), an ended one has an end
    date on or after its start, and a school never partners itself."""
    new = {**cur, **changes}
    if cur["status"] == "ended" and new["status"] == "active":
        return "status", (f"partnership {cur['id']} ended on {cur['end_date']}; an ended partnership cannot be "
                          "made active again: record a new partnership instead")
    if new["status"] == "ended" and not new["end_date"]:
        return "end_date", "an ended partnership needs its end date"
    if new["end_date"] and new["end_date"] < new["start_date"]:
        return "end_date", "the end date is before the start date"
    if int(new["school_urn"]) in parse_urns(new["partner_urns"]):
        return "partner_urns", "a school cannot partner itself"
    return None


def _update(con, pid: int, expected_version: int, changes: dict, user: str, action: str) -> dict:
    cur = _row(con, pid)
    if cur["version"] != int(expected_version):
        raise StaleEdit(
            f"Partnership {pid} was changed by {cur['updated_by']} at {cur['updated_at']} after you opened it "
            f"(you had version {expected_version}, it is now version {cur['version']}). Nothing was saved: "
            "reload it and make your change again.")
    diff = {k: (cur[k], v) for k, v in changes.items() if cur[k] != v}
    if not diff:
        return cur
    wrong = _transition_problem(cur, changes)
    if wrong:
        raise RegisterError(wrong[1])
    when = _now()
    new_version = cur["version"] + 1
    sets = ", ".join(f"{k} = ?" for k in diff)
    n = con.execute(f"update partnership set {sets}, version = ?, updated_at = ?, updated_by = ? "
                    "where id = ? and version = ?",
                    [v for _, v in diff.values()] + [new_version, when, user, pid, cur["version"]]).rowcount
    if n != 1:  # cannot happen under BEGIN IMMEDIATE; kept as a last line of defence
        raise StaleEdit(f"Partnership {pid} changed while saving; nothing was saved.")
    _audit(con, pid, action, new_version, user, when, diff)
    return _row(con, pid)


def edit(pid: int, expected_version: int, *, user: str, path=None, **changes) -> dict:
    """Change fields of a partnership. ``expected_version`` is the version the officer was looking
    at; if anyone saved since, :class:`StaleEdit` is raised and nothing is written."""
    if not str(user or "").strip():
        raise RegisterError("say who is making the change")
    values = _clean(changes, creating=False)
    with _transaction(path) as con:
        return _update(con, int(pid), expected_version, values, str(user).strip(), "edit")


def end(pid: int, expected_version: int, *, user: str, end_date=None, notes: str | None = None, path=None) -> dict:
    """End a partnership (status ``ended``, an end date, default today). The record and its history stay."""
    if not str(user or "").strip():
        raise RegisterError("say who is making the change")
    changes = {"status": "ended", "end_date": end_date or date.today().isoformat()}
    if notes is not None:
        changes["notes"] = notes
    values = _clean(changes, creating=False)
    with _transaction(path) as con:
        return _update(con, int(pid), expected_version, values, str(user).strip(), "end")


# ---- reading -----------------------------------------------------------------------------------

def get(pid: int, path=None) -> dict:
    with _reading(path) as con:
        if con is None:
            raise RegisterError(f"no partnership with id {pid}")
        return _row(con, int(pid))


def register(status: str | None = None, path=None) -> pd.DataFrame:
    """All partnerships (or those with ``status``), newest first, one row each, columns CSV_COLUMNS.
    Empty only when the register really is empty (or does not exist yet); a register that cannot be
    read raises :class:`RegisterUnavailable` (corrupt, too new...)."""
    with _reading(path) as con:
        if con is None:
            return pd.DataFrame(columns=list(CSV_COLUMNS))
        sql = "select * from partnership" + (" where status = ?" if status else "") + " order by id desc"
        rows = [dict(r) for r in con.execute(sql, [status] if status else [])]
    return pd.DataFrame(rows, columns=list(CSV_COLUMNS) if not rows else None).reindex(columns=list(CSV_COLUMNS))


def fingerprint(path=None) -> str:
    """Which register this is and what state it is in: its location and every partnership's id and
    version. A cache of anything built from the register (a meeting pack) keys on it, so an edit, or
    another register, is never answered from an old copy. A register that cannot be read says so."""
    try:
        where = str(_target(path))
        reg = register(path=path)
    except RegisterError as exc:
        return f"unreadable: {type(exc).__name__}"
    return where + "|" + ",".join(f"{i}:{v}" for i, v in zip(reg.id, reg.version))


def audit(pid: int | None = None, path=None) -> pd.DataFrame:
    """The audit trail (oldest first): who changed which field, from what to what, and when.
    ``changed_by`` is the name the officer typed (there is no sign-in yet)."""
    cols = ["seq", "partnership_id", "action", "field", "old_value", "new_value", "version", "changed_by",
            "changed_at"]
    with _reading(path) as con:
        if con is None:
            return pd.DataFrame(columns=cols)
        sql = "select * from audit" + (" where partnership_id = ?" if pid is not None else "") + " order by seq"
        rows = [dict(r) for r in con.execute(sql, [int(pid)] if pid is not None else [])]
    return pd.DataFrame(rows).reindex(columns=cols) if rows else pd.DataFrame(columns=cols)


# ---- CSV ---------------------------------------------------------------------------------------

# Columns that name people (with sign-in configured, officers' e-mail addresses): shown only to officers.
PEOPLE_COLUMNS = ("created_by", "updated_by")


def export_csv(path=None, with_people: bool = True) -> str:
    """The whole register as CSV text (columns CSV_COLUMNS), ready to download or re-import;
    ``with_people=False`` leaves out who created and last changed each partnership (PEOPLE_COLUMNS)."""
    df = register(path=path)
    if not with_people:
        df = df.drop(columns=[c for c in PEOPLE_COLUMNS if c in df.columns])
    from equity.csv_export import to_csv  # the one CSV writer: formula-like text neutralised
    return to_csv(df)


MAX_IMPORT_ROWS = 500           # rows one import may hold ($EQUITY_IMPORT_MAX_ROWS overrides)
MAX_IMPORT_BYTES = 5_000_000    # size of the uploaded file


def max_import_rows() -> int:
    """The cap on rows in one import: ``$EQUITY_IMPORT_MAX_ROWS`` if set, else MAX_IMPORT_ROWS. A
    register is a few dozen partnerships; a file of thousands is a mistake (or an attack), and the
    pages name every school of every row on each load."""
    env = os.environ.get("EQUITY_IMPORT_MAX_ROWS", "").strip()
    return int(env) if env.isdigit() and int(env) > 0 else MAX_IMPORT_ROWS


@dataclass
class ImportResult:
    created: list[int] = field(default_factory=list)
    updated: list[int] = field(default_factory=list)
    unchanged: list[int] = field(default_factory=list)
    encoding: str = "UTF-8"

    def summary(self) -> str:
        read = "" if self.encoding == "UTF-8" else f" (the file was read as {self.encoding} text)"
        return (f"{len(self.created)} partnership(s) added, {len(self.updated)} updated, "
                f"{len(self.unchanged)} unchanged{read}.")


@dataclass(frozen=True)
class ImportProblem:
    """One bad cell of an import: the CSV line (the header is line 1), the column, the cell as given
    and what is wrong with it."""
    line: int
    column: str
    value: str
    problem: str

    def __str__(self) -> str:
        return f"CSV line {self.line}, column {self.column}: {self.problem}"


class ImportRefused(RegisterError):
    """An import with bad rows: nothing was written. ``problems`` lists every bad cell found."""

    def __init__(self, problems: list[ImportProblem], n_rows: int):
        self.problems, self.n_rows = list(problems), n_rows
        bad_rows = len({p.line for p in self.problems})
        shown = "; ".join(str(p) for p in self.problems[:10])
        more = f"; and {len(self.problems) - 10} more" if len(self.problems) > 10 else ""
        super().__init__(f"{shown}{more}. Nothing was imported ({len(self.problems)} problem(s) in {bad_rows} of "
                         f"{n_rows} row(s)).")

    def summary(self) -> str:
        """The counts alone (no text from the file), for a heading above :meth:`table`."""
        return (f"The import was refused: {len(self.problems)} problem(s) in "
                f"{len({p.line for p in self.problems})} of {self.n_rows} row(s). Nothing was imported.")

    def table(self) -> pd.DataFrame:
        return pd.DataFrame([vars(p) for p in self.problems], columns=["line", "column", "value", "problem"])


def decode_csv(data: bytes) -> tuple[str, str]:
    """An uploaded CSV's text and the encoding it was read in: UTF-8 (with or without Excel's byte
    order mark), UTF-16 with a byte order mark, or else Windows-1252 (Excel's "CSV" on English
    Windows). Anything that is none of these is refused with a plain message."""
    if len(data) > MAX_IMPORT_BYTES:
        raise RegisterError(f"the file is {len(data) / 1e6:.1f} MB; an import may be at most "
                            f"{MAX_IMPORT_BYTES / 1e6:.0f} MB. Nothing was imported.")
    if data[:2] in (b"\xff\xfe", b"\xfe\xff"):
        tries = [("utf-16", "UTF-16")]
    else:
        tries = [("utf-8-sig", "UTF-8"), ("cp1252", "Windows-1252")]
    for codec, label in tries:
        try:
            text = data.decode(codec)
        except UnicodeDecodeError:
            continue
        if "\x00" in text:
            break
        return text, label
    raise RegisterError("the file is not CSV text (UTF-8 or Windows-1252). Save it from Excel as \"CSV UTF-8\" "
                        "and import it again. Nothing was imported.")


def import_csv(data: str | bytes, *, user: str, path=None, analytics=None) -> ImportResult:
    """Load a register CSV (as exported; ``data`` as uploaded bytes or text). All or nothing, in one
    transaction.

    * a row without ``id`` creates a partnership;
    * a row with an ``id`` updates that partnership, and must carry the ``version`` it was exported
      at: if the partnership changed since, the whole import is refused (:class:`StaleEdit`) so a
      stale spreadsheet never overwrites newer work;
    * every row is checked before anything is written: URNs are schools in the analytics database
      (``analytics``, default ``$EQUITY_DB``), a school does not partner itself, the measure is one
      this dashboard knows (for the row's key stage), dates are ``YYYY-MM-DD`` exactly, and an ended
      partnership is not made active again. Any bad cell refuses the whole import, and every bad
      cell is reported with its line and column (:class:`ImportRefused`);
    * at most :func:`max_import_rows` rows.
    """
    from equity import db, lookups

    if not str(user or "").strip():
        raise RegisterError("say who is making the change")
    user = str(user).strip()
    text, encoding = decode_csv(data) if isinstance(data, (bytes, bytearray)) else (str(data).lstrip("\ufeff"), "UTF-8")
    cap = max_import_rows()
    reader = csv.DictReader(io.StringIO(text, newline=""))
    rows = []
    try:
        missing = {"school_urn", "partner_urns", "key_stage", "baseline_year"} - set(reader.fieldnames or [])
        if missing:
            raise RegisterError(f"the CSV lacks column(s): {', '.join(sorted(missing))}")
        for raw in reader:
            if len(rows) == cap:
                raise RegisterError(f"the file has more than {cap} rows; an import may hold at most {cap}. Split it "
                                    "into smaller files. Nothing was imported.")
            rows.append(raw)
    except csv.Error as exc:
        raise RegisterError(f"CSV line {reader.line_num}: not readable as CSV ({exc}). Nothing was imported.") from None

    # a register that cannot take the import (newer version, damaged, read-only) says so first
    target = _target(path)
    if _is_url(target):
        _pg_check_writable(target)
    elif target.exists():
        connect(target).close()

    # 1. every row on its own, and every URN against the analytics database
    problems: list[ImportProblem] = []
    checked = []   # (line, raw, id or None, version or None, clean values)

    def bad(line, raw, column, problem):
        value = raw.get(column) if column in raw else ""
        problems.append(ImportProblem(line, column, "" if value is None else str(value)[:200], problem))

    for line, raw in enumerate(rows, start=2):
        if None in raw:   # more cells than the header has columns
            bad(line, raw, "", f"{len(raw[None])} cell(s) beyond the header's columns")
            raw = {k: v for k, v in raw.items() if k is not None}
        pid = version = None
        pid_text = str(raw.get("id") or "").strip()
        if pid_text:
            if re.fullmatch(r"[0-9]+", pid_text) and int(pid_text) > 0:
                pid = int(pid_text)
            else:
                bad(line, raw, "id", "not a partnership id")
            v_text = str(raw.get("version") or "").strip()
            if not v_text:
                bad(line, raw, "version", "a row with an id needs the version it was exported at")
            elif re.fullmatch(r"[0-9]+", v_text):
                version = int(v_text)
            else:
                bad(line, raw, "version", "not a version number")
        values = {k: raw[k] for k in EDITABLE if k in raw and raw[k] is not None}
        values = {k: v for k, v in values.items() if not (k in ("end_date", "measure", "status") and not v.strip())}
        if not pid_text:
            values["start_date"] = values.get("start_date") or date.today().isoformat()
        clean, found = _check(values, creating=not pid_text)
        for column, problem in found:
            bad(line, raw, column, problem)
        checked.append((line, raw, pid, version, clean))
    urns = {u for *_, c in checked for u in ([c["school_urn"]] if "school_urn" in c else [])
            + parse_urns(c.get("partner_urns"))}
    try:
        known = lookups.school_names(urns, path=analytics)
    except db.DatabaseMissing as exc:
        raise RegisterError(f"URNs cannot be checked: {exc}. Nothing was imported.") from None
    for line, raw, _, _, clean in checked:
        for column in ("school_urn", "partner_urns"):
            unknown = [u for u in parse_urns(clean.get(column)) if u not in known]
            if unknown:
                bad(line, raw, column, "not a school in the database: URN " + ", ".join(str(u) for u in unknown))
    if problems:
        raise ImportRefused(problems, len(rows))

    # 2. against the register, in one transaction: rolled back if any row is refused
    result = ImportResult(encoding=encoding)
    with _transaction(path) as con:
        for line, raw, pid, version, clean in checked:
            try:
                if pid is None:
                    rec = _insert(con, clean, user, "import")
                    result.created.append(rec["id"])
                    continue
                r = con.execute("select * from partnership where id = ?", [pid]).fetchone()
                if r is None:
                    bad(line, raw, "id", f"no partnership with id {pid}")
                    continue
                cur = dict(r)
                if cur["version"] == version and (wrong := _transition_problem(cur, clean)):
                    bad(line, raw, *wrong)
                    continue
                rec = _update(con, pid, version, clean, user, "import")
                (result.updated if rec["version"] != cur["version"] else result.unchanged).append(rec["id"])
            except StaleEdit as exc:
                raise StaleEdit(f"CSV line {line}: {exc} The import was refused as a whole.") from None
        if problems:
            raise ImportRefused(problems, len(rows))
    return result


# ---- the progress tracker ----------------------------------------------------------------------

ROLES = ("supported", "supporting")
MIN_FAMILY_FIGURES = 3  # a family average needs at least this many members with a figure that year


@dataclass
class Progress:
    """How both schools of one partnership have done since its baseline year.

    ``status``: ``'awaiting data'`` (no comparable year after the baseline is published yet: nothing
    is projected), ``'tracking'``, or ``'no baseline'`` (the supported school has no published
    figure in the baseline year). ``table``: one row per school and year from the baseline, with
    disadvantaged pupils' figure and 95% interval, the family average, the school's lead over its
    family (``vs_family`` with ``vs_family_low``/``vs_family_high``), the within-school gap (others
    minus disadvantaged) and the family's average gap, and the change in the lead since baseline.
    ``warnings``: a supporting school whose lead over its family fell clearly (95% interval of the
    fall below zero), or that is now clearly below its family. ``notes``: breaks in the series and
    other caveats.
    """
    partnership: dict
    measure: str
    status: str
    table: pd.DataFrame
    warnings: list[str]
    notes: list[str]

    def sentence(self) -> str:
        from equity.analysis.keys_to_success import measure_label
        lab = measure_label(self.measure)
        base = years.label(int(self.partnership["baseline_year"]))
        if self.status == "no baseline":
            return (f"No published {lab} for the supported school's disadvantaged pupils in {base}, the baseline "
                    "year: choose another baseline or measure.")
        if self.status == "awaiting data":
            return (f"Baseline {base}. Awaiting data: results for the years after the baseline are not published "
                    "yet, so there is nothing to compare; nothing is projected.")
        t = self.table
        parts = []
        for role in ROLES:
            for urn, g in t[t.role == role].groupby("urn", sort=False):
                g = g[g.vs_family.notna()].sort_values("start_year")
                if len(g) < 2:
                    continue
                first, last = g.iloc[0], g.iloc[-1]
                parts.append(f"{first['name']} ({role}) went from {fmt_short(self.measure, first.vs_family, True)} to "
                             f"{fmt_short(self.measure, last.vs_family, True)} against its family "
                             f"({years.label(int(first.start_year))} to {years.label(int(last.start_year))})")
        text = f"Disadvantaged pupils' {lab}, school minus family average: " + "; ".join(parts) + "." if parts else \
            f"Too few family figures to compare {lab} with the families."
        return text


def progress(partnership: dict, *, size: int = 20, radius_km: float | None = None, weights=None,
             path=None) -> Progress:
    """Track both schools of a partnership against their own families from the baseline year.

    Each school's family is fixed at the baseline year (its nearest schools in context then,
    :func:`equity.analysis.families.family`), and followed year by year: the family average is the plain
    mean of members with a figure that year. A school that converted to an academy is followed
    under its successor URN. Years on the far side of a break in the series (for example the
    pandemic years 2019/20-2021/22) are not compared with the baseline.
    """
    from equity.analysis import families
    from equity.analysis import keys_to_success as kts

    p = dict(partnership)
    ks = int(p["key_stage"])
    base = int(p["baseline_year"])
    measure = p.get("measure") or RULE_MEASURES[ks][0]
    radius = families.DEFAULT_RADIUS_KM if radius_km is None else radius_km
    t = kts.measure_table(ks, measure, path)
    later = sorted(int(y) for y in t.loc[t.value.notna() & (t.start_year >= base), "start_year"].unique())
    notes, warnings = [], []
    usable = [y for y in later if not kts.comparable(base, y, ks, measure)]
    broken = [y for y in later if y not in usable]
    if broken:
        notes.append(f"{', '.join(years.label(y) for y in broken)} not compared with {years.label(base)}: "
                     + "; ".join(kts.comparable(base, broken[0], ks, measure)) + ".")
    sign = 1 if kts.MEASURES.get(measure, kts.MEASURES["p8"]).higher_is_better else -1
    schools = [("supported", int(p["school_urn"]))] + [("supporting", u) for u in parse_urns(p["partner_urns"])]
    rows = []
    for role, urn in schools:
        try:
            fam = families.family(urn, size=size, radius_km=radius, weights=weights, key_stage=ks, start_year=base,
                                  path=path)
            members = [int(u) for u in fam.members.urn]
        except (LookupError, ValueError) as exc:
            members = []
            notes.append(f"URN {urn} has no family for {years.label(base)} ({getattr(exc, 'reason', exc)}).")
        for y in usable:
            ty = t[t.start_year == y]
            me = kts.follow([urn], ty, path)
            fam_rows = kts.follow(members, ty, path) if members else ty.iloc[0:0]
            fv = fam_rows.value.dropna() if len(fam_rows) else pd.Series(dtype=float)
            fg = fam_rows.gap.dropna() if len(fam_rows) else pd.Series(dtype=float)
            enough = len(fv) >= MIN_FAMILY_FIGURES
            r = {"role": role, "urn": urn, "start_year": y, "academic_year": years.label(y),
                 "family_n": int(len(fv)), "family_mean": fv.mean() if enough else np.nan,
                 "family_se": fv.std() / np.sqrt(len(fv)) if enough else np.nan,
                 "family_gap": fg.mean() if len(fg) else np.nan}
            if len(me):
                m = me.iloc[0]
                r.update(name=m["name"], followed_urn=int(m.followed_urn), value=m.value, ci_low=m.value - kts.Z95 * m.se,
                         ci_high=m.value + kts.Z95 * m.se, se=m.se, cohort=m.cohort, gap=m.gap, gap_se=m.gap_se)
            rows.append(r)
    cols = ["role", "urn", "name", "followed_urn", "start_year", "academic_year", "value", "ci_low", "ci_high",
            "cohort", "family_mean", "family_n", "vs_family", "vs_family_low", "vs_family_high", "gap",
            "family_gap", "gap_vs_family", "change_vs_family", "change_low", "change_high"]
    table = pd.DataFrame(rows).reindex(columns=cols + ["se", "family_se", "gap_se"])
    if len(table):
        names = {}
        for role, urn in schools:
            got = table.loc[(table.urn == urn) & table.name.notna(), "name"]
            names[urn] = got.iloc[0] if len(got) else None
        table["name"] = table.urn.map(names)
        table["name"] = table.name.fillna(table.urn.map(lambda u: f"URN {u}"))
        se = np.sqrt(table.se ** 2 + table.family_se.fillna(0) ** 2)
        table["vs_family"] = sign * (table.value - table.family_mean)
        table["vs_family_low"] = table.vs_family - kts.Z95 * se
        table["vs_family_high"] = table.vs_family + kts.Z95 * se
        table["gap_vs_family"] = table.gap - table.family_gap
        for urn, g in table.groupby("urn"):
            b = g[g.start_year == base]
            if b.empty or pd.isna(b.vs_family.iloc[0]):
                continue
            bv, bse = b.vs_family.iloc[0], se[b.index[0]]
            idx = g.index
            table.loc[idx, "change_vs_family"] = table.loc[idx, "vs_family"] - bv
            cse = np.sqrt(se[idx] ** 2 + bse ** 2)
            table.loc[idx, "change_low"] = table.loc[idx, "change_vs_family"] - kts.Z95 * cse
            table.loc[idx, "change_high"] = table.loc[idx, "change_vs_family"] + kts.Z95 * cse
    table = table[cols].sort_values(["role", "urn", "start_year"], ascending=[False, True, True], ignore_index=True)

    sup = table[(table.role == "supported") & (table.start_year == base) & table.value.notna()]
    after = table[(table.role == "supported") & (table.start_year > base) & table.value.notna()]
    if sup.empty:
        status = "no baseline"
    elif after.empty:
        status = "awaiting data"
    else:
        status = "tracking"
    fmt = fmt_short
    for r in table[(table.role == "supporting") & (table.start_year > base)].itertuples():
        if pd.notna(r.change_high) and r.change_high < 0:
            warnings.append(
                f"Supporting school {r.name}: in {r.academic_year} its disadvantaged pupils' lead over its family fell "
                f"by {fmt(measure, abs(r.change_vs_family), True).lstrip('+')} since {years.label(base)} "
                f"(95% interval of the change "
                f"{fmt(measure, r.change_low, True)} to {fmt(measure, r.change_high, True)}). Check the partnership "
                "is not costing it too much.")
        elif pd.notna(r.vs_family_high) and r.vs_family_high < 0:
            warnings.append(f"Supporting school {r.name} is clearly below its family for disadvantaged pupils in "
                            f"{r.academic_year} ({fmt(measure, r.vs_family, True)}).")
        elif pd.notna(r.change_vs_family) and r.change_vs_family < 0:
            notes.append(f"{r.name} (supporting) dipped against its family in {r.academic_year} "
                         f"({fmt(measure, r.change_vs_family, True)} since baseline), within the noise.")
    return Progress(p, measure, status, table, warnings, notes)


def cohort_comparison(key_stage: int, *, status: str | None = None, n_boot: int = 2000, path=None, user_path=None):
    """The register's supported schools against matched schools not in any partnership
    (:func:`equity.analysis.keys_to_success.compare_cohort`), from their (most common) baseline year to the
    latest comparable year published. Returns ``(CohortComparison or None, message)``: None with
    "awaiting data" when no year after the baseline is published yet."""
    from equity.analysis import keys_to_success as kts
    reg = register(status, path=user_path)
    reg = reg[reg.key_stage == key_stage]
    if reg.empty:
        return None, f"No KS{key_stage} partnerships in the register yet."
    base = int(reg.baseline_year.mode().iloc[0])
    cohort = reg[reg.baseline_year == base]
    measure = cohort.measure.dropna().mode().iloc[0] if cohort.measure.notna().any() else RULE_MEASURES[key_stage][0]
    later = [y for y in kts.years_with(key_stage, measure, None, path) if y > base and not kts.comparable(base, y, key_stage, measure)]
    if not later:
        return None, (f"Awaiting data: the {len(cohort)} KS{key_stage} partnership(s) with baseline {years.label(base)} "
                      "have no published results after their baseline yet. Nothing is projected.")
    partners = {u for v in cohort.partner_urns for u in parse_urns(v)}
    res = kts.compare_cohort(cohort.school_urn.astype(int), key_stage, measure, base, later[-1],
                             exclude_urns=partners, n_boot=n_boot, label="Partnership cohort", path=path)
    return res, res.sentence()
