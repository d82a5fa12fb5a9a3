"""Run the app in a real server and drive it with headless Chromium (Debian's, no browser download).

Shared by ``bench/run.py`` (page-ready times, memory of the server) and ``tests/test_browser.py``.
Traffic goes to 127.0.0.1 only.
"""
from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]


def app_pages() -> list[tuple[str, str, str]]:
    """(file, title, url path) of every page in the app's navigation (pages/_nav.py)."""
    from pages._nav import PAGES
    return [(f, t, u) for items in PAGES.values() for f, t, _i, u in items]


def default_url_path() -> str:
    """The landing page's url path: dashboard.py marks "overview" as the default page (served at /)."""
    pages = app_pages()
    return "overview" if any(u == "overview" for _f, _t, u in pages) else pages[0][2]


def page_url(url_path: str) -> str:
    """The path a browser opens for a page: the default page lives at ``/`` (``/overview`` is not found)."""
    return "" if url_path == default_url_path() else url_path


def chromium_path() -> str | None:
    return CHROMIUM if os.path.exists(CHROMIUM) else shutil.which("chromium")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


BARE_PAGE = Path(__file__).resolve().parent / "bare_page.py"
# The floor a chart sets: one-line pages like the bare one, with one tiny Plotly chart (3 points) or one
# small pydeck map (3 dots), each on its own server. What these cost over the bare page is what
# loading and drawing the chart library costs, before any of the app's data.
# Two more say whether hiding the chart or another library gets under Plotly's floor: the same tiny
# Plotly chart in a collapsed expander, and a tiny Vega-Lite chart (Streamlit's st.line_chart).
FLOOR_PAGES = {"tiny Plotly page": Path(__file__).resolve().parent / "plotly_page.py",
               "small pydeck page": Path(__file__).resolve().parent / "pydeck_page.py",
               "tiny Plotly in a collapsed expander": Path(__file__).resolve().parent / "plotly_expander_page.py",
               "tiny Vega-Lite page": Path(__file__).resolve().parent / "vega_page.py"}
# Streamlit's chart chunks (JavaScript loaded by a tab at its first chart of that kind)
CHUNKS = {"plotly": "PlotlyChart.", "deck": "DeckGlJsonChart.", "dataframe": "DataFrame.", "vega": "embed."}


class Server:
    """``streamlit run dashboard.py`` (or another ``script``, e.g. the bare page) on a free local port,
    reading ``db_path``; ``env`` and ``args`` add environment variables and Streamlit options
    (``--secrets.files``, say)."""

    def __init__(self, db_path: Path, log_path: Path, port: int | None = None, env: dict | None = None,
                 args: list[str] | tuple = (), script: Path | None = None):
        self.port = port or free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        env = dict(os.environ, **(env or {}), EQUITY_DB=str(db_path), PYTHONPATH=str(ROOT))
        log_path.parent.mkdir(parents=True, exist_ok=True)
        self._log = open(log_path, "w")
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "streamlit", "run", str(script or ROOT / "dashboard.py"), "--server.headless", "true",
             "--server.port", str(self.port), "--server.address", "127.0.0.1",
             "--browser.gatherUsageStats", "false", "--server.fileWatcherType", "none",
             "--global.developmentMode", "false", *args],
            cwd=str(ROOT), env=env, stdout=self._log, stderr=subprocess.STDOUT)

    def wait_healthy(self, timeout: float = 120) -> None:
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            if self.proc.poll() is not None:
                raise RuntimeError(f"the app server exited with code {self.proc.returncode}")
            try:
                if urllib.request.urlopen(self.base + "/_stcore/health", timeout=2).read() == b"ok":
                    return
            except Exception:
                time.sleep(0.3)
        raise TimeoutError(f"the app server did not answer /_stcore/health within {timeout:.0f} s")

    def memory_mb(self) -> dict:
        """Resident memory of the server process now (VmRSS) and at its peak (VmHWM), MB."""
        out = {}
        for line in Path(f"/proc/{self.proc.pid}/status").read_text().splitlines():
            key, _, val = line.partition(":")
            if key in ("VmRSS", "VmHWM"):
                out[key] = round(int(val.split()[0]) / 1024, 1)
        return out

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=15)
        self._log.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.stop()


def launch(playwright):
    """Debian's chromium, headless, with no background network traffic."""
    return playwright.chromium.launch(executable_path=chromium_path(), args=CHROMIUM_ARGS)


def wait_ready(page, timeout_ms: int = 120_000) -> None:
    """Until the app is connected, its script has stopped running and no skeleton placeholders remain.

    Streamlit sets ``data-test-script-state`` to ``running`` as soon as it gets a rerun request; a
    short pause first lets a just-triggered rerun start before we look for ``notRunning``.
    """
    page.wait_for_timeout(300)
    page.wait_for_selector('[data-testid="stApp"][data-test-connection-state="CONNECTED"]', timeout=timeout_ms)
    page.wait_for_selector('[data-testid="stApp"][data-test-script-state="notRunning"]', timeout=timeout_ms)
    page.wait_for_function('document.querySelectorAll("[data-testid=stSkeleton]").length === 0',
                           timeout=timeout_ms)
    # charts draw after the script ends: wait until every Plotly chart has its SVG (and every Vega-Lite
    # chart, which only the bench's floor page has, its canvas)
    page.wait_for_function(
        """() => [...document.querySelectorAll('[data-testid="stPlotlyChart"]')]
                 .every(c => c.querySelector('svg.main-svg'))
              && [...document.querySelectorAll('[data-testid="stVegaLiteChart"]')]
                 .every(c => c.querySelector('canvas, svg.marks'))""", timeout=timeout_ms)
    page.wait_for_timeout(300)


def exceptions_shown(page) -> list[str]:
    return [e.inner_text()[:500] for e in page.query_selector_all('[data-testid="stException"]')]


# Page-ready as the browser saw it, without wait_ready's fixed pauses: a MutationObserver (installed
# before the app's own scripts) notes, on the page's clock (ms since navigation started), when the
# script state changed and when the page was last found ready (connected, a script run seen and
# finished, no skeletons, every Plotly chart drawn as SVG). Any change after that resets it.
TIMELINE_JS = """
(() => {
  const T = window.__bench = {ranAt: null, finishedAt: null, readyAt: null, connectedAt: null, charts: 0,
                              chartAt: null, drawnAt: null, longTasks: [], frames: []};
  // long tasks (main thread busy > 50 ms) and long animation frames with the scripts that ran in them
  // (by source file): where the browser's time went after the last message
  try { new PerformanceObserver(l => { for (const e of l.getEntries()) T.longTasks.push([e.startTime, e.duration]); })
          .observe({type: 'longtask', buffered: true}); } catch (e) {}
  try { new PerformanceObserver(l => { for (const e of l.getEntries()) T.frames.push(
          {start: e.startTime, duration: e.duration, scripts: (e.scripts || []).map(x =>
            [(x.sourceURL || '').split('/').pop(), x.invokerType, x.startTime, x.duration])}); })
          .observe({type: 'long-animation-frame', buffered: true}); } catch (e) {}
  const ready = () => {
    const app = document.querySelector('[data-testid="stApp"]');
    if (!app) return false;
    if (app.getAttribute('data-test-connection-state') === 'CONNECTED' && T.connectedAt === null)
      T.connectedAt = performance.now();
    if (app.getAttribute('data-test-script-state') === 'running') { T.ranAt = T.ranAt ?? performance.now(); return false; }
    if (T.ranAt === null || app.getAttribute('data-test-connection-state') !== 'CONNECTED') return false;
    if (document.querySelector('[data-testid=stSkeleton]')) return false;
    const charts = [...document.querySelectorAll('[data-testid="stPlotlyChart"]')];
    T.charts = charts.length;
    if (charts.length && T.chartAt === null) T.chartAt = performance.now();
    const drawn = charts.every(c => c.querySelector('svg.main-svg'))
      && [...document.querySelectorAll('[data-testid="stVegaLiteChart"]')].every(c => c.querySelector('canvas, svg.marks'));
    if (charts.length && drawn && T.drawnAt === null) T.drawnAt = performance.now();
    return drawn;
  };
  const look = (records) => {
    for (const r of records || []) {
      if (r.type === 'attributes' && r.attributeName === 'data-test-script-state') {
        const now = r.target.getAttribute('data-test-script-state');
        if (now === 'running' || r.oldValue === 'running') T.ranAt = T.ranAt ?? performance.now();
        if (now === 'notRunning' && T.ranAt !== null) T.finishedAt = performance.now();
      }
    }
    if (ready()) { T.readyAt = T.readyAt ?? performance.now(); } else { T.readyAt = null; }
  };
  const start = () => {
    new MutationObserver(look).observe(document.documentElement, {subtree: true, childList: true, attributes: true,
      attributeOldValue: true, attributeFilter: ['data-test-script-state', 'data-test-connection-state']});
    look();
  };
  if (document.documentElement) start(); else document.addEventListener('DOMContentLoaded', start);
})();
"""


def timed_visit(ctx, url: str, timeout_ms: int = 180_000) -> dict:
    """Open ``url`` in a fresh tab of ``ctx`` and time it until page-ready.

    ``ready_s``: from asking for the page to :func:`wait_ready` returning (its fixed pauses of
    0.3 s before and after included, as the earlier figures were); ``ready_at_s``: when the page
    was ready on the browser's own clock (no pauses); ``finished_at_s``: when the script run
    ended; ``ws_bytes``/``ws_frames``: what the server sent over the WebSocket (figures, tables,
    text); ``last_frame_s``: when its last message arrived (after it, the time is the browser's
    drawing); ``charts``: Plotly charts on the page. The tab is closed afterwards.
    """
    import time
    page = ctx.new_page()
    page.set_default_timeout(timeout_ms)
    page.add_init_script(TIMELINE_JS)
    frames = []
    t0 = time.perf_counter()
    page.on("websocket", lambda ws: ws.on(
        "framereceived", lambda payload: frames.append((time.perf_counter() - t0, len(payload)))))
    try:
        page.goto(url)
        wait_ready(page, timeout_ms)
        ready_s = time.perf_counter() - t0
        tl = page.evaluate("window.__bench")
        res = page.evaluate("""() => performance.getEntriesByType('resource').map(r => ({name: r.name.split('/').pop(),
            start: r.startTime, end: r.responseEnd, transfer: r.transferSize, body: r.decodedBodySize}))""")
        exc = exceptions_shown(page)
    except Exception as e:  # noqa: BLE001 - a page never ready is a result (None), not the end of the bench
        return {"ready_s": None, "error": f"{type(e).__name__}: {str(e)[:300]}",
                "timeline": page.evaluate("window.__bench") if not page.is_closed() else None, "exception": False}
    finally:
        page.close()
    ms = lambda v: round(v / 1000, 3) if v is not None else None  # noqa: E731
    return {"ready_s": round(ready_s, 3), "ready_at_s": ms(tl.get("readyAt")), "finished_at_s": ms(tl.get("finishedAt")),
            "connected_at_s": ms(tl.get("connectedAt")), "ws_bytes": sum(n for _t, n in frames),
            "ws_frames": len(frames), "last_frame_s": round(max((t for t, _n in frames), default=0.0), 3),
            "charts": tl.get("charts", 0), "exception": bool(exc), **browser_split(tl, res)}


def browser_split(tl: dict, resources: list[dict]) -> dict:
    """Where the browser's time went, from its Performance API (seconds on the page's clock).

    ``chunks``: each of Streamlit's chart chunks the tab loaded (``CHUNKS``): when its request started
    and ended, KB over the wire (0: from the browser's cache) and KB of JavaScript; ``scripts_s``:
    main-thread time in long animation frames by source file (the top few: a chunk's evaluation and
    the drawing code in it); ``long_tasks_s``: main-thread time in long tasks (> 50 ms) until
    ready; ``chart_at_s``/``drawn_at_s``: when the first Plotly chart element appeared and when every
    chart had been drawn.
    """
    ms = lambda v: round(v / 1000, 3) if v is not None else None  # noqa: E731
    ready = tl.get("readyAt") or float("inf")
    chunks = {}
    for kind, prefix in CHUNKS.items():
        hit = [r for r in resources if r["name"].startswith(prefix) and r["name"].endswith(".js")]
        if hit:
            r = hit[0]
            chunks[kind] = {"start_s": ms(r["start"]), "end_s": ms(r["end"]), "transfer_kb": round(r["transfer"] / 1024),
                            "js_kb": round(r["body"] / 1024)}
    scripts: dict[str, float] = {}
    for f in tl.get("frames") or []:
        if f["start"] > ready:
            continue
        for name, _kind, _start, dur in f["scripts"]:
            scripts[name or "(inline)"] = scripts.get(name or "(inline)", 0.0) + dur
    top = dict(sorted(((k, round(v / 1000, 3)) for k, v in scripts.items()), key=lambda kv: -kv[1])[:5])
    return {"chunks": chunks, "scripts_s": top,
            "long_tasks_s": round(sum(d for st, d in tl.get("longTasks") or [] if st <= ready) / 1000, 3),
            "chart_at_s": ms(tl.get("chartAt")), "drawn_at_s": ms(tl.get("drawnAt"))}


def page_ready_times(db_path: Path, views: list[tuple[str, str]], workdir: Path, tries: int = 3,
                     warmups: int = 1, log=print, floors: dict[str, Path] | None = None, floor_every: int = 4) -> dict:
    """Page-ready of a bare one-line Streamlit page, of the floor pages (``FLOOR_PAGES``: one tiny
    chart) and of every view of the app, side by side.

    ``views``: (name, url path with query string, "" for the landing page). Each page runs on its
    own server (all on ``db_path``). After a warm-up (every page opened ``warmups`` times: libraries
    imported, server caches filled, browser cache holding Streamlit's scripts), each view is opened
    ``tries`` times, each in a fresh tab (a new session), the bare page before every view and the
    floor pages before every ``floor_every``-th, so that all see the same load; the best try is reported.
    """
    import contextlib
    from playwright.sync_api import sync_playwright
    floors = FLOOR_PAGES if floors is None else floors
    out = {"bare": [], "floors": {n: [] for n in floors}, "views": {name: [] for name, _u in views}, "tries": tries}
    with contextlib.ExitStack() as stack:
        bare = stack.enter_context(Server(db_path, workdir / "bare-server.log", script=BARE_PAGE))
        fl = {n: stack.enter_context(Server(db_path, workdir / f"{Path(f).stem}-server.log", script=f))
              for n, f in floors.items()}
        app = stack.enter_context(Server(db_path, workdir / "app-server.log"))
        for srv in (bare, *fl.values(), app):
            srv.wait_healthy(300)
        with sync_playwright() as p:
            b = launch(p)
            ctx = b.new_context(viewport={"width": 1400, "height": 1000})
            for _ in range(warmups):
                timed_visit(ctx, bare.base + "/")
                for n, srv in fl.items():
                    timed_visit(ctx, srv.base + "/")
                for name, u in views:
                    v = timed_visit(ctx, f"{app.base}/{u}")
                    log(f"  warm-up {name}: {v['ready_s']} s {v.get('error', '')}")
            for i in range(tries):
                for j, (name, u) in enumerate(views):
                    if j % floor_every == 0:
                        for n, srv in fl.items():
                            out["floors"][n].append(f := timed_visit(ctx, srv.base + "/"))
                            log(f"  try {i + 1} {n}: {f['ready_s']} s")
                    out["bare"].append(timed_visit(ctx, bare.base + "/"))
                    out["views"][name].append(v := timed_visit(ctx, f"{app.base}/{u}"))
                    log(f"  try {i + 1} {name}: {v['ready_s']} s (bare {out['bare'][-1]['ready_s']} s) "
                        f"{v.get('error', '')}")
            b.close()
        out["rss_mb"] = app.memory_mb()
    return out


def best(visits: list[dict], key: str = "ready_s") -> dict:
    """The quickest of several visits (by ``key``)."""
    ok = [v for v in visits if v.get(key) is not None]
    return min(ok, key=lambda v: v[key]) if ok else (visits[0] if visits else {})
