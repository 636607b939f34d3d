"""Rules ``labels.md`` states outright: a TikTok flag that decides a label, whatever the training data.

Kept apart from the estimator (and free of scikit-learn) so the lean labelling path
(:mod:`pipeline.model.predictor`) applies them exactly as the estimator does.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

#: Rules ``labels.md`` states outright ("Decisions on hard cases"): a TikTok flag that decides a
#: label by definition, whatever the training data shows. (rule name, label, record fields: any set)
RULES = (("paid_partnership", "influencer_amplification", ("paid_partnership",)),
         ("duet_or_stitch", "trend_participation", ("duet_from", "stitch_from")))
#: Beta prior of a rule's precision, (positives, negatives): the definition says "always", the
#: 5% left is room for annotation slips and flags set in error. With no flagged training post a
#: rule scores 0.95; with the corpus's 315 flagged posts, all positive, 0.997.
RULE_PRIOR = (19.0, 1.0)


def rule_hits(records: Sequence[dict[str, Any]], fields: Sequence[str]) -> np.ndarray:
    """Boolean per record: any of ``fields`` set (a flag that is true, or a non-empty duet/stitch source)."""
    def on(v: Any) -> bool:
        if isinstance(v, str):
            return v.strip().lower() not in ("", "0", "false", "no", "none", "nan")
        return bool(v) and v == v  # NaN is truthy but means missing
    return np.fromiter((any(on(r.get(f)) for f in fields) for r in records), dtype=bool, count=len(records))


def apply_rules(records: Sequence[dict[str, Any]], P: np.ndarray, rules: Sequence[dict[str, Any]],
                names: Sequence[str]) -> np.ndarray:
    """A copy of ``P`` with each rule's label score on posts carrying its flag raised to at least the
    rule's probability.

    Reads the flags from the records themselves, not from the feature matrix: a flag never
    seen in training has no feature column, and the rule must still hold.
    """
    P = np.array(P, dtype=float, copy=True)
    for rule in rules:
        j = list(names).index(rule["label"])
        hit = rule_hits(records, rule["fields"])
        P[hit, j] = np.maximum(P[hit, j], float(rule["probability"]))
    return P
