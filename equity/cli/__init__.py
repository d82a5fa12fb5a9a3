"""Command line: ``python -m equity <command>``.

Commands: ``build`` (this module), ``synth`` (``bench/synth.py``), ``serve`` (``equity/cli/serve.py``), and one per
feature module listed in ``FEATURE_COMMANDS``: each ``equity/cli/<feature>.py`` has a ``register(subparsers)``
function that adds its own. A new command is a new module here added to that tuple.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

from equity.cli import family, gaps, keys_to_success, pack, register, serve
from equity.ingest.build import build
from equity.ingest.errors import IngestError
from equity.years import parse

FEATURE_COMMANDS = (family, gaps, keys_to_success, pack, register)


def _build(args) -> int:
    sources = [Path(s) for s in args.source] if args.source else None
    try:
        year = parse(args.year) if args.year else None
    except ValueError:
        print(f"error: --year must be an academic year such as 2024/25, not {args.year!r}", file=sys.stderr)
        return 2
    from equity.ingest.uploads import Busy, held
    try:
        with held(Path(args.db) if args.db else None):  # one build at a time, with the Data page's too
            report = build(sources, Path(args.db) if args.db else None,
                           progress=None if args.quiet else lambda f, t: print(f"[{f:4.0%}] {t}", file=sys.stderr),
                           year=year)
    except Busy as exc:
        print(f"Build not started: {exc}.", file=sys.stderr)
        return 2
    except IngestError as exc:
        print(f"Build failed: {exc}", file=sys.stderr)
        print("The previous database (if any) is unchanged.", file=sys.stderr)
        return 2
    print(report.render())
    return 0


def _synth(argv: list[str]) -> int:
    # The generator is a measurement tool kept outside the runtime package (bench/): imported only for this command.
    from bench import synth
    return synth.main(argv) or 0


def _serve(args) -> int:
    return serve.main(args)


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m equity", description="Equity dashboard data tools")
    sub = p.add_subparsers(dest="command", required=True)
    b = sub.add_parser("build", help="read source files and write the database the app reads")
    b.add_argument("--source", action="append", help="folder or file to read (repeatable; default data/raw)")
    b.add_argument("--db", help="database file to write (default $EQUITY_DB or data/equity.duckdb)")
    b.add_argument("--quiet", action="store_true", help="no progress lines")
    b.add_argument("--year", help="academic year (e.g. 2024/25) of results files that carry none: used only when a "
                                  "file's content, name and folder cannot date it")
    b.set_defaults(func=_build)
    s = sub.add_parser("synth", help="write a SYNTHETIC national-scale data set (speed measurement only)",
                       add_help=False)
    s.add_argument("rest", nargs=argparse.REMAINDER)
    s.set_defaults(func=lambda args: _synth(args.rest))
    v = sub.add_parser("serve", help="run N app processes behind nginx (sticky sessions, restarts, health checks)")
    v.add_argument("--replicas", type=int, default=2, help="number of Streamlit processes (default 2)")
    v.add_argument("--port", type=int, default=8500, help="nginx's port (default 8500)")
    v.add_argument("--host", default="127.0.0.1", help="nginx's address (default 127.0.0.1)")
    v.add_argument("--db", help="database file every replica reads (default $EQUITY_DB or data/equity.duckdb)")
    v.set_defaults(func=_serve)
    for command in FEATURE_COMMANDS:
        command.register(sub)
    return p


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv[:1] == ["synth"]:  # synth has its own parser (bench/synth.py)
        return _synth(argv[1:])
    args = parser().parse_args(argv)
    return args.func(args)
