"""Draw the annotation pool from ../shared/data (run once; kept for provenance).

Every pooled post records the stratum it was drawn from (`sampling`), so that an
evaluation can re-weight enriched strata.  Cue regexes are used ONLY to choose
which posts an annotator reads (targeted sampling for rare labels); they never
produce labels.  Usage:

    python corpora/sampling/build_pool.py ../shared/data corpora/sampling/pool.jsonl

It also writes the annotation batches (corpora/annotations/batches/, git-ignored: they hold
raw handles) exactly as they were handed to the annotators.
"""

from __future__ import annotations

import csv
import json
import random
import re
import sys
from pathlib import Path

SEED = 20261124
csv.field_size_limit(10**9)

TREND_CUES = re.compile(
    r"踊ってみた|歌ってみた|チャレンジ|challenge|duet|デュエット|stitch|ダンス|dance|trend|"
    r"流行|\bpov\b|ミーム|meme|やってみた|踊|#.*祭|参加|募集", re.I)
INFL_CUES = re.compile(
    r"#pr\b|#ad\b|コラボ|collab|提供|タイアップ|プロモーション|ゲスト|出演|インフルエンサー|"
    r"tiktoker|クリエイター|creator|@\w", re.I)
CRISIS_CUES = re.compile(
    r"コロナ|covid|避難|災害|地震|台風|豪雨|大雨|戦争|ウクライナ|ロシア|ミサイル|緊急|警報|"
    r"感染|ワクチン|ガザ|イスラエル|\bwar\b|被災|土砂|防災|平和|原爆|津波|熱中症", re.I)


def clip(text: str | None, n: int = 1500) -> str:
    text = (text or "").strip()
    return text if len(text) <= n else text[:n] + " […]"


def jp(root: Path, rng: random.Random) -> list[dict]:
    rows = list(csv.DictReader(open(root / "jp_gov_tiktokapi/videos_flat.csv", encoding="utf-8")))
    by_acc: dict[str, list[dict]] = {}
    for r in rows:
        by_acc.setdefault(r["channelId"], []).append(r)
    chosen: dict[str, tuple[dict, str]] = {}
    for _acc, rs in sorted(by_acc.items()):
        for r in rng.sample(rs, min(14, len(rs))):
            chosen.setdefault(r["videoId"], (r, "jp:per_account_random"))
    for name, cue, n in (("trend", TREND_CUES, 220), ("influencer", INFL_CUES, 170),
                         ("crisis", CRISIS_CUES, 200)):
        hits = [r for r in rows if cue.search(r["title"] or "") and r["videoId"] not in chosen]
        for r in rng.sample(hits, min(n, len(hits))):
            chosen[r["videoId"]] = (r, f"jp:cue_enriched_{name}")
    out = []
    for vid, (r, stratum) in chosen.items():
        out.append({"uid": f"jp_gov_tiktokapi:{vid}", "source": "jp_gov_tiktokapi", "post_id": vid,
                    "actor": r["channelId"], "actor_name": r["channelTitle"],
                    "caption": clip(r["title"]), "sampling": stratum})
    return out


def eu24(root: Path) -> list[dict]:
    out = []
    for r in csv.DictReader(open(root / "eu24_war_abortion_aiforensics/videos_dedup.csv", encoding="utf-8")):
        out.append({"uid": f"eu24_war_abortion_aiforensics:{r['video_id']}", "source": "eu24_war_abortion_aiforensics",
                    "post_id": r["video_id"], "actor": r["creator_id"], "caption": clip(r["description"]),
                    "transcript": clip(r["transcript_text"]), "sampling": "eu24:all"})
    return out


def research_api(root: Path) -> list[dict]:
    out = []
    for line in open(root / "research_api_us2024_cns/videos_dedup.jsonl", encoding="utf-8"):
        v = json.loads(line)
        out.append({"uid": f"research_api_us2024_cns:{v['id']}", "source": "research_api_us2024_cns",
                    "post_id": str(v["id"]), "actor": v.get("username"), "caption": clip(v.get("video_description")),
                    "transcript": clip(v.get("voice_to_text")), "sampling": "us2024:all"})
    return out


def zeeschuimer(root: Path) -> list[dict]:
    out, seen = [], set()
    for line in open(root / "zeeschuimer_tiktok_fosfor/tiktok-test.ndjson", encoding="utf-8"):
        d = json.loads(line)["data"]
        if d["id"] in seen:
            continue
        seen.add(d["id"])
        stickers = " | ".join(t for s in d.get("stickersOnItem") or [] for t in s.get("stickerText") or [])
        flags = []
        if d.get("isAd"):
            flags.append("isAd")
        duet = (d.get("duetInfo") or {}).get("duetFromId")
        if duet and duet != "0":
            flags.append("duet")
        out.append({"uid": f"zeeschuimer_tiktok_fosfor:{d['id']}", "source": "zeeschuimer_tiktok_fosfor",
                    "post_id": d["id"], "actor": d["author"]["uniqueId"], "caption": clip(d.get("desc")),
                    "on_screen_text": clip(stickers), "music": (d.get("music") or {}).get("title"),
                    "flags": flags, "sampling": "fosfor:all"})
    return out


def nepal(root: Path) -> list[dict]:
    out = []
    for r in csv.DictReader(open(root / "nepal_election2022_tiktok/Sample_150_Test_Coherence.csv", encoding="utf-8-sig"),
                            delimiter=";"):
        out.append({"uid": f"nepal_election2022_tiktok:{r['id']}", "source": "nepal_election2022_tiktok",
                    "post_id": r["id"], "actor": r["author_username"], "caption": clip(r["video_description"]),
                    "caption_en_translation": clip(r["video_description_en"]),
                    "transcript": clip(r["audio_transcript_np"]), "transcript_en_translation": clip(r["audio_transcript_en"]),
                    "music": r["music_title"], "sampling": "nepal:all"})
    return out


def romania(root: Path, rng: random.Random) -> list[dict]:
    rows = list(csv.DictReader(open(root / "romania2024_commercial_content_medialab/romania-20241106-20241206-ocr.csv",
                                    encoding="utf-8")))
    strata = {
        "ro:paid_partnership_ocr": [r for r in rows if r["label"] == "Paid Partnership" and r["ocr"].strip()],
        "ro:promotional_content_ocr": [r for r in rows if r["label"] == "Promotional Content" and r["ocr"].strip()],
        "ro:no_ocr": [r for r in rows if not r["ocr"].strip()],
    }
    sizes = {"ro:paid_partnership_ocr": 200, "ro:promotional_content_ocr": 200, "ro:no_ocr": 40}
    out = []
    for stratum, rs in strata.items():
        for r in rng.sample(rs, sizes[stratum]):
            out.append({"uid": f"romania2024_commercial_content_medialab:{r['id']}",
                        "source": "romania2024_commercial_content_medialab", "post_id": r["id"], "actor": None,
                        "on_screen_text": clip(r["ocr"]), "flags": [f"tiktok_label:{r['label']}"], "sampling": stratum})
    return out


N_BATCHES = 7
DOUBLE_SEED, N_DOUBLE = 7, 320


def main(root: str, out_path: str) -> None:
    rng = random.Random(SEED)
    base = Path(root)
    pool = jp(base, rng) + eu24(base) + research_api(base) + zeeschuimer(base) + nepal(base) + romania(base, rng)
    rng.shuffle(pool)
    with open(out_path, "w", encoding="utf-8") as fh:
        for p in pool:
            fh.write(json.dumps({k: v for k, v in p.items() if v not in (None, "", [])}, ensure_ascii=False) + "\n")
    print(f"{len(pool)} posts -> {out_path}")
    # Annotation batches: post i of the shuffled pool goes to batch (i mod 7) + 1; the second,
    # independent annotation covers a seeded random sample of 320 posts of the whole pool.
    out_dir = Path(out_path).parent.parent / "annotations" / "batches"
    out_dir.mkdir(parents=True, exist_ok=True)
    strip = [{k: v for k, v in p.items() if k != "sampling" and v not in (None, "", [])} for p in pool]
    for b in range(N_BATCHES):
        with open(out_dir / f"batch_{b + 1:02d}.jsonl", "w", encoding="utf-8") as fh:
            for p in strip[b::N_BATCHES]:
                fh.write(json.dumps(p, ensure_ascii=False) + "\n")
    double = random.Random(DOUBLE_SEED).sample(pool, N_DOUBLE)
    with open(out_dir / "double_01.jsonl", "w", encoding="utf-8") as fh:
        for p in double:
            fh.write(json.dumps({k: v for k, v in p.items() if k != "sampling" and v not in (None, "", [])},
                                ensure_ascii=False) + "\n")


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
