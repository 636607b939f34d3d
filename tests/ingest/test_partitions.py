"""Partitions of an input read one by one give exactly the items of reading the whole file."""

from __future__ import annotations

import json
from itertools import chain
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from pipeline.ingest.partitions import plan_parts, read_part
from pipeline.ingest.readers import read_file

DATA = Path(__file__).resolve().parent.parent / "data"


def _items(path: Path, parts) -> tuple[list, list]:
    whole = list(read_file(path))
    split = list(chain.from_iterable(read_part(p) for p in parts))
    return whole, split


def test_every_test_export_splits_into_parts_that_read_as_the_whole(tmp_path):
    paths = sorted(p for p in DATA.iterdir() if p.is_file() and p.suffix in (".csv", ".ndjson", ".jsonl", ".json"))
    for path in paths:
        parts = plan_parts([path], block_bytes=300)
        whole, split = _items(path, parts)
        assert split == whole, path.name


def test_csv_is_one_part_read_as_the_whole_file(tmp_path):
    # A broken row is rejected by its first line and the lines after it are read again, so where a
    # record ends is known only by reading from the start: a CSV file is never cut.
    path = tmp_path / "posts.csv"
    rows = ["post_id,caption,actor"]
    for i in range(60):
        caption = f'"line one of {i}\nline two, with comma\n""quoted"""' if i % 3 == 0 else f"plain {i}"
        rows.append(f"{1000 + i},{caption},acct{i % 4}")
    rows.insert(20, '2000,"unbalanced, acct9')  # a broken row: the reader resumes, in parts as in the whole
    path.write_text("\ufeff" + "\r\n".join(rows) + "\r\n", encoding="utf-8")
    parts = plan_parts([path], block_bytes=100)
    assert [p.how for p in parts] == ["file"]
    whole, split = _items(path, parts)
    assert split == whole
    assert any(not isinstance(x, dict) for x in split)  # the broken row is a reject
    lines = [x.source_line if hasattr(x, "source_line") else x["source_line"] for x in split]
    assert lines == sorted(lines) and len(split) > 40


def test_jsonl_blocks_with_bad_lines_and_a_bom(tmp_path):
    path = tmp_path / "posts.jsonl"
    lines = [json.dumps({"post_id": str(i), "caption": f"text {i}", "author": "a"}) for i in range(50)]
    lines[7] = "{broken"
    lines[30] = ""
    lines[33] = "null"
    lines[41] = json.dumps({"video_id": "x41", "text": "keys of its own"})  # mapped by its own keys, as locally
    lines[45] = json.dumps({"post_id": 45.5, "caption": ["not", "text"]})
    path.write_bytes(b"\xef\xbb\xbf" + "\n".join(lines).encode() + b"\n")
    parts = plan_parts([path], partitions=9)
    assert len(parts) >= 8
    whole, split = _items(path, parts)
    assert split == whole
    assert {x.source_line for x in split if not isinstance(x, dict)} >= {8, 34}


def test_parquet_row_groups(tmp_path):
    path = tmp_path / "posts.parquet"
    table = pa.table({"post_id": [str(i) for i in range(100)], "caption": [f"c {i}" for i in range(100)]})
    pq.write_table(table, path, row_group_size=10)
    parts = plan_parts([path], block_bytes=1)
    assert len(parts) == 10
    whole, split = _items(path, parts)
    assert split == whole and split[-1]["source_line"] == 100


@pytest.mark.parametrize("name", ["research_api_stored.json", "jp_collector_videos.json"])
def test_whole_documents_are_one_part(name):
    assert [p.how for p in plan_parts([DATA / name], block_bytes=10)] == ["file"]
