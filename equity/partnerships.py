"""Partnerships between schools: the register officers keep, and the tracker that follows both schools.

**The register is user data**, not analytics: it lives in its own SQLite file
(``data/user/partnerships.sqlite``, or ``$EQUITY_USER_DB``), apart from the DuckDB database that
``python -m equity build`` replaces wholesale, so it survives every rebuild.

Safety when several people use the dashboard at once:

* WAL journal, ``synchronous=FULL`` and a busy timeout: readers never block the writer, and a
  second writer waits its turn instead of failing.
* Every write runs inside ``BEGIN IMMEDIATE`` ... ``COMMIT``: it takes the write lock before it
  reads what it is about to change, so two writers can never interleave. A process that dies
  mid-transaction leaves nothing behind (SQLite rolls the unfinished transaction back).
* Optimistic concurrency: each partnership carries a ``version``. An edit names the version it was
  based on; if someone else saved in between, the edit is refused with :class:`StaleEdit` (who
  changed it, and when), never silently overwritten.
* An append-only ``audit`` table (triggers refuse UPDATE and DELETE on it) records who changed what,
  and when: one row per changed field.

The tracker (:func:`progress`) follows **both** schools of a partnership from its baseline year:
each school's disadvantaged pupils and their gap, against the school's own family, year by year,
with 95% intervals. It never projects: years not yet published are reported as *awaiting data*.
"""
from __future__ import annotations

import csv
import io
import os
import sqlite3
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date, datetime, timezone
from pathlib import Path

import numpy as np
import pandas as pd

from . import years
from .db import ROOT

DEFAULT_USER_DB = ROOT / "data" / "user" / "partnerships.sqlite"
BUSY_TIMEOUT_S = 30.0
STATUSES = ("active", "ended")
# Fields an officer may set or edit, and the CSV columns (in this order).
EDITABLE = ("school_urn", "partner_urns", "key_stage", "baseline_year", "measure", "start_date", "end_date",
            "focus", "notes", "status")
CSV_COLUMNS = ("id", "version", *EDITABLE, "created_at", "created_by", "updated_at", "updated_by")

_SCHEMA = """
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
    seq            integer primary key autoincrement,
    partnership_id integer not null,
    action         text    not null,         -- create, edit, end, import
    field          text,                     -- the field changed (null for a whole-record action)
    old_value      text,
    new_value      text,
    version        integer not null,         -- the partnership's version after the change
    changed_by     text    not null,
    changed_at     text    not null
);
create trigger if not exists audit_no_update before update on audit
begin select raise(abort, 'the audit trail is append-only'); end;
create trigger if not exists audit_no_delete before delete on audit
begin select raise(abort, 'the audit trail is append-only'); end;
"""


class RegisterError(ValueError):
    """A change the register refuses (bad value, unknown partnership)."""


class StaleEdit(RegisterError):
    """The partnership changed since the version the edit was based on: nothing was written."""


def user_db_path() -> Path:
    """Where the register lives: ``$EQUITY_USER_DB`` if set, else ``data/user/partnerships.sqlite``."""
    env = os.environ.get("EQUITY_USER_DB")
    return Path(env).expanduser().resolve() if env else DEFAULT_USER_DB


def connect(path: Path | str | None = None) -> sqlite3.Connection:
    """A new connection (one per call: sqlite3 connections must not be shared between threads).

    Autocommit mode (``isolation_level=None``) so transactions are exactly the explicit
    ``BEGIN IMMEDIATE`` blocks below.
    """
    p = Path(path) if path else user_db_path()
    p.parent.mkdir(parents=True, exist_ok=True)
    con = sqlite3.connect(str(p), timeout=BUSY_TIMEOUT_S, isolation_level=None)
    con.row_factory = sqlite3.Row
    con.execute(f"pragma busy_timeout = {int(BUSY_TIMEOUT_S * 1000)}")
    con.execute("pragma journal_mode = wal")
    con.execute("pragma synchronous = full")
    con.execute("pragma foreign_keys = on")
    con.executescript(_SCHEMA)
    return con


def _commit(con: sqlite3.Connection) -> None:
    con.execute("commit")


@contextmanager
def _transaction(path=None):
    """``BEGIN IMMEDIATE`` (take the write lock first), commit on success, roll back on any error."""
    con = connect(path)
    try:
        con.execute("begin immediate")
        try:
            yield con
        except BaseException:
            con.execute("rollback")
            raise
        _commit(con)
    finally:
        con.close()


def _now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


# ---- validation --------------------------------------------------------------------------------

def parse_urns(value) -> list[int]:
    """``"123456 234567"``, ``"123456;234567"``, ``[123456, 234567]`` -> ``[123456, 234567]``."""
    if value is None or (isinstance(value, float) and np.isnan(value)):
        return []
    items = value if isinstance(value, (list, tuple)) else str(value).replace(";", " ").replace(",", " ").split()
    out = []
    for item in items:
        try:
            out.append(int(str(item).strip()))
        except ValueError:
            raise RegisterError(f"not a URN: {item!r}") from None
    return out


def _iso_date(value, name: str) -> str | None:
    if value is None or value == "" or (isinstance(value, float) and np.isnan(value)):
        return None
    if isinstance(value, (date, datetime)):
        return value.isoformat()[:10]
    try:
        return date.fromisoformat(str(value).strip()[:10]).isoformat()
    except ValueError:
        raise RegisterError(f"{name}: not a date (YYYY-MM-DD): {value!r}") from None


def _clean(values: dict, *, creating: bool) -> dict:
    """Check and normalise the editable fields; raise RegisterError with a plain message."""
    out = {}
    for k, v in values.items():
        if k not in EDITABLE:
            raise RegisterError(f"{k!r} cannot be edited")
        if k == "school_urn":
            urns = parse_urns(v)
            if len(urns) != 1:
                raise RegisterError("the supported school needs exactly one URN")
            out[k] = urns[0]
        elif k == "partner_urns":
            urns = parse_urns(v)
            if not 1 <= len(urns) <= 2:
                raise RegisterError("a partnership needs one or two supporting schools (a pair or a trio)")
            out[k] = " ".join(str(u) for u in urns)
        elif k == "key_stage":
            if int(v) not in (2, 4):
                raise RegisterError("key stage must be 2 or 4")
            out[k] = int(v)
        elif k == "baseline_year":
            out[k] = years.parse(v)
        elif k in ("start_date", "end_date"):
            out[k] = _iso_date(v, k)
        elif k == "status":
            if v not in STATUSES:
                raise RegisterError(f"status must be one of {', '.join(STATUSES)}")
            out[k] = v
        elif k == "measure":
            out[k] = None if v is None or v == "" or (isinstance(v, float) and np.isnan(v)) else str(v)
        else:
            out[k] = "" if v is None or (isinstance(v, float) and np.isnan(v)) else str(v)
    if creating:
        for k in ("school_urn", "partner_urns", "key_stage", "baseline_year", "start_date"):
            if out.get(k) in (None, ""):
                raise RegisterError(f"{k} is required")
    if "school_urn" in out and "partner_urns" in out and out["school_urn"] in parse_urns(out["partner_urns"]):
        raise RegisterError("a school cannot partner itself")
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
    cur = con.execute(
        f"insert into partnership ({', '.join(cols)}, version, created_at, created_by, updated_at, updated_by) "
        f"values ({', '.join('?' for _ in cols)}, 1, ?, ?, ?, ?)",
        [rec.get(c) for c in cols] + [when, user, when, user])
    pid = cur.lastrowid
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
        cur = _row(con, pid)
        merged_school = values.get("school_urn", cur["school_urn"])
        if merged_school in parse_urns(values.get("partner_urns", cur["partner_urns"])):
            raise RegisterError("a school cannot partner itself")
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
        cur = _row(con, pid)
        if values["end_date"] < cur["start_date"]:
            raise RegisterError("the end date is before the start date")
        return _update(con, int(pid), expected_version, values, str(user).strip(), "end")


# ---- reading -----------------------------------------------------------------------------------

def get(pid: int, path=None) -> dict:
    con = connect(path)
    try:
        return _row(con, int(pid))
    finally:
        con.close()


def register(status: str | None = None, path=None) -> pd.DataFrame:
    """All partnerships (or those with ``status``), newest first, one row each, columns CSV_COLUMNS."""
    con = connect(path)
    try:
        sql = "select * from partnership" + (" where status = ?" if status else "") + " order by id desc"
        rows = [dict(r) for r in con.execute(sql, [status] if status else [])]
    finally:
        con.close()
    return pd.DataFrame(rows, columns=list(CSV_COLUMNS) if not rows else None).reindex(columns=list(CSV_COLUMNS))


def audit(pid: int | None = None, path=None) -> pd.DataFrame:
    """The audit trail (oldest first): who changed which field, from what to what, and when."""
    con = connect(path)
    try:
        sql = "select * from audit" + (" where partnership_id = ?" if pid is not None else "") + " order by seq"
        rows = [dict(r) for r in con.execute(sql, [int(pid)] if pid is not None else [])]
    finally:
        con.close()
    cols = ["seq", "partnership_id", "action", "field", "old_value", "new_value", "version", "changed_by",
            "changed_at"]
    return pd.DataFrame(rows).reindex(columns=cols) if rows else pd.DataFrame(columns=cols)


# ---- CSV ---------------------------------------------------------------------------------------

def export_csv(path=None) -> str:
    """The whole register as CSV text (columns CSV_COLUMNS), ready to download or re-import."""
    df = register(path=path)
    return df.to_csv(index=False)


@dataclass
class ImportResult:
    created: list[int] = field(default_factory=list)
    updated: list[int] = field(default_factory=list)
    unchanged: list[int] = field(default_factory=list)

    def summary(self) -> str:
        return (f"{len(self.created)} partnership(s) added, {len(self.updated)} updated, "
                f"{len(self.unchanged)} unchanged.")


def import_csv(text: str, *, user: str, path=None) -> ImportResult:
    """Load a register CSV (as exported). All or nothing, in one transaction.

    * a row without ``id`` creates a partnership;
    * a row with an ``id`` updates that partnership, and must carry the ``version`` it was exported
      at: if the partnership changed since, the whole import is refused (:class:`StaleEdit`) so a
      stale spreadsheet never overwrites newer work;
    * any invalid row refuses the whole import with its line number (:class:`RegisterError`).
    """
    if not str(user or "").strip():
        raise RegisterError("say who is making the change")
    user = str(user).strip()
    reader = csv.DictReader(io.StringIO(text.lstrip("\ufeff")))
    missing = {"school_urn", "partner_urns", "key_stage", "baseline_year"} - set(reader.fieldnames or [])
    if missing:
        raise RegisterError(f"the CSV lacks column(s): {', '.join(sorted(missing))}")
    rows = list(reader)
    result = ImportResult()
    with _transaction(path) as con:
        for line, raw in enumerate(rows, start=2):
            try:
                pid = str(raw.get("id") or "").strip()
                values = {k: raw[k] for k in EDITABLE if k in raw and raw[k] is not None}
                values = {k: v for k, v in values.items() if not (k in ("end_date", "measure") and v == "")}
                if not pid:
                    values.setdefault("start_date", date.today().isoformat())
                    values["start_date"] = values["start_date"] or date.today().isoformat()
                    rec = _insert(con, _clean(values, creating=True), user, "import")
                    result.created.append(rec["id"])
                    continue
                version = str(raw.get("version") or "").strip()
                if not version:
                    raise RegisterError("a row with an id needs the version it was exported at")
                cur = _row(con, int(pid))
                before = cur["version"]
                rec = _update(con, int(pid), int(version), _clean(values, creating=False), user, "import")
                (result.updated if rec["version"] != before else result.unchanged).append(rec["id"])
            except StaleEdit as exc:
                raise StaleEdit(f"CSV line {line}: {exc} The import was refused as a whole.") from None
            except (RegisterError, ValueError) as exc:
                raise RegisterError(f"CSV line {line}: {exc}. Nothing was imported.") from None
    return result
