"""Command-line interface: thin typer wrappers over the stage functions.

Exit codes: 0 success; 1 expected failure (one line on stderr naming the file and what to
do); 2 usage error.
"""

from __future__ import annotations

import logging
import signal
import sys
from pathlib import Path
from typing import Annotated, Any

import typer

from pipeline.cli.common import (
    Terminated,  # noqa: F401 (tests raise it)
    cap_workers as _cap_workers,
    fail as _fail,
    interrupts as _interrupts,
    note as _note,
    on_sigterm as _on_sigterm,
    quiet_mode as _quiet,
)
from pipeline.cli.options import (  # noqa: F401 (re-exported)
    COLUMN_FIELDS,
    FORMAT_CHOICES,
    ColumnOpt,
    EngineOpt,
    FormatOpt,
    ModelOpt,
    PartitionsOpt,
    SchedulerOpt,
    TranscriptsOpt,
    dask_only_supports as _dask_only_supports,
    engine as _engine,
    parse_columns as _parse_columns,
)

app = typer.Typer(add_completion=False, no_args_is_help=True, pretty_exceptions_enable=False,
                  help="Classify TikTok posts by diplomacy communication strategy and report per actor.")

QuietOpt = Annotated[bool, typer.Option("--quiet", "-q", metavar="", help="No progress bars or notes (errors and warnings only).")]


def _version(value: bool) -> None:
    if value:
        from pipeline import __version__

        typer.echo(f"tiktok-diplomacy {__version__}")
        raise typer.Exit()


@app.callback()
def _main(version: Annotated[bool, typer.Option("--version", callback=_version, is_eager=True, metavar="",
                                                help="Show the version and exit.")] = False) -> None:
    """Classify TikTok posts by diplomacy communication strategy and report per actor."""


@app.command()
def label(
    inputs: Annotated[list[Path], typer.Argument(help="Export files: Research API JSON/JSONL, Zeeschuimer NDJSON, "
                                                      "yt-dlp info JSON, CSV/JSONL/Parquet (optionally .gz).")],
    output: Annotated[Path, typer.Option("-o", "--output", help="Output file: .jsonl, .csv or .parquet; with --engine "
                                                                "dask also DIR/ (partitioned Parquet).")],
    model: ModelOpt = None,
    rejects: Annotated[Path | None, typer.Option(help="Where unusable records go (JSONL; default OUTPUT with its "
                                                         "extension replaced by .rejects.jsonl).")] = None,
    transcripts: TranscriptsOpt = None,
    format: FormatOpt = None,
    column: ColumnOpt = None,
    chunk_size: Annotated[int, typer.Option(help="Posts per processing chunk (bounds memory).", min=1)] = 1_000,
    explain: Annotated[bool, typer.Option("--explain", metavar="", help="Add per post and label the features that drove the "
                                                            "decision and the field they came from.")] = False,
    explain_top: Annotated[int, typer.Option("--explain-top", help="Features per post and label with --explain.",
                                             min=1)] = 5,
    workers: Annotated[int | None, typer.Option(
        help="Worker processes labelling chunks in parallel (each loads the model once; output order unchanged). "
             "Default: one per CPU this process may use, at most 4, or 1 when the input fits in one chunk; "
             "1 labels in this process. With --engine dask and no --scheduler: the LocalCluster's worker processes "
             "(default: one per CPU).",
        show_default=False, min=1)] = None,
    engine: EngineOpt = "local",
    scheduler: SchedulerOpt = None,
    partitions: PartitionsOpt = None,
    threshold: Annotated[list[str] | None, typer.Option(
        "--threshold", help="Replace a label's tuned decision threshold with one you validated: LABEL=VALUE "
                            "(repeatable); recorded in the log and the output's provenance.")] = None,
    quiet: QuietOpt = False,
    keep_going: Annotated[bool, typer.Option("--keep-going", help="Skip input files that cannot be read at all "
                                             "(listed at the end) instead of stopping before writing anything.")] = False,
    allow_no_text: Annotated[bool, typer.Option("--allow-no-text", help="Label even when no column was mapped to a "
                                                "text field for most posts (from flags only).")] = False,
    date_format: Annotated[list[str] | None, typer.Option("--date-format", help="strptime pattern for dates that "
                                                             "are not ISO 8601, e.g. '%d/%m/%Y %H:%M' (repeatable).")] = None,
) -> None:
    """Label each post with zero or more diplomacy strategies and calibrated scores."""
    with _interrupts():
        _label(inputs, output, model, rejects, transcripts, format, column, chunk_size, explain, explain_top, workers,
               threshold, quiet, keep_going, allow_no_text, date_format, engine, scheduler, partitions)


def _label(inputs: list[Path], output: Path, model: Path | None, rejects: Path | None, transcripts: Path | None,
           format: str | None, column: list[str] | None, chunk_size: int, explain: bool, explain_top: int,
           workers: int | None, threshold: list[str] | None, quiet: bool, keep_going: bool, allow_no_text: bool,
           date_format: list[str] | None, engine: str = "local", scheduler: str | None = None,
           partitions: int | None = None) -> None:
    from pipeline.errors import PipelineError
    from pipeline.ingest import FORMATS
    from pipeline.label.run import label_files

    if format is not None and format not in FORMATS:
        raise typer.BadParameter(f"{format!r} is not one of {', '.join(FORMATS)}", param_hint="--format")
    cols = _parse_columns(column)
    _quiet(quiet)
    workers = _cap_workers(workers, quiet)
    try:
        from pipeline.model.thresholds import parse_thresholds

        kw: dict[str, Any] = dict(model_dir=model, rejects=rejects, transcripts=transcripts, fmt=format, columns=cols,
                  chunk_size=chunk_size, explain=explain, top_k=explain_top, date_formats=date_format)
        if _engine(engine) == "dask":
            from pipeline.label.dask_engine import label_files_dask  # lazy: imports dask only for --engine dask

            _dask_only_supports({"--threshold": bool(threshold), "--keep-going": keep_going,
                                 "--allow-no-text": allow_no_text})
            run = label_files_dask(inputs, output, scheduler=scheduler, partitions=partitions, workers=workers,
                                   progress=None if not quiet else False, **kw)
        else:
            run = label_files(inputs, output, workers=workers, thresholds=parse_thresholds(threshold),
                              keep_going=keep_going, allow_no_text=allow_no_text, **kw)
    except PipelineError as exc:
        _fail(exc)
        return
    _note(quiet, run.stats.summary(run.labelled, run.rejects.name if run.rejects else None))
    if transcripts_note := run.stats.transcript_summary():
        _note(quiet, transcripts_note)
    for line in _ingest_notes(run.stats):
        typer.echo(line, err=True)
    if run.stats.without_text:
        _note(quiet, f"note: {run.stats.without_text} posts had no caption, transcript or on-screen text "
                     "(labelled from their flags only)")
    if threshold:
        _note(quiet, "decision thresholds used: " + ", ".join(f"{k}={v:g}" for k, v in (run.thresholds or {}).items()))
    _note(quiet, f"labelled posts: {run.output}")
    _note(quiet, f"rejects: {run.rejects}")


def _ingest_notes(stats: object) -> list[str]:
    """The warnings of a labelling run: values left empty, replaced characters, skipped files."""
    out = []
    what = {"date": ("dates could not be read and were left empty",
                     "pass --date-format, e.g. --date-format '%d/%m/%Y %H:%M'"),
            "count": ("counts (views, likes, shares, comments) were not whole numbers from 0 to 2^63-1 and were "
                      "left empty", "check those columns")}
    for kind, n in stats.unusable.most_common():  # type: ignore[attr-defined]
        text, todo = what.get(kind, (f"{kind} values were unusable", "check them"))
        examples = ", ".join(repr(e) for e in stats.examples.get(kind, []))  # type: ignore[attr-defined]
        out.append(f"warning: {n} {text} (e.g. {examples}); {todo}")
    if stats.surrogates_replaced:  # type: ignore[attr-defined]
        out.append(f"note: {stats.surrogates_replaced} broken characters (lone UTF-16 surrogates) "  # type: ignore[attr-defined]
                   "were replaced with U+FFFD")
    for msg in stats.skipped_files:  # type: ignore[attr-defined]
        out.append(f"warning: skipped input (--keep-going): {msg}")
    unreadable = stats.transcripts_unreadable  # type: ignore[attr-defined]
    if unreadable:
        out.append(f"warning: {len(unreadable)} transcript files could not be read (their posts were labelled "
                   f"without them), e.g. {unreadable[0]}")
    return out


@app.command()
def train(
    corpus: Annotated[list[Path], typer.Argument(help="Annotated corpus JSONL file(s): post records plus 'labels'.")],
    output: Annotated[Path, typer.Option("-o", "--output", help="Model directory to write.", file_okay=False)],
    config: Annotated[Path | None, typer.Option(help="Training config TOML (default configs/train.toml).", dir_okay=False)] = None,
    cv: Annotated[int, typer.Option(help="Also cross-validate the config with K folds and record the figures in the model card (0 = off).",
                                    min=0)] = 0,
    quiet: QuietOpt = False,
) -> None:
    """Train the strategy classifier on annotated corpora and save a verified model directory."""
    from pipeline.errors import PipelineError
    from pipeline.train.run import train as run_train

    _quiet(quiet)
    if cv == 1:
        raise typer.BadParameter("use at least 2 folds", param_hint="--cv")
    try:
        meta = run_train(corpus, output, config, cv=cv)
    except PipelineError as exc:
        _fail(exc)
        return
    tc = meta["training_corpus"]
    _note(quiet, f"trained on {tc['n_posts']} posts in {meta['train_seconds']} s; thresholds "
               + ", ".join(f"{k}={v:.2f}" for k, v in meta["thresholds"].items()))
    cvm = meta.get("metrics", {}).get("cross_validation")
    if cvm:
        lo, hi = cvm["bootstrap_ci"]["macro_f1"]
        _note(quiet, f"{cvm['mode']}: macro-F1 {cvm['macro_f1']:.3f} (95% CI {lo:.3f}-{hi:.3f}); "
                   f"keyword baseline {cvm['keyword_baseline']['macro_f1']:.3f}")
    _note(quiet, f"model: {output}")


@app.command()
def evaluate(
    corpus: Annotated[list[Path], typer.Argument(help="Annotated corpus JSONL file(s) to evaluate on.")],
    model: ModelOpt = None,
    json_out: Annotated[Path | None, typer.Option("--json", help="Write the metrics as JSON here.", dir_okay=False)] = None,
    report_dir: Annotated[Path | None, typer.Option(help="Write report.html (with plots), report.md, metrics.json and "
                                                            "misclassified.jsonl here.", file_okay=False)] = None,
    cv: Annotated[int, typer.Option(help="Cross-validate the training config with K folds instead of testing a model (0 = off).",
                                    min=0)] = 0,
    config: Annotated[Path | None, typer.Option(help="Training config for --cv (default configs/train.toml).", dir_okay=False)] = None,
    bootstrap: Annotated[int, typer.Option(help="Bootstrap resamples for the confidence intervals.", min=100)] = 1000,
    no_spacy_baseline: Annotated[bool, typer.Option("--no-spacy-baseline", metavar="", help="With --cv, skip training spaCy's "
                                                    "textcat_multilabel on the same folds for comparison.")] = False,
    group_by: Annotated[str | None, typer.Option("--group-by", help="With --cv, also cross-validate on folds that "
                                                    "never split this field's values (actor: accounts the model has "
                                                    "not seen), reported as grouped_cv beside the random folds.")] = None,
    quiet: QuietOpt = False,
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
    _quiet(quiet)
    try:
        result = run_eval(corpus, model_dir=model, cv=cv, config=config, report_dir=report_dir, n_boot=bootstrap,
                          spacy_baseline=not no_spacy_baseline, group_by=group_by)
    except PipelineError as exc:
        _fail(exc)
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
        left_out = "; no annotated post has it: left out of macro-F1" if m.get("in_macro_f1") is False else ""
        typer.echo(f"  {n}: P {m['precision']:.3f} R {m['recall']:.3f} F1 {m['f1']:.3f} (support {m['support']}{left_out})")
    for key, title in (("keyword_baseline", "keyword baseline"), ("spacy_textcat", "spaCy textcat_multilabel")):
        b = result.get(key, {})
        if "macro_f1" in b:
            bci = b["bootstrap_ci"]["macro_f1"]
            typer.echo(f"  {title} macro-F1 {b['macro_f1']:.3f} (95% CI {bci[0]:.3f}-{bci[1]:.3f})")
    for d in result.get("paired_differences", {}).values():
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
    labelled: Annotated[Path, typer.Argument(help="Output of 'label' (.jsonl, .csv, .parquet, or the partitioned "
                                                  "Parquet folder of 'label --engine dask'; read in chunks).")],
    output: Annotated[Path, typer.Option("-o", "--output", help="Report directory.", file_okay=False)],
    actors: Annotated[Path | None, typer.Option(help="Your actor registry TOML, merged over configs/actors.toml.",
                                                   dir_okay=False)] = None,
    top_hashtags: Annotated[int, typer.Option(help="Hashtags listed per actor, actor type and strategy.", min=1)] = 10,
    chart_actors: Annotated[int, typer.Option(help="Actors (most posts first) shown in the per-actor chart.", min=1)] = 20,
    event: Annotated[list[str] | None, typer.Option("--event", help="An event for before/after windows: "
                                                       "'NAME=YYYY-MM-DD' (repeatable).")] = None,
    events: Annotated[Path | None, typer.Option("--events", help="Events from a TOML or CSV file (name, date, "
                                                   "optional description).", dir_okay=False)] = None,
    window: Annotated[str, typer.Option("--window", help="Length of the windows before and after each event: "
                                        "30d, 2w, 48h.")] = "30d",
    trend: Annotated[list[str] | None, typer.Option("--trend", help="Hashtag of a trend to follow in the trend "
                                                       "adoption section (repeatable; default: found in the data).")
                     ] = None,
    quiet: QuietOpt = False,
    table_format: Annotated[list[str] | None, typer.Option(
        "--format", help="Table formats (repeatable): csv, parquet, json, xlsx (one report.xlsx workbook). "
                         "Default: csv, parquet and json.")] = None,
    bom: Annotated[bool, typer.Option("--bom", help="Start CSV files with a UTF-8 BOM so that Excel reads "
                                                    "non-Latin text correctly.")] = False,
    examples: Annotated[int | None, typer.Option("--examples", help="Example posts per strategy, scope and kind "
                                                                       "(top-scoring, borderline); 0 = none. [default: 3]",
                                                    min=0, show_default=False)] = None,
    pseudonymise: Annotated[bool, typer.Option("--pseudonymise", help="Replace private handles (not in "
                                               "corpora/public_accounts.txt or the actor registry) by user_<hash> "
                                               "in every output.")] = False,
    engine: EngineOpt = "local",
    scheduler: SchedulerOpt = None,
    partitions: PartitionsOpt = None,
) -> None:
    """Per-actor, actor-type, country, language and month strategy shares with intervals and provenance:
    tables (CSV, Parquet, JSON, xlsx) with a codebook, HTML with charts, Markdown."""
    from pipeline.cli.analysis import analysis_options, report_analyses
    from pipeline.errors import PipelineError
    from pipeline.report.run import report as run_report

    planned = analysis_options(event, events, window)  # bad --event/--events/--window fail before any work
    examples_given, examples = examples is not None, 3 if examples is None else examples
    _quiet(quiet)
    try:
        from pipeline.report.exports import DEFAULT_FORMATS, FORMATS

        formats = tuple(dict.fromkeys(table_format or DEFAULT_FORMATS))
        bad = [f for f in formats if f not in FORMATS]
        if bad:
            raise typer.BadParameter(f"{bad[0]!r} is not one of {', '.join(FORMATS)}", param_hint="--format")
        with _interrupts():
            if _engine(engine) == "dask":
                from pipeline.report.dask_aggregate import report_dask  # lazy: imports dask only for --engine dask

                _dask_only_supports({"--format": table_format is not None, "--bom": bom,
                                     "--examples": examples_given, "--pseudonymise": pseudonymise})
                run = report_dask([labelled], output, actors, top_hashtags=top_hashtags, chart_actors=chart_actors,
                                  scheduler=scheduler, partitions=partitions)
            else:
                run = run_report(labelled, output, actors, top_hashtags=top_hashtags, chart_actors=chart_actors,
                                 formats=formats, bom=bom, examples=examples, pseudonymise=pseudonymise)
    except PipelineError as exc:
        _fail(exc)
        return
    _note(quiet, f"{run.posts} post{'' if run.posts == 1 else 's'} from {run.actors} "
                 f"actor{'' if run.actors == 1 else 's'}")
    if run.unknown_actors and "actors_template.toml" in run.written:
        _note(quiet, f"note: {run.unknown_actors} handles are not in the actor registry (type 'unknown'): fill in "
                     f"{run.written['actors_template.toml']} and pass it with --actors")
    _note(quiet, f"HTML report: {run.written['report.html']}")
    _note(quiet, f"Markdown summary: {run.written['summary.md']}")
    _note(quiet, f"tables ({', '.join(formats)}) and codebook.md: {run.out_dir}")
    report_analyses(labelled, output, actors, planned, trend)


def _register_subcommands() -> None:
    """Command groups that live in their own modules (each keeps its heavy imports lazy)."""
    from pipeline.cli.analysis import coordination
    from pipeline.cli.corpus import corpus_app

    app.add_typer(corpus_app, name="corpus")
    app.command("coordination")(coordination)


_register_subcommands()


def main() -> None:
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s: %(message)s")
    signal.signal(signal.SIGTERM, _on_sigterm)
    if hasattr(signal, "SIGXFSZ"):  # a file-size limit (ulimit -f) becomes a write error, not a kill
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
    try:
        app()
    except Terminated:
        typer.echo("interrupted (SIGTERM): nothing written; any previous output is unchanged", err=True)
        sys.exit(143)
    except KeyboardInterrupt:
        typer.echo("interrupted: nothing written; any previous output is unchanged", err=True)
        sys.exit(130)


if __name__ == "__main__":
    main()
