"""Map one item of each known export format onto the canonical post record."""

from __future__ import annotations

import json
import math
import re
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import UTC, datetime
from typing import Any

from pipeline.schema import empty_post, fold_tag

_EMPTY_POST = empty_post()
_LIST_FIELDS = tuple(k for k, v in _EMPTY_POST.items() if isinstance(v, list))


def new_post() -> dict[str, Any]:
    """Same as :func:`pipeline.schema.empty_post` (copied from a template made by it, lists fresh)."""
    rec = _EMPTY_POST.copy()
    for name in _LIST_FIELDS:
        rec[name] = []
    return rec

_NUM_RE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([kKmMbB]?)\s*$")
_TIMESTAMP_RE = re.compile(r"\s*\d+(?:\.\d+)?\s*")
#: ``YYYY-MM-DDTHH:MM:SSZ``: already what :func:`to_iso` returns for a valid date of that form.
_CANONICAL_ISO_RE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}Z")
_MULT = {"": 1, "k": 1_000, "m": 1_000_000, "b": 1_000_000_000}
TRUE_STRINGS = {"true", "1", "yes", "y", "t"}
_EMPTY_TOKENS = {"0", "nan", "none", "null", "[]"}


#: Values a converter could not use, as ``(kind, example)``, for the record being read; the
#: ingest loop takes them after each record (:func:`take_notes`) and counts them.
_NOTES: list[tuple[str, str]] = []
#: Largest count kept (int64, what Parquet and pandas hold); larger or negative counts are unknown.
MAX_COUNT = 2**63 - 1
#: Date formats tried after ISO 8601 (slashed day/month dates only when unambiguous, below).
DATE_FORMATS = ("%Y/%m/%d %H:%M:%S", "%Y/%m/%d %H:%M", "%Y/%m/%d", "%d.%m.%Y %H:%M:%S", "%d.%m.%Y %H:%M",
                "%d.%m.%Y", "%b %d, %Y", "%B %d, %Y", "%d %b %Y", "%d %B %Y", "%a %b %d %H:%M:%S %z %Y")
_SLASHED_RE = re.compile(r"\s*(\d{1,2})/(\d{1,2})/(\d{4})(\s+\d{1,2}:\d{2}(?::\d{2})?)?\s*")
_date_formats: ContextVar[tuple[str, ...]] = ContextVar("date_formats", default=())


def note(kind: str, value: Any) -> None:
    """Record that a value of ``kind`` (``date``, ``count`` …) was unusable and left empty."""
    if len(_NOTES) < 100:
        _NOTES.append((kind, str(value)[:80]))


def take_notes() -> list[tuple[str, str]]:
    """The notes recorded since the last call (for the record just read)."""
    if not _NOTES:
        return []
    out = list(_NOTES)
    _NOTES.clear()
    return out


@contextmanager
def date_formats(formats: Sequence[str] | None) -> Iterator[None]:
    """Try ``formats`` (``strptime`` patterns, e.g. ``%d/%m/%Y %H:%M``) first when reading dates in this block."""
    token = _date_formats.set(tuple(formats or ()))
    try:
        yield
    finally:
        _date_formats.reset(token)


def to_int(value: Any) -> int | None:
    """Counts as ints: ``12``, ``"12"``, ``"12.0"``, ``"1.2K"``; ``None`` for anything else (buckets, junk).

    Negative, non-finite and out-of-range (beyond int64) counts are ``None`` and noted.
    """
    if value is None or isinstance(value, bool):
        return None
    if isinstance(value, int):
        n: int | None = value
    elif isinstance(value, float):
        n = int(value) if math.isfinite(value) else None
    else:
        m = _NUM_RE.match(str(value)) if len(str(value)) < 40 else None
        n = None
        if m:
            f = float(m.group(1)) * _MULT[m.group(2).lower()]
            n = int(f) if math.isfinite(f) else None
    if n is None or not 0 <= n <= MAX_COUNT:
        if str(value).strip():
            note("count", value)
        return None
    return n


def to_bool(value: Any) -> bool | None:
    if value is None or value == "":
        return None
    if isinstance(value, bool):
        return value
    if isinstance(value, (int, float)):
        return bool(value)
    return str(value).strip().lower() in TRUE_STRINGS


def to_iso(value: Any) -> str | None:
    """Unix seconds/milliseconds or a date string → ISO 8601 UTC; ``None`` (noted) if unreadable.

    Strings are tried with the formats of :func:`date_formats` first, then ISO 8601, then
    :data:`DATE_FORMATS`, then ``dd/mm/yyyy`` or ``mm/dd/yyyy`` when the numbers decide which.
    """
    if value is None or value == "":
        return None
    iso = _to_iso(value)
    if iso is None and str(value).strip():
        note("date", value)
    return iso


def _to_iso(value: Any) -> str | None:
    if isinstance(value, str) and _CANONICAL_ISO_RE.fullmatch(value) and not _date_formats.get():
        return _canonical_iso(value)
    if isinstance(value, str) and not _TIMESTAMP_RE.fullmatch(value):
        text = value.strip()
        dt = _parse_date(text)
        if dt is None:
            return None
        if dt.tzinfo is None:
            dt = dt.replace(tzinfo=UTC)
        try:
            return dt.astimezone(UTC).isoformat().replace("+00:00", "Z")
        except (OverflowError, ValueError):  # e.g. 9999-12-31T23:59:59-14:00 is past year 9999 in UTC
            return None
    try:
        ts = float(value)
    except (TypeError, ValueError, OverflowError):
        return None
    if ts > 1e11:  # milliseconds
        ts /= 1000
    try:
        return datetime.fromtimestamp(ts, tz=UTC).isoformat().replace("+00:00", "Z")
    except (OverflowError, OSError, ValueError):
        return None


def _parse_date(text: str) -> datetime | None:
    for fmt in _date_formats.get():
        try:
            return datetime.strptime(text, fmt)
        except ValueError:
            continue
    try:
        return datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        pass
    for fmt in DATE_FORMATS:
        try:
            return datetime.strptime(text, fmt)
        except ValueError:
            continue
    m = _SLASHED_RE.fullmatch(text)
    if m:
        a, b = int(m.group(1)), int(m.group(2))
        if (a > 12) == (b > 12):  # 06/04/2024: June 4 or 6 April? Only --date-format can say
            return None
        day, month = (a, b) if a > 12 else (b, a)
        clock = (m.group(4) or "").strip()
        try:
            return datetime.strptime(f"{m.group(3)}-{month:02d}-{day:02d} {clock or '00:00'}",
                                     "%Y-%m-%d %H:%M:%S" if clock.count(":") == 2 else "%Y-%m-%d %H:%M")
        except ValueError:
            return None
    return None


def _canonical_iso(value: str) -> str | None:
    """``value`` (``YYYY-MM-DDTHH:MM:SSZ``) itself when it is a valid date, else ``None``.

    The general path of :func:`to_iso` parses it as UTC and prints it back in the same form,
    so only the parse (which validates the date) is needed.
    """
    try:
        datetime.fromisoformat(value[:-1] + "+00:00")
    except ValueError:
        return None
    return value


def to_str(value: Any) -> str | None:
    if type(value) is str:  # the common case; the checks below are for other types
        return value if value.strip() else None
    if value is None:
        return None
    if isinstance(value, float) and value != value:  # NaN from pandas
        return None
    if isinstance(value, (dict, list)):
        return None
    text = str(value)
    return text if text.strip() else None


def to_list(value: Any, sep: str = ",") -> list[str]:
    """A list of strings from a list, a JSON list string, or a separated string."""
    if value is None or value == "":
        return []
    if isinstance(value, list):
        items = [fold_tag(str(v).strip().lstrip("#@")) for v in value if v is not None]
    else:
        text = str(value).strip()
        if text.startswith("["):
            try:
                return to_list(json.loads(text))
            except json.JSONDecodeError:
                text = text.strip("[]").replace("'", "")
        items = [fold_tag(t.strip().lstrip("#@")) for t in re.split(rf"[{re.escape(sep)}\s]+", text)]
    # Spreadsheet exports write 0/nan/None for "no value".
    return list(dict.fromkeys([t for t in items if t and t not in _EMPTY_TOKENS]))


def transcript_value(value: Any) -> str | None:
    """Transcript text; creator-caption JSON stored in a cell (``{"utterances": …}``) is unpacked."""
    text = to_str(value)
    if text and text.lstrip().startswith('{"utterances"'):
        try:
            data = json.loads(text)
            return " ".join(u.get("text", "").strip() for u in data.get("utterances", []) if isinstance(u, dict)) or None
        except json.JSONDecodeError:  # cells truncated by spreadsheet exports
            return " ".join(re.findall(r'"text":"((?:[^"\\]|\\.)*)","start_time"', text)) or None
    return text


def _obj(d: dict[str, Any], key: str) -> dict[str, Any]:
    """``d[key]`` if it is a JSON object, else an empty one (exports omit or null nested objects)."""
    value = d.get(key)
    return value if isinstance(value, dict) else {}


def from_research_api(v: dict[str, Any]) -> dict[str, Any]:
    """TikTok Research API video object (``/v2/research/video/query/``)."""
    rec = new_post()
    pid = v.get("id", v.get("video_id"))
    rec.update(
        post_id=None if pid is None else str(pid),
        actor=to_str(v.get("username")),
        created_at=to_iso(v.get("create_time")),
        caption=to_str(v.get("video_description")),
        transcript=to_str(v.get("voice_to_text")),
        hashtags=to_list(v.get("hashtag_names")),
        views=to_int(v.get("view_count")), likes=to_int(v.get("like_count")),
        shares=to_int(v.get("share_count")), comments=to_int(v.get("comment_count")),
        region=to_str(v.get("region_code")),
        music=None if v.get("music_id") is None else f"music_id:{v['music_id']}",
    )
    stickers = v.get("sticker_info_list") or []
    texts = [t for s in stickers if isinstance(s, dict) for t in (s.get("sticker_text") or []) if isinstance(t, str)]
    if texts:
        rec["on_screen_text"] = " | ".join(texts)
    if rec["transcript"]:
        rec["transcript_source"] = "research_api:voice_to_text"
    return rec


def from_tiktok_web_item(d: dict[str, Any]) -> dict[str, Any]:
    """TikTok's web ``itemStruct`` (what Zeeschuimer captures and 4CAT imports)."""
    rec = new_post()
    author = _obj(d, "author")
    stats = _obj(d, "stats")
    music = _obj(d, "music")
    extra = [t for t in d.get("textExtra") or [] if isinstance(t, dict)]
    tags = [t.get("hashtagName") for t in extra if t.get("hashtagName")]
    tags += [c.get("title") for c in d.get("challenges") or [] if isinstance(c, dict) and c.get("title")]
    mentions = [t.get("userUniqueId") for t in extra if t.get("userUniqueId")]
    stickers = [t for s in d.get("stickersOnItem") or [] if isinstance(s, dict)
                for t in s.get("stickerText") or [] if isinstance(t, str)]
    duet = (d.get("duetInfo") or {}).get("duetFromId") if isinstance(d.get("duetInfo"), dict) else None
    music_title = " - ".join(x for x in (to_str(music.get("title")), to_str(music.get("authorName"))) if x)
    rec.update(
        post_id=None if d.get("id") is None else str(d["id"]),
        actor=to_str(author.get("uniqueId") if author else d.get("author")),
        actor_name=to_str(author.get("nickname")) if author else None,
        created_at=to_iso(d.get("createTime")),
        caption=to_str(d.get("desc")),
        on_screen_text=" | ".join(stickers) or None,
        hashtags=to_list(tags), mentions=to_list(mentions),
        music=music_title or None,
        is_ad=to_bool(d.get("isAd")),
        paid_partnership=to_bool(d.get("isPaidPartnership") if "isPaidPartnership" in d else
                                 (d.get("commerceInfo") or {}).get("bc_label_test_text") if isinstance(d.get("commerceInfo"), dict) else None),
        views=to_int(stats.get("playCount")), likes=to_int(stats.get("diggCount")),
        shares=to_int(stats.get("shareCount")), comments=to_int(stats.get("commentCount")),
        duet_from=duet if duet and duet != "0" else None,
    )
    stitch = _obj(d, "stitchInfo")
    if stitch.get("stitchFromId") and stitch["stitchFromId"] != "0":
        rec["stitch_from"] = str(stitch["stitchFromId"])
    return rec


def from_ytdlp(d: dict[str, Any]) -> dict[str, Any]:
    """yt-dlp ``.info.json`` of a TikTok video."""
    rec = new_post()
    caption = to_str(d.get("description")) or to_str(d.get("title"))
    rec.update(
        post_id=None if d.get("id") is None else str(d["id"]),
        actor=to_str(d.get("uploader")) or to_str(d.get("channel")),
        actor_name=to_str(d.get("creator")) or to_str(d.get("channel")),
        created_at=to_iso(d.get("timestamp")) or to_iso(_yyyymmdd(d.get("upload_date"))),
        caption=caption,
        music=" - ".join(x for x in (to_str(d.get("track")), to_str(d.get("artist"))) if x) or None,
        views=to_int(d.get("view_count")), likes=to_int(d.get("like_count")),
        shares=to_int(d.get("repost_count")), comments=to_int(d.get("comment_count")),
    )
    return rec


def _yyyymmdd(value: Any) -> str | None:
    """yt-dlp's ``upload_date`` (``20240101``, text or number) as ``2024-01-01``."""
    text = str(value).strip() if value not in (None, "") else ""
    return f"{text[:4]}-{text[4:6]}-{text[6:8]}" if len(text) == 8 and text.isdigit() else (text or None)


def from_jp_collector(d: dict[str, Any]) -> dict[str, Any]:
    """The TikTok-Api fork's YouTube-Data-API-like records (``videoId``, ``channelId``, ``title`` …).

    ``challenges`` in this layout is a per-channel union, so only ``tags`` is used.
    """
    rec = new_post()
    rec.update(
        post_id=None if d.get("videoId") is None else str(d["videoId"]),
        actor=to_str(d.get("channelId")), actor_name=to_str(d.get("channelTitle")),
        created_at=to_iso(d.get("publishedDate") or d.get("published_utc")),
        caption=" ".join(x for x in (to_str(d.get("title")), to_str(d.get("description"))) if x) or None,
        hashtags=to_list(d.get("tags"), sep=" "),
        views=to_int(d.get("viewCount")), likes=to_int(d.get("likeCount")),
        shares=to_int(d.get("shareCount")), comments=to_int(d.get("commentCount")),
    )
    return rec


def dig(d: dict[str, Any], path: str) -> Any:
    """``d["a"]["b"]`` for ``"a.b"`` (``None`` when a step is missing); a flat key with the dot wins."""
    if path in d:
        return d[path]
    value: Any = d
    for step in path.replace("/", ".").split("."):
        if isinstance(value, dict):
            value = value.get(step)
        elif isinstance(value, list) and step.isdigit() and int(step) < len(value):
            value = value[int(step)]
        else:
            return None
    return value


def from_apify(d: dict[str, Any]) -> dict[str, Any]:
    """Apify TikTok Scraper (``clockworks/tiktok-scraper``) dataset item.

    Layout as in the actor's JSON output: ``id, text, createTimeISO, authorMeta{name, nickName},
    musicMeta{musicName, musicAuthor}, playCount, diggCount, shareCount, commentCount,
    hashtags[{name}], mentions, isAd, isSponsored, webVideoUrl, videoMeta{subtitleLinks}``.
    Subtitles are only links (they expire); download them and pass ``--transcripts``.
    """
    rec = new_post()
    author = _obj(d, "authorMeta")
    music = _obj(d, "musicMeta")
    tags = [t.get("name") if isinstance(t, dict) else t for t in d.get("hashtags") or []]
    mentions = d.get("mentions") or []
    music_title = " - ".join(x for x in (to_str(music.get("musicName")), to_str(music.get("musicAuthor"))) if x)
    rec.update(
        post_id=None if d.get("id") is None else str(d["id"]),
        actor=to_str(author.get("name")) or to_str(d.get("authorMeta.name")),
        actor_name=to_str(author.get("nickName")),
        created_at=to_iso(d.get("createTimeISO")) or to_iso(d.get("createTime")),
        caption=to_str(d.get("text")),
        hashtags=to_list([t for t in tags if t]),
        mentions=to_list([m for m in mentions if isinstance(m, str)]),
        music=music_title or None,
        is_ad=to_bool(d.get("isAd")),
        paid_partnership=to_bool(d.get("isSponsored")) if "isSponsored" in d else None,
        views=to_int(d.get("playCount")), likes=to_int(d.get("diggCount")),
        shares=to_int(d.get("shareCount")), comments=to_int(d.get("commentCount")),
    )
    return rec


#: Wrappers the unofficial web API (and TikTok-Api's ``as_dict``) put around web items.
_WEB_ITEM_LISTS = ("itemList", "item_list", "items", "aweme_list")


def web_items(obj: Any) -> list[dict[str, Any]]:
    """Raw web ``itemStruct`` dicts inside one parsed object: an item itself, an API page
    (``{"itemList": [...]}``), a video-detail page (``{"itemInfo": {"itemStruct": …}}``),
    the rehydration data (``__DEFAULT_SCOPE__``) or the older ``ItemModule`` dict of items."""
    if isinstance(obj, list):
        return [i for o in obj for i in web_items(o)]
    if not isinstance(obj, dict):
        return []
    if "desc" in obj and "createTime" in obj:
        return [obj]
    if isinstance(obj.get("itemInfo"), dict) and isinstance(obj["itemInfo"].get("itemStruct"), dict):
        return [obj["itemInfo"]["itemStruct"]]
    scope = obj.get("__DEFAULT_SCOPE__")
    if isinstance(scope, dict) and isinstance(scope.get("webapp.video-detail"), dict):
        return web_items(scope["webapp.video-detail"])
    if isinstance(obj.get("ItemModule"), dict):
        return [v for v in obj["ItemModule"].values() if isinstance(v, dict)]
    for key in _WEB_ITEM_LISTS:
        if isinstance(obj.get(key), list):
            return [i for i in obj[key] if isinstance(i, dict)]
    return []
