"""The CLI contract: commands, exit codes, output fields, rejects, one-line errors."""

import csv
import json
import subprocess
import sys

import pytest
from typer.testing import CliRunner

from pipeline.cli.main import app

runner = CliRunner()


def run(*args):
    return runner.invoke(app, [str(a) for a in args])


@pytest.mark.parametrize("cmd,option", [("label", "--transcripts"), ("train", "--config"),
                                         ("evaluate", "--report-dir"), ("report", "--actors")])
def test_help_explains_options(cmd, option):
    res = run(cmd, "--help")
    assert res.exit_code == 0 and option in res.output


@pytest.mark.slow
def test_module_entry_point_and_usage_error_exit_2():
    ok = subprocess.run([sys.executable, "-m", "pipeline", "--help"], capture_output=True, text=True)
    assert ok.returncode == 0 and "label" in ok.stdout
    bad = subprocess.run([sys.executable, "-m", "pipeline", "label"], capture_output=True, text=True)
    assert bad.returncode == 2 and "Traceback" not in bad.stderr


def test_label_with_shipped_model_writes_fields_and_rejects(tmp_path, data_dir):
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"post_id": "x1", "caption": "Evacuation order: typhoon approaching, go to shelters now"}\n'
                   '{not json}\n', encoding="utf-8")
    out, rej = tmp_path / "out.jsonl", tmp_path / "rej.jsonl"
    res = run("label", data_dir / "zeeschuimer.ndjson", data_dir / "research_api_stored.json", bad,
              "-o", out, "--rejects", rej)
    assert res.exit_code == 0, res.output
    rows = [json.loads(line) for line in open(out, encoding="utf-8")]
    rejected = [json.loads(line) for line in open(rej, encoding="utf-8")]
    assert len(rows) == 5 + 5 + 1 and len(rejected) == 1 + 1  # one repeated API video, one bad line
    # duplicates are not "rejected": they are counted apart, in plain words
    assert ("11 labelled; 1 duplicate post skipped (first kept); 1 rejected (1 malformed JSON; see rej.jsonl)"
            " — of 13 records read") in res.output
    row = rows[0]
    for field in ("post_id", "actor", "labels", "scores", "caption", "caption_clean", "transcript_clean",
                  "on_screen_text_clean", "language", "source_file", "source_line"):
        assert field in row
    assert set(row["scores"]) == {"trend_participation", "influencer_amplification", "crisis_messaging"}
    assert {r["source_line"] for r in rejected if r["source_file"] == str(bad)} == {2}
    assert "malformed JSON" in [r for r in rejected if r["source_file"] == str(bad)][0]["reason"]


def test_label_csv_and_parquet_outputs(tmp_path, data_dir, small_model):
    import pandas as pd

    for name in ("out.csv", "out.parquet"):
        out = tmp_path / name
        res = run("label", data_dir / "tiktok_ccl.csv", "-o", out, "--model", small_model)
        assert res.exit_code == 0, res.output
        df = pd.read_csv(out) if name.endswith(".csv") else pd.read_parquet(out)
        assert len(df) == 6
        assert {"post_id", "labels", "score_crisis_messaging", "language"} <= set(df.columns)


@pytest.mark.parametrize("args,message", [
    (["label", "missing.json", "-o", "out.jsonl"], "missing.json: file not found"),
    (["label", "{data}/zeeschuimer.ndjson", "-o", "out.txt"], "unknown output type"),
    (["label", "{data}/zeeschuimer.ndjson", "-o", "out.jsonl", "--model", "nomodel"], "model directory not found"),
    (["train", "missing.jsonl", "-o", "m"], "corpus file not found"),
    (["report", "missing.jsonl", "-o", "r"], "file not found"),
])
def test_expected_failures_exit_1_with_one_line(tmp_path, data_dir, monkeypatch, args, message):
    monkeypatch.chdir(tmp_path)
    res = run(*[a.replace("{data}", str(data_dir)) for a in args])
    assert res.exit_code == 1
    assert message in res.output
    assert "Traceback" not in res.output and len(res.output.strip().splitlines()) == 1


def test_bad_column_mapping_is_usage_error(data_dir, tmp_path):
    res = run("label", data_dir / "tiktok_ccl.csv", "-o", tmp_path / "o.jsonl", "--column", "nonsense")
    assert res.exit_code == 2


def test_train_rejects_unknown_label_naming_line(tmp_path):
    corpus = tmp_path / "c.jsonl"
    corpus.write_text('{"post_id": "1", "caption": "a", "labels": []}\n'
                      '{"post_id": "2", "caption": "b", "labels": ["trend_participaton"]}\n', encoding="utf-8")
    res = run("train", corpus, "-o", tmp_path / "m")
    assert res.exit_code == 1
    assert f"{corpus}:2" in res.output and "Did you mean 'trend_participation'" in res.output


def test_train_rejects_an_unknown_japanese_tokenizer_naming_the_config(tmp_path, small_corpus):
    cfg = tmp_path / "t.toml"
    cfg.write_text('seed = 1\n[classifier]\njapanese_tokenizer = "mecab"\n', encoding="utf-8")
    res = run("train", small_corpus, "-o", tmp_path / "m", "--config", cfg)
    assert res.exit_code == 1
    assert (f"{cfg}: invalid japanese_tokenizer (got 'mecab'); valid: 'sudachi', 'multilingual'. "
            "Fix [classifier] japanese_tokenizer.") in res.output
    assert not (tmp_path / "m").exists()


@pytest.mark.parametrize("line,message", [
    ('meta_weight = "two"', "meta_weight must be a number (got 'two'); valid: a number."),
    ("meta_weight = -1.0", "meta_weight out of range (got -1.0); valid: a number > 0."),
    ("min_groups = 1.5", "min_groups must be a whole number (got 1.5)"),
    ("group_folds = 1", "group_folds must be true or false (got 1); valid: true, false."),
    ("char_ngram_range = [3, 1]", "char_ngram_range must be [smallest n, largest n] (got [3, 1])"),
])
def test_train_refuses_a_classifier_option_of_the_wrong_type_or_range(tmp_path, tiny_corpus, line, message):
    """One line naming the file, the value and what is valid; exit 1; no traceback, no model."""
    cfg = tmp_path / "t.toml"
    cfg.write_text(f"seed = 1\n[classifier]\n{line}\n", encoding="utf-8")
    res = run("train", tiny_corpus, "-o", tmp_path / "m", "--config", cfg)
    assert res.exit_code == 1
    assert f"{cfg}: {message}" in res.output and "Traceback" not in res.output
    assert not (tmp_path / "m").exists()


@pytest.mark.parametrize("text,message", [('seed = "x"\n[classifier]\n', "seed must be a whole number (got 'x')"),
                                          ("seed = 1\nclassifier = 3\n", "[classifier] must be a table of options")])
def test_train_refuses_a_malformed_config(tmp_path, tiny_corpus, text, message):
    cfg = tmp_path / "t.toml"
    cfg.write_text(text, encoding="utf-8")
    res = run("train", tiny_corpus, "-o", tmp_path / "m", "--config", cfg)
    assert res.exit_code == 1 and f"{cfg}: {message}" in res.output and "Traceback" not in res.output


def test_train_rejects_conflicting_annotations(tmp_path):
    corpus = tmp_path / "c.jsonl"
    corpus.write_text('{"post_id": "1", "caption": "a", "labels": []}\n'
                      '{"post_id": "1", "caption": "a", "labels": ["crisis_messaging"]}\n', encoding="utf-8")
    res = run("train", corpus, "-o", tmp_path / "m")
    assert res.exit_code == 1 and "annotated ['crisis_messaging'] here but [] at" in res.output


def test_evaluate_json_and_report_dir(tmp_path, small_model, small_corpus):
    js, rd = tmp_path / "m.json", tmp_path / "rep"
    res = run("evaluate", small_corpus, "--model", small_model, "--json", js, "--report-dir", rd, "--bootstrap", "200")
    assert res.exit_code == 0, res.output
    m = json.loads(js.read_text())
    assert {"macro_f1", "micro_f1", "per_label", "bootstrap_ci", "keyword_baseline", "by_language"} <= set(m)
    assert set(m["per_label"]["crisis_messaging"]) >= {"precision", "recall", "f1", "support"}
    assert "training corpus" in m["warning"]  # evaluated on its own training data: said plainly
    assert (rd / "report.md").read_text().startswith("# Evaluation")
    assert (rd / "misclassified.jsonl").exists()


def test_report_counts_add_up_and_cells_are_escaped(tmp_path):
    labelled = tmp_path / "l.jsonl"
    rows = [{"post_id": "1", "actor": "=cmd|' /C calc'!A0", "labels": ["crisis_messaging"],
             "scores": {"crisis_messaging": 0.9}},
            {"post_id": "2", "actor": "hiroshima_pref", "labels": [], "scores": {"crisis_messaging": 0.2}},
            {"post_id": "3", "actor": "hiroshima_pref", "labels": ["crisis_messaging"], "scores": {"crisis_messaging": 0.8}}]
    labelled.write_text("\n".join(json.dumps(r) for r in rows) + "\n", encoding="utf-8")
    res = run("report", labelled, "-o", tmp_path / "rep")
    assert res.exit_code == 0, res.output
    with open(tmp_path / "rep" / "actors.csv", encoding="utf-8") as fh:
        table = list(csv.DictReader(fh))
    assert sum(int(r["posts"]) for r in table) == 3
    # handles are case-insensitive on TikTok and grouped lower-cased; the formula is neutralised
    assert {r["actor"] for r in table} == {"'=cmd|' /c calc'!a0", "hiroshima_pref"}
    hp = next(r for r in table if r["actor"] == "hiroshima_pref")
    assert hp["actor_type"] == "government" and float(hp["crisis_share"]) == 0.5  # Stata-safe export name (codebook.md)


@pytest.mark.parametrize("args, named", [
    (["label", "IN.jsonl", "-o", "OUT.jsonl", "--threshold", "crisis_messaging=0.4"], "--threshold"),
    (["label", "IN.jsonl", "-o", "OUT.jsonl", "--keep-going", "--allow-no-text"], "--keep-going, --allow-no-text"),
    (["report", "L.jsonl", "-o", "R", "--format", "xlsx"], "--format"),
    (["report", "L.jsonl", "-o", "R", "--bom", "--examples", "0", "--pseudonymise"],
     "--bom, --examples, --pseudonymise"),
])
def test_engine_dask_refuses_options_it_does_not_support_in_one_line(tmp_path, args, named):
    # the check comes before any input is read or cluster started: the files need not exist
    args = [str(tmp_path / a) if a in ("IN.jsonl", "OUT.jsonl", "L.jsonl", "R") else a for a in args]
    res = runner.invoke(app, [*args, "--engine", "dask"])
    assert res.exit_code == 2, res.output
    lines = res.output.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ") and named in lines[0] and "--engine dask" in lines[0]
    assert not list(tmp_path.iterdir())  # nothing written
