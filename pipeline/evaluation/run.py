"""Evaluation: metrics with bootstrap intervals, cross-validation, two baselines, breakdowns.

The baselines are the keyword rules a user would write by hand (:func:`keyword_baseline`) and
spaCy's own ``textcat_multilabel`` trained on the same folds (:mod:`pipeline.evaluation.spacy_baseline`).
Every interval comes from one set of resampled posts, so a difference between two systems is a
paired difference: both are scored on exactly the same bootstrap samples.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from pipeline.config import DEFAULT_MODEL_DIR
from pipeline.corpus.read import corpus_sha256, post_id_hash, read_corpus
from pipeline.errors import PipelineError
from pipeline.evaluation.baselines import keyword_baseline, spacy_textcat_cv
from pipeline.evaluation.calibration import calibration_summary
from pipeline.evaluation.cv import cross_validate_config, fold_groups
from pipeline.evaluation.html import write_html_report
from pipeline.evaluation.markdown import markdown_report
from pipeline.evaluation.metrics import (
    bootstrap_f1,
    breakdown,
    ci_from_samples,
    confusion_counts,
    metric_summary,
    paired_from_samples,
    supported_labels,
)
from pipeline.model.artefact import load_model
from pipeline.model.config import build_classifier, load_config
from pipeline.model.estimator import to_indicator
from pipeline.schema import labels

log = logging.getLogger(__name__)


def evaluate(corpus_paths: Sequence[Path], *, model_dir: Path | None = None, cv: int = 0,
             config: Path | None = None, report_dir: Path | None = None, n_boot: int = 1000,
             baseline: bool = True, spacy_baseline: bool = True, spacy_epochs: int = 10,
             group_by: str | None = None) -> dict[str, Any]:
    """Evaluate the model on annotated corpora, or (``cv`` ≥ 2) cross-validate a training config.

    With ``group_by`` (``"actor"``) and ``cv`` the config is cross-validated a second time on
    folds that never split an account (posts without an actor each form their own group), and
    ``result["grouped_cv"]`` holds those figures beside the random-post ones, with the paired
    difference: how much random folds flatter the model on accounts it has already seen.
    Scores are checked for calibration in ``result["calibration"]`` (and ``grouped_cv``).

    With ``baseline`` the keyword rules are scored on the same posts. With ``spacy_baseline`` and
    ``cv`` ≥ 2, spaCy's ``textcat_multilabel`` is trained on each fold's training part and scored
    on its test part (the same folds as the classifier); a saved model has no training split, so
    without ``cv`` that comparison is skipped and ``result["spacy_textcat"]["skipped"]`` says why.
    Macro-F1 differences to each baseline come with paired bootstrap intervals.

    Returns the metrics dict (also written to ``report_dir`` with report.md and report.html when given).
    """
    corpus_paths = [corpus_paths] if isinstance(corpus_paths, (str, Path)) else list(corpus_paths)
    records = read_corpus(corpus_paths)
    Y = to_indicator([r["labels"] for r in records], labels())
    result: dict[str, Any] = {"corpus": [str(p) for p in corpus_paths], "corpus_sha256": corpus_sha256(corpus_paths)}
    seconds: dict[str, float] = {}
    tc_run: tuple[np.ndarray, np.ndarray] | None = None
    tc_info: dict[str, Any]
    start = time.perf_counter()
    grouped: tuple[np.ndarray, np.ndarray] | None = None
    if group_by is not None and cv < 2:
        raise PipelineError(f"--group-by {group_by} needs --cv K: grouped folds are a cross-validation")
    if cv >= 2:
        cfg = load_config(config)
        proba, pred = cross_validate_config(records, Y, build_classifier(cfg), k=cv, seed=cfg["seed"])
        result["mode"] = f"{cv}-fold cross-validation of {cfg['path']}"
        seconds["model"] = time.perf_counter() - start
        if group_by is not None:
            start = time.perf_counter()
            try:
                grouped = cross_validate_config(records, Y, build_classifier(cfg), k=cv, seed=cfg["seed"],
                                                group_by=group_by)
            except ValueError as exc:
                raise PipelineError(f"{', '.join(map(str, corpus_paths))}: cannot group folds by {group_by}: {exc}") from exc
            seconds["model_grouped_cv"] = time.perf_counter() - start
        if spacy_baseline:
            start = time.perf_counter()
            tc_proba, tc_pred, tc_info = spacy_textcat_cv(records, Y, k=cv, seed=cfg["seed"], epochs=spacy_epochs)
            tc_run = (tc_pred, tc_proba)
            seconds["spacy_textcat"] = time.perf_counter() - start
        else:
            tc_info = {"skipped": "spaCy textcat_multilabel comparison turned off (--no-spacy-baseline)"}
    else:
        model, meta = load_model(model_dir)
        proba = model.predict_proba(records)
        pred = (proba >= model.thresholds_).astype(int)
        seconds["model"] = time.perf_counter() - start
        result["mode"] = f"model {model_dir or DEFAULT_MODEL_DIR}"
        if meta.get("training_corpus", {}).get("sha256") == result["corpus_sha256"]:
            result["warning"] = ("this corpus is the model's own training corpus: these are training-set figures, "
                                 "not an estimate of accuracy on new posts; use --cv K")
        else:
            seen = set(meta.get("training_corpus", {}).get("post_id_sha256_16") or ())
            overlap = sum(post_id_hash(r.get("post_id")) in seen for r in records) if seen else 0
            result["posts_in_training_set"] = overlap
            if overlap:
                result["warning"] = (f"{overlap} of {len(records)} evaluated posts were in the model's training set: "
                                     "figures on them are optimistic; evaluate on posts the model has not seen "
                                     "(or remove those posts)")
        tc_info = {"skipped": "spaCy textcat_multilabel needs a training split to be trained on: run with --cv K "
                              "to compare it with the classifier on the same folds"}
    # system name → (predictions, probabilities or None), in report order
    others: dict[str, tuple[np.ndarray, np.ndarray | None]] = {}
    if baseline:
        start = time.perf_counter()
        others["keyword_baseline"] = (keyword_baseline(records), None)
        seconds["keyword_baseline"] = time.perf_counter() - start
    if tc_run is not None:
        others["spacy_textcat"] = tc_run

    result.update(metric_summary(Y, pred, proba))
    result["calibration"] = calibration_summary(Y, proba, n_boot=n_boot)
    result["confusion"] = confusion_counts(Y, pred)
    samples = bootstrap_f1(Y, [pred] + [p for p, _ in others.values()], n_boot=n_boot)
    supported = supported_labels(Y)
    result["bootstrap_ci"] = ci_from_samples(samples[0], n_boot=n_boot, level=0.95, supported=supported)
    result["paired_differences"] = {}
    for (name, (p, pr)), s in zip(others.items(), samples[1:]):
        result[name] = {**metric_summary(Y, p, pr),
                        "bootstrap_ci": ci_from_samples(s, n_boot=n_boot, level=0.95, supported=supported)}
        result["paired_differences"][f"model_vs_{name}"] = {
            "a": "model", "b": name, **paired_from_samples(Y, pred, p, samples[0], s, n_boot=n_boot, level=0.95)}
    if "spacy_textcat" in others:
        result["spacy_textcat"].update(tc_info)
    else:
        result["spacy_textcat"] = tc_info
    if grouped is not None and group_by is not None:
        result["grouped_cv"] = grouped_summary(records, Y, grouped, (pred, samples[0]), group_by=group_by, k=cv,
                                               seed=cfg["seed"], n_boot=n_boot)
    result["seconds"] = {k: round(v, 1) for k, v in seconds.items()}
    other_preds = {name: p for name, (p, _) in others.items()}
    result["by_language"] = breakdown(records, Y, pred, "language", others=other_preds)
    result["by_source"] = breakdown(records, Y, pred, "source" if any("source" in r for r in records) else "format",
                                    others=other_preds)
    if report_dir is not None:
        write_report(Path(report_dir), result, records, Y, pred, proba, others=others)
    return result


def grouped_summary(records: Sequence[dict[str, Any]], Y: np.ndarray, grouped: tuple[np.ndarray, np.ndarray],
                    random_cv: tuple[np.ndarray, np.ndarray], *, group_by: str, k: int, seed: int,
                    n_boot: int) -> dict[str, Any]:
    """The ``grouped_cv`` section: metrics, intervals and calibration of the account-disjoint
    folds, and their paired difference from the random-post folds (same posts, same resamples)."""
    g_proba, g_pred = grouped
    r_pred, r_samples = random_cv
    (g_samples,) = bootstrap_f1(Y, [g_pred], n_boot=n_boot)
    groups = fold_groups(records, group_by)
    with_value = sum(1 for r in records if isinstance(r.get(group_by), str) and str(r[group_by]).strip())
    return {"mode": f"{k}-fold cross-validation grouped by {group_by} (seed {seed}): no {group_by} in both the "
                    f"training and the test part of a fold; posts without one are their own group",
            "group_by": group_by, "n_groups": int(len(np.unique(groups))), "posts_with_group": with_value,
            **metric_summary(Y, g_pred, g_proba),
            "bootstrap_ci": ci_from_samples(g_samples, n_boot=n_boot, level=0.95),
            "calibration": calibration_summary(Y, g_proba, n_boot=n_boot),
            "grouped_minus_random": {"a": "grouped", "b": "random",
                                     **paired_from_samples(Y, g_pred, r_pred, g_samples, r_samples, n_boot=n_boot,
                                                           level=0.95)},
            "by_language": breakdown(records, Y, g_pred, "language"),
            "by_source": breakdown(records, Y, g_pred, "source" if any("source" in r for r in records) else "format")}


def write_report(report_dir: Path, result: dict[str, Any], records: Sequence[dict[str, Any]], Y: np.ndarray,
                 pred: np.ndarray, proba: np.ndarray,
                 others: Mapping[str, tuple[np.ndarray, np.ndarray | None]] | None = None) -> dict[str, Path]:
    """metrics.json, misclassified.jsonl (for error analysis), report.html with plots (also saved
    under plots/) and report.md; returns name → path of what was written."""
    report_dir.mkdir(parents=True, exist_ok=True)
    others = others or {}
    written = {"metrics.json": report_dir / "metrics.json", "misclassified.jsonl": report_dir / "misclassified.jsonl",
               "report.md": report_dir / "report.md"}
    written["metrics.json"].write_text(json.dumps(result, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    names = labels()
    with open(written["misclassified.jsonl"], "w", encoding="utf-8") as fh:
        for i, r in enumerate(records):
            if (Y[i] != pred[i]).any():
                row = {"post_id": r.get("post_id"), "source": r.get("source"), "language": r.get("language"),
                       "gold": [n for j, n in enumerate(names) if Y[i, j]],
                       "predicted": [n for j, n in enumerate(names) if pred[i, j]],
                       "scores": {n: round(float(proba[i, j]), 4) for j, n in enumerate(names)}}
                if others:
                    row["other_systems"] = {k: [n for j, n in enumerate(names) if p[i, j]] for k, (p, _) in others.items()}
                row.update({"caption": r.get("caption"), "on_screen_text": r.get("on_screen_text"), "note": r.get("note")})
                fh.write(json.dumps(row, ensure_ascii=False) + "\n")
    html_files = write_html_report(report_dir, result, records, Y, pred, proba, others=others)
    plots = [p.relative_to(report_dir).as_posix() for name, p in html_files.items() if name != "report.html"]
    written["report.md"].write_text(markdown_report(result, plots=plots), encoding="utf-8")
    return {**written, **html_files}
