"""Errors the build raises for a recognised file that is malformed."""
from __future__ import annotations


class IngestError(Exception):
    """A recognised file cannot be loaded. Names the file, row and column.

    ``row`` is the data row counted from 1 (the header is row 0); ``None`` when the whole file
    is at fault.
    """

    def __init__(self, file: str, row: int | None, column: str | None, problem: str):
        self.file, self.row, self.column, self.problem = str(file), row, column, problem
        where = [f"file {self.file}"]
        if row is not None:
            where.append(f"row {row}" if row > 0 else "header row")
        if column:
            where.append(f"column {column}")
        super().__init__(f"{', '.join(where)}: {problem}")
