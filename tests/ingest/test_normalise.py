"""Hostile input through :func:`pipeline.ingest.iter_posts`: every record is kept or rejected with its
reason, counts add up, and no single value stops the run."""

import gzip
import json
from pathlib import Path

import orjson
import pytest

from pipeline.errors import InputFileError
from pipeline.ingest import IngestStats, Reject, iter_posts
from pipeline.ingest.normalise import normalise
from pipeline.io.sources import MAX_LINE_CHARS


def _read(paths, **kw):
    stats = IngestStats()
    items = list(iter_posts([Path(p) for p in paths], stats=stats, detect_lang=False, **kw))
    assert stats.read == stats.kept + stats.rejected
    assert stats.rejected == sum(r.count for r in items if isinstance(r, Reject))
    return [i for i in items if not isinstance(i, Reject)], [i for i in items if isinstance(i, Reject)], stats


def _jsonl(path, lines):
    path.write_text("".join((ln if isinstance(ln, str) else json.dumps(ln)) + "\n" for ln in lines), encoding="utf-8")
    return path


def test_jsonl_maps_each_record_by_its_own_keys(tmp_path):
    p = _jsonl(tmp_path / "a.jsonl", [{"post_id": "1", "caption": "first"},
                                      {"post_id": "2", "caption": "x", "transcript": "spoken", "views": 7,
                                       "paid_partnership": True, "created_at": "2024-06-04T10:00:00Z"}])
    ok, bad, _ = _read([p])
    assert not bad
    assert (ok[1]["transcript"], ok[1]["views"], ok[1]["paid_partnership"], ok[1]["created_at"]) == \
        ("spoken", 7, True, "2024-06-04T10:00:00Z")


def test_jsonl_record_without_id_key_later_in_file_is_rejected_not_fatal(tmp_path):
    p = _jsonl(tmp_path / "a.jsonl", [{"post_id": "1", "caption": "a"}, {"caption": "no id"}, {"post_id": "3"}])
    ok, bad, _ = _read([p])
    assert [r["post_id"] for r in ok] == ["1", "3"] and [r.source_line for r in bad] == [2]


@pytest.mark.parametrize("field", ["actor", "post_id", "music", "hashtags", "caption", "actor_name"])
def test_lone_surrogates_anywhere_are_replaced_and_counted(tmp_path, field):
    rec = {"post_id": "9", "caption": "text", field: ["a\\ud800"] if field == "hashtags" else "a\\ud800b"}
    p = tmp_path / "s.jsonl"
    p.write_text(json.dumps(rec).replace("\\\\ud800", "\\ud800") + "\n", encoding="utf-8")
    ok, bad, stats = _read([p])
    assert not bad and stats.surrogates_replaced == 1
    orjson.dumps(ok[0])  # the writers' serialiser accepts every field now
    assert "\ufffd" in json.dumps(ok[0], ensure_ascii=False)


def test_hostile_numbers_are_emptied_and_counted(tmp_path):
    p = tmp_path / "n.jsonl"
    p.write_text('{"post_id":"1","caption":"a","views":Infinity,"likes":NaN}\n'
                 '{"post_id":"2","caption":"b","views":' + "9" * 400 + '}\n'
                 '{"post_id":"3","caption":"c","views":1e30,"shares":-4,"comments":18446744073709551616}\n',
                 encoding="utf-8")
    ok, bad, stats = _read([p])
    assert not bad and len(ok) == 3
    assert all(r[k] is None for r in ok for k in ("views", "likes", "shares", "comments"))
    assert stats.unusable["count"] == 6


def test_far_and_ambiguous_dates_are_counted_with_examples(tmp_path):
    p = _jsonl(tmp_path / "d.jsonl", [{"post_id": "1", "caption": "a", "created_at": "9999-12-31T23:59:59-14:00"},
                                      {"post_id": "2", "caption": "b", "created_at": "06/04/2024 23:59"},
                                      {"post_id": "3", "caption": "c", "created_at": "2024-06-04 23:59"}])
    ok, bad, stats = _read([p])
    assert not bad and [r["created_at"] for r in ok] == [None, None, "2024-06-04T23:59:00Z"]
    assert stats.unusable["date"] == 2 and "06/04/2024 23:59" in stats.examples["date"]
    ok, _, stats = _read([p], date_formats=["%d/%m/%Y %H:%M"])
    assert ok[1]["created_at"] == "2024-04-06T23:59:00Z" and stats.unusable["date"] == 1


def test_float_formatted_ids_are_rejected_and_do_not_shadow_real_posts(tmp_path):
    p = tmp_path / "f.csv"
    p.write_text("post_id,caption\n7.234567890123457e+18,rounded\n7234567890123456789,real\n12.0,small\n",
                 encoding="utf-8")
    ok, bad, _ = _read([p])
    assert [r["post_id"] for r in ok] == ["7234567890123456789", "12"]
    assert len(bad) == 1 and "floating-point" in bad[0].reason and bad[0].source_line == 2
    api = tmp_path / "api.json"
    api.write_text('{"data": {"videos": [{"id": 7.234567890123457e+18, "video_description": "x"}]}}', encoding="utf-8")
    ok, bad, _ = _read([api])
    assert not ok and "floating-point" in bad[0].reason


def test_normalise_keeps_ids_as_exact_strings():
    rec = {"post_id": " 7234567890123456789 ", "views": 3}
    assert normalise(rec) == (None, 0) and rec["post_id"] == "7234567890123456789"


def test_research_api_pages_starting_with_an_error_page(tmp_path):
    p = tmp_path / "pages.json"
    p.write_text(json.dumps([{"error": {"code": "rate_limit_exceeded", "message": "slow down"}},
                             {"data": {"videos": [{"id": 1, "video_description": "a"}]}, "error": {"code": "ok"}}]),
                 encoding="utf-8")
    ok, bad, _ = _read([p])
    assert [r["post_id"] for r in ok] == ["1"] and not bad


def test_repeated_csv_header_is_a_file_error_naming_it(tmp_path):
    p = tmp_path / "dup.csv"
    p.write_text("post_id,caption,caption\n1,real caption,\n", encoding="utf-8")
    with pytest.raises(InputFileError, match="repeats column name.*'caption'"):
        _read([p])


def test_unbalanced_quote_at_end_costs_one_row(tmp_path):
    p = tmp_path / "q.csv"
    p.write_text('post_id,caption\n1,"open quote\n2,two\n3,three\n', encoding="utf-8")
    ok, bad, stats = _read([p])
    assert [r["post_id"] for r in ok] == ["2", "3"] and [r.source_line for r in bad] == [2] and stats.read == 3


def test_overlong_line_is_rejected_without_losing_the_next(tmp_path):
    p = tmp_path / "long.jsonl.gz"
    with gzip.open(p, "wb") as fh:
        fh.write(b'{"post_id":"1","caption":"' + b"a" * (MAX_LINE_CHARS + 10) + b'"}\n{"post_id":"2","caption":"ok"}\n')
    ok, bad, _ = _read([p])
    assert [r["post_id"] for r in ok] == ["2"] and bad[0].source_line == 1 and "overlong line" in bad[0].reason


def test_runs_of_duplicates_are_one_compact_reject_with_a_count(tmp_path):
    p = tmp_path / "dups.jsonl.gz"
    with gzip.open(p, "wb") as fh:
        fh.write(b'{"post_id":"1","caption":"same"}\n' * 5000 + b'{"post_id":"2","caption":"other"}\n'
                 + b'{"post_id":"1","caption":"again"}\n')
    ok, bad, stats = _read([p])
    assert [r["post_id"] for r in ok] == ["1", "2"]
    assert [(r.source_line, r.count) for r in bad] == [(2, 4999), (5002, 1)]
    assert str(tmp_path) not in bad[0].reason and "lines 2-5000" in bad[0].reason
    assert stats.reasons["duplicate post_id"] == 5000


def test_missing_later_input_fails_unless_keep_going(tmp_path):
    good = _jsonl(tmp_path / "a.jsonl", [{"post_id": "1", "caption": "a"}])
    with pytest.raises(InputFileError, match="file not found"):
        _read([good, tmp_path / "missing.jsonl"])
    ok, _, stats = _read([good, tmp_path / "missing.jsonl"], keep_going=True)
    assert len(ok) == 1 and "missing.jsonl" in stats.skipped_files[0]


def test_broken_transcript_file_does_not_stop_the_run(tmp_path):
    tdir = tmp_path / "t"
    tdir.mkdir()
    (tdir / "7234567890123456781.json").write_text('{"utterances": 5}', encoding="utf-8")
    (tdir / "7234567890123456782.json").write_text('{"utterances": [{"text": [1]}]}', encoding="utf-8")
    p = _jsonl(tmp_path / "a.jsonl", [{"post_id": "7234567890123456781", "caption": "a"},
                                      {"post_id": "7234567890123456782", "caption": "b"}])
    ok, bad, stats = _read([p], transcripts=tdir)
    assert len(ok) == 2 and not bad and len(stats.transcripts_unreadable) >= 1


@pytest.mark.parametrize("obj", [{"post_id": {"a": 1}}, {"post_id": "1", "caption": {"x": 1}},
                                 {"post_id": "1", "hashtags": {"x": 1}}, {"post_id": "1", "created_at": [1]},
                                 {"post_id": ["1"]}, {"post_id": "1", "views": {"n": 1}}])
def test_odd_json_values_are_kept_or_rejected_never_raised(tmp_path, obj):
    p = _jsonl(tmp_path / "o.jsonl", [obj])
    ok, bad, _ = _read([p])
    assert len(ok) + len(bad) == 1


def test_utf16_json_lines_are_detected_as_json_lines(tmp_path):
    p = tmp_path / "u16.jsonl"
    p.write_text('{"post_id": "1", "caption": "utf16 text"}\n{"post_id": "2", "caption": "more"}\n', encoding="utf-16")
    ok, bad, _ = _read([p])
    assert [r["caption"] for r in ok] == ["utf16 text", "more"] and not bad


def test_ytdlp_upload_date_as_a_number(tmp_path):
    p = tmp_path / "v.info.json"
    p.write_text(json.dumps({"id": "7234567890123456789", "extractor": "TikTok", "uploader": "u",
                             "upload_date": 20240101, "description": "x"}), encoding="utf-8")
    ok, bad, _ = _read([p])
    assert not bad and ok[0]["created_at"] == "2024-01-01T00:00:00Z"


def test_scattered_duplicates_are_capped_per_file_with_a_count(tmp_path, monkeypatch):
    import pipeline.ingest as ingest

    monkeypatch.setattr(ingest, "MAX_DUPLICATE_LINES", 3)
    p = _jsonl(tmp_path / "alt.jsonl", [{"post_id": str(i % 2), "caption": "x"} for i in range(12)])
    ok, bad, stats = _read([p])
    assert len(ok) == 2 and len(bad) == 4 and sum(r.count for r in bad) == 10
    assert bad[-1].count == 7 and "7 more duplicates in lines 6-12" in bad[-1].reason
    assert stats.reasons["duplicate post_id"] == 10


def test_duplicates_of_ids_with_letters_are_counted_as_duplicates(tmp_path):
    p = _jsonl(tmp_path / "ids.jsonl", [{"post_id": pid, "caption": "x"} for pid in ("user-1", "user-2", "user-1", "a(1)")
                                        + ("a(1)", "b:2", "b:2")])
    ok, bad, stats = _read([p])
    assert len(ok) == 4 and stats.duplicates == 3 and stats.reasons == {"duplicate post_id": 3}
    assert "3 duplicate posts skipped" in stats.summary() and "rejected" not in stats.summary()
