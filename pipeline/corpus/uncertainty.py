"""How unsure the model is about a post: closeness of each label's probability to its threshold."""

from __future__ import annotations

from typing import Any

import numpy as np


def uncertainty(proba: Any, thresholds: Any) -> np.ndarray:
    """Per-post uncertainty in [0, 1] from probabilities (n, n_labels) and per-label thresholds."""
    P = np.asarray(proba, dtype=float)
    if P.size == 0:
        return np.zeros(len(P))
    t = np.asarray(thresholds, dtype=float)
    room = np.where(P >= t, 1.0 - t, t)
    per_label = 1.0 - np.abs(P - t) / np.maximum(room, 1e-9)
    return np.clip(per_label, 0.0, 1.0).max(axis=1)
