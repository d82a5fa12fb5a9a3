"""Run the app in a real server and drive it with headless Chromium (Debian's, no browser download).

Shared by ``bench/run.py`` (page-ready times, memory of the server) and ``tests/test_browser.py``.
Traffic goes to 127.0.0.1 only.
"""
from __future__ import annotations

import ast
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
    """(file, title, url path) of every page listed in dashboard.py's PAGES (each file exists: tests/test_architecture.py).

    Read from the source with ``ast`` (importing dashboard.py would run the app).
    """
    tree = ast.parse((ROOT / "dashboard.py").read_text(encoding="utf-8"))
    for node in tree.body:
        if isinstance(node, ast.Assign) and any(getattr(t, "id", None) == "PAGES" for t in node.targets):
            pages = ast.literal_eval(node.value)
            return [(f, t, u) for items in pages.values() for f, t, _i, u in items]
    raise RuntimeError("dashboard.py has no PAGES dict")


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


class Server:
    """``streamlit run dashboard.py`` on a free local port, reading ``db_path``; ``env`` and ``args``
    add environment variables and Streamlit options (``--secrets.files``, say)."""

    def __init__(self, db_path: Path, log_path: Path, port: int | None = None, env: dict | None = None,
                 args: list[str] | tuple = ()):
        self.port = port or free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        env = dict(os.environ, **(env or {}), EQUITY_DB=str(db_path), PYTHONPATH=str(ROOT))
        log_path.parent.mkdir(parents=True, exist_ok=True)
        self._log = open(log_path, "w")
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "streamlit", "run", str(ROOT / "dashboard.py"), "--server.headless", "true",
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
    # charts draw after the script ends: wait until every Plotly chart has its SVG
    page.wait_for_function(
        """() => [...document.querySelectorAll('[data-testid="stPlotlyChart"]')]
                 .every(c => c.querySelector('svg.main-svg'))""", timeout=timeout_ms)
    page.wait_for_timeout(300)


def exceptions_shown(page) -> list[str]:
    return [e.inner_text()[:500] for e in page.query_selector_all('[data-testid="stException"]')]
