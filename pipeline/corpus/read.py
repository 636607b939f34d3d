"""Reading and validating annotated corpora (canonical post records + ``labels``)."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import orjson

from pipeline.errors import CorpusError, InputFileError
from pipeline.io.sources import open_text
from pipeline.schema import validate_labels

__all__ = ["CorpusError", "corpus_sha256", "iter_jsonl_objects", "read_corpus"]


def iter_jsonl_objects(path: Path) -> Iterator[tuple[int, dict[str, Any]]]:
    """(line number, object) for each non-empty line; a malformed line or a non-object is a
    :class:`CorpusError` naming the file and line."""
    with open_text(path) as fh:
        for lineno, line in enumerate(fh, start=1):
            if not line.strip():
                continue
            try:
                obj = orjson.loads(line.encode("utf-8", errors="surrogatepass"))
            except (orjson.JSONDecodeError, UnicodeEncodeError) as exc:
                raise CorpusError(f"{path}:{lineno}: malformed JSON ({exc}). Fix the line or export again.") from exc
            if not isinstance(obj, dict):
                raise CorpusError(f"{path}:{lineno}: expected a JSON object per line.")
            yield lineno, obj


def read_corpus(paths: Sequence[Path]) -> list[dict[str, Any]]:
    """Read annotated JSONL corpora; every record keeps ``corpus_file`` and ``corpus_line``.

    Raises
    ------
    CorpusError
        On malformed lines, missing or unknown labels, missing post ids, or the same post
        annotated differently.  Identical duplicates are dropped with the count logged.
    """
    paths = [paths] if isinstance(paths, (str, Path)) else paths  # one file given as a str or Path
    seen: dict[str, dict[str, Any]] = {}
    out: list[dict[str, Any]] = []
    for path in paths:
        path = Path(path)
        if not path.is_file():
            raise InputFileError(path, "corpus file not found", "Check the path.")
        for lineno, rec in iter_jsonl_objects(path):
            where = f"{path}:{lineno}"
            if "labels" not in rec:
                raise CorpusError(f"{where}: no 'labels' field. Annotated records need a list, [] for none.")
            try:
                rec["labels"] = validate_labels(rec["labels"])
            except ValueError as exc:
                raise CorpusError(f"{where}: {exc}") from exc
            pid = rec.get("post_id")
            if pid is None or not str(pid).strip():
                raise CorpusError(f"{where}: missing post_id.")
            pid = rec["post_id"] = str(pid)
            if pid in seen:
                first = seen[pid]
                if first["labels"] != rec["labels"]:
                    raise CorpusError(
                        f"{where}: post {pid} is annotated {rec['labels']} here but {first['labels']} at "
                        f"{first['corpus_file']}:{first['corpus_line']}. Adjudicate and keep one annotation.")
                continue
            rec["corpus_file"], rec["corpus_line"] = str(path), lineno
            seen[pid] = rec
            out.append(rec)
    if not out:
        raise CorpusError(f"{', '.join(map(str, paths))}: no annotated posts found.")
    return out


def post_id_hash(post_id: object) -> str:
    """First 16 hex digits of the sha256 of a post id: what a model stores of its training posts
    (enough to recognise them at evaluation, without listing the ids themselves)."""
    return hashlib.sha256(str(post_id).encode("utf-8")).hexdigest()[:16]


def corpus_sha256(paths: Sequence[Path]) -> str:
    h = hashlib.sha256()
    for p in paths:
        h.update(Path(p).read_bytes())
    return h.hexdigest()
