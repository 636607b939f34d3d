"""Round 3 of annotation: at least 800 new posts that widen ACCOUNT coverage (run once; kept for provenance).

    cd <repo> && python corpora/sampling/build_round3.py ../shared/data      # model: models/default

Why: the model is weakest on accounts it has never seen, and rounds 1-2 read few posts of the
biggest accounts (e.g. studyin.tv.jp: 24 of 1,102).  Round 3 therefore reads posts of the accounts
with the lowest *coverage* = annotated posts / all posts of the account.

Pool.  Every post of every shared source, read with the project's own readers
(``pipeline.ingest.iter_posts``, as build_corpus.py does; eu24 with its transcripts; the US-2024
Research API data as ``videos_dedup.jsonl`` *and* ``video_query_responses_raw.json`` — the raw
responses turn out to hold no video missing from the dedup file), minus every post already in
``manifest.jsonl`` (rounds 1-2, and not re-drawn) and minus posts with no text at all.  Only
jp_gov_tiktokapi and the Romanian ad library have unread posts left: eu24, US-2024, Nepal and
fosfor were read in full in round 1 (the script still adds any unread post of theirs, stratum
``r3:unannotated_other``; there are none).

Coverage.  Computed per account over all posts; a post without an actor (Romanian ad items) is
its own "account", unread, so coverage 0.  The median is taken over the named accounts that still
have unread posts with text (actor-less singletons would all be 0 and swamp it); accounts strictly
below it are the *low-coverage* accounts.  The candidates of all strata below are posts of
low-coverage accounts (named ones, and actor-less items).

Strata, drawn in this order, each excluding the posts already drawn (cues and model scores only
choose which posts are read, they never produce or suggest a label; annotators see neither):
  1. ``r3:active_learning_low_coverage`` (350): ``tiktok-diplomacy corpus suggest`` (shipped model,
     ``--exclude`` the corpus) over the low-coverage candidates — a subset of videos_flat.csv with
     the low-coverage accounts' rows, and the Romanian CSV itself (a JSONL of canonical records
     would lose the Romanian OCR text: the generic JSONL reader does not keep ``on_screen_text``).
     The ranked picks are walked in order with a cap of 12% of the stratum (42) per account; the
     actor-less Romanian items share ONE cap, since as singletons a per-item cap could not bind and
     the stratum would turn into a second Romanian stratum.  Ids, uncertainties and ranks go to
     round3_active_learning_picks.jsonl.
  2. ``r3:ro_diverse`` (120): Romanian ad items with OCR text, random, 60 Paid Partnership and 60
     Promotional Content (TikTok's own disclosure label).
  3. ``r3:cue_enriched_rare`` (250): random (seeded) among candidates whose caption, transcript or
     on-screen text matches CUES below (named challenges/dances/campaign calls/memes/sounds;
     creators, celebrities, athletes, TV personalities carrying a message; crisis words in the
     smaller languages — Romanian, Korean, English — since Japanese crisis cues were used in round 1),
     same 12% per-account cap (30), actor-less items sharing one cap.
  4. ``r3:per_account_random_low_coverage`` (the rest, up to N_TOTAL=840): round-robin over the named
     low-coverage accounts in a seeded order, one random post per account per turn, so every such
     account gets an (almost) equal share.
  5. ``r3:unannotated_other``: every unread non-Japanese, non-Romanian post with text (0 here).

Batches.  The drawn posts are shuffled (seeded) and dealt round-robin into batches 10, 11, 12, 13.
80 of them, 20 per batch (seeded), are also copied into ``batch_double_02.jsonl`` for an independent
second annotation (agreement study); their manifest rows say ``double_annotated: true``.
Batch rows use the layout of the earlier batches (uid, source, post_id, actor, actor_name, caption,
transcript, on_screen_text, music, flags, hashtags, mentions; Nepal translations where present);
no model score or prediction.  The batch files are git-ignored (raw handles).

Re-running replaces the ``r3:`` rows of manifest.jsonl instead of appending them twice, and draws
the same posts (same seed, same model).  Do not run it after round 3 has been annotated with a
different model in models/default.
"""

from __future__ import annotations

import csv
import json
import random
import re
import statistics
import subprocess
import sys
import tempfile
from collections import Counter
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(HERE))

from build_pool import clip  # noqa: E402

from pipeline.ingest import IngestStats, iter_posts  # noqa: E402
from pipeline.schema import has_text  # noqa: E402

csv.field_size_limit(10**9)
SEED = 20261126
N_TOTAL = 840
N_AL, N_RO, N_CUE = 350, 120, 250
CAP_SHARE = 0.12
BATCHES = ("10", "11", "12", "13")
N_DOUBLE = 80
NO_ACTOR = "<no actor>"  # cap group of the actor-less items (coverage is still per item)

JP_CSV = "jp_gov_tiktokapi/videos_flat.csv"
RO_CSV = "romania2024_commercial_content_medialab/romania-20241106-20241206-ocr.csv"
NEPAL_CSV = "nepal_election2022_tiktok/Sample_150_Test_Coherence.csv"
SOURCES = {
    "jp_gov_tiktokapi": [JP_CSV],
    "eu24_war_abortion_aiforensics": ["eu24_war_abortion_aiforensics/videos_dedup.csv"],
    "research_api_us2024_cns": ["research_api_us2024_cns/videos_dedup.jsonl",
                                "research_api_us2024_cns/video_query_responses_raw.json"],
    "zeeschuimer_tiktok_fosfor": ["zeeschuimer_tiktok_fosfor/tiktok-test.ndjson"],
    "nepal_election2022_tiktok": [NEPAL_CSV],
    "romania2024_commercial_content_medialab": [RO_CSV],
}
TRANSCRIPTS = {"eu24_war_abortion_aiforensics": "eu24_war_abortion_aiforensics/transcripts"}

CUES = {
    # named challenges, dances, campaign calls, meme templates, sounds
    "trend": r"チャレンジ|challenge|ダンス|dance|踊|振り付け|振付|duet|デュエット|stitch|歌ってみた|やってみた|"
             r"ミーム|meme|\bpov\b|trend|トレンド|流行|音源|sound|remix|エフェクト|effect|フィルター|filter|"
             r"キャンペーン|campaign|#\S*祭|参加|募集|応募|投稿してね|みんなも|みんなで|一緒に|お題|"
             r"provocare|dans|concurs|campanie|participă|participa|trend(?:ul|uri)|"
             r"챌린지|댄스|춤",
    # creators, celebrities, athletes, TV personalities carrying a message
    "messenger": r"出演|ゲスト|コラボ|collab|選手|タレント|俳優|女優|芸人|アイドル|アナウンサー|キャスター|"
                 r"声優|歌手|アーティスト|インフルエンサー|tiktoker|クリエイター|creator|ユーチューバー|youtuber|"
                 r"アンバサダー|ambassador|大使|feat\.|\bft\.|\bfeaturing\b|with\s*[@＠]|[@＠][\w.]+|"
                 r"#pr\b|#ad\b|提供|タイアップ|"
                 r"colaborare|parteneriat|în parteneriat|influencer|vedet[ăe]|artist|sportiv|campion|"
                 r"prezentator|invitat",
    # crisis words in the smaller languages (Romanian, Korean, English)
    "crisis": r"războ|razbo|ucrain|rusia|criz[ăa]|inunda[țţt]|cutremur|pandemi|covid|vaccin|refugia|"
              r"evacu|dezastru|urgen[țţt][ăa]|alert[ăa]|gaza|israel|"
              r"전쟁|재난|지진|코로나|백신|대피|"
              r"\bwar\b|earthquake|flood|typhoon|hurricane|evacuat|disaster|emergency|refugee|ukraine|"
              r"pandemic|vaccine|ceasefire|peace",
}
CUE_RE = re.compile("|".join(f"(?:{c})" for c in CUES.values()), re.I)


def read_all(root: Path) -> dict[str, dict]:
    """uid -> canonical record, for every source (project readers, as build_corpus.py)."""
    records: dict[str, dict] = {}
    for source, files in SOURCES.items():
        stats = IngestStats()
        tdir = root / TRANSCRIPTS[source] if source in TRANSCRIPTS else None
        for item in iter_posts([root / f for f in files], transcripts=tdir, stats=stats, detect_lang=False):
            if isinstance(item, dict):
                item["source"] = source
                records[f"{source}:{item['post_id']}"] = item
        print(source, stats.summary(), file=sys.stderr)
    return records


def account(uid: str, rec: dict) -> str:
    return rec.get("actor") or uid  # an actor-less post is its own account


def cap_group(uid: str, rec: dict) -> str:
    return rec.get("actor") or NO_ACTOR


def text_of(rec: dict) -> str:
    return " ".join(rec.get(f) or "" for f in ("caption", "transcript", "on_screen_text"))


def run_suggest(root: Path, low_named: set[str], n: int) -> list[dict]:
    """`corpus suggest` over the low-coverage candidates (low accounts' rows of videos_flat.csv + RO CSV)."""
    with tempfile.TemporaryDirectory() as tmp:
        sub = Path(tmp) / "videos_flat_low_coverage.csv"
        with open(root / JP_CSV, encoding="utf-8", newline="") as src, open(sub, "w", encoding="utf-8", newline="") as dst:
            reader = csv.DictReader(src)
            writer = csv.DictWriter(dst, fieldnames=reader.fieldnames)
            writer.writeheader()
            writer.writerows(r for r in reader if r["channelId"] in low_named)
        out = Path(tmp) / "suggest.jsonl"
        subprocess.run([sys.executable, "-m", "pipeline", "corpus", "suggest", str(sub), str(root / RO_CSV),
                        "-n", str(n), "-o", str(out), "--exclude", str(HERE.parent / "diplomacy_strategies.jsonl")],
                       cwd=REPO, check=True)
        return [json.loads(line) for line in open(out, encoding="utf-8")]


def take_capped(ordered: list[str], records: dict[str, dict], n: int, cap: int) -> list[str]:
    per: Counter = Counter()
    out = []
    for uid in ordered:
        g = cap_group(uid, records[uid])
        if per[g] < cap:
            per[g] += 1
            out.append(uid)
            if len(out) == n:
                break
    return out


def nepal_translations(root: Path) -> dict[str, dict]:
    out = {}
    for r in csv.DictReader(open(root / NEPAL_CSV, encoding="utf-8-sig"), delimiter=";"):
        out[r["id"]] = {"caption_en_translation": clip(r.get("video_description_en")),
                        "transcript_en_translation": clip(r.get("audio_transcript_en"))}
    return out


def batch_row(uid: str, rec: dict, ro_label: dict[str, str], nepal: dict[str, dict]) -> dict:
    flags = []
    if rec["source"].startswith("romania2024") and rec["post_id"] in ro_label:
        flags.append(f"tiktok_label:{ro_label[rec['post_id']]}")
    else:
        if rec.get("is_ad"):
            flags.append("isAd")
        if rec.get("paid_partnership"):
            flags.append("paid_partnership")
        if rec.get("duet_from"):
            flags.append("duet")
    row = {"uid": uid, "source": rec["source"], "post_id": rec["post_id"], "actor": rec.get("actor"),
           "actor_name": rec.get("actor_name"), "caption": clip(rec.get("caption")),
           "transcript": clip(rec.get("transcript")), "on_screen_text": clip(rec.get("on_screen_text")),
           "music": rec.get("music"), "flags": flags, "hashtags": rec.get("hashtags"),
           "mentions": rec.get("mentions")}
    if rec["source"] == "nepal_election2022_tiktok":
        row.update(nepal.get(rec["post_id"], {}))
    return {k: v for k, v in row.items() if v not in (None, "", [])}


def main(data_root: str) -> None:
    root = Path(data_root)
    rng = random.Random(SEED)
    # idempotent: round-3 rows of an earlier run are replaced, not appended again
    manifest = [m for m in (json.loads(line) for line in open(HERE / "manifest.jsonl", encoding="utf-8"))
                if not m["sampling"].startswith("r3:")]
    used = {m["uid"] for m in manifest}
    records = read_all(root)
    assert used <= set(records), "manifest posts missing from the readers"

    total, read = Counter(), Counter()
    for uid, rec in records.items():
        total[account(uid, rec)] += 1
        read[account(uid, rec)] += uid in used
    coverage = {a: read[a] / total[a] for a in total}
    unread = {u: r for u, r in records.items() if u not in used and has_text(r)}
    print(f"unread posts with text: {len(unread)}",
          dict(Counter(r["source"] for r in unread.values())), file=sys.stderr)
    named_left = {r["actor"] for r in unread.values() if r.get("actor")}
    median = statistics.median(coverage[a] for a in named_left)
    low_named = {a for a in named_left if coverage[a] < median}
    print(f"median coverage {median:.3f} over {len(named_left)} named accounts with unread posts; "
          f"{len(low_named)} below it", file=sys.stderr)
    cand = {u: r for u, r in unread.items()
            if r["source"] in ("jp_gov_tiktokapi", "romania2024_commercial_content_medialab")
            and (r["actor"] in low_named if r.get("actor") else True)}

    chosen: dict[str, str] = {}
    # 1. active learning over the low-coverage candidates, per-account cap
    by_pid = {r["post_id"]: u for u, r in cand.items()}
    sugg = run_suggest(root, low_named, 1500)
    ranked = [by_pid[str(s["post_id"])] for s in sugg if str(s["post_id"]) in by_pid]
    al = take_capped(ranked, records, N_AL, round(CAP_SHARE * N_AL))
    for u in al:
        chosen[u] = "r3:active_learning_low_coverage"
    info = {str(s["post_id"]): s for s in sugg}
    with open(HERE / "round3_active_learning_picks.jsonl", "w", encoding="utf-8") as fh:
        for u in al:
            s = info[records[u]["post_id"]]
            fh.write(json.dumps({"post_id": records[u]["post_id"], "uncertainty": s["uncertainty"],
                                 "suggestion_rank": s["suggestion_rank"]}) + "\n")

    # 2. Romanian ad items with OCR text, half Paid Partnership, half Promotional Content
    ro_label = {r["id"]: r["label"] for r in csv.DictReader(open(root / RO_CSV, encoding="utf-8"))}
    for label in ("Paid Partnership", "Promotional Content"):
        pool = sorted(u for u, r in cand.items() if u not in chosen and r["source"].startswith("romania2024")
                      and (r.get("on_screen_text") or "").strip() and ro_label.get(r["post_id"]) == label)
        for u in rng.sample(pool, N_RO // 2):
            chosen[u] = "r3:ro_diverse"

    # 3. cue-enriched (cues choose what is read, never the label), per-account cap
    hits = sorted(u for u, r in cand.items() if u not in chosen and CUE_RE.search(text_of(r)))
    rng.shuffle(hits)
    cue = take_capped(hits, records, N_CUE, round(CAP_SHARE * N_CUE))
    for u in cue:
        chosen[u] = "r3:cue_enriched_rare"
    print(f"{len(hits)} unread cue hits among the candidates", file=sys.stderr)

    # 5. (before 4, so that 4 fills up to N_TOTAL) every unread non-JP, non-RO post with text
    other = sorted(u for u, r in unread.items()
                   if r["source"] not in ("jp_gov_tiktokapi", "romania2024_commercial_content_medialab"))
    for u in other:
        chosen[u] = "r3:unannotated_other"

    # 4. per-account random over the named low-coverage accounts, round-robin
    queues = {}
    for a in sorted(low_named):
        q = sorted(u for u, r in cand.items() if r.get("actor") == a and u not in chosen)
        rng.shuffle(q)
        queues[a] = q
    order = sorted(low_named)
    rng.shuffle(order)
    while len(chosen) < N_TOTAL and any(queues.values()):
        for a in order:
            if queues[a] and len(chosen) < N_TOTAL:
                chosen[queues[a].pop()] = "r3:per_account_random_low_coverage"

    # batches: seeded shuffle, round-robin over 10-13; 20 per batch double-annotated
    drawn = sorted(chosen)
    rng.shuffle(drawn)
    batch_of = {u: BATCHES[i % len(BATCHES)] for i, u in enumerate(drawn)}
    double = set()
    for b in BATCHES:
        double.update(rng.sample([u for u in drawn if batch_of[u] == b], N_DOUBLE // len(BATCHES)))

    with open(HERE / "manifest.jsonl", "w", encoding="utf-8") as man:
        for m in manifest:
            man.write(json.dumps(m) + "\n")
        for u in drawn:
            rec = records[u]
            man.write(json.dumps({"uid": u, "source": rec["source"], "post_id": rec["post_id"], "sampling": chosen[u],
                                  "batch": batch_of[u], "double_annotated": u in double}) + "\n")

    nepal = nepal_translations(root)
    out_dir = HERE.parent / "annotations" / "batches"
    out_dir.mkdir(parents=True, exist_ok=True)
    files = {b: [u for u in drawn if batch_of[u] == b] for b in BATCHES}
    files["double_02"] = [u for u in drawn if u in double]
    for b, uids in files.items():
        with open(out_dir / f"batch_{b}.jsonl", "w", encoding="utf-8") as fh:
            for u in uids:
                fh.write(json.dumps(batch_row(u, records[u], ro_label, nepal), ensure_ascii=False) + "\n")

    strata = Counter(chosen.values())
    print(json.dumps({"drawn": len(chosen), "strata": strata, "batches": {b: len(v) for b, v in files.items()},
                      "low_coverage_accounts": sorted(low_named), "median_coverage": round(median, 4)},
                     ensure_ascii=False, indent=1))


if __name__ == "__main__":
    main(sys.argv[1])
