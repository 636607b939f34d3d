"""Splitting inputs into partitions a distributed engine reads independently, and reading one.

:func:`plan_parts` cuts each input into :class:`Part` s in input order: JSONL/NDJSON into byte
blocks ending at a line end, CSV into byte blocks ending at a record end (found by running the
same CSV parser over the file, so quoted newlines never split a record), Parquet into runs of
row groups, and whole-document JSON (Research API pages, yt-dlp info) as one part per file.
gzip and UTF-16 files cannot be cut without reading them and are one part each.

:func:`read_part` yields exactly the items :func:`pipeline.ingest.readers.read_file` yields for
that stretch of the file, with the same ``source_line`` numbers, so that the concatenation of
all parts of a file is that file's reading.
"""

from __future__ import annotations

import csv
import io
import logging
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import orjson

from pipeline.ingest.detect import detect_format, is_json_lines
from pipeline.ingest.mapping import choose_mapping
from pipeline.ingest.readers import (FORMATS, Item, csv_header, csv_items, jsonl_items, read_file,
                                     read_parquet, sniff_delimiter)
from pipeline.errors import InputFileError
from pipeline.io.sources import GZIP_MAGIC, read_head

log = logging.getLogger(__name__)
#: Default bytes of input per partition: ~35,000 posts of Research API JSONL, a few seconds of
#: labelling for one worker, and a few hundred MB of records in memory while it is labelled.
BLOCK_BYTES = 16 * 1024 * 1024
_SCAN = 8 * 1024 * 1024


@dataclass(frozen=True)
class Part:
    """One partition of one input file.

    ``how`` is ``"file"`` (the whole file, any format), ``"jsonl"`` / ``"csv"`` (bytes
    ``start`` to ``stop``) or ``"parquet"`` (row groups ``start`` to ``stop``). ``line_base``
    is the number of lines (rows for Parquet) before the part; ``header`` the file's CSV
    header or its first JSON object's keys.
    """

    path: str
    kind: str
    how: str
    start: int = 0
    stop: int = 0
    line_base: int = 0
    header: tuple[str, ...] | None = None
    delimiter: str | None = None


def _line_count(data: bytes) -> int:
    """Lines as Python's text files with ``newline=""`` split them (\\n, \\r\\n and a lone \\r)."""
    return data.count(b"\n") + data.count(b"\r") - data.count(b"\r\n")


def _splittable(path: Path) -> bool:
    """Plain UTF-8 (or ASCII) bytes: gzip and UTF-16 files are read whole."""
    with open(path, "rb") as fh:
        head = fh.read(4)
    return not head.startswith(GZIP_MAGIC) and not head.startswith((b"\xff\xfe", b"\xfe\xff"))


def _jsonl_header(path: Path) -> tuple[str, ...] | None:
    """The keys of the first line that is a JSON object (what ``read_jsonl`` maps columns by)."""
    with open(path, "rb") as fh:
        for i, line in enumerate(fh):
            if i == 0 and line.startswith(b"\xef\xbb\xbf"):
                line = line[3:]  # open_text reads with utf-8-sig
            try:
                obj = orjson.loads(line.replace(b"\x00", b""))
            except orjson.JSONDecodeError:
                continue
            if isinstance(obj, dict):
                return tuple(obj)
    return None


def _jsonl_parts(path: Path, kind: str, block: int) -> list[Part]:
    """Byte blocks of about ``block`` bytes, each ending just after a newline."""
    size, parts, start, lines = path.stat().st_size, [], 0, 0
    header = _jsonl_header(path) if kind == "jsonl" else None
    with open(path, "rb") as fh:
        while start < size:
            fh.seek(start)
            data = fh.read(block)
            if start + len(data) < size and not data.endswith(b"\n"):
                data += fh.readline()  # to the end of the line (binary readline stops at \n only)
            parts.append(Part(str(path), kind, "jsonl", start, start + len(data), lines, header))
            lines += _line_count(data)
            start += len(data)
    return parts


def _csv_parts(path: Path, block: int, columns: dict[str, str] | None) -> list[Part]:
    """Byte blocks of about ``block`` bytes, each ending at the end of a CSV record.

    Record ends are found by the csv module itself, fed the file line by line, so a quoted
    field with newlines is never cut and an unreadable row ends where the reader resumes.
    Costs one pass of the CSV parser over the file in this process (5 s for a 106 MB CSV on the
    project's busy 2-core machine, 2026-12-01).
    """
    with open(path, "rb") as fh:
        first = fh.read(65536)
    if first.replace(b"\r\n", b"").count(b"\r"):  # lone CR line ends: the byte scan below would differ
        return [Part(str(path), "csv", "file")]
    delimiter = sniff_delimiter(first.decode("utf-8", "surrogateescape").split("\n", 1)[0])
    offset = 0

    def lines() -> Iterator[str]:
        nonlocal offset
        with open(path, "rb") as fh:
            for i, raw in enumerate(fh):
                offset += len(raw)
                yield raw.decode("utf-8-sig" if i == 0 else "utf-8", "surrogateescape")

    reader = csv.reader(lines(), delimiter=delimiter, strict=True)
    header = tuple(csv_header(reader, path))
    choose_mapping(list(header), columns, path)  # a mapping error stops the run now, not in a worker
    parts: list[Part] = []
    start, base = offset, reader.line_num
    while True:
        try:
            next(reader)
        except StopIteration:
            break
        except csv.Error:
            pass  # the reader resumes on the next line, as read_csv does
        if offset - start >= block:
            parts.append(Part(str(path), "csv", "csv", start, offset, base, header, delimiter))
            start, base = offset, reader.line_num
    if offset > start or not parts:
        parts.append(Part(str(path), "csv", "csv", start, offset, base, header, delimiter))
    return parts


def _parquet_parts(path: Path, block: int) -> list[Part]:
    """Runs of consecutive row groups of about ``block`` compressed bytes."""
    import pyarrow.parquet as pq

    try:
        meta = pq.ParquetFile(path).metadata
    except Exception as exc:  # pyarrow raises several types for corrupt files
        raise InputFileError(path, f"unreadable Parquet file ({exc})", "Re-export the file.") from exc
    parts, first, rows, size, rows_before = [], 0, 0, 0, 0
    for g in range(meta.num_row_groups):
        rg = meta.row_group(g)
        size += rg.total_byte_size
        rows += rg.num_rows
        if size >= block or g == meta.num_row_groups - 1:
            parts.append(Part(str(path), "parquet", "parquet", first, g + 1, rows_before))
            first, rows_before, size, rows = g + 1, rows_before + rows, 0, 0
    return parts or [Part(str(path), "parquet", "file")]


def plan_parts(paths: Sequence[Path], fmt: str | None = None, columns: dict[str, str] | None = None, *,
               block_bytes: int = BLOCK_BYTES, partitions: int | None = None) -> list[Part]:
    """The partitions of ``paths``, in input order.

    ``partitions`` aims at that many in all (the block size becomes the total size divided by
    it); otherwise blocks are ``block_bytes``. Whole-file problems (missing, empty, binary,
    unknown format) are raised here, before any work is sent out.
    """
    paths = [Path(p) for p in paths]
    for path in paths:
        read_head(path)
    if partitions:
        block_bytes = max(1, sum(p.stat().st_size for p in paths) // partitions)
    parts: list[Part] = []
    for path in paths:
        kind = fmt or detect_format(path)
        if kind not in FORMATS:
            raise InputFileError(path, f"unknown format {kind!r}", f"Use one of: {', '.join(FORMATS)}.")
        if kind == "parquet":
            parts += _parquet_parts(path, block_bytes)
        elif not _splittable(path) or path.stat().st_size <= block_bytes:
            parts.append(Part(str(path), kind, "file"))
        elif kind == "csv":
            parts += _csv_parts(path, block_bytes, columns)
        elif kind in ("jsonl", "zeeschuimer") or (kind in ("research_api", "ytdlp", "jp_collector")
                                                   and is_json_lines(path)):
            parts += _jsonl_parts(path, kind, block_bytes)
        else:
            parts.append(Part(str(path), kind, "file"))
    log.info("%d input file(s) in %d partition(s)", len(paths), len(parts))
    return parts


def _block_text(part: Part) -> io.TextIOWrapper:
    """The part's bytes as text, decoded as ``open_text`` decodes the whole file."""
    with open(part.path, "rb") as fh:
        fh.seek(part.start)
        data = fh.read(part.stop - part.start)
    return io.TextIOWrapper(io.BytesIO(data), encoding="utf-8-sig" if part.start == 0 else "utf-8",
                            errors="surrogateescape", newline="")


def read_part(part: Part, columns: dict[str, str] | None = None, fmt: str | None = None) -> Iterator[Item]:
    """The items of one partition, as :func:`pipeline.ingest.readers.read_file` reads them."""
    path = Path(part.path)
    if part.how == "file":
        yield from read_file(path, fmt or part.kind, columns)
    elif part.how == "parquet":
        yield from read_parquet(path, columns, row_groups=list(range(part.start, part.stop)),
                                first_index=part.line_base)
    elif part.how == "jsonl":
        with _block_text(part) as fh:
            yield from jsonl_items(fh, path, part.kind, columns, first_line=part.line_base + 1,
                                   header=list(part.header) if part.header is not None else None)
    elif part.how == "csv":
        assert part.header is not None and part.delimiter is not None
        header = list(part.header)
        mapping = choose_mapping(header, columns, path)
        with _block_text(part) as fh:
            reader = csv.reader(fh, delimiter=part.delimiter, strict=True)
            yield from csv_items(reader, path, header, mapping, line_base=part.line_base)
    else:
        raise ValueError(f"unknown partition kind {part.how!r}")
