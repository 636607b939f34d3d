"""Multi-label metrics, per-group breakdowns and bootstrap intervals (plain and paired)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
from sklearn.metrics import (
    average_precision_score,
    f1_score,
    hamming_loss,
    precision_recall_fscore_support,
    roc_auc_score,
)

from pipeline.schema import labels

# bound the (resamples × posts) weight matrix of one bootstrap chunk (~32 MB of float64)
_BOOT_CELLS = 4_000_000


def metric_summary(Y: np.ndarray, pred: np.ndarray, proba: np.ndarray | None = None) -> dict[str, Any]:
    """Per-label precision/recall/F1/support (+ ROC-AUC, PR-AUC and Brier score with probabilities),
    micro/macro F1, subset accuracy and Hamming loss."""
    names = labels()
    p, r, f, s = precision_recall_fscore_support(Y, pred, average=None, zero_division=0)
    per_label: dict[str, dict[str, Any]] = {}
    for j, n in enumerate(names):
        row = {"precision": round(float(p[j]), 4), "recall": round(float(r[j]), 4), "f1": round(float(f[j]), 4),
               "support": int(s[j])}
        if proba is not None and 0 < Y[:, j].sum() < len(Y):
            row["roc_auc"] = round(float(roc_auc_score(Y[:, j], proba[:, j])), 4)
            row["pr_auc"] = round(float(average_precision_score(Y[:, j], proba[:, j])), 4)
        if proba is not None and len(Y):
            row["brier"] = round(float(np.mean((proba[:, j] - Y[:, j]) ** 2)), 4)
        per_label[n] = row
    # A label no evaluated post has (common in a user's own small annotation set) has no F1 to
    # speak of: averaging its 0 in would understate macro-F1, so it is left out and marked.
    supported = supported_labels(Y)
    for j, n in enumerate(names):
        if not supported[j]:
            per_label[n]["in_macro_f1"] = False
    macro = float(np.mean(np.asarray(f)[supported])) if supported.any() else 0.0
    return {
        "n_posts": int(len(Y)),
        "macro_f1": round(macro, 4),
        "labels_without_support": [n for j, n in enumerate(names) if not supported[j]],
        "micro_f1": round(float(f1_score(Y, pred, average="micro", zero_division=0)), 4),
        "subset_accuracy": round(float((Y == pred).all(axis=1).mean()), 4) if len(Y) else 0.0,
        "hamming_loss": round(float(hamming_loss(Y, pred)), 4) if len(Y) else 0.0,
        "per_label": per_label,
    }


def supported_labels(Y: np.ndarray) -> np.ndarray:
    """Boolean mask of the labels with at least one gold post (all of them for an empty ``Y``)."""
    Y = np.asarray(Y)
    if len(Y):
        return np.asarray(Y.any(axis=0), dtype=bool)
    return np.ones(Y.shape[1] if Y.ndim == 2 else len(labels()), dtype=bool)


def _macro(per_label: np.ndarray, supported: np.ndarray | None) -> np.ndarray:
    """Mean over the supported labels' columns (all columns when ``supported`` is None or empty)."""
    if supported is None or not np.any(supported):
        return per_label.mean(axis=-1)
    return per_label[..., np.asarray(supported, dtype=bool)].mean(axis=-1)


def confusion_counts(Y: np.ndarray, pred: np.ndarray) -> dict[str, dict[str, int]]:
    """Per-label 2×2 counts: true/false positives and negatives (each label's four add up to the posts)."""
    Y, pred = np.asarray(Y, dtype=bool), np.asarray(pred, dtype=bool)
    return {n: {"tp": int((Y[:, j] & pred[:, j]).sum()), "fp": int((~Y[:, j] & pred[:, j]).sum()),
                "fn": int((Y[:, j] & ~pred[:, j]).sum()), "tn": int((~Y[:, j] & ~pred[:, j]).sum())}
            for j, n in enumerate(labels())}


def bootstrap_f1(Y: np.ndarray, preds: Sequence[np.ndarray], *, n_boot: int = 1000, seed: int = 0) -> list[np.ndarray]:
    """Per-label F1 of each prediction matrix on the same ``n_boot`` resamples of the posts.

    Returns one array of shape (n_boot, n_labels) per entry of ``preds``. F1 is computed from
    weighted counts (2·TP / (2·TP + FP + FN), 0 when undefined, as scikit-learn's
    ``zero_division=0``), which makes a thousand resamples cost milliseconds instead of seconds.
    """
    Y = np.asarray(Y, dtype=int)
    n, L = Y.shape
    rng = np.random.default_rng(seed)
    # TP, FP, FN indicators per post: a resample's counts are its post weights times these
    stats = [np.hstack([Y * P, (1 - Y) * P, Y * (1 - P)]).astype(float)
             for P in (np.asarray(p, dtype=int) for p in preds)]
    out = [np.zeros((n_boot, L)) for _ in preds]
    if n == 0:
        return out
    chunk = max(1, _BOOT_CELLS // n)
    for start in range(0, n_boot, chunk):
        b = min(chunk, n_boot - start)
        idx = rng.integers(0, n, (b, n))
        weights = np.bincount((idx + n * np.arange(b)[:, None]).ravel(), minlength=b * n).reshape(b, n)
        for k, S in enumerate(stats):
            c = weights @ S
            tp, fp, fn = c[:, :L], c[:, L:2 * L], c[:, 2 * L:]
            denom = 2 * tp + fp + fn
            out[k][start:start + b] = np.divide(2 * tp, denom, out=np.zeros_like(tp), where=denom > 0)
    return out


def _percentiles(samples: np.ndarray, level: float) -> list[float]:
    lo, hi = (1 - level) / 2 * 100, (1 + level) / 2 * 100
    return [round(float(np.percentile(samples, lo)), 4), round(float(np.percentile(samples, hi)), 4)]


def ci_from_samples(per_label: np.ndarray, *, n_boot: int, level: float,
                    supported: np.ndarray | None = None) -> dict[str, Any]:
    """Intervals from bootstrap per-label F1 samples; macro-F1 over the ``supported`` labels."""
    return {"level": level, "n_boot": n_boot, "macro_f1": _percentiles(_macro(per_label, supported), level),
            "per_label_f1": {c: _percentiles(per_label[:, j], level) for j, c in enumerate(labels())}}


def bootstrap_ci(Y: np.ndarray, pred: np.ndarray, *, n_boot: int = 1000, seed: int = 0,
                 level: float = 0.95) -> dict[str, Any]:
    """Percentile bootstrap intervals (resampling posts) for macro-F1 and each label's F1."""
    (samples,) = bootstrap_f1(Y, [pred], n_boot=n_boot, seed=seed)
    return ci_from_samples(samples, n_boot=n_boot, level=level, supported=supported_labels(Y))


def paired_from_samples(Y: np.ndarray, pred_a: np.ndarray, pred_b: np.ndarray, sa: np.ndarray, sb: np.ndarray,
                         *, n_boot: int, level: float) -> dict[str, Any]:
    fa = f1_score(Y, pred_a, average=None, zero_division=0)
    fb = f1_score(Y, pred_b, average=None, zero_division=0)
    sup = supported_labels(Y)
    ma, mb = float(_macro(fa, sup)), float(_macro(fb, sup))
    return {"level": level, "n_boot": n_boot,
            "macro_f1_a": round(ma, 4), "macro_f1_b": round(mb, 4),
            "difference": round(ma - mb, 4),
            "ci": _percentiles(_macro(sa, sup) - _macro(sb, sup), level),
            "per_label": {c: {"difference": round(float(fa[j] - fb[j]), 4), "ci": _percentiles(sa[:, j] - sb[:, j], level)}
                          for j, c in enumerate(labels())}}


def paired_bootstrap(Y: np.ndarray, pred_a: np.ndarray, pred_b: np.ndarray, *, n_boot: int = 1000, seed: int = 0,
                     level: float = 0.95) -> dict[str, Any]:
    """Macro-F1 (and per-label F1) of system a minus system b, with a paired percentile bootstrap
    interval: each resample of the posts scores both systems, so shared hard posts cancel out."""
    sa, sb = bootstrap_f1(Y, [pred_a, pred_b], n_boot=n_boot, seed=seed)
    return paired_from_samples(Y, pred_a, pred_b, sa, sb, n_boot=n_boot, level=level)


def breakdown(records: Sequence[dict[str, Any]], Y: np.ndarray, pred: np.ndarray, key: str, *,
              others: Mapping[str, np.ndarray] | None = None) -> dict[str, Any]:
    """Macro/micro F1 and per-label F1 for each value of ``key`` (language, source …); with ``others``
    (system name → predictions) also each other system's macro-F1 on the same group."""
    groups: dict[str, list[int]] = {}
    for i, r in enumerate(records):
        groups.setdefault(str(r.get(key) or "und"), []).append(i)
    out = {}
    for g, idx in sorted(groups.items(), key=lambda kv: -len(kv[1])):
        s = metric_summary(Y[idx], pred[idx])
        out[g] = {"n_posts": len(idx), "macro_f1": _group_macro_f1(Y[idx], pred[idx]), "micro_f1": s["micro_f1"],
                  "positives": {c: int(Y[idx, j].sum()) for j, c in enumerate(labels())},
                  # a label with no gold and no predicted post in the group has no F1 (None), not 0
                  "per_label_f1": {c: (v["f1"] if Y[idx, j].any() or pred[idx, j].any() else None)
                                   for j, (c, v) in enumerate(s["per_label"].items())}}
        if others:
            out[g]["other_systems_macro_f1"] = {name: _group_macro_f1(Y[idx], p[idx]) for name, p in others.items()}
    return out


def _group_macro_f1(Y: np.ndarray, pred: np.ndarray) -> float | None:
    """Macro-F1 over the labels that occur (gold or predicted) in the group; None if none does."""
    present = Y.any(axis=0) | pred.any(axis=0)
    if not present.any():
        return None
    return round(float(f1_score(Y[:, present], pred[:, present], average="macro", zero_division=0)), 4)
