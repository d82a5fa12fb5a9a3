"""Many simultaneous app sessions on one database while a rebuild is swapped in under them.

Used by ``tests/test_concurrency.py`` (the bundled data) and ``bench/run.py`` (national scale).

Each session is a thread running its own ``AppTest`` of ``dashboard.py``: it opens pages in a
random (seeded) order and changes the shared filters (LA, key stage) where the page has them,
timing every run. After every session has finished one run, ``rebuild()`` is called in another
thread (in the tests: ``equity.ingest.build.build`` writing a *different* build to the same path).

What is checked afterwards:

* no run raised (``AppTest.exception`` empty) and no thread failed;
* every query any session ran (``equity.db.query``: name, parameters) returned exactly what the
  same query returns on the old build or on the new one (a digest of the whole result), so no
  session saw a half-written or mixed-up table;
* the text of every page run that started after the swap and found the new build, or ran wholly
  before the rebuild began, equals what a lone session sees on that build (runs that overlap the
  rebuild may mix the two builds query by query, and are counted but not compared).
"""
from __future__ import annotations

import contextlib
import hashlib
import json
import random
import re
import statistics
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
FILTERS = (("selectbox", "la"), ("radio", "ks"))


def digest(df) -> str:
    """A fingerprint of a query result: columns, types and every row (in any order: a query whose
    ORDER BY leaves ties may return equal rows in a different order from one run to the next)."""
    h = hashlib.sha256()
    h.update(json.dumps([list(map(str, df.columns)), [str(t) for t in df.dtypes]]).encode())
    lines = df.to_csv(index=False, header=False).splitlines()
    h.update("\n".join(sorted(lines)).encode("utf-8", "surrogatepass"))
    return h.hexdigest()[:20]


def _freeze(params) -> str:
    return json.dumps(params, sort_keys=True, default=str)


class QueryRecorder:
    """Wraps ``equity.db.query`` to record (query, parameters, database, result digest) of every call."""

    def __init__(self):
        self.records: list[tuple] = []
        self._lock = threading.Lock()
        self._orig = None

    def __enter__(self):
        from equity import db
        self._orig = orig = db.query

        def query(name, params=None, path=None):
            df = orig(name, params, path)
            where = str(Path(path).resolve()) if path else str(db.default_path())
            with self._lock:
                self.records.append((name, _freeze(params), where, digest(df), time.monotonic()))
            return df
        db.query = query
        return self

    def __exit__(self, *exc):
        from equity import db
        db.query = self._orig


@contextlib.contextmanager
def shared_runtime():
    """Let many AppTests run at once in one process, sharing one (mock) Streamlit runtime.

    Each ``AppTest.run`` installs its own mock ``Runtime`` as the process-wide singleton and
    removes it when it ends, and patches ``config.get_option`` for its duration: both are global,
    so concurrent runs would tear each other's down ("Runtime hasn't been created!"). Here one
    runtime is installed for the whole run and AppTest's per-run swaps are made no-ops, as in a
    real server, where every session shares one runtime (and its caches). Compiled page scripts
    are shared too (one ScriptCache, as in a server): compiling the same script in many threads at
    once trips a CPython 3.11.7 bug ("AST constructor recursion depth mismatch", fixed in 3.11.8).
    """
    from unittest.mock import MagicMock, patch

    import streamlit.testing.v1.app_test as app_test_mod
    from streamlit import config
    from streamlit.runtime import Runtime
    from streamlit.runtime.caching.storage.dummy_cache_storage import MemoryCacheStorageManager
    from streamlit.runtime.dataframe_source_manager import DataframeSourceManager
    from streamlit.runtime.media_file_manager import MediaFileManager
    from streamlit.runtime.memory_media_file_storage import MemoryMediaFileStorage
    from streamlit.runtime.scriptrunner.script_cache import ScriptCache
    from streamlit.testing.v1.util import build_mock_config_get_option

    runtime = MagicMock(spec=Runtime)
    runtime.media_file_mgr = MediaFileManager(MemoryMediaFileStorage("/mock/media"))
    runtime.dataframe_source_mgr = DataframeSourceManager()
    runtime.cache_storage_manager = MemoryCacheStorageManager()

    class PerRunRuntime:  # what AppTest sees as ``Runtime``: its per-run installs land here, harmlessly
        _instance = None

    script_cache = ScriptCache()
    saved = Runtime._instance
    Runtime._instance = runtime
    try:
        with patch.object(app_test_mod, "Runtime", PerRunRuntime), \
                patch.object(app_test_mod, "patch_config_options", lambda overrides: contextlib.nullcontext()), \
                patch.object(app_test_mod, "ScriptCache", lambda: script_cache), \
                patch.object(config, "get_option", new=build_mock_config_get_option({"global.appTest": True})):
            yield
    finally:
        Runtime._instance = saved


_CLOCK = re.compile(r"\b\d{1,2} [A-Z][a-z]+ \d{4},? \d{1,2}:\d{2}(:\d{2})?\b")


def page_text(at) -> tuple:
    """What a reader sees of a run, as text: markdown, captions, metrics, table shapes. A date and
    time of day ("Made 23 November 2026 08:46", when a pack was put together) is replaced by
    ``<time>``: it says when the run happened, not what the database holds."""
    parts = []
    for kind in ("markdown", "caption", "metric", "header", "subheader", "warning", "info", "error"):
        try:
            els = at.get(kind)
        except Exception:
            continue
        for e in els:
            parts.append((kind, _CLOCK.sub("<time>", str(getattr(e, "value", ""))), str(getattr(e, "label", ""))))
    parts += [("table", str(d.value.shape)) for d in at.dataframe]
    return tuple(parts)


@dataclass
class Run:
    session: int
    page: str
    filters: tuple
    start: float
    end: float
    errors: list
    text: tuple
    prev: str = ""  # the page this session showed before (state carries over between pages)
    url: tuple = ()  # the query string after the run: every filter and page widget bound to the URL

    @property
    def seconds(self) -> float:
        return self.end - self.start


@dataclass
class Outcome:
    runs: list = field(default_factory=list)
    thread_errors: list = field(default_factory=list)
    rebuild_window: tuple | None = None
    rebuild_error: str | None = None
    queries: list = field(default_factory=list)

    def latencies(self) -> list[float]:
        return [r.seconds for r in self.runs]

    def p95(self) -> float:
        xs = sorted(self.latencies())
        return xs[min(len(xs) - 1, int(round(0.95 * (len(xs) - 1))))] if xs else float("nan")

    def summary(self) -> str:
        xs = self.latencies()
        if not xs:
            return "no runs"
        return (f"{len(xs)} page runs in {len({r.session for r in self.runs})} sessions: median "
                f"{statistics.median(xs) * 1000:.0f} ms, p95 {self.p95() * 1000:.0f} ms, max {max(xs) * 1000:.0f} ms")


def _raw_value(w, label: str):
    """The option value behind a displayed option label (AppTest only knows the labels).

    Tries the label itself, the code in its last brackets (``Surrey (936)`` -> ``'936'``) and the
    first number in it (``KS4 (age 16)`` -> ``4``); returns the one the widget formats to ``label``.
    """
    import re
    cands = [label]
    m = re.search(r"\(([^()]*)\)\s*$", label)
    if m:
        cands.append(m.group(1))
    cands += [int(x) for x in re.findall(r"\d+", label)[:1]]
    for c in cands:
        try:
            if w.format_func(c) == label:
                return c
        except Exception:
            continue
    return None


def _set_filters(at, rng: random.Random) -> tuple:
    """Pick a random option in each shared filter the page shows (as a user clicking would)."""
    chosen = []
    for kind, key in FILTERS:
        try:
            w = getattr(at, kind)(key=key)
        except Exception:
            continue
        opts = list(w.options)
        if len(opts) > 1:
            raw = _raw_value(w, opts[rng.randrange(len(opts))])
            if raw is not None:
                w.set_value(raw)
                chosen.append((key, raw))
    return tuple(chosen)


def run_sessions(db_path: Path, pages: list[str], n_sessions: int = 20, rebuild=None, *, seed: int = 0,
                 max_runs: int = 8, runs_after_swap: int = 1, max_seconds: float = 600,
                 timeout: float = 600) -> Outcome:
    """Run ``n_sessions`` sessions at once on ``db_path`` (must be $EQUITY_DB); see the module docstring."""
    from streamlit.testing.v1 import AppTest

    out = Outcome()
    lock = threading.Lock()
    first_done = threading.Barrier(n_sessions + 1)
    swap_done = threading.Event()
    deadline = time.monotonic() + max_seconds

    def session(i: int) -> None:
        rng = random.Random(seed * 1000 + i)
        passed_barrier = False
        try:
            at = AppTest.from_file(str(ROOT / "dashboard.py"), default_timeout=timeout)
            at.run()
            after, prev, n = 0, "(landing)", -1
            while True:  # no rebuild: max_runs runs; a rebuild: up to max_runs, the swap, runs_after_swap more
                n += 1
                page = rng.choice(pages)
                at.switch_page(page)
                filters = ()
                if n % 2 == 1:  # every other run changes the filters the page had last time
                    filters = _set_filters(at, rng)
                t0 = time.monotonic()
                swapped_before = swap_done.is_set()
                at.run()
                t1 = time.monotonic()
                run = Run(i, page, filters, t0, t1, [e.message for e in at.exception], page_text(at), prev)
                run.filters = _current_filters(at)
                run.url = url_params(at)
                prev = page
                with lock:
                    out.runs.append(run)
                if not passed_barrier:
                    passed_barrier = True
                    first_done.wait(timeout=max_seconds)
                if rebuild is None:
                    if n + 1 >= max_runs or time.monotonic() > deadline:
                        break
                    continue
                if swapped_before:
                    after += 1
                if after >= runs_after_swap and n + 1 >= min(max_runs, 2):
                    break
                if n + 1 >= max_runs and not swap_done.is_set():
                    # enough runs before the swap: wait for it, rather than keep twenty sessions' load on
                    # the rebuild until the deadline passes with no run after the swap
                    swap_done.wait(timeout=max(0.0, deadline - time.monotonic()))
                if time.monotonic() > deadline and not swap_done.is_set():
                    break  # the rebuild did not finish in time: no run follows it, and the caller says so
        except Exception as exc:  # noqa: BLE001 - reported, the test fails on it
            with lock:
                out.thread_errors.append(f"session {i}: {type(exc).__name__}: {exc}")
        finally:
            if not passed_barrier:
                try:
                    first_done.wait(timeout=1)
                except threading.BrokenBarrierError:
                    pass

    def rebuilder() -> None:
        try:
            first_done.wait(timeout=max_seconds)
        except threading.BrokenBarrierError:
            pass
        t0 = time.monotonic()
        try:
            if rebuild is not None:
                rebuild()
        except Exception as exc:  # noqa: BLE001
            out.rebuild_error = f"{type(exc).__name__}: {exc}"
        finally:
            out.rebuild_window = (t0, time.monotonic())
            swap_done.set()

    with QueryRecorder() as rec, shared_runtime():
        threads = [threading.Thread(target=session, args=(i,), name=f"session-{i}") for i in range(n_sessions)]
        threads.append(threading.Thread(target=rebuilder, name="rebuild"))
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=max_seconds + timeout)
        out.queries = list(rec.records)
    return out


def _current_filters(at) -> tuple:
    """The values of the shared filters as the run used them (part of what decides the page's text)."""
    vals = []
    for kind, key in FILTERS:
        try:
            vals.append((key, str(getattr(at, kind)(key=key).value)))
        except Exception:
            continue
    return tuple(vals)


def url_params(at) -> tuple:
    """The run's query string as sorted (key, value) pairs: what a bookmark of the view holds."""
    return tuple(sorted((str(k), str(v)) for k, v in at.query_params.items()))


def first_difference(a: tuple, b: tuple) -> str:
    """Where two page texts part (for a failure message)."""
    for i, (x, y) in enumerate(zip(a, b)):
        if x != y:
            return f"element {i}: {str(x)[:200]!r} vs {str(y)[:200]!r}"
    return f"lengths {len(a)} vs {len(b)}"


def check_queries(out: Outcome, old_db: Path, new_db: Path) -> tuple[list[str], int]:
    """Every recorded query result equals the same query's result on the old or the new build.

    Returns the mismatches and how many distinct queries give different results on the two builds
    (so a caller can see that the swap really changed what the pages read).
    """
    from equity import db
    wrong, seen = [], {}
    for name, params, _where, dig, _t in out.queries:
        key = (name, params)
        if key not in seen:
            p = json.loads(params) if params != "null" else None
            seen[key] = (digest(db.query(name, p, path=old_db)), digest(db.query(name, p, path=new_db)))
        if dig not in seen[key]:
            wrong.append(f"{name} {params[:120]}: result matches neither build")
    return wrong, sum(1 for a, b in seen.values() if a != b)


def reference_texts(views: set, db_path: Path, timeout: float = 600) -> dict:
    """What a lone session sees on ``db_path`` for each view ``(page, url)`` (Streamlit caches cleared).

    A view is opened as a bookmark would be: a fresh session lands with the URL's shared filters,
    then the page is opened with the whole query string (shared filters and the page's own widgets).
    Views whose URL the page does not restore exactly are left out (nothing to compare against).
    """
    import os

    import streamlit as st
    from streamlit.testing.v1 import AppTest
    os.environ["EQUITY_DB"] = str(db_path)
    st.cache_data.clear()
    st.cache_resource.clear()
    refs = {}
    for page, url in sorted(views):
        params = dict(url)
        at = AppTest.from_file(str(ROOT / "dashboard.py"), default_timeout=timeout)
        for key, _kind in FILTERS:
            if key in params:
                at.query_params[key] = params[key]
        at.run()
        at.switch_page(page)
        at.query_params = dict(params)
        at.run()
        if url_params(at) != tuple(url):
            continue
        refs[(page, url)] = page_text(at)
    return refs
