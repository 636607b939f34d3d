"""The ``report`` stage: labelled posts → per-group share estimates, tables, an HTML report and a Markdown summary.

Output directory layout::

    <table>.csv / .parquet / .json   overall, actor_types, actors, estimates, timeseries, cooccurrence,
                                     hashtags, unknown_actors, examples (Stata-safe column names)
    posts.csv / .parquet             one row per post: ids as text, UTC timestamps, 0/1 per strategy
    report.xlsx                      every table as a sheet (with --format xlsx)
    codebook.md / codebook.csv       every column of every table: name, long name, type, meaning
    report.html                      self-contained (inline CSS, charts as base64 PNGs)
    summary.md                       Markdown summary linking charts/*.png
    report.json                      format version, input, provenance, counts, notes, table list
    actors_template.toml             registry entries to fill in for handles not in the registry
"""

from __future__ import annotations

import logging
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from pipeline import __version__
from pipeline.errors import PipelineError
from pipeline.io.atomic import staged_dir
from pipeline.io.progress import bar as progress_bar
from pipeline.io.sources import bytes_read
from pipeline.io.writers import read_records
from pipeline.label.provenance import read_provenance, write_json_atomic
from pipeline.report.aggregate import aggregate_records
from pipeline.report.charts import charts as draw_charts
from pipeline.report.codebook import check_names, codebook, codebook_md
from pipeline.report.estimate import choose_headline
from pipeline.report.examples import ExampleCollector
from pipeline.report.exports import DEFAULT_FORMATS, FORMATS, XLSX_NAME, Workbook, atomic_path, write_csv, write_tables
from pipeline.report.html import render_html
from pipeline.report.markdown import render_md
from pipeline.report.model_info import how_to_read, model_line, priors, provenance_sections
from pipeline.report.posts import PostsWriter
from pipeline.report.privacy import Pseudonymiser, public_accounts
from pipeline.report.registry import Registry, actor_template, load_registry
from pipeline.report.sections import (
    engagement_section,
    example_sections,
    level_sections,
    mix_section,
    other_sections,
    overall_sections,
    plural,
)
from pipeline.report.tables import METRICS
from pipeline.schema import labels

log = logging.getLogger(__name__)
REPORT_FORMAT = "tiktok-diplomacy-report/2"
TABLE_ORDER = ("overall", "actor_types", "actors", "estimates", "timeseries", "cooccurrence", "hashtags",
               "unknown_actors", "examples")


@dataclass
class ReportRun:
    """What :func:`report` wrote, with the headline counts the CLI prints."""

    out_dir: Path
    posts: int
    actors: int
    unknown_actors: int
    notes: list[str]
    written: dict[str, Path] = field(default_factory=dict)


def _write_text(path: Path, text: str) -> Path:
    with atomic_path(path) as tmp:
        tmp.write_text(text, encoding="utf-8")
    return path


def write_report(tables: dict[str, pd.DataFrame], out_dir: Path, *, source: str = "DataFrame",
                 notes: list[str] | None = None, chart_actors: int = 20, top_actors: int = 50,
                 provenance: dict[str, Any] | None = None, formats: Sequence[str] = DEFAULT_FORMATS,
                 bom: bool = False, examples: int = 3, pseudonymised: bool = False,
                 posts: PostsWriter | None = None, workbook: Workbook | None = None) -> ReportRun:
    """Write tables, codebook, charts, ``report.html``, ``summary.md`` and ``report.json`` for ``tables``.

    Use with :func:`pipeline.report.aggregate.aggregate_frame` to report on a DataFrame from Python.
    """
    out_dir = Path(out_dir)
    (out_dir / "charts").mkdir(parents=True, exist_ok=True)
    names, notes = labels(), list(notes or [])
    tables = {k: tables[k] for k in TABLE_ORDER if k in tables}
    check_names(tables, names)
    if workbook is None and "xlsx" in formats:
        workbook = Workbook(out_dir / XLSX_NAME)
    written = write_tables(tables, out_dir, names, formats=formats, bom=bom, workbook=workbook)
    book_tables = dict(tables)
    if posts is not None:
        book_tables["posts"] = posts.frame([], {"actor": [], "actor_type": [], "country": [],
                                                "Y": np.zeros((0, len(names)), bool), "S": np.zeros((0, len(names)))})
    book = codebook(book_tables, names)
    write_csv(book, written.setdefault("codebook.csv", out_dir / "codebook.csv"), bom=bom)
    written["codebook.md"] = _write_text(out_dir / "codebook.md", codebook_md(book, names))
    if workbook is not None:
        workbook.add_frame("codebook", book)
        written[XLSX_NAME] = workbook.save()
    unknown = tables["unknown_actors"]
    if not pseudonymised:
        in_data = dict(zip(unknown["actor"], unknown["name_in_data"])) if "name_in_data" in unknown else {}
        written["actors_template.toml"] = _write_text(out_dir / "actors_template.toml", actor_template(
            list(zip(unknown["actor"], unknown["posts"].astype(int))), names=in_data))
    headline, why = choose_headline(tables["estimates"])
    has_prior = bool(len(tables["estimates"])) and tables["estimates"]["adjusted"].notna().any()
    pngs = draw_charts(tables, names, top_actors=chart_actors, adjusted=has_prior, headline=headline)
    for name, (_, png) in pngs.items():
        path = written[f"charts/{name}.png"] = out_dir / "charts" / f"{name}.png"
        path.write_bytes(png)
    overall, actors = tables["overall"].iloc[0], tables["actors"]
    n_actors = int((actors["rank"].notna()).sum()) if "rank" in actors else len(actors)
    n_types = int(tables["actor_types"]["rank"].notna().sum()) if "rank" in tables["actor_types"] else 0
    span = f"months {overall['first_month']} to {overall['last_month']}" if overall["first_month"] else \
        "no post has a date"
    summary = [f"Input: {source}",
               f"{plural(int(overall['posts']), 'post')} from {plural(n_actors, 'actor')} in "
               f"{plural(n_types, 'actor type')}; {span}",
               model_line(provenance),
               f"{plural(len(unknown), 'handle')} not in the actor registry"
               + ("; private handles pseudonymised (user_…)" if pseudonymised else ""),
               f"Generated {datetime.now(UTC):%Y-%m-%d %H:%M} UTC by tiktok-diplomacy {__version__}"]
    streamed = [p.name for p in posts.final.values()] if posts is not None else []  # written while aggregating
    files = sorted(set(written) | set(streamed)) + ["report.html", "summary.md", "report.json"]
    title = "TikTok diplomacy strategies per actor"

    def build(top: int) -> list[Any]:
        return (overall_sections(tables, names, headline) + provenance_sections(provenance, names)
                + level_sections(tables, names, top=top, headline=headline) + [mix_section(tables, names)]
                + example_sections(tables, names, examples) + [engagement_section(tables, names)]
                + other_sections(tables, names, top_actors=top, top_hashtags=5))

    kw: dict[str, Any] = dict(title=title, summary=summary, notes=notes, method=how_to_read(headline, why), files=files)
    written["report.html"] = _write_text(out_dir / "report.html", render_html(build(top_actors), pngs, **kw))
    md = render_md(build(min(top_actors, 20)), {name: f"charts/{name}.png" for name in pngs}, **kw)
    written["summary.md"] = _write_text(out_dir / "summary.md", md)
    meta = {"format": REPORT_FORMAT, "tiktok_diplomacy_version": __version__, "source": source,
            "created_at": datetime.now(UTC).isoformat(timespec="seconds"), "labels": list(names),
            "metrics": list(METRICS), "posts": int(overall["posts"]), "actors": n_actors, "notes": notes,
            "headline_estimate": headline, "headline_reason": why, "pseudonymised": pseudonymised,
            "provenance": provenance, "tables": {name: len(df) for name, df in tables.items()}, "files": files}
    written["report.json"] = write_json_atomic(out_dir / "report.json", meta)
    log.info("report written to %s", out_dir)
    return ReportRun(out_dir, int(overall["posts"]), n_actors, len(unknown), notes, written)


def _with_progress(path: Path) -> Any:
    """``read_records(path)``'s chunks, with a progress bar over the file's bytes (on a terminal)."""
    total = path.stat().st_size if path.is_file() else None
    start = bytes_read()
    with progress_bar(total, "reading labelled posts", "B", unit_scale=True, unit_divisor=1024) as bar:
        for chunk in read_records(path):
            yield chunk
            bar.update(max(0, min(bytes_read() - start, total or 0) - bar.n))
        bar.update(max(0, (total or 0) - bar.n))  # Parquet is read through pyarrow, not counted


def source_name(labelled: Path | Sequence[Path]) -> str:
    """The input named in the report: the file or folder names of ``labelled``."""
    paths = [labelled] if isinstance(labelled, (str, Path)) else list(labelled)
    return ", ".join(Path(p).name for p in paths)


def report(labelled: Path, out_dir: Path, actors: Path | None = None, *, registry: Registry | None = None,
           top_hashtags: int = 10, chart_actors: int = 20, formats: Sequence[str] = DEFAULT_FORMATS,
           bom: bool = False, examples: int = 3, pseudonymise: bool = False, n_boot: int = 200) -> ReportRun:
    """Aggregate a ``label`` output (a JSONL, CSV or Parquet file, or a partitioned Parquet
    folder of ``label --engine dask``, read in chunks) and write the report.

    ``actors`` is the user's registry TOML, merged over ``configs/actors.toml``; ``registry``
    replaces both with a ready mapping.  The labelled file's provenance (``OUT.meta.json``)
    supplies the model's thresholds and training prevalence for the adjusted estimate.
    """
    bad = sorted(set(formats) - set(FORMATS))
    if bad:
        raise PipelineError(f"unknown table format(s) {', '.join(bad)}: use {', '.join(FORMATS)}.")
    registry = load_registry(actors) if registry is None else registry
    labelled = Path(labelled)
    prov = read_provenance(labelled) if labelled.exists() else None  # a file, or a partitioned folder
    names = labels()
    thresholds = (prov or {}).get("thresholds") or None
    pseudo = Pseudonymiser(public_accounts() | set(registry)) if pseudonymise else None
    # written in a temporary folder and moved into out_dir only when complete
    with _report_folder(out_dir, [labelled]) as stage:
        workbook = Workbook(stage / XLSX_NAME) if "xlsx" in formats else None
        posts = PostsWriter(stage, names, formats, bom=bom, workbook=workbook)
        ok = False
        try:
            tables, notes = aggregate_records(
                _with_progress(labelled), registry, top_hashtags=top_hashtags, priors=priors(prov),
                thresholds=thresholds, n_boot=n_boot, pseudonymiser=pseudo, on_chunk=posts,
                examples=ExampleCollector(names, thresholds, examples, pseudo) if examples else None)
            ok = True
        finally:
            written_posts = posts.close(ok)
        if prov is None:
            notes.append("no provenance found for this labelled file (no .meta.json next to it): model, "
                         "accuracy and definitions are not shown and the adjusted estimate is left out")
        if posts.xlsx_dropped:
            notes.append(f"{posts.xlsx_dropped} posts did not fit Excel's row limit in report.xlsx; "
                         "posts.csv/.parquet have all of them")
        run = write_report(tables, stage, source=labelled.name, notes=notes, chart_actors=chart_actors,
                           provenance=prov, formats=formats, bom=bom, examples=examples,
                           pseudonymised=pseudonymise, posts=posts, workbook=workbook)
        run.written.update(written_posts)
    return _moved(run, stage, out_dir)


def write_report_staged(tables: dict[str, pd.DataFrame], out_dir: Path, *, protect: Sequence[Path] = (),
                        **kw: Any) -> ReportRun:
    """:func:`write_report` into a temporary folder moved onto ``out_dir`` when complete (as
    :func:`report` does), with an unwritable folder reported as a :class:`PipelineError`."""
    with _report_folder(out_dir, protect) as stage:
        run = write_report(tables, stage, **kw)
    return _moved(run, stage, out_dir)


@contextmanager
def _report_folder(out_dir: Path, protect: Sequence[Path]) -> Iterator[Path]:
    """A staging folder moved onto ``out_dir`` when the block completes; an unwritable folder
    (or a full disk) is a :class:`PipelineError` naming it."""
    try:
        with staged_dir(Path(out_dir), protect=list(protect)) as stage:
            yield stage
    except OSError as exc:
        raise PipelineError(f"{out_dir}: cannot write the report ({exc.strerror or exc}). "
                            "Pass a writable directory with -o.") from exc


def _moved(run: ReportRun, stage: Path, out_dir: Path) -> ReportRun:
    """``run`` with its paths pointing into ``out_dir`` instead of the staging folder."""
    run.out_dir = Path(out_dir)
    run.written = {k: Path(out_dir) / Path(v).relative_to(stage) for k, v in run.written.items()}
    return run
