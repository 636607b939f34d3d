"""Provenance of a labelled file: model, thresholds, label definitions, inputs, command, versions.

``label`` writes it next to its output as ``OUT.meta.json`` (atomically: a temporary file in the
same folder renamed into place) and, for Parquet output, into the file's key-value metadata
under :data:`PARQUET_KEY`.  ``report`` reads it back (:func:`read_provenance`) to show which model
made the labels, how accurate that model is, and what the labels mean.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import platform
import sys
import tempfile
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path
from typing import Any

from pipeline.config import CONFIG_DIR, read_toml

log = logging.getLogger(__name__)
PROVENANCE_FORMAT = "tiktok-diplomacy-labelled/1"
PARQUET_KEY = "tiktok_diplomacy.provenance"
SIDECAR_SUFFIX = ".meta.json"
_LIBRARIES = ("tiktok-diplomacy", "scikit-learn", "spacy", "numpy", "pandas", "pyarrow", "sudachipy", "py3langid")


def sidecar_path(output: Path) -> Path:
    """``OUT.meta.json`` for the labelled file ``OUT``."""
    output = Path(output)
    return output.with_name(output.name + SIDECAR_SUFFIX)


def file_sha256(path: Path, block: int = 1 << 20) -> str:
    """Hex sha256 of a file's bytes, read in 1 MiB blocks."""
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        while chunk := fh.read(block):
            digest.update(chunk)
    return digest.hexdigest()


def text_sha256(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def label_definitions() -> list[dict[str, str]]:
    """Name, short description, definition text and the definition's sha256, from configs/labels.toml."""
    cfg = read_toml(CONFIG_DIR / "labels.toml", what="label set", option="configs/labels.toml")
    out = []
    for entry in cfg["label"]:
        text = str(entry.get("definition") or entry.get("short") or "")
        out.append({"name": entry["name"], "short": str(entry.get("short", "")), "definition": text,
                    "sha256": text_sha256(text)})
    return out


def library_versions() -> dict[str, str]:
    """Installed versions of the libraries that shape the labels (missing ones left out)."""
    versions = {"python": platform.python_version()}
    for dist in _LIBRARIES:
        try:
            versions[dist] = metadata.version(dist)
        except metadata.PackageNotFoundError:
            continue
    return versions


def model_summary(model_dir: Path, meta: Mapping[str, Any]) -> dict[str, Any]:
    """What a report needs of the model's meta.json: id, hashes, thresholds, training prevalence, metrics."""
    corpus = meta.get("training_corpus") or {}
    n = corpus.get("n_posts") or 0
    prevalence = {k: round(v / n, 6) for k, v in (corpus.get("positives") or {}).items()} if n else {}
    return {"id": Path(model_dir).resolve().name, "path": str(model_dir), "model_file": meta.get("model_file"),
            "sha256": meta.get("model_sha256"), "meta_sha256": file_sha256(Path(model_dir) / "meta.json"),
            "created_at": meta.get("created_at"), "format_version": meta.get("format_version"),
            "labels": meta.get("labels"), "thresholds": meta.get("thresholds"),
            "training_corpus": {"files": corpus.get("files"), "sha256": corpus.get("sha256"), "n_posts": n,
                                "positives": corpus.get("positives"), "prevalence": prevalence},
            "metrics": meta.get("metrics") or {}}


def build_provenance(*, model_dir: Path, meta: Mapping[str, Any], inputs: Sequence[Path],
                     rows: Mapping[str, int], output: Path, labelled: int, rejected: int,
                     transcripts: Path | None = None, explain: bool = False,
                     argv: Sequence[str] | None = None) -> dict[str, Any]:
    """The provenance record of one ``label`` run.

    ``rows`` maps each input's path (as given) to the records read from it (labelled + rejected).
    """
    files = []
    for path in inputs:
        path = Path(path)
        if path.is_file():
            files.append({"path": str(path), "name": path.name, "bytes": path.stat().st_size,
                          "sha256": file_sha256(path), "rows": int(rows.get(str(path), 0))})
        else:  # standard input or a pipe: read once, nothing left to hash
            files.append({"path": str(path), "name": path.name, "bytes": None, "sha256": None,
                          "rows": int(rows.get(str(path), 0)), "note": "standard input or a pipe: not hashed"})
    return {"format": PROVENANCE_FORMAT, "created_at": datetime.now(UTC).isoformat(timespec="seconds"),
            "command": list(sys.argv if argv is None else argv), "output": Path(output).name,
            "posts_labelled": labelled, "records_rejected": rejected, "explanations": explain,
            "transcripts": str(transcripts) if transcripts else None,
            "model": model_summary(model_dir, meta), "thresholds": dict(meta.get("thresholds") or {}),
            "label_definitions": label_definitions(), "inputs": files, "versions": library_versions()}


def write_json_atomic(path: Path, data: Any) -> Path:
    """Write JSON to a temporary file in the same folder, then rename it onto ``path``."""
    path = Path(path)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            json.dump(data, fh, indent=2, ensure_ascii=False)
            fh.write("\n")
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


def read_provenance(labelled: Path) -> dict[str, Any] | None:
    """The provenance of a labelled file: its sidecar, else its Parquet metadata; ``None`` if neither.

    A sidecar that is not valid JSON is reported in the log and ignored (the report then says
    it has no provenance rather than failing).
    """
    labelled = Path(labelled)
    side = sidecar_path(labelled)
    if side.is_file():
        try:
            data = json.loads(side.read_text(encoding="utf-8"))
            if isinstance(data, dict):
                return data
        except (json.JSONDecodeError, UnicodeDecodeError) as exc:
            log.warning("%s: not valid JSON (%s); the report shows no provenance", side, exc)
    if labelled.suffix.lower() in (".parquet", ".pq") and labelled.is_file():
        import pyarrow.parquet as pq  # lazy: pyarrow only for Parquet inputs

        kv = pq.ParquetFile(labelled).metadata.metadata or {}
        raw = kv.get(PARQUET_KEY.encode())
        if raw:
            return json.loads(raw.decode("utf-8"))
    return None
