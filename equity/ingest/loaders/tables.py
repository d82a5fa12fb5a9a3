"""Context files with one simple shape each: census, spine, GIAS, links, Ofsted history,
coordinates, absence, KS4 destinations, LA names, and DfE headline results.

Each loader is declared by the columns that identify the file and a map from our column to an
SQL expression over the file's columns. Years that a file's content does not carry (a census, a
spine) come from ``data/sources.csv`` for bundled files, else from the file name, with a warning.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field

from equity import db
from equity.ingest import plausibility
from equity.ingest.errors import IngestError, rel
from equity.ingest.sniff import check_truncated
from equity.years import label


def _year_from_name(name: str) -> int | None:
    m = re.search(r"(20\d\d)[-_](20)?(\d\d)(?!\d)", name)
    if m and (int(m.group(1)) + 1) % 100 == int(m.group(3)):
        return int(m.group(1))
    return None


@dataclass
class Simple:
    kind: str
    required: set[str]
    target: str
    columns: dict[str, str]          # our column -> SQL expression; {COL} placeholders = file columns
    needs_year: bool = False
    where: str = "true"
    check_urn: str | None = None     # file column that must hold an integer URN
    year_from_content: str | None = None  # SQL giving the start year from the file itself
    optional: dict[str, str] = field(default_factory=dict)  # expressions used only if their columns exist

    def recognise(self, s) -> bool:
        return self.required <= set(s.header)

    def _expr(self, template: str, cols: set[str]) -> str | None:
        names = re.findall(r"\{([^}]+)\}", template)
        if any(n not in cols for n in names):
            return None
        out = template
        for n in names:
            out = out.replace("{" + n + "}", db.quote_ident(n))
        return out

    def year(self, ctx, s, table) -> tuple[int | None, str]:
        if self.year_from_content:
            y = ctx.writer.fetch_text(self.year_from_content.format(table=table))
            vals = [int(v) for v in y.iloc[:, 0].dropna().unique()]
            if len(vals) == 1:
                return vals[0], "year column in the file"
        reg = (ctx.registry.get(rel(s.path)) or ctx.registry.get(s.path.name)
               or ctx.registry.get(s.path.name.removesuffix(".gz")))
        if reg and reg.get("start_year"):
            return int(reg["start_year"]), "register of bundled sources (data/sources.csv)"
        y = _year_from_name(s.path.name)
        if y is not None:
            ctx.report.warn("file years", f"year {label(y)} taken from the file name (the content has none)",
                            file=rel(s.path))
            return y, "file name"
        if self.needs_year:
            ctx.report.warn("file years", "no year in the content, the register or the file name: loaded with no year",
                            file=rel(s.path))
        return None, "unknown"

    def load(self, ctx, s) -> None:
        check_truncated(s)
        fname = rel(s.path)
        table, cols = ctx.read_csv(s)
        colset = set(cols)
        if self.check_urn:
            urn = db.quote_ident(self.check_urn)
            bad = ctx.writer.fetch_text(
                f"select _row, {urn} as v from {table} where "
                f"nullif(trim({urn}), '') is not null and upper(trim({urn})) not in ('LA', 'NAT', 'ENG', 'ENGLAND') "
                f"and try_cast(trim({urn}) as integer) is null order by _row limit 1")
            if len(bad):
                raise IngestError(fname, int(bad._row[0]), self.check_urn, f"URN {bad.v[0]!r} is not a number")
        plausibility.screen(ctx, table, fname, {
            m.group(1): plausibility.for_field(ours) for ours, template in {**self.columns, **self.optional}.items()
            for m in [re.fullmatch(r"cell_value\(\{([^}]+)\}\)", template)] if m and m.group(1) in colset},
            urn=self.check_urn)
        start, evidence = self.year(ctx, s, table) if self.needs_year else (None, "")
        select = []
        for ours, template in {**self.columns, **self.optional}.items():
            e = self._expr(template, colset)
            if e is None and ours in self.columns:
                raise IngestError(fname, 0, template, "expected column missing")
            select.append(f"{e if e is not None else 'null'} as {ours}")
        if self.needs_year:
            select += [f"{start if start is not None else 'null'} as start_year"]
            if self.target in ("school_census", "school_absence"):
                select.append(f"{'academic_year(%d)' % start if start is not None else 'null'} as academic_year")
        select.append("? as source_file")
        where = self._expr(self.where, colset) or "true"
        if self.check_urn:  # LA and national summary rows (URN 'LA', 'NAT') are not schools
            where += f" and try_cast(trim({db.quote_ident(self.check_urn)}) as integer) is not null"
        ctx.writer.execute_text(f"insert into {self.target} by name select {', '.join(select)} from {table} where {where}",
                                [fname])
        n = int(ctx.writer.fetch_text(f"select count(*) n from {table}").n[0])
        ctx.record_file(s, self.kind, start_year=start, rows=n, year_evidence=evidence)
        ctx.writer.drop(table)


def _num(col: str) -> str:
    return "cell_value({" + col + "})"


def _txt(col: str) -> str:
    return "nullif(trim({" + col + "}), '')"


def _urn(col: str) -> str:
    return "try_cast(trim({" + col + "}) as integer)"


CENSUS = Simple(
    "school census", {"URN", "NOR", "PNUMFSMEVER", "PNUMEAL"}, "school_census",
    {"urn": _urn("URN"), "la_code": _txt("LA"), "pupils_on_roll": _num("NOR"), "pct_fsm_ever": _num("PNUMFSMEVER"),
     # DfE's census dictionaries (2018/19 and 2024/25): PSENELSE = EHC plan, PSENELK = SEN support
     "pct_eal": _num("PNUMEAL"), "pct_sen_support": _num("PSENELK"), "pct_ehcp": _num("PSENELSE")},
    needs_year=True, check_urn="URN", optional={"school_type": _txt("SCHOOLTYPE")})

SPINE = Simple(
    "performance-tables spine", {"URN", "LA", "SCHNAME", "MINORGROUP", "ISPRIMARY", "ISSECONDARY"}, "school_spine",
    {"urn": _urn("URN"), "la_code": _txt("LA"), "name": _txt("SCHNAME"), "postcode": _txt("POSTCODE"),
     "town": _txt("TOWN"), "open_date": _txt("OPENDATE"), "close_date": _txt("CLOSEDATE"), "is_open": _txt("ICLOSE"),
     "minor_group": _txt("MINORGROUP"), "nftype": _txt("NFTYPE"), "is_primary": _txt("ISPRIMARY"),
     "is_secondary": _txt("ISSECONDARY"), "is_post16": _txt("ISPOST16"), "age_low": _txt("AGEL"),
     "age_high": _txt("AGEH"), "gender": _txt("GENDER"), "religion": _txt("RELDENOM"), "admissions": _txt("ADMPOL"),
     "other_urn": _txt("OTHERURN")},
    needs_year=True, check_urn="URN")

GIAS = Simple(
    "GIAS establishments", {"URN", "LA (code)", "EstablishmentName"}, "gias_establishment",
    {"urn": _urn("URN"), "la_code": _txt("LA (code)"), "name": _txt("EstablishmentName")},
    check_urn="URN",
    optional={"type": _txt("TypeOfEstablishment (name)"), "type_group": _txt("EstablishmentTypeGroup (name)"),
              "status": _txt("EstablishmentStatus (name)"), "phase": _txt("PhaseOfEducation (name)"),
              "open_date": _txt("OpenDate"), "close_date": _txt("CloseDate"), "postcode": _txt("Postcode"),
              "lsoa11": _txt("LSOA (code)"), "easting": _num("Easting"), "northing": _num("Northing"),
              "pupils_on_roll": _num("NumberOfPupils"), "pct_fsm": _num("PercentageFSM"),
              "ofsted_rating": _txt("OfstedRating (name)")})

LINKS = Simple(
    "GIAS links", {"URN", "LinkURN", "LinkType"}, "school_link",
    {"urn": _urn("URN"), "link_urn": _urn("LinkURN"), "link_name": _txt("LinkName"), "link_type": _txt("LinkType"),
     "link_date": "try_strptime(trim({LinkEstablishedDate}), '%d-%m-%Y')::date"}, check_urn="URN")

OFSTED = Simple(
    "Ofsted inspection history", {"URN", "Rating", "Inspection Date"}, "ofsted_inspection",
    {"urn": _urn("URN"), "grade_label": _txt("Rating"),
     "grade": "case trim({Rating}) when 'Outstanding' then 1 when 'Good' then 2 when 'Requires Improvement' then 3 "
              "when 'Satisfactory' then 3 when 'Inadequate' then 4 end",
     "inspection_date": "try_strptime(trim({Inspection Date}), '%Y%m%d')::date"}, check_urn="URN")

COORDS = Simple(
    "school coordinates", {"URN", "LATITUDE", "LONGITUDE", "PCODE"}, "school_coordinates",
    {"urn": _urn("URN"), "lat": _num("LATITUDE"), "lon": _num("LONGITUDE"), "postcode": _txt("PCODE")},
    optional={"phase": _txt("PHASE")}, check_urn="URN")

ABSENCE = Simple(
    "absence", {"URN", "PERCTOT", "PPERSABS10"}, "school_absence",
    {"urn": _urn("URN"), "la_code": _txt("LA"), "overall_absence_pct": _num("PERCTOT"),
     "persistent_absence_pct": _num("PPERSABS10")}, needs_year=True, check_urn="URN")

LA_NAMES = Simple(
    "LA and region codes", {"LEA", "LA Name", "REGION", "REGION NAME"}, "la",
    {"la_code": _txt("LEA"), "la_name": _txt("LA Name"), "region_code": _txt("REGION"),
     "region_name": _txt("REGION NAME")})


class Destinations:
    """KS4 destination measures: disadvantaged vs other pupils, every school in England."""
    kind = "KS4 destinations"
    MEASURES = {"dest_sustained": "OVERALL_DESTPER", "dest_education": "EDUCATIONPER",
                "dest_not_sustained": "NOT_SUSTAINEDPER"}
    GROUPS = {"all": ("", "COHORT"), "disadvantaged": ("_DIS", "COHORT_DIS"), "other": ("_NONDIS", "COHORT_NONDIS")}

    def recognise(self, s) -> bool:
        return {"RECTYPE", "URN", "COHORT", "OVERALL_DESTPER"} <= set(s.header)

    def load(self, ctx, s) -> None:
        check_truncated(s, short_rows_allowed=True)
        fname = rel(s.path)
        table, cols = ctx.read_csv(s)
        yys = [int(m.group(1)) for c in cols for m in [re.match(r"^COHORT_(\d\d)$", c)] if m]
        if not yys:
            raise IngestError(fname, 0, "COHORT_YY", "cannot tell the year: no history columns like COHORT_18")
        # The newest history column names the previous tables (COHORT_18: the 2017/18 tables), so the file is
        # published with the next year's tables (2018/19); a destination measure published then follows the
        # pupils who finished KS4 two years earlier (2016/17), and that cohort's year is the one we store.
        tables_year = 2000 + max(yys)
        start = tables_year - 2
        bad = ctx.writer.fetch_text(f"select _row, URN from {table} where trim(RECTYPE) in ('1','2') "
                                    "and try_cast(trim(URN) as integer) is null order by _row limit 1")
        if len(bad):
            raise IngestError(fname, int(bad._row[0]), "URN", f"URN {bad.URN[0]!r} is not a number")
        ranges = {base + sfx: plausibility.PERCENT for base in self.MEASURES.values() for sfx, _ in self.GROUPS.values()}
        ranges.update({cohort: plausibility.COUNT for _, cohort in self.GROUPS.values()})
        plausibility.screen(ctx, table, fname, {c: r for c, r in ranges.items() if c in cols}, urn="URN",
                            rows="trim(RECTYPE) in ('1','2')")
        for measure, base in self.MEASURES.items():
            for grp, (sfx, cohort) in self.GROUPS.items():
                col = base + sfx
                if col not in cols:
                    continue
                c, n = db.quote_ident(col), db.quote_ident(cohort)
                common = (f"?, ?, cell_value({c}), null, null, cast(cell_value({n}) as integer), cell_status({c}), "
                          f"case when cell_status({c}) = 'unknown' then {c} end, 'final', 'current', ?, _row, trim(RECTYPE)")
                ctx.writer.execute_text(
                    f"insert into school_result_all select try_cast(trim(URN) as integer), trim(LEA), 4, {start}, "
                    f"academic_year({start}), {common} from {table} where trim(RECTYPE) in ('1','2')",
                    [measure, grp, fname])
                ctx.writer.execute_text(
                    f"insert into published_result_all select case when trim(RECTYPE) = 'LA' then trim(LEA) else 'england' end, "
                    f"case when trim(RECTYPE) = 'LA' then 'la' else 'england' end, 4, {start}, academic_year({start}), "
                    f"{common} from {table} where trim(RECTYPE) in ('LA', 'NAT')", [measure, grp, fname])
        n = int(ctx.writer.fetch_text(f"select count(*) n from {table}").n[0])
        ctx.record_file(s, self.kind, key_stage=4, start_year=start, rows=n,
                        year_evidence=f"newest history column COHORT_{max(yys)}: published with the {label(tables_year)} "
                                      f"tables, so the pupils who finished KS4 in {label(start)} (destinations in "
                                      f"{label(start + 1)})")
        ctx.writer.drop(table)


class HeadlineResults:
    """DfE headline school results reshaped with readable column names ('Attainment 8', 'Overall Meet Std')."""
    kind = "headline results (all pupils)"
    KS4 = {"att8": "Attainment 8", "p8": "Progress 8", "basics_95": "Eng Maths Grade 5"}
    KS2 = {"rwm_exp": "Overall Meet Std", "rwm_high": "Overall Exceed Std", "read_prog": "Reading Progress",
           "writ_prog": "Writing Progress", "mat_prog": "Maths Progress"}

    def recognise(self, s) -> bool:
        h = set(s.header)
        return {"URN", "Academic Year"} <= h and ("Attainment 8" in h or "Overall Meet Std" in h)

    def load(self, ctx, s) -> None:
        check_truncated(s)
        fname = rel(s.path)
        table, cols = ctx.read_csv(s)
        ks = 4 if "Attainment 8" in cols else 2
        ys = ctx.writer.fetch_text(f'select distinct try_cast(trim("Academic Year") as integer) y from {table}')
        ys = [int(y) for y in ys.y.dropna()]
        if len(ys) != 1:
            raise IngestError(fname, None, "Academic Year", f"expected one year, found {ys}")
        start = ys[0] - 1  # 'Academic Year' 2016 means the year ending in 2016: 2015/16
        cohort = "KS4 Pupils" if ks == 4 else "KS2 Pupils"
        ranges = {col: plausibility.for_measure(m) for m, col in (self.KS4 if ks == 4 else self.KS2).items()}
        plausibility.screen(ctx, table, fname, {c: r for c, r in {**ranges, cohort: plausibility.COUNT}.items()
                                                if c in cols}, urn="URN")
        for measure, col in (self.KS4 if ks == 4 else self.KS2).items():
            c, n = db.quote_ident(col), db.quote_ident(cohort)
            ctx.writer.execute_text(
                f"insert into school_result_all select try_cast(trim(URN) as integer), null, {ks}, {start}, "
                f"academic_year({start}), ?, 'all', cell_value({c}), null, null, cast(cell_value({n}) as integer), "
                f"cell_status({c}), case when cell_status({c}) = 'unknown' then {c} end, 'final', 'headline', ?, _row, null "
                f"from {table} where try_cast(trim(URN) as integer) is not null", [measure, fname])
        n = int(ctx.writer.fetch_text(f"select count(*) n from {table}").n[0])
        ctx.record_file(s, self.kind, key_stage=ks, start_year=start, rows=n,
                        year_evidence=f"'Academic Year' {start + 1} = {label(start)}")
        ctx.writer.drop(table)


LOADERS = [CENSUS, SPINE, GIAS, LINKS, OFSTED, COORDS, ABSENCE, LA_NAMES, Destinations(), HeadlineResults()]
