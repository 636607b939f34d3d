"""Inter-annotator agreement: Cohen's kappa and F1 between two annotators, per label."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from sklearn.metrics import cohen_kappa_score, f1_score

from pipeline.schema import labels


def agreement_report(pairs: Sequence[tuple[Sequence[str], Sequence[str]]]) -> dict:
    """Per-label Cohen's κ, F1 (annotator B against A), positives of each, and exact-set agreement."""
    names = labels()
    A = np.array([[int(n in a) for n in names] for a, _ in pairs])
    B = np.array([[int(n in b) for n in names] for _, b in pairs])
    per_label = {}
    for j, n in enumerate(names):
        same = bool((A[:, j] == B[:, j]).all())
        per_label[n] = {
            "cohen_kappa": 1.0 if same else round(float(cohen_kappa_score(A[:, j], B[:, j])), 4),
            "f1": round(float(f1_score(A[:, j], B[:, j], zero_division=1.0)), 4),
            "positives_a": int(A[:, j].sum()),
            "positives_b": int(B[:, j].sum()),
            "disagreements": int((A[:, j] != B[:, j]).sum()),
        }
    return {
        "n_posts": len(pairs),
        "exact_set_agreement": round(float((A == B).all(axis=1).mean()), 4) if len(pairs) else None,
        "per_label": per_label,
    }
