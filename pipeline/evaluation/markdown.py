"""The evaluation report in Markdown, and the comparison of the model with its baselines."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from pipeline.schema import labels

SYSTEMS = {"model": "strategy classifier", "keyword_baseline": "keyword rules",
           "spacy_textcat": "spaCy textcat_multilabel (BOW)"}


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
    if "calibration" in result:
        lines += ["", "## Calibration", ""] + calibration_lines(result["calibration"])
    g = result.get("grouped_cv")
    if g:
        gci, d = g["bootstrap_ci"], g["grouped_minus_random"]
        lines += ["", f"## Accounts the model has not seen (grouped by {g['group_by']})", "", f"{g['mode']}; "
                  f"{g['n_groups']} groups.", "",
                  f"- macro-F1 **{g['macro_f1']:.3f}** (95% CI {_ci(gci['macro_f1'])}); grouped − random folds "
                  f"{d['difference']:+.3f} (paired 95% CI {_signed_ci(d['ci'])})", "",
                  "| label | precision | recall | F1 (95% CI) | grouped − random F1 (paired 95% CI) | support |",
                  "|---|---|---|---|---|---|"]
        for n, m in g["per_label"].items():
            pl = d["per_label"][n]
            lines.append(f"| {n} | {m['precision']:.3f} | {m['recall']:.3f} | {m['f1']:.3f} "
                         f"({_ci(gci['per_label_f1'][n])}) | {pl['difference']:+.3f} ({_signed_ci(pl['ci'])}) | "
                         f"{m['support']} |")
        lines += [""] + calibration_lines(g["calibration"])
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
        first: dict[str, Any] = next(iter(result[key].values()), {})
        other = list(first.get("other_systems_macro_f1", {}))
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


def calibration_lines(cal: dict[str, Any]) -> list[str]:
    """Markdown table of Brier, ECE and calibration slope per label (slope 1 = calibrated; > 1 too timid)."""
    out = ["| label | Brier | ECE (95% CI) | calibration slope (95% CI) | intercept |", "|---|---|---|---|---|"]
    for n, c in cal["per_label"].items():
        ece = f"{c['ece']:.3f}" + (f" ({_ci(c['ece_ci'])})" if c.get("ece_ci") else "")
        slope = _opt(c["slope"], 2) + (f" ({c['slope_ci'][0]:.2f}–{c['slope_ci'][1]:.2f})" if c.get("slope_ci") else "")
        out.append(f"| {n} | {_opt(c['brier'], 4)} | {ece} | {slope} | {_opt(c['intercept'], 2)} |")
    return out


def _opt(v: float | None, digits: int = 3) -> str:
    """A figure, or an en dash where there is none (no gold or predicted post of the label)."""
    return "–" if v is None else f"{v:.{digits}f}"
