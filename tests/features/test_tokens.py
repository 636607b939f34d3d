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
