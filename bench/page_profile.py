"""Where a page's server time goes: pyinstrument over one page's run in a fresh session, with the
server's caches warm (what a user opening the page in a new tab costs the server), plus the size of
every figure the page sends.

    python bench/page_profile.py --db DB --page pages/families.py [--param urn=900002] [--html OUT.html]

Prints one JSON line (first run with cold caches, the fresh session, a rerun, every figure's size);
``--text``/``--html`` write the profile. pyinstrument is a bench-only requirement (requirements.txt),
never needed to run the app.
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:] = [str(ROOT)] + [p for p in sys.path if Path(p or ".").resolve() != Path(__file__).resolve().parent]


def _session(page: str, params: dict, timeout: float):
    from streamlit.testing.v1 import AppTest
    at = AppTest.from_file(str(ROOT / "dashboard.py"), default_timeout=timeout)
    for k, v in params.items():
        at.query_params[k] = v
    at.run()  # lands on the default page
    if not page.endswith("overview.py"):
        at.switch_page(page)
    return at


def _length(v) -> int:
    """Points in a trace's x (a list, or Plotly's binary array {"dtype", "bdata", "shape"})."""
    if isinstance(v, list):
        return len(v)
    if isinstance(v, dict) and "bdata" in v:
        import base64
        import numpy as np
        return int(v["shape"].split(",")[0]) if v.get("shape") else \
            len(base64.b64decode(v["bdata"])) // np.dtype(v["dtype"]).itemsize
    return 0


def figure_sizes(at) -> list[dict]:
    """Every Plotly figure the run sent: its key, JSON size and points (x values over all traces)."""
    out = []
    for el in at.get("plotly_chart"):
        spec = json.loads(el.proto.spec)
        pts = sum(_length(t.get("x", t.get("y"))) for t in spec.get("data", []))
        out.append({"id": el.proto.id[-24:], "bytes": len(el.proto.spec), "traces": len(spec.get("data", [])),
                    "points": pts, "types": sorted({t.get("type", "scatter") for t in spec.get("data", [])})})
    return out


def main(argv=None) -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--db", required=True)
    ap.add_argument("--page", required=True)
    ap.add_argument("--param", action="append", default=[])
    ap.add_argument("--html", help="write pyinstrument's HTML report here")
    ap.add_argument("--text", help="write pyinstrument's text report here")
    a = ap.parse_args(argv)
    os.environ["EQUITY_DB"] = a.db
    params = dict(p.split("=", 1) for p in a.param)
    from pyinstrument import Profiler
    from streamlit.runtime.scriptrunner import script_runner

    # AppTest runs the script in its own thread: profile inside it, around the script's execution
    profiling = {"on": False, "prof": None}
    real_exec = script_runner.exec_func_with_error_handling

    def exec_profiled(func, ctx):
        if not profiling["on"]:
            return real_exec(func, ctx)
        prof = profiling["prof"] = profiling["prof"] or Profiler(interval=0.001)
        prof.start()
        try:
            return real_exec(func, ctx)
        finally:
            prof.stop()
    script_runner.exec_func_with_error_handling = exec_profiled

    warm = _session(a.page, params, 600)
    t = time.perf_counter()
    warm.run()  # the first session's first run of the page: fills the caches
    cold_s = time.perf_counter() - t
    fresh = _session(a.page, params, 600)  # a new session: what a fresh tab costs with the caches warm
    profiling["on"] = True
    t = time.perf_counter()
    fresh.run()
    fresh_s = time.perf_counter() - t
    profiling["on"] = False
    prof = profiling["prof"]
    t = time.perf_counter()
    fresh.run()
    rerun_s = time.perf_counter() - t
    figs = figure_sizes(fresh)
    if a.html:
        Path(a.html).write_text(prof.output_html())
    if a.text:
        Path(a.text).write_text(prof.output_text(unicode=True, show_all=False))
    print(json.dumps({"page": a.page, "params": params, "first_cold_s": round(cold_s, 3),
                      "fresh_session_s": round(fresh_s, 3), "fresh_session_cpu_s": round(prof.last_session.cpu_time, 3),
                      "rerun_s": round(rerun_s, 3),
                      "errors": [e.message[:200] for e in fresh.exception],
                      "figures": figs, "figure_bytes": sum(f["bytes"] for f in figs)}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
