"""Text and metadata features: spaCy tokenisation per language, cue phrases, metadata flags.

:class:`PostPreprocessor` turns post records into the columns the vectorisers read; it is
a stateless scikit-learn transformer, so it pickles small (spaCy pipelines are rebuilt
lazily per process, never pickled).
"""

from __future__ import annotations

import logging
import re
import tomllib
import unicodedata
from collections.abc import Sequence
from functools import lru_cache
from typing import Any

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, TransformerMixin

from .clean import clean_record
from .language import ensure_language
from .schema import CONFIG_DIR, labels

log = logging.getLogger(__name__)

#: spaCy blank pipelines used for these languages; others use the multilingual ``xx`` tokenizer.
#: French, Indonesian, Malay and Dutch are left to ``xx``: building their tokenizers takes 0.3–2.3 s
#: each (large exception tables compiled into regexes), paid by every run and every worker, for
#: differences (elisions, abbreviations) that matter little to bag-of-words features.
SPACY_LANGS = frozenset({"ja", "en", "ro", "ne", "hi", "tr", "es", "pt", "de", "pl", "it",
                         "ru", "uk", "ar", "he", "fa", "tl", "az"})
MAX_TRANSCRIPT_CHARS = 4000
# Handles become one placeholder token: the model should learn "tags an account", not who
# (the corpus pseudonymises private handles, so their spelling carries no signal anyway).
_MENTION_RE = re.compile(r"(?<![A-Za-z0-9_.])@[A-Za-z0-9_.]+")
_KANA_HAN_RE = re.compile("[\u3040-\u30ff\u4e00-\u9fff]")
MAX_TEXT_CHARS = 6000


@lru_cache(maxsize=None)
def spacy_pipeline(lang: str):
    """A blank spaCy pipeline for ``lang`` (``ja`` uses SudachiPy with its bundled dictionary)."""
    import spacy

    code = lang if lang in SPACY_LANGS else "xx"
    try:
        return spacy.blank(code)
    except Exception as exc:  # a language whose extra dependencies are missing
        log.warning("spaCy blank(%r) unavailable (%s); using the multilingual tokenizer", code, exc)
        return spacy.blank("xx")


@lru_cache(maxsize=1)
def _cues_config() -> dict[str, Any]:
    with open(CONFIG_DIR / "cues.toml", "rb") as fh:
        return tomllib.load(fh)


def cue_phrases() -> dict[str, list[str]]:
    cfg = _cues_config()
    return {label: list(cfg.get(label, {}).get("phrases", [])) for label in labels()}


@lru_cache(maxsize=1)
def cue_substring_patterns() -> dict[str, re.Pattern[str]]:
    """One compiled regex per label over its substring cues (short Latin cues such as "war" anchored at a word start)."""
    cfg = _cues_config()
    out = {}
    for label in labels():
        subs = cfg.get(label, {}).get("substrings", [])
        parts = [(r"(?<![a-z0-9])" if s.isascii() and s[:1].isalnum() and len(s) <= 4 else "") + re.escape(s.lower())
                 for s in sorted(subs, key=len, reverse=True)]
        if parts:
            out[label] = re.compile("|".join(parts))
    return out


def substring_cues(text: str) -> dict[str, int]:
    """Per-label count of substring cues in lower-cased ``text``."""
    return {label: n for label, pat in cue_substring_patterns().items() if (n := len(pat.findall(text)))}


@lru_cache(maxsize=None)
def cue_matcher(lang: str):
    """A PhraseMatcher on lower-cased tokens with one match id per label."""
    from spacy.matcher import PhraseMatcher

    nlp = spacy_pipeline(lang)
    matcher = PhraseMatcher(nlp.vocab, attr="LOWER")
    for label, phrases in cue_phrases().items():
        matcher.add(label, [nlp.make_doc(p) for p in phrases])
    return matcher


@lru_cache(maxsize=1)
def sudachi_tokenizer():
    """SudachiPy with its bundled core dictionary, in split mode A as spaCy's ``ja`` uses it.

    Called directly because spaCy's ``ja`` wrapper also computes tags, readings and lemmas
    per token, which makes it ~4x slower than the segmentation these features need.
    """
    from sudachipy import Dictionary, SplitMode

    return Dictionary().tokenizer(mode=SplitMode.A)


_NON_WORD_RE = re.compile(r"^[\W_]+$")


def _tokens_ja(texts: Sequence[str]) -> tuple[list[str], list[dict[str, int]]]:
    """Sudachi word segmentation; Japanese cue words are matched as substrings (see cues.toml)."""
    tok = sudachi_tokenizer()
    joined = []
    for text in texts:
        if not text:
            joined.append("")
            continue
        words = (m.surface().lower() for m in tok.tokenize(text[:MAX_TEXT_CHARS]))
        joined.append(" ".join(w for w in words if w.strip() and not _NON_WORD_RE.match(w)))
    return joined, [{} for _ in texts]


def _tokens(texts: Sequence[str], lang: str) -> tuple[list[str], list[dict[str, int]]]:
    """Space-joined lower-cased tokens and per-label cue counts for texts in one language."""
    if lang == "ja":
        return _tokens_ja(texts)
    nlp = spacy_pipeline(lang)
    matcher = cue_matcher(lang)
    joined, cues = [], []
    for doc in nlp.tokenizer.pipe(texts, batch_size=256):
        joined.append(" ".join(t.lower_ for t in doc if not t.is_space and not t.is_punct))
        counts: dict[str, int] = {}
        for match_id, _, _ in matcher(doc):
            name = nlp.vocab.strings[match_id]
            counts[name] = counts.get(name, 0) + 1
        cues.append(counts)
    return joined, cues


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
    if rec.get("transcript_clean"):
        m["has_transcript"] = 1.0
    if not (rec.get("caption_clean") or rec.get("transcript_clean")) and rec.get("on_screen_text_clean"):
        m["only_on_screen_text"] = 1.0
    for e in rec.get("emoji") or []:
        m[f"emoji={e}"] = 1.0
    return m


class PostPreprocessor(BaseEstimator, TransformerMixin):
    """Post records → DataFrame with ``words``, ``transcript_words``, ``chars`` and ``meta`` columns.

    Parameters
    ----------
    max_transcript_chars : int
        Transcripts are cut to this many characters (the opening carries the topic).
    """

    def __init__(self, max_transcript_chars: int = MAX_TRANSCRIPT_CHARS) -> None:
        self.max_transcript_chars = max_transcript_chars

    def fit(self, X: Any, y: Any = None) -> "PostPreprocessor":
        return self

    def transform(self, X: Any) -> pd.DataFrame:
        recs = [_ensure_clean(r) for r in _as_records(X)]
        n = len(recs)
        words, twords, chars = [""] * n, [""] * n, [""] * n
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
            toks, cues = _tokens(texts, lang)
            tr_texts = [_MENTION_RE.sub(" @mention ", (recs[i].get("transcript_clean") or "")[: self.max_transcript_chars])
                        for i in idx]
            tr_toks, tr_cues = _tokens(tr_texts, lang)
            for j, i in enumerate(idx):
                words[i], twords[i], chars[i] = toks[j], tr_toks[j], texts[j].lower()
                for label, c in cues[j].items():
                    metas[i][f"cue_text={label}"] = min(c, 3) / 3
                for label, c in tr_cues[j].items():
                    metas[i][f"cue_transcript={label}"] = min(c, 3) / 3
                # raw text: cleaning turns "#PR" into "PR", but the hashtag form is the cue
                raw = unicodedata.normalize("NFKC", " ".join(
                    x for x in (recs[i].get("caption"), recs[i].get("on_screen_text")) if isinstance(x, str)))
                for label, c in substring_cues(raw[:MAX_TEXT_CHARS].lower()).items():
                    metas[i][f"cue_sub_text={label}"] = min(c, 3) / 3
                for label, c in substring_cues(tr_texts[j].lower()).items():
                    metas[i][f"cue_sub_transcript={label}"] = min(c, 3) / 3
        return pd.DataFrame({"words": words, "transcript_words": twords, "chars": chars, "meta": metas})


def _as_records(X: Any) -> list[dict[str, Any]]:
    if isinstance(X, pd.DataFrame):
        # NaN (pandas' missing value) is truthy; records expect None.
        return X.astype(object).where(pd.notna(X), None).to_dict(orient="records")
    if isinstance(X, np.ndarray):
        return list(X)
    return list(X)
