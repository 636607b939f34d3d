"""Near-duplicate search without comparing all pairs: MinHash signatures and LSH banding.

Texts become sets of character 5-grams, hashed for a whole chunk of texts at once with NumPy.
Signatures use datasketch's MinHash permutations (its ``affine32`` scheme, ``a·h + b mod 2^32``
after its MurmurHash3 pre-mix, with its seed, so a signature equals datasketch's
``MinHash.update_batch`` over the same hash values), again for the whole chunk at once instead
of one Python call per text (scikit-learn's ``HashingVectorizer`` was 6x slower here, its
analyser being Python per text).  The band/row split comes from datasketch's
``MinHashLSH`` parameter optimiser, weighted towards recall because every candidate pair is
then checked against the similarity threshold.

Why not datasketch's ``MinHashLSH`` index itself: it inserts and queries one text at a time in
Python (measured here at ~200 µs per text, about 3.5 minutes per million before any hashing),
whereas sorting each band's keys finds every shared bucket of a million texts in seconds.  The
bucket search is a self-join, so it never compares texts that share no band.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

import numpy as np

log = logging.getLogger(__name__)
SCHEME = "affine32"
#: datasketch's default seed; kept so signatures match ``datasketch.MinHash(num_perm, seed=1)``.
SEED = 1


def lsh_params(threshold: float, num_perm: int) -> tuple[int, int]:
    """(bands, rows) for ``threshold``, favouring recall (false negatives weigh 0.9, positives 0.1)."""
    from datasketch import MinHashLSH  # lazy: only the parameter optimiser is used

    lsh = MinHashLSH(threshold=threshold, num_perm=num_perm, weights=(0.1, 0.9))
    return int(lsh.b), int(lsh.r)


def permutations(num_perm: int, seed: int = SEED) -> tuple[np.ndarray, np.ndarray]:
    """datasketch's permutation parameters ``(a, b)`` for ``num_perm`` and ``seed``."""
    from datasketch import MinHash  # lazy: imported only when signatures are computed

    a, b = MinHash(num_perm=num_perm, seed=seed, scheme=SCHEME).permutations
    return np.asarray(a, dtype=np.uint32), np.asarray(b, dtype=np.uint32)


def shingle_hashes(texts: Sequence[str], ngram: int = 5) -> tuple[np.ndarray, np.ndarray]:
    """Hashes of every character ``ngram``-gram of each text, contiguous per text: ``(hashes, indptr)``.

    Text ``d``'s n-gram hashes are ``hashes[indptr[d]:indptr[d + 1]]`` (repeats included: they do not
    change a minimum).  The hash is FNV-style (multiply by 16777619, xor the next code point) over
    Unicode code points, computed for all texts at once; texts shorter than ``ngram`` are padded.
    """
    texts = [t if len(t) >= ngram else t.ljust(ngram, "\x00") for t in texts]
    lengths = np.fromiter((len(t) for t in texts), dtype=np.int64, count=len(texts))
    cp = np.frombuffer("".join(texts).encode("utf-32-le"), dtype=np.uint32)
    m = max(len(cp) - ngram + 1, 0)
    h = np.zeros(m, dtype=np.uint32)
    for k in range(ngram):
        h *= np.uint32(0x01000193)
        h ^= cp[k:k + m]
    counts = lengths - ngram + 1
    starts = np.r_[0, np.cumsum(lengths)[:-1]].astype(np.int64)
    indptr = np.r_[0, np.cumsum(counts)].astype(np.int64)
    # n-grams that cross from one text into the next are skipped: position = text start + offset
    pos = np.repeat(starts - indptr[:-1], counts) + np.arange(indptr[-1], dtype=np.int64)
    return h[pos], indptr


def _fmix32(h: np.ndarray) -> np.ndarray:
    """The MurmurHash3 finalizer datasketch applies to every input hash before permuting it."""
    h = h ^ (h >> np.uint32(16))
    h = h * np.uint32(0x85EBCA6B)
    h = h ^ (h >> np.uint32(13))
    h = h * np.uint32(0xC2B2AE35)
    return h ^ (h >> np.uint32(16))


def signatures(texts: Sequence[str], num_perm: int = 64, *, chunk: int = 50_000, ngram: int = 5) -> np.ndarray:
    """MinHash signatures (``uint32``, texts × ``num_perm``) of the character ``ngram``-gram sets."""
    a, b = permutations(num_perm)
    out = np.empty((len(texts), num_perm), dtype=np.uint32)
    for start in range(0, len(texts), chunk):
        hashes, indptr = shingle_hashes(texts[start:start + chunk], ngram)
        h = _fmix32(hashes)
        starts = indptr[:-1]
        phv = np.empty_like(h)
        for k in range(num_perm):
            # uint32 arithmetic wraps modulo 2^32: exactly datasketch's affine32 permutation
            np.multiply(h, a[k], out=phv)
            phv += b[k]
            out[start:start + len(starts), k] = np.minimum.reduceat(phv, starts)
        log.debug("signatures %d-%d", start, start + len(starts))
    return out


def similarity(sig: np.ndarray, i: np.ndarray, j: np.ndarray) -> np.ndarray:
    """Estimated Jaccard similarity of rows ``i`` and ``j``: the share of equal signature values."""
    out = np.empty(len(i), dtype=np.float32)
    for s in range(0, len(i), 200_000):  # bounded temporary (pairs × num_perm)
        out[s:s + 200_000] = (sig[i[s:s + 200_000]] == sig[j[s:s + 200_000]]).mean(axis=1)
    return out


def candidate_pairs(sig: np.ndarray, bands: int, rows: int) -> np.ndarray:
    """Pairs ``(i, j)``, i < j, sharing at least one band (each bucket linked as a star and a chain)."""
    n = len(sig)
    rng = np.random.default_rng(SEED)
    pairs = []
    for band in range(bands):
        cols = sig[:, band * rows:(band + 1) * rows].astype(np.uint64)
        mult = rng.integers(1, 2**63, size=rows, dtype=np.uint64) | np.uint64(1)
        key = np.zeros(n, dtype=np.uint64)
        for c in range(rows):
            key = (key ^ cols[:, c]) * mult[c]  # 64-bit mixing; a rare collision only adds a pair to check
        order = np.argsort(key, kind="stable")
        k = key[order]
        same = k[1:] == k[:-1]
        if not same.any():
            continue
        # chain: each member with the next one in its bucket
        pairs.append(np.stack([order[:-1][same], order[1:][same]], axis=1))
        # star: each member with the first of its bucket, so one odd member cannot break a bucket apart
        first = np.maximum.accumulate(np.where(np.r_[True, ~same], np.arange(n), 0))
        star = (first != np.arange(n)) & (first != np.r_[0, np.arange(n - 1)])
        pairs.append(np.stack([order[first[star]], order[star]], axis=1))
    if not pairs:
        return np.empty((0, 2), dtype=np.int64)
    p = np.concatenate(pairs).astype(np.int64)
    p.sort(axis=1)
    return np.unique(p, axis=0)


def near_duplicate_groups(texts: Sequence[str], threshold: float, num_perm: int = 64
                          ) -> tuple[np.ndarray, np.ndarray]:
    """Group texts whose estimated Jaccard similarity (character 5-grams) reaches ``threshold``.

    Returns
    -------
    groups : ndarray of int
        Component id per text (texts linked by verified similar pairs share one).
    sig : ndarray
        The signatures, for similarities to a group's representative.
    """
    from scipy.sparse import coo_matrix  # lazy: heavy import
    from scipy.sparse.csgraph import connected_components  # lazy: heavy import

    n = len(texts)
    sig = signatures(texts, num_perm)
    bands, rows = lsh_params(threshold, num_perm)
    pairs = candidate_pairs(sig, bands, rows)
    keep = similarity(sig, pairs[:, 0], pairs[:, 1]) >= threshold - 1e-9 if len(pairs) else np.zeros(0, bool)
    edges = pairs[keep]
    log.info("%d texts: %d candidate pairs, %d at similarity >= %.2f", n, len(pairs), len(edges), threshold)
    graph = coo_matrix((np.ones(len(edges), dtype=np.int8), (edges[:, 0], edges[:, 1])), shape=(n, n))
    _, groups = connected_components(graph, directed=False)
    return groups, sig
