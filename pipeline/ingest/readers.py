"""Format detection and streaming readers.

Every reader is a generator of canonical post records (dicts) or :class:`Reject` items,
so that each input record ends up either in the output or in the rejects file.
"""

from __future__ import annotations

import csv
import json
import logging
import sys
import tomllib
from collections.abc import Iterator
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Any, Callable

import orjson

from pipeline.errors import InputFileError
from pipeline.config import CONFIG_DIR
from pipeline.schema import EXTRA_FIELDS, POST_FIELDS
from pipeline.ingest import records as R
from pipeline.io.sources import has_undecodable, open_text, read_all_bytes, read_head

log = logging.getLogger(__name__)
csv.field_size_limit(sys.maxsize)

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

    def as_dict(self) -> dict[str, Any]:
        return {"source_file": self.source_file, "source_line": self.source_line,
                "reason": self.reason, "post_id": self.post_id}


Item = dict[str, Any] | Reject


# --- column mappings -------------------------------------------------------------------------

@dataclass(frozen=True)
class ColumnMapping:
    """canonical field → source column(s), plus boolean flags derived from a column's value."""

    name: str
    columns: dict[str, list[str]]
    flags: dict[str, tuple[str, str | None]]
    required: tuple[str, ...] = ()

    def matches(self, header: list[str]) -> bool:
        return bool(self.required) and all(c in header for c in self.required)

    @cached_property
    def plan(self) -> tuple[tuple[str, str | None, tuple[str, ...], Callable[[Any], Any], bool], ...]:
        """Per canonical field: its source column (``None`` when there are several), its source
        columns, its converter and whether it must be text.

        Worked out once per mapping instead of once per row (:func:`apply_mapping`).
        """
        return tuple((field, sources[0] if len(sources) == 1 else None, tuple(sources),
                      _FIELD_CONVERTERS.get(field, R.to_str), field in _TEXT_FIELDS)
                     for field, sources in self.columns.items())


def load_presets() -> list[ColumnMapping]:
    """Column mappings for known CSV layouts, from ``configs/formats/*.toml``."""
    presets = []
    for path in sorted((CONFIG_DIR / "formats").glob("*.toml")):
        with open(path, "rb") as fh:
            cfg = tomllib.load(fh)
        cols = {k: ([v] if isinstance(v, str) else list(v)) for k, v in cfg.get("columns", {}).items()}
        # a flag is true when the column equals a value, or (no "equals") when the column is truthy
        flags = {k: (v["column"], v.get("equals")) for k, v in cfg.get("flags", {}).items()}
        presets.append(ColumnMapping(path.stem, cols, flags, tuple(cfg.get("required", ()))))
    return presets


def canonical_mapping(header: list[str], overrides: dict[str, str] | None = None) -> ColumnMapping:
    """Identity mapping for canonical column names, with ``--column field=source`` overrides."""
    known = set(POST_FIELDS) | set(EXTRA_FIELDS)
    cols = {h: [h] for h in header if h in known}
    for field, src in (overrides or {}).items():
        cols[field] = [src]
    return ColumnMapping("canonical", cols, {})


def choose_mapping(header: list[str], overrides: dict[str, str] | None, path: Path) -> ColumnMapping:
    if not overrides:
        for preset in load_presets():
            if preset.matches(header):
                return preset
    mapping = canonical_mapping(header, overrides)
    missing = [src for srcs in mapping.columns.values() for src in srcs if src not in header and overrides
               and src in overrides.values()]
    if missing:
        raise InputFileError(path, f"column(s) {', '.join(missing)} given with --column are not in the file",
                             f"Columns present: {', '.join(header[:30])}")
    if "post_id" not in mapping.columns:
        raise InputFileError(path, "no post id column (looked for 'post_id' and the known export layouts)",
                             f"Map one with --column post_id=COLUMN; columns present: {', '.join(header[:30])}")
    return mapping


_FIELD_CONVERTERS: dict[str, Callable[[Any], Any]] = {
    "created_at": R.to_iso, "hashtags": R.to_list, "mentions": R.to_list,
    "paid_partnership": R.to_bool, "is_ad": R.to_bool, "views": R.to_int, "likes": R.to_int,
    "shares": R.to_int, "comments": R.to_int, "transcript": R.transcript_value,
    "source_line": R.to_int,
}


_TEXT_FIELDS = ("post_id", "caption", "transcript", "on_screen_text", "actor")
#: Cell values that mean "no value": the next source column is tried.
_NO_VALUE = (None, "")


def _first_value(row: dict[str, Any], sources: tuple[str, ...]) -> Any:
    """The first of ``sources`` that ``row`` has with a value, or ``None``.

    A missing column reads as ``None`` (``row.get``), which is skipped like an empty cell;
    with one source, :func:`apply_mapping` reads the cell directly and skips it the same way.
    """
    for source in sources:
        value = row.get(source)
        if value not in _NO_VALUE:
            return value
    return None


def apply_mapping(row: dict[str, Any], mapping: ColumnMapping) -> dict[str, Any]:
    """Map one input row onto a canonical record.

    Raises
    ------
    ValueError
        If a text field holds a JSON object or list (numbers are taken as their text).
    """
    rec = R.new_post()
    for field, source, sources, conv, text_only in mapping.plan:
        value = row.get(source) if source is not None else _first_value(row, sources)
        if value in _NO_VALUE:
            rec[field] = rec.get(field)
        elif text_only and isinstance(value, (dict, list)):
            raise ValueError(f"field {field!r} must be text; got a JSON {type(value).__name__}")
        else:
            rec[field] = conv(value)
    for field, (column, equals) in mapping.flags.items():
        if column not in row:
            continue
        flag = bool(R.to_bool(row[column])) if equals is None else str(row[column]).strip().lower() == equals.lower()
        if POST_FIELDS.get(field) is bool:
            rec[field] = flag
        elif flag:  # e.g. duet_from when the export only says "is a duet"
            rec[field] = "unknown"
    if rec.get("post_id") is not None:
        pid = rec["post_id"]
        rec["post_id"] = str(int(pid)) if isinstance(pid, float) and pid.is_integer() else str(pid).strip()
    for k in ("source_file", "source_line"):  # provenance is ours to set
        rec.pop(k, None) if mapping.name != "canonical" else None
    return rec


# --- detection ------------------------------------------------------------------------------

def _json_kind(obj: Any) -> str | None:
    """Which export format one parsed JSON object (a whole file or one line) belongs to."""
    if isinstance(obj, dict):
        err = obj.get("error")
        if isinstance(err, dict) and err.get("code") not in (None, "ok") and "stored" not in obj \
                and not (isinstance(obj.get("data"), dict) and obj["data"].get("videos")):
            return "api_error"
        if "stored" in obj or (isinstance(obj.get("data"), dict) and "videos" in obj["data"]):
            return "research_api"
        if "data" in obj and ("source_platform" in obj or "item_id" in obj or "nav_index" in obj):
            return "zeeschuimer"
        if "extractor_key" in obj or "extractor" in obj or ("webpage_url" in obj and "uploader" in obj):
            return "ytdlp"
        if "videoId" in obj and ("channelId" in obj or "title" in obj):
            return "jp_collector"
        if "video_description" in obj or "voice_to_text" in obj or ("create_time" in obj and "id" in obj):
            return "research_api"
        if "desc" in obj and "createTime" in obj:
            return "zeeschuimer"
        if "utterances" in obj:
            return "transcript"
    if isinstance(obj, list):
        first = next((x for x in obj if isinstance(x, dict)), None)
        if first is None:
            return None
        return _json_kind(first) or "json"
    return None


def detect_format(path: Path) -> str:
    """Detect an input file's format from its content (extension only as a tie-breaker)."""
    head = read_head(path)
    if head.startswith(b"PAR1"):
        return "parquet"
    # raw NUL bytes are invalid in JSON but common in scraped text; readers drop them (as 4CAT does)
    text = head.replace(b"\x00", b"").decode("utf-8", errors="replace").lstrip("\ufeff \t\r\n")
    if text.startswith("WEBVTT"):
        raise InputFileError(path, "this is a subtitle file, not a post export",
                             "Pass its folder with --transcripts DIR instead.")
    if text.startswith(("{", "[")):
        first_line = text.split("\n", 1)[0].strip()
        try:
            return _kind_or_generic(orjson.loads(first_line), line=True, path=path)
        except orjson.JSONDecodeError:
            pass
        if text.startswith("["):
            return "json"
        # A multi-line single JSON document (pretty-printed response), or JSONL whose first line is bad.
        lines = [ln for ln in text.split("\n")[1:6] if ln.strip()]
        for ln in lines:
            try:
                return _kind_or_generic(orjson.loads(ln), line=True, path=path)
            except orjson.JSONDecodeError:
                continue
        return "json"
    return "csv"


def _kind_or_generic(obj: Any, *, line: bool, path: Path) -> str:
    kind = _json_kind(obj)
    if kind == "transcript":
        raise InputFileError(path, "this is a TikTok creator-caption (transcript) file, not a post export",
                             "Pass its folder with --transcripts DIR instead.")
    if kind == "api_error":
        return "json"  # read_json_document reports the API's error message
    if kind in (None, "json"):
        return "jsonl" if line and isinstance(obj, dict) else "json"
    if line and kind in ("research_api", "zeeschuimer", "ytdlp", "jp_collector"):
        return kind
    return kind


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
    assert mapping is not None
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


def read_jsonl(path: Path, kind: str, overrides: dict[str, str] | None = None) -> Iterator[Item]:
    """JSON Lines / NDJSON, one record per line; bad lines become rejects naming the line."""
    mapping: ColumnMapping | None = None
    source = str(path)
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
            if kind == "jsonl" and mapping is None:
                mapping = choose_mapping(list(obj), overrides, path)
            try:
                rec = _map_object(obj, kind, mapping)
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
    raw = read_all_bytes(path).replace(b"\x00", b"")
    try:
        doc = orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        # JSON Lines with a broken first line is still JSON Lines.
        if raw.count(b"\n") > 1 and raw.lstrip()[:1] == b"{":
            yield from read_jsonl(path, "jsonl" if kind == "json" else kind, overrides)
            return
        raise InputFileError(path, f"not valid JSON ({exc})", "Check the file is a complete export (not cut off).") from exc
    kind = _json_kind(doc) or "json"
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
            yield _finish(R.from_research_api(v), source, index, kind)
        return
    items = doc if isinstance(doc, list) else [doc]
    mapping = None
    if kind == "json":
        first = next((x for x in items if isinstance(x, dict)), None)
        if first is None:
            raise InputFileError(path, "JSON holds no post objects", "Pass an export with one object per post.")
        mapping = choose_mapping(list(first), overrides, path)
    for index, obj in enumerate(items, start=1):
        try:
            rec = _map_object(obj, kind if kind != "json" else "json", mapping)
        except (ValueError, TypeError, AttributeError, KeyError) as exc:
            yield Reject(str(path), index, f"unusable record: {exc}")
            continue
        yield _finish(rec, source, index, kind)


def read_csv(path: Path, overrides: dict[str, str] | None = None, delimiter: str | None = None) -> Iterator[Item]:
    """CSV/TSV with a header; the delimiter is sniffed; ragged rows become rejects."""
    with open_text(path) as fh:
        sample = fh.read(65536)
        fh.seek(0)
        if delimiter is None:
            first = sample.split("\n", 1)[0]
            delimiter = max((",", ";", "\t", "|"), key=first.count)
        reader = csv.reader(fh, delimiter=delimiter, strict=True)
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
    elif kind in ("jsonl", "zeeschuimer") or (kind in ("research_api", "ytdlp", "jp_collector") and _is_lines(path)):
        yield from read_jsonl(path, kind, overrides)
    else:
        yield from read_json_document(path, kind, overrides)


def _is_lines(path: Path) -> bool:
    """True when the file is JSON Lines (its first line is a complete JSON value)."""
    head = read_head(path).decode("utf-8", errors="replace").lstrip("\ufeff \t\r\n")
    first = head.split("\n", 1)[0]
    if "\n" not in head and len(head) >= 65536:
        return False
    try:
        orjson.loads(first)
    except orjson.JSONDecodeError:
        return False
    return "\n" in head.strip()
