"""A throwaway PostgreSQL server on loopback, for the register's tests and the load test
(``tests/test_partnerships.py``, ``bench/load.py``); not for production, where the register is on the
council's own server (``deploy/README.md``).

Debian's binaries (``/usr/lib/postgresql/<major>/bin``): ``initdb`` as the unprivileged ``postgres``
user when run as root (``initdb`` refuses root), in a temporary folder owned by that user, on a free
loopback port, with trust authentication and ``fsync=off`` (nothing in it outlives the run). Stopped
and its folder removed by :meth:`TempServer.stop` (or leaving the ``with`` block).
"""
from __future__ import annotations

import glob
import os
import shutil
import socket
import subprocess
import tempfile
from pathlib import Path

NOT_INSTALLED = "PostgreSQL is not installed (no /usr/lib/postgresql/*/bin/initdb; apt-get install postgresql)"


class ServerUnavailable(RuntimeError):
    """No PostgreSQL binaries here (``installed`` False), or the server did not start."""

    def __init__(self, message: str, installed: bool = True):
        super().__init__(message)
        self.installed = installed


def pg_bin() -> Path | None:
    """The newest Debian PostgreSQL's binaries (``/usr/lib/postgresql/<major>/bin``), or None.
    ``$EQUITY_TEST_PG_INITDB`` replaces the glob (the tests of the no-server rule point it nowhere)."""
    pattern = os.environ.get("EQUITY_TEST_PG_INITDB", "/usr/lib/postgresql/*/bin/initdb")
    found = [Path(p).parent for p in glob.glob(pattern)]
    found.sort(key=lambda d: int(d.parent.name) if d.parent.name.isdigit() else 0)
    return found[-1] if found else None


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class TempServer:
    """``with TempServer() as url:`` a server answering at ``url`` (``postgresql://postgres@127.0.0.1:PORT``,
    no database name: add ``/postgres`` or a database made with :meth:`create_database`)."""

    def __init__(self, max_connections: int = 200):
        self.max_connections = max_connections
        self.url = ""
        self._folder: Path | None = None
        self._as_user: list[str] = []
        self._bin: Path | None = None
        self._started = False

    def start(self) -> str:
        self._bin = pg_bin()
        if self._bin is None:
            raise ServerUnavailable(NOT_INSTALLED, installed=False)
        self._folder = Path(tempfile.mkdtemp(prefix="equity-pg-"))
        if os.geteuid() == 0:
            shutil.chown(self._folder, "postgres", "postgres")
            self._as_user = ["runuser", "-u", "postgres", "--"]
        data, port, log = self._folder / "data", free_port(), self._folder / "server.log"
        try:
            subprocess.run([*self._as_user, str(self._bin / "initdb"), "-D", str(data), "-A", "trust", "-U", "postgres",
                            "-E", "UTF8", "--locale=C", "--no-sync"],
                           check=True, capture_output=True, text=True, timeout=300)
            subprocess.run([*self._as_user, str(self._bin / "pg_ctl"), "-D", str(data), "-l", str(log), "-w",
                            "-t", "180", "-o", f"-p {port} -k {self._folder} -c listen_addresses=127.0.0.1 "
                                               f"-c fsync=off -c max_connections={self.max_connections}", "start"],
                           check=True, capture_output=True, text=True, timeout=300)
        except subprocess.CalledProcessError as exc:
            text = log.read_text(errors="replace") if log.exists() else ""
            self.stop()
            raise ServerUnavailable(f"the PostgreSQL server could not be started: {exc.stderr}{text}") from None
        self._started = True
        self.url = f"postgresql://postgres@127.0.0.1:{port}"
        return self.url

    def create_database(self, name: str) -> str:
        """A new, empty database on the server; its URL."""
        import psycopg
        with psycopg.connect(self.url + "/postgres", autocommit=True) as con:
            con.execute(f"create database {name}")
        return f"{self.url}/{name}"

    def stop(self) -> None:
        if self._started:
            subprocess.run([*self._as_user, str(self._bin / "pg_ctl"), "-D", str(self._folder / "data"), "-m", "fast",
                            "-w", "stop"], capture_output=True, timeout=120)
            self._started = False
        if self._folder is not None:
            shutil.rmtree(self._folder, ignore_errors=True)
            self._folder = None

    def __enter__(self) -> str:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()
