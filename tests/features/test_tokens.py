"""The regex tokenizer, its stable ids and whole-token cue phrases."""

from __future__ import annotations

import hashlib
import unicodedata

import pytest

from pipeline.features import tokens
from pipeline.features.cues import cues_key
from pipeline.features.tokens import (
    phrase_counts,
    regex_tokens,
    text_of,
    token_id,
    token_ids,
    tokenize,
    unicode_ranges,
)
from pipeline.features.unicode_classes import MARKS


def test_words_symbols_and_no_punctuation():
    assert tokenize("Happy weekend! #WrestleMania 🔥🇯🇵 @mention don't anti-war $5, 100%") == [
        "happy", "weekend", "wrestlemania", "🔥", "🇯", "🇵", "@mention", "don", "t", "anti", "war", "$", "5", "100"]


def test_combining_marks_stay_inside_their_word():
    # Devanagari vowel signs (Mc/Mn) are not \w: without the marks class "हिंदी" would split in three
    assert tokenize("हिंदी में समाचार। नेपाल") == ["हिंदी", "में", "समाचार", "नेपाल"]
    assert tokenize("Războiul din Ucraina") == ["războiul", "din", "ucraina"]
    assert tokenize("e\u0301te") == ["e\u0301te"]  # a decomposed accent


def test_emoji_modifiers_and_joiners():
    # a variation selector (Mn) alone is no token; a zero-width joiner (Cf) is dropped
    assert tokenize("❤️ 👩\u200d👧") == ["❤", "👩", "👧"]


def test_ids_are_stable_and_survive_a_cache_clear(monkeypatch):
    first = token_id("embassy")
    # BLAKE2b-64 of the UTF-8 bytes, little-endian: the same in every process and Python version
    assert first == int.from_bytes(hashlib.blake2b(b"embassy", digest_size=8).digest(), "little")
    monkeypatch.setattr(tokens, "CACHE_SIZE", 1)
    token_id("another")  # clears the full cache
    assert len(tokens._IDS) == 1
    assert token_id("embassy") == first
    assert text_of(first) == "embassy"
    assert token_ids(["embassy", "x"]).tolist() == [first, token_id("x")]


def test_phrases_match_whole_tokens_only():
    key = cues_key({"crisis_messaging": {"phrases": ["war", "state of emergency"], "substrings": []},
                    "trend_participation": {"phrases": ["dance challenge"], "substrings": []}})
    assert phrase_counts(tokenize("Software war: a STATE of emergency, war!"), key) == {"crisis_messaging": 3}
    assert phrase_counts(tokenize("the state of emergencies"), key) == {}
    assert phrase_counts(tokenize("join the #dance challenge"), key) == {"trend_participation": 1}
    ids, counts = regex_tokens(["war war", ""], key)
    assert counts == [{"crisis_messaging": 2}, {}] and len(ids[1]) == 0


@pytest.mark.skipif(unicodedata.unidata_version != "14.0.0", reason="the stored class is Unicode 14.0")
def test_stored_marks_class_is_unicode_14():
    rebuilt = "".join(f"\\u{a:04x}" if a == b else f"\\u{a:04x}-\\u{b:04x}"
                      for a, b in unicode_ranges(lambda c: c[0] == "M"))
    assert MARKS == rebuilt.encode().decode("unicode_escape")


def test_skipping_common_punctuation_in_the_regex_changes_no_token():
    """The tokenizer's regex skips common punctuation instead of matching and filtering it; on
    random text over letters, marks, punctuation, symbols, emoji and control characters it gives
    the tokens of the plain rule (any single non-space character, kept only if a word or symbol)."""
    import random
    import re

    from pipeline.features import tokens as T
    from pipeline.features.unicode_classes import MARKS

    plain = re.compile(rf"{re.escape(T.MENTION)}\b|[\w{MARKS}]+|[^\w\s]")

    def reference(text):
        return [t for t in plain.findall(text.lower()) if len(t) > 1 or t.isalnum() or t == "_" or T._is_symbol(t)]

    rng = random.Random(0)
    pool = [chr(c) for c in [*range(0x20, 0x250), *range(0x300, 0x370), *range(0x900, 0x980), *range(0x2000, 0x2070),
                             *range(0x3000, 0x3040), 0x1F600, 0x1F44D, 0x1F3FD, 0x200D, 0xFE0F, 0x0, 0x9, 0xA]]
    pool += list(" @mention ") * 5
    for _ in range(20000):
        text = "".join(rng.choice(pool) for _ in range(rng.randint(0, 30)))
        assert T.tokenize(text) == reference(text), text
