"""The one module that talks to DuckDB.

* The app and the CLI read through :func:`query`: a cached **read-only** connection per build of
  the database file (a rebuild swaps in a new file; the next query sees it, no restart), and a
  fresh cursor per query, because DuckDB connections are not thread-safe.
* The build writes through :class:`Writer`, into a new file that is swapped in atomically
  (``os.replace``) only when the whole build has succeeded.

All SQL lives in named files under ``equity/sql`` (``query("gaps/la_series", {...})`` runs
``equity/sql/gaps/la_series.sql``) and takes its values as parameters; the build's are under
``equity/sql/build/``, the Writer's own under ``equity/sql/db/``. Statements whose *identifiers*
depend on a file (a staging table's name, the columns of its header) keep their shape in their SQL
file too; :func:`sql_with`, the one templating helper, fills their ``{slots}`` with quoted,
validated names, never with text from a user.
"""
from __future__ import annotations

import os
import re
import threading
from pathlib import Path

import duckdb
import pandas as pd

ROOT = Path(__file__).resolve().parent.parent
SQL_DIR = Path(__file__).resolve().parent / "sql"
DEFAULT_DB = ROOT / "data" / "equity.duckdb"


def default_path() -> Path:
    """The database the app and CLI use: ``$EQUITY_DB`` if set, else ``data/equity.duckdb``."""
    env = os.environ.get("EQUITY_DB")
    return Path(env).expanduser().resolve() if env else DEFAULT_DB


def sql(name: str) -> str:
    """The text of the named query ``equity/sql/<name>.sql`` (read at each call: a file read takes
    microseconds beside the query, and results are cached per build by ``equity.cache``)."""
    path = SQL_DIR / f"{name}.sql"
    if not path.is_file():
        raise KeyError(f"no SQL named {name!r} ({path})")
    return path.read_text(encoding="utf-8")


def sql_with(name: str, **parts: str | list[str] | tuple[str, ...] | None) -> str:
    """The named SQL with its ``{part}`` slots filled: the one templating helper (build only).

    For the statements whose *identifiers* depend on a file or on the build's own staging tables
    (a staging table's name, the columns of a file's header). Values never go in here: they stay
    parameters. Each part is validated before it is put in:

    * a list or tuple is a list of column names from a file header: each is quoted with
      :func:`quote_ident` (which refuses anything that is not a plain name) and they are joined
      with ``", "``; ``None`` stands for an optional column the file does not have (``null``);
    * the part ``table`` (or any part ending in ``_table``) is a table name the build chose itself
      and must pass :func:`table_name`;
    * any other text part is a fragment the caller assembled only from :func:`quote_ident`,
      :func:`sql_literal` and :func:`table_name` output, never from user text.

    The statement's shape stays in the SQL file.
    """
    text = sql(name)
    for key, value in parts.items():
        slot = "{" + key + "}"
        if slot not in text:
            raise KeyError(f"SQL {name!r} has no slot {slot}")
        if value is None:
            value = "null"
        elif isinstance(value, (list, tuple)):
            value = ", ".join(quote_ident(v) for v in value)
        elif key == "table" or key.endswith("_table"):
            value = table_name(value)
        text = text.replace(slot, value)
    return text


def sql_literal(text: str) -> str:
    """A column name (already accepted by ``quote_ident``) as an SQL string literal."""
    quote_ident(text)
    return "'" + text + "'"


# ---- reading --------------------------------------------------------------------------------

_lock = threading.Lock()
_readers: dict[str, tuple[tuple[int, int], duckdb.DuckDBPyConnection]] = {}


class DatabaseMissing(FileNotFoundError):
    pass


# What DuckDB raises (a missing table, an unreadable file...), named for the modules that handle it
# without importing duckdb themselves.
Error = duckdb.Error


def _identity(path: Path) -> tuple[int, int]:
    st = path.stat()
    return st.st_ino, st.st_mtime_ns


def connection(path: Path | str | None = None) -> duckdb.DuckDBPyConnection:
    """The cached read-only connection to the current build of ``path``.

    A rebuild replaces the file (new inode). DuckDB caches open databases by path, so a new
    connection to the same path would still see the old file; instead each build is opened
    through a hard link named after its inode (removed as soon as it is open). Queries already
    running on the previous build finish on it; its connection is closed on the next swap.
    """
    p = Path(path).resolve() if path else default_path()
    if not p.exists():
        raise DatabaseMissing(f"no database at {p}: run `python -m equity build`")
    key = str(p)
    with _lock:
        ident = _identity(p)
        hit = _readers.get(key)
        if hit and hit[0] == ident:
            return hit[1]
        link = p.with_name(f".{p.name}.read-{ident[0]}-{os.getpid()}-{threading.get_ident()}")
        try:
            if link.exists():
                link.unlink()
            os.link(p, link)
            target = link
        except OSError:
            target = p  # no hard links here: fall back to the path (a swap then needs a restart)
        try:
            con = duckdb.connect(str(target), read_only=True, config={"threads": 2})
        finally:
            if target is link:
                link.unlink(missing_ok=True)
        # if a swap happened between stat and link, the next query sees a new identity and relinks
        _readers[key] = (ident, con)
        if hit:
            _retired.append(hit[1])
        while len(_retired) > 2:  # keep the last builds open a little while for in-flight queries
            try:
                _retired.pop(0).close()
            except duckdb.Error:
                pass  # closing an old build's connection: nothing to do if DuckDB refuses
        return con


_retired: list = []


def query(name: str, params: dict | list | None = None, path: Path | str | None = None) -> pd.DataFrame:
    """Run the named read query and return a DataFrame (cursor per call, connection cached)."""
    cur = connection(path).cursor()
    try:
        return cur.execute(sql(name), params or {}).df()
    finally:
        cur.close()


def latest_by_source_file(table: str, year_columns: list[str], date_columns: list[str],
                          path: Path | str | None = None) -> pd.DataFrame:
    """Per source_file of one table: the latest start year and the latest date its rows hold
    (``source_file``, ``latest_year``, ``latest_date``). The table and column names come from the
    database's own catalogue (catalogue/dated_columns) and are validated before use."""
    cur = connection(path).cursor()
    try:
        return cur.execute(sql_with("db/latest_by_source_file", table=table, years=list(year_columns) or None,
                                    dates=list(date_columns) or None)).df()
    finally:
        cur.close()


def table_exists(table: str, path: Path | str | None = None) -> bool:
    cur = connection(path).cursor()
    try:
        return bool(cur.execute(sql("db/table_exists"), [table]).fetchone()[0])
    finally:
        cur.close()


def build_id(path: Path | str | None = None) -> str:
    """Identifies the build the app is reading (changes when a rebuild is swapped in)."""
    p = Path(path).resolve() if path else default_path()
    try:
        ino, mtime = _identity(p)
    except FileNotFoundError:
        raise DatabaseMissing(f"no database at {p}: run `python -m equity build`") from None
    return f"{ino}-{mtime}"


# ---- writing (build only) --------------------------------------------------------------------

_IDENT = re.compile(r"^[A-Za-z_][A-Za-z0-9_ ()./-]*$")


def quote_ident(name: str) -> str:
    """Quote a column name read from a file header; refuse anything that is not a plain name."""
    if not _IDENT.match(name) or '"' in name:
        raise ValueError(f"unexpected column name {name!r}")
    return '"' + name + '"'


_TABLE = re.compile(r'^(?:[A-Za-z_][A-Za-z0-9_]*|"[A-Za-z0-9_ ]+")$')


def table_name(name: str) -> str:
    """A staging or derived table name chosen by the build itself (never user text); refuse anything else."""
    if not _TABLE.match(name):
        raise ValueError(f"unexpected table name {name!r}")
    return name


class Writer:
    """A connection to a *new* database file, used only by the build.

    Every statement is a named SQL file; table and column names go in through :func:`sql_with`
    (``table_name``, ``quote_ident``); values always go in as parameters.
    """

    def __init__(self, path: Path):
        self.path = Path(path)
        for p in (self.path, Path(str(self.path) + ".wal")):
            if p.exists():
                p.unlink()
        self.con = duckdb.connect(str(self.path), config={"threads": 2, "preserve_insertion_order": True})
        self._exec("db/writer_settings")

    def _text(self, name: str, parts: dict) -> str:
        return sql_with(name, **parts) if parts else sql(name)

    def _exec(self, name: str, params: list | None = None, **parts) -> duckdb.DuckDBPyConnection:
        """The Writer's own housekeeping statements (equity/sql/db/), apart from the build's steps."""
        return self.con.execute(self._text(name, parts), params or [])

    def run(self, name: str, params: dict | list | None = None, **parts) -> None:
        """Run a named SQL file (may hold several statements when it takes no parameters); ``parts``
        fill its identifier slots through :func:`sql_with`."""
        text = self._text(name, parts)
        if params:
            self.con.execute(text, params)
        else:
            self.con.execute(text)

    def fetch(self, name: str, params: dict | list | None = None, **parts) -> pd.DataFrame:
        """The rows of a named SQL file; ``parts`` fill its identifier slots through :func:`sql_with`."""
        return self.con.execute(self._text(name, parts), params or {}).df()

    def read_csv(self, table: str, path: Path, *, header: bool = True) -> list[str]:
        """Load a CSV (plain or .gz, UTF-8) as text columns plus ``_row`` (1 = first data row).

        Ragged rows (DfE's shorter LA and England rows) are padded with NULLs.
        """
        self.drop(table)
        self._exec("db/read_csv", [str(path), header], table=table)
        cols = [r[0] for r in self._exec("db/columns", table=table).fetchall()]
        return [c for c in cols if c != "_row"]

    def register(self, name: str, df: pd.DataFrame) -> None:
        self.con.register(name, df)

    def table_from_df(self, table: str, df: pd.DataFrame) -> None:
        self.con.register("_df_tmp", df)
        self._exec("db/table_from_df", table=table)
        self.con.unregister("_df_tmp")

    def insert_df(self, table: str, df: pd.DataFrame) -> None:
        self.con.register("_df_tmp", df)
        self._exec("db/insert_df", table=table)
        self.con.unregister("_df_tmp")

    def drop(self, table: str) -> None:
        self._exec("db/drop_table", table=table)

    def close(self) -> None:
        self._exec("db/checkpoint")
        self.con.close()
