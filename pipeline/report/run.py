"""The ``report`` stage: labelled posts → per-actor tables, an HTML report and a Markdown summary.

Output directory layout::

    <table>.csv / .parquet / .json   actors, actor_types, overall, timeseries, cooccurrence,
                                     hashtags, unknown_actors
    report.html                      self-contained (inline CSS, charts as base64 PNGs)
    summary.md                       Markdown summary linking charts/*.png
    report.json                      format version, input, counts, notes, table list
    actors_template.toml             registry entries to fill in for handles not in the registry
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import pandas as pd

from pipeline import __version__
from pipeline.report.aggregate import aggregate_records
from pipeline.errors import PipelineError
from pipeline.report.sections import sections
from pipeline.report.charts import charts as draw_charts
from pipeline.report.html import render_html
from pipeline.report.markdown import render_md
from pipeline.report.registry import Registry, actor_template, load_registry
from pipeline.report.tables import METRICS
from pipeline.schema import labels
from pipeline.io.atomic import commit, discard, staged_dir, temp_file_for
from pipeline.io.progress import bar as progress_bar
from pipeline.io.sources import bytes_read
from pipeline.io.writers import read_records, safe_cell

log = logging.getLogger(__name__)
REPORT_FORMAT = "tiktok-diplomacy-report/1"
TABLE_FORMATS = ("csv", "parquet", "json")
METHOD = (
    "Strategy labels are the classifier's predictions, not hand annotations: shares inherit its errors.",
    "Share of posts = posts with the strategy ÷ all posts of the actor or actor type. A post can carry "
    "several strategies, so shares need not add up to 100%.",
    "95% intervals are Wilson score intervals: they reflect how few posts there are, not classifier error.",
    "Engagement-weighted share = sum of views (likes, shares) over posts with the strategy ÷ the sum over "
    "all posts where that metric is known; posts without the metric are left out, not counted as zero.",
    "Handles are grouped case-insensitively. Actor types come from configs/actors.toml (plus --actors); "
    "handles not listed there count as 'unknown'.",
)


@dataclass
class ReportRun:
    """What :func:`report` wrote, with the headline counts the CLI prints."""

    out_dir: Path
    posts: int
    actors: int
    unknown_actors: int
    notes: list[str]
    written: dict[str, Path] = field(default_factory=dict)


def write_csv(df: pd.DataFrame, path: Path) -> None:
    """CSV with spreadsheet formulas neutralised in every text cell, written atomically.

    CRLF line ends make the csv module quote every cell holding a CR or LF (with "\n" alone a
    bare CR went unquoted and a spreadsheet started a new row there).
    """
    tmp = temp_file_for(Path(path))
    try:
        df.map(safe_cell).to_csv(tmp, index=False, lineterminator="\r\n")
    except BaseException:
        discard(tmp)
        raise
    commit(tmp, Path(path))


def write_tables(tables: dict[str, pd.DataFrame], out_dir: Path,
                 formats: tuple[str, ...] = TABLE_FORMATS) -> dict[str, Path]:
    """Each table as ``<name>.csv`` (formula-safe), ``.parquet`` and ``.json`` (records); returns the paths."""
    written = {}
    for name, df in tables.items():
        if "csv" in formats:
            write_csv(df, written.setdefault(f"{name}.csv", out_dir / f"{name}.csv"))
        if "parquet" in formats:
            df.to_parquet(written.setdefault(f"{name}.parquet", out_dir / f"{name}.parquet"), index=False)
        if "json" in formats:
            df.to_json(written.setdefault(f"{name}.json", out_dir / f"{name}.json"), orient="records",
                       force_ascii=False)
    return written


def write_report(tables: dict[str, pd.DataFrame], out_dir: Path, *, source: str = "DataFrame",
                 notes: list[str] | None = None, chart_actors: int = 20, top_actors: int = 50) -> ReportRun:
    """Write tables, charts, ``report.html``, ``summary.md`` and ``report.json`` for aggregated ``tables``.

    Use with :func:`pipeline.report.aggregate.aggregate_frame` to report on a DataFrame from Python.
    """
    out_dir = Path(out_dir)
    (out_dir / "charts").mkdir(parents=True, exist_ok=True)
    names, notes = labels(), list(notes or [])
    written = write_tables(tables, out_dir)
    unknown = tables["unknown_actors"]
    template = written["actors_template.toml"] = out_dir / "actors_template.toml"
    in_data = dict(zip(unknown["actor"], unknown["name_in_data"])) if "name_in_data" in unknown else {}
    template.write_text(actor_template(list(zip(unknown["actor"], unknown["posts"].astype(int))), names=in_data),
                        encoding="utf-8")
    pngs = draw_charts(tables, names, top_actors=chart_actors)
    for name, (_, png) in pngs.items():
        path = written[f"charts/{name}.png"] = out_dir / "charts" / f"{name}.png"
        path.write_bytes(png)
    overall, actors = tables["overall"].iloc[0], tables["actors"]
    span = f"{overall['first_month']} to {overall['last_month']}" if overall["first_month"] else "no dated posts"
    summary = [f"Input: {source}",
               f"{int(overall['posts']):,} posts from {len(actors):,} actors in "
               f"{len(tables['actor_types']):,} actor types; months {span}",
               f"{len(tables['unknown_actors']):,} handles not in the actor registry",
               f"Generated {datetime.now(timezone.utc):%Y-%m-%d %H:%M} UTC by tiktok-diplomacy {__version__}"]
    files = sorted(written) + ["report.html", "summary.md", "report.json"]
    title = "TikTok diplomacy strategies per actor"
    kw = dict(title=title, summary=summary, notes=notes, method=METHOD, files=files)
    html = render_html(sections(tables, names, top_actors=top_actors), pngs, **kw)
    written["report.html"] = out_dir / "report.html"
    written["report.html"].write_text(html, encoding="utf-8")
    md = render_md(sections(tables, names, top_actors=min(top_actors, 20)),
                   {name: f"charts/{name}.png" for name in pngs}, **kw)
    written["summary.md"] = out_dir / "summary.md"
    written["summary.md"].write_text(md, encoding="utf-8")
    meta = {"format": REPORT_FORMAT, "tiktok_diplomacy_version": __version__, "source": source,
            "created_at": datetime.now(timezone.utc).isoformat(timespec="seconds"), "labels": list(names),
            "metrics": list(METRICS), "posts": int(overall["posts"]), "actors": len(actors), "notes": notes,
            "tables": {name: len(df) for name, df in tables.items()}, "files": files}
    written["report.json"] = out_dir / "report.json"
    written["report.json"].write_text(json.dumps(meta, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    log.info("report written to %s", out_dir)
    return ReportRun(out_dir, int(overall["posts"]), len(actors), len(tables["unknown_actors"]), notes, written)


def _with_progress(path: Path) -> Any:
    """``read_records(path)``'s chunks, with a progress bar over the file's bytes (on a terminal)."""
    total = path.stat().st_size if path.is_file() else None
    start = bytes_read()
    with progress_bar(total, "reading labelled posts", "B", unit_scale=True, unit_divisor=1024) as bar:
        for chunk in read_records(path):
            yield chunk
            bar.update(max(0, min(bytes_read() - start, total or 0) - bar.n))
        bar.update(max(0, (total or 0) - bar.n))  # Parquet is read through pyarrow, not counted


def report(labelled: Path, out_dir: Path, actors: Path | None = None, *, registry: Registry | None = None,
           top_hashtags: int = 10, chart_actors: int = 20) -> ReportRun:
    """Aggregate a ``label`` output file (JSONL, CSV or Parquet, read in chunks) and write the report.

    ``actors`` is the user's registry TOML, merged over ``configs/actors.toml``; ``registry``
    replaces both with a ready mapping.
    """
    registry = load_registry(actors) if registry is None else registry
    tables, notes = aggregate_records(_with_progress(Path(labelled)), registry, top_hashtags=top_hashtags)
    try:
        # written in a temporary folder and moved into out_dir only when complete
        with staged_dir(Path(out_dir), protect=[Path(labelled)]) as stage:
            run = write_report(tables, stage, source=Path(labelled).name, notes=notes, chart_actors=chart_actors)
        run.out_dir = Path(out_dir)
        run.written = {k: Path(out_dir) / v.relative_to(stage) for k, v in run.written.items()}
        return run
    except OSError as exc:
        raise PipelineError(f"{out_dir}: cannot write the report ({exc.strerror or exc}). "
                            "Pass a writable directory with -o.") from exc
