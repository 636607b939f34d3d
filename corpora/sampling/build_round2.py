"""Round 2 of annotation: 200 active-learning picks + 150 trend-enriched posts (jp_gov_tiktokapi).

    tiktok-diplomacy corpus suggest ../shared/data/jp_gov_tiktokapi/videos_flat.csv -n 200 \\
        -o /tmp/suggest.jsonl --exclude corpora/diplomacy_strategies.jsonl   # model: models/default
    python corpora/sampling/build_round2.py ../shared/data

The picks' ids (with uncertainty and rank) are kept in round2_active_learning_picks.jsonl.
Annotators saw only the post fields, never the model's scores or predicted labels.  Trend
participation is the rarest label, so up to 150 more posts were drawn (seeded) among the unused posts
whose caption matches the trend cues of build_pool.py or the broader net below — cues choose what is read, never
the label.  Appends to manifest.jsonl and writes annotation batches 08 and 09.
"""

from __future__ import annotations

import csv
import json
import random
import re
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from build_pool import TREND_CUES, clip  # noqa: E402

SEED = 20261125
# build_pool.py's trend cues were nearly exhausted by round 1 (30 unused hits), so round 2 reads
# a broader net: dance/challenge words anywhere, invitations, effects, sounds, campaigns.
TREND_CUES_BROAD = re.compile(
    r"ダンス|dance|踊|チャレンジ|challenge|duet|デュエット|歌ってみた|やってみた|trend|トレンド|流行|一緒に|みんなで|"
    r"みんなも|真似|投稿|エフェクト|effect|フィルター|filter|音源|sound|remix|pov|meme|ミーム|キャンペーン|campaign|"
    r"お題|タグ付け|#tiktok(?!教室|でニュース)", re.I)
HERE = Path(__file__).resolve().parent


def main(data_root: str) -> None:
    rows = {r["videoId"]: r for r in csv.DictReader(open(Path(data_root) / "jp_gov_tiktokapi/videos_flat.csv",
                                                         encoding="utf-8"))}
    # idempotent: round-2 entries of an earlier run are replaced, not appended again
    manifest = [m for m in (json.loads(line) for line in open(HERE / "manifest.jsonl", encoding="utf-8"))
                if not m["sampling"].endswith("_round2")]
    with open(HERE / "manifest.jsonl", "w", encoding="utf-8") as man:
        for m in manifest:
            man.write(json.dumps(m) + "\n")
    used = {m["uid"] for m in manifest}
    picks = [json.loads(line)["post_id"] for line in open(HERE / "round2_active_learning_picks.jsonl")]
    chosen = [(pid, "jp:active_learning_round2") for pid in picks]
    taken = used | {f"jp_gov_tiktokapi:{p}" for p in picks}
    cue_hits = sorted(pid for pid, r in rows.items() if f"jp_gov_tiktokapi:{pid}" not in taken
                      and (TREND_CUES.search(r["title"] or "") or TREND_CUES_BROAD.search(r["title"] or "")))
    chosen += [(pid, "jp:cue_enriched_trend_round2")
               for pid in random.Random(SEED).sample(cue_hits, min(150, len(cue_hits)))]
    random.Random(SEED).shuffle(chosen)
    out_dir = HERE.parent / "annotations" / "batches"
    out_dir.mkdir(parents=True, exist_ok=True)
    batches = {"08": [], "09": []}
    with open(HERE / "manifest.jsonl", "a", encoding="utf-8") as man:
        for i, (pid, stratum) in enumerate(chosen):
            r = rows[pid]
            batch = "08" if i % 2 == 0 else "09"
            uid = f"jp_gov_tiktokapi:{pid}"
            batches[batch].append({"uid": uid, "source": "jp_gov_tiktokapi", "post_id": pid, "actor": r["channelId"],
                                   "actor_name": r["channelTitle"], "caption": clip(r["title"])})
            man.write(json.dumps({"uid": uid, "source": "jp_gov_tiktokapi", "post_id": pid, "sampling": stratum,
                                  "batch": batch, "double_annotated": False}) + "\n")
    for b, items in batches.items():
        with open(out_dir / f"batch_{b}.jsonl", "w", encoding="utf-8") as fh:
            for p in items:
                fh.write(json.dumps({k: v for k, v in p.items() if v}, ensure_ascii=False) + "\n")
    print({b: len(v) for b, v in batches.items()}, f"{len(cue_hits)} unused trend-cue posts")


if __name__ == "__main__":
    main(sys.argv[1])
