"""``tiktok-diplomacy corpus …``: tools for users' own annotated corpora (thin typer wrappers).

import (annotation-tool exports → corpus JSONL), export (posts → Label Studio tasks with
pre-annotations), stats, and suggest (active learning: what to annotate next).
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from pipeline.cli.options import FORMAT_CHOICES, ColumnOpt, FormatOpt, ModelOpt, TranscriptsOpt, parse_columns

corpus_app = typer.Typer(no_args_is_help=True, pretty_exceptions_enable=False,
                         help="Build and grow annotated corpora with Label Studio, Prodigy, doccano or spreadsheets.")

IMPORT_FORMATS = ("labelstudio", "prodigy", "doccano", "csv")


def _input_options(format: str | None, column: list[str] | None) -> dict[str, str] | None:
    """Check ``--format``/``--input-format`` and parse ``--column`` exactly as ``label`` does."""
    from pipeline.ingest import FORMATS

    if format is not None and format not in FORMATS:
        raise typer.BadParameter(f"{format!r} is not one of {', '.join(FORMATS)}", param_hint="--format")
    return parse_columns(column)


def _fail(exc: Exception) -> None:
    """One line on stderr; exit 1 (2 for a usage error), never a traceback for user input."""
    typer.echo(f"error: {exc}", err=True)
    raise typer.Exit(getattr(exc, "exit_code", 1))


@corpus_app.command("import")
def import_cmd(
    inputs: Annotated[list[Path], typer.Argument(help="Annotation exports: Label Studio JSON, Prodigy db-out JSONL, "
                                                      "doccano JSONL, or CSV.")],
    output: Annotated[Path, typer.Option("-o", "--output", help="Corpus JSONL to write.", dir_okay=False)],
    format: Annotated[str | None, typer.Option("--format", help="labelstudio, prodigy, doccano or csv (default: detected).")] = None,
    annotator: Annotated[str | None, typer.Option(help="Annotator name for every imported annotation "
                                                         "(default: what the tool recorded).")] = None,
) -> None:
    """Turn annotation-tool exports into a corpus JSONL that 'train' and 'evaluate' read."""
    from pipeline.corpus.importer import import_annotations, summary
    from pipeline.errors import PipelineError

    if format is not None and format not in IMPORT_FORMATS:
        raise typer.BadParameter(f"{format!r} is not one of {', '.join(IMPORT_FORMATS)}", param_hint="--format")
    try:
        result = import_annotations(inputs, output, fmt=format, annotator=annotator)
    except PipelineError as exc:
        _fail(exc)
        return
    typer.echo(summary(result), err=True)
    if result.partial:
        typer.echo(f"note: {result.partial} posts were judged on only some labels (binary answers); "
                   "the unjudged labels count as absent", err=True)
    typer.echo(f"corpus: {result.output}", err=True)


@corpus_app.command()
def export(
    inputs: Annotated[list[Path], typer.Argument(help="Posts: any export 'label' reads, or a corpus JSONL.")],
    output: Annotated[Path, typer.Option("-o", "--output", help="Label Studio tasks JSON to write.", dir_okay=False)],
    model: ModelOpt = None,
    predictions: Annotated[bool, typer.Option(help="Add the model's labels as pre-annotations.", metavar="")] = True,
    transcripts: TranscriptsOpt = None,
    format: FormatOpt = None,
    column: ColumnOpt = None,
) -> None:
    """Write Label Studio tasks (with the model's pre-annotations) and a labeling config beside them."""
    from pipeline.corpus.export import export_tasks
    from pipeline.errors import PipelineError

    cols = _input_options(format, column)
    try:
        result = export_tasks(inputs, output, model_dir=model, with_predictions=predictions, fmt=format, columns=cols,
                              transcripts=transcripts)
    except PipelineError as exc:
        _fail(exc)
        return
    left_out = result.loaded.left_out()
    typer.echo(f"exported {result.tasks} tasks" + (f"; left out: {left_out}" if left_out else ""), err=True)
    typer.echo(f"tasks: {result.output}", err=True)
    typer.echo(f"labeling config: {result.config} (paste into Settings > Labeling Interface > Code)", err=True)


@corpus_app.command()
def stats(
    corpus: Annotated[list[Path], typer.Argument(help="Annotated corpus JSONL file(s).")],
    json_out: Annotated[Path | None, typer.Option("--json", help="Also write the numbers as JSON here.",
                                                     dir_okay=False)] = None,
) -> None:
    """Size, positives per label, languages, sources, annotators and sampling strata of a corpus."""
    import json

    from pipeline.corpus.read import read_corpus
    from pipeline.corpus.stats import corpus_stats, format_stats
    from pipeline.errors import PipelineError

    try:
        result = corpus_stats(read_corpus(corpus))
    except PipelineError as exc:
        _fail(exc)
        return
    typer.echo(format_stats(result))
    if json_out:
        json_out.parent.mkdir(parents=True, exist_ok=True)
        json_out.write_text(json.dumps(result, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")


@corpus_app.command()
def suggest(
    inputs: Annotated[list[Path], typer.Argument(help="Unlabelled posts: any export 'label' reads, or JSONL.")],
    n: Annotated[int, typer.Option("-n", help="How many posts to pick.", min=1)],
    output: Annotated[Path, typer.Option("-o", "--output", help="Where the picks go (.json: Label Studio, .jsonl: JSONL).",
                                         dir_okay=False)],
    model: ModelOpt = None,
    exclude: Annotated[list[Path] | None, typer.Option("--exclude", help="Corpus JSONL of posts already annotated "
                                                                             "(repeatable).", dir_okay=False)] = None,
    format: Annotated[str | None, typer.Option("--format", help="labelstudio or jsonl (default: from the output extension).")] = None,
    diversity: Annotated[float, typer.Option(help="How strongly near-duplicate picks are penalised (0 = uncertainty only).",
                                             min=0.0)] = 1.0,
    transcripts: TranscriptsOpt = None,
    input_format: Annotated[str | None, typer.Option(
        "--input-format", help=f"Force the input format as 'label --format' does (--format here is the output's): "
                               f"{FORMAT_CHOICES}.")] = None,
    column: ColumnOpt = None,
) -> None:
    """Pick the posts whose annotation would help the model most: uncertain, and not near-duplicates."""
    from pipeline.corpus.active_learning import SUGGEST_FORMATS, suggest as run_suggest
    from pipeline.errors import PipelineError

    if format is not None and format not in SUGGEST_FORMATS:
        raise typer.BadParameter(f"{format!r} is not one of {', '.join(SUGGEST_FORMATS)}", param_hint="--format")
    cols = _input_options(input_format, column)
    try:
        result = run_suggest(inputs, n, output, model_dir=model, exclude=exclude or (), fmt=format, diversity=diversity,
                             input_format=input_format, columns=cols, transcripts=transcripts)
    except PipelineError as exc:
        _fail(exc)
        return
    unc = [t["data"]["uncertainty"] for t in result.picked]
    left_out = result.loaded.left_out()
    typer.echo(f"picked {len(result.picked)} of {len(result.loaded.records)} posts, "
               f"uncertainty {min(unc):.2f}-{max(unc):.2f}" + (f"; left out: {left_out}" if left_out else ""), err=True)
    typer.echo(f"suggestions: {result.output}", err=True)
    if result.config:
        typer.echo(f"labeling config: {result.config}", err=True)
