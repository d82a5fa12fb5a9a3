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


def _pairs(pairs: dict, *names: str) -> dict:
    """A fixed dict of our own constants (never file content) as parallel lists, one parameter per
    column: ``{code: (ks, measure)}`` -> ``{"codes": [...], "ks": [...], "measures": [...]}``."""
    rows = [(k, *(v if isinstance(v, tuple) else (v,))) for k, v in pairs.items()]
    return {name: [r[i] for r in rows] for i, name in enumerate(names)}


def _optional(cols: list[str], name: str) -> list[str] | None:
    """An optional column for an SQL slot: the column if the file has it, else None (``null``)."""
    return [name] if name in cols else None


class _Base:
    def _start(self, ctx, s):
        check_truncated(s)
        ctx.writer.run("build/la_tables/staging")
        table, cols = ctx.read_csv(s)
        # numbers read below: value (any), sample sizes, FSM percent and headcount
        plausibility.screen(ctx, table, rel(s.path), {c: plausibility.for_field(c.lower()) for c in cols if c.lower() in
                                                     ("value", "sample_size", "fsm_eligible_percent", "headcount")})
        return rel(s.path), table, cols

    def _finish(self, ctx, s, table, fname, years: list[int], key_stage=None, evidence=""):
        n = int(ctx.writer.fetch("build/la_tables/row_count", table=table).n[0])
        loaded = int(ctx.writer.fetch("build/la_tables/loaded_from_file", [fname]).n[0])
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
        bad = ctx.writer.fetch("build/la_tables/smc_la_bad_period", table=table)
        if len(bad):
            raise IngestError(fname, int(bad._row[0]), "Time_period",
                              f"{bad.Time_period[0]!r} is not an academic year like 202122")
        unknown = ctx.writer.fetch("build/la_tables/smc_la_unknown_codes", {"codes": list(SMC_MEASURES)}, table=table)
        if len(unknown):
            ctx.report.warn("LA indicators", f"indicator codes we do not map, rows skipped: {', '.join(unknown.Ind_code)}",
                            file=fname)
        ctx.writer.run("build/la_tables/smc_la_load",
                       {**_pairs(SMC_MEASURES, "codes", "ks", "measures"), **_pairs(SMC_GROUPS, "sebs", "groups"),
                        "publisher": SMC, "file": fname},
                       table=table, sample=_optional(cols, "Sample_size"), sex=_optional(cols, "Sex"))
        years = ctx.writer.fetch("build/la_tables/smc_la_years", table=table)
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
        bad = ctx.writer.fetch("build/la_tables/smc_dataset_bad_year", table=table)
        if len(bad):
            raise IngestError(fname, int(bad._row[0]), "time_period", f"{bad.time_period[0]!r} is not a year like 2019")
        codes = ctx.writer.fetch("build/la_tables/smc_dataset_codes", table=table)
        unknown = [c for c in codes.c if c not in SMC_MEASURES]
        if unknown:
            ctx.report.warn("LA indicators", f"measure codes we do not map, rows skipped: {', '.join(unknown)}", file=fname)
        ctx.writer.run("build/la_tables/smc_dataset_load",
                       {**_pairs(SMC_MEASURES, "codes", "ks", "measures"), **_pairs(SMC_GROUPS, "sebs", "groups"),
                        "publisher": SMC, "file": fname},
                       table=table, sample=_optional(cols, "sample_size"), note=_optional(cols, "value_note"))
        skipped = int(ctx.writer.fetch("build/la_tables/smc_dataset_skipped", table=table).n[0])
        if skipped:
            ctx.report.ok("LA indicators", f"{skipped} rows split by ethnicity or sex (England only) not loaded: "
                          "the dashboard compares areas", skipped, fname)
        years = ctx.writer.fetch("build/la_tables/smc_dataset_years", table=table)
        self._finish(ctx, s, table, fname, list(years.y))


class LGInformIndicator(_Base):
    """Trafford Data Lab's LA indicator files: one measure, all pupils, several LAs and England."""
    kind = "LA indicator (LG Inform)"
    REQUIRED = {"area_code", "area_name", "period", "indicator", "measure", "unit", "value"}

    def recognise(self, s) -> bool:
        return self.REQUIRED <= set(s.header)

    def load(self, ctx, s) -> None:
        fname, table, cols = self._start(ctx, s)
        inds = ctx.writer.fetch("build/la_tables/lgi_indicators", table=table)
        mapping = {}
        for ind in inds.indicator:
            hit = next(((ks, m) for frag, ks, m in LGI_MEASURES if frag in str(ind).lower()), None)
            if hit is None:
                ctx.report.warn("LA indicators", f"indicator not recognised, rows skipped: {ind!r}", file=fname)
            else:
                mapping[str(ind)] = hit
        bad = ctx.writer.fetch("build/la_tables/lgi_bad_period", table=table)
        if len(bad):
            raise IngestError(fname, int(bad._row[0]), "period", f"{bad.period[0]!r} is not an academic year like 2017/18")
        bad = ctx.writer.fetch("build/la_tables/lgi_period_mismatch", table=table)
        if len(bad):
            raise IngestError(fname, int(bad._row[0]), "period", f"{bad.period[0]!r} is not an academic year like 2017/18")
        if mapping:
            ctx.writer.run("build/la_tables/lgi_load",
                           {**_pairs(mapping, "indicators", "ks", "measures"), "publisher": LGI, "file": fname},
                           table=table)
        years = ctx.writer.fetch("build/la_tables/lgi_years", table=table)
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
        bad = ctx.writer.fetch("build/la_tables/neighbours_bad_code", table=table)
        if len(bad):
            raise IngestError(fname, int(bad._row[0]), "area_code", f"{bad.area_code[0]!r} is not a GSS code like E08000009")
        ctx.writer.run("build/la_tables/neighbours_load", [fname], table=table)
        n = int(ctx.writer.fetch("build/la_tables/row_count", table=table).n[0])
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
        bad = ctx.writer.fetch("build/la_tables/fsm_bad_period", table=table)
        if len(bad):
            raise IngestError(fname, int(bad._row[0]), "time_period",
                              f"{bad.time_period[0]!r} is not an academic year like 202021")
        ctx.writer.run("build/la_tables/fsm_load", {**_pairs(FSM_PHASES, "phases", "measures"),
                                                     "publisher": DFE_FSM, "file": fname},
                       table=table, region_code=_optional(cols, "region_code"), term=_optional(cols, "time_identifier"))
        years = ctx.writer.fetch("build/la_tables/fsm_years", table=table)
        self._finish(ctx, s, table, fname, list(years.y))


LOADERS = [SMCLocalAuthority(), SMCDataset(), LGInformIndicator(), NeighbourList(), FreeSchoolMeals()]
