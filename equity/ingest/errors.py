"""Errors the build raises for a recognised file that is malformed, and how they name a file."""
from __future__ import annotations

from pathlib import Path

from equity.db import ROOT


def rel(path: Path) -> str:
    """A file's name as the report and errors show it: its path under the project folder, else as given."""
    try:
        return str(Path(path).resolve().relative_to(ROOT))
    except ValueError:
        return str(path)


def located(file: str, row: int | None = None, column: str | None = None) -> str:
    """'file F, row R, column C' (row 0 is the header row): where a problem in an input file is."""
    where = [f"file {file}"]
    if row is not None:
        where.append(f"row {row}" if row > 0 else "header row")
    if column:
        where.append(f"column {column}")
    return ", ".join(where)


class IngestError(Exception):
    """A recognised file cannot be loaded. Names the file, row and column.

    ``row`` is the data row counted from 1 (the header is row 0); ``None`` when the whole file
    is at fault.
    """

    def __init__(self, file: str, row: int | None, column: str | None, problem: str):
        self.file, self.row, self.column, self.problem = str(file), row, column, problem
        super().__init__(f"{located(self.file, row, column)}: {problem}")


class SkippedFile(Exception):
    """A file the build will not load, for a reason it reports under a named check; the build carries on.

    Raised for hostile or unreadable input: a compressed file inflating past the size cap, a header
    over the column cap, a line longer than the line cap, a file or folder that cannot be read, an
    encoding we refuse. ``check`` is the report's check name; ``row``/``column`` locate the problem
    where there is one.
    """

    def __init__(self, file: str, check: str, problem: str, row: int | None = None, column: str | None = None):
        self.file, self.check, self.problem, self.row, self.column = str(file), check, problem, row, column
        super().__init__(f"{located(self.file, row, column)}: {problem}")
