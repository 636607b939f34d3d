"""Cleaning: small pure ``str -> str`` functions, one job each, composed by :func:`clean_text`.

Nothing here throws signal away: hashtags and mentions are extracted into their own
fields *and* stay readable in the text, emoji are kept (🇺🇦 matters) and listed, and the
raw text is kept beside the cleaned one by the caller.
"""

from __future__ import annotations

import re
import unicodedata
from typing import Any

import emoji as _emoji

# Zero-width and bidi controls; ZWJ (U+200D) is kept because emoji sequences need it.
_INVISIBLE_RE = re.compile("[\u200b\u200c\u200e\u200f\u2060\ufeff\u202a-\u202e\u2066-\u2069\u00ad]")
_CONTROL_RE = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
_SURROGATE_RE = re.compile("[\ud800-\udfff]")
_URL_RE = re.compile(r"(?:https?://|www\.)\S+|\b[\w-]+(?:\.[\w-]+)*\.(?:com|net|org|ro|jp|de|uk|io|ly|me|tv)(?:/\S*)?\b",
                     re.IGNORECASE)
_HASHTAG_RE = re.compile(r"[#＃]([^\s#＃@＠,.!?;:、。！？「」()（）\[\]\"']+)")
# Handles are ASCII; a mention may follow Japanese text directly ("さん@handle").
_MENTION_RE = re.compile(r"(?<![A-Za-z0-9_.])[@＠]([A-Za-z0-9_][A-Za-z0-9_.]{0,30}[A-Za-z0-9_]|[A-Za-z0-9_])")
_CAMEL_RE = re.compile(r"(?<=[a-z])(?=[A-Z])|(?<=[A-Z])(?=[A-Z][a-z])|(?<=[A-Za-z])(?=\d)|(?<=\d)(?=[A-Za-z])")
# Markers speech recognition and subtitle tools put in transcripts: [Music], [Applause], (音楽) …
_ASR_MARKER_RE = re.compile(r"[\[(（【]\s*(?:music|applause|laughter|laughs|inaudible|silence|noise|音楽|拍手|笑|笑い|"
                            r"musique|musik|música|muzică|muzica|applaus|aplausos)\s*[\])）】]", re.IGNORECASE)
_SPACE_RE = re.compile(r"[ \t\u00a0\u3000]+")
_NEWLINES_RE = re.compile(r"\s*\n\s*")
# Characters that only appear when UTF-8 was decoded as Latin-1/cp1252 (mojibake).
_MOJIBAKE_RE = re.compile("[ÃÂâ][\u0080-\u00bf€™œžŸ]|â€|Ã.")


def fix_unicode(text: str) -> str:
    """Repair mojibake (only when the text looks broken: ftfy is slow) and NFKC-normalise.

    NFKC folds full-width ``＃`` / ``＠`` / Latin letters used in Japanese captions.
    """
    if _MOJIBAKE_RE.search(text):
        import ftfy

        text = ftfy.fix_text(text)
    return unicodedata.normalize("NFKC", text)


def remove_invisible(text: str) -> str:
    """Drop zero-width, bidi-control, C0 control characters and lone surrogates."""
    text = _SURROGATE_RE.sub("", text)
    text = _CONTROL_RE.sub(" ", text)
    return _INVISIBLE_RE.sub("", text)


def remove_urls(text: str) -> str:
    """Remove URLs and bare web addresses."""
    return _URL_RE.sub(" ", text)


def remove_asr_markers(text: str) -> str:
    """Remove non-speech markers such as ``[Music]`` that subtitle tools insert."""
    return _ASR_MARKER_RE.sub(" ", text)


def split_camel(tag: str) -> str:
    """``StandWithUkraine`` → ``Stand With Ukraine``; other scripts are returned as they are."""
    return _CAMEL_RE.sub(" ", tag)


def readable_hashtags(text: str) -> str:
    """Turn ``#StandWithUkraine`` into ``StandWithUkraine Stand With Ukraine``.

    The joined form keeps the tag as one feature; the split words make it readable
    to word-level features.
    """

    def _sub(m: re.Match[str]) -> str:
        tag = m.group(1)
        words = split_camel(tag)
        return f" {tag} {words} " if words != tag else f" {tag} "

    return _HASHTAG_RE.sub(_sub, text)


def normalize_whitespace(text: str) -> str:
    """Collapse runs of spaces (incl. ideographic) and blank lines."""
    return _NEWLINES_RE.sub("\n", _SPACE_RE.sub(" ", text)).strip()


def extract_hashtags(text: str) -> list[str]:
    """Hashtags in order of first appearance, lower-cased, without ``#``."""
    seen: dict[str, None] = {}
    for m in _HASHTAG_RE.finditer(remove_invisible(unicodedata.normalize("NFKC", text))):
        seen.setdefault(m.group(1).lower(), None)
    return list(seen)


def extract_mentions(text: str) -> list[str]:
    """@handles in order of first appearance, lower-cased, without ``@``."""
    seen: dict[str, None] = {}
    for m in _MENTION_RE.finditer(unicodedata.normalize("NFKC", text)):
        seen.setdefault(m.group(1).lower(), None)
    return list(seen)


# Candidate emoji sequences: regional-indicator pairs (flags), or a pictographic/symbol code point
# with optional variation selector, skin tone, keycap, and ZWJ-joined parts.  Candidates are
# kept when the emoji package's table knows them; a C-level regex scan plus a set lookup is
# ~10x faster than emoji.emoji_list.
_EMOJI_CANDIDATE_RE = re.compile(
    "[\U0001F1E6-\U0001F1FF]{2}"
    "|[\u00a9\u00ae\u203c-\u2bff\u3030\u303d\u3297\u3299\U0001F000-\U0001FAFF]"
    "[\ufe0f\u20e3\U0001F3FB-\U0001F3FF]*"
    "(?:\u200d[\u2600-\u27bf\u2b00-\u2bff\U0001F000-\U0001FAFF][\ufe0f\U0001F3FB-\U0001F3FF]*)*")


def extract_emoji(text: str) -> list[str]:
    """Emoji (incl. flag and ZWJ sequences) in order of appearance."""
    if text.isascii():
        return []
    table = _emoji.EMOJI_DATA
    out = []
    for cand in _EMOJI_CANDIDATE_RE.findall(text):
        if cand in table or cand.rstrip("\ufe0f") in table:
            out.append(cand)
    return out


def clean_text(text: str | None, *, transcript: bool = False) -> str:
    """The full cleaning pipeline for one caption, transcript or on-screen text."""
    if not text:
        return ""
    text = remove_invisible(fix_unicode(text))
    text = remove_urls(text)
    if transcript:
        text = remove_asr_markers(text)
    text = readable_hashtags(text)
    return normalize_whitespace(text)


def clean_record(rec: dict[str, Any]) -> dict[str, Any]:
    """Add cleaned text fields, and hashtags/mentions/emoji found in the texts, to ``rec``."""
    caption = rec.get("caption") or ""
    on_screen = rec.get("on_screen_text") or ""
    rec["caption_clean"] = clean_text(caption)
    rec["transcript_clean"] = clean_text(rec.get("transcript"), transcript=True)
    rec["on_screen_text_clean"] = clean_text(on_screen)
    tags = list(rec.get("hashtags") or [])
    for t in extract_hashtags(caption):
        if t not in tags:
            tags.append(t)
    rec["hashtags"] = [remove_invisible(str(t)).lower() for t in tags if str(t).strip()]
    mentions = list(rec.get("mentions") or [])
    for m in extract_mentions(caption):
        if m not in mentions:
            mentions.append(m)
    rec["mentions"] = mentions
    rec["emoji"] = extract_emoji(caption + " " + on_screen)
    return rec
