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
from pipeline.errors import PipelineError, UsageError
from pipeline.ingest import IngestStats, Reject, chunked, iter_posts
from pipeline.io.atomic import check_writable, output_lock, refuse_overlaps
from pipeline.io.progress import bar as progress_bar
from pipeline.io.sources import bytes_read, is_stream, read_head
from pipeline.io.writers import REJECT_FIELDS, RecordWriter, output_kind
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


#: Share of posts with no text column mapped (and no transcript) at which ``label`` stops:
#: such a run labels from flags only, almost always a missing ``--column``.
NO_TEXT_SHARE = 0.9


def default_rejects(output: Path) -> Path:
    """``run.2023-10.jsonl`` → ``run.2023-10.rejects.jsonl``: only the extension (and ``.gz``) is
    replaced, so outputs that differ before it never share a rejects file."""
    name = output.name
    if name.lower().endswith(".gz"):
        name = name[:-3]
    stem = name.rsplit(".", 1)[0] if "." in name.lstrip(".") else name
    return output.with_name(stem + ".rejects.jsonl")


def label_files(inputs: Sequence[str | Path] | str | Path, output: str | Path, *, model_dir: str | Path | None = None,
                rejects: str | Path | None = None, transcripts: str | Path | None = None, fmt: str | None = None,
                columns: dict[str, str] | None = None, chunk_size: int = CHUNK_SIZE,
                progress: bool | None = None, explain: bool = False, top_k: int | None = None,
                workers: int | None = 1, thresholds: dict[str, float] | None = None, keep_going: bool = False,
                allow_no_text: bool = False, date_formats: Sequence[str] | None = None) -> LabelRun:
    """Label every post of ``inputs`` into ``output``; rejected records go to ``rejects``.

    With ``workers > 1`` chunks are language-tagged and labelled in that many processes (each
    a fork of a server that loaded the libraries once; see :func:`pipeline.label.workers.mp_context`); output,
    rejects and counts are byte-for-byte those of one worker. ``workers=None`` chooses:
    :func:`pipeline.label.workers.default_workers`, or this process alone when the input fits in one chunk (a second
    worker would have nothing to do, and starting the pool costs more than it saves). Workers
    are started with forkserver/spawn, so a script calling this with ``workers`` other than 1
    needs the ``if __name__ == "__main__":`` guard.

    Data safety: ``output`` and ``rejects`` must differ from every input and from each other;
    both are written to temporary files and renamed into place only when the whole run
    succeeded (an exception or interrupt leaves any previous files untouched); a second run
    on the same output is refused while this one holds its lock. Inputs are checked before
    anything is read (a missing second file fails at once); with ``keep_going`` unreadable
    files are skipped and listed in ``stats.skipped_files``. When at least
    :data:`NO_TEXT_SHARE` of the posts came without any text column mapped, the run fails
    (nothing written) unless ``allow_no_text``.
    """
    if workers is not None and workers < 1:
        raise ValueError(f"workers must be a positive integer. Got {workers!r} instead.")
    if top_k is not None and top_k < 1:
        raise ValueError(f"top_k must be a positive integer. Got {top_k!r} instead.")
    paths = [Path(inputs)] if isinstance(inputs, (str, Path)) else [Path(p) for p in inputs]
    output = Path(output)
    rejects = Path(rejects) if rejects is not None else default_rejects(output)
    transcripts = Path(transcripts) if transcripts is not None else None
    model_dir = Path(model_dir) if model_dir is not None else None
    output_kind(output)
    refuse_overlaps(paths, {"output": output, "rejects file": rejects})
    for path in (output, rejects):
        check_writable(path)
    if not keep_going:
        for path in paths:
            if not is_stream(path):
                read_head(path)  # missing, empty, binary: fail before anything is read
    with output_lock(output), output_lock(rejects):
        return _label_locked(paths, output, rejects, model_dir=model_dir, transcripts=transcripts, fmt=fmt,
                             columns=columns, chunk_size=chunk_size, progress=progress, explain=explain,
                             top_k=top_k, workers=workers, thresholds=thresholds, keep_going=keep_going,
                             allow_no_text=allow_no_text, date_formats=date_formats)


def _label_locked(inputs: list[Path], output: Path, rejects: Path, *, model_dir: Path | None,
                  transcripts: Path | None, fmt: str | None, columns: dict[str, str] | None, chunk_size: int,
                  progress: bool | None, explain: bool, top_k: int | None, workers: int | None,
                  thresholds: dict[str, float] | None, keep_going: bool, allow_no_text: bool,
                  date_formats: Sequence[str] | None) -> LabelRun:
    stats = IngestStats()

    def split() -> Iterator[tuple[list[Any], list[dict[str, Any]]]]:
        # language ID runs per chunk where the model does (a batch is faster than post by post)
        posts = iter_posts(inputs, fmt=fmt, columns=columns, transcripts=transcripts, stats=stats,
                           detect_lang=False, keep_going=keep_going, date_formats=date_formats)
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
        from pipeline.model.artefact import load_model  # lazy: the model only when labelling here
        from pipeline.model.thresholds import with_thresholds  # lazy: next to load_model

        labelled_chunks = pool.label_in_process(chunks, with_thresholds(load_model(model_dir, lean=not explain)[0], thresholds),
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
                unlabelled = [(p, p.pop(pool.LABEL_ERROR)) for p in posts if pool.LABEL_ERROR in p]
                if unlabelled:
                    posts = [p for p in posts if "scores" in p and "labels" in p]
                not_written = out.write(posts)
                failed = unlabelled + not_written
                rejected = [r.as_dict() for r in items if isinstance(r, Reject)]
                for rec, why in failed:  # a record the writer cannot hold is a reject, not a crash
                    bad = Reject(str(rec.get("source_file")), int(rec.get("source_line") or 0), why,
                                 rec.get("post_id") if isinstance(rec.get("post_id"), str) else None)
                    stats.reject(bad)
                    rejected.append(bad.as_dict())
                rej.write(rejected)
                labelled += len(posts) - len(not_written)
                rows.update(str(r.source_file if isinstance(r, Reject) else r.get("source_file")) for r in items)
                # head reads during format detection count too: never past the total
                bar.update(max(0, min(bytes_read() - start_bytes, total) - bar.n))
                bar.set_postfix_str(f"{labelled:,} posts")
            if stats.skipped_files and not stats.read:
                raise PipelineError(f"no input could be read ({len(stats.skipped_files)} skipped; first: "
                                    f"{stats.skipped_files[0]}); nothing was written.")
            _check_text(stats, allow_no_text)
            mdir = Path(model_dir) if model_dir else DEFAULT_MODEL_DIR
            prov = build_provenance(model_dir=mdir, meta=read_meta(mdir), inputs=inputs, rows=_by_input(inputs, rows),
                                    output=output, labelled=labelled, rejected=stats.rejected,
                                    transcripts=transcripts, explain=explain)
            if thresholds:  # the user's --threshold values override the model's: record what was used
                prov["thresholds"] = dict(used)
                prov["thresholds_set_by_user"] = dict(thresholds)
            out.add_metadata({PARQUET_KEY: json.dumps(prov, ensure_ascii=False)})
        write_json_atomic(sidecar_path(output), prov)
    except OSError as exc:
        raise PipelineError(f"{exc.filename or output}: cannot write ({exc.strerror or exc}); nothing was written. "
                            "Free space or choose another location with -o.") from exc
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


def _check_text(stats: IngestStats, allow_no_text: bool) -> None:
    """Fail when nearly every post came from a mapping without a text column (see :data:`NO_TEXT_SHARE`)."""
    if allow_no_text or not stats.kept or stats.no_text_column < NO_TEXT_SHARE * stats.kept:
        return
    raise PipelineError(f"{stats.no_text_column} of {stats.kept} posts have no caption, transcript or on-screen "
                        f"text because no column was mapped to one (columns present: {stats.columns_seen}). "
                        "Map the text with --column caption=COLUMN (or transcript=, on_screen_text=), or pass "
                        "--allow-no-text to label from flags only; nothing was written.")
