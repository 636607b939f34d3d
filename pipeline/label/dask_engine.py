"""``label --engine dask``: the labelling run on a Dask cluster, and :func:`label_dask` for Dask users.

A run has two passes over the partitions of :func:`pipeline.ingest.partitions.plan_parts`:

1. **Duplicates, by a shuffle.** Each partition lists the post id, position, file and line of its
   valid posts (:func:`pipeline.label.dask_tasks.part_keys`); the lists form a Dask DataFrame
   that is shuffled on ``post_id``, so all occurrences of an id meet in one partition, where
   every occurrence after the first in input order (partition, then position) is marked
   (:func:`pipeline.label.dask_tasks.duplicates`). Only the duplicates come back to the client.
   This is the local engine's rule (first occurrence wins, later ones rejected naming its file
   and line) without any one process holding every post id.
2. **Labelling.** Each partition is read again, its duplicates rejected, and labelled
   (:func:`pipeline.label.dask_tasks.label_part`). The client writes one output file in input
   order, or the workers write ``part-NNNNN.parquet`` files into a folder.

Workers load the model themselves, once each (see :func:`pipeline.label.dask_tasks.worker_model`).
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import sys
import uuid
from collections import Counter, deque
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pandas as pd

from pipeline import __version__
from pipeline.config import DEFAULT_MODEL_DIR, SHIPPED_MODELS, model_location, shipped_name
from pipeline.errors import InputFileError, PipelineError
from pipeline.ingest import IngestStats
from pipeline.ingest.partitions import BLOCK_BYTES, Part, plan_parts
from pipeline.io.writers import PART_PATTERN, REJECT_FIELDS, SUCCESS_MARKER, RecordWriter, flat_row, output_schema
from pipeline.label.dask_tasks import (
    KEY_COLUMNS,
    FoldedRejects,
    Options,
    PartResult,
    add_stats,
    duplicates,
    label_part,
    part_keys,
    unwritable,
)
from pipeline.label.provenance import PARQUET_KEY, build_provenance, sidecar_path, write_json_atomic
from pipeline.label.run import LabelRun
from pipeline.label.workers import CHUNK_SIZE
from pipeline.model.artefact import META_FILE, read_meta

log = logging.getLogger(__name__)
MIN_BLOCK_BYTES = 1 << 20


def machine_workers() -> int:
    """Worker processes of a local cluster: one per CPU this process may use."""
    try:
        return len(os.sched_getaffinity(0))  # honours taskset/cgroup CPU sets, unlike os.cpu_count()
    except (AttributeError, OSError):
        return os.cpu_count() or 1


class _DistributedNoise(logging.Filter):
    """Drops ``distributed``'s records below ERROR: it logs every start and stop of the cluster at
    INFO, and a worker slow to exit as a WARNING, through the handlers of whoever configured
    logging (the CLI); LocalCluster's ``silence_logs`` is undone before the last of them."""

    def filter(self, record: logging.LogRecord) -> bool:
        return record.levelno >= logging.ERROR or not record.name.startswith("distributed")


@contextmanager
def _quiet_distributed() -> Iterator[None]:
    noise = _DistributedNoise()
    handlers = list(logging.root.handlers)
    for handler in handlers:
        handler.addFilter(noise)
    try:
        yield
    finally:
        for handler in handlers:
            handler.removeFilter(noise)


@contextmanager
def dask_client(scheduler: str | None = None, workers: int | None = None) -> Iterator[Any]:
    """A ``distributed.Client``: of the cluster at ``scheduler`` (an address such as
    ``tcp://host:8786``, or a scheduler file), or of a new ``LocalCluster`` of ``workers``
    processes (default :func:`machine_workers`) with one thread each, closed afterwards."""
    from distributed import Client, LocalCluster

    if scheduler is None:
        with _quiet_distributed(), LocalCluster(n_workers=workers or machine_workers(), threads_per_worker=1,
                                                processes=True, dashboard_address=None,
                                                silence_logs=logging.ERROR) as cluster, Client(cluster) as client:
            yield client
        return
    try:
        if Path(scheduler).is_file():
            client = Client(scheduler_file=scheduler, timeout="20s")
        else:
            client = Client(scheduler, timeout="20s")
    except (OSError, TimeoutError, ValueError) as exc:
        raise PipelineError(f"cannot connect to the Dask scheduler {scheduler!r} ({exc}). Pass its address "
                            "(tcp://HOST:8786) or scheduler file, or omit --scheduler for a local cluster.") from exc
    try:
        try:
            client.wait_for_workers(1, timeout=60)
        except TimeoutError:
            raise PipelineError(f"the Dask scheduler {scheduler!r} has no workers (waited 60 s). Start some with "
                                f"'dask worker {scheduler} --nthreads 1'.") from None
        _check_workers(client)
        yield client
    finally:
        client.close()


def _check_workers(client: Any) -> None:
    """Every worker must import this package, at this version (the tasks are its functions)."""
    def version() -> str:
        try:
            import pipeline  # lazy: runs on each worker, to see whether the package is installed there
        except ImportError:
            return "missing"
        return pipeline.__version__

    found = client.run(version)
    wrong = {w: v for w, v in found.items() if v != __version__}
    if wrong:
        worker, seen = next(iter(wrong.items()))
        raise PipelineError(f"worker {worker} has tiktok-diplomacy {seen} (this client: {__version__}). Install "
                            "the same version on every worker (pip install tiktok-diplomacy==VERSION).")


def check_paths(client: Any, paths: dict[str, str]) -> None:
    """Every worker must read the model and the inputs at the client's paths (a shared
    filesystem, or copies at the same place): say which one cannot, before any work starts."""
    def missing(todo: dict[str, str]) -> list[str]:
        return [f"{what} {path}" for what, path in todo.items() if not os.path.exists(path)]

    for worker, lacking in client.run(missing, paths).items():
        if lacking:
            raise PipelineError(f"worker {worker} cannot see {lacking[0]}. Workers read the model folder and the "
                                "inputs at the paths this machine uses: put them on a shared filesystem, or copy "
                                "them to the same paths on every worker.")


def _options(model_dir: Path | None, **kw: Any) -> Options:
    model_dir = Path(model_dir) if model_dir else DEFAULT_MODEL_DIR
    meta = read_meta(model_dir)  # fails fast here on a missing folder; workers verify the file
    transcripts = kw.pop("transcripts", None)
    if transcripts and not Path(transcripts).is_dir():
        raise InputFileError(transcripts, "transcript directory not found", "Pass an existing folder to --transcripts.")
    # A shipped model goes by name: each worker loads its own installed copy (same sha256 or the
    # run stops); any other folder by its absolute path, which every worker must see
    shipped = shipped_name(model_dir)
    given = None if shipped == "default" else shipped or str(Path(model_dir).resolve())
    return Options(model_dir=given, model_sha256=str(meta.get("model_sha256")),
                   transcripts=str(Path(transcripts).resolve()) if transcripts else None, **kw)


def _drops(parts: Sequence[Any], opts: Options) -> dict[int, dict[int, str]]:
    """First pass: ``{partition: {position: reason}}`` of the duplicate posts (see the module doc)."""
    import dask.dataframe as dd
    from dask import delayed

    meta = pd.DataFrame({c: pd.Series(dtype="int64" if c in ("part", "pos", "source_line") else object)
                         for c in KEY_COLUMNS})
    keys = dd.from_delayed([delayed(part_keys)(p, i, opts) for i, p in enumerate(parts)], meta=meta,
                           verify_meta=False)
    if keys.npartitions > 1:
        keys = keys.shuffle(on="post_id")
    found = keys.map_partitions(duplicates, meta=duplicates(meta)).compute()
    out: dict[int, dict[int, str]] = {}
    for part, pos, reason in zip(found["part"], found["pos"], found["reason"]):
        out.setdefault(int(part), {})[int(pos)] = reason
    log.info("%d duplicate post(s) across %d partition(s)", len(found), len(parts))
    return out


def _prepare_folder(folder: Path) -> None:
    """Create the output folder, or reuse one holding only an earlier run's parts (never other files)."""
    folder.mkdir(parents=True, exist_ok=True)
    others = [p.name for p in folder.iterdir() if not (p.match(PART_PATTERN) or p.name == SUCCESS_MARKER
                                                       or (p.name.startswith(".part-") and p.name.endswith(".tmp.parquet")))]
    if others:
        raise PipelineError(f"{folder}: holds other files ({', '.join(sorted(others)[:3])}). Pass a new or empty "
                            "folder to -o, or one written by an earlier 'label -o DIR/'.")
    (folder / SUCCESS_MARKER).unlink(missing_ok=True)


def _finish_folder(folder: Path, n_parts: int, summary: dict[str, Any]) -> None:
    """Remove an earlier run's extra parts and abandoned temporary files; write ``_SUCCESS`` last."""
    keep = {f"part-{i:05d}.parquet" for i in range(n_parts)}
    for path in folder.iterdir():
        if (path.match(PART_PATTERN) and path.name not in keep) or path.name.startswith(".part-"):
            path.unlink(missing_ok=True)
    tmp = folder / f".{SUCCESS_MARKER}.{uuid.uuid4().hex}"
    tmp.write_text(json.dumps(summary, indent=1) + "\n", encoding="utf-8")
    os.replace(tmp, folder / SUCCESS_MARKER)


def _results(client: Any, parts: Sequence[Part], opts: Options, drops: dict[int, dict[int, str]],
             out_dir: str | None) -> Iterator[PartResult]:
    """Label the partitions on the cluster; yield their results in input order.

    At most a few partitions per worker are submitted ahead of the one being written, so
    results waiting for the client stay bounded. A worker lost mid-task is replaced by the
    scheduler, which reruns its tasks elsewhere (tasks are repeatable: a part file is only
    renamed into place when complete).
    """
    window = max(4, 3 * len(client.scheduler_info()["workers"]))
    run = uuid.uuid4().hex[:8]
    pending: deque[Any] = deque()
    todo = iter(enumerate(parts))
    try:
        while True:
            while len(pending) < window:
                nxt = next(todo, None)
                if nxt is None:
                    break
                i, part = nxt
                pending.append(client.submit(label_part, part, i, opts, drops.get(i), out_dir,
                                             key=f"label-part-{run}-{i}", pure=False))
            if not pending:
                return
            fut = pending.popleft()
            yield fut.result()
            fut.release()
    finally:
        for fut in pending:
            fut.cancel()


def label_files_dask(inputs: Sequence[Path], output: Path, *, model_dir: Path | None = None,
                     rejects: Path | None = None, transcripts: Path | None = None, fmt: str | None = None,
                     columns: dict[str, str] | None = None, chunk_size: int = CHUNK_SIZE,
                     progress: bool | None = None, explain: bool = False, top_k: int | None = None,
                     date_formats: Sequence[str] | None = None, scheduler: str | None = None,
                     partitions: int | None = None, workers: int | None = None,
                     client: Any = None) -> LabelRun:
    """:func:`pipeline.label.run.label_files` on Dask: same records, rejects and counts.

    ``output`` without a file extension (.jsonl, .csv, .parquet) is a folder of
    ``part-NNNNN.parquet`` files, one per partition, with ``_SUCCESS`` written last.
    ``client``: an existing ``distributed.Client`` (``scheduler`` is then ignored); ``workers``:
    processes of the ``LocalCluster`` started when neither is given (default: one per CPU).
    """
    output = Path(output)
    folder = output.is_dir() or not output.suffix
    if rejects is None:
        rejects = output.with_name(output.name.split(".")[0] + ".rejects.jsonl")
    opts = _options(model_dir, columns=columns, fmt=fmt, transcripts=transcripts, chunk_size=chunk_size,
                    explain=explain, top_k=top_k, date_formats=tuple(date_formats or ()))
    if client is None:
        with dask_client(scheduler, None if scheduler else workers) as own:
            parts = plan_parts(inputs, fmt, columns, block_bytes=default_block(inputs, own), partitions=partitions)
            return _label_parts(own, parts, opts, output, rejects, folder, progress)
    parts = plan_parts(inputs, fmt, columns, block_bytes=default_block(inputs, client), partitions=partitions)
    return _label_parts(client, parts, opts, output, rejects, folder, progress)


def default_block(inputs: Sequence[Path], client: Any) -> int:
    """Bytes per partition: :data:`~pipeline.ingest.partitions.BLOCK_BYTES` at most, and small
    enough that every worker gets about three partitions (but not under 1 MB: each task costs
    some scheduling and start-up, so tiny inputs stay in few partitions)."""
    total = sum(Path(p).stat().st_size for p in inputs if Path(p).is_file())
    workers = max(1, len(client.scheduler_info()["workers"]))
    return max(MIN_BLOCK_BYTES, min(BLOCK_BYTES, total // (3 * workers)))


def _label_parts(client: Any, parts: Sequence[Part], opts: Options, output: Path, rejects: Path, folder: bool,
                 progress: bool | None) -> LabelRun:
    """Both passes of :func:`label_files_dask` on ``client``; outputs renamed into place when complete."""
    needed = ({"model": str(Path(opts.model_dir) / META_FILE)}
              if opts.model_dir and opts.model_dir not in SHIPPED_MODELS else {})
    # paths as given (relative ones resolve against each worker's working directory), as the tasks open them
    needed.update({f"input {path}": path for path in dict.fromkeys(p.path for p in parts)})
    if opts.transcripts:
        needed["transcript folder"] = opts.transcripts
    check_paths(client, needed)
    drops = _drops(parts, opts)
    if folder:
        _prepare_folder(output)
    stats, labelled = IngestStats(), 0
    show = sys.stderr.isatty() if progress is None else progress
    bar = None
    if show:
        from tqdm import tqdm

        bar = tqdm(total=len(parts), unit=" partitions", file=sys.stderr, desc="labelling")
    fold = FoldedRejects()
    inputs = [Path(p) for p in dict.fromkeys(p.path for p in parts)]
    rows: Counter[str] = Counter()  # records read per input file, for the provenance sidecar
    try:
        with contextlib.ExitStack() as stack:
            rej = stack.enter_context(RecordWriter(rejects, REJECT_FIELDS))
            writer = None if folder else stack.enter_context(RecordWriter(output))
            for part, result in zip(parts, _results(client, parts, opts, drops,
                                                    str(output.resolve()) if folder else None)):
                part_rejects = result.rejects
                if writer is not None:
                    failed = writer.write(result.records)
                    for rec, why in failed:  # a record the writer cannot hold is a reject, not a crash
                        bad = unwritable(rec, why)
                        result.stats.reject(bad)
                        part_rejects.append(bad.as_dict())
                    result.labelled -= len(failed)
                rej.write(fold(part.path, part_rejects))
                labelled += result.labelled
                rows[part.path] += result.stats.read
                add_stats(stats, result.stats)
                if bar is not None:
                    bar.update(1)
            rej.write(fold.flush())
            if folder:
                _finish_folder(output, len(parts), {"read": stats.read, "labelled": labelled,
                                                    "rejected": stats.rejected, "partitions": len(parts)})
            mdir = model_location(opts.model_dir)
            prov = build_provenance(model_dir=mdir, meta=read_meta(mdir), inputs=inputs, rows=rows, output=output,
                                    labelled=labelled, rejected=stats.rejected,
                                    transcripts=Path(opts.transcripts) if opts.transcripts else None,
                                    explain=opts.explain)
            prov["engine"] = "dask"
            if writer is not None:
                writer.add_metadata({PARQUET_KEY: json.dumps(prov, ensure_ascii=False)})
        write_json_atomic(sidecar_path(output), prov)
    except OSError as exc:
        raise PipelineError(f"{exc.filename or output}: cannot write ({exc.strerror or exc}); "
                            "free space or choose another location with -o.") from exc
    finally:
        if bar is not None:
            bar.close()
    return LabelRun(stats, labelled, output, rejects)


def _frame(records: list[dict[str, Any]], explain: bool) -> pd.DataFrame:
    schema = output_schema(explain)
    import pyarrow as pa

    return pa.Table.from_pylist([flat_row(r) for r in records], schema=schema).to_pandas()


def label_dask(data: Any, model: Path | str | None = None, *, columns: dict[str, str] | None = None,
               fmt: str | None = None, transcripts: Path | None = None, partitions: int | None = None,
               chunk_size: int = CHUNK_SIZE, explain: bool = False, top_k: int | None = None,
               with_rejects: bool = False) -> Any:
    """Label posts with Dask; returns a lazy ``dask.dataframe.DataFrame`` of labelled posts.

    Parameters
    ----------
    data : path, list of paths, or dask.dataframe.DataFrame
        Export files (any format ``label`` reads), or a Dask DataFrame with canonical columns
        (``post_id``, ``caption`` ...) or a layout ``--column`` mappings describe.
    model : path, optional
        Model folder (default: the shipped model); it must be readable by every worker.
    with_rejects : bool
        Also return a Dask DataFrame of rejects (``source_file``, ``source_line``, ``post_id``, ``reason``).

    The duplicate pass runs now, on the current Dask scheduler; labelling runs when the result
    is computed. A DataFrame input is therefore computed twice: persist it first if that is costly.
    Columns are those of a Parquet output (``score_<label>``, lists as lists).
    """
    import dask.dataframe as dd
    from dask import delayed

    opts = _options(Path(model) if model else None, columns=columns, fmt=fmt, transcripts=transcripts,
                    chunk_size=chunk_size, explain=explain, top_k=top_k)
    if isinstance(data, dd.DataFrame):
        parts: list[Any] = list(data.to_delayed())
    else:
        paths = [data] if isinstance(data, (str, Path)) else list(data)
        parts = plan_parts([Path(p) for p in paths], fmt, columns, partitions=partitions)
    drops = _drops(parts, opts)
    results = [delayed(label_part)(p, i, opts, drops.get(i)) for i, p in enumerate(parts)]
    labelled = dd.from_delayed([delayed(_frame)(delayed(getattr)(r, "records"), explain) for r in results],
                               meta=output_schema(explain).empty_table().to_pandas(), verify_meta=False)
    if not with_rejects:
        return labelled
    rej_meta = pd.DataFrame({"source_file": pd.Series(dtype=object), "source_line": pd.Series(dtype="int64"),
                             "post_id": pd.Series(dtype=object), "reason": pd.Series(dtype=object)})
    rejected = dd.from_delayed([delayed(pd.DataFrame)(delayed(getattr)(r, "rejects"), columns=list(REJECT_FIELDS))
                                for r in results], meta=rej_meta, verify_meta=False)
    return labelled, rejected
