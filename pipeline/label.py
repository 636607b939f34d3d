"""Batch labelling: stream posts in chunks through the model and write them out.

The per-chunk step :func:`label_chunk` is a plain function of (chunk, model) → labelled
chunk, so a distributed engine can run the same step across machines.
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .ingest import IngestStats, Reject, chunked, iter_posts
from .writers import REJECT_FIELDS, RecordWriter

log = logging.getLogger(__name__)
CHUNK_SIZE = 10_000


def label_chunk(chunk: list[dict[str, Any]], model: Any) -> list[dict[str, Any]]:
    """Add ``labels`` and ``scores`` to each record of ``chunk`` (in place) and return it."""
    if not chunk:
        return chunk
    proba = model.predict_proba(chunk)
    names = [str(c) for c in model.classes_]
    thresholds = model.thresholds_
    for rec, row in zip(chunk, proba):
        rec["scores"] = {n: round(float(p), 4) for n, p in zip(names, row)}
        rec["labels"] = [n for n, p, t in zip(names, row, thresholds) if p >= t]
    return chunk


@dataclass
class LabelRun:
    stats: IngestStats
    labelled: int
    output: Path
    rejects: Path | None


def label_files(inputs: Sequence[Path], output: Path, *, model_dir: Path | None = None,
                rejects: Path | None = None, transcripts: Path | None = None, fmt: str | None = None,
                columns: dict[str, str] | None = None, chunk_size: int = CHUNK_SIZE,
                progress: bool | None = None) -> LabelRun:
    """Label every post of ``inputs`` into ``output``; rejected records go to ``rejects``."""
    from .model_io import load_model

    model, _ = load_model(model_dir)
    stats = IngestStats()
    if rejects is None:
        rejects = output.with_name(output.name.split(".")[0] + ".rejects.jsonl")
    show = sys.stderr.isatty() if progress is None else progress
    bar = None
    if show:
        from tqdm import tqdm

        bar = tqdm(unit=" posts", file=sys.stderr, desc="labelling")
    labelled = 0
    with RecordWriter(output) as out, RecordWriter(rejects, REJECT_FIELDS) as rej:
        for chunk in chunked(iter_posts(inputs, fmt=fmt, columns=columns, transcripts=transcripts, stats=stats),
                             chunk_size):
            posts = [p for p in chunk if not isinstance(p, Reject)]
            rej.write([r.as_dict() for r in chunk if isinstance(r, Reject)])
            out.write(label_chunk(posts, model))
            labelled += len(posts)
            if bar is not None:
                bar.update(len(chunk))
    if bar is not None:
        bar.close()
    return LabelRun(stats, labelled, output, rejects)
