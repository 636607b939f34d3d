"""MODEL_CARD.md written beside every trained model, from its metadata."""

from __future__ import annotations

from pathlib import Path
from typing import Any


def write_model_card(model_dir: Path, meta: dict[str, Any], cv: dict[str, Any] | None = None) -> Path:
    tc = meta["training_corpus"]
    lines = [
        "# Model card: TikTok diplomacy strategy classifier", "",
        f"- Created: {meta['created_at']}; format version {meta['format_version']}",
        "- Labels and thresholds: " + ", ".join(f"`{k}` ≥ {v:.2f}" for k, v in meta["thresholds"].items()),
        f"- Training corpus: {', '.join(tc['files'])} — {tc['n_posts']} posts, sha256 `{tc['sha256'][:16]}…`",
        "- Positives: " + ", ".join(f"{k} {v}" for k, v in tc["positives"].items()),
        "- Languages: " + ", ".join(f"{k} {v}" for k, v in list(tc["languages"].items())[:12]),
        f"- Config: `{meta['config']}`",
        "- Libraries: " + ", ".join(f"{k} {v}" for k, v in meta["library_versions"].items()),
        f"- Training time: {meta.get('train_seconds')} s", "",
        "## Intended use",
        "Labelling TikTok posts (caption, transcript, on-screen text, TikTok flags) with the communication "
        "strategies defined in `corpora/GUIDELINES.md`, for aggregate per-actor analysis with error bars. "
        "Not for judging individual accounts without reading the posts.", "",
        "## Model",
        "Words from a regular-expression tokenizer (word_tokenizer regex) or spaCy's per-language tokenizers "
        "(word_tokenizer spacy), SudachiPy for Japanese unless the config says multilingual → word 1–2-grams of "
        "caption and on-screen text, their lookup lemmas, transcript words, character n-grams of scripts written "
        "without spaces, cue-phrase counts (configs/cues.toml; substrings only as words in space-separated "
        "scripts), mentioned creators/celebrities/athletes and named TikTok trends (configs/registries/, copied "
        "into the model), person names (Japanese), the sound field and TikTok flags (this cue/registry/metadata "
        "block scaled by meta_weight, so it is regularised less than the n-grams) → one logistic regression per "
        "label (inverse regularisation C) with sigmoid calibration on shuffled, label-stratified folds; per-label thresholds tuned on "
        "out-of-fold predictions; the flag rules of labels.md on top. No feature reads the poster's actor type (the "
        "poster's handle only keeps its own registry entry from counting as a mention). "
        "The exact settings are in Config above.", "",
    ]
    if cv:
        lines += ["## Cross-validated quality", ""] + _cv_lines(cv, "random folds (posts of one account on both sides)")
        if cv.get("grouped"):
            g = cv["grouped"]
            d = g["grouped_minus_random"]
            lines += _cv_lines(g, "accounts the model has not seen")
            lines += [f"Grouped − random macro-F1: {d['difference']:+.3f} (paired 95% CI {d['ci'][0]:+.3f} to "
                      f"{d['ci'][1]:+.3f}). Expect the grouped figures on exports from accounts outside the corpus.", ""]
        if "keyword_baseline" in cv:
            lines += [f"Keyword-rule baseline, same posts: macro-F1 {cv['keyword_baseline']['macro_f1']:.3f}.", ""]
    rules = meta.get("rules") or []
    if rules:
        lines += ["## Rules from labels.md", "",
                  "Applied on top of the scores whatever the training data showed: a flagged post's score is at "
                  "least the rule's probability (posterior mean of its precision on flagged training posts, "
                  "prior 19 of 20).", ""]
        lines += [f"- {r['name']} ({', '.join(r['fields'])}) → `{r['label']}`: {r['positives']} of {r['n']} flagged "
                  f"training posts; score ≥ {r['probability']:.3f}" for r in rules]
        lines.append("")
    lines += ["## Limitations",
              "- The corpus is Japanese-heavy and enriched for rare labels by targeted sampling "
              "(see corpora/DATASHEET.md); per-language figures for small languages have wide intervals.",
              "- Influencer amplification without TikTok's paid-partnership flag (a celebrity featured by an "
              "organisation) is the hardest case; trend participation depends on platform context the text "
              "often does not show.",
              "- The registries (configs/registries/) were compiled partly from people and trends named in corpus "
              "posts, so cross-validation credits them with knowledge an unseen account's creators and trends "
              "may not be in: extend the registries for new exports.",
              "- Annotations were made by AI annotation agents following the guidelines (see DATASHEET.md).", ""]
    path = Path(model_dir) / "MODEL_CARD.md"
    path.write_text("\n".join(lines), encoding="utf-8")
    return path


def _cv_lines(cv: dict[str, Any], what: str) -> list[str]:
    """Headline, per-label table and calibration table of one cross-validation."""
    ci = cv["bootstrap_ci"]
    out = [f"**{what[0].upper() + what[1:]}** — {cv['mode']}: macro-F1 **{cv['macro_f1']:.3f}** "
           f"(95% CI {ci['macro_f1'][0]:.3f}–{ci['macro_f1'][1]:.3f}), micro-F1 {cv['micro_f1']:.3f}.", "",
           "| label | precision | recall | F1 (95% CI) | Brier | ECE | calibration slope (95% CI) | support |",
           "|---|---|---|---|---|---|---|---|"]
    cal = cv.get("calibration", {}).get("per_label", {})
    for n, m in cv["per_label"].items():
        lo, hi = ci["per_label_f1"][n]
        c = cal.get(n, {})
        slope = "—" if c.get("slope") is None else f"{c['slope']:.2f}" + (
            f" ({c['slope_ci'][0]:.2f}–{c['slope_ci'][1]:.2f})" if c.get("slope_ci") else "")
        ece = "—" if c.get("ece") is None else f"{c['ece']:.3f}"
        out.append(f"| {n} | {m['precision']:.3f} | {m['recall']:.3f} | {m['f1']:.3f} ({lo:.3f}–{hi:.3f}) | "
                   f"{m.get('brier', float('nan')):.4f} | {ece} | {slope} | {m['support']} |")
    return out + [""]

