"""The spaCy baseline: ``textcat_multilabel`` with the bag-of-words model, trained on the same split.

This is what a user would otherwise reach for (perf-notes: the BOW ``textcat_multilabel``):
``spacy.blank("xx")``, one text per post (caption + on-screen text + transcript, raw, as
exported), ``spacy.TextCatBOW.v3`` with uni- and bigrams, sigmoid outputs, threshold 0.5.
No pretrained vectors, nothing downloaded. It is a scikit-learn estimator so that
:func:`pipeline.evaluation.run.cross_validate_config` can clone and fit it on exactly the folds the
strategy classifier sees.

The multilingual ``xx`` tokenizer splits on spaces and punctuation only, so Japanese text
without spaces becomes long tokens: a real weakness of the simple approach, kept on purpose.
"""

from __future__ import annotations

import logging
import random
from typing import Any

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.utils.validation import check_is_fitted

from pipeline.model.estimator import to_indicator
from pipeline.schema import labels as label_names

log = logging.getLogger(__name__)

#: ``spacy.TextCatBOW.v3`` as spaCy's own ``textcat_multilabel`` BOW config, with bigrams.
BOW_MODEL: dict[str, Any] = {"@architectures": "spacy.TextCatBOW.v3", "exclusive_classes": False,
                             "ngram_size": 2, "no_output_layer": False, "length": 262144}
#: Stands in for posts without any text: thinc's bigram extraction fails on a zero-token doc,
#: and one token lets the model learn a score for "no text" (about 2% of the corpus posts).
EMPTY_TEXT = "∅"


def post_text(rec: dict[str, Any]) -> str:
    """Caption, on-screen text and transcript of a post, joined by newlines (empty parts left out)."""
    parts = (rec.get(f) for f in ("caption", "on_screen_text", "transcript"))
    return "\n".join(p for p in parts if isinstance(p, str) and p.strip())


def _texts(X: Any) -> list[str]:
    return [post_text(r) or EMPTY_TEXT for r in X]


class SpacyTextcatBaseline(ClassifierMixin, BaseEstimator):
    """spaCy ``textcat_multilabel`` (BOW uni+bigrams) on ``spacy.blank("xx")`` as a scikit-learn estimator.

    Parameters
    ----------
    epochs : int
        Passes over the training posts.
    dropout : float
        Dropout rate of ``nlp.update``.
    batch_start, batch_stop : float
        Minibatch sizes compound from ``batch_start`` to ``batch_stop`` posts (spaCy's classic schedule).
    threshold : float
        Probability at or above which a label is predicted.
    random_state : int
        Seed for spaCy/thinc weight initialisation, dropout and shuffling. Like ``spacy train``,
        :meth:`fit` re-seeds the global Python, NumPy and thinc generators with it.

    Attributes
    ----------
    classes_ : ndarray of str
        Label names, in column order of :meth:`predict_proba`.
    nlp_ : spacy.language.Language
        The trained pipeline (``doc.cats`` holds each label's probability).
    losses_ : list of float
        Training loss after each epoch.
    """

    def __init__(self, epochs: int = 10, dropout: float = 0.2, batch_start: float = 4.0, batch_stop: float = 32.0,
                 threshold: float = 0.5, random_state: int = 0) -> None:
        self.epochs = epochs
        self.dropout = dropout
        self.batch_start = batch_start
        self.batch_stop = batch_stop
        self.threshold = threshold
        self.random_state = random_state

    def fit(self, X: Any, y: Any) -> SpacyTextcatBaseline:
        """Train a fresh pipeline on post records ``X`` and labels ``y`` (label lists or indicator matrix)."""
        import spacy
        from spacy.training import Example
        from spacy.util import compounding, fix_random_seed, minibatch

        if self.epochs < 1:
            raise ValueError(f"epochs must be at least 1. Got {self.epochs!r} instead.")
        self.classes_ = np.array(label_names(), dtype=object)
        X = list(X)
        Y = to_indicator(y, tuple(self.classes_))
        if Y.shape != (len(X), len(self.classes_)):
            raise ValueError(f"y must have one row per post and {len(self.classes_)} label columns. "
                             f"Got {Y.shape} instead.")
        # spaCy's own training does the same: one seed for random, numpy and thinc
        fix_random_seed(self.random_state)
        nlp = spacy.blank("xx")
        textcat: Any = nlp.add_pipe("textcat_multilabel", config={"model": BOW_MODEL, "threshold": self.threshold})
        for name in self.classes_:
            textcat.add_label(str(name))
        tokenizer: Any = nlp.tokenizer
        docs = tokenizer.pipe(_texts(X), batch_size=256)
        examples = [Example.from_dict(doc, {"cats": {str(c): float(v) for c, v in zip(self.classes_, row)}})
                    for doc, row in zip(docs, Y)]
        optimizer = nlp.initialize(get_examples=lambda: examples)
        rng = random.Random(self.random_state)
        self.losses_ = []
        for epoch in range(self.epochs):
            rng.shuffle(examples)
            losses: dict[str, float] = {}
            for batch in minibatch(examples, size=compounding(self.batch_start, self.batch_stop, 1.001)):
                nlp.update(batch, drop=self.dropout, sgd=optimizer, losses=losses)
            self.losses_.append(round(float(losses.get("textcat_multilabel", 0.0)), 4))
            log.debug("textcat epoch %d/%d loss %.4f", epoch + 1, self.epochs, self.losses_[-1])
        self.nlp_ = nlp
        return self

    def predict_proba(self, X: Any) -> np.ndarray:
        """Each label's probability (``doc.cats``), shape (n_posts, n_labels)."""
        check_is_fitted(self, "nlp_")
        texts = _texts(X)
        out = np.zeros((len(texts), len(self.classes_)), dtype=float)
        for i, doc in enumerate(self.nlp_.pipe(texts, batch_size=256)):
            out[i] = [doc.cats[str(c)] for c in self.classes_]
        return out

    def predict(self, X: Any) -> np.ndarray:
        """Indicator matrix (n_posts, n_labels) at :attr:`threshold`."""
        return (self.predict_proba(X) >= self.threshold).astype(int)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.string = True
        tags.input_tags.two_d_array = False
        tags.target_tags.multi_output = True
        return tags
