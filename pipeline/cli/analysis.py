"""The ``coordination`` command and the event-window / trend-adoption part of ``report``."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Annotated, Any

import typer


def _fail(message: str) -> None:
    typer.echo(f"error: {message}", err=True)
    raise typer.Exit(1)


def coordination(
    labelled: Annotated[list[Path], typer.Argument(help="Output(s) of 'label' (.jsonl, .csv or .parquet).",
                                                   dir_okay=False)],
    output: Annotated[Path, typer.Option("-o", "--output", help="Output directory.", file_okay=False)],
    window: Annotated[str, typer.Option(help="Largest gap between consecutive posts of a cluster: 90m, 48h, 30d, 2w.")
                      ] = "48h",
    min_actors: Annotated[int, typer.Option("--min-actors", help="Different actors a cluster needs.", min=2)] = 3,
    similarity: Annotated[float, typer.Option(help="Estimated Jaccard similarity (character 5-grams) that makes two "
                                                   "texts near-duplicates.", min=0.3, max=1.0)] = 0.8,
    min_chars: Annotated[int, typer.Option("--min-chars", help="Leave out normalised texts shorter than this.",
                                           min=1)] = 20,
    fields: Annotated[str, typer.Option(help="Text fields to compare, comma-separated.")] =
        "caption,on_screen_text,transcript",
    actors: Annotated[Path | None, typer.Option(help="Your actor registry TOML, merged over configs/actors.toml.",
                                                   dir_okay=False)] = None,
    top: Annotated[int, typer.Option(help="Clusters and actor pairs listed in the HTML page.", min=1)] = 25,
) -> None:
    """Coordinated posting: near-duplicate captions, on-screen text or transcripts posted by different actors
    within a time window. Writes clusters, their posts, actor pairs (CSV, Parquet), a GEXF network and HTML."""
    from pipeline.analysis.coordination_output import coordination as run, summary
    from pipeline.analysis.posts import parse_duration
    from pipeline.analysis.text import TEXT_FIELDS
    from pipeline.errors import PipelineError
    from pipeline.report.registry import load_registry

    chosen = tuple(f.strip() for f in fields.split(",") if f.strip())
    bad = [f for f in chosen if f not in TEXT_FIELDS]
    if bad or not chosen:
        raise typer.BadParameter(f"{', '.join(bad) or fields!r}: use some of {', '.join(TEXT_FIELDS)}",
                                 param_hint="--fields")
    try:
        span = parse_duration(window)
        result, written = run(labelled, output, load_registry(actors), window=span, min_actors=min_actors,
                              similarity=similarity, min_chars=min_chars, fields=chosen, top=top)
    except PipelineError as exc:
        _fail(str(exc))
        return
    typer.echo(summary(result), err=True)
    for note in result.notes:
        typer.echo(f"note: {note}", err=True)
    typer.echo(f"HTML: {written['coordination.html']}", err=True)
    typer.echo(f"tables (CSV, Parquet) and coordination.gexf: {output}", err=True)


def analysis_options(event: list[str] | None, events: Path | None, window: str) -> tuple[list[Any], timedelta]:
    """Parse ``report``'s --event/--events/--window; a bad value is a usage error (exit 2) or a file error (exit 1)."""
    from pipeline.analysis.events import parse_event, read_events
    from pipeline.analysis.posts import parse_duration
    from pipeline.errors import InputFileError, PipelineError

    try:
        evs = read_events(events) if events else []
    except InputFileError as exc:
        _fail(str(exc))
    try:
        evs = [parse_event(e) for e in event or []] + evs
        span = parse_duration(window, "--window")
    except PipelineError as exc:
        raise typer.BadParameter(str(exc)) from exc
    return evs, span


def report_analyses(labelled: Path, output: Path, actors: Path | None, planned: tuple[list[Any], timedelta],
                    trend: list[str] | None) -> None:
    """Event windows (when events are given) and trend adoption, written beside the report."""
    from pipeline.analysis.run import write_analyses
    from pipeline.errors import PipelineError
    from pipeline.report.registry import load_registry

    evs, span = planned
    try:
        run = write_analyses(labelled, output, load_registry(actors), evs, span, trends=trend)
    except PipelineError as exc:
        _fail(str(exc))
        return
    for line in run.lines:
        typer.echo(line, err=True)
    typer.echo(f"event windows and trend adoption: {run.page}", err=True)
