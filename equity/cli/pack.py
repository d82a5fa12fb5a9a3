"""``python -m equity pack``: write a challenge-board meeting pack as PDF or PowerPoint.

    python -m equity pack --la 936 --format pdf --out surrey.pdf
    python -m equity pack --urn 125249 --format pptx --out broadwater.pptx --anonymise
    python -m equity pack --partnership 3 --format pdf --out p3.pdf --since-db old.duckdb
    python -m equity pack --keys-to-success 850 --format pdf --out kts.pdf --since 2016/17 2017/18

Charts are drawn by the local Chromium (no network needed); see equity/present/pack_charts.py.
"""
from __future__ import annotations

import sys
from pathlib import Path


def _run(args) -> int:
    from equity.present import pack
    from equity import years
    from equity.db import DatabaseMissing

    if args.la:
        kind, key = "la", args.la
    elif args.urn:
        kind, key = "family", args.urn
    elif args.partnership is not None:
        kind, key = "partnership", args.partnership
    else:
        kind, key = "keys_to_success", args.keys_to_success
    out = Path(args.out)
    fmt = args.format or (out.suffix.lstrip(".").lower() if out.suffix.lower() in (".pdf", ".pptx") else "pdf")
    since = None
    if args.since:
        try:
            since = tuple(sorted(years.parse(y) for y in args.since))
        except ValueError as exc:
            print(f"--since: {exc}", file=sys.stderr)
            return 2
    if args.since_db and not Path(args.since_db).exists():
        print(f"--since-db: no database at {args.since_db}", file=sys.stderr)
        return 2
    try:
        data, p, t = pack.make(kind, key, fmt, anonymise=args.anonymise, since=since, since_db=args.since_db,
                               path=args.db, user_db=args.user_db)
    except pack.PackError as exc:
        print(f"No pack: {exc}", file=sys.stderr)
        return 2
    except DatabaseMissing as exc:
        print(str(exc), file=sys.stderr)
        return 2
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_bytes(data)
    print(f"Wrote {out} ({fmt.upper()}, {len(p.slides)} slides, {len(data) / 1024:.0f} KB) in {t['total']:.1f} s "
          f"(content {t['content']:.1f} s, drawing {t['render']:.1f} s)"
          + ("; school names anonymised" if args.anonymise else ""))
    return 0


def register(subparsers) -> None:
    p = subparsers.add_parser(
        "pack", help="write a challenge-board meeting pack (PDF or PowerPoint)",
        description="A meeting pack for an LA, a school and its family, a partnership or the Keys to Success "
                    "cohort of an LA: a cover with the years and sources, charts with plain-language sentences, "
                    "'since last meeting', the partnership actions recorded and notes on the data.")
    scope = p.add_mutually_exclusive_group(required=True)
    scope.add_argument("--la", metavar="CODE", help="an LA (DfE three-digit code, e.g. 936)")
    scope.add_argument("--urn", type=_urn, help="a school and its family of similar schools")
    scope.add_argument("--partnership", type=int, metavar="ID", help="a partnership in the register")
    scope.add_argument("--keys-to-success", metavar="LA", help="the Keys to Success cohort of an LA")
    p.add_argument("--format", choices=["pdf", "pptx"], help="pdf or pptx (default: from --out's suffix, else pdf)")
    p.add_argument("--out", required=True, metavar="PATH", help="file to write")
    p.add_argument("--db", metavar="PATH", help="database to read (default $EQUITY_DB or data/equity.duckdb)")
    p.add_argument("--anonymise", "--anonymize", action="store_true",
                   help="replace school names by School A, School B... (consistently) and leave out URNs")
    p.add_argument("--since", nargs=2, metavar="YEAR",
                   help="'since last meeting' between two academic years, e.g. 2017/18 2018/19 "
                        "(default: the two latest comparable years)")
    p.add_argument("--since-db", metavar="PATH",
                   help="'since last meeting' against an earlier database build instead of two years")
    p.add_argument("--user-db", metavar="PATH",
                   help="the partnership register (default $EQUITY_USER_DB or data/user/partnerships.sqlite)")
    p.set_defaults(func=_run)


def _urn(text: str) -> int:
    """--urn checked before use (equity.lookups.parse_urn): a bad one is a usage error, no traceback."""
    from equity.cli.family import _urn as check
    return check(text)
