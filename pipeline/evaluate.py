"""Evaluation: metrics with bootstrap intervals, cross-validation, a keyword baseline, breakdowns."""

from __future__ import annotations

import json
import logging
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
from sklearn.base import clone
from sklearn.metrics import (average_precision_score, f1_score, hamming_loss, precision_recall_fscore_support,
                             roc_auc_score)
from sklearn.model_selection import KFold

from .classifier import to_indicator
from .corpus import corpus_sha256, read_corpus
from .schema import labels

log = logging.getLogger(__name__)


def metric_summary(Y: np.ndarray, pred: np.ndarray, proba: np.ndarray | None = None) -> dict[str, Any]:
    """Per-label precision/recall/F1/support (+ ROC-AUC, PR-AUC with scores), micro/macro F1,
    subset accuracy and Hamming loss."""
    names = labels()
    p, r, f, s = precision_recall_fscore_support(Y, pred, average=None, zero_division=0)
    per_label: dict[str, dict[str, Any]] = {}
    for j, n in enumerate(names):
        row = {"precision": round(float(p[j]), 4), "recall": round(float(r[j]), 4), "f1": round(float(f[j]), 4),
               "support": int(s[j])}
        if proba is not None and 0 < Y[:, j].sum() < len(Y):
            row["roc_auc"] = round(float(roc_auc_score(Y[:, j], proba[:, j])), 4)
            row["pr_auc"] = round(float(average_precision_score(Y[:, j], proba[:, j])), 4)
        per_label[n] = row
    return {
        "n_posts": int(len(Y)),
        "macro_f1": round(float(f1_score(Y, pred, average="macro", zero_division=0)), 4),
        "micro_f1": round(float(f1_score(Y, pred, average="micro", zero_division=0)), 4),
        "subset_accuracy": round(float((Y == pred).all(axis=1).mean()), 4) if len(Y) else 0.0,
        "hamming_loss": round(float(hamming_loss(Y, pred)), 4) if len(Y) else 0.0,
        "per_label": per_label,
    }


def bootstrap_ci(Y: np.ndarray, pred: np.ndarray, *, n_boot: int = 1000, seed: int = 0,
                 level: float = 0.95) -> dict[str, Any]:
    """Percentile bootstrap intervals (resampling posts) for macro-F1 and each label's F1."""
    rng = np.random.default_rng(seed)
    n = len(Y)
    macro, per = [], []
    for _ in range(n_boot):
        idx = rng.integers(0, n, n)
        macro.append(f1_score(Y[idx], pred[idx], average="macro", zero_division=0))
        per.append(f1_score(Y[idx], pred[idx], average=None, zero_division=0))
    lo, hi = (1 - level) / 2 * 100, (1 + level) / 2 * 100
    per_arr = np.array(per)
    return {
        "level": level, "n_boot": n_boot,
        "macro_f1": [round(float(np.percentile(macro, lo)), 4), round(float(np.percentile(macro, hi)), 4)],
        "per_label_f1": {c: [round(float(np.percentile(per_arr[:, j], lo)), 4),
                             round(float(np.percentile(per_arr[:, j], hi)), 4)] for j, c in enumerate(labels())},
    }


def keyword_baseline(records: Sequence[dict[str, Any]]) -> np.ndarray:
    """The rule baseline users would write by hand: a label fires when any of its cue phrases or
    substrings (configs/cues.toml) occurs in caption, on-screen text or transcript, or when TikTok's flag
    says so (paid partnership → influencer_amplification, duet/stitch → trend_participation)."""
    from .features import PostPreprocessor

    frame = PostPreprocessor().transform(list(records))
    names = labels()
    out = np.zeros((len(records), len(names)), dtype=int)
    for i, meta in enumerate(frame["meta"]):
        for j, n in enumerate(names):
            if any(meta.get(f"{k}={n}") for k in ("cue_text", "cue_transcript", "cue_sub_text", "cue_sub_transcript")):
                out[i, j] = 1
        if meta.get("flag=paid_partnership"):
            out[i, names.index("influencer_amplification")] = 1
        if meta.get("flag=duet") or meta.get("flag=stitch"):
            out[i, names.index("trend_participation")] = 1
    return out


def breakdown(records: Sequence[dict[str, Any]], Y: np.ndarray, pred: np.ndarray, key: str) -> dict[str, Any]:
    """Macro/micro F1 and per-label F1 for each value of ``key`` (language, source …)."""
    groups: dict[str, list[int]] = {}
    for i, r in enumerate(records):
        groups.setdefault(str(r.get(key) or "und"), []).append(i)
    out = {}
    for g, idx in sorted(groups.items(), key=lambda kv: -len(kv[1])):
        s = metric_summary(Y[idx], pred[idx])
        out[g] = {"n_posts": len(idx), "macro_f1": s["macro_f1"], "micro_f1": s["micro_f1"],
                  "positives": {c: int(Y[idx, j].sum()) for j, c in enumerate(labels())},
                  "per_label_f1": {c: v["f1"] for c, v in s["per_label"].items()}}
    return out


def cross_validate_config(records: Sequence[dict[str, Any]], Y: np.ndarray, estimator: Any, k: int = 5,
                          seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Out-of-fold probabilities and predictions of ``estimator`` (cloned per fold)."""
    proba = np.zeros(Y.shape, dtype=float)
    pred = np.zeros(Y.shape, dtype=int)
    for fold, (tr, te) in enumerate(KFold(k, shuffle=True, random_state=seed).split(records), start=1):
        est = clone(estimator).fit([records[i] for i in tr], Y[tr])
        test = [records[i] for i in te]
        proba[te] = est.predict_proba(test)
        pred[te] = est.predict(test)
        log.info("fold %d/%d done", fold, k)
    return proba, pred


def evaluate(corpus_paths: Sequence[Path], *, model_dir: Path | None = None, cv: int = 0,
             config: Path | None = None, report_dir: Path | None = None, n_boot: int = 1000,
             baseline: bool = True) -> dict[str, Any]:
    """Evaluate the model on annotated corpora, or (``cv`` ≥ 2) cross-validate a training config.

    Returns the metrics dict (also written to ``report_dir`` when given).
    """
    records = read_corpus(corpus_paths)
    Y = to_indicator([r["labels"] for r in records], labels())
    result: dict[str, Any] = {"corpus": [str(p) for p in corpus_paths], "corpus_sha256": corpus_sha256(corpus_paths)}
    if cv >= 2:
        from .train import build_classifier, load_config

        cfg = load_config(config)
        proba, pred = cross_validate_config(records, Y, build_classifier(cfg), k=cv, seed=cfg["seed"])
        result["mode"] = f"{cv}-fold cross-validation of {cfg['path']}"
    else:
        from .model_io import DEFAULT_MODEL_DIR, load_model

        model, meta = load_model(model_dir)
        proba = model.predict_proba(records)
        pred = (proba >= model.thresholds_).astype(int)
        result["mode"] = f"model {model_dir or DEFAULT_MODEL_DIR}"
        if meta.get("training_corpus", {}).get("sha256") == result["corpus_sha256"]:
            result["warning"] = ("this corpus is the model's own training corpus: these are training-set figures, "
                                 "not an estimate of accuracy on new posts; use --cv K")
    result.update(metric_summary(Y, pred, proba))
    result["bootstrap_ci"] = bootstrap_ci(Y, pred, n_boot=n_boot)
    if baseline:
        base = keyword_baseline(records)
        result["keyword_baseline"] = metric_summary(Y, base)
    result["by_language"] = breakdown(records, Y, pred, "language")
    result["by_source"] = breakdown(records, Y, pred, "source" if any("source" in r for r in records) else "format")
    if report_dir is not None:
        write_report(Path(report_dir), result, records, Y, pred, proba)
    return result


def write_report(report_dir: Path, result: dict[str, Any], records: Sequence[dict[str, Any]], Y: np.ndarray,
                 pred: np.ndarray, proba: np.ndarray) -> None:
    """metrics.json, misclassified.jsonl (for error analysis) and a Markdown report."""
    report_dir.mkdir(parents=True, exist_ok=True)
    (report_dir / "metrics.json").write_text(json.dumps(result, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    names = labels()
    with open(report_dir / "misclassified.jsonl", "w", encoding="utf-8") as fh:
        for i, r in enumerate(records):
            if (Y[i] != pred[i]).any():
                fh.write(json.dumps({
                    "post_id": r.get("post_id"), "source": r.get("source"), "language": r.get("language"),
                    "gold": [n for j, n in enumerate(names) if Y[i, j]],
                    "predicted": [n for j, n in enumerate(names) if pred[i, j]],
                    "scores": {n: round(float(proba[i, j]), 4) for j, n in enumerate(names)},
                    "caption": r.get("caption"), "on_screen_text": r.get("on_screen_text"),
                    "note": r.get("note")}, ensure_ascii=False) + "\n")
    (report_dir / "report.md").write_text(markdown_report(result), encoding="utf-8")


def markdown_report(result: dict[str, Any]) -> str:
    ci = result["bootstrap_ci"]
    lines = [f"# Evaluation: {result['mode']}", "",
             f"Corpus: {', '.join(result['corpus'])} ({result['n_posts']} posts, sha256 {result['corpus_sha256'][:12]}…)",
             ""]
    if result.get("warning"):
        lines += [f"> **Warning:** {result['warning']}", ""]
    lines += [f"- macro-F1 **{result['macro_f1']:.3f}** (95% bootstrap CI {ci['macro_f1'][0]:.3f}–{ci['macro_f1'][1]:.3f})",
              f"- micro-F1 {result['micro_f1']:.3f}; subset accuracy {result['subset_accuracy']:.3f}; "
              f"Hamming loss {result['hamming_loss']:.3f}", "",
              "| label | precision | recall | F1 (95% CI) | ROC-AUC | PR-AUC | support |",
              "|---|---|---|---|---|---|---|"]
    for n, m in result["per_label"].items():
        lo, hi = ci["per_label_f1"][n]
        lines.append(f"| {n} | {m['precision']:.3f} | {m['recall']:.3f} | {m['f1']:.3f} ({lo:.3f}–{hi:.3f}) | "
                     f"{m.get('roc_auc', float('nan')):.3f} | {m.get('pr_auc', float('nan')):.3f} | {m['support']} |")
    if "keyword_baseline" in result:
        b = result["keyword_baseline"]
        lines += ["", f"Keyword-rule baseline on the same posts: macro-F1 {b['macro_f1']:.3f} "
                      f"(" + ", ".join(f"{n} {m['f1']:.3f}" for n, m in b["per_label"].items()) + ")"]
    for key, title in (("by_language", "language"), ("by_source", "source")):
        lines += ["", f"## By {title}", "", f"| {title} | posts | macro-F1 | " + " | ".join(labels()) + " |",
                  "|---|---|---|" + "---|" * len(labels())]
        for g, m in result[key].items():
            lines.append(f"| {g} | {m['n_posts']} | {m['macro_f1']:.3f} | "
                         + " | ".join(f"{m['per_label_f1'][n]:.2f} ({m['positives'][n]})" for n in labels()) + " |")
    lines += ["", "Per-group cells: F1 (positives). Small groups have wide error bars.", ""]
    return "\n".join(lines)
