"""Register writers for the load test (``bench/load.py``): separate processes that add and edit
partnerships through the app's own code (``equity.analysis.partnerships``, on ``$EQUITY_REGISTER_URL``) while
users load the pages, one of them SIGKILLed in the middle of a transaction; then the check that the
register lost nothing.

A writer prints one line per *acknowledged* write (the call returned: the transaction committed)::

    ack create|edit PID VERSION NOTES

Every write sets the partnership's notes to a value never used before, so each acknowledged write
leaves exactly one audit row ``(PID, VERSION, 'notes', NOTES)``. A *slow* writer also prints
``txn PID VERSION NOTES`` inside the transaction, after the partnership row is updated and before its
audit rows are written, and waits there: that is where it is killed. A writer stops at the end of
its standard input.

    python -m bench.writers NAME SEED [--slow] [--shared PID]
"""
from __future__ import annotations

import argparse
import os
import random
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
# Schools of the bundled data, paired as the register's tests pair them (a school never partners itself).
URNS = (141200, 138190, 125249, 137466, 136794, 139245)


def _say(line: str) -> None:
    sys.stdout.write(line + "\n")
    sys.stdout.flush()


def writer(name: str, seed: int, slow: bool, shared: int | None) -> int:
    from equity.analysis import partnerships as reg
    rng = random.Random(seed)
    stop = threading.Event()

    def watch_stdin():
        sys.stdin.read()
        stop.set()
    threading.Thread(target=watch_stdin, daemon=True).start()

    if slow:
        audit = reg._audit

        def slow_audit(con, pid, action, version, user, when, changes=None):
            notes = (changes or {}).get("notes", (None, ""))[1]
            _say(f"txn {pid} {version} {notes}")
            time.sleep(0.5)
            return audit(con, pid, action, version, user, when, changes)
        reg._audit = slow_audit

    mine: list[int] = []
    n = 0
    while not stop.is_set():
        n += 1
        notes = f"{name}-{n}"
        try:
            if not mine or rng.random() < 0.15:
                school, partner = rng.sample(URNS, 2)
                rec = reg.create(school_urn=school, partner_urns=[partner], key_stage=4, baseline_year="2017/18",
                                 measure="p8", start_date="2019-09-01", notes=notes, user=name)
                mine.append(rec["id"])
                _say(f"ack create {rec['id']} {rec['version']} {notes}")
            else:
                pid = shared if shared is not None and rng.random() < 0.3 else rng.choice(mine)
                cur = reg.get(pid)
                rec = reg.edit(pid, cur["version"], user=name, notes=notes)
                _say(f"ack edit {pid} {rec['version']} {notes}")
        except reg.StaleEdit:
            _say("stale")        # another writer saved the shared partnership first: refused, not written
        except reg.RegisterBusy:
            _say("busy")
        time.sleep(rng.uniform(0.3, 1.2))   # an officer is slower; fast enough for hundreds of writes a run
    return 0


class Writers:
    """``n`` writer processes (the first one slow, to be killed mid-transaction), read by threads."""

    def __init__(self, n: int, env: dict, shared: int, seed: int = 1):
        self.acks: list[tuple] = []      # (writer, kind, pid, version, notes)
        self.stale = self.busy = 0
        self.killed: dict = {}
        self._kill = threading.Event()
        self._lock = threading.Lock()
        self.procs = {}
        for i in range(n):
            name = f"writer-{i}"
            cmd = [sys.executable, "-m", "bench.writers", name, str(seed * 100 + i), "--shared", str(shared)]
            if i == 0:
                cmd.append("--slow")
            err = tempfile.TemporaryFile()  # a file, not a pipe: a chatty writer never blocks on it
            p = subprocess.Popen(cmd, cwd=ROOT, env=env, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                 stderr=err, text=True)
            p.errfile = err
            self.procs[name] = p
            threading.Thread(target=self._read, args=(name, p), daemon=True).start()

    def _read(self, name: str, p: subprocess.Popen) -> None:
        for line in p.stdout:
            parts = line.split()
            with self._lock:
                if parts[:1] == ["ack"]:
                    self.acks.append((name, parts[1], int(parts[2]), int(parts[3]), parts[4]))
                elif parts[:1] == ["stale"]:
                    self.stale += 1
                elif parts[:1] == ["busy"]:
                    self.busy += 1
                elif parts[:1] == ["txn"] and name == "writer-0" and self._kill.is_set() and not self.killed:
                    p.send_signal(signal.SIGKILL)
                    self.killed = {"writer": name, "partnership": int(parts[1]), "version": int(parts[2]),
                                   "notes": parts[3], "at": time.monotonic()}

    def kill_one_mid_transaction(self) -> None:
        """SIGKILL writer-0 at its next ``txn`` line: inside a transaction, its partnership row updated,
        its audit rows not yet written."""
        self._kill.set()

    def stop(self, timeout: float = 60) -> None:
        for p in self.procs.values():
            try:
                p.stdin.close()
            except OSError:
                pass
        for name, p in self.procs.items():
            try:
                p.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait()
            p.errfile.seek(0)
            err = p.errfile.read().decode("utf-8", "replace").strip()
            p.errfile.close()
            if p.returncode not in (0, -signal.SIGKILL) and err:
                print(f"{name} exited {p.returncode}:\n{err[-2000:]}", file=sys.stderr)

    def failed(self) -> list[str]:
        """Writers that stopped by themselves (not killed by us): an error, say why."""
        return [f"{n} exited {p.returncode}" for n, p in self.procs.items()
                if p.returncode not in (0, None) and not (self.killed and n == self.killed["writer"])]


def check(url: str, acks: list[tuple], killed: dict | None) -> dict:
    """Every acknowledged write present exactly once, versions consistent, one notes audit row per
    acknowledged change, the killed transaction absent. ``acks``: (writer, kind, pid, version, notes)."""
    import psycopg
    with psycopg.connect(url) as con:
        parts = {r[0]: (r[1], r[2]) for r in con.execute("select id, version, notes from partnership")}
        rows = con.execute("select partnership_id, version, field, new_value, action from audit").fetchall()
    notes_rows = Counter((pid, v, val) for pid, v, f, val, _ in rows if f == "notes")
    lost = sum(notes_rows[(pid, v, notes)] == 0 or pid not in parts for _, _, pid, v, notes in acks)
    duplicated = sum(notes_rows[(pid, v, notes)] > 1 for _, _, pid, v, notes in acks)
    acked = {(pid, v, notes) for _, _, pid, v, notes in acks}
    unacknowledged = sorted(k for k in notes_rows if k not in acked)
    # versions: each partnership's audit covers versions 1..version, one notes row each, and the
    # row holds the notes of its last version
    versions_bad = []
    by_pid: dict = {}
    for (pid, v, val), c in notes_rows.items():
        by_pid.setdefault(pid, {})[v] = (val, c)
    for pid, (version, notes) in parts.items():
        seen = by_pid.get(pid, {})
        if sorted(seen) != list(range(1, version + 1)) or any(c != 1 for _, c in seen.values()) \
                or seen.get(version, (None,))[0] != notes:
            versions_bad.append(pid)
    out = {"writes": len(acks), "lost": lost, "duplicated": duplicated,
           "audit_rows": sum(notes_rows.values()), "audit_rows_all_fields": len(rows),
           "unacknowledged_in_register": len(unacknowledged), "versions_inconsistent": len(versions_bad),
           "partnerships": len(parts)}
    if killed:
        there = notes_rows[(killed["partnership"], killed["version"], killed["notes"])] > 0 or \
            parts.get(killed["partnership"], (None, None))[1] == killed["notes"]
        out["killed_mid_transaction"] = {"writer": killed["writer"], "partnership": killed["partnership"],
                                         "rolled_back": not there}
    return out


def ok(result: dict) -> bool:
    """True when the register lost nothing and holds nothing it should not."""
    k = result.get("killed_mid_transaction")
    return (result["lost"] == 0 and result["duplicated"] == 0 and result["versions_inconsistent"] == 0
            and result["unacknowledged_in_register"] == 0 and result["audit_rows"] == result["writes"]
            and (k is None or k["rolled_back"]))


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description="one register writer (see bench/writers.py)")
    ap.add_argument("name")
    ap.add_argument("seed", type=int)
    ap.add_argument("--slow", action="store_true")
    ap.add_argument("--shared", type=int)
    a = ap.parse_args(argv)
    if not os.environ.get("EQUITY_REGISTER_URL"):
        print("EQUITY_REGISTER_URL is not set", file=sys.stderr)
        return 2
    return writer(a.name, a.seed, a.slow, a.shared)


if __name__ == "__main__":
    sys.exit(main())
