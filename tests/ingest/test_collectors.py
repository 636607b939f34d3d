"""More collectors, detected from content: pyktok, Apify TikTok Scraper, raw web items (TikTok-Api),
and known files without posts (TikTok's personal data export …).

The fixtures in tests/data/collectors are real (pseudonymised) TikTok web items from
tests/data/zeeschuimer.ndjson laid out as each collector writes them; how each follows the
collector's own code or documented output is in tests/data/collectors/build_fixtures.py.
"""

import json
import zipfile
from pathlib import Path

import pytest

from pipeline.errors import InputFileError
from pipeline.ingest import Reject, detect_format, read_file

SKELETON = Path("/work/shared/data/tiktok_user_data_export_skeleton/user_data_tiktok.skeleton.json")


@pytest.fixture
def cdir(data_dir):
    return data_dir / "collectors"


def posts(items):
    return [i for i in items if not isinstance(i, Reject)]


def _filled(rec):
    return rec["caption"] and rec["actor"] and rec["created_at"] and rec["views"] is not None \
        and rec["likes"] is not None and rec["shares"] is not None and rec["comments"] is not None


def test_pyktok_metadata_csv(cdir):
    """Follows pyktok's generate_data_row columns (dfreelon/pyktok src/pyktok/pyktok.py, cb6e2ea)."""
    recs = posts(read_file(cdir / "pyktok_metadata.csv"))
    assert len(recs) == 5 and all(_filled(r) for r in recs)
    r = recs[0]
    assert r["format"] == "csv:pyktok"
    assert r["post_id"] == "7288710518670396678" and r["actor"] == "user_6fb4cd1677"
    assert r["created_at"] == "2023-10-11T14:39:24Z"
    assert (r["views"], r["likes"], r["shares"], r["comments"]) == (911300, 15800, 428, 762)
    assert r["is_ad"] is False and r["on_screen_text"] == "🤲"


def test_apify_json_and_csv(cdir):
    """Follows the clockworks/tiktok-scraper item layout of a public run's output (see build_fixtures.py)."""
    assert detect_format(cdir / "apify_tiktok.json") == "json"  # whole-file document, kind found on reading
    recs = posts(read_file(cdir / "apify_tiktok.json"))
    assert len(recs) == 5 and all(_filled(r) for r in recs)
    assert recs[0]["format"] == "apify" and recs[0]["actor"] == "user_6fb4cd1677"
    assert recs[0]["created_at"] == "2023-10-11T14:39:24Z" and recs[0]["music"].startswith("sonido original")
    assert "fosforbombası" in recs[0]["hashtags"]
    rows = posts(read_file(cdir / "apify_tiktok.csv"))
    assert [r["post_id"] for r in rows] == [r["post_id"] for r in recs]
    assert rows[0]["format"] == "csv:apify_tiktok" and all(_filled(r) for r in rows)
    for a, b in zip(recs, rows):
        assert (a["actor"], a["created_at"], a["views"], a["caption"]) == (b["actor"], b["created_at"], b["views"], b["caption"])


def test_apify_jsonl(cdir, tmp_path):
    items = json.loads((cdir / "apify_tiktok.json").read_text(encoding="utf-8"))
    path = tmp_path / "apify.jsonl"
    path.write_text("".join(json.dumps(i, ensure_ascii=False) + "\n" for i in items), encoding="utf-8")
    assert detect_format(path) == "apify"
    assert len(posts(read_file(path))) == 5


@pytest.mark.parametrize("name,n", [("tiktok_web_items.json", 3), ("tiktok_web_items.jsonl", 5),
                                    ("tiktok_web_item_list_page.json", 2)])
def test_raw_web_items(cdir, name, n):
    """TikTok's web itemStruct as TikTok-Api's video.as_dict and the web API's item_list page return it."""
    recs = posts(read_file(cdir / name))
    assert len(recs) == n and all(_filled(r) for r in recs)
    assert all(r["format"] == "tiktok_web" for r in recs)


def test_collector_fixtures_label_with_fields_filled(cdir, tmp_path):
    """Real pyktok, Apify and web-item records label with captions, actors, dates and counts filled."""
    from pipeline.label.run import label_files

    inputs = [cdir / n for n in ("pyktok_metadata.csv", "apify_tiktok.json", "apify_tiktok.csv", "tiktok_web_items.jsonl")]
    for path in inputs:
        out = tmp_path / f"{path.stem}.{path.suffix.lstrip('.')}.jsonl"
        run = label_files([path], out, workers=1)
        recs = [json.loads(line) for line in open(out, encoding="utf-8")]
        assert run.labelled == len(recs) == 5, path
        for r in recs:
            assert _filled(r) and isinstance(r["labels"], list) and set(r["scores"]) and r["language"], (path, r)


def test_personal_data_export_is_named(tmp_path):
    skeleton = json.loads(SKELETON.read_text(encoding="utf-8")) if SKELETON.exists() else \
        {"Likes and Favorites": {"Like List": {"ItemFavoriteList": [{"date": "str", "link": "str"}]}}}
    path = tmp_path / "user_data_tiktok.json"
    path.write_text(json.dumps(skeleton, indent=1), encoding="utf-8")
    with pytest.raises(InputFileError, match="personal data export.*no post texts.*pyktok"):
        list(read_file(path))
    zpath = tmp_path / "TikTok_Data_1700000000.zip"
    with zipfile.ZipFile(zpath, "w") as zf:
        zf.writestr("user_data_tiktok.json", json.dumps(skeleton))
    with pytest.raises(InputFileError, match="ZIP archive.*personal data export"):
        list(read_file(zpath))


def test_comment_exports_are_named(tmp_path):
    path = tmp_path / "comments.csv"
    path.write_text("cid,text,aweme_id,create_time,digg_count\n1,nice,7288710518670396678,1697035164,3\n", encoding="utf-8")
    with pytest.raises(InputFileError, match=r"comment export \(pyktok.*which has no post texts"):
        list(read_file(path))
    page = tmp_path / "comments.json"
    page.write_text(json.dumps({"data": {"comments": [{"id": 1, "text": "x"}], "cursor": 1, "has_more": False},
                                "error": {"code": "ok"}}), encoding="utf-8")
    with pytest.raises(InputFileError, match="Research API comment list"):
        list(read_file(page))


def test_column_overrides_for_item_formats(cdir, data_dir):
    """--column works for formats with a fixed mapper (by key or dotted path), and names a missing key."""
    recs = posts(read_file(cdir / "apify_tiktok.json", overrides={"actor": "authorMeta.nickName"}))
    assert recs[0]["actor"] == "user_6fb4cd1677"
    recs = posts(read_file(data_dir / "research_api_videos.jsonl", overrides={"region": "username"}))
    assert recs[0]["region"] == recs[0]["actor"]
    with pytest.raises(InputFileError, match="nope.*not in the first research_api record"):
        list(read_file(data_dir / "research_api_videos.jsonl", overrides={"actor": "nope"}))
    # a preset keeps its other columns when one is overridden
    recs = posts(read_file(cdir / "pyktok_metadata.csv", overrides={"actor": "author_name"}))
    assert recs[0]["views"] == 911300 and recs[0]["format"] == "csv:pyktok+columns"
