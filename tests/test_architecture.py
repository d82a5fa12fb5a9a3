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
    tree = ast.parse((ROOT / "dashboard.py").read_text(encoding="utf-8"))
    pages = next(ast.literal_eval(n.value) for n in tree.body
                 if isinstance(n, ast.Assign) and getattr(n.targets[0], "id", "") == "PAGES")
    listed = {f for items in pages.values() for f, *_ in items}
    on_disk = {f"pages/{p.name}" for p in (ROOT / "pages").glob("*.py") if not p.name.startswith("_")}
    assert listed == on_disk
