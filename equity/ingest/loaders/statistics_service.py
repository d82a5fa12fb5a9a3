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
        years = ctx.writer.fetch_text(f"select distinct trim(time_period) tp from {table} order by 1")
        if len(years) != 1:
            raise IngestError(fname, None, "time_period", f"expected one academic year, found {list(years.tp)}")
        tp = str(years.tp[0])
        if not (len(tp) == 6 and tp.isdigit() and (int(tp[:4]) + 1) % 100 == int(tp[4:])):
            row = int(ctx.writer.fetch_text(f"select min(_row) r from {table}").r[0])
            raise IngestError(fname, row, "time_period", f"{tp!r} is not an academic year like 202324")
        start = int(tp[:4])
        bad = ctx.writer.fetch_text(
            f"select _row, school_urn from {table} where geographic_level = 'School' "
            "and try_cast(trim(school_urn) as integer) is null order by _row limit 1")
        if len(bad):
            raise IngestError(fname, int(bad._row[0]), "school_urn", f"URN {bad.school_urn[0]!r} is not a number")
        dup = ctx.writer.fetch_text(
            f"select school_urn, list(_row order by _row) rows_ from {table} where geographic_level = 'School' "
            "group by 1 having count(*) > 1 order by min(_row) limit 1")
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
            v = ctx.writer.fetch_text(f"select distinct lower(trim(version)) v from {table}")
            version = "provisional" if "provisional" in set(v.v) else "final"
        q = db.quote_ident
        for col, measure in RESULTS:
            if col not in cols:
                continue
            cohort = "cast(cell_value(t_disadvantaged) as integer)" if "t_disadvantaged" in cols else "null"
            ctx.writer.execute_text(
                db.sql_with("build/stats_service_unknown", table=db.table_name(table), col=q(col)),
                {"file": fname, "col": col})
            ctx.writer.execute_text(
                db.sql_with("build/stats_service_results", table=db.table_name(table), col=q(col),
                            cohort=cohort, start=str(start)),
                {"measure": measure, "version": version, "file": fname})
        exprs = [f"nullif(trim({q(src)}), '') as {t}" if src in cols else f"null as {t}" for t, src in CONTEXT.items()]
        exprs += [f"cell_value({q(src)}) as {t}" if src in cols else f"null as {t}" for t, src in NUMERIC.items()]
        postcode = ("nullif(trim(regexp_extract(full_address, '([A-Z]{1,2}[0-9][0-9A-Z]? ?[0-9][A-Z]{2})\\s*$', 1)), '')"
                    if "full_address" in cols else "null")
        ctx.writer.execute_text(f"""
            insert into school_context_all by name
            select cast(trim(school_urn) as integer) as urn, 4 as key_stage, {start} as start_year,
                   academic_year({start}) as academic_year, ? as version, ? as source_file,
                   'KS2 average scaled score' as prior_scale, {postcode} as postcode, {', '.join(exprs)}
            from {table} where geographic_level = 'School'""", [version, fname])
        n = int(ctx.writer.fetch_text(f"select count(*) n from {table}").n[0])
        ctx.record_file(s, self.kind, key_stage=4, start_year=start, version=version, rows=n,
                        year_evidence=f"time_period {tp} ({label(start)})")
        ctx.writer.drop(table)


LOADER = StatisticsServiceKS4()
