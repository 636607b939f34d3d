"""The ``report`` stage: labelled posts → per-actor and per-actor-type tables."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from .aggregate import Aggregator, load_registry
from .writers import read_records, safe_cell


def write_csv(df: pd.DataFrame, path: Path) -> None:
    """CSV with spreadsheet formulas neutralised in every text cell."""
    df.map(safe_cell).to_csv(path, index=False)


def report(labelled: Path, out_dir: Path, actors: Path | None = None) -> dict[str, Path]:
    """Aggregate a ``label`` output file into ``out_dir``; returns the files written."""
    agg = Aggregator(load_registry(actors))
    for chunk in read_records(Path(labelled)):
        agg.add(chunk)
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    written = {}
    for name, df in agg.tables().items():
        path = out_dir / f"{name}.csv"
        write_csv(df, path)
        written[name] = path
    return written
