"""KS4 school files in the tidy format of DfE's statistics service (Explore Education Statistics).

Columns are lower case (``time_period``, ``geographic_level``, ``school_urn``, ``diffn_att8``...),
the year is in ``time_period`` (``202324`` = 2023/24) and missing values use ``z``, ``c``, ``x``,
``u`` and ``low``. The bundled 2023/24 file covers every school in England but gives only the gap
between a school's disadvantaged pupils and *national* other pupils (``diffn_att8``,
``diffn_p8mea``), not the two groups' scores: it is loaded as published, never turned back into
a score.
"""
from __future__ import annotations

from equity import db
from equity.ingest import plausibility
from equity.ingest.errors import IngestError, rel
from equity.ingest.sniff import check_truncated
from equity.years import label

RESULTS = [("diffn_att8", "att8_vs_national_other"), ("diffn_p8mea", "p8_vs_national_other")]
CONTEXT = {"name": "school_name", "la_code": "old_la_code", "establishment_group": "establishment_type_group",
           "admissions": "admpol_pt", "age_range": "agerange", "gender": "egender", "p8_banding": "p8_banding"}
NUMERIC = {"pupils_on_roll": "t_allks_pupils", "cohort": "t_pupils", "pct_disadvantaged": "pt_disadvantaged",
           "prior_attainment": "avg_ks2_scaledscore", "pct_prior_low": "pt_prior_lo", "pct_prior_high": "pt_prior_hi",
           "pct_eal": "pt_language_not_english", "pct_sen": "pt_sen"}


class StatisticsServiceKS4:
    kind = "KS4 statistics-service school file"

    def recognise(self, s) -> bool:
        h = set(s.header)
        return {"time_period", "geographic_level", "school_urn"} <= h and bool(h & {"diffn_att8", "t_disadvantaged"})

    def load(self, ctx, s) -> None:
        check_truncated(s)
        fname = rel(s.path)
        table, cols = ctx.read_csv(s)
        years = ctx.writer.fetch("build/statistics_service/years", table=table)
        if len(years) != 1:
            raise IngestError(fname, None, "time_period", f"expected one academic year, found {list(years.tp)}")
        tp = str(years.tp[0])
        if not (len(tp) == 6 and tp.isdigit() and (int(tp[:4]) + 1) % 100 == int(tp[4:])):
            row = int(ctx.writer.fetch("build/statistics_service/first_row", table=table).r[0])
            raise IngestError(fname, row, "time_period", f"{tp!r} is not an academic year like 202324")
        start = int(tp[:4])
        bad = ctx.writer.fetch("build/statistics_service/bad_urn", table=table)
        if len(bad):
            raise IngestError(fname, int(bad._row[0]), "school_urn", f"URN {bad.school_urn[0]!r} is not a number")
        dup = ctx.writer.fetch("build/statistics_service/duplicate_urn", table=table)
        if len(dup):
            rows = list(dup.rows_[0])
            raise IngestError(fname, int(rows[1]), "school_urn",
                              f"URN {dup.school_urn[0]} appears more than once (rows {', '.join(map(str, rows))})")
        ranges = {col: plausibility.for_measure(m) for col, m in RESULTS if col in cols}
        ranges.update({src: plausibility.for_field(t) for t, src in NUMERIC.items() if src in cols})
        if "t_disadvantaged" in cols:
            ranges["t_disadvantaged"] = plausibility.COUNT
        plausibility.screen(ctx, table, fname, ranges, urn="school_urn", rows="geographic_level = 'School'")
        version = "final"
        if "version" in cols:
            v = ctx.writer.fetch("build/statistics_service/versions", table=table)
            version = "provisional" if "provisional" in set(v.v) else "final"
        q = db.quote_ident
        for col, measure in RESULTS:
            if col not in cols:
                continue
            cohort = "cast(cell_value(t_disadvantaged) as integer)" if "t_disadvantaged" in cols else "null"
            ctx.writer.run("build/stats_service_unknown", {"file": fname, "col": col}, table=table, col=[col])
            ctx.writer.run("build/stats_service_results",
                           {"start": start, "measure": measure, "version": version, "file": fname},
                           table=table, col=[col], cohort=cohort)
        exprs = [f"nullif(trim({q(src)}), '') as {t}" if src in cols else f"null as {t}" for t, src in CONTEXT.items()]
        exprs += [f"cell_value({q(src)}) as {t}" if src in cols else f"null as {t}" for t, src in NUMERIC.items()]
        ctx.writer.run("build/statistics_service/context", {"start": start, "version": version, "file": fname},
                       table=table, address=["full_address"] if "full_address" in cols else None,
                       exprs=", ".join(exprs))
        n = int(ctx.writer.fetch("build/tables/row_count", table=table).n[0])
        ctx.record_file(s, self.kind, key_stage=4, start_year=start, version=version, rows=n,
                        year_evidence=f"time_period {tp} ({label(start)})")
        ctx.writer.drop(table)


LOADER = StatisticsServiceKS4()
