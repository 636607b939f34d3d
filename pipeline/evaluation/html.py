"""The evaluation report as one self-contained HTML page with plots, and the plots as PNG files.

Plots: precision–recall curves per label (with average precision), per-label 2×2 confusion
matrices, reliability diagrams per label (with Brier scores) and a comparison of the systems'
F1 with bootstrap intervals. They are drawn with matplotlib's Agg canvas (no display, no global
pyplot state), embedded as base64 PNGs and also saved under ``plots/``.

Every piece of text from the corpus or the command line (captions, post ids, languages,
sources, file names) goes through :func:`html.escape`, and the page carries a
Content-Security-Policy that forbids scripts and outside resources.
"""

from __future__ import annotations

import base64
import logging
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from pipeline.evaluation.markdown import SYSTEMS, comparison_rows
from pipeline.io.html import esc as _e, file_list, html_document, render_png
from pipeline.schema import labels

log = logging.getLogger(__name__)

PLOT_DIR = "plots"
MAX_ERRORS_SHOWN = 25
CAPTION_CHARS = 280
COLOURS = {"model": "#4c78a8", "keyword_baseline": "#e45756", "spacy_textcat": "#f58518"}
_CSS = """
body{font-family:system-ui,-apple-system,"Segoe UI",sans-serif;margin:2rem auto;max-width:1200px;padding:0 1rem;
color:#222;line-height:1.45}
h2{margin-top:2.2rem;border-bottom:1px solid #ddd;padding-bottom:.2rem}
.meta,.note{color:#555} .note{font-size:.9rem} .warn{background:#fff4e5;border-left:4px solid #f58518;padding:.5rem 1rem}
.headline{font-size:1.15rem} .scroll{overflow-x:auto} table{border-collapse:collapse;font-size:.85rem;margin:.6rem 0}
th,td{border:1px solid #ddd;padding:.25rem .5rem;text-align:right;vertical-align:top}
th{background:#f4f4f4} td:first-child,th:first-child{text-align:left} td.text{text-align:left;white-space:normal;
max-width:32rem} figure{margin:1rem 0} figure img{max-width:100%;height:auto;border:1px solid #eee}
figcaption{color:#555;font-size:.85rem}
"""


def _png(draw: Callable[[Any], None], size: tuple[float, float]) -> bytes:
    return render_png(draw, size, dpi=100)


# ---------------------------------------------------------------- plots

def pr_curves(Y: np.ndarray, proba: np.ndarray, pred: np.ndarray,
              others: Mapping[str, tuple[np.ndarray, np.ndarray | None]]) -> bytes:
    """Precision–recall curve of each label for every system with scores; systems without scores
    (keyword rules) and each system's decision threshold drawn as points."""
    from sklearn.metrics import average_precision_score, precision_recall_curve

    systems = {"model": (pred, proba), **others}

    def draw(fig: Any) -> None:
        axes = fig.subplots(1, Y.shape[1], squeeze=False)[0]
        for j, (ax, name) in enumerate(zip(axes, labels())):
            y = Y[:, j]
            for key, (p, pr) in systems.items():
                colour = COLOURS.get(key, "#555")
                if pr is not None and 0 < y.sum() < len(y):
                    prec, rec, _ = precision_recall_curve(y, pr[:, j])
                    ap = average_precision_score(y, pr[:, j])
                    ax.step(rec, prec, where="post", color=colour, lw=1.4, ls="-" if key == "model" else "--",
                            label=f"{key} (AP {ap:.2f})")
                tp, npred = int((p[:, j] & y).sum()), int(p[:, j].sum())
                if y.sum():
                    ax.plot(tp / y.sum(), tp / npred if npred else 1.0, "o" if pr is not None else "s", color=colour,
                            ms=6, mec="white", label=None if pr is not None else f"{key} (no scores)")
            ax.axhline(y.mean() if len(y) else 0, color="#999", lw=0.8, ls=":", label="chance (prevalence)")
            ax.set(xlim=(0, 1.01), ylim=(0, 1.02), xlabel="recall", title=f"{name} ({int(y.sum())} positives)")
            ax.legend(fontsize=7, loc="best", framealpha=0.85, edgecolor="none")
        axes[0].set_ylabel("precision")

    return _png(draw, (4.2 * Y.shape[1], 3.8))


def confusion_plot(confusion: Mapping[str, Mapping[str, int]]) -> bytes:
    """One 2×2 matrix of counts per label: rows gold, columns predicted."""

    def draw(fig: Any) -> None:
        axes = fig.subplots(1, len(confusion), squeeze=False)[0]
        for ax, (name, c) in zip(axes, confusion.items()):
            m = np.array([[c["tn"], c["fp"]], [c["fn"], c["tp"]]])
            share = m / np.maximum(m.sum(axis=1, keepdims=True), 1)
            ax.imshow(share, cmap="Blues", vmin=0, vmax=1)
            for (r, k), v in np.ndenumerate(m):
                ax.text(k, r, f"{v}\n{share[r, k]:.0%}", ha="center", va="center",
                        color="white" if share[r, k] > 0.6 else "black", fontsize=9)
            ax.set_xticks([0, 1], ["no", "yes"])
            ax.set_yticks([0, 1], ["no", "yes"])
            ax.set(xlabel="predicted", ylabel="gold", title=name)

    return _png(draw, (3.3 * len(confusion), 3.3))


def calibration_plot(Y: np.ndarray, proba: np.ndarray, others: Mapping[str, tuple[np.ndarray, np.ndarray | None]],
                     *, n_bins: int = 10) -> bytes:
    """Reliability diagram per label (fraction positive against mean predicted probability in 10
    equal-width bins) above a histogram of the predicted probabilities, Brier score in the legend."""
    from sklearn.calibration import calibration_curve

    scored = {"model": proba, **{k: pr for k, (_, pr) in others.items() if pr is not None}}

    def draw(fig: Any) -> None:
        axes = fig.subplots(2, Y.shape[1], squeeze=False, height_ratios=[3, 1], sharex=True)
        for j, name in enumerate(labels()):
            top, hist = axes[0, j], axes[1, j]
            top.plot([0, 1], [0, 1], color="#999", lw=0.8, ls=":", label="perfectly calibrated")
            y = Y[:, j]
            for key, pr in scored.items():
                colour = COLOURS.get(key, "#555")
                brier = float(np.mean((pr[:, j] - y) ** 2))
                if 0 < y.sum() < len(y):
                    frac, mean_pred = calibration_curve(y, pr[:, j], n_bins=n_bins, strategy="uniform")
                    top.plot(mean_pred, frac, marker="o", ms=3, color=colour, ls="-" if key == "model" else "--",
                             label=f"{key} (Brier {brier:.3f})")
                hist.hist(pr[:, j], bins=n_bins, range=(0, 1), color=colour, alpha=0.5, log=True)
            top.set(xlim=(0, 1), ylim=(0, 1), title=name)
            top.legend(fontsize=7, loc="upper left", frameon=False)
            hist.set_xlabel("predicted probability")
            # mathtext is off (captions may hold '$'), so log ticks need a plain formatter
            hist.yaxis.set_major_formatter("{x:.0f}")
            hist.yaxis.set_minor_formatter("")
        axes[0, 0].set_ylabel("fraction of posts with the label")
        axes[1, 0].set_ylabel("posts (log)")

    return _png(draw, (4.2 * Y.shape[1], 4.6))


def comparison_plot(rows: Sequence[dict[str, Any]], result: dict[str, Any]) -> bytes:
    """F1 with 95% bootstrap intervals per system: macro-F1 and each label."""
    cats = ["macro-F1", *labels()]

    def draw(fig: Any) -> None:
        ax = fig.add_subplot()
        height = 0.8 / max(len(rows), 1)
        for i, r in enumerate(rows):
            m = result if r["key"] == "model" else result[r["key"]]
            ci = m["bootstrap_ci"]
            vals = [r["macro_f1"], *(r["per_label_f1"][n] for n in labels())]
            cis = [ci["macro_f1"], *(ci["per_label_f1"][n] for n in labels())]
            ypos = np.arange(len(cats)) + (i - (len(rows) - 1) / 2) * height
            err = np.array([[v - c[0] for v, c in zip(vals, cis)], [c[1] - v for v, c in zip(vals, cis)]])
            ax.barh(ypos, vals, height=height, xerr=np.clip(err, 0, None), color=COLOURS.get(r["key"], "#555"),
                    label=r["system"], error_kw={"elinewidth": 0.8, "capsize": 2})
        ax.set_yticks(range(len(cats)), cats)
        ax.invert_yaxis()
        ax.set(xlim=(0, 1), xlabel="F1 (bars: 95% bootstrap interval)")
        fig.legend(loc="outside lower center", ncol=len(rows), frameon=False)

    return _png(draw, (8, 1.4 + 0.55 * len(cats) * max(len(rows), 1) / 2))


def draw_plots(result: dict[str, Any], Y: np.ndarray, pred: np.ndarray, proba: np.ndarray,
               others: Mapping[str, tuple[np.ndarray, np.ndarray | None]]) -> dict[str, tuple[str, bytes]]:
    """name → (caption, PNG bytes)."""

    pred = np.asarray(pred, dtype=bool)
    others_b = {k: (np.asarray(p, dtype=bool), pr) for k, (p, pr) in others.items()}
    out = {"comparison": ("F1 of each system on the same posts, with 95% bootstrap intervals",
                          comparison_plot(comparison_rows(result), result)),
           "pr_curves": ("Precision–recall curves per label (AP = average precision; dots = each system's "
                         "decision threshold, squares = keyword rules, dotted line = a random scorer)",
                         pr_curves(Y, proba, pred, others_b)),
           "confusion": ("Classifier confusion matrices per label: counts and share of each gold row",
                         confusion_plot(result["confusion"])),
           "calibration": ("Reliability diagrams per label (10 equal-width bins) with Brier scores; below, "
                           "how the predicted probabilities are spread (log scale)",
                           calibration_plot(Y, proba, others_b))}
    return out


# ---------------------------------------------------------------- HTML

def _table(headers: Sequence[str], rows: Sequence[Sequence[object]], text_cols: Sequence[int] = ()) -> str:
    if not rows:
        return '<p class="note">No data.</p>'
    head = "".join(f"<th>{_e(h)}</th>" for h in headers)
    cell = ('<td class="text">', "<td>")
    body = "\n".join("<tr>" + "".join(f"{cell[k not in text_cols]}{_e(c)}</td>" for k, c in enumerate(row)) + "</tr>"
                     for row in rows)
    return f'<div class="scroll"><table><thead><tr>{head}</tr></thead>\n<tbody>\n{body}\n</tbody></table></div>'


def _figure(caption: str, png: bytes) -> str:
    data = base64.b64encode(png).decode("ascii")
    return (f'<figure><img src="data:image/png;base64,{data}" alt="{_e(caption)}">'
            f"<figcaption>{_e(caption)}</figcaption></figure>")


def _f(v: Any) -> str:
    return "—" if v is None else f"{v:.3f}"


def _ci(ci: Sequence[float]) -> str:
    return f"{ci[0]:.3f}–{ci[1]:.3f}"


def error_rows(records: Sequence[dict[str, Any]], Y: np.ndarray, pred: np.ndarray, proba: np.ndarray,
               limit: int = MAX_ERRORS_SHOWN) -> list[list[object]]:
    """The misclassified posts the classifier was most confident about (worst first)."""
    names = labels()
    wrong = np.flatnonzero((Y != pred).any(axis=1))
    confidence = np.where(Y != pred, np.abs(proba - Y), 0).max(axis=1)
    rows = []
    for i in wrong[np.argsort(-confidence[wrong], kind="stable")][:limit]:
        r = records[i]
        caption = str(r.get("caption") or r.get("on_screen_text") or "")
        rows.append([r.get("post_id"), r.get("language") or "und", r.get("source") or r.get("format") or "",
                     ", ".join(n for j, n in enumerate(names) if Y[i, j]) or "none",
                     ", ".join(n for j, n in enumerate(names) if pred[i, j]) or "none",
                     ", ".join(f"{n} {proba[i, j]:.2f}" for j, n in enumerate(names)),
                     caption[:CAPTION_CHARS] + ("…" if len(caption) > CAPTION_CHARS else "")])
    return rows


HOW_TO_READ = (
    "F1 is the harmonic mean of precision (share of predicted labels that are right) and recall (share of gold "
    "labels found); macro-F1 averages the labels equally, micro-F1 pools all label decisions.",
    "Intervals are 95% percentile bootstrap intervals over posts: they show how much the figures would move with "
    "another sample of posts like these, not annotation error.",
    "Paired differences score both systems on the same resampled posts; if the interval excludes 0, the gap is "
    "not resampling noise. With cross-validation every post is predicted by models that did not see it, and all "
    "trained systems use the same folds.",
    "Precision–recall curves: the further up and right, the better; average precision (AP) summarises a curve, and "
    "a random scorer sits at the label's prevalence.",
    "Reliability diagrams: points on the diagonal mean a predicted 0.7 is right about 70% of the time. The Brier "
    "score is the mean squared error of the probabilities (lower is better; always predicting the prevalence p "
    "scores p·(1−p)).",
    "Confusion matrices: rows are the gold labels, columns the predictions; the shares are per gold row.",
    "Per-language and per-source figures on small groups have wide error bars; read them as leads for error "
    "analysis, together with misclassified.jsonl.",
)


def render_html(result: dict[str, Any], plots: Mapping[str, tuple[str, bytes]],
                errors: Sequence[Sequence[object]]) -> str:
    """The whole HTML document as a string."""

    names = labels()
    ci = result["bootstrap_ci"]
    title = f"Evaluation: {result['mode']}"
    parts = [f"<h1>{_e(title)}</h1>",
             f'<p class="meta">Corpus: {_e(", ".join(result["corpus"]))} — {result["n_posts"]} posts, '
             f'sha256 {_e(result["corpus_sha256"][:12])}…</p>']
    if result.get("warning"):
        parts.append(f'<p class="warn"><strong>Warning:</strong> {_e(result["warning"])}</p>')
    parts.append(f'<p class="headline">macro-F1 <strong>{result["macro_f1"]:.3f}</strong> '
                 f'(95% CI {_ci(ci["macro_f1"])}) · micro-F1 {result["micro_f1"]:.3f} · subset accuracy '
                 f'{result["subset_accuracy"]:.3f} · Hamming loss {result["hamming_loss"]:.3f}</p>')
    parts.append("<h2>How to read this report</h2><ul>" + "".join(f"<li>{_e(t)}</li>" for t in HOW_TO_READ) + "</ul>")

    parts.append("<h2>Per label</h2>")
    rows = [[n, f"{m['precision']:.3f}", f"{m['recall']:.3f}", f"{m['f1']:.3f}", _ci(ci["per_label_f1"][n]),
             _f(m.get("roc_auc")), _f(m.get("pr_auc")), _f(m.get("brier")), m["support"]]
            for n, m in result["per_label"].items()]
    parts.append(_table(["label", "precision", "recall", "F1", "F1 95% CI", "ROC-AUC", "PR-AUC", "Brier",
                         "support"], rows))

    parts.append("<h2>Comparison with the baselines</h2>")
    comp = []
    for r in comparison_rows(result):
        d = r["difference"]
        comp.append([r["system"], f"{r['macro_f1']:.3f}", _ci(r["macro_f1_ci"]), f"{r['micro_f1']:.3f}",
                     *(f"{r['per_label_f1'][n]:.3f}" for n in names), _f(r["mean_pr_auc"]),
                     f"{d['difference']:+.3f}" if d else "—",
                     f"{d['ci'][0]:+.3f} to {d['ci'][1]:+.3f}" if d else "—"])
    parts.append(_table(["system", "macro-F1", "95% CI", "micro-F1", *(f"{n} F1" for n in names), "mean PR-AUC",
                         "model − system (macro-F1)", "paired 95% CI"], comp))
    parts.append('<p class="note">F1 depends on each system\'s threshold (tuned per label for the classifier, '
                 "0.5 for spaCy textcat); mean PR-AUC compares how well the scores rank posts, whatever the "
                 "threshold.</p>")
    tc = result.get("spacy_textcat", {})
    if tc.get("skipped"):
        parts.append(f'<p class="note">spaCy textcat_multilabel: not run — {_e(tc["skipped"])}.</p>')
    elif tc.get("setup"):
        setup = ", ".join(f"{k} {v}" for k, v in tc["setup"].items())
        parts.append(f'<p class="note">spaCy textcat_multilabel setup: {_e(setup)}.</p>')
    if "keyword_baseline" in result:
        parts.append('<p class="note">Keyword rules: a label fires when one of its cue phrases or substrings '
                     "(configs/cues.toml) occurs, or TikTok's paid-partnership / duet / stitch flag says so. "
                     "They give no scores, so they appear as points on the precision–recall plot.</p>")
    if "seconds" in result:
        parts.append('<p class="note">Run time (s): ' + _e(", ".join(f"{k} {v}" for k, v in result["seconds"].items()))
                     + "</p>")
    parts.append(_figure(*plots["comparison"]))

    conf = [[n, c["tp"], c["fp"], c["fn"], c["tn"], sum(c.values())] for n, c in result["confusion"].items()]
    for key, heading in (("pr_curves", "Precision–recall curves"), ("confusion", "Confusion per label"),
                         ("calibration", "Calibration")):
        parts.append(f"<h2>{_e(heading)}</h2>")
        parts.append(_figure(*plots[key]))
        if key == "confusion":
            parts.append(_table(["label", "true positives", "false positives", "false negatives", "true negatives",
                                 "posts"], conf))
        if key == "calibration" and "calibration" in result:
            parts.append(calibration_table(result["calibration"]))
    if "grouped_cv" in result:
        parts.append(grouped_section(result["grouped_cv"]))

    for key, heading in (("by_language", "By language"), ("by_source", "By source")):
        parts.append(f"<h2>{_e(heading)}</h2>")
        groups = result[key]
        first: dict[str, Any] = next(iter(groups.values()), {})
        other = first.get("other_systems_macro_f1", {})
        headers = ["group", "posts", "macro-F1", *(f"{n} F1 (positives)" for n in names),
                   *(f"macro-F1 {SYSTEMS.get(k, k)}" for k in other)]
        rows = [[g, m["n_posts"], _f(m["macro_f1"]),
                 *(f"{'—' if m['per_label_f1'][n] is None else format(m['per_label_f1'][n], '.2f')} ({m['positives'][n]})"
                   for n in names),
                 *(_f(v) for v in m.get("other_systems_macro_f1", {}).values())] for g, m in groups.items()]
        parts.append(_table(headers, rows))

    parts.append(f"<h2>Most confident errors</h2><p class=\"note\">The {len(errors)} misclassified posts with the "
                 "most confident wrong score; every misclassified post is in misclassified.jsonl.</p>")
    parts.append(_table(["post", "language", "source", "gold", "predicted", "scores", "caption"], errors,
                        text_cols=(5, 6)))
    files = ["metrics.json", "misclassified.jsonl", "report.md", *(f"{PLOT_DIR}/{k}.png" for k in plots)]
    parts.append(file_list(files))
    return html_document(title, "\n".join(parts), _CSS)


def calibration_table(cal: dict[str, Any]) -> str:
    """Per label: Brier, ECE and calibration slope/intercept with their bootstrap intervals."""
    rows = [[n, _f(c["brier"]), _f(c["ece"]), _ci(c["ece_ci"]) if c.get("ece_ci") else "—", _f(c["slope"]),
             _ci(c["slope_ci"]) if c.get("slope_ci") else "—", _f(c["intercept"])]
            for n, c in cal["per_label"].items()]
    return (_table(["label", "Brier", "ECE", "ECE 95% CI", "calibration slope", "slope 95% CI", "intercept"], rows)
            + '<p class="note">Calibration slope: logistic regression of the gold label on logit(score); 1 is '
              "calibrated, above 1 the scores are too timid, below 1 too confident. ECE: post-weighted mean gap "
              "between score and observed rate in 10 equal-width bins.</p>")


def grouped_section(g: dict[str, Any]) -> str:
    """The account-disjoint cross-validation: headline, per-label table, calibration, difference to random folds."""
    names = labels()
    ci, d = g["bootstrap_ci"], g["grouped_minus_random"]
    rows = [[n, f"{m['precision']:.3f}", f"{m['recall']:.3f}", f"{m['f1']:.3f}", _ci(ci["per_label_f1"][n]),
             f"{d['per_label'][n]['difference']:+.3f}", f"{d['per_label'][n]['ci'][0]:+.3f} to "
             f"{d['per_label'][n]['ci'][1]:+.3f}", m["support"]] for n, m in g["per_label"].items()]
    parts = [f"<h2>Accounts the model has not seen (grouped by {_e(g['group_by'])})</h2>",
             f'<p class="note">{_e(g["mode"])}. {g["n_groups"]} groups; {g["posts_with_group"]} posts carry '
             f"a {_e(g['group_by'])}.</p>",
             f'<p class="headline">macro-F1 <strong>{g["macro_f1"]:.3f}</strong> (95% CI {_ci(ci["macro_f1"])}); '
             f"grouped − random folds {d['difference']:+.3f} (paired 95% CI {d['ci'][0]:+.3f} to "
             f"{d['ci'][1]:+.3f})</p>",
             _table(["label", "precision", "recall", "F1", "F1 95% CI", "grouped − random F1", "paired 95% CI",
                     "support"], rows),
             calibration_table(g["calibration"])]
    by = g.get("by_source", {})
    parts.append(_table(["source", "posts", "macro-F1", *(f"{n} F1" for n in names)],
                        [[k, m["n_posts"], _f(m["macro_f1"]), *(_f(m["per_label_f1"][n]) for n in names)]
                         for k, m in by.items()]))
    return "\n".join(parts)


def write_html_report(report_dir: Path, result: dict[str, Any], records: Sequence[dict[str, Any]], Y: np.ndarray,
                      pred: np.ndarray, proba: np.ndarray,
                      others: Mapping[str, tuple[np.ndarray, np.ndarray | None]] | None = None) -> dict[str, Path]:
    """Write ``plots/*.png`` and ``report.html`` into ``report_dir``; return name → path."""
    plots = draw_plots(result, Y, pred, proba, others or {})
    plot_dir = report_dir / PLOT_DIR
    plot_dir.mkdir(parents=True, exist_ok=True)
    written: dict[str, Path] = {}
    for name, (_, png) in plots.items():
        written[f"{name}.png"] = plot_dir / f"{name}.png"
        written[f"{name}.png"].write_bytes(png)
    written["report.html"] = report_dir / "report.html"
    written["report.html"].write_text(render_html(result, plots, error_rows(records, Y, pred, proba)), encoding="utf-8")
    log.info("wrote %s and %d plots", written["report.html"], len(plots))
    return written
