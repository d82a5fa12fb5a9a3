"""Plausibility checks at ingest: what a number in a source file can possibly be.

Every loader calls :func:`screen` on its staging table right after reading a file. A cell that is
not a plain number although it looks like one (``'1,234'``, ``'4,5'``, ``'1e3'``: status
``bad_number``), a number outside what its measure can be (a percentage over 100, Attainment 8
over 90, pupils below 0: status ``out_of_range``) and a row whose URN is not positive (the row is
left out) are each recorded in the table ``rejected_cell`` with the file, the data row, the column
as named in the header and the raw cell, and reported by the named checks in
:mod:`equity.ingest.checks`. The value is stored as missing with its reason, never as a number; the build
carries on, so one run reports every problem.

The ranges are set per measure (``equity/measures.py``): KS2 progress scores and scaled scores are
not percentages, and Progress 8's confidence limits may lie a little beyond its own range.
"""
from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from equity import db
from equity.codes import OUT_OF_RANGE_MARK
from equity.measures import MEASURES
from equity.ingest.sniff import CHECK_LINES, EXCERPT, limits


@dataclass(frozen=True)
class Range:
    lo: float | None
    hi: float | None
    rule: str  # in words, for the report: "a percentage: 0 to 100"


PERCENT = Range(0, 100, "a percentage: 0 to 100")
PERCENT_POINTS = Range(-100, 100, "a difference of percentages: -100 to 100 points")
COUNT = Range(0, None, "a count: 0 or more")
ANY = Range(None, None, "a plain number")  # format check only

# Per measure (value field). Percent measures not listed get PERCENT.
MEASURE_RANGES = {
    "att8": Range(0, 90, "Attainment 8: 0 to 90"),
    "att8_vs_national_other": Range(-90, 90, "a difference of Attainment 8 scores: -90 to 90"),
    "p8": Range(-5, 5, "Progress 8: within -5 to +5"),
    "p8_vs_national_other": Range(-10, 10, "a difference of Progress 8 scores: -10 to +10"),
    "ebacc_aps": Range(0, 9, "EBacc average point score: 0 to 9"),
    # KS2 value-added scores are in scaled-score points: DfE's most extreme school scores are near ±30
    "read_prog": Range(-50, 50, "a KS2 progress score: -50 to +50"),
    "writ_prog": Range(-50, 50, "a KS2 progress score: -50 to +50"),
    "mat_prog": Range(-50, 50, "a KS2 progress score: -50 to +50"),
    "rwm_exp_vs_national_other": PERCENT_POINTS,
    "rwm_high_vs_national_other": PERCENT_POINTS,
}
P8_LIMITS = Range(-10, 10, "a Progress 8 confidence limit: -10 to +10")

# Context and school-list columns, by the name the loader gives them
FIELD_RANGES = {
    "pupils_on_roll": COUNT, "cohort": COUNT, "headcount": COUNT, "sample_size": COUNT,
    "prior_attainment": Range(0, None, "an average point score: 0 or more"),
    "lat": Range(-90, 90, "a latitude: -90 to 90"), "lon": Range(-180, 180, "a longitude: -180 to 180"),
    "easting": Range(0, None, "an easting: 0 or more"), "northing": Range(0, None, "a northing: 0 or more"),
}


def for_measure(measure: str, field: str = "value") -> Range:
    """The possible range of one field (value, ci_low, ci_high, cohort) of a measure."""
    if field == "cohort":
        return COUNT
    if measure == "p8" and field in ("ci_low", "ci_high"):
        return P8_LIMITS
    if measure in MEASURE_RANGES:
        return MEASURE_RANGES[measure]
    m = MEASURES.get(measure)
    if m is not None and m.unit == "percent":
        return PERCENT
    return ANY


def for_field(name: str) -> Range:
    """The possible range of a context column by our name for it (``pct_*`` are percentages)."""
    if name in FIELD_RANGES:
        return FIELD_RANGES[name]
    if name.startswith("pct_") or name.endswith("_pct") or name.endswith("_percent"):
        return PERCENT
    if name in MEASURES:
        return for_measure(name)
    return ANY


def screen(ctx, table: str, fname: str, columns: dict[str, Range], urn: str | None = None,
           rows: str = "true", keep_tokens: bool = False) -> int:
    """Record and keep out the implausible cells of a staging table; returns how many.

    ``columns`` maps a header column (as written in the file) to its range. Out-of-range cells are
    overwritten in the staging table with a marker that ``cell_status`` reads as ``out_of_range``;
    ``bad_number`` cells need no marker (``cell_status`` says so itself). ``urn`` names the URN
    column: a row whose URN is a whole number of 0 or less is deleted from the staging table.
    ``rows`` is an SQL condition on the staging table limiting the URN check (school rows).
    ``keep_tokens`` leaves the temp table ``screen_token`` (each screened column's distinct cells with
    their ``cell_status`` and ``cell_value``, as read before the screen) for the caller, who drops it.
    """
    w = ctx.writer
    q = db.quote_ident
    table = db.table_name(table)
    found = []
    cols = {c: r for c, r in columns.items() if c}
    if cols:
        # each column's distinct cells classified once (a national file: millions of cells, few tokens);
        # only the columns holding an implausible token are then unpivoted to find its rows
        w.run("build/screen_tokens", table=table, names=", ".join(db.sql_literal(c) for c in cols),
              tokens=", ".join(f"list(distinct {q(c)})" for c in cols))
        ranges = pd.DataFrame([(c, r.lo, r.hi, r.rule) for c, r in cols.items()],
                              columns=["col", "lo", "hi", "rule"]).astype({"lo": "float64", "hi": "float64"})
        w.register("_ranges", ranges)
        tokens = w.fetch("build/screen_bad")
        w.con.unregister("_ranges")
        if len(tokens):
            w.register("_bad_tokens", tokens)
            bad = w.fetch("build/screen_cells", table=table, names=sorted(set(tokens.col)))
            w.con.unregister("_bad_tokens")
            found.append(bad)
            for col, part in bad[bad.problem == "out_of_range"].groupby("column"):
                w.run("build/plausibility/mark_out_of_range", [OUT_OF_RANGE_MARK, [int(r) for r in part.row]],
                      table=table, col=[col])
        if not keep_tokens:
            w.drop("screen_token")
    if urn:
        bad = w.fetch("build/plausibility/bad_urn", [urn], table=table, urn=[urn], rows=rows)
        if len(bad):
            found.append(bad)
            w.run("build/plausibility/drop_rows", [[int(r) for r in bad.row]], table=table)
    if not found:
        return 0
    out = pd.concat(found, ignore_index=True)
    out.insert(0, "file", fname)
    w.insert_df("rejected_cell", out[["file", "row", "column", "raw", "problem", "rule"]])
    return len(out)


def long_fields(ctx, table: str, fname: str) -> int:
    """Leave out (as missing) every field longer than the field cap, naming its row, column and first
    80 characters under the check 'long lines and fields'; returns how many. No DfE field comes near
    the cap (32 KB): such a field is damage or an attack, never a school name."""
    w = ctx.writer
    cap = limits()["field"]
    widest = w.fetch("build/plausibility/widest_fields", table=table)
    if not len(widest) or not any(v > cap for v in widest.iloc[0].fillna(0)):
        return 0
    long = w.fetch("build/plausibility/long_fields", [EXCERPT, cap], table=table)
    for c in long.itertuples():
        ctx.report.warn(CHECK_LINES, f"row {c.row}, column {c.column}: a field of {int(c.n):,} characters, more than "
                        f"the cap of {cap >> 10:,} KB (EQUITY_MAX_FIELD_KB), which starts {c.excerpt!r}: left out",
                        file=fname)
        try:
            col = db.quote_ident(c.column)
        except ValueError:
            continue  # a column no loader can name is never read
        w.run("build/plausibility/blank_field", [int(c.row)], table=table, col=col)
    return len(long)
