"""Readers on real export excerpts (tests/data) and on bad input."""

import gzip
import json

import pytest

from pipeline.errors import InputFileError
from pipeline.ingest import IngestStats, Reject, detect_format, iter_posts, read_file


def posts(items):
    return [i for i in items if not isinstance(i, Reject)]


def rejects(items):
    return [i for i in items if isinstance(i, Reject)]


def test_research_api_stored_wrapper_with_junk_pages(data_dir):
    items = list(read_file(data_dir / "research_api_stored.json"))
    recs = posts(items)
    assert len(recs) == 6 and not rejects(items)  # 2 pages x 3 videos; {"d": 2} and null skipped
    first = recs[0]
    assert first["format"] == "research_api"
    assert first["caption"].startswith("WTF?! Joe Biden")
    assert first["created_at"] == "2024-04-06T23:59:21Z"
    assert first["views"] == 13 and first["likes"] == 66
    assert first["hashtags"][:3] == ["rock", "russia", "humor"] and len(first["hashtags"]) == 31


def test_research_api_pages_repeat_videos_one_record_per_id(data_dir):
    stats = IngestStats()
    items = list(iter_posts([data_dir / "research_api_stored.json"], stats=stats, detect_lang=False))
    assert stats.read == 6 and stats.kept == 5 and stats.rejected == 1
    assert "duplicate post_id" in rejects(items)[0].reason


def test_research_api_jsonl_voice_to_text_is_transcript(data_dir):
    assert detect_format(data_dir / "research_api_videos.jsonl") == "research_api"
    recs = posts(read_file(data_dir / "research_api_videos.jsonl"))
    assert len(recs) == 4
    assert recs[0]["transcript"] and recs[0]["transcript_source"] == "research_api:voice_to_text"
    assert recs[0]["source_line"] == 1


def test_research_api_documentation_example(data_dir):
    recs = posts(read_file(data_dir / "research_api_doc_example.json"))
    assert recs[0]["post_id"] == "702874395068494965"
    assert recs[0]["hashtags"] == ["avengers", "pov"]


def test_zeeschuimer_ndjson(data_dir):
    assert detect_format(data_dir / "zeeschuimer.ndjson") == "zeeschuimer"
    recs = posts(read_file(data_dir / "zeeschuimer.ndjson"))
    assert len(recs) == 5
    r = recs[0]
    assert r["post_id"] == "7288710518670396678"
    assert "Gazze" in r["caption"]
    assert r["hashtags"][:2] == ["fosforbombası", "palestine"] and len(r["hashtags"]) == len(set(r["hashtags"]))
    assert r["on_screen_text"] == "🤲"
    assert r["views"] == 911300 and r["is_ad"] is False
    assert r["music"].startswith("sonido original")


def test_jp_collector_json(data_dir):
    recs = posts(read_file(data_dir / "jp_collector_videos.json"))
    assert len(recs) == 6
    assert {r["actor"] for r in recs} == {"hiroshima_pref"}
    assert recs[0]["hashtags"] == ["相談してムーチョ"]
    assert any("コロナ" in r["caption"] for r in recs)


@pytest.mark.parametrize("name,preset,n", [
    ("aiforensics_videos.csv", "csv:aiforensics_eu24", 5),
    ("nepal_election.csv", "csv:nepal_election2022", 4),
    ("tiktok_ccl.csv", "csv:tiktok_commercial_content_library", 6),
])
def test_known_csv_layouts_are_detected(data_dir, name, preset, n):
    recs = posts(read_file(data_dir / name))
    assert len(recs) == n
    assert {r["format"] for r in recs} == {preset}
    assert all(r["source_line"] >= 2 for r in recs)


def test_ccl_disclosure_label_becomes_flags(data_dir):
    recs = posts(read_file(data_dir / "tiktok_ccl.csv"))
    assert all(r["paid_partnership"] != r["is_ad"] for r in recs)
    assert all(r["on_screen_text"] for r in recs) and all(r["actor"] is None for r in recs)


def test_nepal_semicolon_csv_fields(data_dir):
    r = posts(read_file(data_dir / "nepal_election.csv"))[0]
    assert r["transcript"].startswith("हाम्रो गाउँ")
    assert r["mentions"] == []  # the export writes 0 for "none"
    assert r["created_at"] == "2022-05-13T11:32:38Z"


def test_transcripts_attached_with_preference(data_dir):
    stats = IngestStats()
    recs = posts(iter_posts([data_dir / "aiforensics_videos.csv"], transcripts=data_dir / "transcripts",
                            stats=stats, detect_lang=False))
    attached = [r for r in recs if r.get("transcript_source", "").startswith("vtt:")]
    assert len(attached) == 3 == stats.transcripts_attached
    assert "WEBVTT" not in attached[0]["transcript"] and "-->" not in attached[0]["transcript"]


def test_generic_csv_with_column_mapping(tmp_path):
    p = tmp_path / "mine.csv"
    p.write_text("video_id,description,who\n1,Hello #peace,embassy_x\n2,Second,embassy_y\n", encoding="utf-8")
    with pytest.raises(InputFileError, match="no post id column"):
        list(read_file(p))
    recs = posts(read_file(p, overrides={"post_id": "video_id", "caption": "description", "actor": "who"}))
    assert [r["post_id"] for r in recs] == ["1", "2"] and recs[0]["actor"] == "embassy_x"


def test_canonical_jsonl_gz_and_parquet_round_trip(tmp_path):
    import pandas as pd

    rows = [{"post_id": "a", "caption": "one", "views": 3}, {"post_id": "b", "caption": "two", "views": 4}]
    gz = tmp_path / "posts.jsonl.gz"
    with gzip.open(gz, "wt", encoding="utf-8") as fh:
        fh.write("\n".join(json.dumps(r) for r in rows) + "\n")
    assert [r["caption"] for r in posts(read_file(gz))] == ["one", "two"]
    pq = tmp_path / "posts.parquet"
    pd.DataFrame(rows).to_parquet(pq)
    recs = posts(read_file(pq))
    assert [r["views"] for r in recs] == [3, 4] and recs[0]["format"] == "parquet:canonical"


# --- bad input: every record is output or rejected, whole-file problems are one clear error ----

def test_bad_jsonl_lines_are_rejected_with_line_numbers(tmp_path):
    p = tmp_path / "bad.jsonl"
    lines = [
        b'{"post_id": "1", "caption": "fine"}',
        b'{"post_id": "2", "caption": ',                       # malformed
        b'["an", "array"]',                                    # array where an object belongs
        b'{"post_id": "3", "caption": ["not", "text"]}',        # non-string caption
        b'{"post_id": "4", "caption": "bad \xff\xfe utf8"}',    # invalid UTF-8
        b'{"post_id": "5", "caption": "lone \\ud800 surrogate"}',
        b'{"post_id": "6", "caption": "' + b"x" * 3_000_000 + b'"}',  # multi-MB caption
        b'{"post_id": "7", "caption": "nul \\u0000 inside"}',
        b"[" * 5000 + b"]" * 5000,                              # deeply nested
        b'{"post_id": "1", "caption": "duplicate"}',
        b'{"caption": "no id"}',
    ]
    p.write_bytes(b"\xef\xbb\xbf" + b"\r\n".join(lines) + b"\r\n")  # BOM + CRLF
    stats = IngestStats()
    items = list(iter_posts([p], stats=stats, detect_lang=False))
    ok = posts(items)
    bad = {r.source_line: r.reason for r in rejects(items)}
    assert stats.read == 11 and stats.kept + stats.rejected == stats.read
    assert [r["post_id"] for r in ok] == ["1", "5", "6", "7"]
    assert "malformed JSON" in bad[2]
    assert "expected a JSON object" in bad[3]
    assert "field 'caption' must be text" in bad[4]
    assert "invalid UTF-8" in bad[5]
    assert "malformed JSON" in bad[9]
    assert "duplicate post_id 1" in bad[10]
    assert "missing post_id" in bad[11]
    assert "\x00" not in ok[3]["caption_clean"] and "\ud800" not in ok[1]["caption_clean"]
    assert len(ok[2]["caption"]) == 200_000  # cut to MAX_TEXT, not dropped


def test_ragged_and_unbalanced_csv_rows(tmp_path):
    p = tmp_path / "ragged.csv"
    p.write_text('post_id,caption\n1,ok\n2,too,many\n3,"unbalanced\n4,fine\n', encoding="utf-8")
    stats = IngestStats()
    items = list(iter_posts([p], stats=stats, detect_lang=False))
    assert stats.read == stats.kept + stats.rejected
    # the unbalanced quote on line 4 costs that row only: line 5 is read again, not swallowed
    assert [r["post_id"] for r in posts(items)] == ["1", "4"]
    reasons = [r.reason for r in rejects(items)]
    assert any("row has 3 fields" in r for r in reasons)
    assert [r.source_line for r in rejects(items)] == [3, 4] and "unbalanced quote" in reasons[1]
    assert stats.read == 4


@pytest.mark.parametrize("content,message", [
    (b"", "file is empty"),
    (b"   \n\n", "file is empty"),
    (b"\x00\x01\x02\x03" * 100, "binary"),
    (b"\x1f\x8b\x08\x00\x00\x00\x00\x00\x00\x03\xab\xae", "truncated or corrupt gzip"),
    (b"WEBVTT\n\n00:00.000 --> 00:01.000\nhi\n", "subtitle file"),
    (b'{"utterances": [{"text": "hi"}]}', "creator-caption"),
    (b'{"data": {}, "error": {"code": "invalid_params", "message": "bad query"}}', "API error response"),
])
def test_whole_file_problems(tmp_path, content, message):
    p = tmp_path / "input.json"
    p.write_bytes(content)
    with pytest.raises(InputFileError, match=message) as exc:
        list(read_file(p))
    assert str(p) in str(exc.value)


def test_missing_file_and_folder(tmp_path):
    with pytest.raises(InputFileError, match="file not found"):
        list(read_file(tmp_path / "nope.json"))
    with pytest.raises(InputFileError, match="is a folder"):
        list(read_file(tmp_path))


def test_4cat_csv_export(data_dir):
    """4CAT's CSV of a Zeeschuimer import (made from the real fixture with 4CAT's column mapping)."""
    recs = posts(read_file(data_dir / "4cat_tiktok.csv"))
    zs = posts(read_file(data_dir / "zeeschuimer.ndjson"))
    assert {r["format"] for r in recs} == {"csv:4cat_tiktok"}
    assert [r["post_id"] for r in recs] == [r["post_id"] for r in zs]
    assert recs[0]["caption"] == zs[0]["caption"] and recs[0]["views"] == zs[0]["views"]
    assert recs[0]["created_at"] == zs[0]["created_at"] and recs[0]["on_screen_text"] == "🤲"
    assert recs[0]["hashtags"][:2] == ["fosforbombası", "palestine"]
    assert all(r.get("duet_from") is None for r in recs)  # none of these are duets


def test_ytdlp_info_json(data_dir):
    """yt-dlp .info.json (hand-made following yt-dlp's TikTok info-dict fields; no real one in shared/data)."""
    assert detect_format(data_dir / "ytdlp_tiktok.info.json") == "ytdlp"
    (r,) = posts(read_file(data_dir / "ytdlp_tiktok.info.json"))
    assert r["post_id"] == "7304639473243933984" and r["actor"] == "vicenews"
    assert r["caption"].startswith("A far-right populist") and r["created_at"] == "2023-11-23T12:26:52Z"
    assert (r["views"], r["likes"], r["shares"], r["comments"]) == (1200000, 48000, 1500, 3100)


@pytest.mark.parametrize("name,content", [
    ("nul.jsonl", b'{"post_id": "1", "caption": "a\x00b"}\n{"post_id": "2", "caption": "c"}\n'),
    ("nul.csv", b"post_id,caption\n1,a\x00b\n2,c\n"),
])
def test_raw_nul_bytes_are_dropped_not_fatal(tmp_path, name, content):
    p = tmp_path / name
    p.write_bytes(content)
    recs = posts(iter_posts([p], detect_lang=False))
    assert [r["post_id"] for r in recs] == ["1", "2"]
    assert "\x00" not in recs[0]["caption_clean"] and recs[0]["caption_clean"].replace(" ", "") == "ab"
