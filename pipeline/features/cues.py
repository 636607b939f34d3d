"""Substring cues: the cue table, and matching it with word boundaries where the script has spaces.

Substring cues catch cue words inside compound hashtags and unsegmented text (#ONchallenge,
#ブタキムポンポンチャレンジ). In scripts written with spaces, matching anywhere fired on other
words ("challenge" inside "Challenger", "war" inside "software", "#ad" inside "#adidas"), so
there a cue counts only as a word of its own:

- it starts at a word start (after a non-letter, or anywhere inside a hashtag when it is longer
  than four characters: hashtags are compounds);
- it ends at a word end, or with a plural ``s``/``es`` — unless it is written with a trailing
  ``*`` in ``configs/cues.toml`` (a stem: ``evacu*`` matches "evacuation", "evacuate"), or it
  lies inside a hashtag (``#dancechallenge2024``), or its script attaches case endings and
  postpositions to words (Devanagari, Hangul: only the start is checked).

Cues in scripts without spaces (Japanese, Chinese, Thai) match anywhere, as before.
"""

from __future__ import annotations

import json
import tomllib
import unicodedata
from functools import lru_cache
from pathlib import Path
from typing import Any

from pipeline.config import CONFIG_DIR

#: scripts whose words end where a space or punctuation starts (others attach endings)
_END_CHECKED = ("LATIN", "CYRILLIC", "GREEK")
_NO_SPACE_SCRIPTS = ("CJK", "HIRAGANA", "KATAKANA", "THAI", "LAO", "KHMER", "MYANMAR", "TIBETAN")
_HASHTAG_LOOKBACK = 80


def config_cues(path: Path | None = None) -> dict[str, dict[str, list[str]]]:
    """The cue table of ``configs/cues.toml`` (or ``path``): per label, ``phrases`` and ``substrings``.

    Read only when a model is fitted: the model keeps its own copy (:attr:`PostPreprocessor.cues_`),
    so editing the file later changes no prediction of a trained model.
    """
    with open(path or CONFIG_DIR / "cues.toml", "rb") as fh:
        cfg = tomllib.load(fh)
    return {str(label): {"phrases": [str(p) for p in v.get("phrases", [])],
                         "substrings": [str(x) for x in v.get("substrings", [])]}
            for label, v in cfg.items() if isinstance(v, dict)}


def cues_key(cues: dict[str, dict[str, list[str]]]) -> str:
    """A canonical JSON string of a cue table: the cache key of its matchers."""
    return json.dumps(cues, sort_keys=True, ensure_ascii=False)


@lru_cache(maxsize=8)
def _cues(key: str) -> dict[str, dict[str, list[str]]]:
    return json.loads(key)


def is_word_char(c: str) -> bool:
    """Letters, marks and digits (and ``_``) continue a word; everything else ends it."""
    return c == "_" or unicodedata.category(c)[0] in "LMN"


def _script(c: str) -> str:
    name = unicodedata.name(c, "")
    return name.split(" ", 1)[0] if name else ""


def cue_kind(cue: str) -> tuple[str, bool]:
    """How a cue is matched: ``(mode, stem)`` with mode ``"anywhere"`` (scripts without spaces),
    ``"start"`` (only the word start is checked) or ``"word"`` (start and end), and whether the cue
    was written as a stem (trailing ``*``)."""
    stem = cue.endswith("*")
    body = cue.rstrip("*")
    letters = [c for c in body if unicodedata.category(c)[0] == "L"]
    if any(_script(c).startswith(_NO_SPACE_SCRIPTS) for c in letters):
        return "anywhere", stem
    if letters and all(_script(c) in _END_CHECKED for c in letters):
        return "word", stem
    return "start", stem


def _in_hashtag(text: str, start: int) -> bool:
    """Whether position ``start`` lies inside a ``#hashtag`` (the word it is in starts with #)."""
    i = start
    stop = max(0, start - _HASHTAG_LOOKBACK)
    while i > stop:
        c = text[i - 1]
        if c == "#":
            return True
        if not is_word_char(c):
            return False
        i -= 1
    return text[i:i + 1] == "#" if i < start else False


def _ends_word(text: str, end: int) -> bool:
    """``text[:end]`` ends a word, allowing a plural ``s``/``es``."""
    for suffix in ("", "s", "es"):
        j = end + len(suffix)
        if text[end:j] == suffix and (j >= len(text) or not is_word_char(text[j])):
            return True
    return False


def cue_hit(text: str, start: int, end: int, mode: str, stem: bool, short: bool) -> bool:
    """Whether the cue found at ``text[start:end]`` counts under its matching ``mode``."""
    if mode == "anywhere":
        return True
    at_start = start == 0 or not is_word_char(text[start]) or not is_word_char(text[start - 1])
    in_tag = None
    if not at_start:
        if short:  # "war" inside "#stopwar" or "software": too many other words hold it
            return False
        in_tag = _in_hashtag(text, start)
        if not in_tag:
            return False
    if mode == "start" or stem or not is_word_char(text[end - 1]) or _ends_word(text, end):
        return True
    return _in_hashtag(text, start) if in_tag is None else in_tag


@lru_cache(maxsize=16)
def cue_automata(key: str, boundaries: bool = True) -> dict[str, Any]:
    """One Aho-Corasick automaton per label over the lower-cased substring cues of the table ``key``.

    One pass over the text finds every cue (a regex alternation of ~40 cues per label cost
    ~30 µs per caption, more than tokenising it). Each cue stores its length and how it is
    matched (:func:`cue_kind`). ``boundaries=False`` is the earlier rule, kept to measure the
    change: a cue counts anywhere, short Latin cues (≤ 4 characters) only at a word start.
    """
    import ahocorasick  # C extension; only needed when posts are featurised

    out = {}
    for label, entry in _cues(key).items():
        subs = {s.lower() for s in entry.get("substrings", [])}
        if not subs:
            continue
        auto = ahocorasick.Automaton()
        for s in subs:
            body = s.rstrip("*") or s
            if boundaries:
                mode, stem = cue_kind(s)
            else:
                mode, stem = ("start" if body.isascii() and body[:1].isalnum() and len(body) <= 4 else "anywhere"), True
            auto.add_word(body, (len(body), mode, stem, len(body) <= 4, body))
        auto.make_automaton()
        out[label] = auto
    return out


def substring_cues(text: str, key: str, boundaries: bool = True, hits: dict[str, int] | None = None) -> dict[str, int]:
    """Per-label count of substring cues of table ``key`` in lower-cased ``text`` (leftmost-longest);
    with ``hits``, also counts each cue that counted there (``hits[cue] += 1``)."""
    out = {}
    for label, auto in cue_automata(key, boundaries).items():
        n = 0
        for end, (length, mode, stem, short, body) in auto.iter_long(text):
            if cue_hit(text, end - length + 1, end + 1, mode, stem, short):
                n += 1
                if hits is not None:
                    hits[body] = hits.get(body, 0) + 1
        if n:
            out[label] = n
    return out
