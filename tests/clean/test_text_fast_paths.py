"""The gated, single-pass cleaning gives exactly what the plain step-by-step pipeline gives.

``_reference_*`` below is the cleaning as it was before the speed work: every regex on every
text, no gates.  The fast functions must agree with it on real corpus texts and on texts
mutated with the characters each gate is about.
"""

from __future__ import annotations

import random
import re
import sys
import unicodedata

import pytest

from pipeline.clean import text as C
from pipeline.schema import fold_tag

# --- the ungated reference --------------------------------------------------------------------
_SURROGATE_RE = re.compile("[\ud800-\udfff]")
_INVISIBLE_RE = re.compile("[\u200b\u200c\u200e\u200f\u2060\ufeff\u202a-\u202e\u2066-\u2069\u00ad]")
_SPACE_RE = re.compile(r"[ \t\u00a0\u3000]+")


def _reference_fix_unicode(text):
    if C._MOJIBAKE_RE.search(text):
        import ftfy

        text = ftfy.fix_text(text)
    return unicodedata.normalize("NFKC", text)


def _reference_remove_invisible(text):
    return _INVISIBLE_RE.sub("", C._CONTROL_RE.sub(" ", _SURROGATE_RE.sub("", text)))


def _reference_readable_hashtags(text):
    def sub(m):
        tag = m.group(1)
        words = C._CAMEL_RE.sub(" ", tag)
        return f" {tag} {words} " if words != tag else f" {tag} "

    return C._HASHTAG_RE.sub(sub, text)


def _reference_clean_text(text, transcript=False):
    if not text:
        return ""
    text = C._URL_RE.sub(" ", _reference_remove_invisible(_reference_fix_unicode(text)))
    if transcript:
        text = C._ASR_MARKER_RE.sub(" ", text)
    text = _reference_readable_hashtags(text)
    return C._NEWLINES_RE.sub("\n", _SPACE_RE.sub(" ", text)).strip()


def _reference_hashtags(text):
    found = C._HASHTAG_RE.finditer(_reference_remove_invisible(unicodedata.normalize("NFKC", text)))
    return list(dict.fromkeys(fold_tag(m.group(1)) for m in found))


def _reference_mentions(text):
    found = C._MENTION_RE.finditer(unicodedata.normalize("NFKC", text))
    return list(dict.fromkeys(fold_tag(m.group(1)) for m in found))


def _reference_clean_record(rec):
    caption = rec.get("caption") or ""
    on_screen = rec.get("on_screen_text") or ""
    rec["caption_clean"] = _reference_clean_text(caption)
    rec["transcript_clean"] = _reference_clean_text(rec.get("transcript"), transcript=True)
    rec["on_screen_text_clean"] = _reference_clean_text(on_screen)
    tags = list(rec.get("hashtags") or [])
    for t in _reference_hashtags(caption):
        if t not in tags:
            tags.append(t)
    rec["hashtags"] = list(dict.fromkeys(fold_tag(_reference_remove_invisible(str(t))) for t in tags if str(t).strip()))
    mentions = list(rec.get("mentions") or [])
    for m in _reference_mentions(caption):
        if m not in mentions:
            mentions.append(m)
    rec["mentions"] = mentions
    emoji_table = C._emoji.EMOJI_DATA
    rec["emoji"] = [c for c in C._EMOJI_CANDIDATE_RE.findall(caption + " " + on_screen)
                    if c in emoji_table or c.rstrip("\ufe0f") in emoji_table]
    return rec


# --- texts ------------------------------------------------------------------------------------
PALETTE = ["\u200b", "\u200d", "\u200e", "\u2066", "\u00ad", "\ufeff", "\x00", "\x0b", "\x1f", "\x7f", "\ud800",
           "\udc80", "\t", "\n", "\r", " ", "  ", "\u00a0", "\u3000", "\u2028", "\x85", "＃", "＠", "#", "@", "﹟",
           "．", "ＴｉｋＴｏｋ", "https://t.co/x", "HTTP://EX.com", "www.Example.COM/a", "foo.CoM", "x.\u212aK", "cafÃ©",
           "â€™", "Â", "[Music]", "( applause )", "（音楽）", "【拍手】", "CamelCase", "G7", "ABCDef", "x2y", "१२",
           "🇺🇦", "👨\u200d👩\u200d👧", "❤️", "1️⃣", "ſ", "İ", "Σ", "ﬁ", "①", "さん@handle", "##x", "#a#b",
           "#StandWithUkraine", "#fyp", "#日本", "#Ärger", "#ΣΟΦΙΑ", "e\u0301", "ﾊﾝｶｸ", "Ｇ７サミット", "、", "。", "(", "]"]


@pytest.fixture(scope="module")
def texts(corpus_records):
    rng = random.Random(11)
    base = [r[k] for r in corpus_records for k in ("caption", "transcript", "on_screen_text")
            if isinstance(r.get(k), str)]
    out = list(base)
    for _ in range(4000):
        chars = list(rng.choice(base)[:300])
        for _ in range(rng.randint(1, 6)):
            pos = rng.randint(0, len(chars))
            chars[pos:pos] = list(rng.choice(PALETTE))
        out.append("".join(chars))
    out += ["".join(rng.choice(PALETTE + ["a", "Z", "1", " "]) for _ in range(rng.randint(0, 20)))
            for _ in range(2000)]
    return out


def test_clean_text_and_extraction_match_the_ungated_pipeline(texts):
    for text in texts:
        assert C.clean_text(text) == _reference_clean_text(text), repr(text)
        assert C.clean_text(text, transcript=True) == _reference_clean_text(text, transcript=True), repr(text)
        assert C.extract_hashtags(text) == _reference_hashtags(text), repr(text)
        assert C.extract_mentions(text) == _reference_mentions(text), repr(text)
        assert C.remove_invisible(text) == _reference_remove_invisible(text), repr(text)
        assert C.fix_unicode(text) == _reference_fix_unicode(text), repr(text)


def test_clean_record_matches_the_ungated_pipeline(texts, corpus_records):
    rng = random.Random(5)
    records = [dict(r) for r in corpus_records]
    for _ in range(3000):
        rec = {k: rng.choice(texts) for k in ("caption", "transcript", "on_screen_text") if rng.random() < 0.7}
        if rng.random() < 0.5:
            rec["hashtags"] = [rng.choice(texts)[:15] for _ in range(rng.randint(0, 4))] + [3] * (rng.random() < 0.1)
        if rng.random() < 0.5:
            rec["mentions"] = [rng.choice(texts)[:10] for _ in range(rng.randint(0, 3))]
        records.append(rec)
    for rec in records:
        assert C.clean_record(dict(rec)) == _reference_clean_record(dict(rec)), repr(rec)


def test_gate_premises():
    """The facts the gates rely on, for this Python's Unicode tables."""
    removed = [chr(c) for c in [*range(0xD800, 0xE000), *range(0x00, 0x09), 0x0B, 0x0C, *range(0x0E, 0x20), 0x7F,
                                0x200B, 0x200C, 0x200E, 0x200F, 0x2060, 0xFEFF, *range(0x202A, 0x202F),
                                *range(0x2066, 0x206A), 0xAD]]
    assert not any(ch.isprintable() for ch in removed)  # remove_invisible's isprintable gate
    assert all(unicodedata.normalize("NFKC", chr(c)) == chr(c) for c in range(128))  # ASCII is NFKC-stable
    # lower() changes every character [A-Z] matches, and lowers each character on its own except
    # Σ (σ or ς by context, never Σ): so a joined string is unchanged iff each of its pieces is
    assert all(chr(c).lower() != chr(c) for c in range(ord("A"), ord("Z") + 1))
    chars = [chr(c) for c in range(sys.maxunicode + 1) if not 0xD800 <= c < 0xE000 and chr(c) != "Σ"]
    assert ("a" + "a".join(chars) + "a").lower() == "a" + "a".join(ch.lower() for ch in chars) + "a"
    assert "aΣ".lower() == "aς" and "Σa".lower() == "σa"
    assert sys.version_info >= (3, 11)  # possessive quantifiers in pipeline.clean.language


@pytest.mark.parametrize("text", ["a  b", " a ", "\ta\u3000b\u00a0 c", "   ", "", "a \n  b", "x\t\t", " \r\n y "])
def test_whitespace_fast_path_matches_the_regex(text):
    assert C.normalize_whitespace(text) == C._NEWLINES_RE.sub("\n", _SPACE_RE.sub(" ", text)).strip()
    assert C._SPACE_RE.sub(" ", text) == _SPACE_RE.sub(" ", text)
