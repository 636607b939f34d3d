"""Files we recognise but cannot label (no post texts), and what to export instead.

Each check returns one sentence for :class:`pipeline.errors.InputFileError`, or ``None``.
"""

from __future__ import annotations

from typing import Any

#: Top-level sections of TikTok's personal "Download your data" JSON export (old and new names).
_PERSONAL_EXPORT_KEYS = {"Activity", "Your Activity", "Likes and Favorites", "Profile", "Video", "Post",
                         "Comment", "Direct Messages", "Ads and data", "App Settings", "Tiktok Live",
                         "TikTok Live", "Tiktok Shopping", "TikTok Shopping", "Income Plus Wallet Transactions"}

PERSONAL_EXPORT = ("this is a TikTok personal data export (\"Download your data\"), which has no post texts "
                   "(only dates and links of videos watched, liked or posted)")
PERSONAL_EXPORT_TODO = ("Collect the posts behind those links with the Research API, Zeeschuimer or pyktok "
                        "(pyktok.save_tiktok_multi_urls with metadata_fn) and label that export instead.")


def describe_json(obj: Any) -> tuple[str, str] | None:
    """``(what it is, what to do)`` for a known JSON file without posts, else ``None``."""
    if isinstance(obj, list):
        first = next((x for x in obj if isinstance(x, dict)), None)
        return describe_json(first) if first is not None else None
    if not isinstance(obj, dict):
        return None
    if len(obj) and set(obj) <= _PERSONAL_EXPORT_KEYS:
        return PERSONAL_EXPORT, PERSONAL_EXPORT_TODO
    data = obj.get("data")
    if isinstance(data, dict):
        if isinstance(data.get("comments"), list):
            return ("this is a TikTok Research API comment list, which has no post texts",
                    "Export the videos with the Research API video query (/v2/research/video/query/) instead.")
        if "follower_count" in data or "bio_description" in data:
            return ("this is a TikTok Research API user-info response, which has no post texts",
                    "Export the account's videos with the Research API video query instead.")
    if "cid" in obj and "aweme_id" in obj and "text" in obj:
        return ("this is a TikTok comment export (pyktok.save_video_comments or the web comment API), "
                "which has no post texts", "Export the videos' metadata (pyktok.save_tiktok with metadata_fn) instead.")
    return None


def describe_header(header: list[str]) -> tuple[str, str] | None:
    """``(what it is, what to do)`` for a known CSV layout without posts, else ``None``."""
    cols = set(header)
    if {"cid", "aweme_id", "text"} <= cols:
        return describe_json({"cid": 1, "aweme_id": 1, "text": 1})
    if {"Date", "Link"} <= cols and len(cols) <= 4:
        return PERSONAL_EXPORT, PERSONAL_EXPORT_TODO
    return None
