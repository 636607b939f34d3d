"""xz/bz2/zstd inputs, UTF-16 JSON Lines, pretty-printed JSON streams (issue 19)."""

import bz2
import json
import lzma

import pytest
import zstandard

from pipeline.errors import InputFileError
from pipeline.ingest import Reject, read_file


def _posts(path):
    return [i for i in read_file(path) if not isinstance(i, Reject)]


@pytest.mark.parametrize("suffix,compress", [(".xz", lzma.compress), (".bz2", bz2.compress),
                                             (".zst", lambda b: zstandard.ZstdCompressor().compress(b))])
def test_compressed_inputs(data_dir, tmp_path, suffix, compress):
    raw = (data_dir / "research_api_videos.jsonl").read_bytes()
    path = tmp_path / f"videos.jsonl{suffix}"
    path.write_bytes(compress(raw))
    assert [p["post_id"] for p in _posts(path)] == [p["post_id"] for p in _posts(data_dir / "research_api_videos.jsonl")]
    csv_path = tmp_path / f"flat.csv{suffix}"
    csv_path.write_bytes(compress((data_dir / "4cat_tiktok.csv").read_bytes()))
    assert len(_posts(csv_path)) == len(_posts(data_dir / "4cat_tiktok.csv"))


def test_truncated_xz_is_refused(data_dir, tmp_path):
    path = tmp_path / "cut.jsonl.xz"
    path.write_bytes(lzma.compress((data_dir / "research_api_videos.jsonl").read_bytes())[:200])
    with pytest.raises(InputFileError, match="truncated or corrupt xz"):
        list(read_file(path))


def test_utf16_jsonl_and_json(data_dir, tmp_path):
    text = (data_dir / "research_api_videos.jsonl").read_text(encoding="utf-8")
    path = tmp_path / "videos16.jsonl"
    path.write_bytes(text.encode("utf-16"))  # with BOM, as Windows tools write it
    assert len(_posts(path)) == 4 and _posts(path)[0]["format"] == "research_api"
    doc = tmp_path / "doc16.json"
    doc.write_bytes((data_dir / "research_api_doc_example.json").read_text(encoding="utf-8").encode("utf-16"))
    assert _posts(doc)[0]["post_id"] == "702874395068494965"


def test_utf16_without_bom_is_refused_clearly(data_dir, tmp_path):
    path = tmp_path / "nobom.jsonl"
    path.write_bytes((data_dir / "research_api_videos.jsonl").read_text(encoding="utf-8").encode("utf-16-le"))
    with pytest.raises(InputFileError, match="UTF-16 text without a byte-order mark.*UTF-8"):
        list(read_file(path))


def test_pretty_printed_json_stream(data_dir, tmp_path):
    """`jq .` output: one pretty-printed object after another, no list around them."""
    lines = (data_dir / "research_api_videos.jsonl").read_text(encoding="utf-8").splitlines()
    path = tmp_path / "stream.json"
    path.write_text("\n".join(json.dumps(json.loads(ln), indent=2, ensure_ascii=False) for ln in lines) + "\n",
                    encoding="utf-8")
    recs = _posts(path)
    assert len(recs) == 4 and recs[0]["format"] == "research_api"
    assert recs[0]["caption"] == _posts(data_dir / "research_api_videos.jsonl")[0]["caption"]


def test_pretty_printed_stream_with_a_broken_object_rejects_only_it(data_dir, tmp_path):
    lines = (data_dir / "research_api_videos.jsonl").read_text(encoding="utf-8").splitlines()
    docs = [json.dumps(json.loads(ln), indent=2, ensure_ascii=False) for ln in lines]
    docs[1] = docs[1][:-40]  # cut off: the object never closes
    path = tmp_path / "stream.json"
    path.write_text("\n".join(docs) + "\n", encoding="utf-8")
    items = list(read_file(path))
    rejected = [i for i in items if isinstance(i, Reject)]
    assert len(items) == 4 and len(rejected) == 1 and "malformed JSON" in rejected[0].reason
    assert [i["post_id"] for i in items if not isinstance(i, Reject)] == \
        [p["post_id"] for k, p in enumerate(_posts(data_dir / "research_api_videos.jsonl")) if k != 1]
