"""Posts grouped by account: fold groups, label-stratified group folds and per-account weights.

Used by cross-validation (``evaluate --group-by actor``) and inside training, where the
calibration and threshold folds can hold whole accounts out, as a new account will be.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
from sklearn.model_selection import StratifiedGroupKFold, StratifiedKFold


def fold_groups(records: Sequence[dict[str, Any]], field: str = "actor") -> np.ndarray:
    """Integer group per post: posts sharing a non-empty ``field`` value share a group; a post
    without one forms its own group (an unknown account is not the same account as another)."""
    ids: dict[str, int] = {}
    out = np.empty(len(records), dtype=int)
    for i, r in enumerate(records):
        value = r.get(field)
        key = f"v:{value}" if isinstance(value, str) and value.strip() else f"post:{i}"
        out[i] = ids.setdefault(key, len(ids))
    return out


def label_combination(Y: np.ndarray) -> np.ndarray:
    """One stratification class per label combination (``[]``, ``[trend]``, ``[trend, influencer]`` …)."""
    Y = np.asarray(Y, dtype=int)
    if Y.size == 0:
        return np.zeros(len(Y), dtype=int)
    return Y @ (1 << np.arange(Y.shape[1]))


def group_folds(Y: np.ndarray, groups: np.ndarray | None, k: int, seed: int) -> list[tuple[np.ndarray, np.ndarray]]:
    """``k`` shuffled folds stratified on ``Y`` (one label's 0/1, or the label combination of an
    indicator matrix); with ``groups``, no group is on both sides of a split
    (``StratifiedGroupKFold``), else ``StratifiedKFold`` over posts."""
    y = label_combination(Y) if np.ndim(Y) == 2 else np.asarray(Y)
    X = np.zeros(len(Y))
    if groups is None:
        return list(StratifiedKFold(k, shuffle=True, random_state=seed).split(X, y))
    return list(StratifiedGroupKFold(k, shuffle=True, random_state=seed).split(X, y, groups))


def group_weights(groups: np.ndarray, power: float) -> np.ndarray:
    """Sample weights ``n_g ** -power`` (``n_g``: posts of the post's group), scaled to mean 1:
    ``power=0`` weighs every post alike, ``1`` every account alike, ``0.5`` between."""
    counts = np.bincount(groups)[groups].astype(float)
    w = counts ** -float(power)
    return w * (len(w) / w.sum()) if len(w) else w


def groups_per_column(M: Any, groups: np.ndarray) -> np.ndarray:
    """How many distinct groups have a non-zero value in each column of the sparse matrix ``M``."""
    C = M.tocoo()
    pairs = np.unique(groups[C.row].astype(np.int64) * M.shape[1] + C.col)
    return np.bincount(pairs % M.shape[1], minlength=M.shape[1])
