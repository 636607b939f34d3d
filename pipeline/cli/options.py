"""Options shared by commands: reading exports (``label``, ``corpus export``, ``corpus suggest``) and the engine (``label``, ``report``)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from pipeline.config import SHIPPED_MODELS, shipped_model_dir
from pipeline.errors import UsageError
from pipeline.schema import EXTRA_FIELDS, POST_FIELDS

#: Shown in --help; kept in step with pipeline.ingest.readers.FORMATS by tests/cli/test_feedback.py
FORMAT_CHOICES = "research_api, zeeschuimer, tiktok_web, apify, ytdlp, jp_collector, csv, jsonl, json, parquet"
#: Shown in --help; kept in step with pipeline.schema by tests/cli/test_feedback.py
COLUMN_FIELDS = ("post_id, actor, created_at, caption, transcript, on_screen_text, hashtags, mentions, music, "
                 "paid_partnership, is_ad, views, likes, shares, comments, language, actor_name, region, duet_from, "
                 "stitch_from")
FormatOpt = Annotated[str | None, typer.Option("--format", help=f"Force the input format instead of detecting it: "
                                                                   f"{FORMAT_CHOICES}.")]
ColumnOpt = Annotated[list[str] | None, typer.Option("--column", help="Map a field to a column or key (a.b for "
                                                        f"nested JSON keys): FIELD=COLUMN, repeatable. Fields: {COLUMN_FIELDS}.")]
TranscriptsOpt = Annotated[Path | None, typer.Option(help="Folder of subtitle files (WebVTT, SRT, creator-caption JSON, "
                                                        "text) named by video id.", file_okay=False)]


def _model_dir(value: Path | None) -> Path | None:
    """``--model``: a model folder, or the name of a shipped model when no folder of that name is here."""
    if value is not None and str(value) in SHIPPED_MODELS and not value.exists():
        return shipped_model_dir(str(value))
    return value


ModelOpt = Annotated[Path | None, typer.Option(
    "--model", callback=_model_dir, file_okay=False, metavar="<dir|name>",
    help="Model folder, or a shipped model by name: default (the default) or fast (no Japanese word "
         "segmentation: ~1.5x faster on Japanese-heavy exports, less accurate on crisis messaging; see README).")]


def parse_columns(columns: list[str] | None) -> dict[str, str] | None:
    """``["caption=description", …]`` → ``{"caption": "description"}``; usage errors name the option."""
    if not columns:
        return None
    out = {}
    for c in columns:
        field, sep, src = c.partition("=")
        if not sep or not field.strip() or not src.strip():
            raise typer.BadParameter(f"{c!r}: use FIELD=COLUMN, e.g. --column caption=description", param_hint="--column")
        out[field.strip()] = src.strip()
    unknown = [f for f in out if f not in POST_FIELDS and f not in EXTRA_FIELDS]
    if unknown:
        raise typer.BadParameter(f"unknown field(s) {', '.join(unknown)}; valid: {COLUMN_FIELDS}",
                                 param_hint="--column")
    return out


EngineOpt = Annotated[str, typer.Option("--engine", help="local (this machine's process pool) or dask (a Dask cluster: "
                                                         "--scheduler, or a local one sized to this machine).")]
PartitionsOpt = Annotated[int | None, typer.Option("--partitions", help="With --engine dask: about this many "
                                                      "partitions of the input (default: about 3 per worker, 1-16 MB "
                                                      "each).", min=1)]
SchedulerOpt = Annotated[str | None, typer.Option("--scheduler", help="With --engine dask: the scheduler's address "
                                                     "(tcp://HOST:8786) or scheduler file (default: a LocalCluster).")]


def engine(engine: str) -> str:
    """``--engine``'s value, checked (local or dask)."""
    if engine not in ("local", "dask"):
        raise typer.BadParameter(f"{engine!r} is not one of local, dask", param_hint="--engine")
    return engine


def dask_only_supports(unsupported: dict[str, bool]) -> None:
    """With --engine dask: a one-line usage error for the options that engine does not support
    (``unsupported``: option name -> given), instead of ignoring them."""
    given = [name for name, used in unsupported.items() if used]
    if given:
        raise UsageError(f"{', '.join(given)} {'is' if len(given) == 1 else 'are'} not supported with --engine dask; "
                         "run without them, or with --engine local")
