"""The layers of the code (ARCHITECTURE.md) hold: imports run one way and nothing swallows errors.

Every ``equity/`` module is read with ``ast`` (nothing is imported), counting every import statement
wherever it stands: at module level, inside a function, under ``if TYPE_CHECKING``.
"""
from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = ROOT / "equity"

GROUND, INGEST, ANALYSIS, PRESENTATION, ENTRY = "ground floor", "ingest", "analysis", "presentation", "pages and CLI"

# Module -> layer. ARCHITECTURE.md carries the same table (checked below); a new module is placed here.
LAYERS = {
    # ground floor: the database, caching, the measures and their words, years and breaks, codes, statistics
    "equity": GROUND, "equity.ingest": INGEST, "equity.analysis": ANALYSIS, "equity.present": PRESENTATION,
    "equity.db": GROUND, "equity.cache": GROUND, "equity.measures": GROUND,
    "equity.years": GROUND, "equity.breaks": GROUND, "equity.codes": GROUND, "equity.stats": GROUND,
    "equity.words": GROUND, "equity.present.style": PRESENTATION, "equity.safe_text": GROUND, "equity.csv_export": GROUND,
    "equity.lookups": GROUND, "equity.report": GROUND, "equity.kept_builds": GROUND, "equity.access": GROUND,
    # ingest: source files to the database, apart over the ground floor
    "equity.ingest.build": INGEST, "equity.ingest.context": INGEST, "equity.ingest.sniff": INGEST, "equity.ingest.checks": INGEST,
    "equity.ingest.plausibility": INGEST, "equity.ingest.errors": INGEST, "equity.ingest.uploads": INGEST, "equity.ingest.loaders": INGEST,
    "equity.ingest.loaders.geography": INGEST, "equity.ingest.loaders.iod2025": INGEST, "equity.ingest.loaders.la_tables": INGEST,
    "equity.ingest.loaders.ofsted_mi": INGEST, "equity.ingest.loaders.performance_tables": INGEST,
    "equity.ingest.loaders.statistics_service": INGEST, "equity.ingest.loaders.tables": INGEST,
    # analysis: a function per measure or question, over the database the build wrote
    "equity.analysis.gaps": ANALYSIS, "equity.analysis.families": ANALYSIS, "equity.analysis.keys_to_success": ANALYSIS,
    "equity.analysis.partnerships": ANALYSIS, "equity.analysis.neighbourhoods": ANALYSIS, "equity.analysis.la_compare": ANALYSIS,
    "equity.analysis.profile": ANALYSIS, "equity.latest": GROUND, "equity.analysis.ofsted": ANALYSIS, "equity.analysis.catalogue": ANALYSIS,
    # presentation: charts, meeting packs, the guide's words
    "equity.present.pack": PRESENTATION, "equity.present.pack_charts": PRESENTATION, "equity.present.gap_charts": PRESENTATION,
    "equity.present.guide": PRESENTATION,
    # pages and CLI (pages/ and dashboard.py sit here too)
    "equity.cli": ENTRY, "equity.__main__": ENTRY, "equity.cli.serve": ENTRY, "equity.cli.family": ENTRY,
    "equity.cli.gaps": ENTRY, "equity.cli.keys_to_success": ENTRY, "equity.cli.pack": ENTRY,
    "equity.cli.register": ENTRY,
}

# The folder a module sits in names its layer: the ground floor is equity/ itself.
FOLDERS = {"equity.ingest": INGEST, "equity.analysis": ANALYSIS, "equity.present": PRESENTATION, "equity.cli": ENTRY}


def folder_layer(module: str) -> str:
    if module == "equity.__main__":
        return ENTRY
    return next((layer for folder, layer in FOLDERS.items() if module == folder or module.startswith(folder + ".")),
                GROUND)


# What each layer may import (besides itself): downward only; ingest and analysis never meet.
MAY_IMPORT = {
    GROUND: set(),
    INGEST: {GROUND},
    ANALYSIS: {GROUND},
    PRESENTATION: {ANALYSIS, GROUND},
    ENTRY: {PRESENTATION, ANALYSIS, INGEST, GROUND},
}


def _modules() -> dict[str, Path]:
    out = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        parts = list(path.relative_to(ROOT).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts = parts[:-1]
        out[".".join(parts)] = path
    return out


MODULES = _modules()


def _imports(name: str, path: Path) -> set[str]:
    """The ``equity`` modules that ``name`` imports anywhere in its file."""
    is_package = path.name == "__init__.py"
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found |= {a.name for a in node.names}
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = name.split(".") if is_package else name.split(".")[:-1]
                base = base[:len(base) - (node.level - 1)]
                prefix = ".".join(base + ([node.module] if node.module else []))
            else:
                prefix = node.module or ""
            for a in node.names:  # "from . import gaps" imports the module equity.analysis.gaps
                found.add(f"{prefix}.{a.name}" if f"{prefix}.{a.name}" in MODULES else prefix)
    return {m for m in found if m in MODULES and m != name}


GRAPH = {name: _imports(name, path) for name, path in MODULES.items()}


def _cycles() -> list[list[str]]:
    """The strongly connected groups of more than one module (Tarjan), each a set of modules in a cycle."""
    index, low, stack, on, groups = {}, {}, [], set(), []

    def visit(v):
        index[v] = low[v] = len(index)
        stack.append(v)
        on.add(v)
        for w in sorted(GRAPH[v]):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            group = []
            while True:
                w = stack.pop()
                on.discard(w)
                group.append(w)
                if w == v:
                    break
            if len(group) > 1:
                groups.append(sorted(group))

    for v in sorted(GRAPH):
        if v not in index:
            visit(v)
    return groups


def test_the_import_reader_sees_function_level_and_relative_imports():
    # what the checks below rely on, on modules whose imports are known
    assert "equity.db" in GRAPH["equity.analysis.gaps"] and "equity.measures" in GRAPH["equity.analysis.gaps"]
    assert "equity.ingest.loaders.geography" in GRAPH["equity.ingest.checks"]       # "from .sources import geography, ..."
    assert "equity.ingest.errors" in GRAPH["equity.ingest.loaders.tables"]          # "from ..errors import ..."
    code = "def f():\n    from .build import rel\n"
    tree = ast.parse(code)
    assert any(isinstance(n, ast.ImportFrom) for n in ast.walk(tree))  # ast.walk reaches into functions


def test_every_module_has_a_layer():
    assert set(MODULES) - set(LAYERS) == set(), "place the new module in LAYERS and ARCHITECTURE.md"
    assert set(LAYERS) - set(MODULES) == set(), "LAYERS names a module that is gone"


def test_no_import_cycles():
    assert _cycles() == []


def test_a_modules_folder_is_its_layer():
    """Layers you can see: equity/ingest, equity/analysis, equity/present, equity/cli; the ground floor is equity/."""
    assert {m: folder_layer(m) for m in LAYERS} == LAYERS


def test_imports_run_downward_only():
    upward = [(m, LAYERS[m], i, LAYERS[i]) for m in sorted(GRAPH) for i in sorted(GRAPH[m])
              if LAYERS[i] != LAYERS[m] and LAYERS[i] not in MAY_IMPORT[LAYERS[m]]]
    assert upward == []


def test_analysis_imports_neither_ingest_nor_presentation():
    bad = [(m, i) for m in GRAPH if LAYERS[m] == ANALYSIS for i in GRAPH[m]
           if LAYERS[i] in (INGEST, PRESENTATION)]
    assert bad == []
    assert "equity.ingest.build" not in GRAPH["equity.analysis.catalogue"] and "equity.present.pack_charts" not in GRAPH["equity.analysis.profile"]


SQL = re.compile(r"\b(select|insert|update|delete|create|drop)\b[\s\S]*\b(from|into|set|table|view)\b", re.I)


@pytest.mark.parametrize("path", sorted((ROOT / "pages").glob("*.py")) + [ROOT / "dashboard.py"],
                         ids=lambda p: p.name)
def test_pages_hold_no_sql(path):
    tree = ast.parse(path.read_text(encoding="utf-8"))
    imported = {a.name.split(".")[0] for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names}
    imported |= {(n.module or "").split(".")[0] for n in ast.walk(tree) if isinstance(n, ast.ImportFrom)}
    assert "duckdb" not in imported
    sql = [n.value[:60] for n in ast.walk(tree)
           if isinstance(n, ast.Constant) and isinstance(n.value, str) and SQL.search(n.value)
           and re.search(r"\b(from|where|join)\s+[a-z_]+\b", n.value, re.I) and "\n" in n.value]
    assert sql == []
    calls = [ast.unparse(n.func) for n in ast.walk(tree) if isinstance(n, ast.Call)
             and isinstance(n.func, ast.Attribute) and n.func.attr in ("query", "execute", "sql", "fetch_text")]
    assert calls == []


# A string literal that starts like an SQL statement is SQL written in Python. Docstrings are prose and
# are not read; an f-string is read from its start (its later pieces are fragments of that string).
STATEMENT = re.compile(
    r"^\s*(select\s|insert\s+into\s|update\s+\S+\s+set\s|delete\s+from\s|create\s|drop\s|alter\s+table\s"
    r"|with\s+\w+(\s*\([^)]*\))?\s+as\s*\(|unpivot\s|pivot\s|describe\s|pragma\s|checkpoint\b|set\s+\w+\s*="
    r"|copy\s+\S+\s+(from|to)\s|attach\s|begin\b|commit\b|rollback\b|grant\s|revoke\s)", re.I)

# Files that may still hold SQL in Python, each for a stated reason; everything else keeps its SQL in
# equity/sql/*.sql, filled through db.sql_with (the one templating helper) where identifiers vary.
SQL_IN_PYTHON_ALLOWED = {
    # the partnership register lives in SQLite or PostgreSQL, not in the DuckDB build: its statements
    # switch dialect at run time and have not been moved to equity/sql/ yet
    "equity/analysis/partnerships.py": "the register's SQLite/PostgreSQL statements, not yet moved",
}


def _docstrings(tree: ast.AST) -> set[int]:
    return {id(n.body[0].value) for n in ast.walk(tree)
            if isinstance(n, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)) and n.body
            and isinstance(n.body[0], ast.Expr) and isinstance(n.body[0].value, ast.Constant)}


def sql_literals(source: str) -> list[tuple[int, str]]:
    """(line, start) of every string literal in ``source`` that starts like an SQL statement."""
    tree = ast.parse(source)
    skip = _docstrings(tree) | {id(v) for n in ast.walk(tree) if isinstance(n, ast.JoinedStr) for v in n.values}
    found = []
    for n in ast.walk(tree):
        if isinstance(n, ast.JoinedStr):
            first = n.values[0] if n.values else None
            text = first.value if isinstance(first, ast.Constant) and isinstance(first.value, str) else ""
        elif isinstance(n, ast.Constant) and isinstance(n.value, str) and id(n) not in skip:
            text = n.value
        else:
            continue
        if STATEMENT.match(text):
            found.append((n.lineno, text.strip()[:50]))
    return found


def test_the_sql_detector_sees_sql_and_ignores_prose():
    src = ('''"""Create the staging tables (a docstring)."""\n'''
           '''a = "select count(*) n from t"\nb = f"insert into {t} select 1"\nc = "delete from t where x"\n'''
           '''d = """\n  create table if not exists t (x int)"""\ne = "with u as (select 1) select * from u"\n'''
           '''f = "Copy the register from SQLite"\ng = "create"\nh = " with the families."\ni = "null"\n''')
    assert [line for line, _ in sql_literals(src)] == [2, 3, 4, 5, 7]


def test_no_sql_in_python_outside_equity_sql():
    """SQL lives in named files under equity/sql/ (db.py's docstring); Python names them, fills their
    identifier slots through db.sql_with, and passes values as parameters."""
    found = [f"{p.relative_to(ROOT)}:{line}: {text}" for p in sorted(PACKAGE.rglob("*.py"))
             if str(p.relative_to(ROOT)) not in SQL_IN_PYTHON_ALLOWED
             for line, text in sql_literals(p.read_text(encoding="utf-8"))]
    assert found == []
    assert all((ROOT / f).is_file() for f in SQL_IN_PYTHON_ALLOWED)


def test_the_build_runs_only_named_statements():
    """The build's Writer runs named SQL files only (run, fetch): it has no method taking statement text
    (the former execute_text and fetch_text), and nothing in the package calls one."""
    from equity import db
    assert not hasattr(db.Writer, "execute_text") and not hasattr(db.Writer, "fetch_text")
    calls = [f"{p.relative_to(ROOT)}:{n.lineno}" for p in sorted(PACKAGE.rglob("*.py"))
             for n in ast.walk(ast.parse(p.read_text(encoding="utf-8")))
             if isinstance(n, ast.Call) and isinstance(n.func, ast.Attribute)
             and n.func.attr in ("execute_text", "fetch_text")]
    assert calls == []


def test_every_named_query_has_its_file():
    """A literal SQL name given to db.query, db.sql, db.sql_with or the build's writer (run, fetch) is a file."""
    names = {(p.relative_to(ROOT), n.args[0].value) for p in sorted(PACKAGE.rglob("*.py"))
             for n in ast.walk(ast.parse(p.read_text(encoding="utf-8")))
             if isinstance(n, ast.Call) and n.args and isinstance(n.args[0], ast.Constant)
             and isinstance(n.args[0].value, str)
             and (isinstance(n.func, ast.Attribute) and n.func.attr in ("query", "sql", "sql_with", "run", "fetch", "_exec")
                  or isinstance(n.func, ast.Name) and n.func.id in ("sql", "sql_with"))
             and re.fullmatch(r"[a-z0-9_]+(/[a-z0-9_]+)+", n.args[0].value)}
    assert len(names) > 100
    missing = [f"{p}: {name}" for p, name in sorted(names) if not (PACKAGE / "sql" / f"{name}.sql").is_file()]
    assert missing == []


def _handlers(path: Path):
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ExceptHandler):
            yield node


def _broad(handler: ast.ExceptHandler) -> bool:
    names = handler.type.elts if isinstance(handler.type, ast.Tuple) else [handler.type]
    return handler.type is None or any(isinstance(n, ast.Name) and n.id in ("Exception", "BaseException")
                                       for n in names)


def test_no_broad_except_swallows_an_error():
    """A handler for every exception re-raises (after cleaning up); one that handles an error names its type."""
    files = sorted(PACKAGE.rglob("*.py")) + sorted((ROOT / "pages").glob("*.py")) + [ROOT / "dashboard.py"]
    swallowed = [f"{p.relative_to(ROOT)}:{h.lineno}" for p in files for h in _handlers(p)
                 if _broad(h) and not any(isinstance(n, ast.Raise) for n in ast.walk(h))]
    assert swallowed == []


def test_no_optional_imports():
    """Modules are imported by name: no importlib, no pkgutil discovery, no hasattr probing of a module."""
    files = sorted(PACKAGE.rglob("*.py")) + sorted((ROOT / "pages").glob("*.py")) + [ROOT / "dashboard.py"]
    found = [f"{p.relative_to(ROOT)}:{n.lineno}" for p in files for n in ast.walk(ast.parse(p.read_text(encoding="utf-8")))
             if isinstance(n, (ast.Import, ast.ImportFrom))
             and ({a.name for a in n.names} | {getattr(n, "module", None) or ""}) & {"importlib", "pkgutil"}]
    assert found == []



# Caching of any other kind than equity.cache's: functools' caches and Streamlit's
OTHER_CACHES = {"lru_cache", "cache", "cached_property", "cache_data", "cache_resource", "experimental_memo",
                "experimental_singleton", "memo", "singleton"}


def _other_caches(source: str, where: str) -> list[str]:
    found = []
    for n in ast.walk(ast.parse(source)):
        if isinstance(n, ast.ImportFrom) and n.module == "functools":
            found += [f"{where}:{n.lineno} functools.{a.name}" for a in n.names if a.name in OTHER_CACHES]
        elif (isinstance(n, ast.Attribute) and n.attr in OTHER_CACHES
              and ast.unparse(n.value) in ("functools", "st", "streamlit")):
            found.append(f"{where}:{n.lineno} {ast.unparse(n)}")
    return found


def test_the_one_cache_is_equity_cache():
    """Every cached result goes through equity.cache (per build or per content, handed out as copies):
    no functools cache and no Streamlit cache anywhere else in the package, the pages or the app."""
    files = sorted(PACKAGE.rglob("*.py")) + sorted((ROOT / "pages").glob("*.py")) + [ROOT / "dashboard.py"]
    found = [hit for p in files if p != PACKAGE / "cache.py"
             for hit in _other_caches(p.read_text(encoding="utf-8"), str(p.relative_to(ROOT)))]
    assert found == []
    # the check sees each kind it forbids
    sample = ("from functools import lru_cache\nimport functools\nimport streamlit as st\n"
              "@functools.cache\ndef f(): pass\n@st.cache_data(max_entries=8)\ndef g(): pass\n"
              "@st.cache_resource\ndef h(): pass\n")
    assert sorted(_other_caches(sample, "x")) == ["x:1 functools.lru_cache", "x:4 functools.cache",
                                          "x:6 st.cache_data", "x:8 st.cache_resource"]


def test_number_formatters_live_in_words():
    """One formatter module: no other module in the package or the pages defines its own fmt/format function."""
    files = sorted(PACKAGE.rglob("*.py")) + sorted((ROOT / "pages").glob("*.py")) + [ROOT / "dashboard.py"]
    pattern = re.compile(r"^_?(fmt|format_value|format_number|fmt_\w+)$")
    found = [f"{p.relative_to(ROOT)}:{n.lineno} {n.name}" for p in files if p != PACKAGE / "words.py"
             for n in ast.walk(ast.parse(p.read_text(encoding="utf-8")))
             if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef)) and pattern.match(n.name)]
    assert found == []


def _attrs_uses(source: str) -> list[int]:
    """Lines where an attribute named ``attrs`` is read or written, on anything (``df.attrs``, ``x.y.attrs``)."""
    return sorted(n.lineno for n in ast.walk(ast.parse(source)) if isinstance(n, ast.Attribute) and n.attr == "attrs")


def test_the_attrs_reader_sees_reads_and_writes():
    code = "out.attrs['a'] = 1\nm = fam.attrs.get('m')\nx.frame.attrs = {}\nattrs = 2\ny.attrs_of = 3\n"
    assert _attrs_uses(code) == [1, 2, 3]


def test_results_travel_in_typed_fields_not_in_dataframe_attrs():
    """A result's meta-data (a family's method, a median, a model) is a field of a dataclass defined where
    it is made, not a hidden ``DataFrame.attrs`` entry that pandas may keep or drop on the way."""
    files = sorted(PACKAGE.rglob("*.py")) + sorted((ROOT / "pages").glob("*.py")) + [ROOT / "dashboard.py"]
    found = [f"{p.relative_to(ROOT)}:{line}" for p in files for line in _attrs_uses(p.read_text(encoding="utf-8"))]
    assert found == []


def _query_param_writes(source: str) -> list[int]:
    """Lines that change ``st.query_params``: an item set or deleted, or a changing method called."""
    lines = []
    for n in ast.walk(ast.parse(source)):
        if isinstance(n, ast.Subscript) and isinstance(n.ctx, (ast.Store, ast.Del)) \
                and ast.unparse(n.value) == "st.query_params":
            lines.append(n.lineno)
        elif isinstance(n, ast.Call) and isinstance(n.func, ast.Attribute) \
                and ast.unparse(n.func.value) == "st.query_params" and n.func.attr in ("update", "clear", "from_dict",
                                                                                       "pop", "setdefault"):
            lines.append(n.lineno)
    return sorted(lines)


def test_one_url_sync_helper():
    """Only pages/_shared.py (``url_choice`` and the filters built on it) writes the page address; a page
    binds a widget to it with ``bind="query-params"`` or goes through the helper."""
    assert _query_param_writes("st.query_params['a'] = '1'\ndel st.query_params['b']\nst.query_params.clear()\n"
                               "x = st.query_params.get('c')\n") == [1, 2, 3]
    files = sorted((ROOT / "pages").glob("*.py")) + [ROOT / "dashboard.py"]
    found = [f"{p.relative_to(ROOT)}:{line}" for p in files if p.name != "_shared.py"
             for line in _query_param_writes(p.read_text(encoding="utf-8"))]
    assert found == []
    assert _query_param_writes((ROOT / "pages" / "_shared.py").read_text(encoding="utf-8"))


def test_architecture_md_carries_the_same_table():
    text = (ROOT / "ARCHITECTURE.md").read_text(encoding="utf-8")
    rows = re.findall(r"^\|\s*`([\w.]+)`\s*\|\s*([^|]+?)\s*\|", text, re.M)
    documented = {}
    for module, layer in rows:
        documented[module if module.startswith("equity") else f"equity.{module}"] = layer
    assert documented == LAYERS


def test_explicit_lists_name_every_file():
    """The build's derivation steps, the app's pages and the CLI's commands are listed by name, and the
    lists are complete: nothing is found by globbing at run time, so a forgotten file fails here."""
    from equity.ingest import build
    from equity import cli
    marts = {f"build/{p.stem}" for p in (ROOT / "equity" / "sql" / "build").glob("marts_*.sql")}
    assert set(build.MART_STEPS) == marts and len(build.MART_STEPS) == len(marts)
    assert {m.__name__ for m in cli.FEATURE_COMMANDS} == {m for m in MODULES if m.startswith("equity.cli.") and m != "equity.cli.serve"}
    from pages._nav import PAGES
    listed = {f for items in PAGES.values() for f, *_ in items}
    on_disk = {f"pages/{p.name}" for p in (ROOT / "pages").glob("*.py") if not p.name.startswith("_")}
    assert listed == on_disk


@pytest.mark.slow  # about 12 s of CPU: pylint's similarity checker compares every pair of files
def test_no_copied_logic_between_modules_or_pages():
    """pylint's duplicate-code check (its ``Symilar``: 4 or more equal lines, ignoring comments,
    docstrings, imports and signatures, as ``pylint --enable=duplicate-code`` does) finds nothing in
    equity/, pages/ and dashboard.py: a rule copied into a second place is a finding."""
    import contextlib
    import io

    from pylint.checkers.symilar import Symilar
    sim = Symilar(min_lines=4, ignore_comments=True, ignore_docstrings=True, ignore_imports=True,
                  ignore_signatures=True)
    files = sorted((ROOT / "equity").rglob("*.py")) + sorted((ROOT / "pages").glob("*.py")) + [ROOT / "dashboard.py"]
    for f in files:
        with open(f, encoding="utf-8") as fh:
            sim.append_stream(str(f.relative_to(ROOT)), fh)
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        sim.run()
    report = out.getvalue()
    total = re.search(r"TOTAL lines=(\d+) duplicates=(\d+)", report)
    assert total and int(total[1]) > 10_000, report[-500:]  # it did read the code
    assert int(total[2]) == 0, report
