"""What a source loader works with: the build's writer, its report, and helpers to read and record a file.

Apart from the build (equity/ingest/build.py) so that loaders import it at module level and the build
imports the loaders: the import graph has no cycle.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from equity import db
from equity.ingest.errors import IngestError, rel
from equity.ingest.plausibility import long_fields
from equity.report import Report
from equity.ingest.sniff import Sniffed
from equity.years import label


@dataclass
class Context:
    """What a source loader gets: the writer, the report, and helpers to read and record."""
    writer: db.Writer
    report: Report
    workdir: Path
    registry: dict = field(default_factory=dict)  # file name -> registered facts (year, publisher)
    digests: dict = field(default_factory=dict)   # content SHA-256 -> the file loaded with that content
    year: int | None = None  # --year: start year for results files whose content, name and folder carry none
    _n: int = 0

    def skip(self, path: Path, check: str, message: str, status: str = "skipped") -> None:
        """Report a file the build does not load, under a named check, and list it."""
        self.report.warn(check, message, file=rel(path))
        self.report.files.append({"file": rel(path), "kind": check, "status": status})

    def read_csv(self, s: Sniffed) -> tuple[str, list[str]]:
        """Load a sniffed CSV into a fresh staging table; returns (table, columns)."""
        self._n += 1
        table = f"raw_{self._n}"
        try:
            cols = self.writer.read_csv(table, s.readable_path)
        except Exception as exc:  # DuckDB names the line and the problem
            raise IngestError(str(s.path), None, None, f"the CSV reader could not parse it: {exc}") from exc
        long_fields(self, table, rel(s.path))
        return table, cols

    def record_file(self, s: Sniffed, kind: str, *, key_stage=None, start_year=None, version=None,
                    rows=None, year_evidence="", status="loaded") -> None:
        self.report.files.append({"file": rel(s.path), "kind": kind, "key_stage": key_stage,
                                  "year": label(start_year) if start_year else None, "version": version,
                                  "rows": rows, "encoding": s.encoding, "year_evidence": year_evidence,
                                  "status": status})
        self.writer.run(
            "build/source_file_record",
            [rel(s.path), kind, key_stage, start_year, label(start_year) if start_year else None, version,
             rows, s.encoding, year_evidence, status])
