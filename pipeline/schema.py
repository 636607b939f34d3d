"""The canonical post record that flows between stages, written down once.

Readers produce records with :data:`POST_FIELDS`; cleaning adds :data:`CLEAN_FIELDS`;
the classifier adds :data:`PREDICTION_FIELDS`.  Stages add fields and never overwrite
the raw ``caption``/``transcript``/``on_screen_text`` as read from the export.
An annotated corpus is JSONL of post records plus ``labels`` (a list of label names).
"""

from __future__ import annotations

import tomllib
from functools import lru_cache
from typing import Any, TypedDict

from pipeline.config import CONFIG_DIR

#: Canonical post fields, in output order, with their Python types.
POST_FIELDS: dict[str, type | tuple[type, ...]] = {
    "post_id": str,
    "actor": str,
    "created_at": str,  # ISO 8601, UTC
    "caption": str,
    "transcript": str,
    "on_screen_text": str,
    "hashtags": list,
    "mentions": list,
    "music": str,
    "paid_partnership": bool,
    "is_ad": bool,
    "views": int,
    "likes": int,
    "shares": int,
    "comments": int,
    "language": str,
    "source_file": str,
    "source_line": int,
}

#: Extra metadata some readers know; kept when present.
EXTRA_FIELDS: dict[str, type | tuple[type, ...]] = {
    "actor_name": str,
    "region": str,
    "duet_from": str,
    "stitch_from": str,
    "transcript_source": str,
    "format": str,
}

#: Fields added by the cleaning stage.
CLEAN_FIELDS = ("caption_clean", "transcript_clean", "on_screen_text_clean", "emoji")

#: Fields added by the classifier.
PREDICTION_FIELDS = ("labels", "scores")

TEXT_FIELDS = ("caption", "transcript", "on_screen_text")


class Post(TypedDict, total=False):
    """A post record as it flows between stages (every field optional but ``post_id``).

    Readers fill the raw fields, :mod:`pipeline.clean` adds the ``*_clean`` fields and
    ``emoji``, language identification ``language``, the classifier ``labels`` and ``scores``
    (and ``explanations`` on request). Plain dicts at run time: the type is for readers of the code
    and for mypy.
    """

    post_id: str
    actor: str | None
    actor_name: str | None
    created_at: str | None
    caption: str | None
    transcript: str | None
    on_screen_text: str | None
    hashtags: list[str]
    mentions: list[str]
    music: str | None
    paid_partnership: bool | None
    is_ad: bool | None
    duet_from: str | None
    stitch_from: str | None
    views: int | None
    likes: int | None
    shares: int | None
    comments: int | None
    region: str | None
    language: str | None
    transcript_source: str | None
    format: str | None
    source_file: str
    source_line: int
    caption_clean: str
    transcript_clean: str
    on_screen_text_clean: str
    emoji: list[str]
    labels: list[str]
    scores: dict[str, float]
    explanations: dict[str, list[dict[str, Any]]]


@lru_cache(maxsize=1)
def labels() -> tuple[str, ...]:
    """The label names, in the order defined in ``configs/labels.toml``."""
    with open(CONFIG_DIR / "labels.toml", "rb") as fh:
        cfg = tomllib.load(fh)
    return tuple(entry["name"] for entry in cfg["label"])


def empty_post() -> dict[str, Any]:
    """A record with every canonical field set to its empty value."""
    rec: dict[str, Any] = {name: None for name in POST_FIELDS}
    rec["hashtags"] = []
    rec["mentions"] = []
    return rec


def fold_tag(tag: str) -> str:
    """A hashtag or handle case-folded, so that spellings of one tag count as one.

    ``str.lower`` turns the Turkish dotted capital ``İ`` into ``i`` plus a combining dot, so
    ``#SONDAKİKA`` and ``#sondakika`` would be two tags; here both are ``sondakika``. Full Unicode
    case folding (``ß`` → ``ss``) for the rest.
    """
    if tag.isascii():
        return tag.lower()
    return tag.replace("İ", "i").casefold().replace("i\u0307", "i")


def validate_post(rec: dict[str, Any]) -> str | None:
    """Return why ``rec`` is not a usable post record, or ``None`` if it is.

    A post needs an id and fields of the right types.  A missing actor, caption or any
    text at all is not an error: such posts are labelled from what they have (flags) and
    counted in one warning, so that per-actor totals stay complete.
    """
    pid = rec.get("post_id")
    if pid is None or (isinstance(pid, str) and not pid.strip()):
        return "missing post_id"
    for name, typ in POST_FIELDS.items():
        value = rec.get(name)
        if value is not None and not isinstance(value, typ):
            return f"field {name!r} must be {getattr(typ, '__name__', typ)}; got {type(value).__name__}"
    return None


def has_text(rec: dict[str, Any]) -> bool:
    """True when any of caption, transcript or on-screen text is non-empty."""
    return any(isinstance(rec.get(f), str) and rec[f].strip() for f in TEXT_FIELDS)


def validate_labels(value: Any) -> list[str]:
    """Check a ``labels`` value against the label set; return it as a sorted-by-config list.

    Raises
    ------
    ValueError
        If ``value`` is not a list of known label names.  The message names the closest
        valid label for a typo.
    """
    import difflib

    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise ValueError(f"labels must be a list of label names; got {value!r}")
    known = labels()
    for v in value:
        if v not in known:
            close = difflib.get_close_matches(v, known, n=1)
            hint = f" Did you mean {close[0]!r}?" if close else ""
            raise ValueError(f"unknown label {v!r}; valid labels: {', '.join(known)}.{hint}")
    return [name for name in known if name in value]
