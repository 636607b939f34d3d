"""Writing labelled posts and rejects: JSONL, CSV (formula-safe) or Parquet, chosen by extension."""

from __future__ import annotations

import csv
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import orjson

from pipeline.errors import PipelineError
from pipeline.io.sources import open_text
from pipeline.schema import labels

#: Output columns of labelled posts, in order (scores are flattened to score_<label> in CSV/Parquet;
#: explanations, present only from ``label --explain``, are one JSON text cell there).
OUTPUT_FIELDS = ("post_id", "actor", "actor_name", "created_at", "labels", "scores", "explanations", "language",
                 "caption", "caption_clean", "transcript", "transcript_clean", "transcript_source",
                 "on_screen_text", "on_screen_text_clean", "hashtags", "mentions", "emoji", "music",
                 "paid_partnership", "is_ad", "duet_from", "stitch_from", "views", "likes", "shares", "comments",
                 "region", "format", "source_file", "source_line")
REJECT_FIELDS = ("source_file", "source_line", "post_id", "reason")
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def safe_cell(value: Any) -> Any:
    """Neutralise spreadsheet formulas: a text cell starting with = + - @ TAB CR gets a leading '."""
    if isinstance(value, str) and value.startswith(_FORMULA_START):
        return "'" + value
    return value


def output_kind(path: Path) -> str:
    suffixes = [s.lower() for s in Path(path).suffixes]
    if suffixes[-1:] == [".gz"]:
        suffixes = suffixes[:-1]
    ext = suffixes[-1] if suffixes else ""
    if ext in (".jsonl", ".ndjson", ".json"):
        return "jsonl"
    if ext in (".csv", ".tsv"):
        return "csv"
    if ext in (".parquet", ".pq"):
        return "parquet"
    raise PipelineError(f"{path}: unknown output type {ext or '(no extension)'!r}. Use .jsonl, .csv or .parquet.")


def _flat(rec: dict[str, Any]) -> dict[str, Any]:
    # explanations only when the run made them, so plain outputs keep their columns
    row = {k: rec.get(k) for k in OUTPUT_FIELDS if k != "scores" and (k != "explanations" or k in rec)}
    if row.get("explanations") is not None:
        # JSON text: label → list of structs has no stable Parquet type across chunks
        row["explanations"] = orjson.dumps(row["explanations"]).decode()
    for name in labels():
        row[f"score_{name}"] = (rec.get("scores") or {}).get(name)
    return row


class RecordWriter:
    """Streaming writer; use as a context manager and call :meth:`write` with lists of records."""

    def __init__(self, path: Path, fields: tuple[str, ...] = OUTPUT_FIELDS) -> None:
        self.path = Path(path)
        self.kind = output_kind(self.path)
        self.fields = fields
        self.count = 0
        self._fh: Any = None
        self._csv: Any = None
        self._pq: Any = None
        self._kv: dict[str, str] = {}

    def add_metadata(self, kv: dict[str, str]) -> None:
        """Key-value metadata for the Parquet footer (ignored for JSONL/CSV, which use a sidecar)."""
        self._kv.update(kv)

    def __enter__(self) -> "RecordWriter":
        self.path.parent.mkdir(parents=True, exist_ok=True)
        if self.kind == "jsonl":
            self._fh = open(self.path, "wb")
        elif self.kind == "csv":
            self._fh = open(self.path, "w", encoding="utf-8", newline="")
        return self

    def write(self, records: list[dict[str, Any]]) -> None:
        if not records:
            return
        self.count += len(records)
        if self.kind == "jsonl":
            self._fh.write(b"".join(orjson.dumps({k: r.get(k) for k in self.fields if k in r or k in
                                                  ("post_id", "labels", "scores")}) + b"\n" for r in records))
            return
        rows = [_flat(r) if self.fields is OUTPUT_FIELDS else {k: r.get(k) for k in self.fields} for r in records]
        if self.kind == "csv":
            if self._csv is None:
                self._csv = csv.DictWriter(self._fh, fieldnames=list(rows[0]))
                self._csv.writeheader()
            for row in rows:
                self._csv.writerow({k: safe_cell(json.dumps(v, ensure_ascii=False) if isinstance(v, (list, dict)) else v)
                                    for k, v in row.items()})
            return
        import pyarrow as pa
        import pyarrow.parquet as pq

        table = pa.Table.from_pylist(rows, schema=self._pq.schema if self._pq else None)
        if self._pq is None:
            self._pq = pq.ParquetWriter(self.path, table.schema)
        self._pq.write_table(table)

    def __exit__(self, *exc: Any) -> None:
        if self._pq is not None:
            if self._kv:
                self._pq.add_key_value_metadata(self._kv)
            self._pq.close()
        elif self.kind == "parquet":  # nothing written: still leave a valid, empty file
            import pyarrow as pa
            import pyarrow.parquet as pq

            table = pa.table({k: pa.array([], pa.string()) for k in self.fields})
            pq.write_table(table.replace_schema_metadata(self._kv or None), self.path)
        if self._fh is not None:
            self._fh.close()


def read_records(path: Path) -> Iterator[list[dict[str, Any]]]:
    """Read labelled posts back (JSONL, CSV or Parquet) in chunks of dicts."""
    kind = output_kind(path)
    if not Path(path).is_file():
        raise PipelineError(f"{path}: file not found. Pass the output of 'tiktok-diplomacy label'.")
    chunk: list[dict[str, Any]] = []
    if kind == "parquet":
        import pyarrow.parquet as pq

        for batch in pq.ParquetFile(path).iter_batches(batch_size=10_000):
            yield [_unflat(r) for r in batch.to_pylist()]
        return
    with open_text(Path(path)) as fh:
        rows = csv.DictReader(fh) if kind == "csv" else fh
        for lineno, row in enumerate(rows, start=1):
            if kind == "jsonl":
                if not row.strip():
                    continue
                try:
                    rec = orjson.loads(row)
                except orjson.JSONDecodeError as exc:
                    raise PipelineError(f"{path}:{lineno}: malformed JSON ({exc}). Re-run 'label'.") from exc
            else:
                rec = _unflat({k: _uncell(v) for k, v in row.items()})
            chunk.append(rec)
            if len(chunk) >= 10_000:
                yield chunk
                chunk = []
    if chunk:
        yield chunk


def _uncell(v: Any) -> Any:
    if isinstance(v, str) and v.startswith("'") and v[1:2] in _FORMULA_START:
        v = v[1:]
    if isinstance(v, str) and v[:1] in ("[", "{"):
        try:
            return json.loads(v)
        except json.JSONDecodeError:
            return v
    return v


def _unflat(row: dict[str, Any]) -> dict[str, Any]:
    if "scores" not in row:
        row["scores"] = {n: _num(row.pop(f"score_{n}", None)) for n in labels()}
    for key in ("labels", "explanations"):
        if isinstance(row.get(key), str):
            row[key] = _uncell(row[key])
    return row


def _num(v: Any) -> float | None:
    try:
        return float(v)
    except (TypeError, ValueError):
        return None
