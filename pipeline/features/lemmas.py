"""Lookup lemmas (spacy-lookups-data) as TF-IDF features, with the table learned into the model.

Inflected languages spread one word over many forms ("evacuate", "evacuated", "evacuating";
Romanian "război", "războiul", "războaie"), and a 2,500-post corpus sees few of them. The
lemma of each token gives those forms one shared feature.

spaCy's lookup tables are large (Spanish ~490k forms, seconds to load), so they are read only
in ``fit``: :class:`LemmaTfidf` then keeps the forms whose lemma is in its vocabulary — the
only forms whose mapping can change a prediction — and ``transform`` maps token ids through
that compact table with one hash lookup per chunk. Labelling never loads spacy-lookups-data.
"""

from __future__ import annotations

import gzip
import json
import logging
from collections import Counter
from collections.abc import Sequence
from functools import cache
from typing import Any

import numpy as np
import pandas as pd

from pipeline.features.ngrams import MULT as _MULT, KeyIndex, lang_key as _lang_key, to_lemmas
from pipeline.features.posts import spacy_pipeline
from pipeline.features.vectorize import TokenNgramTfidf, _as_list

log = logging.getLogger(__name__)


@cache
def lemma_lookup(lang: str, ids: str = "spacy") -> tuple[np.ndarray, np.ndarray] | None:
    """(form ids, lemma ids) of spaCy's ``lemma_lookup`` table for ``lang``, or None if it has none.

    ``ids="spacy"``: spaCy string hashes, as token ``LOWER`` ids are; lemma strings are added to
    the multilingual pipeline's string store so feature names can show them. ``ids="hash"``: the
    ids of :mod:`pipeline.features.tokens` (the regex tokenizer's), read from the table's JSON file.
    """
    if ids == "hash":
        return _lemma_lookup_hashed(lang)
    try:
        from spacy.lookups import load_lookups

        table = load_lookups(lang, ["lemma_lookup"]).get_table("lemma_lookup")
    except (ValueError, KeyError, ImportError, OSError):  # no table for this language
        return None
    add = spacy_pipeline("xx").vocab.strings.add
    forms = np.fromiter(table.keys(), dtype=np.uint64, count=len(table))
    lemmas = np.fromiter((add(str(v).lower()) for v in table.values()), dtype=np.uint64, count=len(table))
    return forms, lemmas


def _lemma_lookup_hashed(lang: str) -> tuple[np.ndarray, np.ndarray] | None:
    from pipeline.features.tokens import hash_many, token_ids  # lazy: next to the table reading

    try:
        import spacy_lookups_data
    except ImportError:
        return None
    path = spacy_lookups_data.get_file(f"{lang}_lemma_lookup.json")
    gz = spacy_lookups_data.get_file(f"{lang}_lemma_lookup.json.gz")
    if path.is_file():
        table = json.loads(path.read_bytes())
    elif gz.is_file():
        table = json.loads(gzip.decompress(gz.read_bytes()))
    else:
        return None
    forms = hash_many(list(table))
    # lemmas through the cache, so feature names can show them
    lemmas = token_ids([str(v).lower() for v in table.values()])
    return forms, lemmas


class LemmaTfidf(TokenNgramTfidf):
    """TF-IDF over lemma unigrams; input is a frame with ``words`` (token-id arrays) and ``lang`` columns.

    Tokens of languages without a lookup table, or not in it, are their own lemma.

    Parameters
    ----------
    min_lang_posts : int
        Use a language's table only if the training data has at least this many posts in it:
        tables take seconds to load (Turkish: 1.3M forms) and a handful of posts learns
        nothing from them.
    ids : {"spacy", "hash"}
        The token ids the words come with: spaCy ``LOWER`` hashes or :mod:`pipeline.features.tokens` ids.
    min_df, max_features, sublinear_tf, token_text
        As in :class:`pipeline.features.vectorize.TokenNgramTfidf` (unigrams only).
    """

    def __init__(self, min_lang_posts: int = 50, min_df: int = 2, max_features: int | None = None,
                 sublinear_tf: bool = True, token_text: Any = None, ids: str = "spacy") -> None:
        super().__init__((1, 1), min_df=min_df, max_features=max_features, sublinear_tf=sublinear_tf,
                         token_text=token_text)
        self.min_lang_posts = min_lang_posts
        self.ids = ids

    def fit(self, X: Any, y: Any = None) -> LemmaTfidf:
        tokens, langs = _columns(X)
        counts = Counter(langs)
        tables = {lang: t for lang in sorted(counts) if lang and counts[lang] >= self.min_lang_posts
                  and (t := lemma_lookup(lang, self.ids)) is not None}
        self.languages_ = sorted(tables)
        forms = np.concatenate([f * _MULT ^ _lang_key(lang) for lang, (f, _) in tables.items()] or [np.zeros(0, np.uint64)])
        lemmas = np.concatenate([lem for _, lem in tables.values()] or [np.zeros(0, np.uint64)])
        # a table may list one form twice: keep the first lemma, as a dict would
        forms, first = np.unique(forms, return_index=True)
        self.forms_, self.lemmas_ = forms, lemmas[first]
        self._form_index: KeyIndex | None = None
        super().fit(self._map(tokens, langs))
        # Keep only forms whose lemma is a feature and differs from the form: a compact table.
        # (A form that maps to itself or to an unknown lemma maps to nothing useful.)
        keep = np.isin(self.lemmas_, self.vocabulary_)
        self.forms_, self.lemmas_ = self.forms_[keep], self.lemmas_[keep]
        self._form_index = None
        return self

    def transform(self, X: Any):
        tokens, langs = _columns(X)
        return super().transform(self._map(tokens, langs))

    def _map(self, tokens: Sequence[np.ndarray], langs: Sequence[str]) -> list[np.ndarray]:
        lens = np.fromiter((len(t) for t in tokens), dtype=np.int64, count=len(tokens))
        if not lens.sum() or not len(self.forms_):
            return list(tokens)
        flat = np.concatenate([np.asarray(t, dtype=np.uint64) for t in tokens])
        doc = np.repeat(np.arange(len(tokens), dtype=np.int64), lens)
        index = getattr(self, "_form_index", None)
        if index is None:
            index = self._form_index = KeyIndex(self.forms_)
        return np.split(to_lemmas(flat, doc, langs, index, self.lemmas_), np.cumsum(lens)[:-1])

    def __getstate__(self) -> dict[str, Any]:
        state = super().__getstate__()
        state.pop("_form_index", None)
        return state


def _columns(X: Any) -> tuple[list[np.ndarray], list[str]]:
    if isinstance(X, pd.DataFrame):
        return _as_list(X["words"]), _as_list(X["lang"])
    raise TypeError(f"LemmaTfidf needs a DataFrame with 'words' and 'lang' columns. Got {type(X).__name__} instead.")
