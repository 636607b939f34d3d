"""Cross-validation of a training configuration: out-of-fold probabilities and predictions."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import logging

import numpy as np
from sklearn.base import clone
from sklearn.model_selection import KFold

from pipeline.io.progress import bar as progress_bar

log = logging.getLogger(__name__)


def cross_validate_config(records: Sequence[dict[str, Any]], Y: np.ndarray, estimator: Any, k: int = 5,
                          seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Out-of-fold probabilities and predictions of ``estimator`` (cloned per fold).

    The folds depend only on ``k``, ``seed`` and the number of posts, so two estimators
    cross-validated with the same arguments see exactly the same training and test posts.
    """
    proba = np.zeros(Y.shape, dtype=float)
    pred = np.zeros(Y.shape, dtype=int)
    with progress_bar(k, f"cross-validating {type(estimator).__name__}", "fold") as bar:
        for fold, (tr, te) in enumerate(KFold(k, shuffle=True, random_state=seed).split(records), start=1):
            est = clone(estimator).fit([records[i] for i in tr], Y[tr])
            test = [records[i] for i in te]
            proba[te] = est.predict_proba(test)
            pred[te] = est.predict(test)
            log.info("%s: fold %d/%d done", type(estimator).__name__, fold, k)
            bar.update(1)
    return proba, pred
