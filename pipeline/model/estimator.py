"""The strategy classifier: a scikit-learn estimator over post records.

Features (:mod:`pipeline.features.preprocess`, vectorised by :mod:`pipeline.features.vectorize`): spaCy word
uni/bigrams of caption + on-screen text, their lookup lemmas (:mod:`pipeline.features.lemmas`),
transcript words, character n-grams of scripts without spaces, cue-phrase counts and
metadata flags → one calibrated linear model per label, with per-label decision thresholds
tuned by cross-validation and stored with the model.
"""

from __future__ import annotations

import logging
from typing import Any

import numpy as np
from scipy import sparse as sp
from scipy.special import expit
from sklearn.base import BaseEstimator, ClassifierMixin, clone
from sklearn.calibration import CalibratedClassifierCV
from sklearn.compose import ColumnTransformer
from sklearn.feature_extraction import DictVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import KFold, StratifiedKFold
from sklearn.utils.validation import check_is_fitted

from pipeline.errors import TrainingDataError
from pipeline.features.lemmas import LemmaTfidf
from pipeline.features.preprocess import PostPreprocessor, _as_records, token_text
from pipeline.features.vectorize import CharNgramTfidf, TokenNgramTfidf
from pipeline.model.folds import fold_groups, group_folds, group_weights, groups_per_column
from pipeline.model.rules import RULE_PRIOR, RULES, apply_rules, rule_hits  # noqa: F401  (re-exported)
from pipeline.model.targets import THRESHOLD_GRID, best_thresholds, to_indicator  # noqa: F401  (re-exported)
from pipeline.schema import labels as config_labels

log = logging.getLogger(__name__)

class StrategyClassifier(ClassifierMixin, BaseEstimator):
    """Multi-label diplomacy-strategy classifier over post records.

    Parameters
    ----------
    C : float
        Inverse regularisation strength of each label's logistic regression.
    use_chars : bool
        Add character n-grams of caption + on-screen text (needed for Japanese and noisy OCR).
    max_char_features : int
        Bound on the character n-gram vocabulary.
    max_word_features : int
        Bound on the word (and lemma) n-gram vocabulary.
    calibration_folds : int
        Folds of the sigmoid (Platt) calibration of each label's scores.
    threshold_folds : int
        Folds of the cross-validation that tunes per-label thresholds; 0 keeps 0.5.
    random_state : int
        Seed for fold assignment.
    char_ngram_range : tuple of int
        Smallest and largest character n.
    char_scripts : {"nospace", "all"}
        Character n-grams only of scripts written without spaces, or of all text.
    calibration_ensemble : bool
        True: average ``calibration_folds`` models each fitted on part of the data; False: one
        model fitted on all posts, calibrated on cross-validated scores.
    use_lemmas : bool
        Add lemma unigrams from spaCy's lookup tables (:mod:`pipeline.features.lemmas`).
    japanese_tokenizer : {"sudachi", "multilingual"}
        Japanese words from SudachiPy (with person names) or from spaCy's multilingual
        tokenizer, which does not segment (see README, "Speed").
    labels : tuple of str or None
        Label names in column order; None takes them from ``configs/labels.toml`` when fitting.
    cues : dict or None
        Cue table; None takes it from ``configs/cues.toml`` when fitting.
    shuffle_calibration : bool
        Calibrate on shuffled, label-stratified folds (True) or on scikit-learn's default
        unshuffled folds (False: on a corpus sorted by source each fold is a few sources, and
        the scores came out too timid; kept only to measure that).
    rules : bool
        Apply :data:`RULES` on top of the calibrated scores.
    registries : dict or None
        Registries of creators/celebrities/athletes and named TikTok trends
        (:func:`pipeline.features.registry.config_registries`); None reads ``configs/registries/``
        when fitting, ``{}`` turns the features off.
    cue_boundaries : bool
        Latin/Cyrillic/Devanagari substring cues only at word boundaries (outside hashtags).
    word_tokenizer : {"spacy", "regex"}
        Words of languages other than Japanese from spaCy's tokenizer (models before issue 16)
        or from one regular expression (:mod:`pipeline.features.tokens`; ~10x faster).
    group_folds : bool
        Calibration and threshold-tuning folds hold whole accounts out (the record's ``actor``;
        a post without one is its own account), so scores and thresholds are fitted on scores of
        accounts the model did not see, as a user's new accounts will be.
    min_groups : int
        Use only n-grams found in posts of at least this many accounts (1: all); an n-gram of
        one account (its name, its signature phrases) cannot teach anything about another.
    meta_weight : float
        Scale of the cue, registry and metadata features against the n-gram blocks: above 1 they
        are regularised less, so a few general signals can outweigh many account-specific words.
    cue_detail : bool
        A feature per substring cue found (``cue:dance``, ``cue:challenge``) besides the per-label
        counts, so each cue's weight is learned: "dance" in a film title says less than "challenge".
    char_weight, word_weight : float
        Scales of the character n-gram and the caption word n-gram blocks, likewise.
    group_weight_power : float
        Weigh each training post ``n ** -power`` (``n``: the posts of its account): 0 weighs posts
        alike, 1 accounts alike, so a few large accounts do not set the model.

    Attributes
    ----------
    classes_ : ndarray of str
        Label names, in column order of :meth:`predict_proba`.
    thresholds_ : ndarray of float
        Per-label decision thresholds.
    prep_ : PostPreprocessor
        The fitted preprocessor, with its own copy of the cue table.
    blocks_ : list of (name, column, transformer)
        The fitted vectorisers, in the column order of the feature matrix.
    coef_ : ndarray of shape (n_labels, n_members, n_features)
        Coefficients of each label's logistic regressions (one per calibration member).
    intercept_, calib_a_, calib_b_ : ndarray of shape (n_labels, n_members)
        Their intercepts and sigmoid calibration parameters: ``p = mean(expit(-(a·f + b)))``
        with ``f = X·coef + intercept``, as ``CalibratedClassifierCV(method="sigmoid")`` computes it.
    cv_probabilities_ : ndarray or None
        Out-of-fold probabilities from threshold tuning (for the model card).
    rules_ : list of dict
        The rules in force: name, label, flag fields, flagged training posts (``n``), how many
        carried the label (``positives``) and the resulting ``probability`` (posterior mean
        under :data:`RULE_PRIOR`), the floor of the label's score on a flagged post.
    """

    def __init__(self, C: float = 4.0, use_chars: bool = True, max_char_features: int = 60000,
                 max_word_features: int = 50000, calibration_folds: int = 3, threshold_folds: int = 5,
                 random_state: int = 0, char_ngram_range: tuple[int, int] = (2, 4), char_scripts: str = "nospace",
                 calibration_ensemble: bool = False, use_lemmas: bool = True,
                 japanese_tokenizer: str = "sudachi", labels: tuple[str, ...] | None = None,
                 cues: dict[str, dict[str, list[str]]] | None = None, shuffle_calibration: bool = True,
                 rules: bool = True, registries: dict[str, Any] | None = None, cue_boundaries: bool = True,
                 word_tokenizer: str = "spacy", group_folds: bool = False, min_groups: int = 1,
                 group_weight_power: float = 0.0, meta_weight: float = 1.0, char_weight: float = 1.0,
                 word_weight: float = 1.0, cue_detail: bool = False) -> None:
        self.C = C
        self.cue_detail = cue_detail
        self.char_weight = char_weight
        self.word_weight = word_weight
        self.meta_weight = meta_weight
        self.group_folds = group_folds
        self.min_groups = min_groups
        self.group_weight_power = group_weight_power
        self.word_tokenizer = word_tokenizer
        self.shuffle_calibration = shuffle_calibration
        self.rules = rules
        self.registries = registries
        self.cue_boundaries = cue_boundaries
        self.labels = labels
        self.cues = cues
        self.japanese_tokenizer = japanese_tokenizer
        self.use_chars = use_chars
        self.char_ngram_range = char_ngram_range
        self.char_scripts = char_scripts
        self.calibration_ensemble = calibration_ensemble
        self.use_lemmas = use_lemmas
        self.max_char_features = max_char_features
        self.max_word_features = max_word_features
        self.calibration_folds = calibration_folds
        self.threshold_folds = threshold_folds
        self.random_state = random_state

    def _prep(self) -> PostPreprocessor:
        return PostPreprocessor(japanese_tokenizer=self.japanese_tokenizer, cues=self.cues,
                                registries=self.registries, cue_boundaries=self.cue_boundaries, cue_detail=self.cue_detail,
                                word_tokenizer=self.word_tokenizer)

    def _features(self, empty: frozenset[str] = frozenset()) -> ColumnTransformer:
        """The vectorisers; blocks whose input column is empty in every post (``empty``) are left
        out, since a vectoriser with nothing to learn makes a 0-column block ColumnTransformer refuses."""
        transformers: list[tuple[str, Any, Any]] = [
            ("words", TokenNgramTfidf((1, 2), max_features=self.max_word_features, token_text=token_text), "words"),
            ("transcript", TokenNgramTfidf((1, 1), max_features=20000, token_text=token_text), "transcript_words"),
            ("meta", DictVectorizer(), "meta"),
        ]
        if self.use_lemmas:
            ids = "spacy" if self.word_tokenizer == "spacy" else "hash"
            transformers.append(("lemmas", LemmaTfidf(max_features=self.max_word_features, token_text=token_text, ids=ids),
                                 ["words", "lang"]))
        if self.use_chars:
            transformers.append(("chars", CharNgramTfidf(self.char_ngram_range, scripts=self.char_scripts,
                                                         max_features=self.max_char_features), "chars"))
        transformers = [t for t in transformers if t[0] not in empty]
        weights = {name: w for name, w in (("meta", self.meta_weight), ("chars", self.char_weight),
                                            ("words", self.word_weight)) if w != 1.0}
        return ColumnTransformer(transformers, sparse_threshold=1.0, transformer_weights=weights or None)

    def _label_model(self, y: np.ndarray, groups: np.ndarray) -> Any:
        """One label's calibrated logistic regression; its calibration folds are shuffled and
        label-stratified, and with ``groups`` (``group_folds``) hold whole accounts out."""
        base = LogisticRegression(C=self.C, class_weight="balanced", solver="liblinear", max_iter=2000)
        if self.calibration_folds < 2:
            return base
        # An int cv gives unshuffled folds: on a corpus sorted by source, each calibration fold
        # was a few sources and the Platt scaling learned from scores of "another source".
        folds: Any = self.calibration_folds
        if self.shuffle_calibration and self.group_folds:
            folds = group_folds(y, groups, self.calibration_folds, self.random_state)
        elif self.shuffle_calibration:
            folds = StratifiedKFold(self.calibration_folds, shuffle=True, random_state=self.random_state)
        return CalibratedClassifierCV(base, method="sigmoid", cv=folds, ensemble=self.calibration_ensemble)

    def _fit_core(self, prepped: Any, Y: np.ndarray, groups: np.ndarray,
                  empty: frozenset[str]) -> tuple[ColumnTransformer, list[Any], np.ndarray]:
        """Fit vectorisers and one calibrated model per label on preprocessed posts; returns them and
        the feature mask (features seen in fewer than ``min_groups`` accounts are zeroed)."""
        ct = self._features(empty)
        M = ct.fit_transform(prepped).tocsr()
        mask = np.ones(M.shape[1], dtype=bool)
        if self.min_groups > 1:
            mask = groups_per_column(M, groups) >= self.min_groups
            M = _masked(M, mask)
        weight = group_weights(groups, self.group_weight_power) if self.group_weight_power else None
        models: list[Any] = []
        for j in range(Y.shape[1]):
            if Y[:, j].min() == Y[:, j].max():  # a threshold fold holding all of a label's positives
                models.append(_ConstantLabel(float(Y[0, j])))
                continue
            models.append(self._label_model(Y[:, j], groups).fit(M, Y[:, j], sample_weight=weight))
        return ct, models, mask

    @staticmethod
    def _proba_core(ct: ColumnTransformer, models: list[Any], mask: np.ndarray, prepped: Any) -> np.ndarray:
        M = _masked(ct.transform(prepped).tocsr(), mask)
        return np.column_stack([m.predict_proba(M)[:, 1] for m in models])

    def fit(self, X: Any, y: Any, progress: Any = None) -> StrategyClassifier:
        """Fit on post records ``X`` and labels ``y`` (label lists or an indicator matrix).

        Everything a prediction depends on (labels, cue table, vocabularies, lemma table,
        coefficients, thresholds) is copied into the fitted estimator: no file is read later.
        ``progress(1)`` is called after each of the :meth:`fit_steps` steps (for a progress bar).
        """
        step = progress or (lambda n: None)
        self.classes_ = np.array(self.labels if self.labels is not None else config_labels(), dtype=object)
        X = list(X) if not hasattr(X, "iloc") else X
        Y = to_indicator(y, tuple(self.classes_))
        if Y.shape != (len(X), len(self.classes_)):
            raise TrainingDataError(where="training data", problem=f"labels of shape {Y.shape} for {len(X)} posts",
                                    valid=f"one row per post and {len(self.classes_)} label columns",
                                    todo="Pass one label list (or indicator row) per post")
        need = max(2, self.calibration_folds)
        for j, name in enumerate(self.classes_):
            if Y[:, j].sum() < need:
                raise TrainingDataError(where="training data", problem=f"label {name!r} has too few positive posts",
                                        seen=int(Y[:, j].sum()), valid=f"at least {need}",
                                        todo=f"Annotate more posts with {name}")
        # Pre-compute features input once: tokenisation is the costly step.
        records = _as_records(X)
        groups = fold_groups(records, "actor")
        prep = self._prep().fit(records)
        prepped = prep.transform(records)
        empty = frozenset(name for name, col in (("transcript", "transcript_words"), ("words", "words"),
                                                 ("lemmas", "words"), ("chars", "chars"))
                          if not any(len(v) for v in prepped[col]))
        self.rules_ = self._fit_rules(records, Y)
        step(1)
        self.cv_probabilities_ = None
        if self.threshold_folds >= 2:
            oof = np.zeros(Y.shape, dtype=float)
            if self.group_folds:
                folds = group_folds(Y, groups, self.threshold_folds, self.random_state)
            else:
                folds = list(KFold(self.threshold_folds, shuffle=True, random_state=self.random_state).split(prepped))
            for train, test in folds:
                core = self._fit_core(prepped.iloc[train], Y[train], groups[train], empty)
                oof[test] = self._proba_core(*core, prepped.iloc[test])
                step(1)
            # thresholds are tuned on the scores users get: rules included
            self.cv_probabilities_ = self.apply_rules(records, oof)
            self.thresholds_ = best_thresholds(Y, self.cv_probabilities_)
        else:
            self.thresholds_ = np.full(len(self.classes_), 0.5)
        self._keep_fitted(prep, *self._fit_core(prepped, Y, groups, empty))
        step(1)
        return self

    def fit_steps(self) -> int:
        """Steps :meth:`fit` reports: features, each threshold-tuning fold, the final fit."""
        return 2 + (self.threshold_folds if self.threshold_folds >= 2 else 0)

    def _fit_rules(self, records: list[dict[str, Any]], Y: np.ndarray) -> list[dict[str, Any]]:
        """The :data:`RULES` for labels this model has, with each rule's precision on the training posts."""
        if not self.rules:
            return []
        out = []
        names = [str(c) for c in self.classes_]
        for name, label, fields in RULES:
            if label not in names:
                continue
            hit = rule_hits(records, fields)
            n, k = int(hit.sum()), int(Y[hit, names.index(label)].sum())
            out.append({"name": name, "label": label, "fields": list(fields), "n": n, "positives": k,
                        "probability": round((k + RULE_PRIOR[0]) / (n + RULE_PRIOR[0] + RULE_PRIOR[1]), 6)})
        return out

    def apply_rules(self, X: Any, P: np.ndarray) -> np.ndarray:
        """Raise each rule's label score on posts carrying its flag to at least the rule's probability
        (:func:`pipeline.model.rules.apply_rules`)."""
        rules = getattr(self, "rules_", None) or []
        if not rules or len(P) == 0:
            return P
        return apply_rules(_as_records(X), P, rules, [str(c) for c in self.classes_])

    def _keep_fitted(self, prep: PostPreprocessor, ct: ColumnTransformer, models: list[Any], mask: np.ndarray) -> None:
        """Keep only the fitted state predictions need: vectorisers and linear/calibration parameters
        (coefficients of masked features are 0)."""
        self.prep_ = prep
        self.blocks_ = [(name, cols, trans) for name, trans, cols in ct.transformers_
                        if not isinstance(trans, str) and ct.output_indices_[name].stop > ct.output_indices_[name].start]
        n_features = max((s.stop for s in ct.output_indices_.values()), default=0)
        # the block weights ColumnTransformer applied go into the coefficients (the stored
        # vectorisers give unweighted features), as do the zeros of masked features
        scale = mask.astype(float)
        for name, w in (ct.transformer_weights or {}).items():
            if name in ct.output_indices_:
                scale[ct.output_indices_[name]] *= w
        coef, intercept, a, b = [], [], [], []
        for est in models:
            members = est.calibrated_classifiers_ if hasattr(est, "calibrated_classifiers_") else None
            if members is None:  # uncalibrated logistic regression: expit(f) == expit(-(-1·f + 0))
                pairs = [(est, -1.0, 0.0)]
            else:
                pairs = [(m.estimator, float(m.calibrators[0].a_), float(m.calibrators[0].b_)) for m in members]
            coef.append([np.asarray(lr.coef_, dtype=float).reshape(-1) * scale for lr, _, _ in pairs])
            intercept.append([float(np.ravel(lr.intercept_)[0]) for lr, _, _ in pairs])
            a.append([x for _, x, _ in pairs])
            b.append([x for _, _, x in pairs])
        self.coef_ = np.array(coef, dtype=float).reshape(len(self.classes_), -1, n_features)
        self.intercept_, self.calib_a_, self.calib_b_ = (np.array(v, dtype=float) for v in (intercept, a, b))

    def features(self, X: Any) -> sp.csr_matrix:
        """The sparse feature matrix of post records ``X`` (preprocessing + vectorisers)."""
        check_is_fitted(self, "coef_")
        frame = self.prep_.transform(X)
        blocks = [trans.transform(frame[cols]) for _, cols, trans in self.blocks_]
        return sp.hstack(blocks).tocsr() if blocks else sp.csr_matrix((len(frame), 0))

    def proba_from_features(self, M: sp.spmatrix) -> np.ndarray:
        """Calibrated probabilities from a feature matrix made by :meth:`features` (before
        :meth:`apply_rules`, which needs the records)."""
        check_is_fitted(self, "coef_")
        out = np.empty((M.shape[0], len(self.classes_)))
        for j in range(len(self.classes_)):
            f = np.asarray(M @ self.coef_[j].T) + self.intercept_[j]  # (n_posts, n_members)
            p = expit(-(f * self.calib_a_[j] + self.calib_b_[j]))
            out[:, j] = p.mean(axis=1)
        return out

    def predict_proba(self, X: Any) -> np.ndarray:
        """Calibrated probability of each label, shape (n_posts, n_labels), rules applied."""
        check_is_fitted(self, "coef_")
        X = list(X) if not hasattr(X, "iloc") else X
        if len(X) == 0:
            return np.zeros((0, len(self.classes_)))
        return self.apply_rules(X, self.proba_from_features(self.features(X)))

    def predict(self, X: Any) -> np.ndarray:
        """Indicator matrix (n_posts, n_labels) using the tuned per-label thresholds."""
        return (self.predict_proba(X) >= self.thresholds_).astype(int)

    def predict_labels(self, X: Any) -> list[list[str]]:
        """Label-name lists, one per post."""
        return [[c for c, v in zip(self.classes_, row) if v] for row in self.predict(X)]

    def score(self, X: Any, y: Any, sample_weight: Any = None) -> float:
        """Macro-averaged F1 (the project's headline metric)."""
        from sklearn.metrics import f1_score

        return float(f1_score(to_indicator(y, tuple(self.classes_)), self.predict(X), average="macro",
                              zero_division=0))

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.string = True
        tags.input_tags.two_d_array = False
        tags.target_tags.multi_output = True
        return tags


def _masked(M: sp.csr_matrix, mask: np.ndarray) -> sp.csr_matrix:
    """``M`` with the columns outside ``mask`` zeroed (``M`` itself when the mask keeps all)."""
    return M if mask.all() else (M @ sp.diags(mask.astype(M.dtype))).tocsr()


class _ConstantLabel:
    """The score of a label that a threshold fold's training posts all have, or all lack
    (what ``OneVsRestClassifier`` fitted for such a column before the estimator fitted its own)."""

    def __init__(self, p: float) -> None:
        self.p = p

    def predict_proba(self, M: Any) -> np.ndarray:
        p = np.full(M.shape[0], self.p)
        return np.column_stack([1 - p, p])


def clone_classifier(clf: StrategyClassifier) -> StrategyClassifier:
    return clone(clf)
