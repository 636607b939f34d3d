"""``report --engine dask``: aggregate labelled posts partition by partition on a Dask cluster.

Each partition of the labelled input (a Parquet run of row groups, a JSONL or CSV byte block;
a partitioned output folder contributes its part files) is reduced on a worker to an
:class:`~pipeline.report.aggregate.Aggregator`: per-(actor, month) counts and sums and bounded
hashtag counters, a few KB per actor. The client merges them in input order
(:meth:`Aggregator.merge`) and derives the tables from the combined sums, so shares, Wilson
intervals and weighted shares are those of the local report: no interval is ever averaged.
"""

from __future__ import annotations

import csv
import io
import logging
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import orjson

from pipeline.errors import PipelineError
from pipeline.ingest.partitions import Part, plan_parts
from pipeline.io.writers import checked_record, output_kind, part_files, unflat_row
from pipeline.label.provenance import read_provenance
from pipeline.report.aggregate import Aggregator
from pipeline.report.model_info import priors
from pipeline.report.registry import Registry, load_registry
from pipeline.report.run import ReportRun, source_name, write_report_staged

log = logging.getLogger(__name__)
_BATCH = 10_000


def report_parts(labelled: Sequence[Path], *, partitions: int | None = None) -> list[Part]:
    """Partitions of ``label`` outputs, in input order (folders: their part files, in order)."""
    files: list[Path] = []
    for path in map(Path, labelled):
        if path.is_dir():
            files += part_files(path)
        elif not path.is_file():
            raise PipelineError(f"{path}: file not found. Pass the output of 'tiktok-diplomacy label'.")
        else:
            files.append(path)
    if partitions:
        block = max(1, sum(p.stat().st_size for p in files) // partitions)
    parts: list[Part] = []
    for path in files:
        kind = output_kind(path)
        if kind == "csv" and partitions and path.stat().st_size > block:
            parts += _csv_parts(path, block)
        else:
            parts += plan_parts([path], kind, partitions=partitions)
    return parts


def _csv_parts(path: Path, block: int) -> list[Part]:
    """Byte blocks of a labelled CSV (written by ``label``: comma-separated, UTF-8) of about ``block``
    bytes, each ending at the end of a record.

    Record ends are found by the csv module itself, fed the file line by line, so a quoted field
    with newlines is never cut.
    """
    offset = 0

    def lines() -> Iterator[str]:
        nonlocal offset
        with open(path, "rb") as fh:
            for i, raw in enumerate(fh):
                offset += len(raw)
                yield raw.decode("utf-8-sig" if i == 0 else "utf-8", "surrogateescape")

    reader = csv.reader(lines())
    try:
        header = tuple(next(reader))
    except (StopIteration, csv.Error) as exc:
        raise PipelineError(f"{path}: no CSV header ({exc or 'empty file'}). Pass the output of 'label'.") from None
    parts: list[Part] = []
    start, base = offset, reader.line_num
    while True:
        try:
            next(reader)
        except StopIteration:
            break
        except csv.Error as exc:
            raise PipelineError(f"{path}:{reader.line_num}: unreadable CSV row ({exc}). Re-run 'label'.") from None
        if offset - start >= block:
            parts.append(Part(str(path), "csv", "csv", start, offset, base, header))
            start, base = offset, reader.line_num
    if offset > start or not parts:
        parts.append(Part(str(path), "csv", "csv", start, offset, base, header))
    return parts


def _text(part: Part) -> io.TextIOWrapper:
    with open(part.path, "rb") as fh:
        fh.seek(part.start)
        data = fh.read(part.stop - part.start) if part.how != "file" else fh.read()
    return io.TextIOWrapper(io.BytesIO(data), encoding="utf-8-sig" if part.start == 0 else "utf-8",
                            errors="surrogateescape", newline="")


def read_labelled_part(part: Part) -> Iterator[list[dict[str, Any]]]:
    """The records of one partition of a ``label`` output, in chunks (as :func:`read_records` reads them)."""
    if part.kind == "parquet":
        import pyarrow.parquet as pq

        groups = list(range(part.start, part.stop)) if part.how == "parquet" else None
        for batch in pq.ParquetFile(part.path).iter_batches(batch_size=_BATCH, row_groups=groups):
            yield [unflat_row(r, Path(part.path), i) for i, r in enumerate(batch.to_pylist(), start=1)]
        return
    chunk: list[dict[str, Any]] = []
    with _text(part) as fh:
        if part.kind == "csv":
            rows: Any = csv.DictReader(fh, fieldnames=list(part.header) if part.how == "csv" and part.header is not None else None)
            for row in rows:
                chunk.append(unflat_row(row, Path(part.path), part.line_base + rows.line_num, csv_cells=True))
                if len(chunk) >= _BATCH:
                    yield chunk
                    chunk = []
        else:
            for lineno, line in enumerate(fh, start=part.line_base + 1):
                if not line.strip():
                    continue
                try:
                    rec = orjson.loads(line)
                except orjson.JSONDecodeError as exc:
                    raise PipelineError(f"{part.path}:{lineno}: malformed JSON ({exc}). Re-run 'label'.") from None
                chunk.append(checked_record(rec, Path(part.path), lineno))
                if len(chunk) >= _BATCH:
                    yield chunk
                    chunk = []
    if chunk:
        yield chunk


def aggregate_part(part: Part, registry: Registry, top_hashtags: int) -> Aggregator:
    """A worker's share: the sums of one partition."""
    agg = Aggregator(registry, top_hashtags=top_hashtags)
    for chunk in read_labelled_part(part):
        agg.add(chunk)
    return agg


def aggregate_dask(client: Any, labelled: Sequence[Path], registry: Registry, *, top_hashtags: int = 10,
                   partitions: int | None = None, prov: dict[str, Any] | None = None,
                   n_boot: int = 200) -> tuple[dict[str, Any], list[str]]:
    """(tables, notes) of ``labelled``, aggregated partition-wise on ``client``'s cluster.

    ``prov``: the labelled output's provenance (thresholds and training prevalence for the estimates).
    """
    parts = report_parts(labelled, partitions=partitions)
    total = Aggregator(registry, top_hashtags=top_hashtags)
    futures = [client.submit(aggregate_part, p, registry, top_hashtags, pure=False) for p in parts]
    for fut in futures:  # in input order: the first name seen for an actor stays, as locally
        total.merge(fut.result())
        fut.release()
    notes = total.notes()
    for note in notes:
        log.warning(note)
    thresholds = (prov or {}).get("thresholds") or None
    return total.tables(priors=priors(prov), thresholds=thresholds, n_boot=n_boot), notes


def report_dask(labelled: Sequence[Path], out_dir: Path, actors: Path | None = None, *,
                registry: Registry | None = None, top_hashtags: int = 10, chart_actors: int = 20,
                scheduler: str | None = None, client: Any = None, partitions: int | None = None,
                n_boot: int = 200) -> ReportRun:
    """:func:`pipeline.report.run.report` with the aggregation on Dask (the writing stays here).

    Tables are written as CSV, Parquet and JSON (the default formats); example posts, the
    per-post table and pseudonymisation need every post in one process and are not made here.
    """
    from pipeline.label.dask_engine import dask_client  # lazy: imports distributed only for --engine dask

    registry = load_registry(actors) if registry is None else registry
    paths = [Path(p) for p in labelled]
    prov = read_provenance(paths[0]) if len(paths) == 1 and paths[0].exists() else None
    kw: dict[str, Any] = dict(top_hashtags=top_hashtags, partitions=partitions, prov=prov, n_boot=n_boot)
    if client is None:
        with dask_client(scheduler) as own:
            tables, notes = aggregate_dask(own, paths, registry, **kw)
    else:
        tables, notes = aggregate_dask(client, paths, registry, **kw)
    if prov is None:
        notes.append("no provenance found for this labelled output (no .meta.json next to it): model, "
                     "accuracy and definitions are not shown and the adjusted estimate is left out")
    notes.append("aggregated with --engine dask: example posts and the per-post table (posts.csv) are not made")
    return write_report_staged(tables, out_dir, protect=paths, source=source_name(paths), notes=notes,
                               chart_actors=chart_actors, provenance=prov, examples=0)
