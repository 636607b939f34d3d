"""Texts compared for coordination: normalised captions, on-screen text and transcripts, minus boilerplate.

Normalisation makes trivially different copies identical (Unicode width and case, URLs, spacing)
while keeping what carries a campaign's identity: hashtags and @mentions stay in the text.
Boilerplate is what many unrelated accounts post and would otherwise make huge meaningless
clusters: texts that are empty, only generic reach hashtags (:data:`REACH_HASHTAGS`: #fyp,
#foryou, #viral, #おすすめ …) or only punctuation and emoji; the reach hashtags themselves are
dropped from every text.  Texts shorter than a minimum length are left out by the caller.
"""

from __future__ import annotations

import logging
import re
import unicodedata
from collections.abc import Callable, Mapping
from typing import Any

log = logging.getLogger(__name__)

#: Generic "reach" hashtags that say nothing about the content (lower-case, without '#').
REACH_HASHTAGS = frozenset({
    "fyp", "fy", "fypシ", "fypシ゚viral", "foryou", "foryoupage", "foryourpage", "fypage", "fypp", "fypviral",
    "viral", "viralvideo", "viraltiktok", "tiktokviral", "trending", "trend", "tiktok", "xyzbca", "explore",
    "explorepage", "capcut", "parati", "paratii", "pourtoi", "perte", "fürdich", "foru", "4u", "4you",
    "おすすめ", "おすすめにのりたい", "おすすめのりたい", "バズれ", "バズりたい",
})
#: Text fields of a labelled post that coordination can compare.
TEXT_FIELDS = ("caption", "on_screen_text", "transcript")
_URL = re.compile(r"(?:https?://|www\.)\S+", re.IGNORECASE)
_TAG = re.compile(r"#([^\s#@]+)")
_WORD = re.compile(r"\w")


def _drop_reach(match: re.Match[str]) -> str:
    return " " if match.group(1).strip(".,!?;:") in REACH_HASHTAGS else match.group(0)


def normalise(text: Any) -> str | None:
    """The comparable form of a text.

    Returns ``None`` for a missing or blank text and ``""`` for boilerplate (only reach hashtags,
    URLs, punctuation or emoji); otherwise the NFKC, case-folded text without URLs and reach
    hashtags, with whitespace collapsed and hashtags/mentions kept.

    Examples
    --------
    >>> normalise("Join us!  #StandWithUkraine #FYP https://t.co/x")
    'join us! #standwithukraine'
    >>> normalise("#fyp #viral")
    ''
    """
    if text is None or not isinstance(text, str) or not text.strip():
        return None
    # the checks before each step skip work most texts do not need (a million texts at a time)
    t = text if text.isascii() else unicodedata.normalize("NFKC", text)
    t = t.casefold()
    if "http" in t or "www." in t:
        t = _URL.sub(" ", t)
    if "#" in t:
        t = _TAG.sub(_drop_reach, t)
    t = " ".join(t.split())
    return t if _WORD.search(t) else ""


def text_getter(field: str) -> Callable[[Mapping[str, Any]], str | None]:
    """A function of a labelled record returning its normalised ``field`` (for :func:`load_posts`)."""

    def get(rec: Mapping[str, Any]) -> str | None:
        return normalise(rec.get(field))

    return get
