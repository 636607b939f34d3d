"""Fast paths of the readers keep the results of the general code."""

from __future__ import annotations

import orjson
import pytest

from pipeline.ingest import records as R
from pipeline.ingest.mapping import ColumnMapping, apply_mapping
from pipeline.ingest.readers import _loads_line, read_file
from pipeline.schema import empty_post


@pytest.mark.parametrize("line", ['{"a": "x\udc80"}\n', '{"a": "\ud800"}', '{"a": "x\x00y"}\n', '{"a":\x00 1}',
                                  "", "   \n", '{"a": 1}\x00\n'])
def test_orjson_refuses_what_the_jsonl_fast_path_must_not_accept(line):
    """read_jsonl takes orjson's value directly when it parses a raw line: it must refuse
    surrogate escapes (undecodable bytes), NUL characters and blank lines."""
    with pytest.raises(orjson.JSONDecodeError):
        orjson.loads(line)


def test_jsonl_fast_and_slow_paths(tmp_path):
    path = tmp_path / "x.jsonl"
    path.write_bytes(b'{"post_id": "1", "caption": "ok"}\n\n{"post_id": "2", "caption": "a\x00b"}\n'
                     b'{"post_id": "3", "caption": "\\ud800"}\n{"post_id": "4", "caption": "\xff"}\n[1]\n')
    items = list(read_file(path))
    assert [getattr(i, "reason", None) for i in items] == [
        None, None, None, "invalid UTF-8 bytes; re-save the file as UTF-8",
        "expected a JSON object on this line, got list"]
    assert items[1]["caption"] == "ab" and items[2]["caption"] == _loads_line('{"c": "\\ud800"}')["c"]
    assert [i.source_line for i in items[3:]] == [5, 6]


@pytest.mark.parametrize("value", ["2024-02-29T10:00:00Z", "2023-02-29T10:00:00Z", "0000-01-01T00:00:00Z",
                                   "9999-12-31T23:59:59Z", "2024-01-01T24:00:00Z", "2024-13-01T00:00:00Z",
                                   "0999-05-06T07:08:09Z"])
def test_canonical_timestamps_take_the_same_path_result(value):
    general = R.to_iso(" " + value)  # leading blank: not the canonical form, so the general path
    assert R.to_iso(value) == general
    assert general is None or general == value


def test_new_post_is_empty_post():
    a, b = R.new_post(), empty_post()
    assert a == b and list(a) == list(b)
    a["hashtags"].append("x")
    assert R.new_post()["hashtags"] == []


def test_apply_mapping_sources_and_empty_values():
    mapping = ColumnMapping("t", {"post_id": ["id"], "caption": ["a", "b"], "actor": ["who"],
                                  "actor_name": ["name"], "views": ["v"]}, {})
    rec = apply_mapping({"id": 7.0, "a": "", "b": "second", "who": "", "v": "1.5K"}, mapping)
    assert rec["post_id"] == "7.0" and rec["caption"] == "second" and rec["actor"] is None
    assert "actor_name" in rec and rec["actor_name"] is None and rec["views"] == 1500
    with pytest.raises(ValueError, match="must be text"):
        apply_mapping({"id": "1", "a": {"x": 1}}, mapping)
    assert apply_mapping({"id": "1", "a": None, "b": "  "}, mapping)["caption"] is None


@pytest.mark.parametrize("value,expected", [("x", "x"), ("  ", None), ("", None), (12, "12"), (float("nan"), None),
                                            ({"a": 1}, None), (None, None)])
def test_to_str(value, expected):
    assert R.to_str(value) == expected
