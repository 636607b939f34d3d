"""Cross-validation of a training configuration: folds over posts or over accounts, out-of-fold scores."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

import numpy as np
from sklearn.base import clone
from sklearn.model_selection import KFold, StratifiedGroupKFold

from pipeline.io.progress import bar as progress_bar
from pipeline.model.folds import fold_groups, label_combination  # noqa: F401  (re-exported)

log = logging.getLogger(__name__)

#: record fields folds can be grouped by (``evaluate --group-by``)
GROUP_FIELDS = ("actor",)


def cv_folds(records: Sequence[dict[str, Any]], Y: np.ndarray, k: int = 5, seed: int = 0,
             group_by: str | None = None) -> list[tuple[np.ndarray, np.ndarray]]:
    """The (train, test) index pairs of ``k``-fold cross-validation.

    Without ``group_by``: shuffled ``KFold`` over posts (depends only on ``k``, ``seed`` and the
    number of posts). With ``group_by`` (e.g. ``"actor"``): ``StratifiedGroupKFold`` — no account
    is on both sides of a split, and folds are balanced on the label combination so each fold
    holds every label's positives. Group folds are what "an account the model has never seen"
    means; random folds put posts of the same account on both sides and flatter the model.
    """
    if group_by is None:
        return list(KFold(k, shuffle=True, random_state=seed).split(np.zeros(len(records))))
    if group_by not in GROUP_FIELDS:
        raise ValueError(f"group_by must be one of {', '.join(GROUP_FIELDS)}. Got {group_by!r} instead.")
    groups = fold_groups(records, group_by)
    if len(np.unique(groups)) < k:
        raise ValueError(f"{len(np.unique(groups))} distinct {group_by} groups cannot fill {k} folds")
    splitter = StratifiedGroupKFold(k, shuffle=True, random_state=seed)
    return list(splitter.split(np.zeros(len(records)), label_combination(Y), groups))


def cross_validate_config(records: Sequence[dict[str, Any]], Y: np.ndarray, estimator: Any, k: int = 5,
                          seed: int = 0, group_by: str | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Out-of-fold probabilities and predictions of ``estimator`` (cloned per fold) on :func:`cv_folds`.

    Two estimators cross-validated with the same arguments see exactly the same training and
    test posts, so their out-of-fold predictions can be compared pairwise.
    """
    proba = np.zeros(Y.shape, dtype=float)
    pred = np.zeros(Y.shape, dtype=int)
    folds = cv_folds(records, Y, k=k, seed=seed, group_by=group_by)
    with progress_bar(k, f"cross-validating {type(estimator).__name__}", "fold") as bar:
        for fold, (tr, te) in enumerate(folds, start=1):
            est = clone(estimator).fit([records[i] for i in tr], Y[tr])
            test = [records[i] for i in te]
            proba[te] = est.predict_proba(test)
            pred[te] = est.predict(test)
            log.info("%s: fold %d/%d done%s", type(estimator).__name__, fold, k,
                     f" (grouped by {group_by})" if group_by else "")
            bar.update(1)
    return proba, pred
