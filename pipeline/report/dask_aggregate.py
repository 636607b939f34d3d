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
from pipeline.io.writers import output_kind, part_files, unflat_row
from pipeline.report.aggregate import Aggregator
from pipeline.report.registry import Registry, load_registry
from pipeline.report.run import ReportRun, source_name, write_report_or_fail

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
    parts: list[Part] = []
    for path in files:
        kind = output_kind(path)
        parts += plan_parts([path], kind, partitions=partitions)
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
            yield [unflat_row(r) for r in batch.to_pylist()]
        return
    chunk: list[dict[str, Any]] = []
    with _text(part) as fh:
        if part.kind == "csv":
            rows: Any = csv.DictReader(fh, fieldnames=list(part.header) if part.how == "csv" else None)
            for row in rows:
                chunk.append(unflat_row(row, csv_cells=True))
                if len(chunk) >= _BATCH:
                    yield chunk
                    chunk = []
        else:
            for lineno, line in enumerate(fh, start=part.line_base + 1):
                if not line.strip():
                    continue
                try:
                    chunk.append(orjson.loads(line))
                except orjson.JSONDecodeError as exc:
                    raise PipelineError(f"{part.path}:{lineno}: malformed JSON ({exc}). Re-run 'label'.") from None
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
                   partitions: int | None = None) -> tuple[dict[str, Any], list[str]]:
    """(tables, notes) of ``labelled``, aggregated partition-wise on ``client``'s cluster."""
    parts = report_parts(labelled, partitions=partitions)
    total = Aggregator(registry, top_hashtags=top_hashtags)
    futures = [client.submit(aggregate_part, p, registry, top_hashtags, pure=False) for p in parts]
    for fut in futures:  # in input order: the first name seen for an actor stays, as locally
        total.merge(fut.result())
        fut.release()
    notes = total.notes()
    for note in notes:
        log.warning(note)
    return total.tables(), notes


def report_dask(labelled: Sequence[Path], out_dir: Path, actors: Path | None = None, *,
                registry: Registry | None = None, top_hashtags: int = 10, chart_actors: int = 20,
                scheduler: str | None = None, client: Any = None) -> ReportRun:
    """:func:`pipeline.report.run.report` with the aggregation on Dask (the writing stays here)."""
    from pipeline.label.dask_engine import dask_client  # lazy: imports distributed only for --engine dask

    registry = load_registry(actors) if registry is None else registry
    if client is None:
        with dask_client(scheduler) as own:
            tables, notes = aggregate_dask(own, labelled, registry, top_hashtags=top_hashtags)
    else:
        tables, notes = aggregate_dask(client, labelled, registry, top_hashtags=top_hashtags)
    return write_report_or_fail(tables, out_dir, source=source_name(labelled), notes=notes,
                                chart_actors=chart_actors)
