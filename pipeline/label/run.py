"""The labelling run: read → validate/dedupe → clean → language → classify → write.

:func:`label_files` streams the inputs in chunks (:mod:`pipeline.ingest` reads, validates,
de-duplicates and cleans each record), labels each chunk (:func:`pipeline.label.chunk.label_chunk`,
in this process or in :mod:`pipeline.label.workers`) and writes output and rejects.
"""

from __future__ import annotations

import json
import logging
from collections import Counter
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from itertools import chain, islice
from pathlib import Path
from typing import Any

from pipeline.config import DEFAULT_MODEL_DIR
from pipeline.errors import UsageError
from pipeline.ingest import IngestStats, Reject, chunked, iter_posts
from pipeline.io.progress import bar as progress_bar
from pipeline.io.sources import bytes_read
from pipeline.io.writers import REJECT_FIELDS, RecordWriter
from pipeline.label import workers as pool
from pipeline.label.provenance import PARQUET_KEY, build_provenance, sidecar_path, write_json_atomic
from pipeline.label.workers import CHUNK_SIZE
from pipeline.model.artefact import read_meta

log = logging.getLogger(__name__)


@dataclass
class LabelRun:
    stats: IngestStats
    labelled: int
    output: Path
    rejects: Path | None
    #: label → decision threshold used (the model's, or the user's with ``thresholds``)
    thresholds: dict[str, float] | None = None



def label_files(inputs: Sequence[str | Path] | str | Path, output: str | Path, *, model_dir: str | Path | None = None,
                rejects: str | Path | None = None, transcripts: str | Path | None = None, fmt: str | None = None,
                columns: dict[str, str] | None = None, chunk_size: int = CHUNK_SIZE,
                progress: bool | None = None, explain: bool = False, top_k: int | None = None,
                workers: int | None = 1, thresholds: dict[str, float] | None = None) -> LabelRun:
    """Label every post of ``inputs`` into ``output``; rejected records go to ``rejects``.

    With ``workers > 1`` chunks are language-tagged and labelled in that many processes (each
    a fork of a server that loaded the libraries once; see :func:`pipeline.label.workers.mp_context`); output,
    rejects and counts are byte-for-byte those of one worker. ``workers=None`` chooses:
    :func:`pipeline.label.workers.default_workers`, or this process alone when the input fits in one chunk (a second
    worker would have nothing to do, and starting the pool costs more than it saves). Workers
    are started with forkserver/spawn, so a script calling this with ``workers`` other than 1
    needs the ``if __name__ == "__main__":`` guard.
    """
    if workers is not None and workers < 1:
        raise ValueError(f"workers must be a positive integer. Got {workers!r} instead.")
    if top_k is not None and top_k < 1:
        raise ValueError(f"top_k must be a positive integer. Got {top_k!r} instead.")
    inputs = [Path(inputs)] if isinstance(inputs, (str, Path)) else [Path(p) for p in inputs]
    output = Path(output)
    rejects = Path(rejects) if rejects is not None else None
    transcripts = Path(transcripts) if transcripts is not None else None
    model_dir = Path(model_dir) if model_dir is not None else None
    stats = IngestStats()
    if rejects is None:
        rejects = output.with_name(output.name.split(".")[0] + ".rejects.jsonl")

    def split() -> Iterator[tuple[list[Any], list[dict[str, Any]]]]:
        # language ID runs per chunk where the model does (a batch is faster than post by post)
        posts = iter_posts(inputs, fmt=fmt, columns=columns, transcripts=transcripts, stats=stats,
                           detect_lang=False)
        for chunk in chunked(posts, chunk_size):
            yield chunk, [p for p in chunk if not isinstance(p, Reject)]

    chunks = split()
    meta = read_meta(model_dir or DEFAULT_MODEL_DIR)  # fails fast on a missing model directory
    used = {**(meta.get("thresholds") or {}), **(thresholds or {})}
    if thresholds:
        _check_thresholds(thresholds, meta)
        log.info("decision thresholds set by the user: %s (all used: %s)", thresholds, used)
    if workers is None:
        workers = pool.default_workers()
        if workers > 1:
            if pool.likely_several_chunks(inputs):
                pool.mp_context()  # the workers' server preloads while the first chunks are read
            head = list(islice(chunks, 2))
            if len(head) < 2:
                workers = 1
            chunks = chain(head, chunks)
    if workers == 1:
        from pipeline.model.artefact import load_model  # lazy: pulls scikit-learn only when labelling here

        from pipeline.model.thresholds import with_thresholds  # lazy: next to load_model

        labelled_chunks = pool.label_in_process(chunks, with_thresholds(load_model(model_dir)[0], thresholds),
                                                explain, top_k)
    else:
        labelled_chunks = pool.label_parallel(chunks, model_dir, workers, explain, top_k, thresholds)
    # the bar's total is the inputs' size on disk, so it shows the time left from bytes read
    total = sum(Path(p).stat().st_size for p in inputs if Path(p).is_file())
    bar = progress_bar(total, "labelling", "B", show=progress, unit_scale=True, unit_divisor=1024)
    start_bytes = bytes_read()
    labelled = 0
    rows: Counter[str] = Counter()  # records read per input file, for the provenance sidecar
    try:
        with pool.fewer_collections(), RecordWriter(output) as out, RecordWriter(rejects, REJECT_FIELDS) as rej:
            for items, posts in labelled_chunks:
                rej.write([r.as_dict() for r in items if isinstance(r, Reject)])
                out.write(posts)
                labelled += len(posts)
                rows.update(str(r.source_file if isinstance(r, Reject) else r.get("source_file")) for r in items)
                # head reads during format detection count too: never past the total
                bar.update(max(0, min(bytes_read() - start_bytes, total) - bar.n))
                bar.set_postfix_str(f"{labelled:,} posts")
            mdir = Path(model_dir) if model_dir else DEFAULT_MODEL_DIR
            prov = build_provenance(model_dir=mdir, meta=read_meta(mdir), inputs=inputs, rows=_by_input(inputs, rows),
                                    output=output, labelled=labelled, rejected=stats.rejected,
                                    transcripts=transcripts, explain=explain)
            if thresholds:  # the user's --threshold values override the model's: record what was used
                prov["thresholds"] = dict(used)
                prov["thresholds_set_by_user"] = dict(thresholds)
            out.add_metadata({PARQUET_KEY: json.dumps(prov, ensure_ascii=False)})
        write_json_atomic(sidecar_path(output), prov)
    finally:
        labelled_chunks.close()  # stops the worker processes if writing failed
        bar.close()
    return LabelRun(stats, labelled, output, rejects, used or None)


def _check_thresholds(thresholds: dict[str, float], meta: dict[str, Any]) -> None:
    """Stop before reading any input when a ``--threshold`` names an unknown label or a bad value."""
    known = list(meta.get("labels") or meta.get("thresholds") or [])
    for name, value in thresholds.items():
        if known and name not in known:
            raise UsageError(f"--threshold for unknown label {name!r}; labels: {', '.join(known)}")
        if not 0.0 < float(value) < 1.0:
            raise UsageError(f"--threshold {name}={value}: use a value between 0 and 1 (exclusive)")


def _by_input(inputs: Sequence[Path], rows: Counter[str]) -> dict[str, int]:
    """Records per input as given on the command line (readers record the path they opened)."""
    out = {}
    for path in inputs:
        key = str(path)
        out[key] = rows.get(key) or rows.get(Path(path).name) or rows.get(str(Path(path).resolve())) or 0
    return out
