"""The fast language-ID paths give exactly py3langid's answers and the plain detector's languages."""

from __future__ import annotations

import random

import numpy as np
import pytest

from pipeline.clean import language as L


@pytest.fixture(scope="module")
def stock():
    """py3langid's identifier as shipped (float16 table, per-text automaton walk)."""
    from py3langid.langid import MODEL_FILE, LanguageIdentifier

    return LanguageIdentifier.from_model_file(MODEL_FILE, norm_probs=True)


@pytest.fixture(scope="module")
def texts(corpus_records):
    rng = random.Random(2)
    base = [r[k] for r in corpus_records for k in ("caption", "transcript", "on_screen_text")
            if isinstance(r.get(k), str)]
    mixed = [" ".join(rng.choice(base)[:200] for _ in range(rng.randint(1, 5))) for _ in range(300)]
    odd = ["", " ", "!!!", "ÀÉÎÕÜ", "HELLO WORLD THIS IS LOUD", "a" * 5000, "\ud800 lone surrogate text here",
           "#fyp #viral", "https://example.com only a link here", "नेपालको चुनाव", "1234567890 12345"]
    return base + mixed + odd


def test_automaton_depends_on_the_last_window_bytes_only(stock):
    """What the vectorised walk relies on: for every byte string u of _WINDOW + 1 bytes, the state
    reached from the start by u equals the one reached by u without its first byte.

    Checked over all (state reached with an extra first byte, state reached without it) pairs:
    pairs that agree stay in agreement, so only disagreeing pairs are followed.
    """
    nextmove = np.frombuffer(stock.tk_nextmove, dtype=np.dtype(stock.tk_nextmove.typecode)).astype(np.int64)
    rowbase = np.asarray(stock._rowbase, dtype=np.int64)
    byte = np.arange(256)
    with_first = nextmove[rowbase[0] + byte]
    without = np.zeros(256, dtype=np.int64)
    for _ in range(L._WINDOW):
        differ = with_first != without
        pairs = np.unique(np.stack([with_first[differ], without[differ]], axis=1), axis=0)
        with_first = nextmove[(rowbase[pairs[:, 0]][:, None] + byte).ravel()]
        without = nextmove[(rowbase[pairs[:, 1]][:, None] + byte).ravel()]
    assert np.array_equal(with_first, without)


def test_batch_classification_is_py3langid_classify(stock, texts):
    got = L._classify_many(stock, texts)
    expected = [stock.classify(t) for t in texts]
    assert [(lang, repr(p)) for lang, p in got] == [(lang, repr(p)) for lang, p in expected]


def test_float32_table_gives_the_same_scores(stock, texts):
    fast = L._model()
    assert fast.nb_ptc.dtype == np.float32
    for text in texts:
        assert fast.rank(text) == stock.rank(text)


def test_restricted_identifier_scores_as_stock_and_keeps_no_full_table(texts):
    """The identifier for RULE's languages is built over the restricted table only; it ranks
    like a stock identifier restricted the same way, and holds no 142-language table."""
    from py3langid.langid import MODEL_FILE, LanguageIdentifier

    stock = LanguageIdentifier.from_model_file(MODEL_FILE, norm_probs=True)
    stock.set_languages(L.RULE.languages)
    fast = L._model(L.RULE.languages)
    assert fast.nb_ptc.dtype == np.float32
    assert fast._full_model[0].shape == stock.nb_ptc.shape and stock.nb_ptc.shape[1] < stock._full_model[0].shape[1]
    for text in texts:
        assert fast.rank(text) == stock.rank(text)
        assert fast.classify(text) == stock.classify(text)


def test_detect_languages_and_ensure_languages_match_one_by_one(texts, corpus_records):
    assert L.detect_languages(texts) == [L.detect_language(t) for t in texts]
    recs = [{k: v for k, v in r.items() if k != "language"} for r in corpus_records[:600]]
    recs[0]["language"] = "xx"  # a given language is kept
    L.ensure_languages(recs)
    assert recs[0]["language"] == "xx"
    assert [r["language"] for r in recs[1:]] == [L.record_language(r) for r in recs[1:]]


def test_letter_count_shortcut():
    assert L._ENOUGH_LETTERS_RE.match("a1 b2 c3 d4 e5 f6 g7 h8 i9 j0 k") is None  # 11 letters
    assert L._ENOUGH_LETTERS_RE.match("a1 b2 c3 d4 e5 f6 g7 h8 i9 j0 k_l") is not None  # 12
    assert L._ENOUGH_LETTERS_RE.match("１２３ 日本語の文章です。１２ 長い文章") is not None  # 12 letters, no ASCII


def test_short_english_caption_is_english_not_und():
    """Issue 19: short English Research API captions came out ``und`` (en 0.365 < 0.5)."""
    from pipeline.clean.language import PREVIOUS_RULE, detect_language

    text = "Tsunami Warning Issued After 7.4 Earthquake Strikes Taiwan"
    assert detect_language(text, PREVIOUS_RULE) == "und"
    assert detect_language(text) == "en"


def test_hashtag_only_posts_take_the_script_of_their_tags():
    from pipeline.clean.language import detect_language

    assert detect_language("#茨城県 #竜神大吊橋 #竜神バンジー") == "ja"
    assert detect_language("#6초챌린지 #쮀이호오오옵 #심심해서") == "ko"
    # the katakana smiley of #fypシ says nothing about the language; Latin tags say little either
    assert detect_language("#fyp #fypシ゚viral #trump") == "und"
    # words outside hashtags decide over the tags' script
    assert detect_language("Before you die. Sing a lullaby. #duet #新しい学校のリーダーズ") == "en"


def test_language_eval_gold_and_table_on_the_corpus():
    """bench/language_id_eval.py: the rule in use is at least as good as the previous one on every language."""
    import importlib.util
    import json
    from pathlib import Path

    from pipeline.clean.language import PREVIOUS_RULE, RULE, _record_text, detect_languages

    root = Path(__file__).resolve().parents[2]
    spec = importlib.util.spec_from_file_location("language_id_eval", root / "bench" / "language_id_eval.py")
    ev = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(ev)
    recs = [json.loads(line) for line in open(root / "corpora" / "diplomacy_strategies.jsonl", encoding="utf-8")]
    known = [(r, g) for r in recs if (g := ev.gold_language(r))]
    gold = [g for _, g in known]
    texts = [_record_text(r) for r, _ in known]
    old = {row[0]: row for row in ev.table(gold, detect_languages(texts, PREVIOUS_RULE))}
    new = {row[0]: row for row in ev.table(gold, detect_languages(texts, RULE))}
    assert set(gold) >= {"ja", "en", "ro", "ne", "ko"}
    for lang in ("en", "ro", "ja"):
        assert new[lang][3] > old[lang][3]  # recall up
        assert new[lang][2] >= 0.95  # precision stays high
