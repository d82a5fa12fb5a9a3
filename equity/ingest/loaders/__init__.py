"""Source loaders. Each recognises files by their columns and loads them into staging tables.

A loader is an object with ``kind``, ``recognise(sniffed) -> bool`` and ``load(ctx, sniffed)``.
``LOADERS`` is tried in order; the first that recognises a file loads it. A file that is not CSV goes
to ``PATH_LOADERS`` (``recognise_path(path)`` and ``load_path(ctx, path)``) instead. A file nobody
recognises is listed in the report and skipped.
"""
from __future__ import annotations

from pathlib import Path

from equity.ingest.errors import SkippedFile, rel
from equity.ingest.sniff import content_digest, sniff
from equity.ingest.loaders import geography, iod2025, la_tables, ofsted_mi, performance_tables, statistics_service, tables

LOADERS = [performance_tables.LOADER, statistics_service.LOADER, *tables.LOADERS]
LOADERS += la_tables.LOADERS  # LA indicators: SMC, LG Inform, statistical neighbours, FSM
# IoD2025, 2021 LSOA look-ups and boundaries: before geography, whose GeoJSON loader would take 2021
# LSOA polygons for 2011 ones
LOADERS += iod2025.LOADERS
LOADERS += geography.LOADERS  # IoD2019 deprivation, LSOA centroids and boundaries, look-ups
LOADERS += ofsted_mi.LOADERS  # Ofsted management information: report cards, graded and ungraded inspections

# Files that are not CSV (a workbook, GeoJSON boundaries): these loaders recognise a file by its path and
# contents (``recognise_path``), in this order (2021 boundaries before the 2011 GeoJSON loader).
PATH_LOADERS = [iod2025.WORKBOOK, iod2025.BOUNDARIES_2021, geography.GEOJSON]


def load_file(ctx, path: Path, loaders, path_loaders=PATH_LOADERS) -> None:
    fname = rel(path)
    try:
        s = sniff(path, ctx.workdir)
        digest = s.digest if s is not None else content_digest(path)[0]
    except SkippedFile as exc:  # over a cap, unreadable, an encoding we refuse: named, skipped
        ctx.skip(path, exc.check, str(exc).removeprefix(f"file {exc.file}").lstrip(", :").strip())
        return
    first = ctx.digests.get(digest)
    if first is not None:  # DfE names every year's file alike: the same content under two names loads once
        ctx.skip(path, "identical files", f"the same content as {first}, which is loaded: this copy is skipped",
                 status=f"skipped: identical to {first}")
        return
    ctx.digests[digest] = fname
    if s is None:
        loader = next((l for l in path_loaders if l.recognise_path(path)), None)
        if loader is None:
            ctx.report.warn("unrecognised files", "not a CSV file the build knows: listed and skipped", file=fname)
            ctx.report.files.append({"file": fname, "kind": "unrecognised", "status": "skipped"})
            return
        loader.load_path(ctx, path)
        return
    for loader in loaders:
        if loader.recognise(s):
            if s.encoding == "cp1252":
                row, col = s.first_bad_byte
                ctx.report.warn("encoding", f"not UTF-8 (first non-UTF-8 byte at row {row}, column {col}); "
                                "read as Windows-1252", file=fname)
            elif s.encoding == "utf-16":
                ctx.report.warn("encoding", "UTF-16 (with a byte-order mark), not UTF-8: decoded and read",
                                file=fname)
            loader.load(ctx, s)
            return
    ctx.report.warn("unrecognised files", "columns not recognised (" + ", ".join(s.header[:6]) +
                    ", ...): listed and skipped", file=fname)
    ctx.report.files.append({"file": fname, "kind": "unrecognised", "status": "skipped"})
