"""Which export format a file holds, from its content (the extension only breaks ties)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import orjson

from pipeline.errors import InputFileError
from pipeline.ingest.known import PERSONAL_EXPORT, describe_json
from pipeline.ingest.records import web_items
from pipeline.io.sources import decode_head, read_head


def loads_lenient(text: str | bytes) -> Any:
    """orjson, or the standard library for what JSON allows and orjson refuses (escaped lone
    surrogates such as ``"\\ud800"``, numbers beyond 64 bits, ``NaN``); raises ``orjson.JSONDecodeError``."""
    try:
        return orjson.loads(text)
    except orjson.JSONDecodeError:
        try:
            return json.loads(text)
        except (ValueError, RecursionError, TypeError):
            pass
        raise


def json_kind(obj: Any) -> str | None:
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
        if "webVideoUrl" in obj or isinstance(obj.get("authorMeta"), dict) or "authorMeta.name" in obj:
            return "apify"
        if "extractor_key" in obj or "extractor" in obj or ("webpage_url" in obj and "uploader" in obj):
            return "ytdlp"
        if "videoId" in obj and ("channelId" in obj or "title" in obj):
            return "jp_collector"
        if "video_description" in obj or "voice_to_text" in obj or ("create_time" in obj and "id" in obj):
            return "research_api"
        if "desc" in obj and "createTime" in obj:
            return "tiktok_web"
        if "utterances" in obj:
            return "transcript"
        if describe_json(obj) is not None:
            return "unsupported"
        if web_items(obj):
            return "tiktok_web"
    if isinstance(obj, list):
        first = next((x for x in obj if isinstance(x, dict)), None)
        if first is None:
            return None
        return json_kind(first) or "json"
    return None


def detect_format(path: Path) -> str:
    """Detect an input file's format from its content (extension only as a tie-breaker)."""
    head = read_head(path)
    if head.startswith(b"PAR1"):
        return "parquet"
    # raw NUL bytes are invalid in JSON but common in scraped text; readers drop them (as 4CAT does)
    text = decode_head(head).replace("\x00", "").lstrip("\ufeff \t\r\n")
    if head.startswith(b"PK\x03\x04"):
        raise InputFileError(path, "this is a ZIP archive" + (f" ({_zip_hint(path)})" if _zip_hint(path) else ""),
                             "Unzip it and pass the export files inside.")
    if text.startswith("WEBVTT"):
        raise InputFileError(path, "this is a subtitle file, not a post export",
                             "Pass its folder with --transcripts DIR instead.")
    if text.startswith(("{", "[")):
        first_line = text.split("\n", 1)[0].strip()
        try:
            return _kind_or_generic(loads_lenient(first_line), line=True, path=path)
        except orjson.JSONDecodeError:
            pass
        if text.startswith("["):
            return "json"
        # A multi-line single JSON document (pretty-printed response), or JSONL whose first line is bad.
        lines = [ln for ln in text.split("\n")[1:6] if ln.strip()]
        for ln in lines:
            try:
                return _kind_or_generic(loads_lenient(ln), line=True, path=path)
            except orjson.JSONDecodeError:
                continue
        return "json"
    return "csv"


def _kind_or_generic(obj: Any, *, line: bool, path: Path) -> str:
    kind = json_kind(obj)
    if kind == "transcript":
        raise InputFileError(path, "this is a TikTok creator-caption (transcript) file, not a post export",
                             "Pass its folder with --transcripts DIR instead.")
    if kind in ("api_error", "unsupported"):
        return "json"  # read_json_document reports the API's error message / what the file is
    if kind in (None, "json"):
        return "jsonl" if line and isinstance(obj, dict) else "json"
    return kind


def _zip_hint(path: Path) -> str:
    """What a ZIP holds, when it is a known export (TikTok's personal data download)."""
    import zipfile  # lazy: only for ZIP inputs

    try:
        with zipfile.ZipFile(path) as zf:
            names = zf.namelist()
    except (zipfile.BadZipFile, OSError):
        return ""
    if any("user_data" in n.lower() for n in names):
        return PERSONAL_EXPORT
    return ""


def is_json_lines(path: Path) -> bool:
    """True when the file is JSON Lines (its first line is a complete JSON value)."""
    head = decode_head(read_head(path)).lstrip("\ufeff \t\r\n")
    first = head.split("\n", 1)[0]
    if "\n" not in head and len(head) >= 65536:
        return False
    try:
        loads_lenient(first)
    except orjson.JSONDecodeError:
        return False
    return "\n" in head.strip()
