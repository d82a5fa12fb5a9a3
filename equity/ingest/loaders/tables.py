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
    """A file with one simple shape, loaded by its SQL file ``equity/sql/build/tables/<sql>.sql``.

    The SQL file has one ``{slot}`` per file column it reads; a column the file lacks fails the
    load, unless it is listed in ``optional`` (then it reads as null). The columns it reads with
    ``cell_value`` are numbers and are screened for plausibility under the field they fill.
    """
    kind: str
    required: set[str]               # the columns that identify the file
    sql: str                         # its insert, under equity/sql/build/tables/
    needs_year: bool = False
    check_urn: str | None = None     # file column that must hold an integer URN
    optional: set[str] = field(default_factory=set)  # file columns read as null where the file lacks them

    def recognise(self, s) -> bool:
        return self.required <= set(s.header)

    def _text(self) -> str:
        return db.sql(f"build/tables/{self.sql}")

    def slots(self) -> list[str]:
        """The file columns the SQL file reads, in its order."""
        return list(dict.fromkeys(n for n in re.findall(r"\{([^}]+)\}", self._text()) if n != "table"))

    def numbers(self) -> dict[str, str]:
        """File column -> the field it fills, for the columns read as numbers."""
        return dict(re.findall(r"cell_value\(\{([^}]+)\}\)\s+as\s+(\w+)", self._text()))

    def year(self, ctx, s) -> tuple[int | None, str]:
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
            bad = ctx.writer.fetch("build/tables/bad_urn", table=table, urn=[self.check_urn])
            if len(bad):
                raise IngestError(fname, int(bad._row[0]), self.check_urn, f"URN {bad.v[0]!r} is not a number")
        plausibility.screen(ctx, table, fname, {c: plausibility.for_field(ours) for c, ours in self.numbers().items()
                                                if c in colset}, urn=self.check_urn)
        start, evidence = self.year(ctx, s) if self.needs_year else (None, "")
        slots = {}
        for c in self.slots():
            if c not in colset and c not in self.optional:
                raise IngestError(fname, 0, c, "expected column missing")
            slots[c] = [c] if c in colset else None
        params = {"file": fname, **({"start": start} if self.needs_year else {})}
        ctx.writer.run(f"build/tables/{self.sql}", params, table=table, **slots)
        n = int(ctx.writer.fetch("build/tables/row_count", table=table).n[0])
        ctx.record_file(s, self.kind, start_year=start, rows=n, year_evidence=evidence)
        ctx.writer.drop(table)


CENSUS = Simple("school census", {"URN", "NOR", "PNUMFSMEVER", "PNUMEAL"}, "census",
                needs_year=True, check_urn="URN", optional={"SCHOOLTYPE"})
SPINE = Simple("performance-tables spine", {"URN", "LA", "SCHNAME", "MINORGROUP", "ISPRIMARY", "ISSECONDARY"}, "spine",
               needs_year=True, check_urn="URN")
GIAS = Simple("GIAS establishments", {"URN", "LA (code)", "EstablishmentName"}, "gias", check_urn="URN",
              optional={"TypeOfEstablishment (name)", "EstablishmentTypeGroup (name)", "EstablishmentStatus (name)",
                        "PhaseOfEducation (name)", "OpenDate", "CloseDate", "Postcode", "LSOA (code)", "Easting",
                        "Northing", "NumberOfPupils", "PercentageFSM", "OfstedRating (name)"})
LINKS = Simple("GIAS links", {"URN", "LinkURN", "LinkType"}, "links", check_urn="URN")
OFSTED = Simple("Ofsted inspection history", {"URN", "Rating", "Inspection Date"}, "ofsted", check_urn="URN")
COORDS = Simple("school coordinates", {"URN", "LATITUDE", "LONGITUDE", "PCODE"}, "coordinates",
                check_urn="URN", optional={"PHASE"})
ABSENCE = Simple("absence", {"URN", "PERCTOT", "PPERSABS10"}, "absence", needs_year=True, check_urn="URN")
LA_NAMES = Simple("LA and region codes", {"LEA", "LA Name", "REGION", "REGION NAME"}, "la_names")


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
        bad = ctx.writer.fetch("build/tables/destinations_bad_urn", table=table)
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
                params = {"start": start, "measure": measure, "grp": grp, "file": fname}
                for step in ("build/tables/destinations_school", "build/tables/destinations_published"):
                    ctx.writer.run(step, params, table=table, value=[col], cohort=[cohort])
        n = int(ctx.writer.fetch("build/tables/row_count", table=table).n[0])
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
        ys = ctx.writer.fetch("build/tables/headline_years", table=table)
        ys = [int(y) for y in ys.y.dropna()]
        if len(ys) != 1:
            raise IngestError(fname, None, "Academic Year", f"expected one year, found {ys}")
        start = ys[0] - 1  # 'Academic Year' 2016 means the year ending in 2016: 2015/16
        cohort = "KS4 Pupils" if ks == 4 else "KS2 Pupils"
        ranges = {col: plausibility.for_measure(m) for m, col in (self.KS4 if ks == 4 else self.KS2).items()}
        plausibility.screen(ctx, table, fname, {c: r for c, r in {**ranges, cohort: plausibility.COUNT}.items()
                                                if c in cols}, urn="URN")
        for measure, col in (self.KS4 if ks == 4 else self.KS2).items():
            ctx.writer.run("build/tables/headline_load", {"ks": ks, "start": start, "measure": measure, "file": fname},
                           table=table, value=[col], cohort=[cohort])
        n = int(ctx.writer.fetch("build/tables/row_count", table=table).n[0])
        ctx.record_file(s, self.kind, key_stage=ks, start_year=start, rows=n,
                        year_evidence=f"'Academic Year' {start + 1} = {label(start)}")
        ctx.writer.drop(table)


LOADERS = [CENSUS, SPINE, GIAS, LINKS, OFSTED, COORDS, ABSENCE, LA_NAMES, Destinations(), HeadlineResults()]
