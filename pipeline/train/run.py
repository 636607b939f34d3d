"""Training: annotated corpus → fitted classifier → model directory."""

from __future__ import annotations

import logging
import time
from collections import Counter
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from pipeline.model.estimator import StrategyClassifier, to_indicator
from pipeline.config import read_toml
from pipeline.corpus.read import corpus_sha256, read_corpus
from pipeline.errors import PipelineError
from pipeline.features.preprocess import JAPANESE_TOKENIZERS
from pipeline.model.artefact import save_model
from pipeline.config import CONFIG_DIR
from pipeline.schema import labels

log = logging.getLogger(__name__)
DEFAULT_CONFIG = CONFIG_DIR / "train.toml"


def load_config(path: Path | None) -> dict[str, Any]:
    path = Path(path) if path else DEFAULT_CONFIG
    cfg = read_toml(path, what="config file", option="--config")
    params = cfg.get("classifier", {})
    valid = StrategyClassifier().get_params()
    unknown = sorted(set(params) - set(valid))
    if unknown:
        raise PipelineError(f"{path}: unknown classifier option(s) {', '.join(unknown)}; valid: {', '.join(valid)}.")
    japanese = params.get("japanese_tokenizer", "sudachi")
    if japanese not in JAPANESE_TOKENIZERS:
        raise PipelineError(f"{path}: japanese_tokenizer must be one of {', '.join(map(repr, JAPANESE_TOKENIZERS))}; "
                            f"got {japanese!r}.")
    return {"seed": int(cfg.get("seed", 0)), "classifier": params, "path": str(path)}


def build_classifier(cfg: dict[str, Any]) -> StrategyClassifier:
    params = {k: tuple(v) if isinstance(v, list) else v for k, v in cfg["classifier"].items()}  # TOML arrays
    return StrategyClassifier(**params, random_state=cfg["seed"])


def train(corpus_paths: Sequence[Path], out_dir: Path, config: Path | None = None, cv: int = 0) -> dict[str, Any]:
    """Fit the classifier on the corpora and write a model directory; returns its metadata.

    With ``cv`` ≥ 2 the same configuration is also cross-validated on the corpus (same seed)
    and the honest out-of-fold figures, with bootstrap intervals and the keyword baseline, are
    stored in ``meta.json`` and the model card.
    """
    cfg = load_config(config)
    records = read_corpus(corpus_paths)
    Y = to_indicator([r["labels"] for r in records], labels())
    start = time.perf_counter()
    clf = build_classifier(cfg)
    try:
        clf.fit(records, Y)
    except ValueError as exc:
        raise PipelineError(f"{', '.join(map(str, corpus_paths))}: cannot train: {exc}. Annotate more posts.") from exc
    seconds = time.perf_counter() - start
    metrics: dict[str, Any] = {}
    if clf.cv_probabilities_ is not None:
        from pipeline.evaluation.run import metric_summary

        oof = (clf.cv_probabilities_ >= clf.thresholds_).astype(int)
        metrics = {"threshold_tuning_oof": metric_summary(Y, oof, clf.cv_probabilities_),
                   "note": "out-of-fold predictions used to tune thresholds: optimistic; "
                           "see 'tiktok-diplomacy evaluate --cv' for honest figures"}
    meta = {
        "config": {k: v for k, v in cfg.items() if k != "path"},
        "training_corpus": {"files": [str(p) for p in corpus_paths], "sha256": corpus_sha256(corpus_paths),
                            "n_posts": len(records),
                            "positives": {c: int(Y[:, j].sum()) for j, c in enumerate(labels())},
                            "languages": dict(Counter(r.get("language") or "und" for r in records).most_common())},
        "train_seconds": round(seconds, 1),
        "metrics": metrics,
    }
    cv_result = None
    if cv >= 2:
        from pipeline.evaluation.run import bootstrap_ci, cross_validate_config, keyword_baseline, metric_summary

        proba, pred = cross_validate_config(records, Y, build_classifier(cfg), k=cv, seed=cfg["seed"])
        cv_result = {"mode": f"{cv}-fold cross-validation (seed {cfg['seed']})", **metric_summary(Y, pred, proba),
                     "bootstrap_ci": bootstrap_ci(Y, pred), "keyword_baseline": metric_summary(Y, keyword_baseline(records))}
        meta["metrics"]["cross_validation"] = cv_result
    full = save_model(clf, Path(out_dir), meta)
    from pipeline.model.card import write_model_card

    write_model_card(Path(out_dir), full, cv_result)
    log.info("trained on %d posts in %.1f s", len(records), seconds)
    return full


def positives_per_label(Y: np.ndarray) -> dict[str, int]:
    return {c: int(Y[:, j].sum()) for j, c in enumerate(labels())}
