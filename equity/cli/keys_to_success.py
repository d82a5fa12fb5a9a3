"""``python -m equity keys-to-success --la CODE``: the Keys to Success candidates of an LA and the
suggested partners, as a table, CSV or JSON.

JSON: ``{"rule": {..., "text": ...}, "schools": [{"urn", "name", "reasons", ...}],
"suggested_partnerships": [{"school_urn", "partner_urns", "measure", "margin", "margin_low", "km", ...}],
"unmatched": [{"urn", "name", "reason"}]}``. ``margin`` is the supporter's figure minus the
school's for disadvantaged pupils on ``measure``, allowing for how the two were picked (both figures
pulled toward their family's average: see ``keys_to_success.selection_adjusted``); ``margin_low``
the lower end of its 95% interval (above zero: clearly stronger).
"""
from __future__ import annotations

import json
import sys

from equity import csv_export, years


def register(subparsers) -> None:
    p = subparsers.add_parser("keys-to-success", help="candidate schools for support and suggested partners",
                              description="List the schools an LA's Keys to Success rule selects, why, and a "
                                          "suggested stronger partner for each (one optimal assignment).")
    p.add_argument("--la", required=True, help="DfE three-digit LA code, e.g. 936")
    p.add_argument("--key-stage", type=int, choices=(2, 4), default=4)
    p.add_argument("--year", help="academic year, e.g. 2017/18 (default: the latest held for the LA)")
    p.add_argument("--measure", help="measure to select on (default: KS4 p8, KS2 rwm_exp; KS4 att8_vs_national_other "
                                     "in a year with no Progress 8)")
    p.add_argument("--max-value", type=float, help="threshold on the measure for disadvantaged pupils")
    p.add_argument("--min-pct-disadvantaged", type=float, help="minimum %% of pupils disadvantaged")
    p.add_argument("--capacity", type=int, default=2, help="most schools one supporter takes (default 2)")
    p.add_argument("--trio", action="store_true", help="two supporters per school")
    p.add_argument("--radius-km", type=float, help="competition radius in km (default: the families' default)")
    p.add_argument("--max-km", type=float, help="farthest a partner may be, in km (default: anywhere in England)")
    p.add_argument("--format", choices=("table", "csv", "json"), default="table")
    p.add_argument("--db", help="database file (default $EQUITY_DB or data/equity.duckdb)")
    p.set_defaults(func=run)


def _result(args):
    from equity.analysis import keys_to_success as kts
    changes = {}
    if args.year:
        changes["year"] = years.parse(args.year)
    if args.measure:
        changes["measure"] = args.measure
    if args.max_value is not None:
        changes["max_value"] = args.max_value
    if args.min_pct_disadvantaged is not None:
        changes["min_pct_disadvantaged"] = args.min_pct_disadvantaged
    # without --measure: the latest year held for the LA, on a measure DfE published that year
    rule = kts.Rule.default(args.key_stage, **changes) if args.measure else \
        kts.default_rule(args.key_stage, [args.la], args.db, **changes)
    settings = kts.MatchSettings(capacity=args.capacity, per_school=2 if args.trio else 1, radius_km=args.radius_km,
                                  max_km=args.max_km)
    sug = kts.suggest_partners(rule, [args.la], settings, path=args.db)
    ev = kts.evaluate(sug.rule, [args.la], path=args.db)
    return sug, ev[ev.selected]


def _payload(sug, selected) -> dict:
    rule = sug.rule
    schools = [{"urn": int(r.urn), "name": r.name, "la_code": r.la_code, "reasons": list(r.reasons),
                "value": None if r.value != r.value else float(r.value), "disadvantaged_pupils": int(r.cohort),
                "pct_disadvantaged": None if r.pct_disadvantaged != r.pct_disadvantaged else float(r.pct_disadvantaged)}
               for r in selected.itertuples()]
    unmatched = [{"urn": int(r.urn), "name": r.name, "reason": r.status}
                 for r in sug.schools.itertuples() if r.status != "matched"]
    return {"rule": {**rule.as_dict(), "academic_year": years.label(rule.year), "text": rule.describe()},
            "matching": {"capacity": sug.settings.capacity, "per_school": sug.settings.per_school,
                         "radius_km": sug.radius_km, "max_km": sug.settings.max_km,
                         "same_la_penalty": sug.settings.same_la_penalty,
                         "total_cost": round(sug.total_cost, 4)},
            "schools": schools, "suggested_partnerships": sug.grouped(), "unmatched": unmatched}


def run(args) -> int:
    try:
        sug, selected = _result(args)
    except (ValueError, KeyError, FileNotFoundError) as exc:  # FileNotFoundError: db.DatabaseMissing
        print(f"keys-to-success: {exc}", file=sys.stderr)
        return 2
    if args.format == "json":
        json.dump(_payload(sug, selected), sys.stdout, indent=2, default=str)
        print()
        return 0
    grouped = {g["school_urn"]: g for g in sug.grouped()}
    status = dict(zip(sug.schools.urn, sug.schools.status))
    rows = []
    for r in selected.itertuples():
        g = grouped.get(int(r.urn))
        rows.append({"urn": int(r.urn), "name": r.name, "la_code": r.la_code, "reasons": "; ".join(r.reasons),
                     "partner_urns": " ".join(str(u) for u in g["partner_urns"]) if g else "",
                     "partner_names": "; ".join(g["partner_names"]) if g else "",
                     "measure": sug.rule.measure, "margin": g["margin"] if g else None,
                     "margin_low": g["margin_low"] if g else None, "km": g["km"] if g else None,
                     "status": status.get(r.urn, "")})
    import pandas as pd
    df = pd.DataFrame(rows, columns=["urn", "name", "la_code", "reasons", "partner_urns", "partner_names",
                                     "measure", "margin", "margin_low", "km", "status"])
    if args.format == "csv":
        sys.stdout.write(csv_export.to_csv(df))
        return 0
    print(sug.rule.describe())
    print(f"{len(df)} school(s) selected; {len(grouped)} matched (each supporter takes at most "
          f"{sug.settings.capacity}).\n")
    if df.empty:
        return 0
    with pd.option_context("display.width", 200, "display.max_colwidth", 60, "display.max_columns", 20):
        print(df[["urn", "name", "partner_urns", "partner_names", "margin", "margin_low", "km", "status"]]
              .to_string(index=False))
    for g in sug.grouped():
        print(f"\n- {g['explanation']}")
    return 0
