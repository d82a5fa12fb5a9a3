"""DfE performance tables (KS4 ``*_ks4final.csv``/``ks4provisional``, KS2 ``*ks2*.csv``), per LA or national.

Each file becomes tidy rows: school (or LA / England) x academic year x key stage x measure x
pupil group -> value, confidence interval, cohort and a status that keeps why a value is missing.
School rows go to ``school_result_all``; LA and England rows, published figures, go to
``published_result_all`` exactly as printed. Earlier years carried in suffixed history columns
(``ATT8SCR_FSM6CLA1A_17``) are loaded too, marked ``kind = 'history'``.

A file's year comes from its content: the newest two-digit history suffix + 1, else its state-funded
England row matched against DfE's published England figures (``measures.ENGLAND_FIGURES``); only then
a year in the file name or folder, then the build's ``--year``.
"""
from __future__ import annotations

import re

import pandas as pd

from equity import db
from equity.ingest import plausibility
from equity.codes import KNOWN
from equity.ingest.errors import IngestError, rel
from equity.measures import YEAR_MARKERS, column_map, england_year
from equity.ingest.sniff import check_truncated
from equity.years import label

# RECTYPE codes per key stage (read from DfE's metadata: they differ between KS4 and KS2 files)
RECTYPES = {
    4: {"school": ("1", "2"), "la": ("4",), "england_all": ("5",), "england": ("7",)},
    2: {"school": ("1", "2"), "la": ("3",), "england_all": ("4",), "england": ("5",)},
}

CONTEXT = {
    4: {"name": ["SCHNAME"], "postcode": ["PCODE"], "nftype": ["NFTYPE"], "admissions": ["ADMPOL"],
        "age_range": ["AGERANGE"], "gender": ["EGENDER"], "pupils_on_roll": ["TOTPUPS"], "cohort": ["TPUP"],
        "pct_disadvantaged": ["PTFSM6CLA1A"], "prior_attainment": ["KS2APS"], "pct_prior_low": ["PTPRIORLO"],
        "pct_prior_high": ["PTPRIORHI"], "pct_eal": ["PTEALGRP2"], "pct_sen": ["PSEN_ALL", "PSEN_ALL4"],
        "p8_banding": ["P8_BANDING"]},
    2: {"name": ["SCHNAME"], "postcode": ["PCODE"], "nftype": ["NFTYPE"], "age_range": ["AGERANGE"],
        "pupils_on_roll": ["TOTPUPS"], "cohort": ["TELIG"], "pct_disadvantaged": ["PTFSM6CLA1A"],
        "prior_attainment": ["TKS1AVERAGE"], "pct_prior_low": ["PTKS1GROUP_L"], "pct_prior_high": ["PTKS1GROUP_H"],
        "pct_eal": ["PTEALGRP2"], "pct_sen": ["PSENELSE"]},
}
TEXT_FIELDS = {"name", "postcode", "nftype", "admissions", "age_range", "gender", "p8_banding"}
PRIOR_SCALE = {4: "KS2 average point score", 2: "KS1 average point score"}


def year_in_name(text: str) -> int | None:
    """Start year named by a file or folder name such as ``2024-2025`` or ``2016-17`` (consecutive years only)."""
    m = re.search(r"(20\d\d)[-_](20)?(\d\d)(?!\d)", text)
    if m and (int(m.group(1)) + 1) % 100 == int(m.group(3)):
        return int(m.group(1))
    return None


def file_version(name: str, matches=()) -> str:
    """final, revised or provisional: from the file name, else from the England figures it matched."""
    low = name.lower()
    for v in ("provisional", "revised"):
        if v in low:
            return v
    own = {m.version for m in matches if not m.via}
    return "provisional" if own == {"provisional"} else "final"


class PerformanceTables:
    kind = "performance table"

    def key_stage(self, up: set[str]) -> int | None:
        if {"RECTYPE", "URN", "LEA"} - up:
            return None
        if up & {"ATT8SCR", "P8MEA", "TPUP"}:
            return 4
        if up & {"PTRWM_EXP", "TELIG", "READPROG"}:
            return 2
        return None

    def recognise(self, s) -> bool:
        return self.key_stage(set(s.upper)) is not None

    # -- year ----------------------------------------------------------------------------------
    def derive_year(self, ctx, s, table: str, ks: int, cols: dict[str, str], england=None) -> tuple[int, str]:
        """The file's start year and the evidence for it, from (in this order): a two-digit history suffix,
        the state-funded England row matched against DfE's published England figures, a year in the file
        name or its folder, the build's ``--year``. Fails naming the file when none dates it, or when the
        England row contradicts every year we know."""
        fname = rel(s.path)
        pattern = re.compile(r"^(" + "|".join(YEAR_MARKERS[ks]) + r")_(\d\d)$")
        found = [(int(m.group(2)), c) for c in cols for m in [pattern.match(c)] if m]
        eng_year, why, matches = england or self._england_year(ctx, table, ks, cols)
        if found:
            yy, col = max(found)
            year = 2000 + yy
            if eng_year is not None and eng_year != year:
                raise IngestError(fname, None, col, f"history column {col} says the file is {label(year)} but its "
                                  f"England row matches DfE's published {label(eng_year)} figures")
            return year, f"newest history column {col} is {label(year - 1)}, so the file is the year after"
        if eng_year is not None:
            m = next(m for m in matches if m.start_year == eng_year)
            what = "its own figures" if not m.via else f"its {m.via} columns (the year{'s' if m.via == '_PREV2' else ''} before)"
            return eng_year, (f"England row ({what}) matches DfE's published {label(eng_year)} England figures: "
                              + ", ".join(m.agreeing))
        if matches or why.startswith("its England row matches no"):
            raise IngestError(fname, None, cols.get("RECTYPE"), f"cannot tell which academic year this file holds: {why}; "
                              "if it is a year the dashboard does not know yet, add its England figures to "
                              "equity/measures.py ENGLAND_FIGURES")
        for where, text in (("file name", s.path.name), ("folder", s.path.parent.name)):
            year = year_in_name(text)
            if year is not None:
                ctx.report.warn("file years", f"year {label(year)} taken from the {where} ({text}): the content has "
                                f"no history columns and {why}", file=fname)
                return year, f"{where} {text} ({why})"
        if getattr(ctx, "year", None) is not None:
            ctx.report.warn("file years", f"year {label(ctx.year)} taken from --year: the content has no history "
                            f"columns, {why}, and neither the file name nor its folder names a year", file=fname)
            return ctx.year, f"--year {label(ctx.year)} ({why})"
        raise IngestError(fname, None, None, "cannot tell which academic year this file holds: no history columns, "
                          f"{why}, no year in the file name or its folder; name the year with --year (e.g. --year 2024/25)")

    def _england_year(self, ctx, table, ks, cols):
        """Match the state-funded England row, if the file has one, against the published England figures."""
        eng = ctx.writer.fetch("build/performance_tables/england_row", [RECTYPES[ks]["england"][0]],
                               table=table, rectype=[cols["RECTYPE"]])
        if not len(eng):
            return None, "no state-funded England row", []
        row = {str(k).upper(): (None if v is None or (isinstance(v, float) and pd.isna(v)) else str(v))
               for k, v in eng.iloc[0].items()}
        return england_year(ks, row)

    # -- load ----------------------------------------------------------------------------------
    def load(self, ctx, s) -> None:
        up = s.upper
        ks = self.key_stage(set(up))
        fname = rel(s.path)
        check_truncated(s, short_rows_allowed=True)
        if s.last_fields:
            head = [h.upper() for h in s.header]
            rt = s.last_fields[head.index("RECTYPE")].strip() if len(s.last_fields) > head.index("RECTYPE") else ""
            last = s.last_fields[-1].strip().upper() if s.last_fields else ""
            if rt in RECTYPES[ks]["school"] and len(s.last_fields) < len(s.header) - 1 and last not in KNOWN:
                raise IngestError(fname, s.data_rows, s.header[len(s.last_fields) - 1],
                                  f"the last school row stops after {len(s.last_fields)} of {len(s.header)} fields "
                                  "with no final line break: the file looks truncated; download it again")
        table, raw_cols = ctx.read_csv(s)
        cols = {c.upper(): c for c in raw_cols}
        for req in ("RECTYPE", "URN", "LEA"):
            if req not in cols:
                raise IngestError(fname, 0, req, f"required column {req} is missing from the header")
        q = db.quote_ident
        rt, urn = q(cols["RECTYPE"]), q(cols["URN"])
        codes = RECTYPES[ks]
        school_in = ", ".join(f"'{c}'" for c in codes["school"])

        slots = {"table": table, "rectype": rt, "urn": urn}
        school = {"school": list(codes["school"])}
        bad = ctx.writer.fetch("build/performance_tables/bad_urn", school, **slots)
        if len(bad):
            raise IngestError(fname, int(bad._row[0]), cols["URN"], f"URN {bad.urn[0]!r} is not a number")
        dup = ctx.writer.fetch("build/performance_tables/duplicate_urn", school, **slots)
        if len(dup):
            rows = list(dup.rows_[0])
            raise IngestError(fname, int(rows[1]), cols["URN"],
                              f"URN {dup.urn[0]} appears more than once (rows {', '.join(map(str, rows))})")
        known = [c for v in codes.values() for c in v]
        other = ctx.writer.fetch("build/performance_tables/other_rectypes", {"known": known}, table=table, rectype=rt)
        for r in other.itertuples():
            ctx.report.warn("record types", f"{r.n} rows with RECTYPE {r.rt!r} (first at row {r.r}) are not "
                            "schools, LA or England rows: skipped", r.n, fname)

        england = self._england_year(ctx, table, ks, cols)
        start_year, evidence = self.derive_year(ctx, s, table, ks, cols, england)
        for where, text in (("file name", s.path.name), ("folder", s.path.parent.name)):
            named = year_in_name(text)
            if named is not None and named != start_year:
                ctx.report.warn("file years", f"the {where} says {text} but the content says {label(start_year)}: "
                                "the content wins", file=fname)
        version = file_version(s.path.name, england[2])
        n_rows = int(ctx.writer.fetch("build/tables/row_count", table=table).n[0])
        eng = ctx.writer.fetch("build/performance_tables/england_rows", {"england": list(codes["england"])},
                               table=table, rectype=rt)
        if int(eng.n[0]) == 0:
            ctx.report.warn("England rows", "no England row in this file: LA and England comparisons for this "
                            "year come from other files only", file=fname)

        mapped = column_map(ks, list(cols), start_year)
        self._screen(ctx, table, cols, mapped, ks, fname, f"trim({rt}) in ({school_in})")
        if not mapped:
            ctx.report.warn("measures", "no measure columns recognised: only the school list was read", file=fname)
        else:
            self._load_long(ctx, table, cols, mapped, ks, version, fname, codes)
        ctx.writer.drop("screen_token")
        self._load_context(ctx, table, cols, ks, start_year, version, fname, codes)
        ctx.record_file(s, f"KS{ks} performance table", key_stage=ks, start_year=start_year, version=version,
                        rows=n_rows, year_evidence=evidence)
        ctx.writer.drop(table)

    def _screen(self, ctx, table, cols, mapped, ks, fname, school_rows) -> None:
        """Plausibility checks on every number this loader reads (see equity/ingest/plausibility.py)."""
        ranges = {cols[c]: plausibility.for_measure(m, f) for c, m, g, f, y, k in mapped}
        for target, sources in CONTEXT[ks].items():
            if target not in TEXT_FIELDS:
                ranges.update({cols[c]: plausibility.for_field(target) for c in sources if c in cols})
        ranges.update({cols[c]: plausibility.PERCENT for c in ("PSENSE4", "PSENAPK4") if c in cols})
        plausibility.screen(ctx, table, fname, ranges, urn=cols["URN"], rows=school_rows, keep_tokens=True)

    FIELDS = ("value", "ci_low", "ci_high", "cohort", "share")

    def _load_long(self, ctx, table, cols, mapped, ks, version, fname, codes) -> None:
        """The file's mapped cells as long results (school_result_all, published_result_all) and its
        unknown tokens (unknown_token), each in one pass over the staging table.

        A result row is one (measure, group, year, kind) of the column map that has a value column;
        its interval, cohort and share come from the same row's other mapped columns.
        """
        q, lit = db.quote_ident, db.sql_literal
        fields: dict[tuple, dict[str, list[str]]] = {}
        for c, m, g, f, y, k in mapped:
            by_field = fields.setdefault((m, g, y, k), {})
            if c not in by_field.setdefault(f, []):
                by_field[f].append(c)
        groups = [key for key, by_field in fields.items() if by_field.get("value")]

        def cell(names: list[str] | None) -> str:
            if not names:
                return "null::varchar"
            parts = [f"coalesce({q(cols[c])}, '')" for c in sorted(names)]
            return parts[0] if len(parts) == 1 else f"greatest({', '.join(parts)})"

        slots = {"table": db.table_name(table), "rectype": q(cols["RECTYPE"]), "urn": q(cols["URN"]),
                 "lea": q(cols["LEA"]), "groups": str(len(groups))}
        for slot, field in zip(("values", "lows", "highs", "cohorts", "shares"), self.FIELDS):
            slots[slot] = ", ".join(cell(fields[key].get(field)) for key in groups)
        ctx.writer.table_from_df("colmap", pd.DataFrame(
            [(i, m, g, y, k) for i, (m, g, y, k) in enumerate(groups)],
            columns=["gi", "measure", "grp", "start_year", "kind"]).astype({"gi": "int64", "start_year": "int32"}))
        if groups:
            base = {"ks": ks, "version": version, "file": fname}
            ctx.writer.run("build/results_school", {**base, "school": list(codes["school"])}, **slots)
            ctx.writer.run("build/results_published",
                           {**base, "la": list(codes["la"]), "england_all": list(codes["england_all"]),
                            "england": list(codes["england"])},
                           **{k: v for k, v in slots.items() if k != "urn"})
        # unknown tokens: every mapped column, every row (whatever its RECTYPE); each column's distinct
        # cells were classified once by the plausibility screen (screen_token)
        unknown = ctx.writer.fetch("build/results_tokens")
        upper = {cols[c]: c for c, *_ in mapped}
        hit = sorted({upper[h] for h in unknown.col if h in upper})
        if hit:
            ctx.writer.run("build/results_unknown", {"file": fname}, table=slots["table"],
                           names=", ".join(lit(c) for c in hit),
                           cells=", ".join(f"coalesce({q(cols[c])}, '')" for c in hit))

    def _load_context(self, ctx, table, cols, ks, start_year, version, fname, codes) -> None:
        q = db.quote_ident
        exprs = []
        for target, candidates in CONTEXT[ks].items():
            src = next((cols[c] for c in candidates if c in cols), None)
            if src is None:
                exprs.append(f"null as {target}")
            elif target in TEXT_FIELDS:
                exprs.append(f"nullif(trim({q(src)}), '') as {target}")
            else:
                exprs.append(f"cell_value({q(src)}) as {target}")
        if ks == 4 and "PSEN_ALL" not in cols and {"PSENSE4", "PSENAPK4"} <= set(cols):
            exprs = [e for e in exprs if not e.endswith(" as pct_sen")]
            exprs.append(f"cell_value({q(cols['PSENSE4'])}) + cell_value({q(cols['PSENAPK4'])}) as pct_sen")
        ctx.writer.run("build/performance_tables/context",
                       {"ks": ks, "start": start_year, "version": version, "file": fname,
                        "prior_scale": PRIOR_SCALE[ks], "school": list(codes["school"])},
                       table=table, rectype=q(cols["RECTYPE"]), urn=q(cols["URN"]), lea=q(cols["LEA"]),
                       exprs=", ".join(exprs))


LOADER = PerformanceTables()
