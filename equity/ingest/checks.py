"""The named checks of the ingest report, run on the staging tables after every load."""
from __future__ import annotations

from equity.codes import MEANINGS
from equity.ingest.loaders import geography, iod2025


def run_checks(ctx) -> None:
    w, r = ctx.writer, ctx.report
    files = w.fetch_text("select kind, count(*) n, sum(rows) rows_ from source_file group by kind order by kind")
    for f in files.itertuples():
        r.ok("rows read per file type", f"{f.kind}: {int(f.n)} file(s), {int(f.rows_ or 0):,} rows", int(f.rows_ or 0))

    st = w.fetch_text("select status, count(*) n from school_result_all where status <> 'ok' group by 1 order by 2 desc")
    if len(st):
        parts = [f"{s.status} ({MEANINGS.get(s.status, s.status)}): {int(s.n):,}" for s in st.itertuples()]
        r.ok("values missing by reason", "; ".join(parts), int(st.n.sum()))
    unk = w.fetch_text("select file, row, \"column\", token from unknown_token order by file, row limit 5")
    n_unk = int(w.fetch_text("select count(*) n from unknown_token").n[0])
    if n_unk:
        eg = "; ".join(f"{u.file} row {u.row} column {u.column}: {u.token!r}" for u in unk.itertuples())
        r.warn("unknown codes", f"{n_unk} cells hold a code we do not know; kept as status 'unknown', never as a "
               f"number. First: {eg}", n_unk)
    else:
        r.ok("unknown codes", "every non-numeric cell holds a known missing-value code", 0)

    plausibility_checks(ctx)
    conflict_checks(ctx)

    dup = w.fetch_text("""select count(*) n from (select urn, key_stage, start_year, measure, pupil_group
                          from school_result group by all having count(*) > 1)""")
    (r.fail if int(dup.n[0]) else r.ok)("one value per school, year, measure and group",
                                        f"{int(dup.n[0])} duplicate keys after resolving versions", int(dup.n[0]))
    nojoin = w.fetch_text("""select count(distinct r.urn) n from school_result r
                             left join school s using (urn) where s.name is null""")
    n = int(nojoin.n[0])
    (r.warn if n else r.ok)("result URNs with a school record", f"{n} URNs with results have no name in any school list", n)
    noloc = w.fetch_text("""select count(distinct r.urn) n from school_result r join school s using (urn)
                            where s.lat is null and s.is_mainstream""")
    n = int(noloc.n[0])
    (r.warn if n else r.ok)("mainstream schools with results but no location",
                            f"{n} schools: no postcode coordinates (they get their LSOA centroid where we know the LSOA)", n)
    small = w.fetch_text("select count(*) n from school_result where cohort < 6 and value is not null")
    r.ok("small cohorts hidden", f"{int(small.n[0])} values for groups of fewer than 6 pupils are hidden on screen",
         int(small.n[0]))
    yrs = w.fetch_text("""select key_stage, string_agg(distinct academic_year, ', ' order by academic_year) y,
                          count(distinct measure) m from school_result group by 1 order by 1""")
    for y in yrs.itertuples():
        r.ok("years and measures present", f"KS{y.key_stage}: {int(y.m)} measures; years {y.y}")
    pub = w.fetch_text("""select count(*) n, count(distinct area_code) a from published_result""")
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
        cells = w.fetch_text('select file, row, "column", raw, rule from rejected_cell where problem = ? '
                             'order by file, row, "column"', [problem])
        n = len(cells)
        if not n:
            r.ok(name, "none found", 0)
            continue
        eg = "; ".join(f"{c.file} row {c.row} column {c.column}: {c.raw!r}, expected {c.rule}" for c in cells.head(5).itertuples())
        r.warn(name, f"{n:,} cell(s) {what}. First: {eg}", n)
        r.cells += [{"check": name, "file": c.file, "row": int(c.row), "column": c.column, "raw": c.raw,
                     "rule": c.rule} for c in cells.head(REPORTED_CELLS).itertuples()]


# Two different files with figures for the same school or area, year, key stage, measure, group and
# version (final or provisional), both as the file's own year. Where they disagree, the build uses
# the file whose path sorts last (the tie-break in equity/sql/build/marts_results.sql) and says so
# here, naming both files, how many figures differ and the first of them.
CONFLICTS = """
with c as (select {key} as k, key_stage, start_year, measure, pupil_group, version, source_file, value, status
           from {table} where kind = 'current' and {key} is not null)
select a.source_file as fa, b.source_file as fb, count(*) as n,
       count(*) filter (where a.value is distinct from b.value or a.status <> b.status) as ndiff,
       arg_min(a.k || ' ' || a.measure || ' (' || a.pupil_group || ') ' || academic_year(a.start_year) || ': ' ||
               coalesce(cast(a.value as varchar), a.status) || ' vs ' || coalesce(cast(b.value as varchar), b.status),
               a.k || a.measure || a.pupil_group)
           filter (where a.value is distinct from b.value or a.status <> b.status) as example
from c a join c b using (k, key_stage, start_year, measure, pupil_group, version)
where a.source_file < b.source_file group by all order by 1, 2"""


def conflict_checks(ctx) -> None:
    w, r = ctx.writer, ctx.report
    pairs = {}
    for table, key, what in (("school_result_all", "cast(urn as varchar)", "URN"),
                             ("published_result_all", "area_code", "area")):
        for p in w.fetch_text(CONFLICTS.format(table=table, key=key)).itertuples():
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
