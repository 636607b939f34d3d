"""Feedback on long work (issue 19): --version, help that lists allowed values, --quiet, --workers cap, progress."""

import json
import os

from typer.testing import CliRunner

from pipeline.cli.main import COLUMN_FIELDS, FORMAT_CHOICES, app
from pipeline.ingest import FORMATS
from pipeline.io import progress
from pipeline.schema import EXTRA_FIELDS, POST_FIELDS

runner = CliRunner()


def run(*args):
    return runner.invoke(app, [str(a) for a in args])


def test_version():
    from pipeline import __version__

    res = run("--version")
    assert res.exit_code == 0 and res.output.strip() == f"tiktok-diplomacy {__version__}"


def test_help_lists_formats_and_column_fields_and_shows_flags_as_flags():
    assert FORMAT_CHOICES.split(", ") == list(FORMATS)
    fields = [f for f in (*POST_FIELDS, *EXTRA_FIELDS) if f not in ("source_file", "source_line", "transcript_source", "format")]
    assert COLUMN_FIELDS.split(", ") == fields
    res = runner.invoke(app, ["label", "--help"], terminal_width=200)
    text = " ".join(res.output.split())
    assert "apify" in text and "tiktok_web" in text and "stitch_from" in text
    explain = next(line for line in res.output.splitlines() if "--explain " in line)
    assert "<bool>" not in explain


def test_quiet_label_prints_nothing_and_workers_are_capped(tmp_path, data_dir):
    out = tmp_path / "o.jsonl"
    res = run("label", data_dir / "tiktok_ccl.csv", "-o", out, "--quiet")
    assert res.exit_code == 0 and res.output == "" and len(out.read_text().splitlines()) == 6
    cpus = len(os.sched_getaffinity(0))
    res = run("label", data_dir / "tiktok_ccl.csv", "-o", out, "--workers", cpus + 3)
    assert res.exit_code == 0, res.output
    assert f"--workers {cpus + 3} is more than the {cpus} CPUs available; using {cpus}" in res.output
    assert "6 labelled" in res.output


def test_progress_bar_is_a_no_op_off_a_terminal_and_counts_bytes_on_one(data_dir, tmp_path, capsys):
    """Bars only on a terminal (or when forced); the labelling bar's total is the input size."""
    from pipeline.label.run import label_files

    assert not progress.enabled()  # pytest captures stderr: not a terminal
    assert type(progress.bar(10, "x")).__name__ == "_NoBar"
    path = data_dir / "zeeschuimer.ndjson"
    label_files([path], tmp_path / "o.jsonl", progress=True, workers=1)
    last = capsys.readouterr().err.replace("\r", "\n").strip().splitlines()[-1]
    size_k = f"{path.stat().st_size / 1024:.1f}k"
    assert last.startswith("labelling: 100%") and f"{size_k}/{size_k}" in last and "5 posts" in last


def test_label_threshold_option_is_used_and_reported(tmp_path, data_dir):
    out = tmp_path / "o.jsonl"
    res = run("label", data_dir / "zeeschuimer.ndjson", "-o", out, "--workers", 1,
              "--threshold", "trend_participation=0.001", "--threshold", "crisis_messaging=0.999")
    assert res.exit_code == 0, res.output
    assert "decision thresholds used: trend_participation=0.001, influencer_amplification=" in res.output
    rows = [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]
    assert all("trend_participation" in r["labels"] and "crisis_messaging" not in r["labels"] for r in rows)
    bad = run("label", data_dir / "zeeschuimer.ndjson", "-o", out, "--threshold", "crisis=0.5")
    assert bad.exit_code == 2 and "unknown label 'crisis'" in bad.output
    bad = run("label", data_dir / "zeeschuimer.ndjson", "-o", out, "--threshold", "crisis_messaging=1.5")
    assert bad.exit_code == 2 and "between 0 and 1" in bad.output
