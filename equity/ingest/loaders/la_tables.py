"""LA-level indicator files for comparing LAs: published area figures, never school rows.

* Social Mobility Commission "State of the Nation" files (from DfE statistics):
  - the **LA file** (``Ind_code, Area_type, Area_code, ... SEB, Value``): KS2 reading, writing and
    maths at the expected standard for disadvantaged and other pupils in every LA, 2021/22;
  - the **full data sets** (``measure_code, chart_type, area_code, ... time_period, value``): England's
    time series by disadvantage (KS2 RWM expected from 2015/16, KS4 English and maths grade 5+ from
    2018/19), DfE's disadvantage gap index for England, and ITL2 regions by free-school-meal
    eligibility for 2023/24. ``time_period`` is the calendar year an academic year ends in
    (2019 = 2018/19).
* Trafford Data Lab's LA indicator files (``area_code, area_name, period, indicator, measure, unit,
  value``; DfE figures via LG Inform) for Trafford, its statistical neighbours and England, all
  pupils only, and the statistical-neighbour list itself (a file with just ``area_code, area_name``).
* DfE's free-school-meals time series (``time_period, geographic_level, old_la_code, new_la_code,
  phase, fsm_eligible, headcount, fsm_eligible_percent``): % of pupils eligible for FSM by LA,
  region and England, 2015/16 to 2020/21. This is *current* FSM eligibility, not "disadvantaged"
  (FSM in the last six years, looked after or adopted): the two are never mixed.

Rows go to the staging table ``la_indicator_raw``; ``equity/sql/build/marts_la_indicator.sql`` maps
GSS codes (E06/E08/E09/E10...) to DfE's three-digit LA codes and writes ``la_indicator`` and
``la_neighbour``. Every value keeps its missing reason (``NA``, ``x``...) as ``status``.
"""
from __future__ import annotations

from equity.ingest import plausibility
from equity.ingest.errors import IngestError, rel
from equity.ingest.sniff import check_truncated
from equity.years import label

STAGING = """
create table if not exists la_indicator_raw (
    area_code_raw varchar, gss_code varchar, area_name varchar, area_level varchar, region_name varchar,
    key_stage tinyint, start_year integer, academic_year varchar, measure varchar, pupil_group varchar,
    value double, cohort double, status varchar, raw_token varchar, note varchar, publisher varchar,
    source_file varchar, source_row integer);
create table if not exists la_neighbour_raw (
    gss_code varchar, area_name varchar, rank integer, source_file varchar);
"""

SMC = "Social Mobility Commission (from DfE)"
LGI = "DfE via LG Inform (Trafford Data Lab)"
DFE_FSM = "DfE (Free school meals: autumn term 2020/21)"

# SMC measure codes -> (key stage, our measure)
SMC_MEASURES = {"in12": (2, "rwm_exp"), "IN12": (2, "rwm_exp"), "in13": (4, "basics_95"), "IN13": (4, "basics_95")}
# SMC socio-economic groups -> our pupil groups. FSM-eligible groups are kept apart from "disadvantaged".
SMC_GROUPS = {"Disadvantaged": "disadvantaged", "Not known to be disadvantaged": "other", "Total": "all",
              "FSM eligible": "fsm_eligible", "Not FSM eligible": "not_fsm_eligible"}
# Trafford Data Lab indicator wording -> (key stage, measure); matched on a lower-cased fragment
LGI_MEASURES = [("expected standard at the end of key stage 2 in reading, writing and mathematics", 2, "rwm_exp"),
                ("9-5 in english & mathematics", 4, "basics_95"),
                ("progress 8", 4, "p8")]
FSM_PHASES = {"Total": "fsm_eligible_pct", "State-funded primary": "fsm_eligible_pct_primary",
              "State-funded secondary": "fsm_eligible_pct_secondary"}


def _values(pairs: dict) -> str:
    """A VALUES list from a fixed dict of our own constants (never from file content)."""
    rows = []
    for k, v in pairs.items():
        vals = v if isinstance(v, tuple) else (v,)
        rows.append("(" + ", ".join(repr(x) if isinstance(x, str) else str(x) for x in (k, *vals)) + ")")
    return "values " + ", ".join(rows)


class _Base:
    def _start(self, ctx, s):
        check_truncated(s)
        ctx.writer.execute_text(STAGING)
        table, cols = ctx.read_csv(s)
        # numbers read below: value (any), sample sizes, FSM percent and headcount
        plausibility.screen(ctx, table, rel(s.path), {c: plausibility.for_field(c.lower()) for c in cols if c.lower() in
                                                     ("value", "sample_size", "fsm_eligible_percent", "headcount")})
        return rel(s.path), table, cols

    def _finish(self, ctx, s, table, fname, years: list[int], key_stage=None, evidence=""):
        n = int(ctx.writer.fetch_text(f"select count(*) n from {table}").n[0])
        loaded = int(ctx.writer.fetch_text("select count(*) n from la_indicator_raw where source_file = ?",
                                           [fname]).n[0])
        ys = sorted(set(y for y in years if y is not None))
        ctx.record_file(s, self.kind, key_stage=key_stage, start_year=ys[-1] if len(ys) == 1 else None, rows=n,
                        year_evidence=evidence or (f"years in the file: {label(ys[0])} to {label(ys[-1])}" if ys else ""))
        ctx.report.ok("LA indicators", f"{loaded:,} LA/region/England figures read from {n:,} rows", loaded, fname)
        ctx.writer.drop(table)


class SMCLocalAuthority(_Base):
    """SMC's LA file: one row per LA x socio-economic group."""
    kind = "SMC LA indicator (by disadvantage)"
    REQUIRED = {"Ind_code", "Area_type", "Area_code", "Area_name", "Time_period", "SEB", "Value"}

    def recognise(self, s) -> bool:
        return self.REQUIRED <= set(s.header)

    def load(self, ctx, s) -> None:
        fname, table, cols = self._start(ctx, s)
        bad = ctx.writer.fetch_text(
            f"select _row, Time_period from {table} where not regexp_full_match(trim(Time_period), '\\d{{6}}') "
            "order by _row limit 1")
        if len(bad):
            raise IngestError(fname, int(bad._row[0]), "Time_period",
                              f"{bad.Time_period[0]!r} is not an academic year like 202122")
        unknown = ctx.writer.fetch_text(
            f"select distinct Ind_code from {table} where Ind_code not in ({', '.join(repr(k) for k in SMC_MEASURES)})")
        if len(unknown):
            ctx.report.warn("LA indicators", f"indicator codes we do not map, rows skipped: {', '.join(unknown.Ind_code)}",
                            file=fname)
        sample = "cell_value(Sample_size)" if "Sample_size" in cols else "null"
        sex = "coalesce(trim(t.Sex), 'Total') = 'Total'" if "Sex" in cols else "true"
        ctx.writer.execute_text(f"""
            insert into la_indicator_raw
            with m(code, ks, measure) as ({_values(SMC_MEASURES)}),
                 g(seb, grp) as ({_values(SMC_GROUPS)})
            select trim(Area_code), case when trim(Area_code) like 'E%' then trim(Area_code) end, trim(Area_name),
                   case when Area_type ilike 'local authority%' then 'la' when Area_type ilike 'country%' then 'england'
                        else lower(trim(Area_type)) end,
                   null, m.ks, cast(left(trim(Time_period), 4) as integer),
                   academic_year(cast(left(trim(Time_period), 4) as integer)), m.measure, g.grp,
                   cell_value(Value), {sample}, cell_status(Value),
                   case when cell_status(Value) = 'unknown' then Value end, null, ?, ?, _row
            from {table} t join m on m.code = trim(t.Ind_code) join g on g.seb = trim(t.SEB)
            where {sex}""", [SMC, fname])
        years = ctx.writer.fetch_text(f"select distinct cast(left(trim(Time_period), 4) as integer) y from {table}")
        self._finish(ctx, s, table, fname, list(years.y), key_stage=2)


class SMCDataset(_Base):
    """SMC's tidy 'full data set' files: England trend by disadvantage, gap index, ITL2 regions by FSM."""
    kind = "SMC England and region indicator"
    REQUIRED = {"measure_code", "chart_type", "area_code", "area_type", "area_name", "primary_split_type",
                "primary_split_value", "time_period", "value", "unit"}

    def recognise(self, s) -> bool:
        return self.REQUIRED <= set(s.header)

    def load(self, ctx, s) -> None:
        fname, table, cols = self._start(ctx, s)
        bad = ctx.writer.fetch_text(
            f"select _row, time_period from {table} where try_cast(trim(time_period) as integer) not between 1990 and 2100 "
            "or try_cast(trim(time_period) as integer) is null order by _row limit 1")
        if len(bad):
            raise IngestError(fname, int(bad._row[0]), "time_period", f"{bad.time_period[0]!r} is not a year like 2019")
        codes = ctx.writer.fetch_text(f"select distinct trim(measure_code) c from {table}")
        unknown = [c for c in codes.c if c not in SMC_MEASURES]
        if unknown:
            ctx.report.warn("LA indicators", f"measure codes we do not map, rows skipped: {', '.join(unknown)}", file=fname)
        sample = "cell_value(sample_size)" if "sample_size" in cols else "null"
        # time_period is the calendar year the academic year ends in: 2019 = 2018/19
        year = "(cast(trim(time_period) as integer) - 1)"
        years_sql = f"{year}, academic_year({year})"
        note = "nullif(trim(value_note), '')" if "value_note" in cols else "null"
        ctx.writer.execute_text(f"""
            insert into la_indicator_raw
            with m(code, ks, measure) as ({_values(SMC_MEASURES)}),
                 g(seb, grp) as ({_values(SMC_GROUPS)})
            -- England by disadvantage, year by year
            select 'england', nullif(trim(area_code), ''), trim(area_name), 'england', null, m.ks, {years_sql},
                   m.measure, g.grp, cell_value(value), {sample}, cell_status(value),
                   case when cell_status(value) = 'unknown' then value end, {note}, ?, ?, _row
            from {table} t join m on m.code = trim(t.measure_code) join g on g.seb = trim(t.primary_split_value)
            where chart_type = 'trend' and area_type = 'Country'
            union all
            -- DfE's disadvantage gap index (England only; pupil-level, never computed here)
            select 'england', nullif(trim(area_code), ''), trim(area_name), 'england', null, m.ks, {years_sql},
                   'gap_index', 'all', cell_value(value), null, cell_status(value),
                   case when cell_status(value) = 'unknown' then value end, 'DfE disadvantage gap index', ?, ?, _row
            from {table} t join m on m.code = trim(t.measure_code)
            where chart_type = 'index_trend' and area_type = 'Country'
            union all
            -- ITL2 regions by free-school-meal eligibility (no area code in the file: the name identifies it)
            select null, null, trim(area_name), 'itl2', null, m.ks, {years_sql},
                   m.measure, g.grp, cell_value(value), {sample}, cell_status(value),
                   case when cell_status(value) = 'unknown' then value end, 'pupils eligible for free school meals', ?, ?, _row
            from {table} t join m on m.code = trim(t.measure_code) join g on g.seb = trim(t.primary_split_value)
            where chart_type = 'geography_map' and area_type = 'ITL2'""", [SMC, fname] * 3)
        skipped = int(ctx.writer.fetch_text(
            f"select count(*) n from {table} where chart_type not in ('trend', 'index_trend', 'geography_map')").n[0])
        if skipped:
            ctx.report.ok("LA indicators", f"{skipped} rows split by ethnicity or sex (England only) not loaded: "
                          "the dashboard compares areas", skipped, fname)
        years = ctx.writer.fetch_text(f"select distinct cast(trim(time_period) as integer) - 1 y from {table}")
        self._finish(ctx, s, table, fname, list(years.y))


class LGInformIndicator(_Base):
    """Trafford Data Lab's LA indicator files: one measure, all pupils, several LAs and England."""
    kind = "LA indicator (LG Inform)"
    REQUIRED = {"area_code", "area_name", "period", "indicator", "measure", "unit", "value"}

    def recognise(self, s) -> bool:
        return self.REQUIRED <= set(s.header)

    def load(self, ctx, s) -> None:
        fname, table, cols = self._start(ctx, s)
        inds = ctx.writer.fetch_text(f"select distinct indicator from {table}")
        mapping = {}
        for ind in inds.indicator:
            hit = next(((ks, m) for frag, ks, m in LGI_MEASURES if frag in str(ind).lower()), None)
            if hit is None:
                ctx.report.warn("LA indicators", f"indicator not recognised, rows skipped: {ind!r}", file=fname)
            else:
                mapping[str(ind)] = hit
        bad = ctx.writer.fetch_text(
            f"select _row, period from {table} where not regexp_full_match(trim(period), '\\d{{4}}/\\d{{2}}') "
            "order by _row limit 1")
        if len(bad):
            raise IngestError(fname, int(bad._row[0]), "period", f"{bad.period[0]!r} is not an academic year like 2017/18")
        bad = ctx.writer.fetch_text(f"select _row, period from {table} where (cast(left(trim(period), 4) as integer) + 1) % 100 "
                                    "<> cast(right(trim(period), 2) as integer) order by _row limit 1")
        if len(bad):
            raise IngestError(fname, int(bad._row[0]), "period", f"{bad.period[0]!r} is not an academic year like 2017/18")
        if mapping:
            ctx.writer.execute_text(f"""
                insert into la_indicator_raw
                with m(ind, ks, measure) as ({_values(mapping)})
                select case when trim(area_code) = 'E92000001' then 'england' else trim(area_code) end, trim(area_code),
                       trim(area_name), case when trim(area_code) = 'E92000001' then 'england' else 'la' end, null,
                       m.ks, cast(left(trim(period), 4) as integer), trim(period), m.measure, 'all',
                       cell_value(value), null, cell_status(value), case when cell_status(value) = 'unknown' then value end,
                       null, ?, ?, _row
                from {table} t join m on m.ind = t.indicator""", [LGI, fname])
        years = ctx.writer.fetch_text(f"select distinct cast(left(trim(period), 4) as integer) y from {table}")
        ks = {v[0] for v in mapping.values()}
        self._finish(ctx, s, table, fname, list(years.y), key_stage=ks.pop() if len(ks) == 1 else None)


class NeighbourList(_Base):
    """A statistical-neighbour list: a file with only ``area_code`` and ``area_name``, in rank order.

    Whose neighbours they are is not in the file: the build works it out from the LG Inform
    indicator files published with it (the one LA there that is not on the list).
    """
    kind = "LA statistical neighbours"

    def recognise(self, s) -> bool:
        return [h.lower() for h in s.header] == ["area_code", "area_name"]

    def load(self, ctx, s) -> None:
        fname, table, cols = self._start(ctx, s)
        bad = ctx.writer.fetch_text(f"select _row, area_code from {table} where not regexp_full_match(trim(area_code), "
                                    "'E\\d{8}') order by _row limit 1")
        if len(bad):
            raise IngestError(fname, int(bad._row[0]), "area_code", f"{bad.area_code[0]!r} is not a GSS code like E08000009")
        ctx.writer.execute_text(f"insert into la_neighbour_raw select trim(area_code), trim(area_name), "
                                f"cast(_row as integer), ? from {table}", [fname])
        n = int(ctx.writer.fetch_text(f"select count(*) n from {table}").n[0])
        ctx.record_file(s, self.kind, rows=n, year_evidence="")
        ctx.report.ok("LA indicators", f"{n} statistical neighbours read", n, fname)
        ctx.writer.drop(table)


class FreeSchoolMeals(_Base):
    """DfE's FSM time series: % of pupils eligible for free school meals, LA / region / England."""
    kind = "DfE free school meals (LA)"
    REQUIRED = {"time_period", "geographic_level", "old_la_code", "new_la_code", "la_name", "phase",
                "headcount", "fsm_eligible_percent"}

    def recognise(self, s) -> bool:
        return self.REQUIRED <= set(s.header)

    def load(self, ctx, s) -> None:
        fname, table, cols = self._start(ctx, s)
        bad = ctx.writer.fetch_text(
            f"select _row, time_period from {table} where not regexp_full_match(trim(time_period), '\\d{{6}}') "
            "or (cast(left(trim(time_period), 4) as integer) + 1) % 100 <> cast(right(trim(time_period), 2) as integer) "
            "order by _row limit 1")
        if len(bad):
            raise IngestError(fname, int(bad._row[0]), "time_period",
                              f"{bad.time_period[0]!r} is not an academic year like 202021")
        region_code = "nullif(trim(region_code), '')" if "region_code" in cols else "null"
        term = "nullif(trim(time_identifier), '')" if "time_identifier" in cols else "null"
        ctx.writer.execute_text(f"""
            insert into la_indicator_raw
            with p(phase, measure) as ({_values(FSM_PHASES)})
            select case geographic_level when 'National' then 'england' when 'Regional' then {region_code}
                        else nullif(trim(old_la_code), '') end,
                   case geographic_level when 'National' then nullif(trim(country_code), '') when 'Regional' then {region_code}
                        else nullif(trim(new_la_code), '') end,
                   coalesce(nullif(trim(la_name), ''), nullif(trim(region_name), ''), nullif(trim(country_name), '')),
                   case geographic_level when 'National' then 'england' when 'Regional' then 'region' else 'la' end,
                   nullif(trim(region_name), ''), null, cast(left(trim(time_period), 4) as integer),
                   academic_year(cast(left(trim(time_period), 4) as integer)), p.measure, 'fsm_eligible',
                   cell_value(fsm_eligible_percent), cell_value(headcount), cell_status(fsm_eligible_percent),
                   case when cell_status(fsm_eligible_percent) = 'unknown' then fsm_eligible_percent end,
                   {term} || ' census', ?, ?, _row
            from {table} t join p on p.phase = trim(t.phase)
            where geographic_level in ('National', 'Regional', 'Local authority')""", [DFE_FSM, fname])
        years = ctx.writer.fetch_text(f"select distinct cast(left(trim(time_period), 4) as integer) y from {table}")
        self._finish(ctx, s, table, fname, list(years.y))


LOADERS = [SMCLocalAuthority(), SMCDataset(), LGInformIndicator(), NeighbourList(), FreeSchoolMeals()]
