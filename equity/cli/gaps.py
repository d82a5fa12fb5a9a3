"""``python -m equity gaps --la CODE --key-stage {2,4}``: an LA's and England's disadvantage gaps by year.

JSON is a list of objects, one per area x measure x academic year, with ``academic_year``,
``area_code`` (DfE three-digit LA code, or ``england`` for England's state-funded schools), ``area_name``,
``measure``, ``disadvantaged``, ``other``, ``all``, ``gap`` (other minus disadvantaged),
``gap_to_national_other`` (disadvantaged minus England's other pupils) and where it comes from, the cohort
sizes, ``status`` (why a value is missing) and ``source``: ``published`` (DfE's own LA / England figures)
or ``estimate`` (computed here from school results for a year with no published row). Percentages are on a
0-100 scale.
"""
from __future__ import annotations

import argparse
import json
import math
import os
import sys

from equity import csv_export
from equity.measures import GAP_MEASURES, HEADLINE_GAP

FIELDS = ["academic_year", "area_code", "area_name", "measure", "disadvantaged", "other", "all", "gap",
          "gap_to_national_other", "gap_to_national_source", "n_disadvantaged", "n_other", "n_all", "status",
          "source", "publisher", "version", "coverage"]


def _epilog() -> str:
    from equity.measures import MEASURES
    lines = ["measures (default: the headline ones, marked *):"]
    for ks in (4, 2):
        lines.append(f"  KS{ks}:")
        for m in GAP_MEASURES[ks]:
            star = "*" if m in HEADLINE_GAP[ks] else " "
            lines.append(f"   {star} {m:<20} {MEASURES[m].label}: {MEASURES[m].meaning}")
    lines += ["", "gap = other pupils minus disadvantaged pupils; gap_to_national_other = disadvantaged pupils minus",
              "England's other pupils (DfE's DIFFN where published). LA and England figures are DfE's published",
              "rows; 'estimate' rows are computed from school results for years with no published LA row."]
    return "\n".join(lines)


def register(subparsers) -> None:
    p = subparsers.add_parser(
        "gaps", help="an LA's and England's gaps between disadvantaged and other pupils, by year",
        description="Published LA and England figures for disadvantaged and other pupils, the gap between them and "
                    "the gap to national other pupils, for every academic year held.",
        epilog=_epilog(), formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--la", required=True, help="DfE three-digit LA code, e.g. 936 (Surrey)")
    p.add_argument("--key-stage", type=int, choices=(2, 4), required=True)
    p.add_argument("--measure", help="one measure name (see below); default: the headline measures")
    p.add_argument("--format", choices=("table", "csv", "json"), default="table")
    p.add_argument("--no-estimates", action="store_true", help="published rows only")
    p.add_argument("--db", help="database file (default $EQUITY_DB or data/equity.duckdb)")
    p.set_defaults(func=run)


def _clean(v):
    if v is None:
        return None
    if hasattr(v, "item"):
        v = v.item()
    if isinstance(v, float):
        if not math.isfinite(v):
            return None
        return round(v, 6)
    try:
        import pandas as pd
        if pd.isna(v):
            return None
    except (TypeError, ValueError):
        pass
    return v


def rows(la: str, key_stage: int, measure: str | None = None, estimates: bool = True, path=None):
    """The records the CLI prints: the LA's rows then England's, each by measure and year."""
    import pandas as pd

    from equity.analysis import gaps
    measures = [measure] if measure else HEADLINE_GAP[key_stage]
    parts = [gaps.area_gaps(la, key_stage, measures, estimates=estimates, path=path)]
    if la != "england":
        parts.append(gaps.area_gaps("england", key_stage, measures, estimates=estimates, path=path))
    df = pd.concat([p for p in parts if not p.empty], ignore_index=True) if any(not p.empty for p in parts) else parts[0]
    if df.empty:
        return []
    has_value = df[["disadvantaged", "other", "all", "gap", "gap_to_national_other"]].notna().any(axis=1)
    df = df[has_value]
    return [{k: _clean(r.get(k)) for k in FIELDS} for r in df.to_dict("records")]


def run(args) -> int:
    from equity.analysis import gaps
    from equity.db import DatabaseMissing
    la = str(args.la).strip().lower()
    if la != "england" and not (la.isdigit() and len(la) == 3):
        print(f"error: --la must be a DfE three-digit LA code such as 936, not {args.la!r}", file=sys.stderr)
        return 2
    if args.measure and args.measure not in GAP_MEASURES[args.key_stage]:
        print(f"error: {args.measure!r} is not a KS{args.key_stage} measure with a disadvantaged split; choose from "
              + ", ".join(GAP_MEASURES[args.key_stage]), file=sys.stderr)
        return 2
    try:
        if la != "england" and la not in gaps.la_names(args.db) and not gaps.area_long([la], args.key_stage, args.db).shape[0]:
            print(f"error: no LA with code {la} in the database", file=sys.stderr)
            return 2
        recs = rows(la, args.key_stage, args.measure, not args.no_estimates, args.db)
    except DatabaseMissing as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    try:
        _write(recs, args)
    except BrokenPipeError:
        sys.stdout = open(os.devnull, "w")
    return 0


def _write(recs, args) -> None:
    import pandas as pd
    if args.format == "json":
        json.dump(recs, sys.stdout, indent=2)
        print()
        return
    df = pd.DataFrame(recs, columns=FIELDS)
    if args.format == "csv":
        sys.stdout.write(csv_export.to_csv(df))
        return
    if df.empty:
        print(f"No published or estimated figures for LA {args.la} at KS{args.key_stage}.")
        return
    show = df[["area_code", "measure", "academic_year", "disadvantaged", "other", "all", "gap", "gap_to_national_other",
               "n_disadvantaged", "source", "status"]].copy()
    for c in ("disadvantaged", "other", "all", "gap", "gap_to_national_other"):
        show[c] = show[c].map(lambda v: "" if v is None or pd.isna(v) else f"{v:.2f}".rstrip("0").rstrip("."))
    show["n_disadvantaged"] = show.n_disadvantaged.map(lambda v: "" if v is None or pd.isna(v) else f"{v:,.0f}")
    show["status"] = show.status.str.slice(0, 50)
    print(show.to_string(index=False))
