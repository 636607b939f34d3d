"""spaCy component ``diplomacy_strategy``: the strategy classifier as a pipeline step setting ``doc.cats``.

The factory is registered through the ``spacy_factories`` entry point (pyproject.toml), so once
the project is installed no import of :mod:`pipeline` is needed before ``add_pipe``::

    import spacy

    nlp = spacy.blank("en")
    nlp.add_pipe("diplomacy_strategy")                  # the shipped model, models/default
    # nlp.add_pipe("diplomacy_strategy", config={"model_dir": "models/mine", "threshold": 0.5})
    doc = nlp("Evacuation routes for residents of Kharkiv, share widely #StandWithUkraine")
    doc.cats            # e.g. {"trend_participation": 0.04, "influencer_amplification": 0.02, "crisis_messaging": 0.93}
    doc._.strategies    # ["crisis_messaging"]: labels at or above the model's tuned thresholds

    # Transcript, on-screen text and flags travel as Doc extensions set before the component runs:
    doc = nlp.make_doc(caption)
    doc._.transcript = "…"
    doc._.paid_partnership = True
    doc = nlp(doc)
    # … or straight from post records, batched (one predict_proba call per batch):
    docs = list(nlp.pipe((doc_from_post(nlp, rec) for rec in records), batch_size=256))

    nlp.to_disk("out/nlp")        # copies the verified model directory into out/nlp/diplomacy_strategy/
    nlp = spacy.load("out/nlp")   # checks the model file's sha256 against meta.json before unpickling

``doc.text`` is the caption.  The other post fields the classifier reads are the Doc extensions in
:data:`POST_EXTENSIONS` (``doc._.transcript``, ``doc._.on_screen_text``, ``doc._.hashtags`` …),
registered with default ``None`` when the component is created; a field left ``None`` is treated
as missing, exactly as in a post record.  The model is loaded and verified on first use (or by
``nlp.initialize()``, or ``from_disk`` inside ``spacy.load``), so a wrong ``model_dir`` surfaces
there as a :class:`~pipeline.errors.ModelFileError`, not at ``add_pipe``.  Scores: ``nlp.evaluate(examples)`` or
``Scorer.score_cats(examples, "cats", labels=..., multi_label=True)`` work unchanged.
"""

import json
import logging
import tempfile
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Any

import numpy as np
import srsly
from spacy.language import Language
from spacy.pipeline import Pipe
from spacy.tokens import Doc
from spacy.training import Example, validate_examples
from spacy.util import SimpleFrozenList, ensure_path, minibatch

from pipeline.config import DEFAULT_MODEL_DIR
from pipeline.errors import ModelFileError
from pipeline.model.artefact import META_FILE, MODEL_FILE, load_model, model_file, sha256_file
from pipeline.schema import POST_FIELDS

# No ``from __future__ import annotations`` here: spaCy validates the factory's config against
# its signature at runtime, which needs real (not string) annotations.  pipeline.model.artefact (joblib)
# is imported inside methods: spaCy imports this module through the entry point whenever any
# pipeline is created in this environment, so importing it must stay cheap.

log = logging.getLogger(__name__)

FACTORY_NAME = "diplomacy_strategy"
#: Post-record fields read from ``doc._.<name>`` (the caption is ``doc.text``).
#: ``actor`` (the poster's handle) only keeps the poster's own registry entry from counting as a mention.
POST_EXTENSIONS: tuple[str, ...] = ("transcript", "on_screen_text", "hashtags", "mentions", "paid_partnership",
                                    "is_ad", "duet_from", "stitch_from", "music", "language", "actor")
#: Doc extension receiving the label names at or above their thresholds.
STRATEGIES_ATTR = "strategies"
MODEL_CARD_FILE = "MODEL_CARD.md"
_FIELD_TYPES: dict[str, Any] = {**POST_FIELDS, "duet_from": str, "stitch_from": str}


def register_extensions() -> None:
    """Register the ``Doc`` extensions this component reads and writes (default ``None``).

    Extensions are global to spaCy, so an existing one of the same name (another package's,
    or a getter the user set up) is kept rather than overwritten with ``force=True``.
    """
    for name in (*POST_EXTENSIONS, STRATEGIES_ATTR):
        if not Doc.has_extension(name):
            Doc.set_extension(name, default=None)


def post_record(doc: Doc) -> dict[str, Any]:
    """The post record the classifier sees for ``doc``: ``doc.text`` as caption plus set extensions.

    Raises
    ------
    ValueError
        If an extension holds a value of the wrong type (e.g. ``doc._.hashtags = "a b"``).
    """
    rec: dict[str, Any] = {"caption": doc.text}
    for name in POST_EXTENSIONS:
        value = getattr(doc._, name) if Doc.has_extension(name) else None
        if value is None:
            continue
        typ = _FIELD_TYPES[name]
        if not isinstance(value, typ):
            raise ValueError(f"doc._.{name} must be {typ.__name__} or None. Got {type(value).__name__} "
                             f"{value!r:.60} instead. Set it as in a post record (pipeline.schema.POST_FIELDS).")
        rec[name] = value
    return rec


def doc_from_post(nlp: Language, record: dict[str, Any]) -> Doc:
    """A tokenised ``Doc`` of ``record``'s caption with its other fields set as extensions."""
    register_extensions()
    doc = nlp.make_doc(record.get("caption") or "")
    for name in POST_EXTENSIONS:
        if record.get(name) is not None:
            setattr(doc._, name, record[name])
    return doc


def _decisions(doc: Doc, attr: str) -> dict[str, float]:
    """Scorer getter: predicted docs → 0/1 per label from ``doc._.strategies``; gold docs → their cats."""
    chosen = getattr(doc._, STRATEGIES_ATTR) if Doc.has_extension(STRATEGIES_ATTR) else None
    if chosen is None:
        return getattr(doc, attr)
    return {label: float(label in chosen) for label in doc.cats}


class DiplomacyStrategy(Pipe):
    """Sets ``doc.cats`` to the calibrated probability of each strategy label, and ``doc._.strategies``.

    The model directory is loaded (and verified) lazily, on first use, by :meth:`initialize`, or
    by :meth:`from_disk`, so ``spacy.load`` never loads the configured model only to replace it.

    Parameters
    ----------
    nlp : Language
        The pipeline the component belongs to.
    name : str
        The component's name in the pipeline.
    model_dir : str or None
        Model directory written by ``tiktok-diplomacy train``; ``None`` is the shipped model.
    threshold : float or None
        One decision threshold for every label in ``doc._.strategies``; ``None`` uses the
        per-label thresholds tuned by cross-validation and stored with the model.
    """

    def __init__(self, nlp: Language, name: str = FACTORY_NAME, *, model_dir: str | Path | None = None,
                 threshold: float | None = None) -> None:
        if threshold is not None and not 0.0 <= threshold <= 1.0:
            raise ValueError(f"threshold must be a probability in [0, 1] or None. Got {threshold!r} instead.")
        self.vocab = nlp.vocab
        self.name = name
        self.model_dir = Path(model_dir) if model_dir else None
        self.threshold = threshold
        self._model: Any = None
        self._meta: dict[str, Any] | None = None
        self._source: Path | None = None  # directory the loaded model was verified in …
        self._files: dict[str, bytes] | None = None  # … or its files, after from_bytes
        register_extensions()

    # -- model -----------------------------------------------------------------------------
    def _load(self, model_dir: Path | None) -> None:
        source = Path(model_dir) if model_dir else DEFAULT_MODEL_DIR
        self._model, self._meta = load_model(source)
        self._source, self._files = source, None
        log.info("%s: loaded model from %s (sha256 %s…)", self.name, source, self._meta["model_sha256"][:12])

    # Not named ``model``: spaCy's pipeline linking probes ``hasattr(component, "model")`` (the
    # ListenedToComponent protocol), which would load — and, for a bad model_dir, fail — inside
    # add_pipe, depending on attribute-check order (flaky across hash seeds).
    @property
    def classifier(self) -> Any:
        """The verified :class:`~pipeline.model.estimator.StrategyClassifier` (loaded on first access)."""
        if self._model is None:
            self._load(self.model_dir)
        return self._model

    @property
    def meta(self) -> dict[str, Any]:
        """The model's ``meta.json`` (format version, labels, thresholds, metrics …)."""
        _ = self.classifier  # loads on first access
        return self._meta or {}

    @property
    def labels(self) -> tuple[str, ...]:
        return tuple(str(c) for c in self.classifier.classes_)

    @property
    def thresholds(self) -> dict[str, float]:
        """Decision threshold per label used for ``doc._.strategies``."""
        model = self.classifier
        return {str(c): float(self.threshold if self.threshold is not None else t)
                for c, t in zip(model.classes_, model.thresholds_)}

    def initialize(self, get_examples: Callable[[], Iterable[Example]] | None = None, *,
                   nlp: Language | None = None) -> None:
        """Load and verify the model now (``nlp.initialize()``), so a bad ``model_dir`` fails early."""
        _ = self.classifier

    # -- prediction ------------------------------------------------------------------------
    def predict(self, docs: Iterable[Doc]) -> np.ndarray:
        """Probabilities (n_docs, n_labels) in one ``predict_proba`` call."""
        return self.classifier.predict_proba([post_record(doc) for doc in docs])

    def set_annotations(self, docs: Iterable[Doc], scores: np.ndarray) -> None:
        names = [str(c) for c in self.classifier.classes_]
        cuts = self.thresholds
        for doc, row in zip(docs, scores):
            # update, not replace: cats from another text classifier in the pipeline survive
            doc.cats.update({name: float(p) for name, p in zip(names, row)})
            setattr(doc._, STRATEGIES_ATTR, [name for name, p in zip(names, row) if p >= cuts[name]])

    def __call__(self, doc: Doc) -> Doc:
        error_handler = self.get_error_handler()
        try:
            self.set_annotations([doc], self.predict([doc]))
            return doc
        except Exception as exc:
            error_handler(self.name, self, [doc], exc)

    def pipe(self, stream: Iterable[Doc], *, batch_size: int = 128) -> Iterator[Doc]:
        """Annotate ``stream`` in batches of ``batch_size`` docs (one model call per batch)."""
        error_handler = self.get_error_handler()
        for batch in minibatch(stream, size=batch_size):
            try:
                self.set_annotations(batch, self.predict(batch))
                yield from batch
            except Exception as exc:
                error_handler(self.name, self, batch, exc)

    # -- scoring ---------------------------------------------------------------------------
    def score(self, examples: Iterable[Example], **kwargs: Any) -> dict[str, Any]:
        """spaCy's multi-label cats scores, plus ``strategies_*`` P/R/F at the tuned thresholds.

        ``cats_*`` come from :meth:`spacy.scorer.Scorer.score_cats` unchanged (one threshold,
        default 0.5; ``cats_score`` is macro AUC); ``strategies_*`` score ``doc._.strategies``,
        i.e. the per-label thresholds the project reports with.
        """
        from spacy.scorer import Scorer

        examples = list(examples)
        validate_examples(examples, "DiplomacyStrategy.score")
        kwargs.pop("labels", None)
        kwargs.pop("multi_label", None)
        scores = Scorer.score_cats(examples, "cats", labels=self.labels, multi_label=True, **kwargs)
        tuned = Scorer.score_cats(examples, "cats", getter=_decisions, labels=self.labels, multi_label=True,
                                  threshold=0.5)
        for key in ("micro_p", "micro_r", "micro_f", "macro_p", "macro_r", "macro_f", "f_per_type"):
            scores[f"{STRATEGIES_ATTR}_{key}"] = tuned[f"cats_{key}"]
        return scores

    # -- serialisation ---------------------------------------------------------------------
    def to_disk(self, path: str | Path, *, exclude: Iterable[str] = SimpleFrozenList()) -> None:
        """Write the verified model directory (model file, meta.json, model card) into ``path``.

        Raises
        ------
        ModelFileError
            If the model file no longer matches the sha256 it was verified against on loading.
        """
        if "model" in exclude:
            return
        path = Path(ensure_path(path))
        meta = self.meta
        name = model_file(path, meta).name
        if self._files is None and self._source is not None and path.resolve() == self._source.resolve():
            self._check_copy(path / name, path)  # saving over its own source: nothing to copy
            return
        path.mkdir(parents=True, exist_ok=True)
        for fname, data in self._model_files().items():
            (path / fname).write_bytes(data)
        try:
            self._check_copy(path / name, path)
        except ModelFileError:
            (path / name).unlink()  # leave no unverified model file behind
            raise
        # The in-memory meta is the one the model was verified against.
        (path / META_FILE).write_text(json.dumps(meta, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")

    def _model_files(self) -> dict[str, bytes]:
        """Model file and model card, from memory (after from_bytes) or the verified source directory."""
        if self._files is not None:
            return {k: v for k, v in self._files.items() if k != META_FILE}
        if self._source is None:
            raise ModelFileError(f"{self.name}: no model loaded to save. Call nlp.initialize() first.")
        names = (model_file(self._source, self.meta).name, MODEL_CARD_FILE)
        return {n: (self._source / n).read_bytes() for n in names if (self._source / n).is_file()}

    def _check_copy(self, model_path: Path, dest: Path) -> None:
        digest = sha256_file(model_path)
        expected = self.meta["model_sha256"]
        if digest != expected:
            origin = self._source / model_path.name if self._source else model_path
            raise ModelFileError(f"{origin}: sha256 {digest[:12]}… does not match the model loaded and verified "
                                 f"earlier ({expected[:12]}…): the file changed after loading, so it is not saved "
                                 f"to {dest}. Restore the original model directory and reload the pipeline.")

    def from_disk(self, path: str | Path, *,
                  exclude: Iterable[str] = SimpleFrozenList()) -> "DiplomacyStrategy":
        """Load and verify the model directory at ``path`` (raises :class:`ModelFileError`)."""
        if "model" not in exclude:
            self._load(ensure_path(path))
        return self

    def to_bytes(self, *, exclude: Iterable[str] = SimpleFrozenList()) -> bytes:
        """The model directory's files as msgpack bytes (for ``nlp.to_bytes()``)."""
        if "model" in exclude:
            return srsly.msgpack_dumps({})
        files = self._model_files()
        files[META_FILE] = (json.dumps(self.meta, indent=2, ensure_ascii=False) + "\n").encode("utf-8")
        return srsly.msgpack_dumps(files)

    def from_bytes(self, bytes_data: bytes, *,
                   exclude: Iterable[str] = SimpleFrozenList()) -> "DiplomacyStrategy":
        """Inverse of :meth:`to_bytes`, verified exactly like a directory on disk."""
        files = srsly.msgpack_loads(bytes_data)
        if "model" in exclude or not files:
            return self
        # load_model is the one place that verifies a model: give it a directory holding only the
        # files a model folder has (a key naming another path is refused, never written).
        allowed = {MODEL_FILE, META_FILE, MODEL_CARD_FILE}
        odd = sorted(str(k) for k in files if k not in allowed)
        if odd:
            raise ModelFileError(f"{self.name}: serialized pipeline holds unexpected files {odd}; expected only "
                                 f"{sorted(allowed)}. Re-save the pipeline with this version.")
        with tempfile.TemporaryDirectory() as tmp:
            for fname, data in files.items():
                (Path(tmp) / fname).write_bytes(data)
            self._load(Path(tmp))
        self._source, self._files = None, dict(files)
        return self


@Language.factory(
    FACTORY_NAME,
    assigns=["doc.cats", f"doc._.{STRATEGIES_ATTR}"],
    default_config={"model_dir": None, "threshold": None},
    default_score_weights={
        "cats_score": 1.0, "cats_score_desc": None, "cats_micro_p": None, "cats_micro_r": None,
        "cats_micro_f": None, "cats_macro_p": None, "cats_macro_r": None, "cats_macro_f": None,
        "cats_macro_auc": None, "cats_f_per_type": None, "strategies_macro_f": None,
    },
)
def make_diplomacy_strategy(nlp: Language, name: str, model_dir: str | None,
                            threshold: float | None) -> DiplomacyStrategy:
    """Factory for the ``diplomacy_strategy`` component (see the module docstring)."""
    return DiplomacyStrategy(nlp, name, model_dir=model_dir, threshold=threshold)
