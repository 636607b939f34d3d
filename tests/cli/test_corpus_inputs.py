"""`corpus export` / `corpus suggest` read exports like `label`: --column, --format (--input-format), --transcripts."""

import json

from typer.testing import CliRunner

from pipeline.cli.main import app

runner = CliRunner()


def run(*args):
    return runner.invoke(app, [str(a) for a in args])


def test_export_with_transcripts_column_and_format(tmp_path, data_dir):
    out = tmp_path / "tasks.json"
    res = run("corpus", "export", data_dir / "aiforensics_videos.csv", "-o", out, "--no-predictions",
              "--transcripts", data_dir / "transcripts", "--format", "csv")
    assert res.exit_code == 0, res.output
    tasks = {t["data"]["post_id"]: t for t in json.loads(out.read_text(encoding="utf-8"))}
    assert "[transcript]" in tasks["7304639473243933984"]["data"]["text"]
    # a CSV with its own column names, mapped with --column
    own = tmp_path / "own.csv"
    own.write_text("vid,words,who\n7000000000000000001,Evacuation order: go to shelters now,cityhall\n", encoding="utf-8")
    res = run("corpus", "export", own, "-o", tmp_path / "t2.json", "--no-predictions",
              "--column", "post_id=vid", "--column", "caption=words", "--column", "actor=who")
    assert res.exit_code == 0, res.output
    (task,) = json.loads((tmp_path / "t2.json").read_text(encoding="utf-8"))
    assert task["data"]["post_id"] == "7000000000000000001" and task["data"]["actor"] == "cityhall"
    bad = run("corpus", "export", own, "-o", tmp_path / "t3.json", "--format", "nope")
    assert bad.exit_code == 2 and "--format" in bad.output


def test_suggest_with_input_format_and_column(tmp_path, data_dir):
    own = tmp_path / "own.csv"
    rows = ["Evacuation order: typhoon approaching, go to shelters now", "Join the #dancechallenge with us!",
            "Our ambassador met the minister today", "Earthquake warning: stay away from the coast"]
    own.write_text("vid,words\n" + "".join(f"70000000000000000{i},{t}\n" for i, t in enumerate(rows)), encoding="utf-8")
    out = tmp_path / "next.jsonl"
    res = run("corpus", "suggest", own, "-n", 2, "-o", out, "--input-format", "csv",
              "--column", "post_id=vid", "--column", "caption=words")
    assert res.exit_code == 0, res.output
    picked = [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]
    assert len(picked) == 2 and all(p["post_id"].startswith("70000000000000000") for p in picked)
