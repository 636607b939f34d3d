"""Streaming readers, one per export format.

Every reader is a generator of canonical post records (dicts) or :class:`Reject` items,
so that each input record ends up either in the output or in the rejects file.
"""

from __future__ import annotations

import csv
import json
import logging
from collections import deque
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

import orjson

from pipeline.errors import InputFileError
from pipeline.ingest import records as R
from pipeline.ingest.detect import detect_format, is_json_lines, json_kind, loads_lenient
from pipeline.ingest.mapping import ColumnMapping, apply_mapping, canonical_mapping, choose_mapping
from pipeline.io.sources import (HEAD_BYTES, MAX_LINE_CHARS, OVERLONG, bounded_lines, has_undecodable, open_text,
                                 has_later_lines, read_all_bytes, read_head)

log = logging.getLogger(__name__)
csv.field_size_limit(MAX_LINE_CHARS)  # a field (even over several lines) is bounded like a line

FORMATS = ("research_api", "zeeschuimer", "ytdlp", "jp_collector", "csv", "jsonl", "json", "parquet")
#: Longest text field kept; longer ones are cut (TikTok captions are ≤ 4,000 characters).
MAX_TEXT = 200_000


@dataclass(frozen=True)
class Reject:
    """An input record that could not be used, and why."""

    source_file: str
    source_line: int
    reason: str
    post_id: str | None = None
    #: Input records this reject stands for (a run of consecutive duplicates is one reject).
    count: int = 1

    def as_dict(self) -> dict[str, Any]:
        return {"source_file": self.source_file, "source_line": self.source_line,
                "reason": self.reason, "post_id": self.post_id, "count": self.count}


Item = dict[str, Any] | Reject


# --- readers --------------------------------------------------------------------------------

def _finish(rec: dict[str, Any], source: str, line: int, fmt: str) -> dict[str, Any]:
    """Set provenance (``source`` is the file's path as text, made once per file) and cut overlong texts."""
    rec["source_file"] = source
    rec["source_line"] = line
    rec["format"] = fmt
    for field in ("caption", "transcript", "on_screen_text"):
        value = rec.get(field)
        if isinstance(value, str) and len(value) > MAX_TEXT:
            rec[field] = value[:MAX_TEXT]
    return rec


_ITEM_MAPPERS: dict[str, Callable[[dict[str, Any]], dict[str, Any]]] = {
    "research_api": R.from_research_api,
    "zeeschuimer": lambda o: R.from_tiktok_web_item(o["data"] if isinstance(o.get("data"), dict) else o),
    "ytdlp": R.from_ytdlp,
    "jp_collector": R.from_jp_collector,
}


def _map_object(obj: Any, kind: str, mapping: ColumnMapping | None) -> dict[str, Any]:
    if not isinstance(obj, dict):
        raise ValueError(f"expected a JSON object, got {type(obj).__name__}")
    if kind in _ITEM_MAPPERS:
        return _ITEM_MAPPERS[kind](obj)
    if mapping is None:
        raise ValueError("no column mapping for this record")
    return apply_mapping(obj, mapping)


def _loads_line(line: str) -> Any:
    """orjson, falling back to the stdlib for what orjson refuses but JSON allows
    (escaped lone surrogates such as ``"\\ud800"``, which cleaning later removes)."""
    line = line.replace("\x00", "")
    try:
        return orjson.loads(line)
    except orjson.JSONDecodeError:
        try:
            return json.loads(line)
        except RecursionError as exc:
            raise ValueError("nested too deeply") from exc


class _Mappings:
    """Column mapping per record key set (JSONL and JSON lists need not share keys across records).

    The first record's mapping errors (no id column, a ``--column`` source missing) are
    whole-file errors; for a later record they leave its field empty, and validation rejects it
    when that field is the post id.
    """

    def __init__(self, overrides: dict[str, str] | None, path: Path) -> None:
        self.overrides, self.path = overrides, path
        self.cache: dict[tuple[str, ...], ColumnMapping] = {}

    def __call__(self, obj: dict[str, Any]) -> ColumnMapping:
        keys = tuple(obj)
        mapping = self.cache.get(keys)
        if mapping is None:
            try:
                mapping = choose_mapping(list(keys), self.overrides, self.path)
            except InputFileError:
                if not self.cache:
                    raise
                mapping = canonical_mapping(list(keys), self.overrides)
            if len(self.cache) < 10_000:  # bounded: files with ever-changing keys re-map per line
                self.cache[keys] = mapping
        return mapping


def read_jsonl(path: Path, kind: str, overrides: dict[str, str] | None = None) -> Iterator[Item]:
    """JSON Lines / NDJSON, one record per line; bad lines become rejects naming the line.

    Generic JSONL is mapped record by record (each line's own keys); a line longer than
    :data:`pipeline.io.sources.MAX_LINE_CHARS` is rejected without being read whole.
    """
    mappings = _Mappings(overrides, path)
    source = str(path)
    with open_text(path) as fh:
        for lineno, line in enumerate(bounded_lines(fh), start=1):
            if line is OVERLONG:
                yield Reject(source, lineno, f"overlong line (more than {MAX_LINE_CHARS:,} characters); skipped unread")
                continue
            # Fast path: when orjson parses the line as it is, the checks below cannot apply (a
            # blank line is not JSON, orjson refuses the surrogate escapes of undecodable bytes
            # and raw NUL characters), so ``_loads_line`` would return this same value.
            try:
                obj = orjson.loads(line)
            except orjson.JSONDecodeError:
                if not line.strip():
                    continue
                if has_undecodable(line):
                    yield Reject(source, lineno, "invalid UTF-8 bytes; re-save the file as UTF-8")
                    continue
                try:
                    obj = _loads_line(line)
                except ValueError as exc:
                    yield Reject(source, lineno, f"malformed JSON: {exc}")
                    continue
            if not isinstance(obj, dict):
                yield Reject(source, lineno, f"expected a JSON object on this line, got {type(obj).__name__}")
                continue
            try:
                rec = _map_object(obj, kind, mappings(obj) if kind == "jsonl" else None)
            except InputFileError:
                raise
            except Exception as exc:  # noqa: BLE001 - one bad record is a reject, never the end of the run
                yield Reject(source, lineno, f"unusable record: {_why(exc)}")
                continue
            yield _finish(rec, source, lineno, kind)


def _why(exc: BaseException) -> str:
    """A short reason for a reject from an exception (type for the unexpected ones)."""
    text = str(exc)[:200]
    return text if isinstance(exc, (ValueError, TypeError, KeyError)) and text else f"{type(exc).__name__}: {text}"


def _research_api_videos(doc: Any, path: Path) -> Iterator[tuple[int, Any] | Reject]:
    """Videos from a response page, a list of pages, a ``{"stored": [...]}`` wrapper, or a list of videos."""
    pages: list[Any]
    if isinstance(doc, dict) and "stored" in doc:
        pages = doc["stored"] if isinstance(doc["stored"], list) else []
    elif isinstance(doc, list) and doc and all(isinstance(p, dict) and ("data" in p or "error" in p) or p is None
                                                for p in doc):
        pages = doc
    elif isinstance(doc, list):
        pages = [{"data": {"videos": doc}}]
    else:
        pages = [doc]
    index = 0
    for page_no, page in enumerate(pages, start=1):
        data = page.get("data") if isinstance(page, dict) else None
        videos = data.get("videos") if isinstance(data, dict) else None
        if not isinstance(videos, list):
            err = page.get("error") if isinstance(page, dict) else None
            if isinstance(err, dict) and err.get("code") not in (None, "ok"):
                log.warning("%s: page %d is an API error (%s): skipped", path, page_no, err.get("message"))
            continue  # null or junk pages carry no posts
        for v in videos:
            index += 1
            yield (index, v)


def read_json_document(path: Path, kind: str, overrides: dict[str, str] | None = None) -> Iterator[Item]:
    """A whole-file JSON document: API responses, yt-dlp info, collector lists, or a list of records.

    ``source_line`` is the 1-based position of the record in the file.
    """
    head = read_head(path)
    # A first line longer than the head may be JSON Lines with one huge line: check (in pieces)
    # before reading a document whole.
    if b"\n" not in head and len(head) >= HEAD_BYTES and has_later_lines(path):
        yield from read_jsonl(path, "jsonl" if kind == "json" else kind, overrides)
        return
    raw = read_all_bytes(path).replace(b"\x00", b"")
    try:
        doc = loads_lenient(raw)
    except orjson.JSONDecodeError as exc:
        # JSON Lines with a broken first line is still JSON Lines.
        if raw.count(b"\n") > 1 and raw.lstrip()[:1] == b"{":
            yield from read_jsonl(path, "jsonl" if kind == "json" else kind, overrides)
            return
        raise InputFileError(path, f"not valid JSON ({exc})", "Check the file is a complete export (not cut off).") from exc
    kind = json_kind(doc) or "json"
    if kind == "api_error" and isinstance(doc, list):  # a list of pages whose first is an error page
        kind = "research_api"
    if kind == "api_error":
        err = doc.get("error") or {}
        raise InputFileError(path, f"TikTok API error response: {err.get('code')}: {err.get('message')}",
                             "Re-run the query; this file holds no posts.")
    if kind == "transcript":
        raise InputFileError(path, "this is a transcript file", "Pass its folder with --transcripts DIR.")
    source = str(path)
    if kind == "research_api":
        for item in _research_api_videos(doc, path):
            if isinstance(item, Reject):
                yield item
                continue
            index, v = item
            if not isinstance(v, dict):
                yield Reject(str(path), index, f"video entry is {type(v).__name__}, not an object")
                continue
            try:
                rec = R.from_research_api(v)
            except Exception as exc:  # noqa: BLE001 - one bad record is a reject, never the end of the run
                yield Reject(source, index, f"unusable record: {_why(exc)}")
                continue
            yield _finish(rec, source, index, kind)
        return
    items = doc if isinstance(doc, list) else [doc]
    mappings = _Mappings(overrides, path)
    if kind == "json" and not any(isinstance(x, dict) for x in items):
        raise InputFileError(path, "JSON holds no post objects", "Pass an export with one object per post.")
    for index, obj in enumerate(items, start=1):
        try:
            rec = _map_object(obj, kind, mappings(obj) if kind == "json" and isinstance(obj, dict) else None)
        except InputFileError:
            raise
        except Exception as exc:  # noqa: BLE001 - one bad record is a reject, never the end of the run
            yield Reject(str(path), index, f"unusable record: {_why(exc)}")
            continue
        yield _finish(rec, source, index, kind)


class _Lines:
    """Physical lines for :mod:`csv`, numbered, with the lines of the current row kept so that a
    broken row can be rejected by its first line and the lines after it read again."""

    def __init__(self, fh: Any) -> None:
        self.source = bounded_lines(fh)
        self.pending: deque[tuple[int, str]] = deque()
        self.row: list[tuple[int, str]] = []
        self.overlong: list[int] = []
        self.next_no = 1

    def __iter__(self) -> "_Lines":
        return self

    def __next__(self) -> str:
        while True:
            if self.pending:
                no, line = self.pending.popleft()
            else:
                raw = next(self.source)
                no, self.next_no = self.next_no, self.next_no + 1
                if raw is OVERLONG:
                    self.overlong.append(no)
                    continue
                line = raw
            self.row.append((no, line))
            return line

    def start_row(self) -> None:
        self.row = []

    def replay_after_first(self) -> int:
        """Queue the current row's lines after its first to be read again; return the first's number."""
        first = self.row[0][0] if self.row else self.next_no
        self.pending.extendleft(reversed(self.row[1:]))
        self.row = []
        return first


def read_csv(path: Path, overrides: dict[str, str] | None = None, delimiter: str | None = None) -> Iterator[Item]:
    """CSV/TSV with a header; the delimiter is sniffed; ragged rows become rejects.

    A broken row (an unbalanced quote that would swallow the rows after it, a wrong number of
    fields) spanning several lines is rejected by its first line and the following lines are
    read again, so one stray quote costs one row. Repeated header names are a file error.
    """
    with open_text(path) as fh:
        sample = fh.read(65536)
        fh.seek(0)
        if delimiter is None:
            first = sample.split("\n", 1)[0]
            delimiter = max((",", ";", "\t", "|"), key=first.count)
        lines = _Lines(fh)
        reader = csv.reader(lines, delimiter=delimiter, strict=True)
        try:
            header = next(reader)
        except StopIteration:
            raise InputFileError(path, "file is empty", "Export the data again.") from None
        except csv.Error as exc:
            raise InputFileError(path, f"unreadable CSV header ({exc})", "Check the file is a CSV export.") from exc
        header = [h.strip().lstrip("\ufeff") for h in header]
        if len(header) < 2:
            raise InputFileError(path, f"unknown format: one column only ({header[:1]})",
                                 "Pass a CSV with a header row, or force the format with --format.")
        repeated = sorted({h for h in header if h and header.count(h) > 1})
        if repeated:
            raise InputFileError(path, f"the header repeats column name(s) {', '.join(map(repr, repeated))}",
                                 "Rename the repeated columns so each name appears once, then run again.")
        mapping = choose_mapping(header, overrides, path)
        fmt, source = f"csv:{mapping.name}", str(path)
        while True:
            lines.start_row()
            try:
                row = next(reader)
            except StopIteration:
                break
            except csv.Error as exc:
                line = lines.replay_after_first()
                yield Reject(source, line, f"unreadable CSV row ({exc}); check for an unbalanced quote")
                continue
            finally:
                while lines.overlong:
                    yield Reject(source, lines.overlong.pop(0),
                                 f"overlong line (more than {MAX_LINE_CHARS:,} characters); skipped unread")
            line = lines.row[0][0] if lines.row else lines.next_no
            if not any(c.strip() for c in row):
                continue
            if len(row) != len(header):
                if len(lines.row) > 1:
                    line = lines.replay_after_first()
                    yield Reject(source, line, f"row has {len(row)} fields, the header has {len(header)}: an "
                                               "unbalanced quote; the lines after it are read again")
                else:
                    yield Reject(source, line, f"row has {len(row)} fields, the header has {len(header)} "
                                               "(a stray delimiter or an unbalanced quote)")
                continue
            if any(has_undecodable(c) for c in row):
                yield Reject(source, line, "invalid UTF-8 bytes; re-save the file as UTF-8")
                continue
            try:
                rec = apply_mapping(dict(zip(header, row)), mapping)
            except Exception as exc:  # noqa: BLE001 - one bad record is a reject, never the end of the run
                yield Reject(source, line, f"unusable record: {_why(exc)}")
                continue
            yield _finish(rec, source, line, fmt)


def read_parquet(path: Path, overrides: dict[str, str] | None = None, batch_size: int = 10_000) -> Iterator[Item]:
    """Parquet, read in record batches so memory stays bounded."""
    import pyarrow.parquet as pq

    try:
        pf = pq.ParquetFile(path)
    except Exception as exc:  # pyarrow raises several types for corrupt files
        raise InputFileError(path, f"unreadable Parquet file ({exc})", "Re-export the file.") from exc
    mapping = choose_mapping(pf.schema_arrow.names, overrides, path)
    index = 0
    source, fmt = str(path), f"parquet:{mapping.name}"
    for batch in pf.iter_batches(batch_size=batch_size):
        for row in batch.to_pylist():
            index += 1
            try:
                rec = apply_mapping(row, mapping)
            except Exception as exc:  # noqa: BLE001 - one bad record is a reject, never the end of the run
                yield Reject(source, index, f"unusable record: {_why(exc)}")
                continue
            yield _finish(rec, source, index, fmt)


def read_file(path: Path, fmt: str | None = None, overrides: dict[str, str] | None = None) -> Iterator[Item]:
    """Read one export file of any supported format (detected unless ``fmt`` is given)."""
    path = Path(path)
    kind = fmt or detect_format(path)
    if fmt is not None:
        read_head(path)  # whole-file checks (missing, empty, binary) still apply
    if kind not in FORMATS:
        raise InputFileError(path, f"unknown format {kind!r}", f"Use one of: {', '.join(FORMATS)}.")
    log.info("%s: reading as %s", path, kind)
    if kind == "parquet":
        yield from read_parquet(path, overrides)
    elif kind == "csv":
        yield from read_csv(path, overrides)
    elif kind in ("jsonl", "zeeschuimer") or (kind in ("research_api", "ytdlp", "jp_collector") and is_json_lines(path)):
        yield from read_jsonl(path, kind, overrides)
    else:
        yield from read_json_document(path, kind, overrides)


