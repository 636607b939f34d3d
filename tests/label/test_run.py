"""The labelling run keeps data safe: inputs never overwritten, rejects never shared, mistakes stop
the run before anything is written, and the tool's own output reads back with every field."""

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from pipeline.cli.main import app
from pipeline.io.writers import read_records
from pipeline.label.run import default_rejects, label_files

runner = CliRunner()


def run(*args, **kw):
    return runner.invoke(app, [str(a) for a in args], **kw)


def _jsonl(path: Path, recs: list[dict]) -> Path:
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in recs), encoding="utf-8")
    return path


POSTS = [{"post_id": str(i), "caption": f"Typhoon warning {i}: go to the evacuation centre now"} for i in range(5)]


@pytest.mark.parametrize("option", ["-o", "--rejects"])
def test_output_or_rejects_equal_to_the_input_is_refused_and_input_untouched(tmp_path, option):
    src = _jsonl(tmp_path / "in.jsonl", POSTS)
    before = src.read_bytes()
    args = ["label", src, "-o", src] if option == "-o" else ["label", src, "-o", tmp_path / "o.jsonl", "--rejects", src]
    res = run(*args, "--workers", "1")
    assert res.exit_code == 1 and "would destroy the input" in res.output
    assert src.read_bytes() == before and sorted(p.name for p in tmp_path.iterdir()) == ["in.jsonl"]


def test_output_named_like_the_default_rejects_is_refused(tmp_path):
    src = _jsonl(tmp_path / "in.jsonl", POSTS)
    res = run("label", src, "-o", tmp_path / "x.rejects.jsonl", "--rejects", tmp_path / "x.rejects.jsonl")
    assert res.exit_code == 1 and "same file" in res.output


def test_default_rejects_names_do_not_collide():
    assert default_rejects(Path("run.2023-10.jsonl")) != default_rejects(Path("run.2023-11.jsonl"))
    assert default_rejects(Path("d/run.2023-10.jsonl")) == Path("d/run.2023-10.rejects.jsonl")
    assert default_rejects(Path("x.rejects.jsonl")) == Path("x.rejects.rejects.jsonl")
    assert default_rejects(Path("out.csv.gz")) == Path("out.rejects.jsonl")


def test_no_text_column_stops_before_writing_unless_allowed(tmp_path):
    src = tmp_path / "flags.csv"
    src.write_text("post_id,views,paid_partnership\n" + "".join(f"{i},{i},true\n" for i in range(20)), encoding="utf-8")
    out = tmp_path / "o.jsonl"
    res = run("label", src, "-o", out, "--workers", "1")
    assert res.exit_code == 1 and "columns present: post_id, views, paid_partnership" in res.output
    assert "--column caption=" in res.output and not out.exists()
    res = run("label", src, "-o", out, "--workers", "1", "--allow-no-text")
    assert res.exit_code == 0 and sum(map(len, read_records(out))) == 20


def test_own_jsonl_output_relabels_to_the_same_fields_and_scores(tmp_path):
    src = _jsonl(tmp_path / "in.jsonl", [{"post_id": "1", "caption": "Thanks to our partner brand, check the link"},
                                         {"post_id": "2", "caption": "Sponsored: our partner brand", "views": 10,
                                          "paid_partnership": True, "transcript": "use my code for a discount"}])
    first, second = tmp_path / "a.jsonl", tmp_path / "b.jsonl"
    label_files([src], first)
    label_files([first], second)
    a = [r for c in read_records(first) for r in c]
    b = [r for c in read_records(second) for r in c]
    assert a[1]["paid_partnership"] is True and a[1]["transcript"] == "use my code for a discount"
    assert [r["scores"] for r in a] == [r["scores"] for r in b]
    assert [(r["paid_partnership"], r["views"], r["transcript"]) for r in a] == \
        [(r["paid_partnership"], r["views"], r["transcript"]) for r in b]


def test_jsonl_and_csv_of_the_same_rows_score_the_same(tmp_path):
    recs = [{"post_id": "1", "caption": "hello"},
            {"post_id": "2", "caption": "New drop with my partner, link in bio", "paid_partnership": True,
             "views": 1000}]
    src_j = _jsonl(tmp_path / "in.jsonl", recs)
    src_c = tmp_path / "in.csv"
    src_c.write_text("post_id,caption,paid_partnership,views\n1,hello,,\n"
                     "2,\"New drop with my partner, link in bio\",true,1000\n", encoding="utf-8")
    label_files([src_j], tmp_path / "j.jsonl")
    label_files([src_c], tmp_path / "c.jsonl")
    j = [r["scores"] for c in read_records(tmp_path / "j.jsonl") for r in c]
    c = [r["scores"] for c in read_records(tmp_path / "c.jsonl") for r in c]
    assert j == c


def test_standard_input_is_read(tmp_path):
    data = "".join(json.dumps(r) + "\n" for r in POSTS)
    res = run("label", "-", "-o", tmp_path / "o.jsonl", "--workers", "1", input=data)
    assert res.exit_code == 0, res.output
    rows = [r for c in read_records(tmp_path / "o.jsonl") for r in c]
    assert len(rows) == 5 and rows[0]["source_file"] == "-"


def test_summary_warns_about_unusable_values_with_examples(tmp_path):
    src = _jsonl(tmp_path / "in.jsonl", [{"post_id": "1", "caption": "a", "created_at": "06/04/2024 23:59",
                                          "views": "9" * 30}])
    res = run("label", src, "-o", tmp_path / "o.jsonl", "--workers", "1")
    assert res.exit_code == 0
    assert "1 dates could not be read" in res.output and "'06/04/2024 23:59'" in res.output
    assert "--date-format" in res.output and "1 counts" in res.output
    res = run("label", src, "-o", tmp_path / "o.jsonl", "--workers", "1", "--date-format", "%d/%m/%Y %H:%M")
    assert "dates could not be read" not in res.output
    assert next(read_records(tmp_path / "o.jsonl"))[0]["created_at"] == "2024-04-06T23:59:00Z"


def test_report_on_an_unlabelled_export_says_run_label_first(tmp_path):
    src = _jsonl(tmp_path / "raw.jsonl", POSTS)
    res = run("report", src, "-o", tmp_path / "rep")
    assert res.exit_code == 1 and "run 'tiktok-diplomacy label' on it first" in res.output
    assert not (tmp_path / "rep").exists()


def test_report_csv_tables_quote_line_breaks_and_neutralise_formulas(tmp_path):
    src = _jsonl(tmp_path / "in.jsonl", [{"post_id": str(i), "actor": "ok\r=cmd|' /C calc'!A0",
                                          "caption": "Typhoon warning", "hashtags": ["x\r=1+1"]} for i in range(3)])
    out = tmp_path / "o.jsonl"
    label_files([src], out)
    res = run("report", out, "-o", tmp_path / "rep")
    assert res.exit_code == 0, res.output
    for table in ("actors", "unknown_actors", "cooccurrence", "hashtags", "timeseries"):
        raw = (tmp_path / "rep" / f"{table}.csv").read_bytes()
        for line in raw.replace(b"\r\n", b"\n").replace(b"\r", b"\n").split(b"\n"):
            assert not line.startswith((b"=", b"+", b"@", b"-")), (table, line)
        assert b"\r=" not in raw and b"\n=" not in raw


def test_empty_standard_input_is_named_as_given(tmp_path):
    res = run("label", "-", "-o", tmp_path / "o.jsonl", "--workers", "1", input="")
    assert res.exit_code == 1 and res.output.startswith("error: -: file is empty")
    assert sorted(p.name for p in tmp_path.iterdir()) == []
