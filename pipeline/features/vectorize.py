"""TF-IDF n-gram vectorisers that run as whole-array NumPy operations, not per-token Python.

scikit-learn's ``TfidfVectorizer`` calls a Python analyser per text and counts n-grams in a
Python dict (``_count_vocab``): with character n-grams that was most of the labelling time
(see ``../shared/docs/perf-notes.md``). Here every n-gram of a whole chunk becomes one 64-bit
key in a single NumPy array (:mod:`pipeline.features.ngrams`), and the vocabulary is an
array of keys looked up in a NumPy hash table (:class:`pipeline.features.ngrams.KeyIndex`):

- :class:`TokenNgramTfidf` reads token ids, one uint64 array per post: the ``LOWER`` hashes
  spaCy gives every token (``Doc.to_array``). n-grams of them are combined by a polynomial
  hash; a unigram's key is the token id itself.
- :class:`CharNgramTfidf` reads strings and forms character n-grams from their UTF-32 code
  points, optionally only over scripts written without spaces (Japanese, Chinese, Thai …),
  where words are not delimited.

Both learn the vocabulary (keys in ≥ ``min_df`` training posts, the ``max_features`` most
frequent), smoothed IDF weights and a readable name per feature (for ``label --explain``) in
``fit``; ``transform`` is sublinear TF × IDF, L2-normalised per post, as
``TfidfVectorizer(sublinear_tf=True)``. Keys are 64-bit: two different n-grams of a
realistic corpus share a key with negligible probability, and the names are taken from the
training text itself.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import scipy.sparse as sp
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.utils.validation import check_is_fitted

from pipeline.features.ngrams import (
    NOSPACE_RANGES,  # noqa: F401  (re-exported)
    KeyIndex,
    char_ngram_keys,
    tfidf_rows,
    token_ngram_keys,
)


class _NgramTfidf(TransformerMixin, BaseEstimator):
    """Shared vocabulary, IDF and sparse-matrix code; subclasses turn posts into n-gram keys."""

    def _keys(self, X: Sequence[Any], *, with_names: bool = False) -> tuple[np.ndarray, np.ndarray, Any]:
        raise NotImplementedError

    def fit(self, X: Any, y: Any = None) -> _NgramTfidf:
        X = _as_list(X)
        keys, doc, namer = self._keys(X, with_names=True)
        uniq, first, inv = np.unique(keys, return_index=True, return_inverse=True)
        pairs = np.unique(doc.astype(np.int64) * max(len(uniq), 1) + inv)  # each (post, n-gram) once
        df = np.bincount(pairs % max(len(uniq), 1), minlength=len(uniq))
        tf = np.bincount(inv, minlength=len(uniq))
        keep = np.flatnonzero(df >= self.min_df)
        if self.max_features is not None and len(keep) > self.max_features:
            order = np.lexsort((uniq[keep], -tf[keep]))  # most frequent first, ties by key: deterministic
            keep = np.sort(keep[order[: self.max_features]])
        self.vocabulary_ = uniq[keep]
        self._index: KeyIndex | None = None
        self.idf_ = np.log((1 + len(X)) / (1 + df[keep])) + 1.0
        self.feature_names_ = np.array([namer(int(i)) for i in first[keep]], dtype=object)
        return self

    def transform(self, X: Any) -> sp.csr_matrix:
        check_is_fitted(self, "vocabulary_")
        X = _as_list(X)
        keys, doc, _ = self._keys(X)
        V = len(self.vocabulary_)
        if V == 0 or len(keys) == 0:
            return sp.csr_matrix((len(X), V), dtype=np.float32)
        row, col, val = tfidf_rows(keys, doc, self._lookup(), self.idf_, self.sublinear_tf)
        return sp.csr_matrix((val, (row, col)), shape=(len(X), V))

    def _lookup(self) -> KeyIndex:
        index = getattr(self, "_index", None)
        if index is None:
            index = self._index = KeyIndex(self.vocabulary_)  # a hash table: ~4x faster than np.searchsorted here
        return index

    def __getstate__(self) -> dict[str, Any]:
        state = super().__getstate__()
        state.pop("_index", None)  # rebuilt on first use: model files stay small
        return state

    def get_feature_names_out(self, input_features: Any = None) -> np.ndarray:
        check_is_fitted(self, "vocabulary_")
        return self.feature_names_


class TokenNgramTfidf(_NgramTfidf):
    """TF-IDF over token-id n-grams; each post is a uint64 array of token ids (spaCy ``LOWER`` hashes).

    Parameters
    ----------
    ngram_range : tuple of int
        Smallest and largest n.
    min_df : int
        Keep n-grams found in at least this many training posts.
    max_features : int or None
        Keep at most this many n-grams, the most frequent.
    sublinear_tf : bool
        Use ``1 + log(count)`` instead of the count.
    token_text : callable or None
        Maps a token id to its text, for feature names; ids it cannot name are shown in hex.
    """

    def __init__(self, ngram_range: tuple[int, int] = (1, 1), min_df: int = 2, max_features: int | None = None,
                 sublinear_tf: bool = True, token_text: Callable[[int], str] | None = None) -> None:
        self.ngram_range = ngram_range
        self.min_df = min_df
        self.max_features = max_features
        self.sublinear_tf = sublinear_tf
        self.token_text = token_text

    def _keys(self, X: Sequence[Any], *, with_names: bool = False) -> tuple[np.ndarray, np.ndarray, Any]:
        keys, docs, start, n_of, flat = token_ngram_keys(X, self.ngram_range)
        namer = None
        if with_names:
            text = self.token_text or (lambda h: f"#{h:016x}")

            def namer(i: int) -> str:
                return " ".join(text(int(t)) for t in flat[start[i]:start[i] + n_of[i]])
        return keys, docs, namer


class CharNgramTfidf(_NgramTfidf):
    """TF-IDF over character n-grams of strings (lower-case them first).

    Parameters
    ----------
    ngram_range : tuple of int
        Smallest and largest n.
    scripts : {"all", "nospace"}
        ``"nospace"`` keeps only n-grams made entirely of characters of scripts written
        without spaces between words (:data:`NOSPACE_RANGES`); word n-grams cover the rest.
    min_df, max_features, sublinear_tf
        As in :class:`TokenNgramTfidf`.
    """

    def __init__(self, ngram_range: tuple[int, int] = (2, 4), scripts: str = "all", min_df: int = 2,
                 max_features: int | None = None, sublinear_tf: bool = True) -> None:
        self.ngram_range = ngram_range
        self.scripts = scripts
        self.min_df = min_df
        self.max_features = max_features
        self.sublinear_tf = sublinear_tf

    def _keys(self, X: Sequence[Any], *, with_names: bool = False) -> tuple[np.ndarray, np.ndarray, Any]:
        keys, docs, start, n_of, joined, at = char_ngram_keys(X, self.ngram_range, self.scripts)
        namer = None
        if with_names:
            def namer(i: int) -> str:
                return joined[at[start[i]]:at[start[i]] + n_of[i]]
        return keys, docs, namer


def _as_list(X: Any) -> list[Any]:
    if hasattr(X, "tolist") and not isinstance(X, np.ndarray):  # pandas Series
        return X.tolist()
    return list(X)
