"""``python -m equity family --urn URN``: a school's family of schools, as a table, CSV or JSON.

JSON is an object with ``urn`` (the URN used, after following academy conversions),
``requested_urn``, ``school``, ``method`` (variables, weights, size, radius, year) and
``members``: a list of objects with ``rank``, ``urn``, ``name``, ``la_code`` (DfE 3-digit),
``la_name``, ``distance`` (context distance), ``closeness``, ``km`` and the context variables.
"""
from __future__ import annotations

import argparse
import json
import math
import os
import sys

from equity import csv_export


def _urn(text: str) -> int:
    """--urn checked before use: argparse reports a bad one as a usage error (exit 2), no traceback."""
    from equity.lookups import BadURN, parse_urn
    try:
        return parse_urn(text)
    except BadURN as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def _weight(text: str) -> tuple[str, float]:
    from equity.analysis.families import VARIABLES
    name, _, value = text.partition("=")
    if name not in VARIABLES or not value:
        raise argparse.ArgumentTypeError(f"expected VARIABLE=NUMBER with VARIABLE one of {', '.join(VARIABLES)}")
    try:
        return name, float(value)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"not a number: {value!r}") from exc


def register(subparsers) -> None:
    from equity.analysis.families import DEFAULT_RADIUS_KM, DEFAULT_SIZE, MAX_SIZE, MIN_SIZE
    p = subparsers.add_parser("family", help="a school's family of schools (similar intake, not neighbours)",
                              description="A school's family: the schools whose intake is most like its own, "
                                          "outside its competition radius, from anywhere in England.")
    p.add_argument("--urn", type=_urn, required=True, help="the school's URN (an old or new URN both work)")
    p.add_argument("--size", type=int, default=DEFAULT_SIZE, help=f"members, {MIN_SIZE}-{MAX_SIZE} (default {DEFAULT_SIZE})")
    p.add_argument("--radius-km", type=float, default=DEFAULT_RADIUS_KM,
                   help=f"leave out schools closer than this (default {DEFAULT_RADIUS_KM:g} km)")
    p.add_argument("--key-stage", type=int, choices=(2, 4), default=4)
    p.add_argument("--year", help="academic year, e.g. 2017/18 (default: the latest with context data)")
    p.add_argument("--weight", action="append", type=_weight, default=[], metavar="VARIABLE=NUMBER",
                   help="change a weight, e.g. --weight pct_eal=1 (repeatable)")
    p.add_argument("--format", choices=("table", "csv", "json"), default="table")
    p.add_argument("--db", help="database file (default $EQUITY_DB or data/equity.duckdb)")
    p.set_defaults(func=run)


def _clean(v):
    if isinstance(v, float) and not math.isfinite(v):
        return None
    if hasattr(v, "item"):
        return _clean(v.item())
    return v


def run(args) -> int:
    from equity.analysis import families
    from equity import years
    from equity.db import DatabaseMissing
    try:
        start_year = years.parse(args.year) if args.year else None
        fam = families.family(args.urn, size=args.size, radius_km=args.radius_km, weights=dict(args.weight) or None,
                              key_stage=args.key_stage, start_year=start_year, path=args.db)
    except families.FamilyUnavailable as exc:
        print(f"No family for URN {exc.urn}: {exc.reason}.", file=sys.stderr)
        return 1
    except (ValueError, LookupError, DatabaseMissing) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    try:
        _write(fam, args)
    except BrokenPipeError:  # output piped into head and the like
        sys.stdout = open(os.devnull, "w")
    return 0


def _write(result, args) -> None:
    from equity.analysis import families
    fam, m, me = result.members, result.method, result.school
    cols = [c for c in fam.columns if c not in ("lat", "lon")]
    if args.format == "csv":
        sys.stdout.write(csv_export.to_csv(fam[cols]))
    elif args.format == "json":
        out = {
            "urn": result.urn, "requested_urn": result.requested_urn,
            "school": {k: _clean(me.get(k)) for k in ("name", "la_code", "la_name", "postcode", "prior_attainment",
                                                       "pct_disadvantaged", "pct_eal", "pct_sen")},
            "method": {"key_stage": m["key_stage"], "academic_year": m["academic_year"], "variables": m["variables"],
                       "weights": m["weights"], "size": m["size"], "radius_km": m["radius_km"],
                       "distance": "weighted Mahalanobis distance of z-scores (correlated figures counted once)",
                       "excluded_from_pool": m["excluded_reasons"], "dropped_variables": m["dropped_variables"]},
            "members": [{k: _clean(v) for k, v in row.items()} for row in fam[cols].to_dict("records")],
        }
        json.dump(out, sys.stdout, indent=2)
        print()
    else:
        note = f", found from URN {args.urn}" if result.urn != args.urn else ""
        print(f"{me['name']} (URN {result.urn}{note}), {me.get('la_name')}: KS{m['key_stage']} family, "
              f"{m['academic_year']}, {len(fam)} schools outside {m['radius_km']:g} km, on "
              + ", ".join(f"{families.IN_TEXT[v]} x{m['weights'][v]:g}" for v in m["variables"]))
        show = fam[["rank", "urn", "name", "la_code", "distance", "closeness", "km"]].copy()
        show["distance"] = show.distance.round(3)
        show["km"] = show.km.round(1)
        show["name"] = show.name.str.slice(0, 45)
        print(show.to_string(index=False))
