"""Look at a source file before loading it: size, encoding, header, line lengths, truncation.

Reads the file once, in chunks, decompressing gzip as a stream: memory stays bounded whatever the
file holds. On the way it enforces the caps of the build (see :func:`limits`):

* a file (a compressed one counted as inflated) larger than ``EQUITY_MAX_INFLATED_MB`` (default
  1024 MB) is skipped: a gzip bomb never reaches DuckDB;
* a header with more than ``EQUITY_MAX_COLUMNS`` columns (default 2,000) is skipped;
* a line longer than ``EQUITY_MAX_LINE_KB`` (default 1,024 KB) is skipped, naming its row, the
  column where it passes the cap and the first 80 characters of that field;
* (after loading, :func:`equity.ingest.plausibility.long_fields`) a field longer than
  ``EQUITY_MAX_FIELD_KB`` (default 32 KB) is left out and named the same way.

Each is raised as :class:`~equity.ingest.errors.SkippedFile` with the report's check name. A file that is
not valid UTF-8 is decoded as cp1252 (DfE's other encoding); a UTF-16 file with a byte-order mark
is decoded; either is handed to DuckDB as a UTF-8 copy in the build's work folder. The report says
where the first non-UTF-8 byte was. A file whose last line stops mid-row (no final newline and
fewer fields than the header) is truncated. The SHA-256 of the (inflated) content identifies
identical files whatever their names.
"""
from __future__ import annotations

import codecs
import csv
import gzip
import hashlib
import io
import os
import zlib
from dataclasses import dataclass
from pathlib import Path

from equity.ingest.errors import IngestError, SkippedFile, rel

TEXT_SUFFIXES = (".csv", ".csv.gz", ".txt", ".txt.gz")
CHUNK = 1 << 20
EXCERPT = 80  # characters of a long field shown in the report

# the report's check names for files the build skips
CHECK_SIZE = "files over the size cap"
CHECK_COLUMNS = "files over the column cap"
CHECK_LINES = "long lines and fields"
CHECK_UNREADABLE = "unreadable files and folders"
CHECK_ENCODING = "encoding"


def limits() -> dict[str, int]:
    """The caps in force (bytes, columns, bytes), read from the environment at each build."""
    def env(name, default):
        try:
            return max(1, int(os.environ.get(name, default)))
        except ValueError:
            return default
    return {"inflated": env("EQUITY_MAX_INFLATED_MB", 1024) << 20, "columns": env("EQUITY_MAX_COLUMNS", 2000),
            "line": env("EQUITY_MAX_LINE_KB", 1024) << 10, "field": env("EQUITY_MAX_FIELD_KB", 32) << 10}


@dataclass
class Sniffed:
    path: Path
    header: list[str]          # as written (BOM removed, whitespace trimmed)
    encoding: str              # "utf-8", "utf-8-sig", "cp1252" or "utf-16"
    readable_path: Path | None  # what DuckDB should read (a UTF-8 copy for cp1252 and UTF-16 files)
    first_bad_byte: tuple[int, int] | None = None  # (row, column number) of the first non-UTF-8 byte
    data_rows: int = 0
    ends_with_newline: bool = True
    last_fields: list[str] | None = None  # the last row, when the file has no final line break
    open_quote: bool = False
    digest: str = ""           # SHA-256 of the content (inflated), for spotting identical files
    size: int = 0              # bytes of content (inflated)

    @property
    def upper(self) -> list[str]:
        return [h.upper() for h in self.header]


def is_text_candidate(path: Path) -> bool:
    name = path.name.lower()
    return name.endswith(TEXT_SUFFIXES)


def open_stream(path: Path):
    """A binary stream of the file's content: gzip (by its magic bytes) decompressed as it is read."""
    fh = open(path, "rb")
    if fh.read(2) == b"\x1f\x8b":
        fh.seek(0)
        return gzip.GzipFile(fileobj=fh, mode="rb")
    fh.seek(0)
    return fh


def chunks(path: Path, cap: int | None = None, size: int = CHUNK, shown: Path | None = None):
    """The file's content in chunks of at most ``size`` bytes; SkippedFile once it passes ``cap`` bytes.

    An unreadable file (permission denied, a broken link) is a SkippedFile too; a damaged gzip
    stream is an IngestError (the file is recognisably ours but broken).
    """
    cap = cap if cap is not None else limits()["inflated"]
    name = rel(shown or path)
    try:
        stream = open_stream(path)
    except OSError as exc:
        raise SkippedFile(name, CHECK_UNREADABLE, f"cannot be read ({exc.strerror or exc}): skipped") from exc
    total = 0
    with stream:
        while True:
            try:
                chunk = stream.read(size)
            except (EOFError, gzip.BadGzipFile, zlib.error) as exc:
                raise IngestError(name, None, None, f"cannot read the file: {exc}") from exc
            except OSError as exc:
                raise SkippedFile(name, CHECK_UNREADABLE,
                                  f"cannot be read ({exc.strerror or exc}): skipped") from exc
            if not chunk:
                return
            total += len(chunk)
            if total > cap:
                what = "inflates to" if (shown or path).name.lower().endswith(".gz") else "is"
                raise SkippedFile(name, CHECK_SIZE,
                                  f"{what} more than {cap >> 20:,} MB (the cap, EQUITY_MAX_INFLATED_MB): "
                                  "skipped without reading further")
            yield chunk


def content_digest(path: Path) -> tuple[str, int]:
    """SHA-256 and size of a file's content (inflated), read as a stream under the size cap."""
    h, n = hashlib.sha256(), 0
    for chunk in chunks(path):
        h.update(chunk)
        n += len(chunk)
    return h.hexdigest(), n


def _looks_utf16(head: bytes) -> bool:
    """UTF-16 text without a byte-order mark: every second byte is zero and the others are text."""
    sample = head[:400]
    if len(sample) < 16:
        return False
    text = set(b"\t\r\n") | set(range(0x20, 0x7f))
    for zeros, chars in ((sample[1::2], sample[0::2]), (sample[0::2], sample[1::2])):
        if zeros.count(0) >= 0.95 * len(zeros) and sum(c in text for c in chars) >= 0.95 * len(chars):
            return True
    return False


def _transcode(path: Path, encoding: str, target: Path, cap: int) -> None:
    """Write a UTF-8 copy of the file, decoding it as a stream."""
    dec = codecs.getincrementaldecoder(encoding)(errors="replace")
    with open(target, "wb") as out:
        for chunk in chunks(path, cap):
            out.write(dec.decode(chunk).encode("utf-8"))
        out.write(dec.decode(b"", final=True).encode("utf-8"))


def sniff(path: Path, workdir: Path | None = None) -> Sniffed | None:
    """Header and encoding of a CSV, or None when it is not a CSV text file at all.

    ``workdir`` is the build's work folder: UTF-8 copies of cp1252 and UTF-16 files are written
    there (without one, nothing is written and ``readable_path`` is None for such files).
    """
    path = Path(path)
    if not is_text_candidate(path):
        return None
    lim = limits()
    gen = chunks(path, lim["inflated"], size=4096)
    first = next(gen, b"")
    gen.close()
    if first[:2] in (b"\xff\xfe", b"\xfe\xff"):
        if workdir is None:
            return Sniffed(path, [], "utf-16", None)
        copy = Path(workdir) / (path.name.removesuffix(".gz") + f".{os.urandom(4).hex()}.utf8.csv")
        _transcode(path, "utf-16", copy, lim["inflated"])
        s = _scan(copy, lim, shown=path)
        s.path, s.encoding, s.readable_path = path, "utf-16", copy
        return s
    if b"\x00" in first[:4096]:
        if _looks_utf16(first):
            raise SkippedFile(rel(path), CHECK_ENCODING, "looks like UTF-16 text without a byte-order mark: "
                              "not read; save it as UTF-8 (or UTF-16 with a byte-order mark)")
        return None  # binary (a spreadsheet or zip saved as .csv)
    s = _scan(path, lim)
    if s is not None and s.encoding == "cp1252" and workdir is not None:
        copy = Path(workdir) / (path.name.removesuffix(".gz") + f".{os.urandom(4).hex()}.utf8.csv")
        _transcode(path, "cp1252", copy, lim["inflated"])
        s.readable_path = copy
    elif s is not None and s.encoding == "cp1252":
        s.readable_path = None
    return s


def _scan(path: Path, lim: dict, shown: Path | None = None) -> Sniffed | None:
    """One streaming pass: digest, size, header, UTF-8 validity, newlines, the longest line, the last line."""
    shown = shown or path
    h = hashlib.sha256()
    size = rows = commas_in_line = 0
    header_bytes: bytes | None = None
    line = b""           # the current (unfinished) line, never longer than the line cap
    pending = b""        # an incomplete UTF-8 sequence at the end of the previous chunk
    bad: tuple[int, int] | None = None
    last = b""
    # chunks no longer than the line cap: a line inside one chunk can then never pass the cap unseen
    for chunk in chunks(path, lim["inflated"], size=min(CHUNK, lim["line"]), shown=shown):
        h.update(chunk)
        size += len(chunk)
        last = chunk[-1:]
        if bad is None:
            data = pending + chunk
            try:
                data.decode("utf-8")
                pending = b""
            except UnicodeDecodeError as exc:
                if exc.reason == "unexpected end of data" and exc.start >= len(data) - 3:
                    pending = data[exc.start:]
                else:
                    before = data[:exc.start]
                    nl = before.rfind(b"\n")
                    col = (before[nl + 1:].count(b",") if nl >= 0 else commas_in_line + before.count(b",")) + 1
                    bad = (rows + before.count(b"\n"), col)
        nl_first = chunk.find(b"\n")
        if nl_first < 0:
            line += chunk
            commas_in_line += chunk.count(b",")
        else:
            done = line + chunk[:nl_first]
            if header_bytes is None:
                header_bytes = done
            _check_line(shown, done, rows, header_bytes, lim)
            nl_last = chunk.rfind(b"\n")
            rows += chunk.count(b"\n")
            line = chunk[nl_last + 1:]
            commas_in_line = line.count(b",")
        if header_bytes is None and len(line) > lim["line"]:
            _check_line(shown, line, rows, None, lim)
        elif len(line) > lim["line"]:
            _check_line(shown, line, rows, header_bytes, lim)
    if header_bytes is None:
        header_bytes = line
        _check_line(shown, line, 0, None, lim)
    if pending and bad is None:  # the file ends inside a multi-byte sequence
        bad = (rows, commas_in_line + 1)
    encoding = "cp1252" if bad else ("utf-8-sig" if header_bytes.startswith(codecs.BOM_UTF8) else "utf-8")
    header = _fields(header_bytes, encoding)
    if not header or header == [""] and size == 0:
        return None
    header = [x.strip() for x in header]
    ends = last == b"\n"
    s = Sniffed(path, header, encoding, path, bad, rows - (1 if ends else 0) if rows else 0, ends,
                digest=h.hexdigest(), size=size)
    if not ends and line.strip():
        s.open_quote = line.count(b'"') % 2 == 1
        s.last_fields = _fields(line, encoding) or []
    return s


def _fields(raw: bytes, encoding: str) -> list[str]:
    text = raw.decode("utf-8-sig" if encoding.startswith("utf-8") else encoding, errors="replace")
    text = text.lstrip("\ufeff").rstrip("\r")
    try:
        return next(csv.reader(io.StringIO(text)))
    except (StopIteration, csv.Error):
        return []


def _split_prefix(text: str) -> list[str]:
    """The fields of the start of a CSV line, the last one possibly cut short (the csv module refuses
    fields over 128 KB, and the point here is to locate one)."""
    fields, cur, quoted, i = [], [], False, 0
    while i < len(text):
        ch = text[i]
        if quoted:
            if ch == '"' and text[i + 1:i + 2] == '"':
                cur.append('"')
                i += 1
            elif ch == '"':
                quoted = False
            else:
                cur.append(ch)
        elif ch == '"' and not cur:
            quoted = True
        elif ch == ",":
            fields.append("".join(cur))
            cur = []
        else:
            cur.append(ch)
            if len(cur) > EXCERPT and "," not in text[i:i + 1]:
                j = text.find(",", i)  # skip to the field's end without copying it
                if j < 0:
                    break
                i = j - 1
        i += 1
    fields.append("".join(cur))
    return fields


def _check_line(path: Path, line: bytes, row: int, header_bytes: bytes | None, lim: dict) -> None:
    """Enforce the column cap on the header and the line cap on every line (``row`` 0 = header)."""
    if header_bytes is None or row == 0:
        n = line.count(b",") + 1  # an upper bound (quoted commas count too), exact for plain names
        if n > lim["columns"] and len(_fields(line[:lim["line"]], "utf-8")) > lim["columns"]:
            raise SkippedFile(rel(path), CHECK_COLUMNS,
                              f"the header has {n:,} columns, more than the cap of {lim['columns']:,} "
                              "(EQUITY_MAX_COLUMNS): skipped before it is loaded", row=0)
    if len(line) <= lim["line"]:
        return
    fields = _split_prefix(line[:lim["line"]].decode("utf-8", errors="replace").lstrip("\ufeff"))
    header = _fields(header_bytes, "utf-8") if header_bytes is not None and row > 0 else []
    i = max(len(fields) - 1, 0)
    column = header[i].strip() if i < len(header) else f"field {i + 1}"
    excerpt = (fields[i] if fields else "")[:EXCERPT]
    raise SkippedFile(rel(path), CHECK_LINES,
                      f"line longer than the cap of {lim['line'] >> 10:,} KB (EQUITY_MAX_LINE_KB), passing it in this "
                      f"field, which starts {excerpt!r}: skipped", row=row, column=column)


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
