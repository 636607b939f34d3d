"""Saving and loading model directories: ``model.joblib`` + ``meta.json`` (+ ``MODEL_CARD.md``).

Loading a joblib/pickle file runs code, so :func:`load_model` checks the file's sha256
against ``meta.json`` *before* unpickling and refuses any mismatch.
"""

from __future__ import annotations

import hashlib
import json
import logging
import platform
import warnings
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import joblib

from . import __version__
from .errors import ModelFileError
from .schema import labels

log = logging.getLogger(__name__)

FORMAT_VERSION = 2  # 2: NumPy n-gram vectorisers (pipeline.vectorize) over spaCy token ids
MODEL_FILE = "model.joblib"
META_FILE = "meta.json"
DEFAULT_MODEL_DIR = Path(__file__).resolve().parent.parent / "models" / "default"


def sha256_file(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def library_versions() -> dict[str, str]:
    import numpy
    import sklearn
    import spacy

    return {"python": platform.python_version(), "scikit-learn": sklearn.__version__, "spacy": spacy.__version__,
            "numpy": numpy.__version__, "joblib": joblib.__version__, "tiktok-diplomacy": __version__}


def save_model(model: Any, out_dir: Path, meta: dict[str, Any]) -> dict[str, Any]:
    """Write ``model`` and its metadata to ``out_dir``; return the full metadata written."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    path = out_dir / MODEL_FILE
    joblib.dump(model, path, compress=3)
    full = {
        "format_version": FORMAT_VERSION,
        "labels": list(model.classes_),
        "thresholds": {c: float(t) for c, t in zip(model.classes_, model.thresholds_)},
        "library_versions": library_versions(),
        "created_at": datetime.now(timezone.utc).replace(microsecond=0).isoformat().replace("+00:00", "Z"),
        "model_file": MODEL_FILE,
        "model_sha256": sha256_file(path),
        **meta,
    }
    (out_dir / META_FILE).write_text(json.dumps(full, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    return full


def read_meta(model_dir: Path) -> dict[str, Any]:
    model_dir = Path(model_dir)
    meta_path = model_dir / META_FILE
    if not model_dir.is_dir():
        raise ModelFileError(f"{model_dir}: model directory not found. Pass --model DIR of a model made by "
                             "'tiktok-diplomacy train', or omit --model to use the shipped one.")
    if not meta_path.is_file():
        raise ModelFileError(f"{meta_path}: missing. A model directory needs meta.json and {MODEL_FILE}; "
                             "retrain with 'tiktok-diplomacy train'.")
    try:
        return json.loads(meta_path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise ModelFileError(f"{meta_path}: not valid JSON ({exc}). Retrain the model.") from exc


def load_model(model_dir: Path | None = None) -> tuple[Any, dict[str, Any]]:
    """Verify and load a model directory; return ``(model, meta)``.

    Raises
    ------
    ModelFileError
        If files are missing, the format version is unknown, the label set differs from
        ``configs/labels.toml``, or the model file's sha256 does not match ``meta.json``.
    """
    model_dir = Path(model_dir) if model_dir else DEFAULT_MODEL_DIR
    meta = read_meta(model_dir)
    if meta.get("format_version") != FORMAT_VERSION:
        raise ModelFileError(f"{model_dir}: model format version {meta.get('format_version')!r} is not supported "
                             f"(this version reads {FORMAT_VERSION}). Retrain with 'tiktok-diplomacy train'.")
    path = model_dir / meta.get("model_file", MODEL_FILE)
    if not path.is_file():
        raise ModelFileError(f"{path}: model file missing. Retrain with 'tiktok-diplomacy train'.")
    digest = sha256_file(path)
    if digest != meta.get("model_sha256"):
        raise ModelFileError(f"{path}: sha256 {digest[:12]}… does not match meta.json "
                             f"({str(meta.get('model_sha256'))[:12]}…); refusing to load a model file this project "
                             "did not write. Retrain, or restore the original file.")
    if list(meta.get("labels", [])) != list(labels()):
        raise ModelFileError(f"{model_dir}: model labels {meta.get('labels')} differ from configs/labels.toml "
                             f"{list(labels())}. Retrain the model on the current label set.")
    current = library_versions()
    drift = {k: (v, current.get(k)) for k, v in meta.get("library_versions", {}).items()
             if k in ("scikit-learn", "spacy", "numpy") and v != current.get(k)}
    if drift:
        warnings.warn(f"{model_dir}: trained with " + ", ".join(f"{k} {a} (now {b})" for k, (a, b) in drift.items())
                      + "; predictions may differ slightly. Retrain to silence this warning.", stacklevel=2)
    model = joblib.load(path)
    return model, meta
