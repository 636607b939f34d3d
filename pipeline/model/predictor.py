"""Labelling without scikit-learn: a fitted model's arrays applied with NumPy alone.

A :class:`~pipeline.model.estimator.StrategyClassifier` is a scikit-learn pipeline
(importing scikit-learn, SciPy's statistics and pandas costs ~2.5 s per process, more than
labelling 10,000 posts). Everything a prediction needs is in ``model.npz``: the feature step
(:func:`pipeline.features.posts.featurise`), each block's vocabulary and IDF weights, the
linear coefficients, the sigmoid calibration and the rules. :class:`Predictor` computes the
same probabilities from those arrays, with the same feature code
(:mod:`pipeline.features.ngrams`): ``tests/model/test_predictor.py`` checks that both agree on
real posts. Explanations (``label --explain``), evaluation and training use the estimator.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from pipeline.features.cues import cues_key
from pipeline.features.ngrams import KeyIndex, char_ngram_keys, tfidf_rows, to_lemmas, token_ngram_keys
from pipeline.features.posts import featurise
from pipeline.features.registry import registry_key
from pipeline.model.rules import apply_rules

_NO_INT = np.zeros(0, dtype=np.int64)


class _Block:
    """One vectoriser's fitted state: how to turn feature columns into (row, column, value) triplets."""

    def __init__(self, spec: dict[str, Any], arrays: Any, prefix: str, offset: int) -> None:
        self.kind, self.columns, self.offset = spec["kind"], spec["columns"], offset
        if self.kind == "dict":
            self.features = {str(f): j for j, f in enumerate(spec["features"])}
            self.width = len(self.features)
            return
        p = spec["params"]
        self.sublinear = bool(p["sublinear_tf"])
        self.ngram_range = tuple(p.get("ngram_range", (1, 1)))
        self.scripts = p.get("scripts", "all")
        self.idf = np.asarray(arrays[prefix + "idf"], dtype=float)
        self.index = KeyIndex(arrays[prefix + "vocabulary"])
        self.width = len(self.idf)
        if self.kind == "lemmas":
            self.forms = KeyIndex(arrays[prefix + "forms"])
            self.lemmas = np.asarray(arrays[prefix + "lemmas"], dtype=np.uint64)
        elif self.kind not in ("tokens", "chars"):
            raise ValueError(f"unknown block kind {self.kind!r}")

    def rows(self, cols: dict[str, list[Any]]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        if self.kind == "dict":
            return self._dict_rows(cols[self.columns])
        if self.kind == "chars":
            keys, doc = char_ngram_keys(cols[self.columns], self.ngram_range, self.scripts)[:2]
        elif self.kind == "lemmas":
            keys, doc = self._lemma_keys(cols["words"], cols["lang"])
        else:
            keys, doc = token_ngram_keys(cols[self.columns], self.ngram_range)[:2]
        row, col, val = tfidf_rows(keys, doc, self.index, self.idf, self.sublinear)
        return row, col + self.offset, val.astype(float)

    def _dict_rows(self, metas: Sequence[dict[str, float]]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        rows, cols, vals = [], [], []
        get = self.features.get
        for i, meta in enumerate(metas):
            for name, value in meta.items():
                j = get(name)
                if j is not None and value:
                    rows.append(i)
                    cols.append(j + self.offset)
                    vals.append(float(value))
        return (np.array(rows, dtype=np.int64), np.array(cols, dtype=np.int64), np.array(vals, dtype=float))

    def _lemma_keys(self, words: Sequence[np.ndarray], langs: Sequence[str]) -> tuple[np.ndarray, np.ndarray]:
        """Unigram keys of the posts' lemmas, mapped as :class:`pipeline.features.lemmas.LemmaTfidf` maps them."""
        keys, doc = token_ngram_keys(words, (1, 1))[:2]  # a unigram's key is its token id
        return to_lemmas(keys, doc, langs, self.forms, self.lemmas), doc


class Predictor:
    """Calibrated probabilities and labels of a stored model, computed with NumPy alone.

    Built by :func:`pipeline.model.artefact.load_model` with ``lean=True`` from the file's arrays
    and JSON state (no code from the file). Has the estimator's labelling interface:
    ``classes_``, ``thresholds_``, ``predict_proba``, ``predict``.
    """

    def __init__(self, state: dict[str, Any], arrays: Any) -> None:
        self.classes_ = np.array(state["labels"], dtype=object)
        pre = state["preprocessor"]
        self._featurise_kw: dict[str, Any] = {
            "cues_key": cues_key(pre["cues"]), "registry_key": registry_key(dict(pre.get("registries") or {})),
            "max_transcript_chars": int(pre["max_transcript_chars"]), "japanese": str(pre["japanese_tokenizer"]),
            "word_tokenizer": str(pre.get("word_tokenizer", "spacy")),
            "cue_boundaries": bool(pre.get("cue_boundaries", False)),
            "cue_detail": bool(pre.get("cue_detail", False))}
        self.rules_ = [dict(r) for r in state.get("rules", [])]
        self._blocks, offset = [], 0
        for i, spec in enumerate(state["blocks"]):
            block = _Block(spec, arrays, f"b{i}_", offset)
            self._blocks.append(block)
            offset += block.width
        self.coef_ = np.asarray(arrays["coef"], dtype=float)
        self.intercept_ = np.asarray(arrays["intercept"], dtype=float)
        self.calib_a_, self.calib_b_ = (np.asarray(arrays[k], dtype=float) for k in ("calib_a", "calib_b"))
        self.thresholds_ = np.asarray(arrays["thresholds"], dtype=float)
        if self.coef_.ndim != 3 or self.coef_.shape[0] != len(self.classes_) or self.coef_.shape[2] != offset:
            raise ValueError(f"coefficients of shape {self.coef_.shape} do not fit {len(self.classes_)} labels "
                             f"and {offset} features")

    def predict_proba(self, X: Sequence[dict[str, Any]]) -> np.ndarray:
        """Calibrated probability of each label, shape (n_posts, n_labels), rules applied."""
        records = list(X)
        n = len(records)
        if n == 0:
            return np.zeros((0, len(self.classes_)))
        cols = featurise(records, **self._featurise_kw)
        parts = [b.rows(cols) for b in self._blocks]
        row = np.concatenate([p[0] for p in parts]) if parts else _NO_INT
        col = np.concatenate([p[1] for p in parts]) if parts else _NO_INT
        val = np.concatenate([p[2] for p in parts]) if parts else np.zeros(0)
        out = np.empty((n, len(self.classes_)))
        for j in range(len(self.classes_)):
            members = self.coef_.shape[1]
            f = np.empty((n, members))
            for m in range(members):
                f[:, m] = np.bincount(row, weights=val * self.coef_[j, m, col], minlength=n) + self.intercept_[j, m]
            with np.errstate(over="ignore"):  # exp overflow → probability 0, as expit gives
                p = 1.0 / (1.0 + np.exp(f * self.calib_a_[j] + self.calib_b_[j]))
            out[:, j] = p.mean(axis=1)
        if self.rules_:
            out = apply_rules(records, out, self.rules_, [str(c) for c in self.classes_])
        return out

    def predict(self, X: Sequence[dict[str, Any]]) -> np.ndarray:
        """Indicator matrix (n_posts, n_labels) using the per-label thresholds."""
        return (self.predict_proba(X) >= self.thresholds_).astype(int)
