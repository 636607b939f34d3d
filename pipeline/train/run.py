"""Training: annotated corpus → fitted classifier → model directory."""

from __future__ import annotations

import logging
import time
from collections import Counter
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from pipeline.corpus.read import corpus_sha256, post_id_hash, read_corpus
from pipeline.errors import TrainingDataError
from pipeline.evaluation.baselines import keyword_baseline
from pipeline.evaluation.calibration import calibration_summary
from pipeline.evaluation.cv import cross_validate_config, fold_groups
from pipeline.evaluation.metrics import bootstrap_ci, bootstrap_f1, ci_from_samples, metric_summary, paired_from_samples
from pipeline.io.atomic import staged_dir
from pipeline.io.progress import bar as progress_bar
from pipeline.model.artefact import save_model
from pipeline.model.card import write_model_card
from pipeline.model.config import build_classifier, load_config
from pipeline.model.estimator import to_indicator
from pipeline.schema import labels

log = logging.getLogger(__name__)


def train(corpus_paths: Sequence[Path], out_dir: Path, config: Path | None = None, cv: int = 0,
          group_by: str | None = "actor") -> dict[str, Any]:
    """Fit the classifier on the corpora and write a model directory; returns its metadata.

    With ``cv`` ≥ 2 the same configuration is also cross-validated on the corpus (same seed)
    and the honest out-of-fold figures, with bootstrap intervals, calibration and the keyword
    baseline, are stored in ``meta.json`` and the model card — on random folds and, when the
    corpus has at least ``cv`` distinct ``group_by`` values, on folds that never split an
    account (``grouped_cross_validation``): the figure for accounts the model has not seen.
    """
    corpus_paths = [corpus_paths] if isinstance(corpus_paths, (str, Path)) else list(corpus_paths)
    cfg = load_config(config)
    records = read_corpus(corpus_paths)
    Y = to_indicator([r["labels"] for r in records], labels())
    start = time.perf_counter()
    clf = build_classifier(cfg)
    # steps: features, each threshold-tuning fold, the final fit (StrategyClassifier.fit_steps)
    with progress_bar(clf.fit_steps(), f"training on {len(records):,} posts", "step") as bar:
        try:
            clf.fit(records, Y, progress=bar.update)
        except TrainingDataError as exc:  # only the data's fault; any other error is a bug and shows as one
            raise TrainingDataError(f"{', '.join(map(str, corpus_paths))}: cannot train: {exc}") from exc
    seconds = time.perf_counter() - start
    metrics: dict[str, Any] = {}
    if clf.cv_probabilities_ is not None:
        oof = (clf.cv_probabilities_ >= clf.thresholds_).astype(int)
        metrics = {"threshold_tuning_oof": metric_summary(Y, oof, clf.cv_probabilities_),
                   "note": "out-of-fold predictions used to tune thresholds: optimistic; "
                           "see 'tiktok-diplomacy evaluate --cv' for honest figures"}
    meta = {
        "config": {k: v for k, v in cfg.items() if k != "path"},
        "training_corpus": {"files": [str(p) for p in corpus_paths], "sha256": corpus_sha256(corpus_paths),
                            "n_posts": len(records),
                            "positives": {c: int(Y[:, j].sum()) for j, c in enumerate(labels())},
                            "languages": dict(Counter(r.get("language") or "und" for r in records).most_common()),
                            # lets `evaluate` warn when evaluated posts were trained on (ids not kept)
                            "post_id_sha256_16": sorted({post_id_hash(r.get("post_id")) for r in records})},
        "train_seconds": round(seconds, 1),
        "rules": list(getattr(clf, "rules_", [])),
        "metrics": metrics,
    }
    cv_result = None
    if cv >= 2:
        proba, pred = cross_validate_config(records, Y, build_classifier(cfg), k=cv, seed=cfg["seed"])
        cv_result = {"mode": f"{cv}-fold cross-validation (seed {cfg['seed']})", **metric_summary(Y, pred, proba),
                     "bootstrap_ci": bootstrap_ci(Y, pred), "calibration": calibration_summary(Y, proba),
                     "keyword_baseline": metric_summary(Y, keyword_baseline(records))}
        metrics["cross_validation"] = cv_result
        if group_by is not None and len(set(fold_groups(records, group_by).tolist())) >= cv:
            g_proba, g_pred = cross_validate_config(records, Y, build_classifier(cfg), k=cv, seed=cfg["seed"],
                                                    group_by=group_by)
            r_s, g_s = bootstrap_f1(Y, [pred, g_pred])
            cv_result["grouped"] = {
                "mode": f"{cv}-fold cross-validation grouped by {group_by} (seed {cfg['seed']}): no {group_by} on "
                        "both sides of a fold; posts without one are their own group",
                **metric_summary(Y, g_pred, g_proba), "bootstrap_ci": ci_from_samples(g_s, n_boot=1000, level=0.95),
                "calibration": calibration_summary(Y, g_proba),
                "grouped_minus_random": paired_from_samples(Y, g_pred, pred, g_s, r_s, n_boot=1000, level=0.95)}
    # the model files appear in out_dir only once all are written (an interrupt leaves none)
    with staged_dir(Path(out_dir), protect=list(corpus_paths)) as stage:
        full = save_model(clf, stage, meta)
        write_model_card(stage, full, cv_result)
    log.info("trained on %d posts in %.1f s", len(records), seconds)
    return full


def positives_per_label(Y: np.ndarray) -> dict[str, int]:
    return {c: int(Y[:, j].sum()) for j, c in enumerate(labels())}
