"""Load test: N simulated users on one app process, then on the stack (nginx + 3 replicas).

    python bench/load.py --users 20 --json

Each user is a real Streamlit session over WebSocket, as a browser tab is (no browser: 20 headless
browsers would saturate two cores on their own): it loads the page shell (``GET /``, which gives it
the proxy's sticky cookie), opens ``/_stcore/stream`` and sends the ``BackMsg`` a browser sends
(``rerun_script`` with a ``ClientState``: query string, page script hash / page name, widget
states), then reads ``ForwardMsg`` until ``script_finished``. Like a person, it lands on the
overview, then opens other pages from the navigation and changes the shared filters (LA, key
stage) in the sidebar, pausing to read between steps.

A *page view* is one script run asked for by a user (a page opened or a filter changed); its time
is from the user's action to the run's end (for the first view, from the shell request). An
*error* is a view that did not finish: an exception shown in the page, a page not found, a compile
error, no answer within the timeout, or a lost connection that could not be re-made.

The stack run kills one replica (SIGKILL) half-way through (when half the page views are done). Its users' WebSockets
close; like the Streamlit frontend, they reconnect and rerun the page they were on, and nginx
sends them to another replica. Such a view counts once, with the reconnect in its time
(``reconnects`` says how many attempts, ``sessions_reconnected`` how many users). The output says when
the kill happened, which replicas the sessions reconnected to and when the supervisor had the killed
replica back (answering its health check). The database is ``$EQUITY_DB``, else the bundled one
(``data/equity.duckdb``, built first if missing).

The register is on PostgreSQL for both runs (a throwaway server, ``bench.pgserver``), reached by
the replicas and by ``--writers`` writer processes as a role with INSERT only on the audit
(``partnerships.grant_app_role``). The writers add and edit partnerships through
``equity.analysis.partnerships`` during both runs; in the stack run one of them is SIGKILLed inside a
transaction, at the moment the replica is killed. At the end every acknowledged write must be in the
register exactly once, with consistent versions and one audit row per change, and the killed
transaction must have left nothing (``bench/writers.py``); the JSON's ``register`` says so.

The last line printed is one JSON object; the exit status is 1 when a run had errors or the
register lost anything.
"""
from __future__ import annotations

import argparse
import asyncio
import json
import math
import os
import random
import signal
import statistics
import sys
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

# Pages a user opens from the navigation, with how often (the overview and gaps most).
PAGES = {"": 3, "gaps": 3, "compare": 2, "school": 1, "families": 2, "neighbourhoods": 1,
         "keys-to-success": 2, "partnerships": 1, "meeting": 1, "data": 1, "guide": 1}
FILTER_LABELS = ("Local authority", "Key stage")


@dataclass
class View:
    page: str
    action: str  # "open", "page", "filter"
    seconds: float
    error: str | None = None
    replica: str = ""
    reconnected: bool = False


class Disconnected(Exception):
    pass


@dataclass
class Tab:
    """One browser tab's Streamlit session: cookie, socket, current page, URL query, widgets."""
    base: str  # http://host:port
    cookies: dict = field(default_factory=dict)
    ws: object = None
    replica: str = ""
    query: str = ""
    page_hash: str = ""
    page_name: str = ""
    pages: dict = field(default_factory=dict)  # url path -> page script hash (from the navigation)
    widgets: dict = field(default_factory=dict)  # label -> (widget id, [option labels], current label)
    widget_states: dict = field(default_factory=dict)  # widget id -> label sent

    def _cookie_header(self) -> str:
        return "; ".join(f"{k}={v}" for k, v in self.cookies.items())

    def _shell(self) -> None:
        """GET / as a browser does before opening the socket: the proxy sets its sticky cookie here."""
        req = urllib.request.Request(f"{self.base}/", headers={"Cookie": self._cookie_header()} if self.cookies else {})
        with urllib.request.urlopen(req, timeout=60) as r:
            r.read()
            for h in r.headers.get_all("Set-Cookie") or []:
                k, _, rest = h.partition("=")
                self.cookies[k.strip()] = rest.split(";", 1)[0]
            self.replica = r.headers.get("X-Equity-Replica", self.replica)

    async def connect(self) -> None:
        import websockets
        await asyncio.get_running_loop().run_in_executor(None, self._shell)
        url = "ws" + self.base[len("http"):] + "/_stcore/stream"
        xsrf = self.cookies.get("_streamlit_xsrf", "")
        headers = {"Origin": self.base}
        if self.cookies:
            headers["Cookie"] = self._cookie_header()
        self.ws = await websockets.connect(url, subprotocols=["streamlit", xsrf] if xsrf else ["streamlit"],
                                           additional_headers=headers, max_size=None, open_timeout=60,
                                           ping_interval=None)
        self.widgets, self.widget_states = {}, {}

    async def close(self) -> None:
        if self.ws is not None:
            try:
                await self.ws.close()
            except Exception:
                pass
            self.ws = None

    async def run(self, timeout: float) -> str | None:
        """Send the current ClientState as a rerun and read until the script has finished.
        Returns an error text, or None."""
        from streamlit.proto.BackMsg_pb2 import BackMsg
        from streamlit.proto.ForwardMsg_pb2 import ForwardMsg
        msg = BackMsg()
        cs = msg.rerun_script
        cs.query_string = self.query
        cs.page_script_hash = self.page_hash
        cs.page_name = self.page_name
        for wid, label in self.widget_states.items():
            w = cs.widget_states.widgets.add()
            w.id = wid
            w.string_value = label
        try:
            await self.ws.send(msg.SerializeToString())
        except Exception as exc:
            raise Disconnected(str(exc)) from exc
        error = None
        seen: dict = {}
        deadline = time.monotonic() + timeout
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                return f"no script_finished within {timeout:.0f} s"
            try:
                raw = await asyncio.wait_for(self.ws.recv(), left)
            except asyncio.TimeoutError:
                return f"no script_finished within {timeout:.0f} s"
            except Exception as exc:
                raise Disconnected(str(exc)) from exc
            fm = ForwardMsg()
            fm.ParseFromString(raw)
            kind = fm.WhichOneof("type")
            if kind == "delta" and fm.delta.WhichOneof("type") == "new_element":
                el = fm.delta.new_element
                t = el.WhichOneof("type")
                if t == "exception":
                    error = error or f"exception in page: {el.exception.type}: {el.exception.message[:200]}"
                elif t in ("selectbox", "radio"):
                    w = getattr(el, t)
                    if w.label in FILTER_LABELS:
                        current = w.raw_value if w.HasField("raw_value") else (
                            w.options[w.default] if w.HasField("default") and w.default < len(w.options) else "")
                        # the proto's value is the one the script set; a user's choice is what we sent
                        seen[w.label] = (w.id, list(w.options), self.widget_states.get(w.id, current))
            elif kind == "navigation":
                self.pages = {p.url_pathname: p.page_script_hash for p in fm.navigation.app_pages}
                self.page_hash = fm.navigation.page_script_hash
            elif kind == "page_info_changed":
                self.query = fm.page_info_changed.query_string
            elif kind == "page_not_found":
                error = error or f"page not found: {fm.page_not_found.page_name!r}"
            elif kind == "script_finished":
                status = fm.script_finished
                if status == ForwardMsg.FINISHED_WITH_COMPILE_ERROR:
                    return error or "compile error"
                if status in (ForwardMsg.FINISHED_SUCCESSFULLY, ForwardMsg.FINISHED_FRAGMENT_RUN_SUCCESSFULLY):
                    self.widgets = seen
                    return error
                # FINISHED_EARLY_FOR_RERUN: the script asked for a rerun (st.rerun, a page switch); wait on.


@dataclass
class Phase:
    views: list = field(default_factory=list)
    reconnects: int = 0
    started: float = 0.0
    ended: float = 0.0
    killed: str = ""
    restarted: bool | None = None
    kill_at: float | None = None       # seconds after the run's start
    back_after: float | None = None    # seconds from the kill until the killed replica answered again
    reconnected_users: set = field(default_factory=set)
    reconnected_to: set = field(default_factory=set)

    def summary(self) -> dict:
        ok = sorted(v.seconds for v in self.views if v.error is None)
        out = {"p50": round(statistics.median(ok), 3) if ok else None,
               "p95": round(ok[min(len(ok) - 1, int(round(0.95 * (len(ok) - 1))))], 3) if ok else None,
               "errors": sum(v.error is not None for v in self.views),
               "page_views": len(self.views),
               "max": round(ok[-1], 3) if ok else None,
               "reconnects": self.reconnects,
               "seconds": round(self.ended - self.started, 1),
               "replicas_seen": len({v.replica.split(",")[-1].strip() for v in self.views if v.replica})}
        out["sessions_reconnected"] = len(self.reconnected_users)
        if self.killed:
            out.update(killed=self.killed, kill_at=self.kill_at, restarted=self.restarted,
                       back_after=self.back_after, reconnected_to=sorted(self.reconnected_to))
        return out


async def user(i: int, base: str, actions: int, think: float, timeout: float, phase: Phase,
               stop_at: float, seed: int) -> None:
    rng = random.Random(seed * 1000 + i)
    tab = Tab(base)

    async def view(action: str, first: bool = False) -> None:
        start = time.monotonic()
        reconnected = False
        error = None
        for attempt in range(3):
            try:
                if first or reconnected:
                    await tab.close()
                    await tab.connect()
                error = await tab.run(timeout)
                if reconnected:
                    phase.reconnected_users.add(i)
                    phase.reconnected_to.add(tab.replica.split(",")[-1].strip())
                break
            except (Disconnected, OSError, asyncio.TimeoutError) as exc:
                # As the frontend does: reconnect (the proxy picks a live replica) and rerun the page.
                error = f"connection lost: {str(exc)[:120]}"
                reconnected = True
                phase.reconnects += 1
                tab.widget_states = {}
                await asyncio.sleep(0.5 * (attempt + 1))
            except Exception as exc:  # a protocol surprise is an error of this view, not of the run
                error = f"{type(exc).__name__}: {str(exc)[:160]}"
                break
        phase.views.append(View(tab.page_name or "overview", action, time.monotonic() - start, error,
                                tab.replica, reconnected))

    try:
        await asyncio.sleep(rng.uniform(0, think))  # users do not all arrive in the same instant
        await view("open", first=True)
        for _ in range(actions):
            if time.monotonic() > stop_at:
                break
            await asyncio.sleep(rng.uniform(0.5, 1.5) * think)  # reading the page
            filters = [w for w in tab.widgets.values() if len(w[1]) > 1]
            if filters and rng.random() < 0.4:
                wid, options, current = rng.choice(filters)
                tab.widget_states[wid] = rng.choice([o for o in options if o != current] or options)
                await view("filter")
            else:
                name = rng.choices(list(PAGES), weights=list(PAGES.values()))[0]
                tab.page_name = name
                tab.page_hash = tab.pages.get(name, "")
                tab.widget_states = {}  # a new page: its widgets start from the URL and the kept filters
                await view("page")
    finally:
        await tab.close()


async def run_phase(base: str, users: int, views: int, think: float, timeout: float, budget: float,
                    seed: int, kill=None) -> Phase:
    """``users`` users against ``base`` until together they have made at least ``views`` page views
    (or ``budget`` seconds have passed). ``kill``: called once when half the views are done."""
    phase = Phase(started=time.monotonic())
    actions = max(1, math.ceil(views / users) - 1) + 1  # a margin: a user may stop early at the budget
    stop_at = phase.started + budget

    async def killer():
        while len(phase.views) < users * (actions + 1) // 2:  # half of the views the users will make
            await asyncio.sleep(0.2)
        killed_at = time.monotonic()
        what, back = kill()
        phase.kill_at = round(killed_at - phase.started, 1)
        phase.killed = f"{what} after {len(phase.views)} page views"
        print(f"stack: {what} at {phase.kill_at} s, after {len(phase.views)} page views", file=sys.stderr)
        loop = asyncio.get_running_loop()
        while not await loop.run_in_executor(None, back):
            await asyncio.sleep(0.5)
        phase.back_after = round(time.monotonic() - killed_at, 1)
        print(f"stack: the killed replica answered again {phase.back_after} s after the kill", file=sys.stderr)

    tasks = [asyncio.create_task(user(i, base, actions, think, timeout, phase, stop_at, seed)) for i in range(users)]
    k = asyncio.create_task(killer()) if kill else None
    await asyncio.gather(*tasks)
    if k is not None:
        try:  # the restart may still be under way when the users are done
            await asyncio.wait_for(k, 120 if phase.kill_at is not None else 0.01)
        except asyncio.TimeoutError:
            pass
    phase.ended = time.monotonic()
    return phase


def _database() -> Path:
    from equity.ingest import build
    from equity import db
    path = db.default_path()
    if not path.exists():
        print(f"building {path} from the bundled data…", file=sys.stderr)
        build.build(None, path)
    return path


def _register(server) -> tuple[str, int]:
    """A register database on the throwaway server, made by its owner with one partnership every
    writer edits now and then (so writers also meet stale edits); the app and the writers reach it as
    a role with INSERT only on the audit. Returns (the role's URL, the shared partnership's id)."""
    import psycopg
    from equity.analysis import partnerships as reg
    owner = server.create_database("register")
    os.environ["EQUITY_REGISTER_URL"] = owner
    shared = reg.create(school_urn=141200, partner_urns=[138190], key_stage=4, baseline_year="2017/18",
                        measure="p8", start_date="2019-09-01", notes="shared-0", user="load test")
    with psycopg.connect(owner, autocommit=True) as con:
        con.execute("create role equity_app login")
    reg.grant_app_role(owner, "equity_app")
    return owner.replace("postgres@", "equity_app@", 1), shared["id"]


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--users", type=int, default=20)
    ap.add_argument("--views", type=int, default=120, help="page views per run, at least (default 120)")
    ap.add_argument("--replicas", type=int, default=3, help="replicas in the stack run (default 3)")
    ap.add_argument("--writers", type=int, default=3, help="register writer processes in each run (default 3)")
    ap.add_argument("--think", type=float, default=3.0, help="mean seconds a user reads a page (default 3)")
    ap.add_argument("--timeout", type=float, default=120.0, help="seconds a page view may take (default 120)")
    ap.add_argument("--budget", type=float, default=540.0, help="seconds each run may last (default 540)")
    ap.add_argument("--limit", type=float, default=1200.0,
                    help="seconds the whole test may last, database build excluded (default 1200)")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--json", action="store_true", help="end with one JSON line (always printed last)")
    a = ap.parse_args(argv)

    def on_term(signum, frame):  # stopped from outside: still stop the stack, writers and server
        raise KeyboardInterrupt
    signal.signal(signal.SIGTERM, on_term)
    from bench import pgserver
    from equity.cli.serve import Stack, healthy
    from bench import writers as register_writers

    path = _database()
    began = time.monotonic()
    result = {}
    load = {}
    server = pgserver.TempServer()
    try:
        server.start()
    except pgserver.ServerUnavailable as exc:
        print(f"load test: the register needs PostgreSQL: {exc}", file=sys.stderr)
        return 2
    try:
        url, shared = _register(server)
        os.environ["EQUITY_REGISTER_URL"] = url   # the replicas and the writers inherit it
        acks = [("load test", "create", shared, 1, "shared-0")]
        killed = None
        failed_writers = []
        for name, stack in (("single", Stack(replicas=1, db=path, proxy=False)),
                            ("stack", Stack(replicas=a.replicas, db=path))):
            with stack:
                writers = register_writers.Writers(a.writers, dict(os.environ), shared, seed=a.seed + len(result))
                kill = None
                if name == "stack":
                    def kill(stack=stack, writers=writers):
                        r = stack.members[0]
                        restarts = r.restarts
                        r.proc.kill()
                        writers.kill_one_mid_transaction()
                        return (f"replica 0 (127.0.0.1:{r.port}) killed",
                                lambda: r.restarts > restarts and healthy(r.port))
                load[f"{name}_start"] = os.getloadavg()
                # the stack's start and stop and the restart wait take time of their own: keep 90 s for them
                budget = min(a.budget, a.limit - (time.monotonic() - began) - 90)
                try:
                    phase = asyncio.run(run_phase(stack.url, a.users, a.views, a.think, a.timeout, budget, a.seed,
                                                  kill))
                finally:
                    writers.stop()
                load[f"{name}_end"] = os.getloadavg()
                if name == "stack":
                    phase.restarted = stack.members[0].restarts > 0
                if any(v.error for v in phase.views):  # the replicas' own account, before their logs go
                    for r in stack.members:
                        text = r.log.read_text(encoding="utf-8", errors="replace")
                        for tb in sorted(set(t.split("\n\n")[0] for t in text.split("Traceback")[1:]))[:3]:
                            print(f"  replica {r.index} log: Traceback{tb[-1500:]}", file=sys.stderr)
                acks += writers.acks
                killed = writers.killed or killed
                failed_writers += writers.failed()
                print(f"{name}: register writers: {len(writers.acks)} acknowledged writes, {writers.stale} stale "
                      f"edits refused, {writers.busy} busy" + (f"; {killed['writer']} killed inside a transaction "
                                                                f"on partnership {killed['partnership']}"
                                                                if name == "stack" and killed else ""),
                      file=sys.stderr)
            result[name] = phase.summary()
            errs = [f"{v.page} ({v.action}): {v.error}" for v in phase.views if v.error]
            print(f"{name}: {json.dumps(result[name])}", file=sys.stderr)
            if phase.reconnected_users:
                print(f"{name}: {len(phase.reconnected_users)} sessions reconnected ({phase.reconnects} attempts), "
                      f"to {', '.join(sorted(phase.reconnected_to))}", file=sys.stderr)
            for e in sorted(set(errs))[:10]:
                print(f"  error ({errs.count(e)}x): {e}", file=sys.stderr)
        result["register"] = register_writers.check(url, acks, killed)
        result["register"]["failed_writers"] = failed_writers
        print(f"register: {json.dumps(result['register'])}", file=sys.stderr)
    finally:
        server.stop()
    result["users"] = a.users
    result["database"] = str(path)
    result["cpus"] = os.cpu_count()
    result["loadavg"] = {k: [round(x, 1) for x in v] for k, v in load.items()}
    print(json.dumps(result))
    good = all(result[n]["errors"] == 0 for n in ("single", "stack")) and bool(result["stack"].get("killed"))
    return 0 if good and register_writers.ok(result["register"]) and not failed_writers else 1


if __name__ == "__main__":
    sys.exit(main())
