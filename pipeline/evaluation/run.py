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
from sklearn.base import clone
from sklearn.metrics import (average_precision_score, f1_score, hamming_loss, precision_recall_fscore_support,
                             roc_auc_score)
from sklearn.model_selection import KFold

from pipeline.model.estimator import to_indicator
from pipeline.corpus.read import corpus_sha256, read_corpus
from pipeline.schema import labels

log = logging.getLogger(__name__)

#: Display names of the systems compared in one run, in report order.
SYSTEMS = {"model": "strategy classifier", "keyword_baseline": "keyword rules",
           "spacy_textcat": "spaCy textcat_multilabel (BOW)"}
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
    return {
        "n_posts": int(len(Y)),
        "macro_f1": round(float(f1_score(Y, pred, average="macro", zero_division=0)), 4),
        "micro_f1": round(float(f1_score(Y, pred, average="micro", zero_division=0)), 4),
        "subset_accuracy": round(float((Y == pred).all(axis=1).mean()), 4) if len(Y) else 0.0,
        "hamming_loss": round(float(hamming_loss(Y, pred)), 4) if len(Y) else 0.0,
        "per_label": per_label,
    }


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


def _ci_from_samples(per_label: np.ndarray, *, n_boot: int, level: float) -> dict[str, Any]:
    return {"level": level, "n_boot": n_boot, "macro_f1": _percentiles(per_label.mean(axis=1), level),
            "per_label_f1": {c: _percentiles(per_label[:, j], level) for j, c in enumerate(labels())}}


def bootstrap_ci(Y: np.ndarray, pred: np.ndarray, *, n_boot: int = 1000, seed: int = 0,
                 level: float = 0.95) -> dict[str, Any]:
    """Percentile bootstrap intervals (resampling posts) for macro-F1 and each label's F1."""
    (samples,) = bootstrap_f1(Y, [pred], n_boot=n_boot, seed=seed)
    return _ci_from_samples(samples, n_boot=n_boot, level=level)


def _paired_from_samples(Y: np.ndarray, pred_a: np.ndarray, pred_b: np.ndarray, sa: np.ndarray, sb: np.ndarray,
                         *, n_boot: int, level: float) -> dict[str, Any]:
    fa = f1_score(Y, pred_a, average=None, zero_division=0)
    fb = f1_score(Y, pred_b, average=None, zero_division=0)
    return {"level": level, "n_boot": n_boot,
            "macro_f1_a": round(float(fa.mean()), 4), "macro_f1_b": round(float(fb.mean()), 4),
            "difference": round(float(fa.mean() - fb.mean()), 4),
            "ci": _percentiles(sa.mean(axis=1) - sb.mean(axis=1), level),
            "per_label": {c: {"difference": round(float(fa[j] - fb[j]), 4), "ci": _percentiles(sa[:, j] - sb[:, j], level)}
                          for j, c in enumerate(labels())}}


def paired_bootstrap(Y: np.ndarray, pred_a: np.ndarray, pred_b: np.ndarray, *, n_boot: int = 1000, seed: int = 0,
                     level: float = 0.95) -> dict[str, Any]:
    """Macro-F1 (and per-label F1) of system a minus system b, with a paired percentile bootstrap
    interval: each resample of the posts scores both systems, so shared hard posts cancel out."""
    sa, sb = bootstrap_f1(Y, [pred_a, pred_b], n_boot=n_boot, seed=seed)
    return _paired_from_samples(Y, pred_a, pred_b, sa, sb, n_boot=n_boot, level=level)


def keyword_baseline(records: Sequence[dict[str, Any]]) -> np.ndarray:
    """The rule baseline users would write by hand: a label fires when any of its cue phrases or
    substrings (configs/cues.toml) occurs in caption, on-screen text or transcript, or when TikTok's flag
    says so (paid partnership → influencer_amplification, duet/stitch → trend_participation)."""
    from pipeline.features.preprocess import PostPreprocessor

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


def cross_validate_config(records: Sequence[dict[str, Any]], Y: np.ndarray, estimator: Any, k: int = 5,
                          seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Out-of-fold probabilities and predictions of ``estimator`` (cloned per fold).

    The folds depend only on ``k``, ``seed`` and the number of posts, so two estimators
    cross-validated with the same arguments see exactly the same training and test posts.
    """
    proba = np.zeros(Y.shape, dtype=float)
    pred = np.zeros(Y.shape, dtype=int)
    for fold, (tr, te) in enumerate(KFold(k, shuffle=True, random_state=seed).split(records), start=1):
        est = clone(estimator).fit([records[i] for i in tr], Y[tr])
        test = [records[i] for i in te]
        proba[te] = est.predict_proba(test)
        pred[te] = est.predict(test)
        log.info("%s: fold %d/%d done", type(estimator).__name__, fold, k)
    return proba, pred


def spacy_textcat_cv(records: Sequence[dict[str, Any]], Y: np.ndarray, *, k: int, seed: int,
                     epochs: int = 10) -> tuple[np.ndarray, np.ndarray, dict[str, Any]]:
    """Out-of-fold probabilities and predictions of spaCy's ``textcat_multilabel`` on the folds
    :func:`cross_validate_config` gives the classifier for the same ``k`` and ``seed``, and its setup."""
    import spacy

    from pipeline.evaluation.spacy_baseline import BOW_MODEL, SpacyTextcatBaseline

    textcat = SpacyTextcatBaseline(epochs=epochs, random_state=seed)
    proba, pred = cross_validate_config(records, Y, textcat, k=k, seed=seed)
    setup = {"pipeline": 'spacy.blank("xx")', "text": "caption + on-screen text + transcript",
             "architecture": BOW_MODEL["@architectures"], "ngram_size": BOW_MODEL["ngram_size"],
             **textcat.get_params(), "folds": f"the same {k} folds (seed {seed})", "spacy": spacy.__version__}
    return proba, pred, {"setup": setup}


def evaluate(corpus_paths: Sequence[Path], *, model_dir: Path | None = None, cv: int = 0,
             config: Path | None = None, report_dir: Path | None = None, n_boot: int = 1000,
             baseline: bool = True, spacy_baseline: bool = True, spacy_epochs: int = 10) -> dict[str, Any]:
    """Evaluate the model on annotated corpora, or (``cv`` ≥ 2) cross-validate a training config.

    With ``baseline`` the keyword rules are scored on the same posts. With ``spacy_baseline`` and
    ``cv`` ≥ 2, spaCy's ``textcat_multilabel`` is trained on each fold's training part and scored
    on its test part (the same folds as the classifier); a saved model has no training split, so
    without ``cv`` that comparison is skipped and ``result["spacy_textcat"]["skipped"]`` says why.
    Macro-F1 differences to each baseline come with paired bootstrap intervals.

    Returns the metrics dict (also written to ``report_dir`` with report.md and report.html when given).
    """
    records = read_corpus(corpus_paths)
    Y = to_indicator([r["labels"] for r in records], labels())
    result: dict[str, Any] = {"corpus": [str(p) for p in corpus_paths], "corpus_sha256": corpus_sha256(corpus_paths)}
    seconds: dict[str, float] = {}
    tc_run: tuple[np.ndarray, np.ndarray] | None = None
    tc_info: dict[str, Any]
    start = time.perf_counter()
    if cv >= 2:
        from pipeline.train.run import build_classifier, load_config

        cfg = load_config(config)
        proba, pred = cross_validate_config(records, Y, build_classifier(cfg), k=cv, seed=cfg["seed"])
        result["mode"] = f"{cv}-fold cross-validation of {cfg['path']}"
        seconds["model"] = time.perf_counter() - start
        if spacy_baseline:
            start = time.perf_counter()
            tc_proba, tc_pred, tc_info = spacy_textcat_cv(records, Y, k=cv, seed=cfg["seed"], epochs=spacy_epochs)
            tc_run = (tc_pred, tc_proba)
            seconds["spacy_textcat"] = time.perf_counter() - start
        else:
            tc_info = {"skipped": "spaCy textcat_multilabel comparison turned off (--no-spacy-baseline)"}
    else:
        from pipeline.model.artefact import DEFAULT_MODEL_DIR, load_model

        model, meta = load_model(model_dir)
        proba = model.predict_proba(records)
        pred = (proba >= model.thresholds_).astype(int)
        seconds["model"] = time.perf_counter() - start
        result["mode"] = f"model {model_dir or DEFAULT_MODEL_DIR}"
        if meta.get("training_corpus", {}).get("sha256") == result["corpus_sha256"]:
            result["warning"] = ("this corpus is the model's own training corpus: these are training-set figures, "
                                 "not an estimate of accuracy on new posts; use --cv K")
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
    result["confusion"] = confusion_counts(Y, pred)
    samples = bootstrap_f1(Y, [pred] + [p for p, _ in others.values()], n_boot=n_boot)
    result["bootstrap_ci"] = _ci_from_samples(samples[0], n_boot=n_boot, level=0.95)
    result["paired_differences"] = {}
    for (name, (p, pr)), s in zip(others.items(), samples[1:]):
        result[name] = {**metric_summary(Y, p, pr), "bootstrap_ci": _ci_from_samples(s, n_boot=n_boot, level=0.95)}
        result["paired_differences"][f"model_vs_{name}"] = {
            "a": "model", "b": name, **_paired_from_samples(Y, pred, p, samples[0], s, n_boot=n_boot, level=0.95)}
    if "spacy_textcat" in others:
        result["spacy_textcat"].update(tc_info)
    else:
        result["spacy_textcat"] = tc_info
    result["seconds"] = {k: round(v, 1) for k, v in seconds.items()}
    other_preds = {name: p for name, (p, _) in others.items()}
    result["by_language"] = breakdown(records, Y, pred, "language", others=other_preds)
    result["by_source"] = breakdown(records, Y, pred, "source" if any("source" in r for r in records) else "format",
                                    others=other_preds)
    if report_dir is not None:
        write_report(Path(report_dir), result, records, Y, pred, proba, others=others)
    return result


def write_report(report_dir: Path, result: dict[str, Any], records: Sequence[dict[str, Any]], Y: np.ndarray,
                 pred: np.ndarray, proba: np.ndarray,
                 others: Mapping[str, tuple[np.ndarray, np.ndarray | None]] | None = None) -> dict[str, Path]:
    """metrics.json, misclassified.jsonl (for error analysis), report.html with plots (also saved
    under plots/) and report.md; returns name → path of what was written."""
    from pipeline.evaluation.html import write_html_report

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


def _ci(ci: Sequence[float]) -> str:
    return f"{ci[0]:.3f}–{ci[1]:.3f}"


def _signed_ci(ci: Sequence[float]) -> str:
    return f"{ci[0]:+.3f} to {ci[1]:+.3f}"


def comparison_rows(result: dict[str, Any]) -> list[dict[str, Any]]:
    """One row per system scored in ``result``: name, macro/micro F1, macro-F1 CI, per-label F1, mean
    PR-AUC (threshold-free; None without scores) and the paired macro-F1 difference model − system
    (None for the model itself)."""
    rows = []
    for key, title in SYSTEMS.items():
        m = result if key == "model" else result.get(key)
        if not m or "macro_f1" not in m:
            continue
        aps = [v.get("pr_auc") for v in m["per_label"].values()]
        rows.append({"key": key, "system": title, "macro_f1": m["macro_f1"], "micro_f1": m["micro_f1"],
                     "mean_pr_auc": round(float(np.mean(aps)), 4) if None not in aps else None,
                     "macro_f1_ci": m["bootstrap_ci"]["macro_f1"],
                     "per_label_f1": {n: v["f1"] for n, v in m["per_label"].items()},
                     "difference": result.get("paired_differences", {}).get(f"model_vs_{key}")})
    return rows


def markdown_report(result: dict[str, Any], *, plots: Sequence[str] = ()) -> str:
    """The Markdown report: headline figures, per-label table, comparison with the baselines, breakdowns."""
    ci = result["bootstrap_ci"]
    lines = [f"# Evaluation: {result['mode']}", "",
             f"Corpus: {', '.join(result['corpus'])} ({result['n_posts']} posts, sha256 {result['corpus_sha256'][:12]}…)",
             ""]
    if result.get("warning"):
        lines += [f"> **Warning:** {result['warning']}", ""]
    lines += [f"- macro-F1 **{result['macro_f1']:.3f}** (95% bootstrap CI {_ci(ci['macro_f1'])})",
              f"- micro-F1 {result['micro_f1']:.3f}; subset accuracy {result['subset_accuracy']:.3f}; "
              f"Hamming loss {result['hamming_loss']:.3f}", "",
              "| label | precision | recall | F1 (95% CI) | ROC-AUC | PR-AUC | Brier | support |",
              "|---|---|---|---|---|---|---|---|"]
    nan = float("nan")
    for n, m in result["per_label"].items():
        lines.append(f"| {n} | {m['precision']:.3f} | {m['recall']:.3f} | {m['f1']:.3f} ({_ci(ci['per_label_f1'][n])}) | "
                     f"{m.get('roc_auc', nan):.3f} | {m.get('pr_auc', nan):.3f} | {m.get('brier', nan):.3f} | "
                     f"{m['support']} |")
    rows = comparison_rows(result)
    lines += ["", "## Comparison on the same posts", "",
              "| system | macro-F1 (95% CI) | micro-F1 | " + " | ".join(f"{n} F1" for n in labels())
              + " | mean PR-AUC | model − system, macro-F1 (paired 95% CI) |",
              "|---|---|---|" + "---|" * len(labels()) + "---|---|"]
    for r in rows:
        d = r["difference"]
        diff = f"{d['difference']:+.3f} ({_signed_ci(d['ci'])})" if d else "—"
        ap = f"{r['mean_pr_auc']:.3f}" if r["mean_pr_auc"] is not None else "—"
        lines.append(f"| {r['system']} | {r['macro_f1']:.3f} ({_ci(r['macro_f1_ci'])}) | {r['micro_f1']:.3f} | "
                     + " | ".join(f"{r['per_label_f1'][n]:.3f}" for n in labels()) + f" | {ap} | {diff} |")
    skipped = result.get("spacy_textcat", {}).get("skipped")
    if skipped:
        lines += ["", f"spaCy textcat_multilabel: not run — {skipped}."]
    lines += ["", "Paired differences: both systems are scored on the same bootstrap resamples of the posts; "
                  "an interval that excludes 0 means the gap is not resampling noise. F1 depends on each "
                  "system's threshold (tuned per label for the classifier, 0.5 for spaCy textcat); mean PR-AUC "
                  "compares how well the scores rank posts, whatever the threshold."]
    for key, title in (("by_language", "language"), ("by_source", "source")):
        other = list(next(iter(result[key].values()), {}).get("other_systems_macro_f1", {}))
        lines += ["", f"## By {title}", "", f"| {title} | posts | macro-F1 | " + " | ".join(labels()) + " | "
                  + "".join(f"{SYSTEMS[k]} macro-F1 | " for k in other),
                  "|---|---|---|" + "---|" * (len(labels()) + len(other))]
        for g, m in result[key].items():
            cell = str(g).replace("|", "\\|")  # group names come from the data
            lines.append(f"| {cell} | {m['n_posts']} | {_opt(m['macro_f1'])} | "
                         + " | ".join(f"{_opt(m['per_label_f1'][n], 2)} ({m['positives'][n]})" for n in labels())
                         + " | " + "".join(f"{_opt(v)} | " for v in m.get("other_systems_macro_f1", {}).values()))
    lines += ["", "Per-group cells: F1 (positives), then the other systems' macro-F1 on the same posts; "
              "'–' where a label has no gold and no predicted post in the group (macro-F1 averages the others). "
                  "Small groups have wide error bars."]
    if plots:
        lines += ["", "## Plots", "", "See report.html for all of this with the plots inline.", ""]
        lines += [f"- [{Path(p).stem.replace('_', ' ')}]({p})" for p in plots]
    lines.append("")
    return "\n".join(lines)


def _opt(v: float | None, digits: int = 3) -> str:
    """A figure, or an en dash where there is none (no gold or predicted post of the label)."""
    return "–" if v is None else f"{v:.{digits}f}"
