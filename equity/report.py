"""The ingest report: one named check per concern, each pass / warning / fail with a count.

Modelled on DfE's file screener: an analyst reads it to see what each build took in, what it
skipped and why, how many values were suppressed and for what reason, and what did not join.
"""
from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path

PASS, WARNING, FAIL = "pass", "warning", "fail"


@dataclass
class Check:
    name: str
    status: str
    count: int | None
    message: str
    file: str = ""


@dataclass
class Report:
    checks: list[Check] = field(default_factory=list)
    files: list[dict] = field(default_factory=list)  # one per file seen: path, kind, year, rows, status
    cells: list[dict] = field(default_factory=list)  # cells kept out by the plausibility checks (first 1000 each)
    started: str = ""
    finished: str = ""
    outcome: str = ""  # "built" or "failed"
    seconds: float = 0.0
    sources: list[str] = field(default_factory=list)  # the folders and files the build read (as given)

    def add(self, name: str, status: str, message: str, count: int | None = None, file: str = "") -> None:
        self.checks.append(Check(name, status, count, message, file))

    def ok(self, name, message, count=None, file=""):
        self.add(name, PASS, message, count, file)

    def warn(self, name, message, count=None, file=""):
        self.add(name, WARNING, message, count, file)

    def fail(self, name, message, count=None, file=""):
        self.add(name, FAIL, message, count, file)

    @property
    def failed(self) -> bool:
        return any(c.status == FAIL for c in self.checks)

    def to_dict(self) -> dict:
        return {"outcome": self.outcome, "started": self.started, "finished": self.finished,
                "seconds": round(self.seconds, 2), "sources": self.sources, "files": self.files,
                "checks": [asdict(c) for c in self.checks], "cells": self.cells}

    def save(self, path: Path) -> None:
        tmp = Path(str(path) + ".tmp")
        tmp.write_text(json.dumps(self.to_dict(), indent=1, default=str), encoding="utf-8")
        tmp.replace(path)

    def render(self) -> str:
        """Plain-text report for the terminal."""
        lines = [f"Build {self.outcome} in {self.seconds:.1f} s"]
        lines.append(f"{'file':60} {'kind':22} {'year':8} {'rows':>7}  status")
        for f in self.files:
            lines.append(f"{str(f.get('file',''))[-60:]:60} {str(f.get('kind','')):22} {str(f.get('year') or ''):8} "
                         f"{str(f.get('rows') if f.get('rows') is not None else ''):>7}  {f.get('status','')}")
        lines.append("")
        for c in self.checks:
            count = "" if c.count is None else f" [{c.count}]"
            where = f" ({c.file})" if c.file else ""
            lines.append(f"{c.status.upper():8} {c.name}{count}: {c.message}{where}")
        return "\n".join(lines)


def report_path(db_path: Path) -> Path:
    """Where the build keeps the report of the database at ``db_path``: beside it."""
    return Path(str(db_path) + ".report.json")


def load(path: Path) -> dict | None:
    """The saved report of the latest build attempt, or None."""
    try:
        return json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
