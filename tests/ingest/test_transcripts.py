import json

import pytest

from pipeline.ingest.transcripts import (
    index_transcripts,
    parse_creator_caption,
    parse_srt,
    parse_transcript_file,
    parse_vtt,
)

ROLLING_VTT = """WEBVTT
Kind: captions
Language: en

NOTE produced by a rolling-caption tool

1
00:00:00.000 --> 00:00:02.000 align:start position:0%
we<00:00:00.500><c> stand</c>

00:00:02.000 --> 00:00:04.000 align:start position:0%
we stand with Ukraine

00:00:04.000 --> 00:00:06.000
we stand with Ukraine

00:00:06.000 --> 00:00:08.000
<v Speaker>and we will help</v>
"""


def test_vtt_drops_header_timings_markup_and_rolling_repeats():
    assert parse_vtt(ROLLING_VTT) == "we stand with Ukraine and we will help"


def test_srt():
    srt = "1\r\n00:00:01,000 --> 00:00:02,000\r\nEvacuate now\r\n\r\n2\r\n00:00:02,500 --> 00:00:04,000\r\n<i>to the shelter</i>\r\n"
    assert parse_srt(srt) == "Evacuate now to the shelter"


def test_creator_caption_json():
    assert parse_creator_caption(json.dumps({"utterances": [{"text": "hello "}, {"text": "world"}]})) == "hello world"
    with pytest.raises(ValueError, match="utterances"):
        parse_creator_caption("{}")


def test_real_files_and_lc_preferred_over_mt(data_dir):
    idx = index_transcripts(data_dir / "transcripts")
    lc = idx["7093849853536636165"]
    assert [f.kind for f in lc] == ["LC", "LC"] and lc[0].path.suffix == ".vtt"
    text = parse_transcript_file(lc[0].path)
    assert text.startswith("if you've ever been in any doubt as to whether abortion is health care")
    assert parse_transcript_file(lc[1].path).startswith("if you've ever been in any doubt")
    mt = idx["7239756706035535146"]
    assert all(f.kind == "MT" for f in mt)


def test_transcripts_report_matches_and_unmatched_files(data_dir):
    """--transcripts tells how many posts matched a subtitle file and how many files matched no post."""
    from pipeline.ingest import IngestStats, iter_posts

    stats = IngestStats()
    list(iter_posts([data_dir / "aiforensics_videos.csv"], transcripts=data_dir / "transcripts", stats=stats,
                    detect_lang=False))
    n_files = sum(1 for p in (data_dir / "transcripts").rglob("*") if p.is_file())
    # three of the six folders are videos of this export; the other three are of no post here
    assert stats.transcript_posts == 3 and stats.transcript_files == n_files
    unmatched = sum(1 for d in ("7003419305589181702", "7093849853536636165", "7239756706035535146")
                    for _ in (data_dir / "transcripts" / d).iterdir())
    assert stats.transcript_files_unmatched == unmatched
    assert "3 posts matched a subtitle file" in stats.transcript_summary()
    assert f"{unmatched} of {n_files} files matched no post" in stats.transcript_summary()
