"""The labelling run: read → validate/dedupe → clean → language → classify → write.

:func:`label_files` streams the inputs in chunks (:mod:`pipeline.ingest` reads, validates,
de-duplicates and cleans each record), labels each chunk (:func:`pipeline.label.chunk.label_chunk`,
in this process or in :mod:`pipeline.label.workers`) and writes output and rejects.
"""

from __future__ import annotations

import json
import logging
import sys
from collections import Counter
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from itertools import chain, islice
from pathlib import Path
from typing import Any

from pipeline.config import DEFAULT_MODEL_DIR
from pipeline.ingest import IngestStats, Reject, chunked, iter_posts
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



def label_files(inputs: Sequence[Path], output: Path, *, model_dir: Path | None = None,
                rejects: Path | None = None, transcripts: Path | None = None, fmt: str | None = None,
                columns: dict[str, str] | None = None, chunk_size: int = CHUNK_SIZE,
                progress: bool | None = None, explain: bool = False, top_k: int | None = None,
                workers: int | None = 1) -> LabelRun:
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
    if workers != 1:
        # fail fast on a missing model directory; load_model (in each worker) verifies the rest
        read_meta(Path(model_dir) if model_dir else DEFAULT_MODEL_DIR)
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

        labelled_chunks = pool.label_in_process(chunks, load_model(model_dir)[0], explain, top_k)
    else:
        labelled_chunks = pool.label_parallel(chunks, model_dir, workers, explain, top_k)
    show = sys.stderr.isatty() if progress is None else progress
    bar = None
    if show:
        from tqdm import tqdm

        bar = tqdm(unit=" posts", file=sys.stderr, desc="labelling")
    labelled = 0
    rows: Counter[str] = Counter()  # records read per input file, for the provenance sidecar
    try:
        with pool.fewer_collections(), RecordWriter(output) as out, RecordWriter(rejects, REJECT_FIELDS) as rej:
            for items, posts in labelled_chunks:
                rej.write([r.as_dict() for r in items if isinstance(r, Reject)])
                out.write(posts)
                labelled += len(posts)
                rows.update(str(r.source_file if isinstance(r, Reject) else r.get("source_file")) for r in items)
                if bar is not None:
                    bar.update(len(items))
            mdir = Path(model_dir) if model_dir else DEFAULT_MODEL_DIR
            prov = build_provenance(model_dir=mdir, meta=read_meta(mdir), inputs=inputs, rows=_by_input(inputs, rows),
                                    output=output, labelled=labelled, rejected=stats.rejected,
                                    transcripts=transcripts, explain=explain)
            out.add_metadata({PARQUET_KEY: json.dumps(prov, ensure_ascii=False)})
        write_json_atomic(sidecar_path(output), prov)
    finally:
        labelled_chunks.close()  # stops the worker processes if writing failed
        if bar is not None:
            bar.close()
    return LabelRun(stats, labelled, output, rejects)


def _by_input(inputs: Sequence[Path], rows: Counter[str]) -> dict[str, int]:
    """Records per input as given on the command line (readers record the path they opened)."""
    out = {}
    for path in inputs:
        key = str(path)
        out[key] = rows.get(key) or rows.get(Path(path).name) or rows.get(str(Path(path).resolve())) or 0
    return out
