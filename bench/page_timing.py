"""Time one page of the app with Streamlit's AppTest, in a fresh process (run as a child by bench/run.py).

    python bench/page_timing.py --db DB --page pages/families.py [--param key=value ...] [--json OUT]

* landing: the first run of the app (``dashboard.py`` lands on its default page), in a process
  that has already imported the app's libraries (a running server has);
* first: the first run of the page in this process (empty Streamlit and equity caches, except what
  the landing run filled, as for a user who lands on the app and then opens the page);
* warm: the median of three reruns of the same page and filters (a user changing nothing; what
  every widget interaction costs at least);
* equity calls: every top-level call from the page into ``equity`` during its first run (name and
  seconds), and "queries alone": the same calls made again directly, without Streamlit, with the
  equity module caches cleared (the page's data work, without its widgets and charts).
"""
from __future__ import annotations

import argparse
import functools
import importlib
import inspect
import json
import os
import pkgutil
import statistics
import sys
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
# the script's own folder first on sys.path would shadow the app's modules (e.g. pages/)
sys.path[:] = [str(ROOT)] + [p for p in sys.path if Path(p or ".").resolve() != Path(__file__).resolve().parent]

SKIP_MODULES = {"equity.ingest.build", "equity.db", "equity.cli", "equity.__main__", "equity.ingest.sniff",
                "equity.report", "equity.ingest.checks", "equity.present.style", "equity.ingest.errors", "equity.codes"}

_state = threading.local()
CALLS: list[dict] = []


def _wrap(modname: str, name: str, fn):
    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        depth = getattr(_state, "depth", 0)
        _state.depth = depth + 1
        t = time.perf_counter()
        try:
            return fn(*args, **kwargs)
        finally:
            _state.depth = depth
            if depth == 0:
                CALLS.append({"call": f"{modname.removeprefix('equity.')}.{name}", "seconds": time.perf_counter() - t,
                              "fn": fn, "args": args, "kwargs": kwargs})
    wrapper._bench_wrapped = True
    return wrapper


def instrument() -> list:
    """Wrap the public functions of every equity feature module; returns the lru caches found."""
    import equity
    caches = []
    for m in pkgutil.walk_packages(equity.__path__, "equity."):
        modname = m.name
        if m.ispkg or modname in SKIP_MODULES or modname.startswith(("equity.cli", "equity.ingest")):
            continue
        try:
            mod = importlib.import_module(modname)
        except Exception:
            continue
        for name, obj in list(vars(mod).items()):
            if name.startswith("_") or getattr(obj, "_bench_wrapped", False):
                if hasattr(obj, "cache_clear"):
                    caches.append(obj)
                continue
            is_fn = inspect.isfunction(obj) or hasattr(obj, "cache_info")
            if is_fn and getattr(obj, "__module__", None) == modname:
                if hasattr(obj, "cache_clear"):
                    caches.append(obj)
                setattr(mod, name, _wrap(modname, name, obj))
        for obj in vars(mod).values():
            if hasattr(obj, "cache_clear") and obj not in caches and getattr(obj, "__module__", "").startswith("equity"):
                caches.append(obj)
    return caches


def preimport() -> None:
    """What a running server has already imported before a user's first page."""
    for m in ("pandas", "numpy", "plotly.express", "plotly.graph_objects", "pydeck", "scipy.stats",
              "streamlit", "streamlit.testing.v1"):
        try:
            importlib.import_module(m)
        except Exception:
            pass


def measure(db: str, page: str, params: dict, reruns: int = 3, timeout: float = 600) -> dict:
    os.environ["EQUITY_DB"] = db
    preimport()
    caches = instrument()
    from streamlit.testing.v1 import AppTest
    from bench.browser import app_pages
    landing = next((f for f, _t, u in app_pages() if u == "overview"), app_pages()[0][0])

    at = AppTest.from_file(str(ROOT / "dashboard.py"), default_timeout=timeout)
    for k, v in params.items():
        at.query_params[k] = v
    t = time.perf_counter()
    at.run()
    t_landing = time.perf_counter() - t
    CALLS.clear() if page != landing else None
    if page == landing:
        t_first = t_landing
    else:
        at.switch_page(page)
        t = time.perf_counter()
        at.run()
        t_first = time.perf_counter() - t
    first_calls = list(CALLS)
    errors = [e.message for e in at.exception]
    warm = []
    for _ in range(reruns):
        t = time.perf_counter()
        at.run()
        warm.append(time.perf_counter() - t)
    errors += [e.message for e in at.exception]

    # the same equity calls again, directly, with equity's own caches cleared
    for c in caches:
        try:
            c.cache_clear()
        except Exception:
            pass
    CALLS.clear()
    t = time.perf_counter()
    direct_errors = []
    for c in first_calls:
        try:
            c["fn"](*c["args"], **c["kwargs"])
        except Exception as exc:  # a call that needs Streamlit's state: reported, not fatal
            direct_errors.append(f"{c['call']}: {type(exc).__name__}: {exc}"[:200])
    t_direct = time.perf_counter() - t
    by_call: dict[str, list] = {}
    for c in first_calls:
        by_call.setdefault(c["call"], []).append(c["seconds"])
    top = sorted(((k, sum(v), len(v)) for k, v in by_call.items()), key=lambda x: -x[1])
    return {"page": page, "params": params, "landing_s": round(t_landing, 3), "first_s": round(t_first, 3),
            "warm_s": round(statistics.median(warm), 3), "warm_all_s": [round(w, 3) for w in warm],
            "equity_in_first_s": round(sum(c["seconds"] for c in first_calls), 3),
            "queries_alone_s": round(t_direct, 3), "n_calls": len(first_calls),
            "top_calls": [{"call": k, "seconds": round(s, 3), "n": n} for k, s, n in top[:6]],
            "errors": errors[:5], "direct_errors": direct_errors[:5],
            "elements": {"charts": len(at.get("plotly_chart")), "tables": len(at.dataframe),
                         "maps": len(at.get("deck_gl_json_chart"))}}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--db", required=True)
    ap.add_argument("--page", required=True)
    ap.add_argument("--param", action="append", default=[], help="query parameter key=value (repeatable)")
    ap.add_argument("--reruns", type=int, default=3)
    ap.add_argument("--json")
    a = ap.parse_args(argv)
    params = dict(p.split("=", 1) for p in a.param)
    out = measure(a.db, a.page, params, a.reruns)
    text = json.dumps(out, indent=1, default=str)
    if a.json:
        Path(a.json).write_text(text)
    print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
