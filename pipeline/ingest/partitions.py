"""Splitting inputs into partitions a distributed engine reads independently, and reading one.

:func:`plan_parts` cuts each input into :class:`Part` s in input order: JSONL/NDJSON into byte
blocks ending at a line end, Parquet into runs of row groups, and whole-document JSON (Research
API pages, yt-dlp info) and CSV as one part per file (a broken CSV row is rejected by its first
line and the lines after it read again, so where a record ends is known only by reading the
file from its start). Compressed and UTF-16 files cannot be cut without reading them and are
one part each.

:func:`read_part` yields exactly the items :func:`pipeline.ingest.readers.read_file` yields for
that stretch of the file, with the same ``source_line`` numbers, so that the concatenation of
all parts of a file is that file's reading.
"""

from __future__ import annotations

import io
import logging
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

from pipeline.errors import InputFileError
from pipeline.ingest.detect import detect_format, is_json_lines
from pipeline.ingest.readers import FORMATS, Item, jsonl_first_object, jsonl_items, read_file, read_parquet
from pipeline.io.sources import BZ2_MAGIC, GZIP_MAGIC, XZ_MAGIC, ZSTD_MAGIC, bounded_lines, read_head

log = logging.getLogger(__name__)
#: Default bytes of input per partition: ~35,000 posts of Research API JSONL, a few seconds of
#: labelling for one worker, and a few hundred MB of records in memory while it is labelled.
BLOCK_BYTES = 16 * 1024 * 1024


@dataclass(frozen=True)
class Part:
    """One partition of one input file.

    ``how`` is ``"file"`` (the whole file, any format), ``"jsonl"`` (bytes ``start`` to
    ``stop``) or ``"parquet"`` (row groups ``start`` to ``stop``). ``line_base`` is the number
    of lines (rows for Parquet) before the part; ``header`` the file's first JSON object's keys.
    """

    path: str
    kind: str
    how: str
    start: int = 0
    stop: int = 0
    line_base: int = 0
    header: tuple[str, ...] | None = None


def _line_count(data: bytes) -> int:
    """Lines as Python's text files with ``newline=""`` split them (\\n, \\r\\n and a lone \\r)."""
    return data.count(b"\n") + data.count(b"\r") - data.count(b"\r\n")


def _splittable(path: Path) -> bool:
    """Plain UTF-8 (or ASCII) bytes: compressed and UTF-16 files are read whole."""
    with open(path, "rb") as fh:
        head = fh.read(6)
    return not head.startswith((GZIP_MAGIC, XZ_MAGIC, BZ2_MAGIC, ZSTD_MAGIC, b"\xff\xfe", b"\xfe\xff"))


def _jsonl_parts(path: Path, kind: str, block: int, columns: dict[str, str] | None) -> list[Part]:
    """Byte blocks of about ``block`` bytes, each ending just after a newline.

    The file's first JSON object is checked here as the whole-file reading checks it (a known
    non-post file, the column mapping, ``--column``), and its keys go with every part.
    """
    first = jsonl_first_object(path, kind, columns)
    header = tuple(first) if first is not None else None
    size, parts, start, lines = path.stat().st_size, [], 0, 0
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
        elif kind in ("jsonl", "zeeschuimer") or (kind in ("research_api", "ytdlp", "jp_collector")
                                                   and is_json_lines(path)):
            parts += _jsonl_parts(path, kind, block_bytes, columns)
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
            yield from jsonl_items(bounded_lines(fh), path, part.kind, columns, first_line=part.line_base + 1,
                                   first_keys=part.header)
    else:
        raise ValueError(f"unknown partition kind {part.how!r}")
