"""Label indicator matrices and the per-label thresholds that maximise F1 on out-of-fold scores."""

from __future__ import annotations

from typing import Any

import numpy as np
from sklearn.preprocessing import MultiLabelBinarizer

#: Thresholds tried per label when tuning.
THRESHOLD_GRID = np.round(np.arange(0.10, 0.91, 0.01), 2)


def to_indicator(y: Any, classes: tuple[str, ...]) -> np.ndarray:
    """Label lists (``[["crisis_messaging"], []]``) or an indicator matrix → int array (n, n_labels).

    Label names outside ``classes`` raise ``ValueError`` (``MultiLabelBinarizer`` would only warn).
    """
    if isinstance(y, np.ndarray) and y.ndim == 2:
        return y.astype(int)
    rows = list(y)
    if rows and isinstance(rows[0], (list, tuple, set)):
        unknown = sorted({str(c) for r in rows for c in r} - set(classes))
        if unknown:
            raise ValueError(f"labels must be among {', '.join(classes)}. Got {', '.join(unknown)} instead.")
        return MultiLabelBinarizer(classes=list(classes)).fit_transform(rows).astype(int)
    return np.asarray(rows, dtype=int).reshape(len(rows), -1) if rows else np.zeros((0, len(classes)), dtype=int)


def best_thresholds(Y: np.ndarray, P: np.ndarray) -> np.ndarray:
    """Per-label threshold maximising F1 on out-of-fold probabilities (ties → closest to 0.5)."""
    out = np.full(Y.shape[1], 0.5)
    for j in range(Y.shape[1]):
        best, best_f1 = 0.5, -1.0
        for t in sorted(THRESHOLD_GRID, key=lambda t: abs(t - 0.5)):
            pred = P[:, j] >= t
            tp = int((pred & (Y[:, j] == 1)).sum())
            denom = int(pred.sum()) + int(Y[:, j].sum())
            f1 = 2 * tp / denom if denom else 0.0
            if f1 > best_f1 + 1e-9:
                best, best_f1 = float(t), f1
        out[j] = best
    return out
