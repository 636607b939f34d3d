"""Labelling chunks in local worker processes that each load the model once, and GC tuning.

Workers are forks of a forkserver that preloaded the libraries (:mod:`pipeline.label.preload`);
the chunk step and the model are imported lazily, inside the functions that run in the workers,
and labelling without ``--explain`` never imports scikit-learn at all (:mod:`pipeline.model.predictor`).
"""

from __future__ import annotations

import gc
import logging
import multiprocessing
import os
import signal
import warnings
from collections import deque
from collections.abc import Generator, Iterator, Sequence
from concurrent.futures import Future, ProcessPoolExecutor
from contextlib import contextmanager
from itertools import chain, islice
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)
#: Posts per chunk. Chunks in flight (read ahead, queued, in the workers, being written) are most
#: of the memory of a run: 1,000,000 captions peaked at 1,004 MB (summed PSS) with 10,000-post
#: chunks, 608 MB with 2,500 and 525 MB with 1,000, at the same speed (5,995, 5,951 and 5,875
#: posts/s; bench/bench_stream_memory.py --posts 1000000 --chunk-size N, 2026-12-02).
CHUNK_SIZE = 1_000
#: Chunks queued or being labelled per worker: enough to keep workers busy, bounded memory.
IN_FLIGHT_PER_WORKER = 2
#: Fields a worker sets (language ID runs there too); it sends back only these, not whole records.
#: Set on a post that could not be labelled (by itself): the run rejects it with this reason.
LABEL_ERROR = "label_error"
WORKER_FIELDS = ("language", "scores", "labels", "explanations", LABEL_ERROR)
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
def fewer_collections() -> Iterator[None]:
    """:func:`_collect_less_often` for a block; the caller's thresholds are restored afterwards."""
    old = _collect_less_often()
    try:
        yield
    finally:
        gc.set_threshold(*old)



_WORKER: dict[str, Any] = {}


def _init_worker(model_dir: Path | None, thresholds: dict[str, float] | None = None, explain: bool = False) -> None:
    """Process-pool initializer: load (and verify) the model once per worker process (the lean
    NumPy predictor unless explanations are asked for)."""
    from pipeline.model.artefact import load_model  # lazy: runs in the worker
    from pipeline.model.thresholds import with_thresholds  # lazy: runs in the worker, next to load_model

    # Ctrl-C reaches the whole process group: the parent stops the workers itself (no traceback
    # from each of them); SIGTERM keeps its default and ends a worker at once.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            _WORKER["model"] = with_thresholds(load_model(model_dir, lean=not explain)[0], thresholds)
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

    notes = _WORKER.pop("warnings", [])
    # The parent reads with detect_lang=False: language ID is ~half of ingest time and would
    # otherwise cap the whole run at one process's speed. Same result as iter_posts's
    # ensure_language, with the language model run over the whole chunk at once.
    done = label_isolated(chunk, _WORKER["model"], explain, top_k)
    return [{k: rec[k] for k in WORKER_FIELDS if k in rec} for rec in done], notes


def label_isolated(posts: list[dict[str, Any]], model: Any, explain: bool,
                   top_k: int | None) -> list[dict[str, Any]]:
    """Detect languages and label ``posts``; when the chunk fails, label post by post and mark the
    posts that fail alone with ``label_error`` (the caller rejects them) instead of failing the run."""
    from pipeline.clean.language import ensure_languages  # lazy: loads the language model
    from pipeline.label.chunk import label_chunk  # lazy: the model's side of labelling

    try:
        return label_chunk(ensure_languages(posts), model, explain=explain, top_k=top_k)
    except (OSError, MemoryError):  # the machine's fault (disk, memory), not a post's: stop the run
        raise
    except Exception as exc:  # noqa: BLE001 - find the post(s) at fault; the others are labelled
        log.warning("labelling a chunk failed (%s: %s); labelling its posts one by one", type(exc).__name__, exc)
    for rec in posts:
        try:
            label_chunk(ensure_languages([rec]), model, explain=explain, top_k=top_k)
        except (OSError, MemoryError):
            raise
        except Exception as exc:  # noqa: BLE001 - one bad post is a reject, never the end of the run
            rec[LABEL_ERROR] = f"cannot label this post ({type(exc).__name__}: {str(exc)[:200]})"
    return posts


def mp_context() -> Any:
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


def label_parallel(chunks: Iterator[tuple[list[Any], list[dict[str, Any]]]], model_dir: Path | None, workers: int,
              explain: bool, top_k: int | None,
              thresholds: dict[str, float] | None = None) -> Generator[tuple[list[Any], list[dict[str, Any]]], None, None]:
    """Label ``(items, posts)`` chunks in ``workers`` processes; yield them labelled, in input order.

    At most ``IN_FLIGHT_PER_WORKER * workers`` chunks are read ahead, queued or in work at any time.
    """
    limit = IN_FLIGHT_PER_WORKER * workers
    ctx = mp_context()
    # Read the first chunks while the forkserver preloads: creating the pool waits for it.
    read_ahead = deque(islice(chunks, limit))
    pool = ProcessPoolExecutor(workers, mp_context=ctx, initializer=_init_worker,
                               initargs=(model_dir, thresholds, explain))
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
    except BaseException:
        _stop_now(pool)  # interrupted or failed: do not wait for chunks nobody will write
        raise
    finally:
        pool.shutdown(wait=True, cancel_futures=True)


def _stop_now(pool: ProcessPoolExecutor) -> None:
    """Terminate the pool's worker processes (their chunks are discarded) and reap them."""
    procs = list((getattr(pool, "_processes", None) or {}).values())
    for proc in procs:
        try:
            proc.terminate()
        except (OSError, AttributeError):
            pass
    for proc in procs:
        try:
            proc.join(5)
        except (OSError, AssertionError):
            pass


#: Inputs of at least this many bytes (or compressed) start the workers' server before the
#: first chunk is read, sparing big inputs ~0.5 s; smaller ones usually fit in one chunk and are
#: labelled in this process, without a server preloading ~260 MB for nothing.
SERVER_EARLY_BYTES = 1_000_000


def likely_several_chunks(inputs: Sequence[Path]) -> bool:
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


def label_in_process(chunks: Iterator[tuple[list[Any], list[dict[str, Any]]]], model: Any, explain: bool,
                top_k: int | None) -> Generator[tuple[list[Any], list[dict[str, Any]]], None, None]:
    """Detect the languages of ``(items, posts)`` chunks and label them, in this process."""
    for items, posts in chunks:
        yield items, label_isolated(posts, model, explain, top_k)
