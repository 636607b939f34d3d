"""Streaming readers, one per export format.

Every reader is a generator of canonical post records (dicts) or :class:`Reject` items,
so that each input record ends up either in the output or in the rejects file.
"""

from __future__ import annotations

import csv
import json
import logging
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from itertools import chain
from pathlib import Path
from typing import Any, Callable

import orjson

from pipeline.errors import InputFileError
from pipeline.ingest import records as R
from pipeline.ingest.detect import detect_format, is_json_lines, json_kind
from pipeline.ingest.known import describe_json
from pipeline.ingest.mapping import ColumnMapping, apply_mapping, apply_overrides, check_overrides, choose_mapping
from pipeline.io.sources import has_undecodable, open_text, read_all_text_bytes, read_head

log = logging.getLogger(__name__)
csv.field_size_limit(sys.maxsize)

FORMATS = ("research_api", "zeeschuimer", "tiktok_web", "apify", "ytdlp", "jp_collector", "csv", "jsonl", "json",
           "parquet")
#: Formats read item by item with a fixed mapper (``--column`` adds to it, by key or dotted path).
ITEM_FORMATS = ("research_api", "zeeschuimer", "tiktok_web", "apify", "ytdlp", "jp_collector")
#: Longest text field kept; longer ones are cut (TikTok captions are ≤ 4,000 characters).
MAX_TEXT = 200_000


@dataclass(frozen=True)
class Reject:
    """An input record that could not be used, and why."""

    source_file: str
    source_line: int
    reason: str
    post_id: str | None = None

    def as_dict(self) -> dict[str, Any]:
        return {"source_file": self.source_file, "source_line": self.source_line,
                "reason": self.reason, "post_id": self.post_id}


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
    "tiktok_web": R.from_tiktok_web_item,
    "apify": R.from_apify,
    "ytdlp": R.from_ytdlp,
    "jp_collector": R.from_jp_collector,
}


def _map_object(obj: Any, kind: str, mapping: ColumnMapping | None,
                overrides: dict[str, str] | None = None) -> dict[str, Any]:
    if isinstance(obj, _BadJSON):
        raise ValueError(f"malformed JSON at line {obj.line}: {obj.message}")
    if not isinstance(obj, dict):
        raise ValueError(f"expected a JSON object, got {type(obj).__name__}")
    if kind in _ITEM_MAPPERS:
        rec = _ITEM_MAPPERS[kind](obj)
        return apply_overrides(rec, obj, overrides) if overrides else rec
    if mapping is None:  # generic JSON needs a column mapping; callers always pass one
        raise ValueError(f"no column mapping for {kind!r} records")
    return apply_mapping(obj, mapping)


def _items_of(obj: Any, kind: str) -> list[Any]:
    """The post objects in one parsed line or document element (web API pages hold several)."""
    if kind == "tiktok_web":
        return R.web_items(obj) or [obj]
    return [obj]


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


def read_jsonl(path: Path, kind: str, overrides: dict[str, str] | None = None) -> Iterator[Item]:
    """JSON Lines / NDJSON, one record per line; bad lines become rejects naming the line."""
    mapping: ColumnMapping | None = None
    source = str(path)
    first = True
    with open_text(path) as fh:
        for lineno, line in enumerate(fh, start=1):
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
            if first:
                first = False
                _refuse_known(path, obj)
                if kind == "jsonl":
                    mapping = choose_mapping(list(obj), overrides, path)
                elif overrides:
                    check_overrides(path, obj, overrides, kind)
            for item in _items_of(obj, kind):
                try:
                    rec = _map_object(item, kind, mapping, overrides)
                except (ValueError, TypeError, AttributeError, KeyError) as exc:
                    yield Reject(source, lineno, f"unusable record: {exc}")
                    continue
                yield _finish(rec, source, lineno, kind)


def _research_api_videos(doc: Any, path: Path) -> Iterator[tuple[int, Any] | Reject]:
    """Videos from a response page, a list of pages, a ``{"stored": [...]}`` wrapper, or a list of videos."""
    pages: list[Any]
    if isinstance(doc, dict) and "stored" in doc:
        pages = doc["stored"] if isinstance(doc["stored"], list) else []
    elif isinstance(doc, list) and doc and all(isinstance(p, dict) and ("data" in p or "error" in p) or p is None
                                                or isinstance(p, _BadJSON) for p in doc):
        pages = doc
    elif isinstance(doc, list):
        pages = [{"data": {"videos": doc}}]
    else:
        pages = [doc]
    index = 0
    for page_no, page in enumerate(pages, start=1):
        if isinstance(page, _BadJSON):
            yield Reject(str(path), page.line, f"malformed JSON: {page.message}")
            continue
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
    raw = read_all_text_bytes(path).replace(b"\x00", b"")
    try:
        doc = orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        stream = _json_stream(raw)
        if stream is not None:  # concatenated (pretty-printed) JSON values: one list
            doc = stream
        # JSON Lines with a broken first line is still JSON Lines.
        elif raw.count(b"\n") > 1 and raw.lstrip()[:1] == b"{":
            yield from read_jsonl(path, "jsonl" if kind == "json" else kind, overrides)
            return
        else:
            raise InputFileError(path, f"not valid JSON ({exc})", "Check the file is a complete export (not cut off).") from exc
    _refuse_known(path, doc)
    kind = json_kind(doc) or "json"
    if kind == "api_error":
        err = doc.get("error") or {}
        raise InputFileError(path, f"TikTok API error response: {err.get('code')}: {err.get('message')}",
                             "Re-run the query; this file holds no posts.")
    if kind == "transcript":
        raise InputFileError(path, "this is a transcript file", "Pass its folder with --transcripts DIR.")
    source = str(path)
    if kind == "research_api":
        first_video = next((v for _, v in (i for i in _research_api_videos(doc, path) if not isinstance(i, Reject))
                            if isinstance(v, dict)), None)
        if overrides and first_video is not None:
            check_overrides(path, first_video, overrides, kind)
        for item in _research_api_videos(doc, path):
            if isinstance(item, Reject):
                yield item
                continue
            index, v = item
            if isinstance(v, _BadJSON):
                yield Reject(source, index, f"malformed JSON at line {v.line}: {v.message}")
                continue
            if not isinstance(v, dict):
                yield Reject(str(path), index, f"video entry is {type(v).__name__}, not an object")
                continue
            yield _finish(_map_object(v, kind, None, overrides), source, index, kind)
        return
    if kind == "tiktok_web":
        items: list[Any] = R.web_items(doc)
    else:
        items = doc if isinstance(doc, list) else [doc]
    mapping = None
    if kind in _ITEM_MAPPERS and overrides:
        check_overrides(path, next((x for x in items if isinstance(x, dict)), {}), overrides, kind)
    if kind == "json":
        first = next((x for x in items if isinstance(x, dict)), None)
        if first is None:
            raise InputFileError(path, "JSON holds no post objects", "Pass an export with one object per post.")
        mapping = choose_mapping(list(first), overrides, path)
    for index, obj in enumerate(items, start=1):
        try:
            rec = _map_object(obj, kind, mapping, overrides)
        except (ValueError, TypeError, AttributeError, KeyError) as exc:
            yield Reject(str(path), index, f"unusable record: {exc}")
            continue
        yield _finish(rec, source, index, kind)


def _refuse_known(path: Path, obj: Any) -> None:
    """Stop with what a known file without posts is (a personal data export …) and what to export instead."""
    known = describe_json(obj)
    if known is not None:
        raise InputFileError(path, known[0], known[1])


@dataclass(frozen=True)
class _BadJSON:
    """A value of a JSON stream that did not parse; reading goes on at the next top-level ``{``."""

    line: int
    message: str


def _json_stream(raw: bytes) -> list[Any] | None:
    """Two or more JSON values one after another (``jq .`` output, pretty-printed pages), or ``None``.

    A value that does not parse (after the first) becomes a :class:`_BadJSON` and reading resumes
    at the next ``{`` that starts a line, so one broken object does not cost the whole file.
    """
    text = raw.decode("utf-8", errors="replace")
    decoder = json.JSONDecoder()
    values: list[Any] = []
    pos, end = 0, len(text)
    while True:
        while pos < end and text[pos] in " \t\r\n\ufeff":
            pos += 1
        if pos >= end:
            break
        try:
            value, pos = decoder.raw_decode(text, pos)
        except (json.JSONDecodeError, RecursionError) as exc:
            restart = text.find("\n{", pos + 1)
            if not values or restart < 0:
                return None
            values.append(_BadJSON(text.count("\n", 0, pos) + 1, str(exc)))
            pos = restart + 1
            continue
        values.append(value)
    return values if len(values) > 1 else None


def read_csv(path: Path, overrides: dict[str, str] | None = None, delimiter: str | None = None) -> Iterator[Item]:
    """CSV/TSV with a header; the delimiter is sniffed; ragged rows become rejects."""
    with open_text(path) as fh:
        first = fh.readline()  # no seek back: zstd streams cannot
        if delimiter is None:
            delimiter = max((",", ";", "\t", "|"), key=first.count)
        reader = csv.reader(chain([first], fh), delimiter=delimiter, strict=True)
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
        mapping = choose_mapping(header, overrides, path)
        fmt, source = f"csv:{mapping.name}", str(path)
        start = reader.line_num + 1
        while True:
            try:
                row = next(reader)
            except StopIteration:
                break
            except csv.Error as exc:
                yield Reject(str(path), start, f"unreadable CSV row ({exc}); check for an unbalanced quote")
                start = reader.line_num + 1
                continue
            line, start = start, reader.line_num + 1
            if not any(c.strip() for c in row):
                continue
            if len(row) != len(header):
                yield Reject(str(path), line, f"row has {len(row)} fields, the header has {len(header)} "
                                              "(a stray delimiter or an unbalanced quote)")
                continue
            if any(has_undecodable(c) for c in row):
                yield Reject(str(path), line, "invalid UTF-8 bytes; re-save the file as UTF-8")
                continue
            rec = apply_mapping(dict(zip(header, row)), mapping)
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
            yield _finish(apply_mapping(row, mapping), source, index, fmt)


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
    elif kind in ("jsonl", "zeeschuimer") or (kind in ITEM_FORMATS and is_json_lines(path)):
        yield from read_jsonl(path, kind, overrides)
    else:
        yield from read_json_document(path, kind, overrides)


