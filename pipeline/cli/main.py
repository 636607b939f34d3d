"""Command-line interface: thin typer wrappers over the stage functions.

Exit codes: 0 success; 1 expected failure (one line on stderr naming the file and what to
do); 2 usage error.
"""

from __future__ import annotations

import logging
import sys
from pathlib import Path
from typing import Annotated, Optional

import typer

app = typer.Typer(add_completion=False, no_args_is_help=True, pretty_exceptions_enable=False,
                  help="Classify TikTok posts by diplomacy communication strategy and report per actor.")

ModelOpt = Annotated[Optional[Path], typer.Option("--model", help="Model directory (default: the shipped model in models/default).",
                                                  file_okay=False)]


def _fail(message: str) -> None:
    typer.echo(f"error: {message}", err=True)
    raise typer.Exit(1)


def _parse_columns(columns: list[str] | None) -> dict[str, str] | None:
    if not columns:
        return None
    out = {}
    for c in columns:
        field, sep, src = c.partition("=")
        if not sep or not field.strip() or not src.strip():
            raise typer.BadParameter(f"{c!r}: use FIELD=COLUMN, e.g. --column caption=description", param_hint="--column")
        out[field.strip()] = src.strip()
    from pipeline.schema import EXTRA_FIELDS, POST_FIELDS

    unknown = [f for f in out if f not in POST_FIELDS and f not in EXTRA_FIELDS]
    if unknown:
        raise typer.BadParameter(f"unknown field(s) {', '.join(unknown)}; valid: {', '.join(POST_FIELDS)}",
                                 param_hint="--column")
    return out


@app.command()
def label(
    inputs: Annotated[list[Path], typer.Argument(help="Export files: Research API JSON/JSONL, Zeeschuimer NDJSON, "
                                                      "yt-dlp info JSON, CSV/JSONL/Parquet (optionally .gz).")],
    output: Annotated[Path, typer.Option("-o", "--output", help="Output file: .jsonl, .csv or .parquet.")],
    model: ModelOpt = None,
    rejects: Annotated[Optional[Path], typer.Option(help="Where unusable records go (JSONL; default OUTPUT-stem.rejects.jsonl).")] = None,
    transcripts: Annotated[Optional[Path], typer.Option(help="Folder of subtitle files (WebVTT, SRT, creator-caption JSON, text) named by video id.",
                                                        file_okay=False)] = None,
    format: Annotated[Optional[str], typer.Option("--format", help="Force the input format instead of detecting it.")] = None,
    column: Annotated[Optional[list[str]], typer.Option("--column", help="Map a field to a column: FIELD=COLUMN (repeatable).")] = None,
    chunk_size: Annotated[int, typer.Option(help="Posts per processing chunk (bounds memory).", min=1)] = 10_000,
    explain: Annotated[bool, typer.Option("--explain", help="Add per post and label the features that drove the "
                                                            "decision and the field they came from.")] = False,
    explain_top: Annotated[int, typer.Option("--explain-top", help="Features per post and label with --explain.",
                                             min=1)] = 5,
    workers: Annotated[Optional[int], typer.Option(
        help="Worker processes labelling chunks in parallel (each loads the model once; output order unchanged). "
             "Default: one per CPU this process may use, at most 4, or 1 when the input fits in one chunk; "
             "1 labels in this process.",
        show_default=False, min=1)] = None,
) -> None:
    """Label each post with zero or more diplomacy strategies and calibrated scores."""
    from pipeline.errors import PipelineError
    from pipeline.ingest import FORMATS
    from pipeline.label.run import label_files

    if format is not None and format not in FORMATS:
        raise typer.BadParameter(f"{format!r} is not one of {', '.join(FORMATS)}", param_hint="--format")
    cols = _parse_columns(column)
    try:
        run = label_files(inputs, output, model_dir=model, rejects=rejects, transcripts=transcripts, fmt=format,
                          columns=cols, chunk_size=chunk_size, explain=explain, top_k=explain_top, workers=workers)
    except PipelineError as exc:
        _fail(str(exc))
        return
    typer.echo(run.stats.summary(run.labelled), err=True)
    if run.stats.without_text:
        typer.echo(f"note: {run.stats.without_text} posts had no caption, transcript or on-screen text "
                   "(labelled from their flags only)", err=True)
    typer.echo(f"labelled posts: {run.output}", err=True)
    typer.echo(f"rejects: {run.rejects}", err=True)


@app.command()
def train(
    corpus: Annotated[list[Path], typer.Argument(help="Annotated corpus JSONL file(s): post records plus 'labels'.")],
    output: Annotated[Path, typer.Option("-o", "--output", help="Model directory to write.", file_okay=False)],
    config: Annotated[Optional[Path], typer.Option(help="Training config TOML (default configs/train.toml).", dir_okay=False)] = None,
    cv: Annotated[int, typer.Option(help="Also cross-validate the config with K folds and record the figures in the model card (0 = off).",
                                    min=0)] = 0,
) -> None:
    """Train the strategy classifier on annotated corpora and save a verified model directory."""
    from pipeline.errors import PipelineError
    from pipeline.train.run import train as run_train

    if cv == 1:
        raise typer.BadParameter("use at least 2 folds", param_hint="--cv")
    try:
        meta = run_train(corpus, output, config, cv=cv)
    except PipelineError as exc:
        _fail(str(exc))
        return
    tc = meta["training_corpus"]
    typer.echo(f"trained on {tc['n_posts']} posts in {meta['train_seconds']} s; thresholds "
               + ", ".join(f"{k}={v:.2f}" for k, v in meta["thresholds"].items()), err=True)
    cvm = meta.get("metrics", {}).get("cross_validation")
    if cvm:
        lo, hi = cvm["bootstrap_ci"]["macro_f1"]
        typer.echo(f"{cvm['mode']}: macro-F1 {cvm['macro_f1']:.3f} (95% CI {lo:.3f}-{hi:.3f}); "
                   f"keyword baseline {cvm['keyword_baseline']['macro_f1']:.3f}", err=True)
    typer.echo(f"model: {output}", err=True)


@app.command()
def evaluate(
    corpus: Annotated[list[Path], typer.Argument(help="Annotated corpus JSONL file(s) to evaluate on.")],
    model: ModelOpt = None,
    json_out: Annotated[Optional[Path], typer.Option("--json", help="Write the metrics as JSON here.", dir_okay=False)] = None,
    report_dir: Annotated[Optional[Path], typer.Option(help="Write report.html (with plots), report.md, metrics.json and "
                                                            "misclassified.jsonl here.", file_okay=False)] = None,
    cv: Annotated[int, typer.Option(help="Cross-validate the training config with K folds instead of testing a model (0 = off).",
                                    min=0)] = 0,
    config: Annotated[Optional[Path], typer.Option(help="Training config for --cv (default configs/train.toml).", dir_okay=False)] = None,
    bootstrap: Annotated[int, typer.Option(help="Bootstrap resamples for the confidence intervals.", min=100)] = 1000,
    no_spacy_baseline: Annotated[bool, typer.Option("--no-spacy-baseline", help="With --cv, skip training spaCy's "
                                                    "textcat_multilabel on the same folds for comparison.")] = False,
    group_by: Annotated[Optional[str], typer.Option("--group-by", help="With --cv, also cross-validate on folds that "
                                                    "never split this field's values (actor: accounts the model has "
                                                    "not seen), reported as grouped_cv beside the random folds.")] = None,
) -> None:
    """Evaluate a model (or cross-validate a config) on annotated posts: per-label and macro/micro metrics with CIs,
    compared with keyword rules and (with --cv) spaCy's textcat_multilabel trained on the same folds."""
    import json

    from pipeline.errors import PipelineError
    from pipeline.evaluation.run import evaluate as run_eval

    if cv == 1:
        raise typer.BadParameter("use at least 2 folds", param_hint="--cv")
    if group_by is not None:
        from pipeline.evaluation.cv import GROUP_FIELDS

        if group_by not in GROUP_FIELDS:
            raise typer.BadParameter(f"{group_by!r} is not one of {', '.join(GROUP_FIELDS)}", param_hint="--group-by")
        if cv < 2:
            raise typer.BadParameter("grouped folds are a cross-validation: add --cv K", param_hint="--group-by")
    try:
        result = run_eval(corpus, model_dir=model, cv=cv, config=config, report_dir=report_dir, n_boot=bootstrap,
                          spacy_baseline=not no_spacy_baseline, group_by=group_by)
    except PipelineError as exc:
        _fail(str(exc))
        return
    if json_out:
        json_out.parent.mkdir(parents=True, exist_ok=True)
        json_out.write_text(json.dumps(result, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    ci = result["bootstrap_ci"]["macro_f1"]
    if result.get("warning"):
        typer.echo(f"warning: {result['warning']}", err=True)
    typer.echo(f"{result['mode']}: macro-F1 {result['macro_f1']:.3f} (95% CI {ci[0]:.3f}-{ci[1]:.3f}), "
               f"micro-F1 {result['micro_f1']:.3f} on {result['n_posts']} posts")
    for n, m in result["per_label"].items():
        typer.echo(f"  {n}: P {m['precision']:.3f} R {m['recall']:.3f} F1 {m['f1']:.3f} (support {m['support']})")
    for key, title in (("keyword_baseline", "keyword baseline"), ("spacy_textcat", "spaCy textcat_multilabel")):
        b = result.get(key, {})
        if "macro_f1" in b:
            bci = b["bootstrap_ci"]["macro_f1"]
            typer.echo(f"  {title} macro-F1 {b['macro_f1']:.3f} (95% CI {bci[0]:.3f}-{bci[1]:.3f})")
    for key, d in result.get("paired_differences", {}).items():
        typer.echo(f"  model - {d['b'].replace('_', ' ')}: macro-F1 {d['difference']:+.3f} "
                   f"(paired 95% CI {d['ci'][0]:+.3f} to {d['ci'][1]:+.3f})")
    g = result.get("grouped_cv")
    if g:
        gci, d = g["bootstrap_ci"]["macro_f1"], g["grouped_minus_random"]
        typer.echo(f"grouped by {g['group_by']} ({g['n_groups']} groups): macro-F1 {g['macro_f1']:.3f} "
                   f"(95% CI {gci[0]:.3f}-{gci[1]:.3f}); grouped - random {d['difference']:+.3f} "
                   f"(paired 95% CI {d['ci'][0]:+.3f} to {d['ci'][1]:+.3f})")
    for n, c in result.get("calibration", {}).get("per_label", {}).items():
        slope = "n/a" if c["slope"] is None else f"{c['slope']:.2f}"
        typer.echo(f"  calibration {n}: slope {slope}, ECE {c['ece']:.3f}, Brier {c['brier']:.4f}")
    skipped = result.get("spacy_textcat", {}).get("skipped")
    if skipped and not no_spacy_baseline:
        typer.echo(f"note: {skipped}", err=True)
    if report_dir:
        typer.echo(f"report: {report_dir / 'report.html'} (also report.md, metrics.json, misclassified.jsonl)", err=True)


@app.command()
def report(
    labelled: Annotated[Path, typer.Argument(help="Output of 'label' (.jsonl, .csv or .parquet; read in chunks).",
                                             dir_okay=False)],
    output: Annotated[Path, typer.Option("-o", "--output", help="Report directory.", file_okay=False)],
    actors: Annotated[Optional[Path], typer.Option(help="Your actor registry TOML, merged over configs/actors.toml.",
                                                   dir_okay=False)] = None,
    top_hashtags: Annotated[int, typer.Option(help="Hashtags listed per actor, actor type and strategy.", min=1)] = 10,
    chart_actors: Annotated[int, typer.Option(help="Actors (most posts first) shown in the per-actor chart.", min=1)] = 20,
) -> None:
    """Per-actor and per-actor-type strategy report: tables (CSV, Parquet, JSON), HTML with charts, Markdown."""
    from pipeline.errors import PipelineError
    from pipeline.report.run import report as run_report

    try:
        run = run_report(labelled, output, actors, top_hashtags=top_hashtags, chart_actors=chart_actors)
    except PipelineError as exc:
        _fail(str(exc))
        return
    typer.echo(f"{run.posts} posts from {run.actors} actors", err=True)
    if run.unknown_actors:
        typer.echo(f"note: {run.unknown_actors} handles are not in the actor registry (type 'unknown'): fill in "
                   f"{run.written['actors_template.toml']} and pass it with --actors", err=True)
    typer.echo(f"HTML report: {run.written['report.html']}", err=True)
    typer.echo(f"Markdown summary: {run.written['summary.md']}", err=True)
    typer.echo(f"tables (CSV, Parquet, JSON): {run.out_dir}", err=True)


def _register_subcommands() -> None:
    """Command groups that live in their own modules (each keeps its heavy imports lazy)."""
    from pipeline.cli.corpus import corpus_app

    app.add_typer(corpus_app, name="corpus")


_register_subcommands()


def main() -> None:
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s: %(message)s")
    try:
        app()
    except KeyboardInterrupt:
        typer.echo("interrupted", err=True)
        sys.exit(130)


if __name__ == "__main__":
    main()
