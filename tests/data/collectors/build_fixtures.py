"""Build the collector fixtures from the real (pseudonymised) web items of ../zeeschuimer.ndjson.

Run by hand (``python tests/data/collectors/build_fixtures.py``); the outputs are committed.
Each output follows the collector's own code or documented output:

- ``pyktok_metadata.csv``: pyktok ``generate_data_row`` (github.com/dfreelon/pyktok,
  src/pyktok/pyktok.py at cb6e2ea), written with pandas ``to_csv(index=False)`` as pyktok does.
- ``apify_tiktok.json`` / ``apify_tiktok.csv``: Apify ``clockworks/tiktok-scraper`` dataset items,
  key layout of a public run's output (github.com/mohit-nagaraj/trendai,
  app/api/v1/content/tiktok-json/route.ts, at 823cb60); the CSV flattens keys with "/" as Apify's
  dataset export does.
- ``tiktok_web_items.json`` (a list, as TikTok-Api's ``video.as_dict`` collects them),
  ``tiktok_web_items.jsonl`` and ``tiktok_web_item_list_page.json`` (the web API's
  ``/api/post/item_list/`` page ``{"itemList": [...], "cursor", "hasMore"}``): the raw items.
"""

import csv
import json
from datetime import UTC, datetime
from pathlib import Path

HERE = Path(__file__).resolve().parent
ITEMS = [json.loads(line)["data"] for line in open(HERE.parent / "zeeschuimer.ndjson", encoding="utf-8")]


def pyktok_row(v):
    stickers = [t for s in v.get("stickersOnItem") or [] for t in s.get("stickerText") or []]
    return {
        "video_id": v["id"],
        # pyktok: datetime.fromtimestamp(int(ctime)).isoformat() (the collector's local time; UTC here)
        "video_timestamp": datetime.fromtimestamp(int(v["createTime"]), tz=UTC).replace(tzinfo=None).isoformat(),
        "video_duration": v["video"]["duration"], "video_locationcreated": v.get("locationCreated", ""),
        "video_diggcount": v["stats"]["diggCount"], "video_sharecount": v["stats"]["shareCount"],
        "video_commentcount": v["stats"]["commentCount"], "video_playcount": v["stats"]["playCount"],
        "video_description": v["desc"], "video_is_ad": v.get("isAd", False), "video_stickers": ";".join(stickers),
        "author_username": v["author"]["uniqueId"], "author_name": v["author"]["nickname"],
        "author_followercount": v["authorStats"]["followerCount"], "author_followingcount": v["authorStats"]["followingCount"],
        "author_heartcount": v["authorStats"]["heartCount"], "author_videocount": v["authorStats"]["videoCount"],
        "author_diggcount": v["authorStats"]["diggCount"], "author_verified": v["author"].get("verified", False),
        "poi_name": "", "poi_address": "", "poi_city": "",
    }


def apify_item(v):
    a, m = v["author"], v.get("music") or {}
    tags = [t["hashtagName"] for t in v.get("textExtra") or [] if t.get("hashtagName")]
    return {
        "id": v["id"], "text": v["desc"], "textLanguage": "un", "createTime": int(v["createTime"]),
        "createTimeISO": datetime.fromtimestamp(int(v["createTime"]), tz=UTC).strftime("%Y-%m-%dT%H:%M:%S.000Z"),
        "isAd": v.get("isAd", False),
        "authorMeta": {"id": a["id"], "name": a["uniqueId"], "profileUrl": f"https://www.tiktok.com/@{a['uniqueId']}",
                       "nickName": a["nickname"], "verified": a.get("verified", False), "signature": "",
                       "bioLink": None, "privateAccount": False, "following": v["authorStats"]["followingCount"],
                       "friends": 0, "fans": v["authorStats"]["followerCount"], "heart": v["authorStats"]["heartCount"],
                       "video": v["authorStats"]["videoCount"], "digg": v["authorStats"]["diggCount"]},
        "musicMeta": {"musicName": m.get("title"), "musicAuthor": m.get("authorName"), "musicOriginal": bool(m.get("original")),
                      "musicId": m.get("id")},
        "webVideoUrl": f"https://www.tiktok.com/@{a['uniqueId']}/video/{v['id']}",
        "mediaUrls": [],
        "videoMeta": {"height": v["video"].get("height"), "width": v["video"].get("width"),
                      "duration": v["video"]["duration"], "definition": v["video"].get("definition"),
                      "format": v["video"].get("format"),
                      "subtitleLinks": [{"language": s.get("LanguageCodeName"), "downloadLink": "", "tiktokLink": "",
                                         "source": s.get("Source"), "sourceUnabbreviated": "", "version": s.get("Version")}
                                        for s in v["video"].get("subtitleInfos") or []]},
        "diggCount": v["stats"]["diggCount"], "shareCount": v["stats"]["shareCount"], "playCount": v["stats"]["playCount"],
        "collectCount": v["stats"].get("collectCount"), "commentCount": v["stats"]["commentCount"],
        "mentions": [], "detailedMentions": [], "hashtags": [{"name": t} for t in tags], "effectStickers": [],
        "isSlideshow": False, "isPinned": False, "isSponsored": False, "searchQuery": "fosfor",
    }


def flatten(obj, prefix=""):
    out = {}
    if isinstance(obj, dict):
        for k, v in obj.items():
            out.update(flatten(v, f"{prefix}{k}/"))
    elif isinstance(obj, list):
        for i, v in enumerate(obj):
            out.update(flatten(v, f"{prefix}{i}/"))
    else:
        out[prefix[:-1]] = obj
    return out


def main():
    import pandas as pd

    pd.DataFrame([pyktok_row(v) for v in ITEMS]).to_csv(HERE / "pyktok_metadata.csv", index=False)
    apify = [apify_item(v) for v in ITEMS]
    (HERE / "apify_tiktok.json").write_text(json.dumps(apify, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
    rows = [flatten(a) for a in apify]
    header = list(dict.fromkeys(k for r in rows for k in r))
    with open(HERE / "apify_tiktok.csv", "w", encoding="utf-8", newline="") as fh:
        w = csv.DictWriter(fh, header)
        w.writeheader()
        w.writerows(rows)
    (HERE / "tiktok_web_items.json").write_text(json.dumps(ITEMS[:3], ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
    with open(HERE / "tiktok_web_items.jsonl", "w", encoding="utf-8") as fh:
        for v in ITEMS:
            fh.write(json.dumps(v, ensure_ascii=False) + "\n")
    page = {"cursor": "1697035164000", "extra": {"now": 1697108706000}, "hasMore": True, "itemList": ITEMS[3:],
            "statusCode": 0, "status_code": 0}
    (HERE / "tiktok_web_item_list_page.json").write_text(json.dumps(page, ensure_ascii=False) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
