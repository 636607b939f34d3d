"""The per-post table for statistics software, streamed chunk by chunk while the report aggregates.

One row per post: id as text, actor (pseudonymised with ``--pseudonymise``), actor type,
country, language, ``created_at`` as a UTC timestamp, engagement counts as nullable integers,
one 0/1 column per strategy and its calibrated probability.  Written as ``posts.csv``,
``posts.parquet`` (a fixed, typed schema) and a sheet of ``report.xlsx``, each to a temporary
file renamed into place when the report is complete.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from pipeline.io.writers import safe_cell
from pipeline.report.exports import Workbook, label_codes

log = logging.getLogger(__name__)
COUNTS = ("views", "likes", "shares", "comments")


def post_columns(names: Sequence[str]) -> list[str]:
    codes = label_codes(names)
    return (["post_id", "actor", "actor_type", "country", "language", "created_at"] + list(COUNTS)
            + [codes[n] for n in names] + [f"p_{codes[n]}" for n in names] + ["n_strategies", "source_file"])


def _count(value: Any) -> Any:
    if value is None or isinstance(value, bool):
        return pd.NA
    try:
        number = float(value)
    except (TypeError, ValueError):
        return pd.NA
    return int(number) if np.isfinite(number) and number >= 0 else pd.NA


class PostsWriter:
    """Streams the posts table to the chosen formats; call as the aggregator's ``on_chunk``."""

    def __init__(self, out_dir: Path, names: Sequence[str], formats: Sequence[str], *, bom: bool = False,
                 workbook: Workbook | None = None) -> None:
        self.names, self.codes = tuple(names), label_codes(names)
        self.columns = post_columns(names)
        self.final = {f: Path(out_dir) / f"posts.{f}" for f in ("csv", "parquet") if f in formats}
        self.tmp = {f: p.with_name(f".{p.name}.tmp") for f, p in self.final.items()}
        self.bom = bom
        self.rows = 0
        self.xlsx_dropped = 0
        self._csv: Any = None
        self._pq: Any = None
        self._sheet = workbook.sheet("posts", self.columns) if workbook is not None else None

    def frame(self, recs: Sequence[Mapping[str, Any]], cols: Mapping[str, Any]) -> pd.DataFrame:
        Y, S = cols["Y"], cols["S"]
        data: dict[str, Any] = {
            "post_id": pd.array([None if r.get("post_id") is None else str(r.get("post_id")) for r in recs],
                                dtype="string"),
            "actor": pd.array(cols["actor"], dtype="string"), "actor_type": pd.array(cols["actor_type"], dtype="string"),
            "country": pd.array(cols["country"], dtype="string"),
            "language": pd.array([str(r.get("language") or "und") for r in recs], dtype="string"),
            "created_at": pd.to_datetime(pd.Series([r.get("created_at") for r in recs], dtype=object),
                                         utc=True, errors="coerce", format="ISO8601").astype("datetime64[us, UTC]"),
        }
        for c in COUNTS:
            data[c] = pd.array([_count(r.get(c)) for r in recs], dtype="Int64")
        for j, n in enumerate(self.names):
            data[self.codes[n]] = pd.array(Y[:, j].astype(np.int8), dtype="Int8")
        for j, n in enumerate(self.names):
            data[f"p_{self.codes[n]}"] = pd.array(np.round(S[:, j], 4), dtype="Float64")
        data["n_strategies"] = pd.array(Y.sum(axis=1), dtype="Int64")
        data["source_file"] = pd.array([None if r.get("source_file") is None else Path(str(r["source_file"])).name
                                        for r in recs], dtype="string")
        return pd.DataFrame(data, columns=self.columns)

    def __call__(self, recs: Sequence[Mapping[str, Any]], cols: Mapping[str, Any]) -> None:
        df = self.frame(recs, cols)
        self.rows += len(df)
        if "csv" in self.tmp:
            first = self._csv is None
            if first:
                self._csv = open(self.tmp["csv"], "w", encoding="utf-8-sig" if self.bom else "utf-8", newline="")
            text = df.astype({"created_at": "string"}).map(safe_cell)
            text["created_at"] = df["created_at"].dt.strftime("%Y-%m-%dT%H:%M:%SZ")
            text.to_csv(self._csv, index=False, header=first)
        if "parquet" in self.tmp:
            import pyarrow as pa  # lazy: only when Parquet is written
            import pyarrow.parquet as pq

            table = pa.Table.from_pandas(df, preserve_index=False)
            if self._pq is None:
                self._pq = pq.ParquetWriter(self.tmp["parquet"], table.schema)
            self._pq.write_table(table.cast(self._pq.schema))
        if self._sheet is not None:
            self.xlsx_dropped += self._sheet(df.itertuples(index=False, name=None))

    def close(self, ok: bool) -> dict[str, Path]:
        """Finish the files; rename them into place if ``ok``, else remove the partial files."""
        if self._csv is not None:
            self._csv.close()
        if self._pq is not None:
            self._pq.close()
        written = {}
        for fmt, tmp in self.tmp.items():
            if not ok:
                tmp.unlink(missing_ok=True)
                continue
            if not tmp.exists():  # no posts: still a valid file with the columns
                empty = self.frame([], {"actor": [], "actor_type": [], "country": [],
                                        "Y": np.zeros((0, len(self.names)), bool), "S": np.zeros((0, len(self.names)))})
                empty.to_csv(tmp, index=False) if fmt == "csv" else empty.to_parquet(tmp, index=False)
            os.replace(tmp, self.final[fmt])
            written[self.final[fmt].name] = self.final[fmt]
        return written
