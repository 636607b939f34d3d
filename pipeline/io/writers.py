"""Writing labelled posts and rejects: JSONL, CSV (formula-safe) or Parquet, chosen by extension."""

from __future__ import annotations

import csv
import io
import json
import math
import re
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any, cast

import orjson

from pipeline.errors import PipelineError
from pipeline.io.atomic import commit, discard, temp_file_for
from pipeline.io.sources import open_text
from pipeline.schema import labels

#: Output columns of labelled posts, in order (scores are flattened to score_<label> in CSV/Parquet;
#: explanations, present only from ``label --explain``, are one JSON text cell there).
OUTPUT_FIELDS = ("post_id", "actor", "actor_name", "created_at", "labels", "scores", "explanations", "language",
                 "caption", "caption_clean", "transcript", "transcript_clean", "transcript_source",
                 "on_screen_text", "on_screen_text_clean", "hashtags", "mentions", "emoji", "music",
                 "paid_partnership", "is_ad", "duet_from", "stitch_from", "views", "likes", "shares", "comments",
                 "region", "format", "source_file", "source_line")
REJECT_FIELDS = ("source_file", "source_line", "post_id", "reason", "count")
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
#: A formula start at the beginning of a cell or right after a line break inside it (a spreadsheet
#: that splits rows on a bare CR or LF would otherwise start a new row with a live formula).
_FORMULA_RE = re.compile(r"(^|[\r\n])(?=[=+\-@\t\r])")
_UNFORMULA_RE = re.compile(r"(^|[\r\n])'(?=[=+\-@\t\r])")
_LIST_OUT = ("labels", "hashtags", "mentions", "emoji")
_INT_OUT = ("views", "likes", "shares", "comments", "source_line", "count")
_BOOL_OUT = ("paid_partnership", "is_ad")


def safe_cell(value: Any) -> Any:
    """Neutralise spreadsheet formulas: a ' goes before = + - @ TAB CR at the start of a text cell
    and after every line break inside it."""
    if isinstance(value, str) and (value.startswith(_FORMULA_START) or "\n" in value or "\r" in value):
        return _FORMULA_RE.sub(r"\1'", value)
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
    raise PipelineError(f"{path}: unknown output type {ext or '(no extension)'!r}. Use .jsonl, .csv or .parquet "
                        "(or, with --engine dask, a folder for partitioned Parquet).")


def flat_row(rec: dict[str, Any], explain: bool | None = None) -> dict[str, Any]:
    """A labelled post as a CSV/Parquet row: scores as ``score_<label>``, explanations as JSON text
    (with ``explain``; default: when the record has them)."""
    if explain is None:
        explain = "explanations" in rec
    # explanations only when the run made them, so plain outputs keep their columns
    row = {k: rec.get(k) for k in OUTPUT_FIELDS if k != "scores" and (k != "explanations" or explain)}
    if row.get("explanations") is not None:
        # JSON text: label → list of structs has no stable Parquet type across chunks
        row["explanations"] = orjson.dumps(row["explanations"]).decode()
    for name in labels():
        row[f"score_{name}"] = (rec.get("scores") or {}).get(name)
    return row


def _arrow_type(name: str) -> Any:
    import pyarrow as pa  # lazy: pyarrow only for Parquet output

    if name in _LIST_OUT:
        return pa.list_(pa.string())
    if name in _INT_OUT:
        return pa.int64()
    if name in _BOOL_OUT:
        return pa.bool_()
    if name.startswith("score_"):
        return pa.float64()
    return pa.string()


def output_schema(explain: bool = False) -> Any:
    """The Arrow schema of labelled posts in Parquet, fixed in advance.

    A file written in one go takes its columns from the first chunk; the parts of a partitioned
    output must agree with each other even when a column is empty in one part (all null).
    """
    import pyarrow as pa  # lazy: pyarrow only for Parquet output

    return pa.schema([(k, _arrow_type(k)) for k in flat_row({}, explain)])


class RecordWriter:
    """Streaming writer; use as a context manager and call :meth:`write` with lists of records.

    Writes to a temporary file next to ``path`` and renames it into place when the block ends
    without an exception (:mod:`pipeline.io.atomic`); on an exception the temporary file is
    removed and an existing file under ``path`` is left as it was. JSONL rows carry every
    field (nulls included), so the output reads back with the same schema on every line.
    ``schema``: the Arrow schema of a Parquet output (default: from the first chunk's columns).
    """

    def __init__(self, path: Path, fields: tuple[str, ...] = OUTPUT_FIELDS, schema: Any = None) -> None:
        self.path = Path(path)
        self.kind = output_kind(self.path)
        self.fields = fields
        self.count = 0
        self._tmp: Path | None = None
        self._fh: Any = None
        self._csv_header: list[str] | None = None
        self._pq: Any = None
        self._schema: Any = schema
        self._explain: bool | None = None if schema is None else "explanations" in schema.names
        self._kv: dict[str, str] = {}

    def add_metadata(self, kv: dict[str, str]) -> None:
        """Key-value metadata for the Parquet footer (ignored for JSONL/CSV, which use a sidecar)."""
        self._kv.update(kv)

    def __enter__(self) -> RecordWriter:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._tmp = temp_file_for(self.path)
        if self.kind in ("jsonl", "csv"):
            self._fh = open(self._tmp, "wb")
        return self

    def _rows(self, records: list[dict[str, Any]]) -> list[dict[str, Any]]:
        if self.fields is not OUTPUT_FIELDS:
            return [{k: r.get(k) for k in self.fields} for r in records]
        if self._explain is None:  # decided by the first chunk: the run either explains or not
            self._explain = any("explanations" in r for r in records)
        if self.kind == "jsonl":
            return [{k: r.get(k) for k in self.fields if k != "explanations" or self._explain} for r in records]
        return [flat_row(r, self._explain) for r in records]

    def write(self, records: list[dict[str, Any]]) -> list[tuple[dict[str, Any], str]]:
        """Write ``records``; return those that could not be written, each with the reason.

        A record that cannot be serialised (a value of the wrong type) is not written and is
        returned so that the caller can reject it; the others are written.
        """
        if not records:
            return []
        failed: list[tuple[dict[str, Any], str]] = []
        rows = self._rows(records)
        if self.kind == "csv" and self._csv_header is None:
            self._csv_header = list(rows[0])
            buf = io.StringIO()
            csv.writer(buf).writerow(self._csv_header)
            self._fh.write(buf.getvalue().encode("utf-8"))
        encoded: list[Any] = []
        kept: list[dict[str, Any]] = []
        for rec, row in zip(records, rows):
            try:
                encoded.append(self._encode(row))
                kept.append(row)
            except (TypeError, ValueError, OverflowError, UnicodeError) as exc:
                failed.append((rec, f"cannot write this record ({type(exc).__name__}: {str(exc)[:200]})"))
        if self.kind == "parquet":
            self._write_parquet(kept, records, failed)
        elif encoded:
            self._fh.write(b"".join(encoded))
        self.count += len(records) - len(failed)
        return failed

    def _encode(self, row: dict[str, Any]) -> Any:
        if self.kind == "jsonl":
            return orjson.dumps(row) + b"\n"
        if self.kind == "csv":
            buf = io.StringIO()
            csv.writer(buf).writerow([safe_cell(json.dumps(v, ensure_ascii=False) if isinstance(v, (list, dict)) else v)
                                      for v in (row.get(k) for k in cast(list[str], self._csv_header))])
            return buf.getvalue().encode("utf-8")
        return row

    def _write_parquet(self, rows: list[dict[str, Any]], records: list[dict[str, Any]],
                       failed: list[tuple[dict[str, Any], str]]) -> None:
        import pyarrow as pa  # lazy: pyarrow only for Parquet output
        import pyarrow.parquet as pq

        if not rows:
            return
        if self._schema is None:
            self._schema = pa.schema([(k, _arrow_type(k)) for k in rows[0]])
        try:
            table = pa.Table.from_pylist(rows, schema=self._schema)
        except (pa.ArrowException, TypeError, ValueError, OverflowError):
            good = []
            by_id = {id(r): rec for rec, r in zip(records, self._rows(records))}
            for row in rows:  # find the rows that do not fit; write the rest
                try:
                    pa.Table.from_pylist([row], schema=self._schema)
                    good.append(row)
                except (pa.ArrowException, TypeError, ValueError, OverflowError) as exc:
                    failed.append((by_id.get(id(row), row), f"cannot write this record ({str(exc)[:200]})"))
            table = pa.Table.from_pylist(good, schema=self._schema)
        if self._pq is None:
            self._pq = pq.ParquetWriter(self._tmp, self._schema)
        self._pq.write_table(table)

    def __exit__(self, exc_type: Any, *exc: Any) -> None:
        if self._tmp is None:  # __exit__ without __enter__: nothing was opened
            return
        try:
            if self._pq is not None:
                if self._kv:
                    self._pq.add_key_value_metadata(self._kv)
                self._pq.close()
            elif self.kind == "parquet" and exc_type is None:  # nothing written: still a valid, empty file
                import pyarrow as pa  # lazy: pyarrow only for Parquet output
                import pyarrow.parquet as pq

                names = self.fields if self.fields is not OUTPUT_FIELDS else tuple(flat_row({}, bool(self._explain)))
                table = (self._schema.empty_table() if self._schema is not None else
                         pa.table({k: pa.array([], _arrow_type(k)) for k in names}))
                pq.write_table(table.replace_schema_metadata(self._kv or None), self._tmp)
            if self._fh is not None:
                self._fh.close()
        except BaseException:
            discard(self._tmp)
            raise
        if exc_type is not None:
            discard(self._tmp)
            return
        commit(self._tmp, self.path)


#: A partitioned output: a folder of ``part-NNNNN.parquet`` files and, once all are written, ``_SUCCESS``.
SUCCESS_MARKER = "_SUCCESS"
PART_PATTERN = "part-*.parquet"


def part_files(folder: Path) -> list[Path]:
    """The part files of a complete partitioned output, in order.

    Raises
    ------
    PipelineError
        If the folder has no ``_SUCCESS`` marker (the run did not finish) or no part files.
    """
    folder = Path(folder)
    if not (folder / SUCCESS_MARKER).is_file():
        raise PipelineError(f"{folder}: no {SUCCESS_MARKER} marker, so the labelling run that writes this folder "
                            "did not finish. Re-run 'tiktok-diplomacy label ... -o DIR/'.")
    parts = sorted(folder.glob(PART_PATTERN))
    if not parts:
        raise PipelineError(f"{folder}: no {PART_PATTERN} files. Pass the folder written by 'label -o DIR/'.")
    return parts


def read_records(path: Path) -> Iterator[list[dict[str, Any]]]:
    """Read labelled posts back (JSONL, CSV, Parquet, or a partitioned Parquet folder) in chunks of dicts.

    Raises
    ------
    PipelineError
        If the file is missing or unreadable, a line is not a JSON object, or a record has no
        ``labels`` (the file was never labelled: the message says to run ``label`` first).
    """
    if Path(path).is_dir():
        for part in part_files(Path(path)):
            yield from read_records(part)
        return
    kind = output_kind(path)
    if not Path(path).is_file():
        raise PipelineError(f"{path}: file not found. Pass the output of 'tiktok-diplomacy label'.")
    chunk: list[dict[str, Any]] = []
    if kind == "parquet":
        import pyarrow.parquet as pq  # lazy: pyarrow only for Parquet input

        try:
            batches = pq.ParquetFile(path).iter_batches(batch_size=10_000)
            for batch in batches:
                yield [_checked(_unflat(r), path, i) for i, r in enumerate(batch.to_pylist(), start=1)]
        except (OSError, ValueError) as exc:  # pyarrow's errors derive from these
            raise PipelineError(f"{path}: unreadable Parquet file ({exc}). Pass the output of 'label'.") from exc
        return
    with open_text(Path(path)) as fh:
        reader = csv.DictReader(fh) if kind == "csv" else None
        rows: Iterable[Any] = fh if reader is None else reader
        for lineno, row in enumerate(rows, start=1):
            if kind == "jsonl":
                if not row.strip():
                    continue
                try:
                    rec = orjson.loads(row)
                except orjson.JSONDecodeError as exc:
                    raise PipelineError(f"{path}:{lineno}: malformed JSON ({exc}). Re-run 'label'.") from exc
                if not isinstance(rec, dict):
                    raise PipelineError(f"{path}:{lineno}: expected a JSON object (a labelled post), got "
                                        f"{type(rec).__name__}. Pass the output of 'tiktok-diplomacy label'.")
            else:
                rec = _unflat({k: _uncell(v) for k, v in row.items() if k is not None})
            chunk.append(_checked(rec, path, reader.line_num if reader is not None else lineno))
            if len(chunk) >= 10_000:
                yield chunk
                chunk = []
    if chunk:
        yield chunk


#: Largest count read back; larger (or negative, or non-integer) values are read as unknown.
MAX_COUNT = 2**63 - 1


def _checked(rec: dict[str, Any], path: Path, line: int) -> dict[str, Any]:
    """A labelled record with usable types: labels a list, scores and counts numbers or None."""
    labels_value = rec.get("labels")
    scores = rec.get("scores")
    has_scores = isinstance(scores, dict) and any(v is not None for v in scores.values())
    if "labels" not in rec or (labels_value in (None, "") and not has_scores):
        raise PipelineError(f"{path}:{line}: this record has no labels or scores, so the file is not the output "
                            "of 'label': run 'tiktok-diplomacy label' on it first, then report on that output.")
    if not isinstance(labels_value, list) or not all(isinstance(x, str) for x in labels_value):
        raise PipelineError(f"{path}:{line}: 'labels' must be a list of label names; got {str(labels_value)[:80]!r}. "
                            "Pass the output of 'tiktok-diplomacy label'.")
    rec["scores"] = {k: _num(v) for k, v in scores.items()} if isinstance(scores, dict) else {}
    for key in ("views", "likes", "shares", "comments"):
        value = rec.get(key)
        if value is not None:
            rec[key] = _count(value)
    for key in ("actor", "created_at", "post_id"):
        if rec.get(key) is not None and not isinstance(rec[key], str):
            rec[key] = str(rec[key])
    return rec


def _count(v: Any) -> int | None:
    if isinstance(v, bool):
        return None
    if isinstance(v, str):
        v = _num(v)
    if isinstance(v, float):
        v = int(v) if math.isfinite(v) and v.is_integer() else None
    return v if isinstance(v, int) and 0 <= v <= MAX_COUNT else None


def unflat_row(row: dict[str, Any], path: Path, line: int, *, csv_cells: bool = False) -> dict[str, Any]:
    """A row of a labelled CSV/Parquet file back as a checked record (``scores`` a dict, lists as
    lists), as :func:`read_records` reads it; ``line`` names the row in errors."""
    rec = _unflat({k: _uncell(v) for k, v in row.items() if k is not None} if csv_cells else row)
    return _checked(rec, path, line)


def checked_record(rec: Any, path: Path, line: int) -> dict[str, Any]:
    """A record of a labelled JSONL file (``line``) checked as :func:`read_records` checks it."""
    if not isinstance(rec, dict):
        raise PipelineError(f"{path}:{line}: expected a JSON object (a labelled post), got "
                            f"{type(rec).__name__}. Pass the output of 'tiktok-diplomacy label'.")
    return _checked(rec, path, line)


def _uncell(v: Any) -> Any:
    if isinstance(v, str) and "'" in v:
        v = _UNFORMULA_RE.sub(r"\1", v)
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
        f = float(v)
    except (TypeError, ValueError, OverflowError):
        return None
    return f if math.isfinite(f) else None
