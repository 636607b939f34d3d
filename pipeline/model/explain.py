"""Per-post explanations: the features that pushed each label's decision, and their field.

Each label's model is linear before calibration: one ``LogisticRegression`` per calibration
fold (``CalibratedClassifierCV.calibrated_classifiers_[i].estimator``), whose scores each go
through a monotone sigmoid and whose probabilities are averaged. The folds' mean coefficient
vector is the linear score they share on average, so ``feature value × mean coefficient`` is
a feature's contribution to that score. A post's contributions sum exactly to its mean
fold decision score minus the mean intercept (:func:`linear_view` gives both).

Everything runs on the chunk's sparse feature matrix: features are computed once (the costly
step) and feed both the probabilities and the explanations (:func:`predict_and_explain`).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import scipy.sparse as sp
from sklearn.utils.validation import check_is_fitted

log = logging.getLogger(__name__)

TOP_K = 5
#: Which part of a post each ColumnTransformer block reads (transformer name → field).
FIELDS = {
    "words": "caption/on-screen text (word)",
    "transcript": "transcript",
    "chars": "caption/on-screen text (characters)",
    "lemmas": "caption/on-screen text (lemma)",
    "meta": "metadata/cue",
}

Explanation = dict[str, list[dict[str, Any]]]


@dataclass(frozen=True)
class LinearView:
    """The fitted model seen as one linear score per label over named features.

    Attributes
    ----------
    labels : tuple of str
        Label names, in the model's column order.
    coef : ndarray of shape (n_features, n_labels)
        Mean coefficient of each label's base logistic regressions.
    intercept : ndarray of shape (n_labels,)
        Mean intercept of the same models.
    names : ndarray of str, shape (n_features,)
        Feature names as the vectorisers report them (``"flag=paid_partnership"``, ``"cod reducere"``).
    fields : ndarray of str, shape (n_features,)
        The field each feature comes from (values of :data:`FIELDS`).
    """

    labels: tuple[str, ...]
    coef: np.ndarray
    intercept: np.ndarray
    names: np.ndarray
    fields: np.ndarray


def linear_view(model: Any) -> LinearView:
    """Mean coefficients, intercepts, feature names and fields of a fitted StrategyClassifier (cached).

    The cache lives on the model (``_linear_view``), so refitting or loading another model never
    sees a stale view.
    """
    check_is_fitted(model, "coef_")
    cached = model.__dict__.get("_linear_view")
    if cached is not None and cached[0] is model.coef_:
        return cached[1]
    names, fields = [], []
    for name, _, trans in model.blocks_:
        block = [str(f) for f in trans.get_feature_names_out()]
        names.extend(block)
        fields.extend([FIELDS.get(name, name)] * len(block))
    n_features = model.coef_.shape[2]
    if len(names) != n_features:
        raise ValueError(f"model has {n_features} coefficients per label but its vectorisers name {len(names)} "
                         "features. The model file is inconsistent; retrain it.")
    view = LinearView(labels=tuple(str(c) for c in model.classes_), coef=model.coef_.mean(axis=1).T,
                      intercept=model.intercept_.mean(axis=1), names=np.array(names, dtype=object),
                      fields=np.array(fields, dtype=object))
    model.__dict__["_linear_view"] = (model.coef_, view)
    return view


def feature_matrix(model: Any, records: Sequence[dict[str, Any]]) -> sp.csr_matrix:
    """The model's sparse feature matrix for ``records`` (preprocessing + vectorisers, no prediction)."""
    return sp.csr_matrix(model.features(list(records)))


def contributions(model: Any, X: sp.spmatrix) -> list[sp.csr_matrix]:
    """Per label, the (n_posts, n_features) matrix of feature value × mean coefficient.

    Row sums equal each post's mean fold decision score minus the mean intercept.
    """
    view = linear_view(model)
    X = sp.csr_matrix(X)
    return [sp.csr_matrix(X @ sp.diags(view.coef[:, j])) for j in range(len(view.labels))]


#: Up to this k, top-k runs as k vectorised "row maximum" passes (~7x faster than sorting every
#: stored value of the chunk); larger k sorts.
_MAX_K_BY_PASSES = 16


def _top_k(indptr: np.ndarray, values: np.ndarray, k: int) -> np.ndarray:
    """Positions (in CSR data order) of each row's ``k`` largest-|value| nonzero entries.

    Ties go to the lower position, in both strategies, so the choice never depends on ``k``.
    """
    a = np.abs(values)
    counts = np.diff(indptr)
    rows = np.repeat(np.arange(len(counts)), counts)
    if k <= _MAX_K_BY_PASSES:
        nonempty = np.flatnonzero(counts)
        starts = indptr[:-1][nonempty]
        best = np.zeros(len(counts))
        picked = []
        for _ in range(min(k, int(counts.max(initial=0)))):
            best[nonempty] = np.maximum.reduceat(a, starts)
            at_best = np.flatnonzero((a == best[rows]) & (a > 0))
            if not len(at_best):
                break
            r = rows[at_best]
            first = at_best[np.r_[True, r[1:] != r[:-1]]]  # one per row
            picked.append(first)
            a[first] = 0.0  # taken: never the maximum again
        return np.concatenate(picked) if picked else np.empty(0, dtype=np.intp)
    nz = np.flatnonzero(a)
    order = nz[np.lexsort((-a[nz], rows[nz]))]  # row, then |value| descending, then position (stable)
    r = rows[order]
    starts = np.concatenate(([0], np.cumsum(np.bincount(r, minlength=len(counts)))))
    return order[np.arange(len(r)) - starts[r] < k]


def explain_matrix(model: Any, X: sp.spmatrix, top_k: int = TOP_K, *, decimals: int = 4) -> list[Explanation]:
    """Top-``top_k`` contributions per post and label for a feature matrix ``X``.

    Returns one ``{label: [{"feature", "field", "weight"}, ...]}`` per row of ``X``; features
    that pushed toward the label (weight > 0) come first, then those that pushed against it,
    each part strongest first.
    """
    if top_k < 1:
        raise ValueError(f"top_k must be a positive integer. Got {top_k!r} instead.")
    view = linear_view(model)
    X = sp.csr_matrix(X)
    X.sum_duplicates()
    n = X.shape[0]
    rows = np.repeat(np.arange(n), np.diff(X.indptr))
    C = X.data[:, None] * view.coef[X.indices, :]  # (stored values, labels): value × coefficient
    out: list[Explanation] = [{lab: [] for lab in view.labels} for _ in range(n)]
    for j, lab in enumerate(view.labels):
        c = C[:, j]
        sel = _top_k(X.indptr, c, top_k)
        sel = sel[np.lexsort((sel, -np.abs(c[sel]), c[sel] <= 0, rows[sel]))]
        feats = X.indices[sel]
        for i, name, field, w in zip(rows[sel].tolist(), view.names[feats], view.fields[feats],
                                     np.round(c[sel], decimals).tolist()):
            out[i][lab].append({"feature": name, "field": field, "weight": w + 0.0})  # + 0.0: no "-0.0"
    return out


def predict_and_explain(model: Any, records: Sequence[dict[str, Any]],
                        top_k: int = TOP_K) -> tuple[np.ndarray, list[Explanation]]:
    """Probabilities (as ``model.predict_proba``) and explanations, computing the features once."""
    if len(records) == 0:
        return np.zeros((0, len(model.classes_))), []
    X = feature_matrix(model, records)
    return model.apply_rules(records, model.proba_from_features(X)), explain_matrix(model, X, top_k)


def explain(model: Any, records: Sequence[dict[str, Any]], top_k: int = TOP_K) -> list[Explanation]:
    """Explanations for ``records``: per post, per label, the ``top_k`` features by contribution."""
    return predict_and_explain(model, records, top_k)[1]
