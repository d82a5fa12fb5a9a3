"""Run the app as several Streamlit processes behind nginx: ``python -m equity serve --replicas N``.

What runs: N ``streamlit run dashboard.py`` processes on free loopback ports (the *replicas*), all
reading the one database file (``$EQUITY_DB``, read-only; a rebuild swaps the file and every
replica reads the new build at its next query), and nginx in the foreground on ``--port`` in front
of them, with sticky sessions on a cookie (``deploy/nginx.conf.template``). A supervisor checks each
replica's ``/_stcore/health`` every second and restarts a replica that has died (on the same port,
so nginx needs no reload) or stopped answering. Ctrl-C or SIGTERM stops everything.

nginx's pid, logs and temporary files live in a temporary folder, so no root-owned path is needed.
"""
from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
TEMPLATE = ROOT / "deploy" / "nginx.conf.template"
HEALTH = "/_stcore/health"
# A replica that has not answered its health check this many times in a row (one a second) is
# restarted. Generous: on a loaded machine a busy replica can take seconds to answer.
UNHEALTHY_LIMIT = 30


class ServeError(RuntimeError):
    pass


def free_port(host: str = "127.0.0.1") -> int:
    """A TCP port nothing listens on now (the OS picks it)."""
    with socket.socket() as s:
        s.bind((host, 0))
        return s.getsockname()[1]


def healthy(port: int, host: str = "127.0.0.1", timeout: float = 2.0) -> bool:
    """True when the Streamlit process on ``port`` answers its health check with "ok"."""
    try:
        with urllib.request.urlopen(f"http://{host}:{port}{HEALTH}", timeout=timeout) as r:
            return r.status == 200
    except OSError:
        return False


def render_nginx(listen: str, ports: list[int], prefix: Path, as_root: bool | None = None) -> str:
    """The nginx configuration for replicas on ``ports``, listening on ``listen`` (host:port)."""
    as_root = os.geteuid() == 0 if as_root is None else as_root
    servers = "\n".join(f"        server 127.0.0.1:{p} max_fails=1 fail_timeout=5s;" for p in ports)
    text = TEMPLATE.read_text(encoding="utf-8")
    for name, value in (("@PREFIX@", str(prefix)), ("@LISTEN@", listen), ("@SERVERS@", servers),
                        ("@USER@", "user nobody nogroup;" if as_root else "")):
        text = text.replace(name, value)
    return text


@dataclass
class Replica:
    index: int
    port: int
    log: Path
    proc: subprocess.Popen | None = None
    restarts: int = 0
    failures: int = 0  # consecutive failed health checks


@dataclass
class Stack:
    """N replicas and nginx. ``start()`` returns once nginx and every replica answer; ``stop()``."""
    replicas: int = 2
    port: int = 0  # nginx's port; 0 = a free one
    db: Path | None = None
    host: str = "127.0.0.1"
    quiet: bool = True
    proxy: bool = True  # False: one replica on its own, no nginx (``url`` is the replica's)
    members: list[Replica] = field(default_factory=list)
    nginx: subprocess.Popen | None = None
    prefix: Path | None = None
    _stopping: threading.Event = field(default_factory=threading.Event)
    _supervisor: threading.Thread | None = None
    _lock: threading.Lock = field(default_factory=threading.Lock)
    failed: str = ""  # why the stack stopped by itself (nginx died), if it did

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def _env(self) -> dict:
        env = dict(os.environ)
        if self.db is not None:
            env["EQUITY_DB"] = str(Path(self.db).resolve())
        return env

    def _spawn(self, r: Replica) -> None:
        cmd = [sys.executable, "-m", "streamlit", "run", str(ROOT / "dashboard.py"),
               "--server.port", str(r.port), "--server.address", "127.0.0.1", "--server.headless", "true",
               "--server.fileWatcherType", "none", "--browser.gatherUsageStats", "false"]
        with open(r.log, "ab") as log:
            # Its own session: Ctrl-C in the terminal reaches only this supervisor, which stops
            # the replicas itself (otherwise it would see them die and restart them).
            r.proc = subprocess.Popen(cmd, cwd=ROOT, env=self._env(), stdout=log, stderr=subprocess.STDOUT,
                                      stdin=subprocess.DEVNULL, start_new_session=True)
        r.failures = 0

    def start(self, timeout: float = 180.0) -> "Stack":
        if shutil.which("nginx") is None:
            raise ServeError("nginx is not installed (Debian: apt-get install nginx)")
        if self.replicas < 1:
            raise ServeError("--replicas must be at least 1")
        db = Path(self.db) if self.db else None
        if db is not None and not db.exists():
            raise ServeError(f"no database at {db}: run `python -m equity build --db {db}` first")
        if not self.proxy and self.replicas != 1:
            raise ServeError("without the proxy there is one replica")
        self.port = self.port or free_port(self.host)
        self.prefix = Path(tempfile.mkdtemp(prefix="equity-serve-"))
        (self.prefix / "tmp").mkdir()
        if os.geteuid() == 0:  # nginx's workers run as nobody and must reach their temp folders
            os.chmod(self.prefix, 0o755)
            shutil.chown(self.prefix / "tmp", "nobody")
        try:
            self.members = [Replica(i, free_port(), self.prefix / f"replica-{i}.log") for i in range(self.replicas)]
            for r in self.members:
                self._spawn(r)
            deadline = time.monotonic() + timeout
            for r in self.members:
                while not healthy(r.port):
                    if r.proc.poll() is not None:
                        raise ServeError(f"replica {r.index} exited at start (exit {r.proc.returncode}); "
                                         f"its log: {r.log}\n{_tail(r.log)}")
                    if time.monotonic() > deadline:
                        raise ServeError(f"replica {r.index} did not answer {HEALTH} within {timeout:.0f} s")
                    time.sleep(0.3)
            if not self.proxy:
                self.port = self.members[0].port
                return self._supervised()
            conf = self.prefix / "nginx.conf"
            conf.write_text(render_nginx(f"{self.host}:{self.port}", [r.port for r in self.members], self.prefix),
                            encoding="utf-8")
            self.nginx = subprocess.Popen(
                ["nginx", "-p", str(self.prefix), "-e", str(self.prefix / "error.log"), "-c", str(conf),
                 "-g", "daemon off;"], stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL, start_new_session=True)
            while not healthy(self.port, self.host):
                if self.nginx.poll() is not None:
                    raise ServeError(f"nginx exited at start (exit {self.nginx.returncode}):\n"
                                     f"{_tail(self.prefix / 'error.log')}")
                if time.monotonic() > deadline:
                    raise ServeError(f"nginx did not answer on {self.url} within {timeout:.0f} s")
                time.sleep(0.2)
        except BaseException:
            self.stop()
            raise
        return self._supervised()

    def _supervised(self) -> "Stack":
        self._supervisor = threading.Thread(target=self._supervise, name="equity-serve-supervisor", daemon=True)
        self._supervisor.start()
        return self

    def _supervise(self) -> None:
        while not self._stopping.wait(1.0):
            for r in self.members:
                with self._lock:
                    if self._stopping.is_set():
                        return
                    dead = r.proc.poll() is not None
                    if not dead:
                        r.failures = 0 if healthy(r.port, timeout=3.0) else r.failures + 1
                    if dead or r.failures >= UNHEALTHY_LIMIT:
                        why = f"exited ({r.proc.returncode})" if dead else f"{r.failures} failed health checks"
                        if not dead:
                            _terminate(r.proc)
                        r.restarts += 1
                        if not self.quiet:
                            print(f"replica {r.index} (port {r.port}) {why}: restarting", file=sys.stderr)
                        self._spawn(r)
            if self.nginx is not None and self.nginx.poll() is not None and not self._stopping.is_set():
                self.failed = f"nginx exited ({self.nginx.returncode})"
                print(f"nginx exited ({self.nginx.returncode}):\n{_tail(self.prefix / 'error.log')}", file=sys.stderr)
                self._stopping.set()

    def wait(self) -> None:
        """Block until stopped (by a signal handler calling ``stop``, or nginx dying)."""
        while not self._stopping.wait(0.5):
            pass

    def stop(self) -> None:
        """Stop nginx and every replica (SIGTERM, then SIGKILL after 10 s) and remove the temp folder."""
        self._stopping.set()
        with self._lock:
            procs = [p for p in [self.nginx] + [r.proc for r in self.members] if p is not None]
            for p in procs:
                if p.poll() is None:
                    p.send_signal(signal.SIGTERM)
            for p in procs:
                _terminate(p)
        if self._supervisor is not None and self._supervisor is not threading.current_thread():
            self._supervisor.join(timeout=5)
        if self.prefix is not None:
            shutil.rmtree(self.prefix, ignore_errors=True)

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()


def _terminate(p: subprocess.Popen, grace: float = 10.0) -> None:
    if p.poll() is None:
        p.terminate()
        try:
            p.wait(timeout=grace)
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait()


def _tail(path: Path, lines: int = 20) -> str:
    try:
        return "\n".join(path.read_text(encoding="utf-8", errors="replace").splitlines()[-lines:])
    except OSError:
        return "(no log)"


def main(args) -> int:
    """``python -m equity serve``: start the stack, print where it is, run until Ctrl-C/SIGTERM."""
    from equity import db as equity_db
    path = Path(args.db) if args.db else equity_db.default_path()
    stack = Stack(replicas=args.replicas, port=args.port, db=path, host=args.host, quiet=False)

    def on_signal(signum, frame):
        raise KeyboardInterrupt
    signal.signal(signal.SIGTERM, on_signal)
    try:
        stack.start()
        print(f"Serving {stack.url} with {len(stack.members)} replicas on ports "
              f"{', '.join(str(r.port) for r in stack.members)}; database {path}. Ctrl-C stops.", flush=True)
        stack.wait()
    except ServeError as exc:
        print(f"Serve failed: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        pass
    finally:
        stack.stop()
    print(f"Stopped: {stack.failed}." if stack.failed else "Stopped.", file=sys.stderr)
    return 1 if stack.failed else 0
