"""The stack: nginx in front of two Streamlit processes (``python -m equity serve``, equity/cli/serve.py).

Checked on the bundled database: health and the page through nginx, sticky sessions on the
``equity_replica`` cookie, a real Streamlit session over the proxied WebSocket, a rebuild swapped in
under the running replicas (read by each without a restart), and a killed replica restarted while
its users are served by the other one.
"""
from __future__ import annotations

import asyncio
import os
import shutil
import time
import urllib.request

import duckdb
import pytest

import fixtures
from bench.load import Tab
from equity.cli.serve import Stack, healthy



@pytest.fixture(autouse=True, scope="module")
def _nginx():
    fixtures.require("nginx", what="the deployment tests")


@pytest.fixture(scope="module")
def stack(built_db, tmp_path_factory):
    """Two replicas behind nginx, on a copy of the bundled database (the tests swap builds under it)."""
    db = tmp_path_factory.mktemp("stack") / "equity.duckdb"
    shutil.copyfile(built_db, db)
    s = Stack(replicas=2, db=db)
    s.start()
    yield s
    s.stop()


def get(url: str, cookie: str | None = None):
    """(status, body, headers) of a GET, with the sticky cookie if given."""
    req = urllib.request.Request(url, headers={"Cookie": f"equity_replica={cookie}"} if cookie else {})
    with urllib.request.urlopen(req, timeout=60) as r:
        return r.status, r.read().decode("utf-8", "replace"), r.headers


def served_by(headers) -> str:
    """The replica that finally answered (nginx lists every one it tried, the last answered)."""
    return headers["X-Equity-Replica"].split(",")[-1].strip()


def addresses(stack) -> set[str]:
    return {f"127.0.0.1:{r.port}" for r in stack.members}


def cookies_by_replica(stack, n: int = 16) -> dict[str, str]:
    """One cookie value that hashes to each replica."""
    found = {}
    for i in range(n):
        found.setdefault(served_by(get(f"{stack.url}/_stcore/health", f"user-{i}")[2]), f"user-{i}")
    return found


def session(url: str, cookie: str) -> Tab:
    """A Streamlit session (as a browser tab) through the proxy: landing page run to its end."""
    async def go():
        tab = Tab(url, cookies={"equity_replica": cookie})
        await tab.connect()
        try:
            tab.error = await tab.run(timeout=180)
        finally:
            await tab.close()
        return tab
    return asyncio.run(go())


def test_health_and_page_through_nginx(stack):
    status, body, headers = get(f"{stack.url}/_stcore/health")
    assert (status, body) == (200, "ok")
    assert served_by(headers) in addresses(stack)
    # A first visit gets the sticky cookie; a visit that has one is not given another.
    assert any(c.startswith("equity_replica=") for c in headers.get_all("Set-Cookie"))
    status, body, headers = get(f"{stack.url}/", "returning-visitor")
    assert status == 200 and '<div id="root">' in body
    assert not any(c.startswith("equity_replica=") for c in headers.get_all("Set-Cookie") or [])


def test_same_cookie_same_replica(stack):
    seen = {}
    for i in range(16):
        replicas = {served_by(get(f"{stack.url}/_stcore/health", f"user-{i}")[2]) for _ in range(4)}
        assert len(replicas) == 1, f"cookie user-{i} was served by {replicas}"
        seen[f"user-{i}"] = replicas.pop()
    # 16 cookies on 2 replicas: both are used (all on one by chance: 1 in 32,768)
    assert set(seen.values()) == addresses(stack)


def test_websocket_session_and_rebuild_swap(stack, tmp_path):
    pids = [r.proc.pid for r in stack.members]
    by_replica = cookies_by_replica(stack)
    assert set(by_replica) == addresses(stack)
    before = {}
    for addr, cookie in by_replica.items():
        tab = session(stack.url, cookie)
        assert tab.error is None
        assert tab.replica == addr
        before[addr] = las = tab.widgets["Local authority"][1]
        assert len(las) > 1 and not any(o.startswith("Swapped ") for o in las)
    # A rebuild writes a new file and swaps it in (os.replace, as equity.ingest.build does); here the new
    # build differs from the old one in every LA's name.
    new = tmp_path / "next.duckdb"
    shutil.copyfile(stack.db, new)
    with duckdb.connect(str(new)) as con:
        con.execute("update la set la_name = 'Swapped ' || la_name")
    os.replace(new, stack.db)
    for addr, cookie in by_replica.items():
        tab = session(stack.url, cookie)
        assert tab.error is None and tab.replica == addr
        named = [o for o in before[addr] if not o.startswith(o.rsplit(" (", 1)[-1].rstrip(")") + " (")]
        assert named and set(tab.widgets["Local authority"][1]) >= {f"Swapped {o}" for o in named}
    assert [r.proc.pid for r in stack.members] == pids  # no replica was restarted


def test_dead_replica_is_restarted_and_its_users_served(stack):
    by_replica = cookies_by_replica(stack)
    victim = stack.members[0]
    addr, cookie = f"127.0.0.1:{victim.port}", by_replica[f"127.0.0.1:{victim.port}"]
    other = (addresses(stack) - {addr}).pop()
    victim.proc.kill()
    victim.proc.wait()
    # Its users are sent to the other replica at once, for pages and for Streamlit sessions.
    status, body, headers = get(f"{stack.url}/", cookie)
    assert status == 200 and served_by(headers) == other
    tab = session(stack.url, cookie)
    assert tab.error is None and tab.replica == other
    # The supervisor restarts it on its port, and its users come back to it.
    deadline = time.monotonic() + 180
    while not (victim.restarts >= 1 and healthy(victim.port)):
        assert time.monotonic() < deadline, "the killed replica was not restarted within 180 s"
        time.sleep(1)
    assert victim.proc.poll() is None
    while served_by(get(f"{stack.url}/_stcore/health", cookie)[2]) != addr:
        assert time.monotonic() < deadline, "the restarted replica was not used again"
        time.sleep(1)
    status, body, _ = get(f"{stack.url}/", cookie)
    assert status == 200 and '<div id="root">' in body


def test_serve_command_starts_and_stops_the_stack(built_db, tmp_path):
    """`python -m equity serve` runs until SIGTERM, then leaves no replica or nginx behind."""
    import re
    import signal
    import subprocess
    import sys

    from equity.cli.serve import ROOT, free_port
    port = free_port()
    out = tmp_path / "serve.out"
    with open(out, "wb") as f:
        proc = subprocess.Popen([sys.executable, "-m", "equity", "serve", "--replicas", "1", "--port", str(port),
                                 "--db", str(built_db)], cwd=ROOT, stdout=f, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 180
        while "Serving" not in out.read_text():
            assert proc.poll() is None, out.read_text()
            assert time.monotonic() < deadline, "serve did not start within 180 s"
            time.sleep(0.5)
        replica_port = int(re.search(r"replicas on ports (\d+)", out.read_text()).group(1))
        status, body, headers = get(f"http://127.0.0.1:{port}/_stcore/health")
        assert (status, body) == (200, "ok") and served_by(headers) == f"127.0.0.1:{replica_port}"
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=60) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
    assert "Stopped." in out.read_text()
    assert not healthy(replica_port) and not healthy(port)
