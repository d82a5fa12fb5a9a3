"""Partnerships between schools: the register officers keep, and the tracker that follows both schools.

**The register is user data**, not analytics: it lives in its own SQLite file
(``data/user/partnerships.sqlite``, or ``$EQUITY_USER_DB``), apart from the DuckDB database that
``python -m equity build`` replaces wholesale, so it survives every rebuild.

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
import random
import sqlite3
import time
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date, datetime, timezone
from pathlib import Path

import numpy as np
import pandas as pd

from . import years
from .db import ROOT

DEFAULT_USER_DB = ROOT / "data" / "user" / "partnerships.sqlite"
BUSY_TIMEOUT_S = 30.0     # one wait inside SQLite for another writer's lock
WAIT_FOR_WRITE_S = 120.0  # all waits for one write, retries included
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


class RegisterBusy(RegisterError):
    """Another writer kept the register locked for longer than ``WAIT_FOR_WRITE_S``; nothing changed."""


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

    def open_and_set_up() -> sqlite3.Connection:
        con = sqlite3.connect(str(p), timeout=BUSY_TIMEOUT_S, isolation_level=None)
        try:
            con.row_factory = sqlite3.Row
            con.execute(f"pragma busy_timeout = {int(BUSY_TIMEOUT_S * 1000)}")
            con.execute("pragma journal_mode = wal")
            con.execute("pragma synchronous = full")
            con.execute("pragma foreign_keys = on")
            con.executescript(_SCHEMA)
            return con
        except BaseException:
            con.close()
            raise
    return _until_unlocked(open_and_set_up, "opening", p)


def _until_unlocked(step, doing: str, path: Path):
    """``step()``, tried again while SQLite reports the register locked or busy, for up to
    ``WAIT_FOR_WRITE_S`` seconds in all (short random pauses between tries, so waiting writers do
    not retry in step); then :class:`RegisterBusy`. Any other error is raised at once."""
    deadline = time.monotonic() + WAIT_FOR_WRITE_S
    while True:
        try:
            return step()
        except sqlite3.OperationalError as exc:
            text = str(exc).lower()
            if "locked" not in text and "busy" not in text:
                raise
            if time.monotonic() >= deadline:
                raise RegisterBusy(f"{doing} the partnership register {path}: another user kept it locked for "
                                   f"more than {WAIT_FOR_WRITE_S:.0f} s. Nothing was changed; try again.") from exc
            time.sleep(random.uniform(0.02, 0.25))


def _commit(con: sqlite3.Connection) -> None:
    con.execute("commit")


@contextmanager
def _transaction(path=None):
    """``BEGIN IMMEDIATE`` (take the write lock first), commit on success, roll back on any error."""
    p = Path(path) if path else user_db_path()

    def begin() -> sqlite3.Connection:
        con = connect(p)
        try:
            con.execute("begin immediate")
            return con
        except BaseException:
            con.close()
            raise
    con = _until_unlocked(begin, "saving to", p)
    try:
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

def _absent(path) -> bool:
    """True when no register file exists yet: reading then shows an empty register and creates nothing."""
    return not (Path(path) if path else user_db_path()).exists()


def get(pid: int, path=None) -> dict:
    if _absent(path):
        raise RegisterError(f"no partnership with id {pid}")
    con = connect(path)
    try:
        return _row(con, int(pid))
    finally:
        con.close()


def register(status: str | None = None, path=None) -> pd.DataFrame:
    """All partnerships (or those with ``status``), newest first, one row each, columns CSV_COLUMNS."""
    if _absent(path):
        return pd.DataFrame(columns=list(CSV_COLUMNS))
    con = connect(path)
    try:
        sql = "select * from partnership" + (" where status = ?" if status else "") + " order by id desc"
        rows = [dict(r) for r in con.execute(sql, [status] if status else [])]
    finally:
        con.close()
    return pd.DataFrame(rows, columns=list(CSV_COLUMNS) if not rows else None).reindex(columns=list(CSV_COLUMNS))


def audit(pid: int | None = None, path=None) -> pd.DataFrame:
    """The audit trail (oldest first): who changed which field, from what to what, and when."""
    cols = ["seq", "partnership_id", "action", "field", "old_value", "new_value", "version", "changed_by",
            "changed_at"]
    if _absent(path):
        return pd.DataFrame(columns=cols)
    con = connect(path)
    try:
        sql = "select * from audit" + (" where partnership_id = ?" if pid is not None else "") + " order by seq"
        rows = [dict(r) for r in con.execute(sql, [int(pid)] if pid is not None else [])]
    finally:
        con.close()
    return pd.DataFrame(rows).reindex(columns=cols) if rows else pd.DataFrame(columns=cols)


# ---- CSV ---------------------------------------------------------------------------------------

def export_csv(path=None) -> str:
    """The whole register as CSV text (columns CSV_COLUMNS), ready to download or re-import."""
    df = register(path=path)
    from .csv_export import to_csv  # the one CSV writer: formula-like text neutralised
    return to_csv(df)


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
        from .keys_to_success import format_value as _fmt, measure_label
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
                parts.append(f"{first['name']} ({role}) went from {_fmt(self.measure, first.vs_family, True)} to "
                             f"{_fmt(self.measure, last.vs_family, True)} against its family "
                             f"({years.label(int(first.start_year))} to {years.label(int(last.start_year))})")
        text = f"Disadvantaged pupils' {lab}, school minus family average: " + "; ".join(parts) + "." if parts else \
            f"Too few family figures to compare {lab} with the families."
        return text


def progress(partnership: dict, *, size: int = 20, radius_km: float | None = None, weights=None,
             path=None) -> Progress:
    """Track both schools of a partnership against their own families from the baseline year.

    Each school's family is fixed at the baseline year (its nearest schools in context then,
    :func:`equity.families.family`), and followed year by year: the family average is the plain
    mean of members with a figure that year. A school that converted to an academy is followed
    under its successor URN. Years on the far side of a break in the series (for example the
    pandemic years 2019/20-2021/22) are not compared with the baseline.
    """
    from . import families
    from . import keys_to_success as kts

    p = dict(partnership)
    ks = int(p["key_stage"])
    base = int(p["baseline_year"])
    measure = p.get("measure") or kts.OUTCOME_MEASURES[ks][0]
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
            members = [int(u) for u in fam.urn]
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
    fmt = kts.format_value
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
    (:func:`equity.keys_to_success.compare_cohort`), from their (most common) baseline year to the
    latest comparable year published. Returns ``(CohortComparison or None, message)``: None with
    "awaiting data" when no year after the baseline is published yet."""
    from . import keys_to_success as kts
    reg = register(status, path=user_path)
    reg = reg[reg.key_stage == key_stage]
    if reg.empty:
        return None, f"No KS{key_stage} partnerships in the register yet."
    base = int(reg.baseline_year.mode().iloc[0])
    cohort = reg[reg.baseline_year == base]
    measure = cohort.measure.dropna().mode().iloc[0] if cohort.measure.notna().any() else kts.OUTCOME_MEASURES[key_stage][0]
    later = [y for y in kts.years_with(key_stage, measure, None, path) if y > base and not kts.comparable(base, y, key_stage, measure)]
    if not later:
        return None, (f"Awaiting data: the {len(cohort)} KS{key_stage} partnership(s) with baseline {years.label(base)} "
                      "have no published results after their baseline yet. Nothing is projected.")
    partners = {u for v in cohort.partner_urns for u in parse_urns(v)}
    res = kts.compare_cohort(cohort.school_urn.astype(int), key_stage, measure, base, later[-1],
                             exclude_urns=partners, n_boot=n_boot, label="Partnership cohort", path=path)
    return res, res.sentence()
