"""N-gram keys and TF-IDF rows as whole-array NumPy operations, with neither scikit-learn nor pandas.

Every n-gram of a whole chunk becomes one 64-bit key in a single NumPy array
(:func:`token_ngram_keys` over token ids, :func:`char_ngram_keys` over UTF-32 code points);
:class:`KeyIndex` looks the keys up in a model's vocabulary (an open-addressing hash table
probed for all keys at once); :func:`tfidf_rows` turns the hits into sublinear TF × IDF values,
L2-normalised per post, as ``TfidfVectorizer(sublinear_tf=True)`` computes them. The
scikit-learn transformers of :mod:`pipeline.features.vectorize` and the lean predictor of
:mod:`pipeline.model.predictor` both call these, so training and labelling compute the same
numbers.
"""

from __future__ import annotations

import zlib
from collections.abc import Sequence
from typing import Any

import numpy as np

MULT = np.uint64(0x9E3779B97F4A7C15)  # odd 64-bit constant (golden ratio): a multiplicative hash step
_EMPTY = np.zeros(0, dtype=np.uint64)
_NO_INT = np.zeros(0, dtype=np.int64)

#: Unicode blocks of scripts written without spaces between words (``scripts="nospace"``).
NOSPACE_RANGES = (
    (0x0E00, 0x0EFF),  # Thai, Lao
    (0x1000, 0x109F),  # Myanmar
    (0x1780, 0x17FF),  # Khmer
    (0x3040, 0x30FF),  # Hiragana, Katakana
    (0x3400, 0x4DBF),  # CJK extension A
    (0x4E00, 0x9FFF),  # CJK unified ideographs
    (0xF900, 0xFAFF),  # CJK compatibility ideographs
    (0xFF66, 0xFF9F),  # half-width Katakana
)


def ngram_keys(flat: np.ndarray, group: np.ndarray, n: int) -> tuple[np.ndarray, np.ndarray]:
    """Keys and start positions of the ``n``-grams of ``flat`` whose units all share one ``group`` value.

    ``group`` is non-decreasing (a post's index, or a run of characters inside a post), so an
    n-gram lies inside one group exactly when its first and last units do.
    """
    m = len(flat) - n + 1
    if m <= 0:
        return _EMPTY, _NO_INT
    key = flat[:m].copy()
    for i in range(1, n):
        key = key * MULT + flat[i:i + m]  # wraps modulo 2**64 (NumPy array arithmetic never warns)
    if n > 1:
        key ^= np.uint64(n)  # an n-gram and an (n+1)-gram never share a key by construction
    pos = np.flatnonzero(group[:m] == group[n - 1:])
    return key[pos], pos


def all_ngrams(flat: np.ndarray, group: np.ndarray, doc: np.ndarray,
               ngram_range: tuple[int, int]) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Keys, post indices, start positions and lengths of all n-grams of ``flat`` for n in ``ngram_range``."""
    keys, docs, starts, ns = [_EMPTY], [_NO_INT], [_NO_INT], [_NO_INT]
    for n in range(ngram_range[0], ngram_range[1] + 1):
        k, pos = ngram_keys(flat, group, n)
        keys.append(k)
        docs.append(doc[pos])
        starts.append(pos)
        ns.append(np.full(len(pos), n, dtype=np.int64))
    return np.concatenate(keys), np.concatenate(docs), np.concatenate(starts), np.concatenate(ns)


def token_ngram_keys(X: Sequence[Any], ngram_range: tuple[int, int]) -> tuple[np.ndarray, ...]:
    """``(keys, doc, start, n, flat)`` of the token-id n-grams of posts ``X`` (one uint64 array each)."""
    lens = np.fromiter((len(a) for a in X), dtype=np.int64, count=len(X))
    flat = np.concatenate([np.asarray(a, dtype=np.uint64) for a in X]) if lens.sum() else _EMPTY
    doc = np.repeat(np.arange(len(X), dtype=np.int64), lens)
    return (*all_ngrams(flat, doc, doc, ngram_range), flat)


def char_ngram_keys(X: Sequence[Any], ngram_range: tuple[int, int], scripts: str) -> tuple[Any, ...]:
    """``(keys, doc, start, n, joined, at)`` of the character n-grams of strings ``X``.

    ``scripts="nospace"`` keeps only n-grams made entirely of characters of
    :data:`NOSPACE_RANGES`; ``joined[at[start]:...]`` is an n-gram's text.
    """
    if scripts not in ("all", "nospace"):
        raise ValueError(f"scripts must be 'all' or 'nospace'. Got {scripts!r} instead.")
    texts = [t if isinstance(t, str) else "" for t in X]
    joined = "\x00".join(texts) + "\x00"  # NUL ends each post: cleaning removed control characters
    codes = np.frombuffer(joined.encode("utf-32-le", "surrogatepass"), dtype=np.uint32)
    lens = np.fromiter((len(t) + 1 for t in texts), dtype=np.int64, count=len(texts))
    doc = np.repeat(np.arange(len(texts), dtype=np.int64), lens)
    ok = codes != 0
    if scripts == "nospace":
        nospace = np.zeros(len(codes), dtype=bool)
        for lo, hi in NOSPACE_RANGES:
            nospace |= (codes >= lo) & (codes <= hi)
        ok &= nospace
    # Keep only usable characters; a run of them (between unusable ones) is an n-gram's group.
    at = np.flatnonzero(ok)
    run = np.cumsum(~ok)[at]
    keys, docs, start, n_of = all_ngrams(codes[at].astype(np.uint64), run, doc[at], ngram_range)
    return keys, docs, start, n_of, joined, at


def lang_key(lang: str) -> np.uint64:
    """A language's key: lemma-table forms are keyed by ``token id * MULT ^ lang_key(lang)``."""
    return np.uint64(zlib.crc32(lang.encode("utf-8")) + 1)


def to_lemmas(flat: np.ndarray, doc: np.ndarray, langs: Sequence[str], forms: KeyIndex,
              lemmas: np.ndarray) -> np.ndarray:
    """Token ids ``flat`` (of posts ``doc``, languages ``langs`` per post) with every form found in a
    lemma table replaced by its lemma id; ``forms`` indexes ``form id * MULT ^ lang_key(lang)``."""
    if not len(flat) or not len(lemmas):
        return flat
    lang_keys = np.array([lang_key(lang or "") for lang in langs], dtype=np.uint64)
    at = forms.get_indexer(flat * MULT ^ lang_keys[doc])
    hit = at >= 0
    out = flat.copy()
    out[hit] = lemmas[at[hit]]
    return out


class KeyIndex:
    """Position of each of a set of distinct uint64 keys: an open-addressing hash table probed with
    whole arrays (a chunk's keys at once), ~as fast as ``pandas.Index.get_indexer`` without pandas.

    Parameters
    ----------
    keys : ndarray of uint64
        Distinct keys; ``get_indexer`` returns positions in this array.
    """

    def __init__(self, keys: np.ndarray) -> None:
        keys = np.asarray(keys, dtype=np.uint64)
        bits = max(4, int(np.ceil(np.log2(max(len(keys), 1) * 2 + 1))))  # load factor <= 0.5
        self._shift = np.uint64(64 - bits)
        self._mask = np.int64((1 << bits) - 1)
        self._keys = np.zeros(1 << bits, dtype=np.uint64)
        self._pos = np.full(1 << bits, -1, dtype=np.int64)
        self._probes = 0
        todo = np.arange(len(keys), dtype=np.int64)
        slot = self._slot(keys)
        probe = 0
        while len(todo):  # each round places, per free slot, the first key probing it (linear probing)
            s = (slot[todo] + probe) & self._mask
            free = self._pos[s] < 0
            cand, cs = todo[free], s[free]
            slots, first = np.unique(cs, return_index=True)
            self._pos[slots], self._keys[slots] = cand[first], keys[cand[first]]
            placed = np.zeros(len(keys), dtype=bool)
            placed[cand[first]] = True
            todo = todo[~placed[todo]]
            self._probes = probe
            probe += 1

    def _slot(self, keys: np.ndarray) -> np.ndarray:
        return ((keys * MULT) >> self._shift).astype(np.int64)

    def get_indexer(self, keys: np.ndarray) -> np.ndarray:
        """Position of each key, or -1 for keys not in the index."""
        keys = np.asarray(keys, dtype=np.uint64)
        out = np.full(len(keys), -1, dtype=np.int64)
        idx = np.arange(len(keys), dtype=np.int64)
        s = self._slot(keys)
        for _ in range(self._probes + 1):
            pos = self._pos[s]
            used = pos >= 0
            hit = used & (self._keys[s] == keys[idx])
            out[idx[hit]] = pos[hit]
            more = used & ~hit
            idx, s = idx[more], (s[more] + 1) & self._mask
            if not len(idx):
                break
        return out


def tfidf_rows(keys: np.ndarray, doc: np.ndarray, index: KeyIndex, idf: np.ndarray,
               sublinear: bool = True) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(row, col, value)`` of the TF-IDF matrix of n-gram ``keys`` of posts ``doc``, rows L2-normalised.

    Sorted by row then column, each (row, col) once; values are float32 as the matrices are.
    """
    col = index.get_indexer(keys) if len(keys) else _NO_INT
    hit = col >= 0
    if not hit.any():
        return _NO_INT, _NO_INT, np.zeros(0, dtype=np.float32)
    n_cols = np.int64(len(idf))
    pair, count = np.unique(doc[hit] * n_cols + col[hit], return_counts=True)
    row, col = pair // n_cols, pair % n_cols
    val = count.astype(np.float32)
    if sublinear:
        np.log(val, out=val)
        val += np.float32(1.0)
    val *= idf[col].astype(np.float32)
    starts = np.flatnonzero(np.r_[True, row[1:] != row[:-1]])
    norms = np.sqrt(np.add.reduceat(val.astype(np.float64) ** 2, starts))
    val /= np.repeat(norms, np.diff(np.r_[starts, len(row)])).astype(np.float32)
    return row, col, val
