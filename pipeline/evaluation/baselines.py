"""Baselines scored on the same posts as the model: keyword rules and spaCy's textcat_multilabel."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from pipeline.evaluation.cv import cross_validate_config
from pipeline.evaluation.spacy_baseline import BOW_MODEL, SpacyTextcatBaseline
from pipeline.features.preprocess import PostPreprocessor
from pipeline.schema import labels


def keyword_baseline(records: Sequence[dict[str, Any]]) -> np.ndarray:
    """The rule baseline users would write by hand: a label fires when any of its cue phrases or
    substrings (configs/cues.toml) occurs in caption, on-screen text or transcript, or when TikTok's flag
    says so (paid partnership → influencer_amplification, duet/stitch → trend_participation)."""
    frame = PostPreprocessor(registries={}).transform(list(records))  # cue words only, as documented
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


def spacy_textcat_cv(records: Sequence[dict[str, Any]], Y: np.ndarray, *, k: int, seed: int,
                     epochs: int = 10) -> tuple[np.ndarray, np.ndarray, dict[str, Any]]:
    """Out-of-fold probabilities and predictions of spaCy's ``textcat_multilabel`` on the folds
    :func:`cross_validate_config` gives the classifier for the same ``k`` and ``seed``, and its setup."""
    import spacy

    textcat = SpacyTextcatBaseline(epochs=epochs, random_state=seed)
    proba, pred = cross_validate_config(records, Y, textcat, k=k, seed=seed)
    setup = {"pipeline": 'spacy.blank("xx")', "text": "caption + on-screen text + transcript",
             "architecture": BOW_MODEL["@architectures"], "ngram_size": BOW_MODEL["ngram_size"],
             **textcat.get_params(), "folds": f"the same {k} folds (seed {seed})", "spacy": spacy.__version__}
    return proba, pred, {"setup": setup}
