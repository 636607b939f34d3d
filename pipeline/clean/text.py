"""Cleaning: small pure ``str -> str`` functions, one job each, composed by :func:`clean_text`.

Nothing here throws signal away: hashtags and mentions are extracted into their own
fields *and* stay readable in the text, emoji are kept (🇺🇦 matters) and listed, and the
raw text is kept beside the cleaned one by the caller.

Speed: cleaning runs once per post in the main process, so every step first checks, with a
cheap ``str`` method or ``in`` test, whether its regex *could* change the text, and returns
the text unchanged when it cannot.  Each gate's docstring says why skipping is exact; the
tests in ``tests/test_speed_ingest_clean.py`` check the gates against the ungated patterns.
"""

from __future__ import annotations

import re
import unicodedata
from typing import Any

import emoji as _emoji

from pipeline.schema import fold_tag

# Zero-width and bidi controls; ZWJ (U+200D) is kept because emoji sequences need it.
_INVISIBLE_CHARS = "\u200b\u200c\u200e\u200f\u2060\ufeff\u202a-\u202e\u2066-\u2069\u00ad"
_CONTROL_RE = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
# Lone surrogates and invisible characters are both deleted: one pass does both.
_DROP_RE = re.compile(f"[\ud800-\udfff{_INVISIBLE_CHARS}]")
_URL_RE = re.compile(r"(?:https?://|www\.)\S+|\b[\w-]+(?:\.[\w-]+)*\.(?:com|net|org|ro|jp|de|uk|io|ly|me|tv)(?:/\S*)?\b",
                     re.IGNORECASE)
# A substring every _URL_RE match contains ("://" or "www." or ".<tld>"), with the same flags.
_URL_HINT_RE = re.compile(r"://|www\.|\.(?:com|net|org|ro|jp|de|uk|io|ly|me|tv)", re.IGNORECASE)
_HASHTAG_RE = re.compile(r"[#＃]([^\s#＃@＠,.!?;:、。！？「」()（）\[\]\"']+)")
# Handles are ASCII; a mention may follow Japanese text directly ("さん@handle").
_MENTION_RE = re.compile(r"(?<![A-Za-z0-9_.])[@＠]([A-Za-z0-9_][A-Za-z0-9_.]{0,30}[A-Za-z0-9_]|[A-Za-z0-9_])")
_CAMEL_RE = re.compile(r"(?<=[a-z])(?=[A-Z])|(?<=[A-Z])(?=[A-Z][a-z])|(?<=[A-Za-z])(?=\d)|(?<=\d)(?=[A-Za-z])")
# Every _CAMEL_RE split point is next to an ASCII capital or a digit: without one, nothing splits.
_CAMEL_TRIGGER_RE = re.compile(r"[A-Z\d]")
# Markers speech recognition and subtitle tools put in transcripts: [Music], [Applause], (音楽) …
_ASR_MARKER_RE = re.compile(r"[\[(（【]\s*(?:music|applause|laughter|laughs|inaudible|silence|noise|音楽|拍手|笑|笑い|"
                            r"musique|musik|música|muzică|muzica|applaus|aplausos)\s*[\])）】]", re.IGNORECASE)
# Same result as collapsing every run of [ \t\u00a0\u3000]+ to one space, but a lone " " (the
# common case, which would be replaced by itself) is not a match, so typical text has few matches:
# a run is matched from its first character, either a space followed by more blanks or another blank.
_SPACE_RE = re.compile(r" [ \t\u00a0\u3000]+|[\t\u00a0\u3000][ \t\u00a0\u3000]*")
_NEWLINES_RE = re.compile(r"\s*\n\s*")
# Characters that only appear when UTF-8 was decoded as Latin-1/cp1252 (mojibake).
_MOJIBAKE_RE = re.compile("[ÃÂâ][\u0080-\u00bf€™œžŸ]|â€|Ã.")


def _nfkc(text: str) -> str:
    """NFKC form of ``text``; ASCII text is returned as it is (every ASCII character is NFKC-stable)."""
    return text if text.isascii() else unicodedata.normalize("NFKC", text)


def _has_mojibake(text: str) -> bool:
    """True when ``text`` looks like mis-decoded UTF-8; every match starts with ``Ã``, ``Â`` or ``â``."""
    return ("Ã" in text or "Â" in text or "â" in text) and _MOJIBAKE_RE.search(text) is not None


def fix_unicode(text: str) -> str:
    """Repair mojibake (only when the text looks broken: ftfy is slow) and NFKC-normalise.

    NFKC folds full-width ``＃`` / ``＠`` / Latin letters used in Japanese captions.
    """
    if _has_mojibake(text):
        import ftfy

        text = ftfy.fix_text(text)
    return _nfkc(text)


def remove_invisible(text: str) -> str:
    """Drop zero-width, bidi-control, C0 control characters and lone surrogates.

    Gate: every character removed or replaced here is in Unicode category Cc, Cf or Cs, which
    ``str.isprintable`` rejects, so printable text is returned unchanged.  The deletions and the
    control → space replacement touch disjoint single characters, so their order does not matter.
    """
    if text.isprintable():
        return text
    if not text.isascii():
        text = _DROP_RE.sub("", text)
    return _CONTROL_RE.sub(" ", text)


def remove_urls(text: str) -> str:
    """Remove URLs and bare web addresses.

    Gate: a URL match always contains ``://``, ``www.`` or ``.<tld>`` (so a ``:`` or a ``.``);
    the cheaper hint pattern (same flags) finds those, and the full pattern runs only when
    one is present.
    """
    if ("." not in text and ":" not in text) or _URL_HINT_RE.search(text) is None:
        return text
    return _URL_RE.sub(" ", text)


def remove_asr_markers(text: str) -> str:
    """Remove non-speech markers such as ``[Music]`` that subtitle tools insert.

    Gate: every marker starts with one of ``[ ( （ 【``.
    """
    if "[" not in text and "(" not in text and "（" not in text and "【" not in text:
        return text
    return _ASR_MARKER_RE.sub(" ", text)


def split_camel(tag: str) -> str:
    """``StandWithUkraine`` → ``Stand With Ukraine``; other scripts are returned as they are.

    Gate: a split point needs an ASCII capital or a digit next to it.
    """
    if _CAMEL_TRIGGER_RE.search(tag) is None:
        return tag
    return _CAMEL_RE.sub(" ", tag)


def readable_hashtags(text: str) -> str:
    """Turn ``#StandWithUkraine`` into ``StandWithUkraine Stand With Ukraine``.

    The joined form keeps the tag as one feature; the split words make it readable
    to word-level features.  Gate: a hashtag starts with ``#`` or ``＃``.

    ``_HASHTAG_RE.split`` gives ``[text, tag, text, tag, …, text]``; each ``#tag`` becomes
    ``" tag "`` (plus the split words).  When no tag can be split (the :func:`split_camel` gate,
    checked on all tags at once), that is simply the parts joined by spaces.
    """
    if "#" not in text and "＃" not in text:
        return text
    return _join_readable(_HASHTAG_RE.split(text))


def _tag_and_words(tag: str) -> str:
    words = split_camel(tag)
    return tag if words == tag else f"{tag} {words}"


def _join_readable(parts: list[str]) -> str:
    """:func:`readable_hashtags` from the ``_HASHTAG_RE.split`` of the text.

    Joining the parts with spaces turns each tag into ``" tag "``; a tag that splits into words
    is first replaced by ``"tag words"``.  Letters-only tags that lower-casing leaves unchanged
    (most tags) have no capital or digit, so they cannot split.
    """
    tags = parts[1::2]
    if _CAMEL_TRIGGER_RE.search("".join(tags)) is None:
        return " ".join(parts)
    parts = parts.copy()
    parts[1::2] = [tag if tag.isalpha() and tag.lower() == tag else _tag_and_words(tag) for tag in tags]
    return " ".join(parts)


def normalize_whitespace(text: str) -> str:
    """Collapse runs of spaces (incl. ideographic) and blank lines.

    Fast path: without newlines, tabs and non-ASCII spaces, the only runs to collapse are of
    plain spaces, which ``str.split(" ")`` finds; rejoining the non-empty pieces collapses the
    inner runs, and the leading/trailing ones it drops are removed by ``strip`` anyway.
    """
    if "\n" not in text and "\t" not in text and "\u00a0" not in text and "\u3000" not in text:
        return " ".join(filter(None, text.split(" "))).strip()
    text = _SPACE_RE.sub(" ", text)
    if "\n" in text:
        text = _NEWLINES_RE.sub("\n", text)
    return text.strip()


def _hashtags_in(visible: str) -> list[str]:
    """Hashtags of already normalised, invisible-free text (see :func:`extract_hashtags`)."""
    if "#" not in visible and "＃" not in visible:
        return []
    return _unique_lower(_HASHTAG_RE.findall(visible))


def _unique_lower(found: list[str]) -> list[str]:
    """Lower-cased, in order of first appearance."""
    return list(dict.fromkeys(map(fold_tag, found)))


def _mentions_in(normalized: str) -> list[str]:
    """Mentions of already NFKC-normalised text (see :func:`extract_mentions`)."""
    if "@" not in normalized and "＠" not in normalized:
        return []
    return _unique_lower(_MENTION_RE.findall(normalized))


def extract_hashtags(text: str) -> list[str]:
    """Hashtags in order of first appearance, lower-cased, without ``#``."""
    return _hashtags_in(remove_invisible(_nfkc(text)))


def extract_mentions(text: str) -> list[str]:
    """@handles in order of first appearance, lower-cased, without ``@``."""
    return _mentions_in(_nfkc(text))


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


def _clean_visible(text: str, transcript: bool) -> str:
    """The steps of :func:`clean_text` after Unicode repair and invisible-character removal."""
    text = remove_urls(text)
    if transcript:
        text = remove_asr_markers(text)
    return normalize_whitespace(readable_hashtags(text))


def _clean_visible_caption(visible: str) -> tuple[str, list[str]]:
    """``_clean_visible(visible, False)`` and the hashtags of ``visible``, splitting on tags once.

    When there is no URL to remove, the split's tags are exactly the hashtags of ``visible``.
    """
    text = remove_urls(visible)
    if "#" not in text and "＃" not in text:
        return normalize_whitespace(text), _hashtags_in(visible)
    parts = _HASHTAG_RE.split(text)
    tags = _unique_lower(parts[1::2]) if text == visible else _hashtags_in(visible)
    return normalize_whitespace(_join_readable(parts)), tags


def clean_text(text: str | None, *, transcript: bool = False) -> str:
    """The full cleaning pipeline for one caption, transcript or on-screen text."""
    if not text:
        return ""
    return _clean_visible(remove_invisible(fix_unicode(text)), transcript)


def _clean_caption(caption: str) -> tuple[str, list[str], list[str]]:
    """Cleaned caption, its hashtags and its mentions, normalising the caption only once.

    Same results as ``clean_text``, ``extract_hashtags`` and ``extract_mentions``: without
    mojibake, ``fix_unicode`` is plain NFKC, so all three start from the same normalised text.
    """
    if not caption:
        return "", [], []
    normalized = _nfkc(caption)
    visible = remove_invisible(normalized)
    if _has_mojibake(caption):  # rare: the cleaned text starts from the repaired caption
        cleaned, tags = clean_text(caption), _hashtags_in(visible)
    else:
        cleaned, tags = _clean_visible_caption(visible)
    return cleaned, tags, _mentions_in(normalized)


def _merged(given: Any, found: list[str]) -> list[Any]:
    """``given`` (a record's list, or nothing) followed by the ``found`` strings it lacks.

    Membership is tested with a set when every given item is hashable (a set and a list find
    the same equal items), else against the list itself.
    """
    merged = list(given or [])
    if not found:
        return merged
    known: set[Any] | None
    try:
        known = set(merged)
    except TypeError:
        known = None  # unhashable items: test against the list itself
    for item in found:
        if item not in (merged if known is None else known):
            merged.append(item)
            if known is not None:
                known.add(item)
    return merged


def _clean_tags(tags: list[Any]) -> list[str]:
    """Tags as text without invisible characters, case-folded (:func:`pipeline.schema.fold_tag`), each once, empty ones dropped.

    When the tags joined together are printable and already lower-case (the usual case), each
    tag is too, so ``remove_invisible`` and ``lower`` would return them unchanged.
    """
    texts = list(map(str, tags))
    joined = "".join(texts)
    if joined.isprintable() and fold_tag(joined) == joined:  # folding works per character
        return list(dict.fromkeys(s for s in texts if s.strip()))
    # folding can make two spellings one (SONDAKİKA, sondakika): keep the first
    return list(dict.fromkeys(fold_tag(remove_invisible(s)) for s in texts if s.strip()))


def clean_record(rec: dict[str, Any]) -> dict[str, Any]:
    """Add cleaned text fields, and hashtags/mentions/emoji found in the texts, to ``rec``."""
    caption = rec.get("caption") or ""
    on_screen = rec.get("on_screen_text") or ""
    rec["caption_clean"], found_tags, found_mentions = _clean_caption(caption)
    rec["transcript_clean"] = clean_text(rec.get("transcript"), transcript=True)
    rec["on_screen_text_clean"] = clean_text(on_screen)
    rec["hashtags"] = _clean_tags(_merged(rec.get("hashtags"), found_tags))
    rec["mentions"] = _merged(rec.get("mentions"), found_mentions)
    rec["emoji"] = [] if caption.isascii() and on_screen.isascii() else extract_emoji(caption + " " + on_screen)
    return rec
