"""Report tables written for R, Stata, Excel and Python: CSV, Parquet, JSON and one xlsx workbook.

Exported column names are valid Stata names of at most 32 characters: label names are replaced
by short codes (``trend_participation`` → ``trend``) and ``a+b`` becomes ``a_and_b``;
``codebook.md``/``.csv`` map every exported name to its long name and meaning
(:mod:`pipeline.report.codebook`).  CSV is UTF-8 (optionally with a BOM, so that Excel shows
Japanese text), every text cell formula-safe (:func:`pipeline.io.writers.safe_cell`), and ids
are text everywhere.  Each file is written to a temporary name in the same folder and renamed
into place when complete.
"""

from __future__ import annotations

import logging
import os
import re
import tempfile
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pandas as pd

from pipeline.io.writers import safe_cell

log = logging.getLogger(__name__)
FORMATS = ("csv", "parquet", "json", "xlsx")
DEFAULT_FORMATS = ("csv", "parquet", "json")
XLSX_NAME = "report.xlsx"
XLSX_MAX_ROWS = 1_048_575  # Excel's row limit minus the header
_STATA = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,31}$")
#: Columns holding identifiers: always text, so 19-digit ids never become floats or 1.23E+18.
ID_COLUMNS = ("post_id", "actor", "group", "hashtag")


def label_codes(names: Sequence[str]) -> dict[str, str]:
    """Short code per label: its first word (``trend``), or the whole name if first words collide."""
    first = [n.split("_")[0] for n in names]
    return {n: (f if first.count(f) == 1 else n) for n, f in zip(names, first)}


def export_name(column: str, names: Sequence[str]) -> str:
    """A table column's exported name: label names → codes, ``+`` → ``_and_``; ≤ 32 characters."""
    out = column
    for name, code in sorted(label_codes(names).items(), key=lambda kv: -len(kv[0])):
        out = out.replace(name, code)
    out = out.replace("+", "_and_")
    if not _STATA.match(out):
        raise ValueError(f"exported column name {out!r} (from {column!r}) is not a valid Stata name of <= 32 characters")
    return out


def export_frame(df: pd.DataFrame, names: Sequence[str]) -> pd.DataFrame:
    """A copy with exported names, ids as text and label names in cells left as they are."""
    out = df.rename(columns={c: export_name(str(c), names) for c in df.columns})
    for col in ID_COLUMNS:
        if col in out.columns:
            out[col] = out[col].map(lambda v: None if v is None or (isinstance(v, float) and v != v) else str(v))
            out[col] = out[col].astype("string")
    for col in out.columns:  # object columns of booleans/ints only would lose their type in Parquet
        if out[col].dtype == object:
            out[col] = out[col].astype("string")
    return out


@contextmanager
def atomic_path(path: Path) -> Iterator[Path]:
    """A temporary path in ``path``'s folder, renamed onto ``path`` when the block ends without error."""
    path = Path(path)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.close(fd)
    try:
        yield Path(tmp)
        os.replace(tmp, path)
    finally:
        Path(tmp).unlink(missing_ok=True)


def write_csv(df: pd.DataFrame, path: Path, *, bom: bool = False) -> None:
    """CSV with spreadsheet formulas neutralised in every text cell; UTF-8, with a BOM if asked.

    CRLF line ends make the csv module quote every cell holding a CR or LF (with "\n" alone a
    bare CR went unquoted and a spreadsheet started a new row there).
    """
    with atomic_path(path) as tmp:
        df.map(safe_cell).to_csv(tmp, index=False, encoding="utf-8-sig" if bom else "utf-8", lineterminator="\r\n")


def write_parquet(df: pd.DataFrame, path: Path) -> None:
    with atomic_path(path) as tmp:
        df.to_parquet(tmp, index=False)


def write_json(df: pd.DataFrame, path: Path) -> None:
    with atomic_path(path) as tmp:
        df.to_json(tmp, orient="records", force_ascii=False, date_format="iso")


def _xlsx_value(value: Any) -> Any:
    if value is None or value is pd.NA or value is pd.NaT or (isinstance(value, float) and value != value):
        return None
    if isinstance(value, pd.Timestamp):  # Excel has no time zones: UTC wall time
        return value.tz_convert("UTC").tz_localize(None).to_pydatetime() if value.tzinfo else value.to_pydatetime()
    if hasattr(value, "item"):  # numpy scalars
        value = value.item()
    return safe_cell(value)


class Workbook:
    """One streamed (write-only) xlsx workbook, one sheet per table; ids are written as text cells."""

    def __init__(self, path: Path) -> None:
        from openpyxl import Workbook as _Workbook  # lazy: only with --format xlsx

        self.path = Path(path)
        self.book = _Workbook(write_only=True)
        self.sheets: dict[str, Any] = {}
        self.rows: dict[str, int] = {}

    def sheet(self, name: str, header: Sequence[str]) -> Callable[[Iterable[Sequence[Any]]], int]:
        """An appender for sheet ``name`` (≤ 31 characters); returns rows it could not write (Excel's limit)."""
        ws = self.book.create_sheet(title=name[:31])
        ws.freeze_panes = "A2"
        ws.append(list(header))
        self.sheets[name], self.rows[name] = ws, 0

        def append(rows: Iterable[Sequence[Any]]) -> int:
            dropped = 0
            for row in rows:
                if self.rows[name] >= XLSX_MAX_ROWS:
                    dropped += 1
                    continue
                ws.append([_xlsx_value(v) for v in row])
                self.rows[name] += 1
            return dropped

        return append

    def add_frame(self, name: str, df: pd.DataFrame) -> int:
        return self.sheet(name, [str(c) for c in df.columns])(df.itertuples(index=False, name=None))

    def save(self) -> Path:
        with atomic_path(self.path) as tmp:
            self.book.save(tmp)
        return self.path


def write_tables(tables: Mapping[str, pd.DataFrame], out_dir: Path, names: Sequence[str], *,
                 formats: Sequence[str] = DEFAULT_FORMATS, bom: bool = False,
                 workbook: Workbook | None = None) -> dict[str, Path]:
    """Each table as ``<name>.csv/.parquet/.json`` and a sheet of ``workbook``; returns the paths written."""
    written: dict[str, Path] = {}
    for name, df in tables.items():
        out = export_frame(df, names)
        if "csv" in formats:
            write_csv(out, written.setdefault(f"{name}.csv", out_dir / f"{name}.csv"), bom=bom)
        if "parquet" in formats:
            write_parquet(out, written.setdefault(f"{name}.parquet", out_dir / f"{name}.parquet"))
        if "json" in formats:
            write_json(out, written.setdefault(f"{name}.json", out_dir / f"{name}.json"))
        if workbook is not None:
            workbook.add_frame(name, out)
    return written
