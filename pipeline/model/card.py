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
        "spaCy blank tokenisers (SudachiPy for Japanese) → word 1–2-grams of caption and on-screen text, their "
        "lookup lemmas, transcript words, character n-grams of scripts written without spaces, cue-phrase "
        "counts (configs/cues.toml), person names (Japanese), the sound field and TikTok flags → one logistic "
        "regression per label with sigmoid calibration; per-label thresholds tuned on out-of-fold predictions. "
        "The exact settings are in Config above.", "",
    ]
    if cv:
        ci = cv["bootstrap_ci"]
        lines += ["## Cross-validated quality", "",
                  f"{cv['mode']} on the training corpus: macro-F1 **{cv['macro_f1']:.3f}** "
                  f"(95% CI {ci['macro_f1'][0]:.3f}–{ci['macro_f1'][1]:.3f}), micro-F1 {cv['micro_f1']:.3f}.", "",
                  "| label | precision | recall | F1 (95% CI) | support |", "|---|---|---|---|---|"]
        for n, m in cv["per_label"].items():
            lo, hi = ci["per_label_f1"][n]
            lines.append(f"| {n} | {m['precision']:.3f} | {m['recall']:.3f} | {m['f1']:.3f} ({lo:.3f}–{hi:.3f}) | "
                         f"{m['support']} |")
        if "keyword_baseline" in cv:
            lines += ["", f"Keyword-rule baseline, same posts: macro-F1 {cv['keyword_baseline']['macro_f1']:.3f}."]
        lines.append("")
    lines += ["## Limitations",
              "- The corpus is Japanese-heavy and enriched for rare labels by targeted sampling "
              "(see corpora/DATASHEET.md); per-language figures for small languages have wide intervals.",
              "- Influencer amplification without TikTok's paid-partnership flag (a celebrity featured by an "
              "organisation) is the hardest case; trend participation depends on platform context the text "
              "often does not show.",
              "- Annotations were made by AI annotation agents following the guidelines (see DATASHEET.md).", ""]
    path = Path(model_dir) / "MODEL_CARD.md"
    path.write_text("\n".join(lines), encoding="utf-8")
    return path
