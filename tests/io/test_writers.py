"""Output writers: spreadsheet-formula neutralisation, stable schemas, per-record failures, reading back."""

import csv
import json

import pyarrow.parquet as pq
import pytest

from pipeline.errors import PipelineError
from pipeline.io.writers import OUTPUT_FIELDS, REJECT_FIELDS, RecordWriter, read_records, safe_cell


@pytest.mark.parametrize("value,expected", [
    ("=HYPERLINK(\"x\")", "'=HYPERLINK(\"x\")"), ("+1", "'+1"), ("-2", "'-2"), ("@SUM(A1)", "'@SUM(A1)"),
    ("plain", "plain"), (3, 3),
    ("ok\r=cmd|' /C calc'!A0", "ok\r'=cmd|' /C calc'!A0"), ("a\n+1\r\n@x", "a\n'+1\r\n'@x"), ("\t=1", "'\t=1"),
])
def test_formula_injection_neutralised(value, expected):
    assert safe_cell(value) == expected


def _rec(i, **kw):
    rec = {"post_id": str(i), "labels": [], "scores": {"trend_participation": 0.1}, "caption": f"c{i}"}
    rec.update(kw)
    return rec


def test_csv_cells_with_line_breaks_are_quoted_and_neutralised(tmp_path):
    out = tmp_path / "o.csv"
    with RecordWriter(out) as w:
        w.write([_rec(1, actor="ok\r=cmd|' /C calc'!A0", hashtags=["x\n=1+1"])])
    rows = list(csv.reader(open(out, newline="", encoding="utf-8")))
    assert len(rows) == 2  # header and one row: the CR did not start a row
    assert all(not c.startswith(("=", "+", "@")) for r in rows for c in r for c in c.replace("\r", "\n").split("\n"))
    back = [r for chunk in read_records(out) for r in chunk]
    assert back[0]["actor"] == "ok\r=cmd|' /C calc'!A0"


def test_jsonl_output_writes_every_field_so_it_round_trips(tmp_path):
    out = tmp_path / "o.jsonl"
    with RecordWriter(out) as w:
        w.write([_rec(1), _rec(2, transcript="spoken", views=3)])
    lines = [json.loads(x) for x in open(out, encoding="utf-8")]
    assert [list(x) for x in lines] == [[k for k in OUTPUT_FIELDS if k != "explanations"]] * 2
    assert lines[0]["transcript"] is None and lines[1]["transcript"] == "spoken"


def test_parquet_output_over_several_chunks(tmp_path):
    out = tmp_path / "o.parquet"
    with RecordWriter(out) as w:
        w.write([_rec(i) for i in range(3)])
        w.write([_rec(i, views=5, paid_partnership=True, hashtags=["a"]) for i in range(3, 6)])
    assert pq.read_table(out).num_rows == 6


def test_a_record_the_writer_cannot_hold_is_returned_not_raised(tmp_path):
    for name in ("o.jsonl", "o.csv", "o.parquet"):
        with RecordWriter(tmp_path / name) as w:
            failed = w.write([_rec(1), _rec(2, views=2**70), _rec(3, caption="bad \ud800")])
        assert sorted(r["post_id"] for r, _ in failed) == (["2", "3"] if name != "o.csv" else ["3"]), name
        assert sum(map(len, read_records(tmp_path / name))) == 3 - len(failed)
    with RecordWriter(tmp_path / "r.jsonl", REJECT_FIELDS) as w:
        w.write([{"source_file": "f", "source_line": 1, "reason": "x", "post_id": None, "count": 2}])


@pytest.mark.parametrize("content,message", [
    ('{"post_id": "1", "caption": "raw export"}\n', "run 'tiktok-diplomacy label' on it first"),
    ('[1, 2]\n', "expected a JSON object"),
    ('{"post_id": "1", "labels": "yes"}\n', "'labels' must be a list"),
])
def test_reading_back_a_file_that_is_not_label_output_says_what_to_do(tmp_path, content, message):
    p = tmp_path / "x.jsonl"
    p.write_text(content, encoding="utf-8")
    with pytest.raises(PipelineError, match=message.replace("(", r"\(")):
        list(read_records(p))


def test_reading_back_hostile_numbers_gives_unknowns(tmp_path):
    p = tmp_path / "x.jsonl"
    p.write_text('{"post_id": "1", "labels": [], "scores": {"a": 0.5}, "views": 1e30, "likes": -1, "shares": "7"}\n',
                 encoding="utf-8")
    rec = next(read_records(p))[0]
    assert (rec["views"], rec["likes"], rec["shares"]) == (None, None, 7)
