"""The feature step as a scikit-learn transformer: post records → a DataFrame of feature columns.

:class:`PostPreprocessor` holds the model's own copies of the cue table and registries and runs
:func:`pipeline.features.posts.featurise`; it is stateless otherwise, so it stores small (spaCy
pipelines are rebuilt lazily per process, never stored).
"""

from __future__ import annotations

import json
from typing import Any

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, TransformerMixin

from pipeline.features.cues import config_cues, cues_key, substring_cues  # noqa: F401  (re-exported)
from pipeline.features.posts import (  # noqa: F401  (re-exported)
    JAPANESE_TOKENIZERS,
    MAX_TRANSCRIPT_CHARS,
    SPACY_LANGS,
    WORD_TOKENIZERS,
    _tokens,
    cue_matcher,
    featurise,
    spacy_pipeline,
    sudachi_tokenizer,
    token_text,
)
from pipeline.features.registry import config_registries, registry_key


class PostPreprocessor(BaseEstimator, TransformerMixin):
    """Post records → DataFrame with ``words``, ``transcript_words``, ``chars`` and ``meta`` columns.

    Parameters
    ----------
    max_transcript_chars : int
        Transcripts are cut to this many characters (the opening carries the topic).
    japanese_tokenizer : {"sudachi", "multilingual"}
        How Japanese posts become words (:data:`JAPANESE_TOKENIZERS`).
    cues : dict or None
        Cue table (per label, ``phrases`` and ``substrings``); None reads ``configs/cues.toml``
        when fitting.
    registries : dict or None
        Registries of people and named trends (:mod:`pipeline.features.registry`); None reads
        ``configs/registries/`` when fitting; ``{}`` adds no registry features.
    cue_detail : bool
        A feature per substring cue found (``cue:dance``), besides the per-label cue counts.
    cue_boundaries : bool
        Match substring cues of space-separated scripts only as words (:mod:`pipeline.features.cues`).
    word_tokenizer : {"spacy", "regex"}
        How posts in other languages become words (:data:`WORD_TOKENIZERS`).

    Attributes
    ----------
    cues_ : dict
        The cue table copied in by ``fit``; prediction uses only this copy.
    registries_ : dict
        The registries copied in by ``fit``.
    """

    def __init__(self, max_transcript_chars: int = MAX_TRANSCRIPT_CHARS, japanese_tokenizer: str = "sudachi",
                 cues: dict[str, dict[str, list[str]]] | None = None, registries: dict[str, Any] | None = None,
                 cue_boundaries: bool = True, word_tokenizer: str = "spacy", cue_detail: bool = False) -> None:
        self.max_transcript_chars = max_transcript_chars
        self.cue_detail = cue_detail
        self.word_tokenizer = word_tokenizer
        self.japanese_tokenizer = japanese_tokenizer
        self.cues = cues
        self.registries = registries
        self.cue_boundaries = cue_boundaries

    def fit(self, X: Any = None, y: Any = None) -> PostPreprocessor:
        self.cues_ = config_cues() if self.cues is None else {k: dict(v) for k, v in self.cues.items()}
        self.registries_ = (config_registries() if self.registries is None
                            else json.loads(json.dumps(self.registries)))  # a deep copy, as stored
        return self

    def transform(self, X: Any) -> pd.DataFrame:
        if not hasattr(self, "cues_"):
            self.fit()
        if not hasattr(self, "registries_"):
            self.registries_ = {}
        cols = featurise(_as_records(X), cues_key=cues_key(self.cues_), registry_key=registry_key(self.registries_),
                         max_transcript_chars=self.max_transcript_chars, japanese=self.japanese_tokenizer,
                         word_tokenizer=getattr(self, "word_tokenizer", "spacy"), cue_boundaries=self.cue_boundaries,
                         cue_detail=getattr(self, "cue_detail", False))
        return pd.DataFrame(cols)


def _as_records(X: Any) -> list[dict[str, Any]]:
    if isinstance(X, pd.DataFrame):
        # NaN (pandas' missing value) is truthy; records expect None.
        return X.astype(object).where(pd.notna(X), None).to_dict(orient="records")
    if isinstance(X, np.ndarray):
        return list(X)
    return list(X)
