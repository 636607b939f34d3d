"""What Dask workers run for ``label --engine dask`` (list a partition's post ids, label a partition),
and how the client adds up their results.

Plain functions of picklable arguments (a :class:`~pipeline.ingest.partitions.Part`, paths,
options). The model is not an argument: :func:`worker_model` loads it once per worker process
from its folder and keeps it keyed by the sha256 of ``model.npz``, so a task carries only that
key and the folder's path. Transcript folders are indexed once per worker the same way.

Both passes read a partition with :func:`_checked`, which applies the checks of
:func:`pipeline.ingest.iter_posts` (transcripts, validation, the duplicate verdicts of the
first pass) in the same order, so rejects and counts are those of the local engine.
"""

from __future__ import annotations

import contextlib
import functools
import logging
import os
import threading
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from pipeline.clean.text import clean_record
from pipeline.config import model_location
from pipeline.errors import ModelFileError, PipelineError
from pipeline.ingest import DuplicateRuns, IngestStats, Reject, chunked, dups_flush_one, records as R
from pipeline.ingest.normalise import normalise
from pipeline.ingest.partitions import Part, read_part
from pipeline.ingest.readers import frame_items
from pipeline.ingest.transcripts import TranscriptAttacher
from pipeline.io.writers import REJECT_FIELDS, RecordWriter, output_schema
from pipeline.schema import has_text, validate_post

log = logging.getLogger(__name__)
_MODELS: dict[str, Any] = {}
_ATTACHERS: dict[str, TranscriptAttacher] = {}
_LOCK = threading.Lock()
KEY_COLUMNS = ("post_id", "part", "pos", "source_file", "source_line")


@dataclass
class Options:
    """How to read and label, the same for every partition of a run."""

    columns: dict[str, str] | None = None
    fmt: str | None = None
    transcripts: str | None = None
    model_dir: str | None = None  # None: the shipped default; a shipped model's name; else an absolute path
    model_sha256: str = ""
    chunk_size: int = 10_000
    explain: bool = False
    top_k: int | None = None
    date_formats: tuple[str, ...] = ()
    #: a run's transcript index is built once per worker and run (files may change between runs)
    run_id: str = field(default_factory=lambda: uuid.uuid4().hex)


@dataclass
class PartResult:
    """A labelled partition: its records (unless written to ``path``), its rejects and counts."""

    index: int
    records: list[dict[str, Any]] = field(default_factory=list)
    rejects: list[dict[str, Any]] = field(default_factory=list)
    stats: IngestStats = field(default_factory=IngestStats)
    labelled: int = 0
    path: str | None = None


def worker_model(model_dir: str | None, sha256: str) -> Any:
    """The model of ``model_dir`` (a folder, or a shipped model's name: this install's copy), loaded
    (and verified) once per worker process."""
    model = _MODELS.get(sha256)
    if model is None:
        from pipeline.model.artefact import load_model  # lazy: pulls scikit-learn, in the worker only

        with _LOCK:
            model = _MODELS.get(sha256)
            if model is None:
                model, meta = load_model(model_location(model_dir))
                if meta.get("model_sha256") != sha256:
                    raise ModelFileError(f"{model_dir}: the model on worker {os.uname().nodename} (sha256 "
                                         f"{str(meta.get('model_sha256'))[:12]}…) is not the one the run started with "
                                         f"({sha256[:12]}…). Install the same model folder on every worker.")
                _MODELS.clear()  # a long-lived worker keeps only the model of the current run
                _MODELS[sha256] = model
    return model


def _attacher(transcripts: str | None, run_id: str) -> TranscriptAttacher | None:
    """The run's transcript index, built once per worker (and rebuilt for a later run)."""
    if not transcripts:
        return None
    key = f"{run_id}:{transcripts}"
    with _LOCK:
        if key not in _ATTACHERS:
            _ATTACHERS.clear()
            _ATTACHERS[key] = TranscriptAttacher(Path(transcripts))
        return _ATTACHERS[key]


def _attach(attacher: TranscriptAttacher, item: dict[str, Any], stats: IngestStats) -> None:
    before = item.get("transcript_source")
    attacher(item)
    if item.get("transcript_source") is not before:  # the attacher counts globally; count per part here
        stats.transcripts_attached += 1


def _read(part: Part | pd.DataFrame, index: int, opts: Options) -> Iterator[Any]:
    """A file partition, or a partition of a user's Dask DataFrame (rows named by partition and row)."""
    if isinstance(part, pd.DataFrame):
        rows = part.astype(object).where(part.notna(), None).to_dict("records")
        return frame_items(rows, [str(c) for c in part.columns], f"dataframe partition {index}", opts.columns)
    return read_part(part, opts.columns, opts.fmt)


def _checked(part: Part | pd.DataFrame, index: int, opts: Options, stats: IngestStats, drops: dict[int, str] | None,
             attach: bool) -> Iterator[tuple[int, dict[str, Any] | Reject]]:
    """``(position, item)`` of the part: rejects, and valid posts not dropped as duplicates.

    The steps of :func:`pipeline.ingest._process` in its order (field normalisation,
    transcripts, validation, duplicates), with one record's failure a reject of that record.
    ``position`` counts every item the reader yields, so both passes agree on it.
    """
    attacher = _attacher(opts.transcripts, opts.run_id)
    with R.date_formats(opts.date_formats):
        for pos, item in enumerate(_read(part, index, opts)):
            stats.read += 1
            notes = R.take_notes()
            if isinstance(item, Reject):
                stats.reject(item)
                yield pos, item
                continue
            try:
                problem, replaced = normalise(item)
                stats.surrogates_replaced += replaced
                if problem is None and attacher is not None:
                    if attach:
                        _attach(attacher, item, stats)
                    elif attacher.index.get(str(item.get("post_id"))):
                        attacher(item)  # a transcript can make a record valid: the key pass must see that too
                problem = problem or validate_post(item)
                if problem is None and drops and pos in drops:
                    problem = drops[pos]
                if problem is None:
                    stats.noted(notes + R.take_notes())
                    if not has_text(item):
                        stats.without_text += 1
                        if any(kind == "no_text_column" for kind, _ in notes):
                            stats.no_text_column += 1
            except Exception as exc:  # noqa: BLE001 - one bad record is a reject, never the end of the run
                problem = f"unusable record ({type(exc).__name__}: {str(exc)[:200]})"
            if problem is not None:
                pid = item.get("post_id")
                rej = Reject(str(item.get("source_file")), int(item.get("source_line") or 0), problem,
                             pid if isinstance(pid, str) else None)
                stats.reject(rej)
                yield pos, rej
                continue
            yield pos, item


def unwritable(rec: dict[str, Any], why: str) -> Reject:
    """The reject of a labelled record the writer could not hold (as the local engine makes it)."""
    pid = rec.get("post_id")
    return Reject(str(rec.get("source_file")), int(rec.get("source_line") or 0), why,
                  pid if isinstance(pid, str) else None)


def _user_errors(fn: Any) -> Any:
    """Re-raise :class:`PipelineError` s as plain ones: their subclasses do not survive pickling."""
    @functools.wraps(fn)  # same name and qualname: pickled by reference to this module
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except PipelineError as exc:
            if type(exc) is PipelineError:
                raise
            raise PipelineError(str(exc)) from None
    return wrapper


@_user_errors
def part_keys(part: Part | pd.DataFrame, index: int, opts: Options) -> pd.DataFrame:
    """First pass: post id, partition, position, file and line of every valid post of the part."""
    rows: dict[str, list[Any]] = {c: [] for c in KEY_COLUMNS}
    for pos, item in _checked(part, index, opts, IngestStats(), None, attach=False):
        if isinstance(item, Reject):
            continue
        for col, value in zip(KEY_COLUMNS, (item["post_id"], index, pos, item["source_file"], item["source_line"])):
            rows[col].append(value)
    return pd.DataFrame({c: pd.Series(v, dtype="int64" if c in ("part", "pos", "source_line") else object)
                         for c, v in rows.items()})


def duplicates(keys: pd.DataFrame) -> pd.DataFrame:
    """Among keys that share post ids (all occurrences of an id are in this frame, after the
    shuffle), every occurrence after the first in input order, with the local engine's reason."""
    if keys.empty:
        return pd.DataFrame({"part": pd.Series(dtype="int64"), "pos": pd.Series(dtype="int64"),
                             "reason": pd.Series(dtype=object)})
    keys = keys.sort_values(["part", "pos"], kind="stable")
    later = keys.duplicated("post_id", keep="first")
    first = keys[~later].set_index("post_id")
    dup = keys[later]
    where = first.loc[dup["post_id"].to_numpy()]
    reasons = [f"duplicate post_id {pid} (first seen at "
               f"{f'line {ln}' if f == here else f'{Path(f).name} line {ln}'})"
               for pid, f, ln, here in zip(dup["post_id"], where["source_file"], where["source_line"],
                                           dup["source_file"])]
    return pd.DataFrame({"part": dup["part"].to_numpy(), "pos": dup["pos"].to_numpy(), "reason": reasons})


def _label_posts(posts: list[dict[str, Any]], model: Any, opts: Options) -> tuple[list[dict[str, Any]], list[Reject]]:
    """Clean, language-tag and label; a post that breaks a step becomes a reject, never the partition."""
    from pipeline.clean.language import ensure_languages  # lazy: loads the language model, in the worker
    from pipeline.label.chunk import label_chunk  # lazy: pulls scikit-learn, in the worker

    try:
        return label_chunk(ensure_languages([clean_record(p) for p in posts]), model, explain=opts.explain,
                           top_k=opts.top_k), []
    except Exception:  # noqa: BLE001 - find the post(s) at fault, one by one
        if len(posts) == 1:
            raise
    good: list[dict[str, Any]] = []
    bad: list[Reject] = []
    for post in posts:
        try:
            good += _label_posts([post], model, opts)[0]
        except Exception as exc:  # noqa: BLE001 - one bad record never fails a partition
            log.warning("%s line %s: could not be labelled (%s)", post.get("source_file"), post.get("source_line"), exc)
            bad.append(Reject(post.get("source_file", "?"), post.get("source_line", 0),
                              f"could not be labelled: {type(exc).__name__}: {exc}", post.get("post_id")))
    return good, bad


@_user_errors
def label_part(part: Part | pd.DataFrame, index: int, opts: Options, drops: dict[int, str] | None = None,
               out_dir: str | None = None) -> PartResult:
    """Second pass: label one partition.

    With ``out_dir`` the labelled posts go to ``out_dir/part-<index>.parquet``, written under a
    temporary name and renamed when complete (a retried task rewrites the same file); otherwise
    they are returned for the client to write.
    """
    model = worker_model(opts.model_dir, opts.model_sha256)
    result = PartResult(index)
    stats = result.stats
    with contextlib.ExitStack() as stack:
        writer = None
        if out_dir is not None:
            result.path = str(Path(out_dir) / f"part-{index:05d}.parquet")
            # written under a hidden temporary name and renamed into place when complete (a retried
            # task rewrites the same file; pyarrow and pandas skip names starting with ".")
            writer = stack.enter_context(RecordWriter(Path(result.path), schema=output_schema(opts.explain)))
        for chunk in chunked(_checked(part, index, opts, stats, drops, attach=True), opts.chunk_size):
            posts = [item for _, item in chunk if not isinstance(item, Reject)]
            result.rejects += [item.as_dict() for _, item in chunk if isinstance(item, Reject)]
            done, bad = _label_posts(posts, model, opts)
            if writer is not None:
                failed = writer.write(done)
                bad += [unwritable(rec, why) for rec, why in failed]
                done = done if not failed else [p for p in done if not any(p is rec for rec, _ in failed)]
            else:
                result.records += done
            for rej in bad:
                stats.reject(rej)
                result.rejects.append(rej.as_dict())
            stats.kept += len(done)
            result.labelled += len(done)
    result.rejects = [{k: r[k] for k in REJECT_FIELDS} for r in result.rejects]
    return result


# --- on the client: a run's counts and rejects from the partitions' results, in input order ---

def add_stats(total: IngestStats, part: IngestStats) -> None:
    """Add a partition's counts to the run's (in partition order)."""
    total.read += part.read
    total.kept += part.kept
    total.rejected += part.rejected
    total.duplicates += part.duplicates
    total.reasons.update(part.reasons)  # in partition order: ties rank as in the local run
    total.transcripts_attached += part.transcripts_attached
    total.without_text += part.without_text
    total.no_text_column += part.no_text_column
    total.columns_seen = total.columns_seen or part.columns_seen
    total.surrogates_replaced += part.surrogates_replaced
    total.unusable.update(part.unusable)
    for kind, examples in part.examples.items():
        seen = total.examples.setdefault(kind, [])
        seen += [e for e in examples if e not in seen][:max(0, 3 - len(seen))]


class FoldedRejects:
    """Rejects in input order with duplicate rejects folded into runs, as the local engine writes them
    (:class:`pipeline.ingest.DuplicateRuns`: one reject per run of consecutive duplicates of one id,
    at most :data:`pipeline.ingest.MAX_DUPLICATE_LINES` lines per file)."""

    def __init__(self) -> None:
        self.runs = DuplicateRuns()
        self.file: str | None = None

    def __call__(self, path: str | None, rejects: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """The reject rows to write for the next partition's ``rejects`` (``path``: its input file)."""
        out = self.flush() if path != self.file else []
        self.file = path
        for row in rejects:
            if not str(row.get("reason", "")).startswith("duplicate post_id "):
                out.append(row)
                continue
            done = self.runs.fold(Reject(**row))
            if done is not None:
                out.append(dups_flush_one(done).as_dict())
        return out

    def flush(self) -> list[dict[str, Any]]:
        return [r.as_dict() for r in self.runs.flush()]
