"""Batch labelling: stream posts in chunks through the model and write them out.

The per-chunk step :func:`label_chunk` is a plain function of (chunk, model) → labelled
chunk, so a distributed engine can run the same step across machines; ``label_files(...,
workers=N)`` runs it in N local processes that each load the model once.
"""

from __future__ import annotations

import gc
import logging
import multiprocessing
import os
import sys
import warnings
from collections import deque
from collections.abc import Iterator, Sequence
from concurrent.futures import Future, ProcessPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from itertools import chain, islice
from pathlib import Path
from typing import Any

from pipeline.ingest import IngestStats, Reject, chunked, iter_posts
from pipeline.io.writers import REJECT_FIELDS, RecordWriter

log = logging.getLogger(__name__)
CHUNK_SIZE = 10_000
#: Chunks queued or being labelled per worker: enough to keep workers busy, bounded memory.
IN_FLIGHT_PER_WORKER = 2
#: Fields a worker sets (language ID runs there too); it sends back only these, not whole records.
WORKER_FIELDS = ("language", "scores", "labels", "explanations")
#: Allocations between collections of the garbage collector's youngest generation while labelling.
#: Every post allocates a dozen containers (record, lists, chunk entries), so Python's default
#: (700) runs a collection every few dozen posts, costing ~10% of the main process's time; the
#: records hold no reference cycles, so collecting less often only delays freeing rare cycles.
GC_YOUNG_THRESHOLD = 20_000


#: Most worker processes ``label`` starts by default: the reading process prepares ~22,000
#: posts/s and one worker labels ~9,000 captions/s, so more than 3-4 workers would wait for it.
MAX_DEFAULT_WORKERS = 4


def default_workers() -> int:
    """Worker processes for ``label`` when not given: one per CPU this process may run on, at
    most :data:`MAX_DEFAULT_WORKERS` (1 on a one-CPU machine: labelling in the reading process).

    With 2 workers on a 2-core machine 100,000 captions took 11-12 s instead of 22 s.
    """
    try:
        cpus = len(os.sched_getaffinity(0))  # honours taskset/cgroup CPU sets, unlike os.cpu_count()
    except (AttributeError, OSError):
        cpus = os.cpu_count() or 1
    return max(1, min(cpus, MAX_DEFAULT_WORKERS))


def _collect_less_often() -> tuple[int, ...]:
    """Raise the youngest-generation GC threshold to :data:`GC_YOUNG_THRESHOLD` (a threshold of 0,
    collection switched off, is left alone); return the previous thresholds."""
    old = gc.get_threshold()
    if 0 < old[0] < GC_YOUNG_THRESHOLD:
        gc.set_threshold(GC_YOUNG_THRESHOLD, *old[1:])
    return old


@contextmanager
def _fewer_collections() -> Iterator[None]:
    """:func:`_collect_less_often` for a block; the caller's thresholds are restored afterwards."""
    old = _collect_less_often()
    try:
        yield
    finally:
        gc.set_threshold(*old)


def _default_top_k() -> int:
    """:data:`pipeline.model.explain.TOP_K`, imported only when needed.

    ``pipeline.model.explain`` imports scikit-learn and SciPy (over a second); with ``workers > 1`` the
    main process never needs them, and this import would delay the start of every run.
    """
    from pipeline.model.explain import TOP_K

    return TOP_K


def label_chunk(chunk: list[dict[str, Any]], model: Any, *, explain: bool = False,
                top_k: int | None = None) -> list[dict[str, Any]]:
    """Add ``labels`` and ``scores`` (and ``explanations`` if ``explain``) to each record of ``chunk`` (in place).

    Parameters
    ----------
    chunk : list of dict
        Cleaned post records.
    model : StrategyClassifier
        A fitted model.
    explain : bool
        Also add ``explanations``: per label, the ``top_k`` features by contribution and their
        field (see :mod:`pipeline.model.explain`).
    top_k : int, optional
        Features per post and label in ``explanations`` (default :data:`pipeline.model.explain.TOP_K`).

    Returns
    -------
    list of dict
        ``chunk`` itself.
    """
    if not chunk:
        return chunk
    import numpy as np  # not at module level: with workers the main process never needs it

    if explain:
        from pipeline.model.explain import predict_and_explain

        proba, explanations = predict_and_explain(model, chunk, _default_top_k() if top_k is None else top_k)
        for rec, ex in zip(chunk, explanations):
            rec["explanations"] = ex
    else:
        proba = model.predict_proba(chunk)
    names = [str(c) for c in model.classes_]
    # Whole-chunk NumPy, then plain Python values: ~20 µs per post less than rounding and
    # comparing each score in Python. Labels compare the unrounded scores with the thresholds.
    decided = (proba >= np.asarray(model.thresholds_)).tolist()
    rounded = np.round(np.asarray(proba, dtype=float), 4).tolist()
    for rec, row, on in zip(chunk, rounded, decided):
        rec["scores"] = dict(zip(names, row))
        rec["labels"] = [n for n, yes in zip(names, on) if yes]
    return chunk


@dataclass
class LabelRun:
    stats: IngestStats
    labelled: int
    output: Path
    rejects: Path | None


# --- worker processes -------------------------------------------------------------------
_WORKER: dict[str, Any] = {}


def _init_worker(model_dir: Path | None) -> None:
    """Process-pool initializer: load (and verify) the model once per worker process."""
    from pipeline.model.artefact import load_model

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            _WORKER["model"] = load_model(model_dir)[0]
        except Exception as exc:  # a failing initializer only yields "BrokenProcessPool": report it with a task
            _WORKER["error"] = exc
    _WORKER["warnings"] = [(w.category, str(w.message)) for w in caught]
    _collect_less_often()  # the worker only labels chunks from now on (see GC_YOUNG_THRESHOLD)


def _label_task(chunk: list[dict[str, Any]], explain: bool,
                top_k: int | None) -> tuple[list[dict[str, Any]], list[tuple[type, str]]]:
    """Detect languages and label ``chunk`` in a worker.

    Returns the :data:`WORKER_FIELDS` of each post and the worker's model-loading warnings (once).
    """
    if "error" in _WORKER:
        raise _WORKER["error"]
    from pipeline.clean.language import ensure_languages

    notes = _WORKER.pop("warnings", [])
    # The parent reads with detect_lang=False: language ID is ~half of ingest time and would
    # otherwise cap the whole run at one process's speed. Same result as iter_posts's
    # ensure_language, with the language model run over the whole chunk at once.
    ensure_languages(chunk)
    done = label_chunk(chunk, _WORKER["model"], explain=explain, top_k=top_k)
    return [{k: rec[k] for k in WORKER_FIELDS if k in rec} for rec in done], notes


def _mp_context() -> Any:
    """The multiprocessing context for label workers; with forkserver, its server starts now.

    Not "fork": the parent may already run threads (progress bar monitor, native libraries)
    and forking a threaded process can deadlock. forkserver forks workers from a clean server
    that first imports :mod:`pipeline.label.preload`, so imports and caches are built once per
    run, not once per worker. The server is started here, without waiting for it: the caller
    reads its first chunks while the server preloads (~2.5 s).
    """
    if "forkserver" not in multiprocessing.get_all_start_methods():
        return multiprocessing.get_context("spawn")
    from multiprocessing import forkserver

    ctx = multiprocessing.get_context("forkserver")
    ctx.set_forkserver_preload(["pipeline.label.preload"])  # ignored if this process's server already runs
    forkserver.ensure_running()
    return ctx


def _drain(queue: deque[Any]) -> Iterator[Any]:
    """Yield and forget the items of ``queue`` (a list would keep read-ahead chunks alive to the end)."""
    while queue:
        yield queue.popleft()


def _parallel(chunks: Iterator[tuple[list[Any], list[dict[str, Any]]]], model_dir: Path | None, workers: int,
              explain: bool, top_k: int | None) -> Iterator[tuple[list[Any], list[dict[str, Any]]]]:
    """Label ``(items, posts)`` chunks in ``workers`` processes; yield them labelled, in input order.

    At most ``IN_FLIGHT_PER_WORKER * workers`` chunks are read ahead, queued or in work at any time.
    """
    limit = IN_FLIGHT_PER_WORKER * workers
    ctx = _mp_context()
    # Read the first chunks while the forkserver preloads: creating the pool waits for it.
    read_ahead = deque(islice(chunks, limit))
    pool = ProcessPoolExecutor(workers, mp_context=ctx, initializer=_init_worker, initargs=(model_dir,))
    pending: deque[tuple[list[Any], list[dict[str, Any]], Future]] = deque()
    seen_warnings: set[tuple[type, str]] = set()

    def finish() -> tuple[list[Any], list[dict[str, Any]]]:
        items, posts, fut = pending.popleft()
        added, notes = fut.result()
        for category, message in notes:
            if (category, message) not in seen_warnings:  # every worker warns alike: say it once
                seen_warnings.add((category, message))
                warnings.warn(message, category, stacklevel=2)
        for rec, fields in zip(posts, added):
            rec.update(fields)
        return items, posts

    try:
        # An empty first task surfaces model-loading errors even when the input has no posts.
        pending.append(([], [], pool.submit(_label_task, [], explain, top_k)))
        for items, posts in chain(_drain(read_ahead), chunks):
            while len(pending) >= limit:
                yield finish()
            pending.append((items, posts, pool.submit(_label_task, posts, explain, top_k)))
        while pending:
            yield finish()
    finally:
        pool.shutdown(wait=True, cancel_futures=True)


#: Inputs of at least this many bytes (or compressed) start the workers' server before the
#: first chunk is read, sparing big inputs ~0.5 s; smaller ones usually fit in one chunk and are
#: labelled in this process, without a server preloading ~260 MB for nothing.
SERVER_EARLY_BYTES = 1_000_000


def _likely_several_chunks(inputs: Sequence[Path]) -> bool:
    """A cheap guess from file sizes; a wrong one costs only start-up time or idle memory."""
    total = 0
    for path in inputs:
        path = Path(path)
        if path.suffix == ".gz":
            return True
        try:
            total += path.stat().st_size
        except OSError:  # reading will report it
            pass
    return total >= SERVER_EARLY_BYTES


def _in_process(chunks: Iterator[tuple[list[Any], list[dict[str, Any]]]], model: Any, explain: bool,
                top_k: int | None) -> Iterator[tuple[list[Any], list[dict[str, Any]]]]:
    """Detect the languages of ``(items, posts)`` chunks and label them, in this process."""
    from pipeline.clean.language import ensure_languages

    for items, posts in chunks:
        yield items, label_chunk(ensure_languages(posts), model, explain=explain, top_k=top_k)


def label_files(inputs: Sequence[Path], output: Path, *, model_dir: Path | None = None,
                rejects: Path | None = None, transcripts: Path | None = None, fmt: str | None = None,
                columns: dict[str, str] | None = None, chunk_size: int = CHUNK_SIZE,
                progress: bool | None = None, explain: bool = False, top_k: int | None = None,
                workers: int | None = 1) -> LabelRun:
    """Label every post of ``inputs`` into ``output``; rejected records go to ``rejects``.

    With ``workers > 1`` chunks are language-tagged and labelled in that many processes (each
    a fork of a server that loaded the libraries once; see :func:`_mp_context`); output,
    rejects and counts are byte-for-byte those of one worker. ``workers=None`` chooses:
    :func:`default_workers`, or this process alone when the input fits in one chunk (a second
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
        from pipeline.model.artefact import DEFAULT_MODEL_DIR, read_meta

        # fail fast on a missing model directory; load_model (in each worker) verifies the rest
        read_meta(Path(model_dir) if model_dir else DEFAULT_MODEL_DIR)
    if workers is None:
        workers = default_workers()
        if workers > 1:
            if _likely_several_chunks(inputs):
                _mp_context()  # the workers' server preloads while the first chunks are read
            head = list(islice(chunks, 2))
            if len(head) < 2:
                workers = 1
            chunks = chain(head, chunks)
    if workers == 1:
        from pipeline.model.artefact import load_model

        labelled_chunks = _in_process(chunks, load_model(model_dir)[0], explain, top_k)
    else:
        labelled_chunks = _parallel(chunks, model_dir, workers, explain, top_k)
    show = sys.stderr.isatty() if progress is None else progress
    bar = None
    if show:
        from tqdm import tqdm

        bar = tqdm(unit=" posts", file=sys.stderr, desc="labelling")
    labelled = 0
    try:
        with _fewer_collections(), RecordWriter(output) as out, RecordWriter(rejects, REJECT_FIELDS) as rej:
            for items, posts in labelled_chunks:
                rej.write([r.as_dict() for r in items if isinstance(r, Reject)])
                out.write(posts)
                labelled += len(posts)
                if bar is not None:
                    bar.update(len(items))
    finally:
        labelled_chunks.close()  # stops the worker processes if writing failed
        if bar is not None:
            bar.close()
    return LabelRun(stats, labelled, output, rejects)
