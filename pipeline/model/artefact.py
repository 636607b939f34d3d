"""Model folders: ``model.npz`` + ``meta.json`` (+ ``MODEL_CARD.md``), loaded without running code.

The fitted state of a :class:`~pipeline.model.estimator.StrategyClassifier` is stored as plain
NumPy arrays and one JSON document inside ``model.npz``, read with ``np.load(allow_pickle=False)``.
Loading therefore never unpickles or imports anything named by the file: a model folder
handed over by someone else can hold wrong numbers, but it cannot run code. (skops would also
avoid arbitrary code, but its trusted-type lists cover scikit-learn objects, not this
project's vectorisers, and would still reconstruct objects from names in the file; a fixed
schema of arrays is smaller and leaves nothing to trust.)

``meta.json`` records the sha256 of ``model.npz``. That check catches a truncated, corrupted
or swapped file; it is **not** a signature: whoever hands you a folder can rewrite both files.
"""

from __future__ import annotations

import hashlib
import io
import json
import logging
import os
import platform
import tempfile
import warnings
import zipfile
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np

from pipeline import __version__
from pipeline.config import DEFAULT_MODEL_DIR, SHIPPED_MODELS
from pipeline.errors import ModelFileError

log = logging.getLogger(__name__)

#: 3: fitted state as arrays + JSON in model.npz, no pickle (2 was a joblib pickle).
FORMAT_VERSION = 3
MODEL_FILE = "model.npz"
META_FILE = "meta.json"
_STATE_KEY = "state_json"
_NAME_SEP = "\x00"  # joins feature names: cleaning removes control characters from text


def sha256_file(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def library_versions() -> dict[str, str]:
    """Versions of the libraries a model depends on, from the installed packages' metadata
    (importing scikit-learn and spaCy only to ask would cost ~2 s per labelling run)."""
    from importlib.metadata import PackageNotFoundError, version

    def installed(name: str) -> str:
        try:
            return version(name)
        except PackageNotFoundError:
            return "not installed"

    return {"python": platform.python_version(), "scikit-learn": installed("scikit-learn"),
            "spacy": installed("spacy"), "numpy": np.__version__, "tiktok-diplomacy": __version__}


# --- fitted state <-> arrays -------------------------------------------------------------

def _names_blob(names: Any) -> np.ndarray:
    return np.frombuffer(_NAME_SEP.join(str(n) for n in names).encode("utf-8"), dtype=np.uint8)


def _names_from_blob(blob: np.ndarray, n: int) -> np.ndarray:
    names = blob.tobytes().decode("utf-8").split(_NAME_SEP) if n else []
    if len(names) != n:
        raise ValueError(f"{len(names)} feature names for {n} features")
    return np.array(names, dtype=object)


def model_state(model: Any) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
    """The JSON document and arrays that fully describe a fitted StrategyClassifier."""
    from sklearn.feature_extraction import DictVectorizer  # heavy; saving only

    from pipeline.features.lemmas import LemmaTfidf  # lazy: pulls scikit-learn (read_meta callers need none)
    from pipeline.features.vectorize import (  # lazy: pulls scikit-learn (read_meta callers need none)
        CharNgramTfidf,
        TokenNgramTfidf,
    )

    arrays: dict[str, np.ndarray] = {}
    blocks = []
    for i, (name, cols, trans) in enumerate(model.blocks_):
        p = f"b{i}_"
        if isinstance(trans, DictVectorizer):
            blocks.append({"name": name, "columns": cols, "kind": "dict", "separator": trans.separator,
                           "features": [str(f) for f in trans.feature_names_]})
            continue
        if isinstance(trans, LemmaTfidf):
            kind, params = "lemmas", {"min_lang_posts": trans.min_lang_posts, "languages": list(trans.languages_),
                                      "ids": getattr(trans, "ids", "spacy")}
            arrays[p + "forms"], arrays[p + "lemmas"] = trans.forms_, trans.lemmas_
        elif isinstance(trans, CharNgramTfidf):
            kind, params = "chars", {"ngram_range": list(trans.ngram_range), "scripts": trans.scripts}
        elif isinstance(trans, TokenNgramTfidf):
            kind, params = "tokens", {"ngram_range": list(trans.ngram_range)}
        else:
            raise TypeError(f"block {name!r}: cannot store a {type(trans).__name__}")
        params.update(min_df=trans.min_df, max_features=trans.max_features, sublinear_tf=trans.sublinear_tf)
        arrays[p + "vocabulary"], arrays[p + "idf"] = trans.vocabulary_, trans.idf_
        arrays[p + "names"] = _names_blob(trans.feature_names_)
        blocks.append({"name": name, "columns": cols, "kind": kind, "params": params,
                       "n_features": int(len(trans.vocabulary_))})
    arrays.update(coef=model.coef_, intercept=model.intercept_, calib_a=model.calib_a_, calib_b=model.calib_b_,
                  thresholds=np.asarray(model.thresholds_, dtype=float))
    params = {k: (list(v) if isinstance(v, tuple) else v) for k, v in model.get_params().items()}
    params["labels"] = [str(c) for c in model.classes_]
    params["cues"] = model.prep_.cues_
    params["registries"] = getattr(model.prep_, "registries_", {})
    state = {"format_version": FORMAT_VERSION, "labels": [str(c) for c in model.classes_], "params": params,
             "preprocessor": {"max_transcript_chars": model.prep_.max_transcript_chars,
                              "japanese_tokenizer": model.prep_.japanese_tokenizer, "cues": model.prep_.cues_,
                              "registries": params["registries"], "cue_boundaries": model.prep_.cue_boundaries,
                              "word_tokenizer": getattr(model.prep_, "word_tokenizer", "spacy"),
                              "cue_detail": bool(getattr(model.prep_, "cue_detail", False))},
             "rules": list(getattr(model, "rules_", [])),
             "blocks": blocks}
    return state, arrays


def model_from_state(state: dict[str, Any], arrays: Any) -> Any:
    """Rebuild a fitted StrategyClassifier from :func:`model_state`'s output (no code from the file)."""
    from sklearn.feature_extraction import DictVectorizer

    from pipeline.features.lemmas import LemmaTfidf  # lazy: pulls scikit-learn (read_meta callers need none)
    from pipeline.features.preprocess import (  # lazy: pulls scikit-learn (read_meta callers need none)
        PostPreprocessor,
        token_text,
    )
    from pipeline.features.vectorize import (  # lazy: pulls scikit-learn (read_meta callers need none)
        CharNgramTfidf,
        TokenNgramTfidf,
    )
    from pipeline.model.estimator import StrategyClassifier  # lazy: pulls scikit-learn (read_meta callers need none)

    params = dict(state["params"])
    for key in ("char_ngram_range",):
        if isinstance(params.get(key), list):
            params[key] = tuple(params[key])
    params["labels"] = tuple(params["labels"])
    model = StrategyClassifier(**params)
    model.classes_ = np.array(state["labels"], dtype=object)
    pre = state["preprocessor"]
    # models written before registries, word-boundary cues and rules read as they were trained
    model.prep_ = PostPreprocessor(max_transcript_chars=int(pre["max_transcript_chars"]),
                                   japanese_tokenizer=str(pre["japanese_tokenizer"]), cues=pre["cues"],
                                   registries=dict(pre.get("registries") or {}),
                                   cue_boundaries=bool(pre.get("cue_boundaries", False)),
                                   word_tokenizer=str(pre.get("word_tokenizer", "spacy")),
                                   cue_detail=bool(pre.get("cue_detail", False))).fit()
    model.rules_ = [dict(r) for r in state.get("rules", [])]
    model.blocks_ = []
    for i, b in enumerate(state["blocks"]):
        p = f"b{i}_"
        cols = b["columns"]
        if b["kind"] == "dict":
            trans: Any = DictVectorizer(separator=b["separator"])
            trans.feature_names_ = list(b["features"])
            trans.vocabulary_ = {f: j for j, f in enumerate(trans.feature_names_)}
            model.blocks_.append((b["name"], cols, trans))
            continue
        kw = dict(b["params"])
        common = {k: kw.pop(k) for k in ("min_df", "max_features", "sublinear_tf")}
        if b["kind"] == "lemmas":
            trans = LemmaTfidf(min_lang_posts=kw["min_lang_posts"], token_text=token_text,
                               ids=str(kw.get("ids", "spacy")), **common)
            trans.languages_ = list(kw["languages"])
            trans.forms_, trans.lemmas_ = arrays[p + "forms"], arrays[p + "lemmas"]
            trans._form_index = None
        elif b["kind"] == "chars":
            trans = CharNgramTfidf(tuple(kw["ngram_range"]), scripts=kw["scripts"], **common)
        elif b["kind"] == "tokens":
            trans = TokenNgramTfidf(tuple(kw["ngram_range"]), token_text=token_text, **common)
        else:
            raise ValueError(f"unknown block kind {b['kind']!r}")
        trans.vocabulary_, trans.idf_ = arrays[p + "vocabulary"], arrays[p + "idf"]
        trans.feature_names_ = _names_from_blob(arrays[p + "names"], int(b["n_features"]))
        trans._index = None
        model.blocks_.append((b["name"], cols, trans))
    model.coef_, model.intercept_ = arrays["coef"], arrays["intercept"]
    model.calib_a_, model.calib_b_ = arrays["calib_a"], arrays["calib_b"]
    model.thresholds_ = arrays["thresholds"]
    model.cv_probabilities_ = None
    n_feat = sum(len(t.feature_names_) for _, _, t in model.blocks_)
    if model.coef_.shape != (len(model.classes_), model.coef_.shape[1], n_feat):
        raise ValueError(f"coefficients of shape {model.coef_.shape} do not fit {len(model.classes_)} labels "
                         f"and {n_feat} features")
    return model


# --- writing and reading folders ----------------------------------------------------------

def _atomic_bytes(path: Path, data: bytes) -> None:
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
        os.chmod(tmp, 0o644)  # mkstemp makes 0600; a model folder is meant to be shared
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def save_model(model: Any, out_dir: Path, meta: dict[str, Any]) -> dict[str, Any]:
    """Write ``model`` and its metadata to ``out_dir`` (each file atomically); return the metadata written."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    state, arrays = model_state(model)
    buf = io.BytesIO()
    arrays[_STATE_KEY] = np.frombuffer(json.dumps(state, ensure_ascii=False, sort_keys=True).encode("utf-8"),
                                       dtype=np.uint8)
    np.savez_compressed(buf, allow_pickle=False, **arrays)
    path = out_dir / MODEL_FILE
    _atomic_bytes(path, buf.getvalue())
    full = {
        "format_version": FORMAT_VERSION,
        "labels": [str(c) for c in model.classes_],
        "thresholds": {str(c): float(t) for c, t in zip(model.classes_, model.thresholds_)},
        "library_versions": library_versions(),
        "created_at": datetime.now(UTC).replace(microsecond=0).isoformat().replace("+00:00", "Z"),
        "model_file": MODEL_FILE,
        "model_sha256": sha256_file(path),
        **meta,
    }
    _atomic_bytes(out_dir / META_FILE, (json.dumps(full, indent=2, ensure_ascii=False) + "\n").encode("utf-8"))
    return full


def read_meta(model_dir: Path) -> dict[str, Any]:
    model_dir = Path(model_dir)
    meta_path = model_dir / META_FILE
    if not model_dir.is_dir():
        raise ModelFileError(f"{model_dir}: model directory not found. Pass --model DIR of a model made by "
                             f"'tiktok-diplomacy train' or the name of a shipped model ({', '.join(SHIPPED_MODELS)}), or omit "
                             "--model to use the default.")
    if not meta_path.is_file():
        raise ModelFileError(f"{meta_path}: missing. A model directory needs {META_FILE} and {MODEL_FILE}; "
                             "retrain with 'tiktok-diplomacy train'.")
    try:
        meta = json.loads(meta_path.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise ModelFileError(f"{meta_path}: not valid JSON ({exc}). Retrain the model.") from exc
    if not isinstance(meta, dict):
        raise ModelFileError(f"{meta_path}: expected a JSON object, got {type(meta).__name__}. Retrain the model.")
    return meta


def model_file(model_dir: Path, meta: dict[str, Any]) -> Path:
    """The model file named by ``meta``: a plain file name inside ``model_dir``, nothing else."""
    name = meta.get("model_file", MODEL_FILE)
    plain = isinstance(name, str) and name not in ("", ".", "..") and "/" not in name and "\\" not in name \
        and "\x00" not in name and not name.startswith("~")
    path = Path(model_dir) / name if plain else None
    if path is None or path.resolve().parent != Path(model_dir).resolve():
        raise ModelFileError(f"{Path(model_dir) / META_FILE}: model_file {name!r} is not a plain file name inside "
                             f"the model directory (expected e.g. {MODEL_FILE!r}). Use a model folder written by "
                             "'tiktok-diplomacy train'.")
    return path


def load_model(model_dir: Path | str | None = None, *, lean: bool = False) -> tuple[Any, dict[str, Any]]:
    """Verify and load a model directory; return ``(model, meta)``. Never runs code from the folder.

    ``lean=True`` returns a :class:`pipeline.model.predictor.Predictor` instead of the
    scikit-learn estimator: the same probabilities, labels and rules from NumPy alone (~2 s less
    start-up per process), but no explanations, no refitting.

    Raises
    ------
    ModelFileError
        If files are missing, the format version is unknown (a pickle of format 2 included),
        ``model_file`` points outside the folder, the sha256 does not match ``meta.json``, or the
        arrays do not form a model.
    """
    model_dir = Path(model_dir) if model_dir else DEFAULT_MODEL_DIR
    meta = read_meta(model_dir)
    version = meta.get("format_version")
    if version != FORMAT_VERSION:
        extra = (" Format 2 was a pickle, which can run code when loaded; it is no longer read."
                 if version == 2 else "")
        raise ModelFileError(f"{model_dir}: model format version {version!r} is not supported "
                             f"(this version reads {FORMAT_VERSION}).{extra} Retrain with 'tiktok-diplomacy train'.")
    path = model_file(model_dir, meta)
    if not path.is_file():
        raise ModelFileError(f"{path}: model file missing. Retrain with 'tiktok-diplomacy train'.")
    digest = sha256_file(path)
    if digest != meta.get("model_sha256"):
        raise ModelFileError(f"{path}: sha256 {digest[:12]}… does not match meta.json "
                             f"({str(meta.get('model_sha256'))[:12]}…): the file is corrupt or was changed after "
                             "training. Restore the original file or retrain.")
    try:
        with np.load(path, allow_pickle=False) as npz:
            arrays = {k: npz[k] for k in npz.files}
        state = json.loads(arrays.pop(_STATE_KEY).tobytes().decode("utf-8"))
        if lean:
            from pipeline.model.predictor import Predictor  # lazy: sibling that imports features

            model = Predictor(state, arrays)
        else:
            model = model_from_state(state, arrays)
    except (ValueError, KeyError, TypeError, OSError, zipfile.BadZipFile, UnicodeDecodeError,
            json.JSONDecodeError) as exc:
        raise ModelFileError(f"{path}: not a model this project can read ({type(exc).__name__}: {exc}). "
                             "Retrain with 'tiktok-diplomacy train'.") from exc
    current = library_versions()
    drift = {k: (v, current.get(k)) for k, v in meta.get("library_versions", {}).items()
             if k in ("scikit-learn", "spacy", "numpy") and v != current.get(k)}
    if drift:
        warnings.warn(f"{model_dir}: trained with " + ", ".join(f"{k} {a} (now {b})" for k, (a, b) in drift.items())
                      + "; predictions may differ slightly. Retrain to silence this warning.", stacklevel=2)
    return model, meta
