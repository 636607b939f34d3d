"""The model card shows random and grouped cross-validation with intervals, calibration and the rules."""

import numpy as np

from pipeline.evaluation.calibration import calibration_summary
from pipeline.evaluation.metrics import bootstrap_f1, ci_from_samples, metric_summary, paired_from_samples
from pipeline.model.card import write_model_card


def _cv(Y, P, mode):
    pred = (P >= 0.5).astype(int)
    (s,) = bootstrap_f1(Y, [pred], n_boot=200)
    return {"mode": mode, **metric_summary(Y, pred, P), "bootstrap_ci": ci_from_samples(s, n_boot=200, level=0.95),
            "calibration": calibration_summary(Y, P, n_boot=50)}, pred, s


def test_card_has_both_cross_validations_and_rules(tmp_path):
    rng = np.random.default_rng(1)
    P = rng.uniform(size=(300, 3))
    Y = (rng.uniform(size=P.shape) < P).astype(int)
    rand, rp, rs = _cv(Y, P, "5-fold cross-validation (seed 1)")
    grp, gp, gs = _cv(Y, np.clip(P + rng.normal(0, 0.2, P.shape), 0, 1), "5-fold cross-validation grouped by actor")
    grp["grouped_minus_random"] = paired_from_samples(Y, gp, rp, gs, rs, n_boot=200, level=0.95)
    rand["grouped"] = grp
    rand["keyword_baseline"] = metric_summary(Y, np.zeros_like(Y))
    meta = {"created_at": "2026-12-01T00:00:00Z", "format_version": 3, "thresholds": {"a": 0.3},
            "training_corpus": {"files": ["c.jsonl"], "n_posts": 300, "sha256": "0" * 64, "positives": {},
                                "languages": {}},
            "config": {}, "library_versions": {}, "train_seconds": 1.0,
            "rules": [{"name": "paid_partnership", "label": "influencer_amplification", "fields": ["paid_partnership"],
                       "n": 315, "positives": 315, "probability": 0.9970}]}
    text = write_model_card(tmp_path, meta, rand).read_text(encoding="utf-8")
    assert "**Random folds" in text and "**Accounts the model has not seen**" in text
    assert "Grouped − random macro-F1" in text and "calibration slope" in text
    assert f"{grp['macro_f1']:.3f}" in text and f"{rand['macro_f1']:.3f}" in text
    assert "paid_partnership (paid_partnership) → `influencer_amplification`: 315 of 315" in text
