"""Post records → the columns the vectorisers read: token ids, texts, languages and metadata features.

:func:`featurise` is the whole step, with neither scikit-learn nor pandas imported, so
labelling can run it in a process that never imports them (:mod:`pipeline.model.predictor`);
:class:`pipeline.features.preprocess.PostPreprocessor` wraps it as a scikit-learn transformer
for training. spaCy is imported only by models that tokenize with it (``word_tokenizer="spacy"``).
"""

from __future__ import annotations

import logging
import re
import unicodedata
from collections.abc import Sequence
from functools import cache, lru_cache
from typing import Any

import numpy as np

from pipeline.clean.language import ensure_language
from pipeline.clean.text import clean_record
from pipeline.features.cues import _cues, substring_cues
from pipeline.features.registry import registry_features
from pipeline.features.tokens import regex_tokens, text_of, token_ids

log = logging.getLogger(__name__)

#: spaCy blank pipelines used for these languages; others share the multilingual ``xx`` tokenizer
#: (Japanese is segmented by SudachiPy). Building a language's tokenizer costs 0.1–0.4 s (its
#: exception tables compiled into regexes; French up to 2.3 s), paid by every run and every
#: worker, so only languages with enough posts in the corpus and real differences for
#: bag-of-words features (contractions, clitics, Devanagari punctuation) get their own.
SPACY_LANGS = frozenset({"en", "ro", "es", "ne", "hi"})
MAX_TRANSCRIPT_CHARS = 4000
# Handles become one placeholder token: the model should learn "tags an account", not who
# (the corpus pseudonymises private handles, so their spelling carries no signal anyway).
_MENTION_RE = re.compile(r"(?<![A-Za-z0-9_.])@[A-Za-z0-9_.]+")
_KANA_HAN_RE = re.compile("[\u3040-\u30ff\u4e00-\u9fff]")
MAX_TEXT_CHARS = 6000
_BUILT: dict[str, Any] = {}  # spaCy pipelines built in this process, for token_text()
_NO_TOKENS = np.zeros(0, dtype=np.uint64)
_SEP = "\x1f"  # joins Sudachi words for one lower() call
#: "original sound" as TikTok writes it in the interface languages of the bundled exports.
_ORIGINAL_SOUND_RE = re.compile(r"original sound|originalton|son original|sonido original|som original|suono originale|"
                                r"sunet original|orijinal ses|оригинальный звук|оригінальний звук|dźwięk oryginalny|"
                                r"オリジナル楽曲|원본 사운드|suara asli|âm thanh gốc|เสียงต้นฉบับ", re.IGNORECASE)
_ATTRS = ("LOWER", "IS_PUNCT", "IS_SPACE")


def spacy_pipeline(lang: str):
    """The blank spaCy pipeline that tokenizes ``lang`` (``xx`` unless in :data:`SPACY_LANGS`)."""
    return _blank(lang if lang in SPACY_LANGS else "xx")


@cache
def _blank(code: str):
    import spacy

    try:
        nlp = spacy.blank(code)
    except Exception as exc:  # a language whose extra dependencies are missing
        log.warning("spaCy blank(%r) unavailable (%s); using the multilingual tokenizer", code, exc)
        nlp = _blank("xx")
    _BUILT[code] = nlp
    return nlp


def cue_matcher(lang: str, key: str):
    """A PhraseMatcher on lower-cased tokens with one match id per label of table ``key``, for ``lang``."""
    return _cue_matcher(lang if lang in SPACY_LANGS else "xx", key)


@cache
def _cue_matcher(code: str, key: str):
    from spacy.matcher import PhraseMatcher  # spaCy is heavy; imported when posts are featurised

    nlp = _blank(code)
    matcher = PhraseMatcher(nlp.vocab, attr="LOWER")
    for label, entry in _cues(key).items():
        matcher.add(label, [nlp.make_doc(p) for p in entry.get("phrases", [])])
    return matcher


@lru_cache(maxsize=1)
def sudachi_tokenizer() -> tuple[Any, frozenset[int], frozenset[int]]:
    """SudachiPy with its bundled core dictionary in split mode A (as spaCy's ``ja`` uses it).

    Returns the tokenizer, the part-of-speech ids to skip (symbols, punctuation, blanks) and
    the ids of person names (人名). Called directly because spaCy's ``ja`` wrapper also
    computes tags, readings and lemmas per token, ~4x slower than what these features need.
    """
    from sudachipy import Dictionary, SplitMode

    dic = Dictionary()
    skip, person = set(), set()
    for pos_id in range(dic.pos_count if hasattr(dic, "pos_count") else 10_000):
        try:
            pos = dic.pos_of(pos_id)
        except (IndexError, ValueError, OverflowError):
            break
        if pos is None:
            break
        if pos[0] in ("補助記号", "空白"):
            skip.add(pos_id)
        elif pos[2] == "人名":
            person.add(pos_id)
    return dic.tokenizer(mode=SplitMode.A), frozenset(skip), frozenset(person)


def _token_ids(doc) -> np.ndarray:
    """``LOWER`` hashes of the tokens of ``doc`` that are neither space nor punctuation."""
    a = doc.to_array(_ATTRS)
    return np.ascontiguousarray(a[(a[:, 1] == 0) & (a[:, 2] == 0), 0]) if len(a) else _NO_TOKENS


def _tokens_ja(texts: Sequence[str], ids: str = "spacy") -> tuple[list[np.ndarray], list[dict[str, int]]]:
    """Sudachi word segmentation: token ids and a ``person_name`` count per text.

    Ids are those of the other languages' tokens: spaCy string hashes of the lower-cased words
    (``ids="spacy"``, as ``LOWER`` gives them) or :func:`pipeline.features.tokens.token_ids`.
    A named person (a celebrity in a hashtag, "光永さん") is how Japanese posts show a guest
    carrying an organisation's message. Japanese cue words are matched as substrings (cues.toml).
    """
    tok, skip, person = sudachi_tokenizer()
    add = spacy_pipeline("xx").vocab.strings.add if ids == "spacy" else None  # spaCy's "ja" would load a second Sudachi
    out, cues = [], []
    for text in texts:
        words, names = [], 0
        for m in tok.tokenize(text[:MAX_TEXT_CHARS]) if text else ():
            pos = m.part_of_speech_id()
            if pos in skip:
                continue
            if pos in person:
                names += 1
            words.append(m.surface())
        if words:
            # one lower() over the joined words instead of one per word (~10 µs per post less);
            # a text holding the separator itself is lower-cased word by word
            lowered = (_SEP.join(words).lower().split(_SEP) if _SEP not in text
                       else [w.lower() for w in words])
            out.append(np.fromiter(map(add, lowered), dtype=np.uint64, count=len(words)) if add is not None
                       else token_ids(lowered))
        else:
            out.append(_NO_TOKENS)
        cues.append({"person_name": names} if names else {})
    return out, cues


def _tokens(texts: Sequence[str], lang: str, japanese: str = "sudachi", cues: str = "{}",
            words: str = "spacy") -> tuple[list[np.ndarray], list[dict[str, int]]]:
    """Token ids (lower-cased, no spaces or punctuation) and per-label cue counts for texts in one language.

    ``japanese="multilingual"`` tokenizes Japanese like any other language without its own
    pipeline (spaCy's ``xx``: splits at spaces and punctuation only), instead of SudachiPy.
    ``words="regex"`` tokenizes every other language with :mod:`pipeline.features.tokens`
    instead of spaCy's tokenizer and ``PhraseMatcher``.
    """
    if lang == "ja" and japanese == "sudachi":
        return _tokens_ja(texts, "spacy" if words == "spacy" else "hash")
    if words == "regex":
        return regex_tokens(texts, cues)
    nlp = spacy_pipeline(lang)
    matcher = cue_matcher(lang, cues)
    strings = nlp.vocab.strings
    ids: list[np.ndarray] = []
    counts_per_text: list[dict[str, int]] = []
    for doc in nlp.tokenizer.pipe(texts, batch_size=256):
        ids.append(_token_ids(doc))
        counts: dict[str, int] = {}
        for match_id, _, _ in matcher(doc):
            name = strings[match_id]
            counts[name] = counts.get(name, 0) + 1
        counts_per_text.append(counts)
    return ids, counts_per_text


def token_text(token_id: int) -> str:
    """The text of a token id (a spaCy ``LOWER`` hash or a :mod:`pipeline.features.tokens` id) seen in this process."""
    text = text_of(token_id)
    if text is not None:
        return text
    for nlp in _BUILT.values():
        if token_id in nlp.vocab.strings:
            return nlp.vocab.strings[token_id]
    return f"#{token_id:016x}"


def _ensure_clean(rec: dict[str, Any]) -> dict[str, Any]:
    if "caption_clean" not in rec:
        rec = clean_record(dict(rec))
    if not rec.get("language"):
        rec = ensure_language(dict(rec))  # never mutate the caller's record
    return rec


def _meta(rec: dict[str, Any]) -> dict[str, float]:
    m: dict[str, float] = {}
    if rec.get("paid_partnership"):
        m["flag=paid_partnership"] = 1.0
    if rec.get("is_ad"):
        m["flag=is_ad"] = 1.0
    if rec.get("duet_from"):
        m["flag=duet"] = 1.0
    if rec.get("stitch_from"):
        m["flag=stitch"] = 1.0
    n_mentions = len(rec.get("mentions") or [])
    if n_mentions:
        m["has_mentions"] = 1.0
        m["n_mentions"] = float(min(n_mentions, 5)) / 5
    n_tags = len(rec.get("hashtags") or [])
    m["n_hashtags"] = float(min(n_tags, 20)) / 20
    music = rec.get("music")
    # The guidelines read sound fields: a named track (not the poster's own audio) is how
    # trending sounds show in exports. A bare Research API "music_id:…" says nothing about the
    # sound; as a feature it only marked which export a post came from (the first model
    # learned "music id → not influencer"), so it is left out.
    if isinstance(music, str) and music.strip() and not music.startswith("music_id:"):
        m["music=original" if _ORIGINAL_SOUND_RE.search(music) else "music=track"] = 1.0
    if rec.get("transcript_clean"):
        m["has_transcript"] = 1.0
    if not (rec.get("caption_clean") or rec.get("transcript_clean")) and rec.get("on_screen_text_clean"):
        m["only_on_screen_text"] = 1.0
    for e in rec.get("emoji") or []:
        m[f"emoji={e}"] = 1.0
    return m


#: Word tokenizers for Japanese (``japanese_tokenizer``): SudachiPy word segmentation with
#: person names, or spaCy's multilingual tokenizer (no segmentation; character n-grams then
#: carry the words).
JAPANESE_TOKENIZERS = ("sudachi", "multilingual")
#: Word tokenizers for every other language (``word_tokenizer``): spaCy's rule-based tokenizer
#: per language with a ``PhraseMatcher`` for cue phrases (models trained before issue 16), or
#: one regular expression for all (:mod:`pipeline.features.tokens`; ~10x faster, no spaCy import).
WORD_TOKENIZERS = ("spacy", "regex")


def _add_cues(meta: dict[str, float], prefix: str, counts: dict[str, int]) -> None:
    """Cue counts as features ``prefix=label``, saturating at 3 matches."""
    for label, c in counts.items():
        meta[f"{prefix}={label}"] = min(c, 3) / 3


def featurise(records: Sequence[dict[str, Any]], *, cues_key: str, registry_key: str = "{}",
              max_transcript_chars: int = MAX_TRANSCRIPT_CHARS, japanese: str = "sudachi",
              word_tokenizer: str = "spacy", cue_boundaries: bool = True,
              cue_detail: bool = False) -> dict[str, list[Any]]:
    """The feature columns of post records: ``words``, ``transcript_words`` (uint64 token-id arrays),
    ``chars`` (lower-cased caption + on-screen text), ``lang`` and ``meta`` (name → value).

    ``cues_key`` and ``registry_key`` are the canonical JSON of the model's cue table and registries
    (:func:`pipeline.features.cues.cues_key`, :func:`pipeline.features.registry.registry_key`).
    ``cue_detail`` adds a feature per substring cue found in caption and on-screen text
    (``cue:dance``) besides the per-label counts. Records are cleaned and language-tagged first
    when they are not yet (never in place).
    """
    if japanese not in JAPANESE_TOKENIZERS:
        raise ValueError(f"japanese_tokenizer must be one of {', '.join(JAPANESE_TOKENIZERS)}. "
                         f"Got {japanese!r} instead.")
    if word_tokenizer not in WORD_TOKENIZERS:
        raise ValueError(f"word_tokenizer must be one of {', '.join(WORD_TOKENIZERS)}. Got {word_tokenizer!r} instead.")
    key, reg_key, bounds, word_tok = cues_key, registry_key, cue_boundaries, word_tokenizer
    recs = [_ensure_clean(r) for r in records]
    n = len(recs)
    words, twords, chars, langs = [_NO_TOKENS] * n, [_NO_TOKENS] * n, [""] * n, [""] * n
    metas = [_meta(r) for r in recs]
    by_lang: dict[str, list[int]] = {}
    for i, r in enumerate(recs):
        lang = r.get("language") or "und"
        if lang == "und" and _KANA_HAN_RE.search(r.get("caption_clean") or ""):
            lang = "ja"  # hashtag-only Japanese captions still need word segmentation
        by_lang.setdefault(lang, []).append(i)
    for lang, idx in by_lang.items():
        texts = [_MENTION_RE.sub(" @mention ", " \n ".join(
            x for x in (recs[i].get("caption_clean"), recs[i].get("on_screen_text_clean")) if x)[:MAX_TEXT_CHARS])
            for i in idx]
        toks, cues = _tokens(texts, lang, japanese, key, word_tok)
        tr_texts = [_MENTION_RE.sub(" @mention ", (recs[i].get("transcript_clean") or "")[: max_transcript_chars])
                    for i in idx]
        with_tr = [j for j, t in enumerate(tr_texts) if t]  # most posts have none: skip the tokenizer call
        tr_toks, tr_cues = _tokens([tr_texts[j] for j in with_tr], lang, japanese, key, word_tok)
        for k, j in enumerate(with_tr):
            i = idx[j]
            twords[i] = tr_toks[k]
            _add_cues(metas[i], "cue_transcript", tr_cues[k])
            _add_cues(metas[i], "cue_sub_transcript", substring_cues(tr_texts[j].lower(), key, bounds))
        for j, i in enumerate(idx):
            words[i], chars[i], langs[i] = toks[j], texts[j].lower(), lang
            _add_cues(metas[i], "cue_text", cues[j])
            # raw text: cleaning turns "#PR" into "PR", but the hashtag form is the cue
            raw = " ".join(x for x in (recs[i].get("caption"), recs[i].get("on_screen_text")) if isinstance(x, str))
            if raw:
                raw = unicodedata.normalize("NFKC", raw[:MAX_TEXT_CHARS]).lower()
                hits: dict[str, int] | None = {} if cue_detail else None
                _add_cues(metas[i], "cue_sub_text", substring_cues(raw, key, bounds, hits))
                for cue, c in (hits or {}).items():  # each cue its own feature: its weight is learned
                    metas[i][f"cue:{cue}"] = min(c, 3) / 3
            if reg_key != "{}":
                metas[i].update(registry_features(recs[i], raw, reg_key))
    return {"words": words, "transcript_words": twords, "chars": chars, "lang": langs, "meta": metas}
