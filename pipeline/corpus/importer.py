"""Annotation-tool exports → a canonical annotated corpus (JSONL of post records + ``labels``).

Judgements of one post (several annotators, several binary Prodigy decisions, several files)
are merged into one record.  Problems stop the import with a message naming the file and line:
a missing post id, a post without text, the same id on two different posts, and the same post
annotated differently (adjudicate first).
"""

from __future__ import annotations

import logging
import re
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import orjson

from pipeline.clean.language import ensure_language
from pipeline.corpus.read import CorpusError
from pipeline.corpus.tool_formats import Judgement, detect_format, read_annotations
from pipeline.errors import InputFileError
from pipeline.schema import EXTRA_FIELDS, POST_FIELDS, TEXT_FIELDS, has_text, labels, validate_post

log = logging.getLogger(__name__)

#: Field order of a corpus record: the post, then the annotation.
CORPUS_ORDER = (*POST_FIELDS, *EXTRA_FIELDS, "labels", "source", "sampling", "annotator", "annotated_at", "note")
_SPACE_RE = re.compile(r"\s+")


@dataclass
class ImportResult:
    output: Path
    posts: int = 0
    judgements: int = 0
    formats: dict[str, str] = field(default_factory=dict)
    positives: dict[str, int] = field(default_factory=dict)
    skipped: Counter = field(default_factory=Counter)
    #: Posts judged on only some labels (binary Prodigy answers); the others count as absent.
    partial: int = 0


def _text_key(post: dict[str, Any]) -> str:
    return _SPACE_RE.sub(" ", " ".join(post.get(f) or "" for f in TEXT_FIELDS)).strip().casefold()


def _check(j: Judgement) -> str:
    pid = j.post.get("post_id")
    if not pid:
        raise CorpusError(f"{j.where}: no post id. Put a 'post_id' field in the data you load into the tool "
                          "(Label Studio task data, Prodigy 'meta', doccano metadata, a CSV column).")
    if not has_text(j.post):
        raise CorpusError(f"{j.where}: post {pid} has no caption, transcript or on-screen text, so its "
                          "annotation cannot be checked. Remove it or add its text to the task data.")
    problem = validate_post(j.post)
    if problem:
        raise CorpusError(f"{j.where}: post {pid}: {problem}.")
    return str(pid)


def merge(pid: str, group: list[Judgement], *, default_date: str | None = None) -> tuple[dict[str, Any], bool]:
    """One corpus record from all judgements of post ``pid``; also whether some labels went unjudged.

    ``default_date`` is the ``annotated_at`` of posts whose tool recorded no date."""
    first = group[0]
    for j in group[1:]:
        if _text_key(j.post) != _text_key(first.post):
            raise CorpusError(f"{j.where}: post id {pid} is also used at {first.where} for a different post "
                              "(the text differs). Post ids must be unique: fix the id in the tool's data.")
    full = [j for j in group if j.labels is not None]
    for j in full[1:]:
        if j.labels != full[0].labels:
            raise CorpusError(f"{j.where}: post {pid} is annotated {j.labels} here but {full[0].labels} at "
                              f"{full[0].where}. Adjudicate and keep one annotation.")
    decided: dict[str, tuple[bool, str]] = {}
    for j in group:
        for label, accepted in j.decisions.items():
            ref = (label in (full[0].labels or []), full[0].where) if full else decided.get(label)
            if ref is not None and ref[0] != accepted:
                raise CorpusError(f"{j.where}: post {pid}: {label} is {'accepted' if accepted else 'rejected'} here "
                                  f"but {'accepted' if ref[0] else 'rejected'} at {ref[1]}. "
                                  "Adjudicate and keep one annotation.")
            decided.setdefault(label, (accepted, j.where))
    if full:
        chosen, partial = full[0].labels or [], False
    else:
        chosen = [n for n in labels() if decided.get(n, (False, ""))[0]]
        partial = set(decided) != set(labels())
    post: dict[str, Any] = {}
    for j in group:  # the first judgement's fields win; later ones fill gaps
        for k, v in j.post.items():
            post.setdefault(k, v)
    ensure_language(post)
    annotators = list(dict.fromkeys(j.annotator for j in group if j.annotator))
    dates = sorted(j.annotated_at for j in group if j.annotated_at)
    notes = list(dict.fromkeys(j.note for j in group if j.note))
    rec = {**post, "labels": chosen, "source": post.get("source") or first.source,
           "annotator": "+".join(annotators) or "unknown", "annotated_at": dates[-1] if dates else default_date,
           "note": " | ".join(notes)}
    return {k: rec[k] for k in CORPUS_ORDER if rec.get(k) is not None}, partial


def import_annotations(paths: Sequence[Path], output: Path, *, fmt: str | None = None,
                       annotator: str | None = None) -> ImportResult:
    """Read annotation exports, merge and validate them, and write a corpus JSONL to ``output``.

    Raises
    ------
    CorpusError
        With the file and line (or task) of the first problem found.
    """
    result = ImportResult(Path(output))
    groups: dict[str, list[Judgement]] = {}
    for path in paths:
        path = Path(path)
        result.formats[str(path)] = kind = fmt or detect_format(path)
        for j in read_annotations(path, kind, result.skipped):
            if annotator:
                j.annotator = annotator
            groups.setdefault(_check(j), []).append(j)
            result.judgements += 1
    if not groups:
        raise CorpusError(f"{', '.join(map(str, paths))}: no annotated posts found"
                          + (f" ({_skips(result.skipped)})" if result.skipped else "") + ".")
    today = datetime.now(UTC).date().isoformat()  # doccano and most spreadsheets carry no date
    records = []
    for pid, group in groups.items():
        rec, partial = merge(pid, group, default_date=today)
        records.append(rec)
        result.partial += partial
    _write_jsonl(records, result.output, inputs=paths)
    result.posts = len(records)
    result.positives = {n: sum(n in r["labels"] for r in records) for n in labels()}
    log.info("imported %d posts from %d judgements", result.posts, result.judgements)
    return result


def _skips(skipped: Counter) -> str:
    return ", ".join(f"{n} {reason}" for reason, n in skipped.most_common())


def _write_jsonl(records: list[dict[str, Any]], output: Path, *, inputs: Sequence[Path] = ()) -> None:
    output = Path(output)
    if any(output.resolve() == Path(p).resolve() for p in inputs):
        raise InputFileError(output, "is also an input", "Write the corpus to a new file.")
    output.parent.mkdir(parents=True, exist_ok=True)
    with open(output, "wb") as fh:
        for rec in records:
            fh.write(orjson.dumps(rec) + b"\n")


def summary(result: ImportResult) -> str:
    """One line for the terminal."""
    pos = ", ".join(f"{n} {c}" for n, c in result.positives.items())
    line = f"imported {result.posts} posts ({result.judgements} judgements) from {len(result.formats)} file(s): {pos}"
    if result.skipped:
        line += f"; skipped {_skips(result.skipped)}"
    return line
