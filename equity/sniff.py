"""Look at a source file before loading it: encoding, header, truncation.

Reads the bytes once (gzip aware). A file that is not valid UTF-8 is decoded as cp1252 (DfE's
other encoding) and handed to DuckDB as a UTF-8 copy; the report says where the first non-UTF-8
byte was. A file whose last line stops mid-row (no final newline and fewer fields than the
header) is truncated.
"""
from __future__ import annotations

import csv
import gzip
import io
import tempfile
from dataclasses import dataclass
from pathlib import Path

from .errors import IngestError

TEXT_SUFFIXES = (".csv", ".csv.gz", ".txt", ".txt.gz")


@dataclass
class Sniffed:
    path: Path
    header: list[str]          # as written (BOM removed, whitespace trimmed)
    encoding: str              # "utf-8", "utf-8-sig" or "cp1252"
    readable_path: Path        # what DuckDB should read (a UTF-8 copy for cp1252 files)
    first_bad_byte: tuple[int, int] | None = None  # (row, column number) of the first non-UTF-8 byte
    data_rows: int = 0
    ends_with_newline: bool = True
    last_fields: list[str] | None = None  # the last row, when the file has no final line break
    open_quote: bool = False

    @property
    def upper(self) -> list[str]:
        return [h.upper() for h in self.header]


def is_text_candidate(path: Path) -> bool:
    name = path.name.lower()
    return name.endswith(TEXT_SUFFIXES)


def read_bytes(path: Path) -> bytes:
    raw = path.read_bytes()
    if raw[:2] == b"\x1f\x8b":
        raw = gzip.decompress(raw)
    return raw


def _position(raw: bytes, offset: int) -> tuple[int, int]:
    """(data row, column number) of a byte offset; row 0 is the header."""
    before = raw[:offset]
    row = before.count(b"\n")
    line_start = before.rfind(b"\n") + 1
    col = before[line_start:].count(b",") + 1
    return row, col


def sniff(path: Path, workdir: Path | None = None) -> Sniffed | None:
    """Header and encoding of a CSV, or None when it is not a CSV text file at all."""
    path = Path(path)
    if not is_text_candidate(path):
        return None
    try:
        raw = read_bytes(path)
    except (OSError, EOFError, gzip.BadGzipFile) as exc:
        raise IngestError(str(path), None, None, f"cannot read the file: {exc}") from exc
    if b"\x00" in raw[:4096]:
        return None  # binary (a spreadsheet or zip saved as .csv)
    bad = None
    try:
        text = raw.decode("utf-8")
        encoding = "utf-8-sig" if text.startswith("\ufeff") else "utf-8"
        text = text.lstrip("\ufeff")
    except UnicodeDecodeError as exc:
        bad = _position(raw, exc.start)
        text = raw.decode("cp1252", errors="replace")
        encoding = "cp1252"
    first_line = text.split("\n", 1)[0].rstrip("\r")
    try:
        header = next(csv.reader(io.StringIO(first_line)))
    except StopIteration:
        return None
    header = [h.strip() for h in header]
    readable = path
    if encoding == "cp1252":
        tmpdir = workdir or Path(tempfile.mkdtemp(prefix="equity-"))
        readable = Path(tmpdir) / (path.name.replace(".gz", "") + ".utf8.csv")
        readable.write_text(text, encoding="utf-8")
    ends = text.endswith("\n")
    s = Sniffed(path, header, encoding, readable, bad, text.count("\n") - (1 if ends else 0), ends)
    if not ends and text.strip():
        last = text.rsplit("\n", 1)[-1]
        s.open_quote = last.count('"') % 2 == 1
        try:
            s.last_fields = next(csv.reader(io.StringIO(last)))
        except (StopIteration, csv.Error):
            s.last_fields = []
    return s


def check_truncated(s: Sniffed, short_rows_allowed: bool = False) -> None:
    """Raise IngestError when the file stops mid-row.

    A truncated download has no final line break and its last row ends inside a quoted field or
    has fewer fields than the header. Files whose short rows are normal (DfE's ragged LA and
    England rows) pass ``short_rows_allowed`` and are checked by their loader instead.
    """
    if s.ends_with_newline or s.last_fields is None:
        return
    n = len(s.last_fields)
    if s.open_quote or (not short_rows_allowed and n < len(s.header)):
        col = s.header[max(n - 1, 0)] if s.header else None
        raise IngestError(str(s.path), s.data_rows, col,
                          f"the file ends in the middle of a row ({n} of {len(s.header)} fields, no final "
                          "line break): it looks truncated; download it again")
