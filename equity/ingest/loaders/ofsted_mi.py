"""Ofsted's management information, "state-funded schools - latest inspections" (2026 layout).

Recognised by its columns (the report-card areas, safeguarding standards and the previous
framework's overall effectiveness side by side). One row per school carries its latest report card
(eight areas, each with its date of grade, graded Exceptional / Strong standard / Expected standard /
Needs attention / Urgent improvement or "Not applicable"; safeguarding Met / Not met; a category of
concern), its latest graded inspection under the previous framework (overall effectiveness 1-4, or
"Not judged" for inspections from September 2024 to November 2025, with sub-judgements 1-4 and 9 =
not applicable), and its latest ungraded inspection's outcome. ``NULL`` means none.

Loaded into ``ofsted_mi`` (one row per school) and ``ofsted_report_card`` (one row per school and
area); ``equity/sql/build/marts_ofsted_b_judgements.sql`` then puts every dated judgement, with the
bundled inspection history, into ``ofsted_judgement``. A value outside Ofsted's scales is kept as
text, never read as a grade, and listed in the build report by file, row and column.
"""
from __future__ import annotations

from equity.ingest.errors import IngestError, rel
from equity.ingest.sniff import check_truncated

REQUIRED = {"URN", "Category of concern", "Safeguarding standards", "Latest OEIF overall effectiveness"}
# every column the load SQL reads (checked up front, so a missing one is named, not a DuckDB error)
COLUMNS = [
    "URN", "School name", "Local authority", "Ofsted phase", "Type of education",
    "Inspection number of latest full inspection", "Inspection type", "Inspection start date", "Publication date",
    "URN at time of latest full inspection",
    "Does the latest full inspection relate to the URN of the current school?",
    "Category of concern", "Safeguarding standards", "Safeguarding standards - date of grade",
    "Inclusion", "Inclusion - date of grade", "Curriculum and teaching", "Curriculum and teaching - date of grade",
    "Achievement", "Achievement - date of grade", "Attendance and behaviour", "Attendance and behaviour - date of grade",
    "Personal development and wellbeing", "Personal development and wellbeing - date of grade",
    "Early years (where applicable)", "Early years - date of grade",
    "Post-16 provision (where applicable)", "Post-16 provision - date of grade",
    "Leadership and governance", "Leadership and governance - date of grade",
    "Inspection number of latest OEIF graded inspection", "Inspection type of latest OEIF graded inspection",
    "Inspection start date of latest OEIF graded inspection", "Publication date of latest OEIF graded inspection",
    "URN at time of latest OEIF graded inspection",
    "Does the latest OEIF graded inspection relate to the URN of the current school?",
    "Latest OEIF category of concern", "Latest OEIF overall effectiveness", "Latest OEIF quality of education",
    "Latest OEIF behaviour and attitudes", "Latest OEIF personal development",
    "Latest OEIF effectiveness of leadership and management", "Latest OEIF  safeguarding is effective?",
    "Latest OEIF early years provision (where applicable)", "Latest OEIF sixth form provision (where applicable)",
    "Latest ungraded inspection number", "Date of latest ungraded inspection", "Ungraded inspection publication date",
    "URN at time of the ungraded inspection", "Does the ungraded inspection relate to the URN of the current school?",
    "Ungraded inspection overall outcome", "Most recent category of concern",
]
STAGE = "stg_ofsted_mi_raw"
LISTED = 20  # unknown values named one by one in the report; the rest are counted


class OfstedMI:
    kind = "Ofsted management information"

    def recognise(self, s) -> bool:
        return REQUIRED <= set(s.header)

    def load(self, ctx, s) -> None:
        check_truncated(s)
        fname = rel(s.path)
        missing = [c for c in COLUMNS if c not in s.header]
        if missing:
            raise IngestError(fname, 0, missing[0], f"expected column missing ({len(missing)} missing in all)")
        w = ctx.writer
        try:
            w.read_csv(STAGE, s.readable_path)
        except Exception as exc:  # DuckDB names the line and the problem
            raise IngestError(fname, None, None, f"the CSV reader could not parse it: {exc}") from exc
        bad = w.fetch("build/ofsted_mi_bad_urn")
        if len(bad):
            raise IngestError(fname, int(bad._row[0]), "URN", f"URN {bad.URN[0]!r} is not a number")
        w.run("build/marts_ofsted_a_tables")
        w.run("build/ofsted_mi_load", {"source_file": fname})
        w.run("build/ofsted_mi_areas", {"source_file": fname})
        unknown = w.fetch("build/ofsted_mi_unknown")
        if len(unknown):
            named = "; ".join(f"row {int(u.row)}, column {u.column}: {u.value!r}"
                              for u in unknown.head(LISTED).itertuples())
            more = f"; and {len(unknown) - LISTED} more" if len(unknown) > LISTED else ""
            ctx.report.warn("Ofsted values not on Ofsted's scales",
                            f"{len(unknown)} cell(s) hold a value we do not know; kept as text, never read as a "
                            f"grade or counted as a sign: {named}{more}", len(unknown), file=fname)
        n = int(w.fetch("build/ofsted_mi_rows").n[0])
        got = w.fetch("build/ofsted_mi_cards", [fname])
        cards, latest = int(got.cards[0]), got.latest[0]
        ctx.report.ok("Ofsted report cards", f"{n} schools, {cards} with a report card; latest inspection "
                      + (f"{latest:%d %b %Y}" if latest is not None and latest == latest else "none"), cards, file=fname)
        ctx.record_file(s, self.kind, rows=n, year_evidence="inspection dates in the file")
        w.drop(STAGE)


LOADERS = [OfstedMI()]
