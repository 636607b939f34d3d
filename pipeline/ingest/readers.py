"""Streaming readers, one per export format.

Every reader is a generator of canonical post records (dicts) or :class:`Reject` items,
so that each input record ends up either in the output or in the rejects file.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson

from pipeline.errors import InputFileError
from pipeline.ingest import records as R
from pipeline.ingest.csv_reader import read_csv
from pipeline.ingest.detect import detect_format, is_json_lines, json_kind, loads_lenient
from pipeline.ingest.items import MAX_TEXT, Item, Reject, finish as _finish, why as _why  # noqa: F401 (re-exported)
from pipeline.ingest.known import describe_json
from pipeline.ingest.mapping import (
    ColumnMapping,
    apply_mapping,
    apply_overrides,
    canonical_mapping,
    check_overrides,
    choose_mapping,
)
from pipeline.io import sources
from pipeline.io.sources import bounded_lines, has_later_lines, has_undecodable, open_text, read_head

log = logging.getLogger(__name__)

FORMATS = ("research_api", "zeeschuimer", "tiktok_web", "apify", "ytdlp", "jp_collector", "csv", "jsonl", "json",
           "parquet")
#: Formats read item by item with a fixed mapper (``--column`` adds to it, by key or dotted path).
ITEM_FORMATS = ("research_api", "zeeschuimer", "tiktok_web", "apify", "ytdlp", "jp_collector")
# --- readers --------------------------------------------------------------------------------

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
    with open_text(path) as fh:
        yield from jsonl_items(bounded_lines(fh), path, kind, overrides)


_BLANK = object()


def _parse_line(line: str, source: str, lineno: int) -> Any:
    """The JSON value of one line, a :class:`Reject`, or ``_BLANK`` for a blank line."""
    # Fast path: when orjson parses the line as it is, the checks below cannot apply (a
    # blank line is not JSON, orjson refuses the surrogate escapes of undecodable bytes
    # and raw NUL characters), so ``_loads_line`` would return this same value.
    try:
        return orjson.loads(line)
    except orjson.JSONDecodeError:
        if not line.strip():
            return _BLANK
        if has_undecodable(line):
            return Reject(source, lineno, "invalid UTF-8 bytes; re-save the file as UTF-8")
        try:
            return _loads_line(line)
        except ValueError as exc:
            return Reject(source, lineno, f"malformed JSON: {exc}")


def _check_first(path: Path, obj: dict[str, Any], kind: str, overrides: dict[str, str] | None,
                 mappings: _Mappings) -> None:
    """Whole-file checks on a file's first JSON object (known non-post files, mapping, --column)."""
    _refuse_known(path, obj)
    if kind == "jsonl":
        mappings(obj)  # the first record's mapping problems are whole-file errors
    elif overrides:
        check_overrides(path, obj, overrides, kind)


def jsonl_first_object(path: Path, kind: str, overrides: dict[str, str] | None = None) -> dict[str, Any] | None:
    """The first line of ``path`` that is a JSON object, after the whole-file checks
    :func:`read_jsonl` makes on it (a partitioned reading makes them once, before sending work out)."""
    source = str(path)
    with open_text(path) as fh:
        for lineno, line in enumerate(bounded_lines(fh), start=1):
            if line is sources.OVERLONG:
                continue
            obj = _parse_line(line, source, lineno)
            if isinstance(obj, dict):
                _check_first(path, obj, kind, overrides, _Mappings(overrides, path))
                return obj
    return None


def jsonl_items(lines: Iterable[str | None], path: Path, kind: str, overrides: dict[str, str] | None = None, *,
                first_line: int = 1, first_keys: Sequence[str] | None = None) -> Iterator[Item]:
    """The records of JSON ``lines`` (from :func:`bounded_lines`) numbered from ``first_line``:
    a whole file, or a block of one.

    ``first_keys``: for a block that starts after the file's first JSON object, that object's
    keys (see :func:`jsonl_first_object`): its mapping is known and its checks were made, so
    the block maps records as the whole file's reading would.
    """
    mappings = _Mappings(overrides, path)
    source = str(path)
    first = first_keys is None
    if first_keys is not None and kind == "jsonl":
        mappings(dict.fromkeys(first_keys))
    for lineno, line in enumerate(lines, start=first_line):
        if line is sources.OVERLONG:
            yield Reject(source, lineno, f"overlong line (more than {sources.MAX_LINE_CHARS:,} characters); skipped unread")
            continue
        obj = _parse_line(line, source, lineno)
        if obj is _BLANK:
            continue
        if isinstance(obj, Reject):
            yield obj
            continue
        if not isinstance(obj, dict):
            yield Reject(source, lineno, f"expected a JSON object on this line, got {type(obj).__name__}")
            continue
        if first:
            first = False
            _check_first(path, obj, kind, overrides, mappings)
        for item in _items_of(obj, kind):
            try:
                rec = _map_object(item, kind, mappings(item) if kind == "jsonl" and isinstance(item, dict) else None,
                                  overrides)
            except InputFileError:
                raise
            except Exception as exc:  # noqa: BLE001 - one bad record is a reject, never the end of the run
                yield Reject(source, lineno, f"unusable record: {_why(exc)}")
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
    head = read_head(path)
    # A first line longer than the head may be JSON Lines with one huge line: check (in pieces)
    # before reading a document whole.
    if b"\n" not in head and len(head) >= sources.HEAD_BYTES and has_later_lines(path):
        yield from read_jsonl(path, "jsonl" if kind == "json" else kind, overrides)
        return
    raw = sources.read_all_text_bytes(path).replace(b"\x00", b"")
    try:
        doc = loads_lenient(raw)
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
            try:
                rec = _map_object(v, kind, None, overrides)
            except Exception as exc:  # noqa: BLE001 - one bad record is a reject, never the end of the run
                yield Reject(source, index, f"unusable record: {_why(exc)}")
                continue
            yield _finish(rec, source, index, kind)
        return
    if kind == "tiktok_web":
        items: list[Any] = R.web_items(doc)
    else:
        items = doc if isinstance(doc, list) else [doc]
    if kind in _ITEM_MAPPERS and overrides:
        check_overrides(path, next((x for x in items if isinstance(x, dict)), {}), overrides, kind)
    mappings = _Mappings(overrides, path)
    if kind == "json" and not any(isinstance(x, dict) for x in items):
        raise InputFileError(path, "JSON holds no post objects", "Pass an export with one object per post.")
    for index, obj in enumerate(items, start=1):
        try:
            rec = _map_object(obj, kind, mappings(obj) if kind == "json" and isinstance(obj, dict) else None, overrides)
        except InputFileError:
            raise
        except Exception as exc:  # noqa: BLE001 - one bad record is a reject, never the end of the run
            yield Reject(str(path), index, f"unusable record: {_why(exc)}")
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


def read_parquet(path: Path, overrides: dict[str, str] | None = None, batch_size: int = 10_000, *,
                 row_groups: list[int] | None = None, first_index: int = 0) -> Iterator[Item]:
    """Parquet, read in record batches so memory stays bounded.

    ``row_groups``: only these (a partition of the file); ``first_index`` is the number of rows
    before them, so ``source_line`` stays the row's position in the whole file.
    """
    import pyarrow.parquet as pq

    try:
        pf = pq.ParquetFile(path)
    except Exception as exc:  # pyarrow raises several types for corrupt files
        raise InputFileError(path, f"unreadable Parquet file ({exc})", "Re-export the file.") from exc
    mapping = choose_mapping(pf.schema_arrow.names, overrides, path)
    source, fmt = str(path), f"parquet:{mapping.name}"
    yield from _table_items((row for batch in pf.iter_batches(batch_size=batch_size, row_groups=row_groups)
                             for row in batch.to_pylist()), mapping, source, fmt, first_index)


def _table_items(rows: Iterable[dict[str, Any]], mapping: ColumnMapping, source: str, fmt: str,
                 first_index: int) -> Iterator[Item]:
    for index, row in enumerate(rows, start=first_index + 1):
        try:
            rec = apply_mapping(row, mapping)
        except Exception as exc:  # noqa: BLE001 - one bad record is a reject, never the end of the run
            yield Reject(source, index, f"unusable record: {_why(exc)}")
            continue
        yield _finish(rec, source, index, fmt)


def frame_items(rows: list[dict[str, Any]], header: list[str], source: str,
                overrides: dict[str, str] | None = None, *, first_index: int = 0) -> Iterator[Item]:
    """The records of table rows already in memory (a pandas/Dask partition), mapped as a
    Parquet file with the same columns would be; ``source_line`` is the row's position."""
    mapping = choose_mapping(header, overrides, Path(source))
    yield from _table_items(rows, mapping, source, f"dataframe:{mapping.name}", first_index)


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


