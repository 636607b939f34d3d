"""N-gram keys, the NumPy hash index and TF-IDF rows (shared by training and the lean predictor)."""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp
from sklearn.preprocessing import normalize

from pipeline.features.ngrams import KeyIndex, tfidf_rows, token_ngram_keys


def test_key_index_finds_every_key_and_nothing_else():
    rng = np.random.default_rng(0)
    keys = np.unique(rng.integers(0, 2**63, 50_000, dtype=np.uint64))
    # keys crowding one slot region: linear probing must still find each of them
    crowded = np.arange(1, 2000, dtype=np.uint64)
    keys = np.unique(np.concatenate([keys, crowded]))
    index = KeyIndex(keys)
    probe = np.concatenate([keys[::-1], rng.integers(0, 2**63, 10_000, dtype=np.uint64), np.zeros(1, np.uint64)])
    want = {int(k): i for i, k in enumerate(keys)}
    got = index.get_indexer(probe)
    assert got.tolist() == [want.get(int(k), -1) for k in probe]
    assert KeyIndex(np.zeros(0, np.uint64)).get_indexer(keys[:3]).tolist() == [-1, -1, -1]


def test_tfidf_rows_equal_the_sparse_computation():
    rng = np.random.default_rng(1)
    posts = [rng.integers(0, 40, rng.integers(0, 12), dtype=np.uint64) for _ in range(300)]
    keys, doc = token_ngram_keys(posts, (1, 2))[:2]
    vocab = np.unique(keys)[::2]  # half the n-grams are unknown to the "model"
    idf = rng.uniform(1, 5, len(vocab))
    row, col, val = tfidf_rows(keys, doc, KeyIndex(vocab), idf)
    # the computation it replaced: counts in a CSR matrix, 1 + log, x IDF, sklearn's L2 normalize
    at = np.searchsorted(vocab, keys)
    hit = (at < len(vocab)) & (vocab[np.minimum(at, len(vocab) - 1)] == keys)
    M = sp.csr_matrix((np.ones(hit.sum(), np.float32), (doc[hit], at[hit])), shape=(len(posts), len(vocab)))
    M.sum_duplicates()
    M.data = (np.log(M.data) + 1) * idf[M.indices].astype(np.float32)
    M = normalize(M)
    mine = sp.csr_matrix((val, (row, col)), shape=M.shape)
    assert abs(mine - M).max() < 1e-6
    assert len(set(zip(row.tolist(), col.tolist()))) == len(row)  # each (post, n-gram) once
