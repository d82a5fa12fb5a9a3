"""The named checks of the ingest report, run on the staging tables after every load."""
from __future__ import annotations

from equity.codes import MEANINGS
from equity.ingest.loaders import geography, iod2025


def run_checks(ctx) -> None:
    w, r = ctx.writer, ctx.report
    files = w.fetch("build/checks/files_per_kind")
    for f in files.itertuples():
        r.ok("rows read per file type", f"{f.kind}: {int(f.n)} file(s), {int(f.rows_ or 0):,} rows", int(f.rows_ or 0))

    st = w.fetch("build/checks/missing_by_reason")
    if len(st):
        parts = [f"{s.status} ({MEANINGS.get(s.status, s.status)}): {int(s.n):,}" for s in st.itertuples()]
        r.ok("values missing by reason", "; ".join(parts), int(st.n.sum()))
    unk = w.fetch("build/checks/unknown_first")
    n_unk = int(w.fetch("build/checks/unknown_count").n[0])
    if n_unk:
        eg = "; ".join(f"{u.file} row {u.row} column {u.column}: {u.token!r}" for u in unk.itertuples())
        r.warn("unknown codes", f"{n_unk} cells hold a code we do not know; kept as status 'unknown', never as a "
               f"number. First: {eg}", n_unk)
    else:
        r.ok("unknown codes", "every non-numeric cell holds a known missing-value code", 0)

    plausibility_checks(ctx)
    conflict_checks(ctx)

    dup = w.fetch("build/checks/duplicate_keys")
    (r.fail if int(dup.n[0]) else r.ok)("one value per school, year, measure and group",
                                        f"{int(dup.n[0])} duplicate keys after resolving versions", int(dup.n[0]))
    nojoin = w.fetch("build/checks/results_without_school")
    n = int(nojoin.n[0])
    (r.warn if n else r.ok)("result URNs with a school record", f"{n} URNs with results have no name in any school list", n)
    noloc = w.fetch("build/checks/results_without_location")
    n = int(noloc.n[0])
    (r.warn if n else r.ok)("mainstream schools with results but no location",
                            f"{n} schools: no postcode coordinates (they get their LSOA centroid where we know the LSOA)", n)
    small = w.fetch("build/checks/small_cohorts")
    r.ok("small cohorts hidden", f"{int(small.n[0])} values for groups of fewer than 6 pupils are hidden on screen",
         int(small.n[0]))
    yrs = w.fetch("build/checks/years_and_measures")
    for y in yrs.itertuples():
        r.ok("years and measures present", f"KS{y.key_stage}: {int(y.m)} measures; years {y.y}")
    pub = w.fetch("build/checks/published_rows")
    r.ok("published LA and England rows", f"{int(pub.n[0]):,} published figures for {int(pub.a[0])} areas",
         int(pub.n[0]))
    geography.checks(ctx)  # LSOA deprivation and school locations
    iod2025.checks(ctx)  # IoD2025 on 2021 LSOAs and schools' 2021 LSOAs


# The plausibility checks (equity/ingest/plausibility.py): one named check per problem, each a warning
# naming the file, row, column as in the header and the raw cell; the cells are kept out.
PLAUSIBILITY_CHECKS = {
    "bad_number": ("numbers with thousands separators, decimal commas or exponents",
                   "not read as numbers ('1,234' is not 1234, '4,5' is not 45, '1e3' is not 1000): "
                   "stored as missing, status 'bad_number'"),
    "out_of_range": ("values out of range",
                     "impossible for their measure (percentages 0-100, Attainment 8 0-90, Progress 8 within ±5, "
                     "counts 0 or more): stored as missing, status 'out_of_range'"),
    "bad_urn": ("URNs not positive", "rows whose URN is 0 or negative: left out"),
}
REPORTED_CELLS = 1000  # listed one by one in the report file; every one is in the table rejected_cell


def plausibility_checks(ctx) -> None:
    w, r = ctx.writer, ctx.report
    for problem, (name, what) in PLAUSIBILITY_CHECKS.items():
        cells = w.fetch("build/checks/rejected_cells", [problem])
        n = len(cells)
        if not n:
            r.ok(name, "none found", 0)
            continue
        eg = "; ".join(f"{c.file} row {c.row} column {c.column}: {c.raw!r}, expected {c.rule}" for c in cells.head(5).itertuples())
        r.warn(name, f"{n:,} cell(s) {what}. First: {eg}", n)
        r.cells += [{"check": name, "file": c.file, "row": int(c.row), "column": c.column, "raw": c.raw,
                     "rule": c.rule} for c in cells.head(REPORTED_CELLS).itertuples()]


# Two different files with figures for the same school or area, year, key stage, measure, group and
# version: equity/sql/build/checks/conflicts_school.sql and conflicts_published.sql. Where they
# disagree, the build uses the file whose path sorts last and says so here, naming both files, how
# many figures differ and the first of them.


def conflict_checks(ctx) -> None:
    w, r = ctx.writer, ctx.report
    pairs = {}
    for name, what in (("build/checks/conflicts_school", "URN"), ("build/checks/conflicts_published", "area")):
        for p in w.fetch(name).itertuples():
            n, nd, eg = pairs.get((p.fa, p.fb), (0, 0, None))
            pairs[(p.fa, p.fb)] = (n + int(p.n), nd + int(p.ndiff), eg or (f"{what} {p.example}" if p.ndiff else None))
    agree = [k for k, v in pairs.items() if v[1] == 0]
    for (fa, fb), (n, nd, eg) in pairs.items():
        if nd:
            r.warn("conflicting files", f"{fa} and {fb} hold different figures for the same schools or areas, year, "
                   f"key stage and version: {nd:,} of {n:,} differ (first: {eg}). The build uses {fb} "
                   "(precedence: the path that sorts last); remove the file that is wrong", nd, fb)
    if not any(v[1] for v in pairs.values()):
        r.ok("conflicting files", f"no two files disagree; {len(agree)} pair(s) of files overlap and agree", 0)
