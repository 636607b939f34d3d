"""What the report says about where its numbers come from: model, accuracy, thresholds, definitions, inputs.

Everything is read from the labelled file's provenance (``OUT.meta.json`` or Parquet metadata,
written by ``label``; see :mod:`pipeline.label.provenance`).  Without it the report says so and
the prior-shift-adjusted estimate is left out (it needs the model's training prevalence).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from pipeline.report.sections import Section, pct

HEADLINE = "adjusted"


def how_to_read(headline: str, why: str) -> list[str]:
    """The "how to read these numbers" box; ``headline``/``why`` from :func:`pipeline.report.estimate.choose_headline`."""
    out = [
        "Every share is an estimate made by a classifier, not a count of hand-annotated posts. Each comes "
        "with a 95% interval; read the interval, not the point.",
        "Three estimates per strategy: (a) counted = posts whose score is at or above the strategy's threshold "
        "÷ posts (Wilson interval); (b) mean probability = the mean calibrated score (bootstrap interval); "
        "(c) adjusted = the prior-shift correction (EM, Saerens, Latinne & Decaestecker 2002) of the calibrated "
        "scores (bootstrap interval).",
        f"Headline: the {headline} share, because {why}",
    ]
    out += [
        "A post can carry several strategies, so shares need not add up to 100%.",
        "Groups with fewer than 30 posts are marked †: their intervals are wide, and they get no adjusted "
        "estimate (with a handful of posts EM jumps to 0% or 100%); read their counted share. Intervals resample "
        "posts; posts of one actor are alike, so intervals of actor types, countries and languages are somewhat "
        "too narrow. When no post of a group scores high, EM and its bootstrap both sit at 0%: the counted "
        "share's Wilson interval is then the better upper bound.",
        "Posts without an actor handle are one labelled row, '(no actor)', never ranked among actors or "
        "actor types. Actor types come from configs/actors.toml (plus --actors); other handles are 'unknown'.",
        "Engagement-weighted shares use another denominator: views (likes, shares) of posts with the strategy ÷ "
        "views of all posts whose views are known. They are in their own section, not beside post shares.",
    ]
    return out


def _f1(per: Mapping[str, Any], ci: Mapping[str, Any] | None, label: str) -> str:
    f1 = (per.get(label) or {}).get("f1")
    if f1 is None:
        return "–"
    interval = (ci or {}).get(label)
    return f"{f1:.3f}" + (f" ({interval[0]:.3f}–{interval[1]:.3f})" if interval else "")


def _grouped(metrics: Mapping[str, Any]) -> Mapping[str, Any] | None:
    """The account-grouped CV result: ``train --cv`` stores it under ``cross_validation.grouped``."""
    cv = metrics.get("cross_validation")
    if isinstance(cv, Mapping) and isinstance(cv.get("grouped"), Mapping) and "per_label" in cv["grouped"]:
        return cv["grouped"]
    for key, value in metrics.items():
        if "group" in key and isinstance(value, Mapping) and "per_label" in value:
            return value
    return None


def provenance_sections(prov: Mapping[str, Any] | None, names: Sequence[str]) -> list[Section]:
    """Model and accuracy, strategy definitions, and inputs sections."""
    if not prov:
        return [Section("model", "Model and definitions", "This labelled file has no provenance (no OUT.meta.json "
                        "next to it, no Parquet metadata): the model, its accuracy and the label definitions are "
                        "unknown. Files labelled by this version of 'label' carry them.", [], [])]
    model = prov.get("model") or {}
    metrics = model.get("metrics") or {}
    cv = metrics.get("cross_validation") or {}
    grouped = _grouped(metrics)
    prevalence = (model.get("training_corpus") or {}).get("prevalence") or {}
    thresholds = prov.get("thresholds") or {}
    headers = ["strategy", "threshold", "training prevalence", "precision (random CV)", "recall (random CV)",
               "F1 (random CV, 95% CI)"] + (["F1 (grouped CV)"] if grouped else [])
    rows = []
    for n in names:
        per = (cv.get("per_label") or {}).get(n) or {}
        row = [n, f"{thresholds.get(n, float('nan')):.2f}", pct(prevalence.get(n)),
               f"{per['precision']:.3f}" if "precision" in per else "–",
               f"{per['recall']:.3f}" if "recall" in per else "–",
               _f1(cv.get("per_label") or {}, (cv.get("bootstrap_ci") or {}).get("per_label_f1"), n)]
        if grouped:
            row.append(_f1(grouped.get("per_label") or {}, None, n))
        rows.append(row)
    corpus = model.get("training_corpus") or {}
    paras = [f"Model '{model.get('id')}' ({model.get('model_file')}, sha256 {model.get('sha256')}), trained "
             f"{model.get('created_at')} on {corpus.get('n_posts')} annotated posts "
             f"(corpus sha256 {str(corpus.get('sha256'))[:16]}…).",
             f"Accuracy: {cv.get('mode', 'no cross-validation recorded')}; macro-F1 {cv.get('macro_f1', '–')}"
             + (f" (95% CI {cv['bootstrap_ci']['macro_f1'][0]}–{cv['bootstrap_ci']['macro_f1'][1]})"
                if (cv.get("bootstrap_ci") or {}).get("macro_f1") else "")
             + (f"; grouped CV macro-F1 {grouped.get('macro_f1')} ({grouped.get('mode', '')})" if grouped else
                "; no grouped (by account) cross-validation recorded in the model")
             + ". Cross-validated on an enriched corpus: figures for your data may be lower.",
             f"Labelled {prov.get('created_at')} by: {' '.join(str(a) for a in prov.get('command') or [])}",
             "Versions: " + ", ".join(f"{k} {v}" for k, v in (prov.get("versions") or {}).items())]
    out = [Section("model", "Model, accuracy and thresholds", "", headers, rows, paragraphs=paras)]
    defs = prov.get("label_definitions") or []
    out.append(Section("definitions", "What the strategies mean", "The definitions the annotators applied "
                       "(configs/labels.toml, from the project's label guide); the hash identifies the text.",
                       ["strategy", "definition", "sha256"],
                       [[d.get("name", ""), d.get("definition", ""), str(d.get("sha256", ""))[:12]] for d in defs],
                       text_columns=3))
    files = prov.get("inputs") or []
    out.append(Section("inputs", "Inputs", f"{prov.get('posts_labelled')} posts labelled, "
                       f"{prov.get('records_rejected')} records rejected (see the rejects file).",
                       ["file", "records read", "bytes", "sha256"],
                       [[f.get("name", ""), f"{int(f.get('rows', 0)):,}", f"{int(f.get('bytes', 0)):,}",
                         str(f.get("sha256", ""))] for f in files], text_columns=4))
    return out


def model_line(prov: Mapping[str, Any] | None) -> str:
    if not prov:
        return "Model: unknown (no provenance sidecar)"
    model = prov.get("model") or {}
    return f"Model: {model.get('id')} (sha256 {str(model.get('sha256'))[:12]}…), labelled {prov.get('created_at')}"


def priors(prov: Mapping[str, Any] | None) -> dict[str, float] | None:
    """Training prevalence per label, for the EM adjustment; ``None`` without provenance."""
    if not prov:
        return None
    prev = ((prov.get("model") or {}).get("training_corpus") or {}).get("prevalence") or {}
    return {k: float(v) for k, v in prev.items() if v} or None
