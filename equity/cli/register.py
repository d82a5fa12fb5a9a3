"""``python -m equity register-migrate --to postgresql://...``: move the partnership register from
its SQLite file to a PostgreSQL database, in one command."""
from __future__ import annotations

import sys


def _migrate(args) -> int:
    from equity.analysis import partnerships as reg
    try:
        n_parts, n_audit = reg.copy_to_postgres(args.to, args.source)
    except reg.RegisterError as exc:
        print(f"Register not copied: {exc}", file=sys.stderr)
        return 2
    where = reg._where(args.to)
    print(f"Copied {n_parts} partnership(s) and {n_audit} audit row(s) to {where}. The SQLite file is unchanged; "
          f"set EQUITY_REGISTER_URL={where} (with its password) for the dashboard to use it.")
    return 0


def register(subparsers) -> None:
    p = subparsers.add_parser("register-migrate",
                              help="copy the partnership register from its SQLite file into PostgreSQL")
    p.add_argument("--to", required=True, metavar="URL", help="postgresql://user@host:port/database (empty)")
    p.add_argument("--from", dest="source", metavar="FILE",
                   help="the SQLite register (default $EQUITY_USER_DB or data/user/partnerships.sqlite)")
    p.set_defaults(func=_migrate)
