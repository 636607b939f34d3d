"""Which export format a file holds, from its content (the extension only breaks ties)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import json

import orjson

from pipeline.errors import InputFileError
from pipeline.io.sources import read_head


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
        return json_kind(first) or "json"
    return None


def head_text(head: bytes) -> str:
    """The start of a file as text, as the readers will decode it (UTF-16 with a BOM, else UTF-8)."""
    if head.startswith((b"\xff\xfe", b"\xfe\xff")):
        return head[:len(head) // 2 * 2].decode("utf-16", errors="replace").lstrip("\ufeff \t\r\n")
    # raw NUL bytes are invalid in JSON but common in scraped text; readers drop them (as 4CAT does)
    return head.replace(b"\x00", b"").decode("utf-8", errors="replace").lstrip("\ufeff \t\r\n")


def detect_format(path: Path) -> str:
    """Detect an input file's format from its content (extension only as a tie-breaker)."""
    head = read_head(path)
    if head.startswith(b"PAR1"):
        return "parquet"
    text = head_text(head)
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
    if kind == "api_error":
        return "json"  # read_json_document reports the API's error message
    if kind in (None, "json"):
        return "jsonl" if line and isinstance(obj, dict) else "json"
    if line and kind in ("research_api", "zeeschuimer", "ytdlp", "jp_collector"):
        return kind
    return kind


def is_json_lines(path: Path) -> bool:
    """True when the file is JSON Lines (its first line is a complete JSON value)."""
    head = head_text(read_head(path))
    first = head.split("\n", 1)[0]
    if "\n" not in head and len(head) >= 65536:
        return False
    try:
        loads_lenient(first)
    except orjson.JSONDecodeError:
        return False
    return "\n" in head.strip()
