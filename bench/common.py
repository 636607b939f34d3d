"""Shared helpers for the benchmark scripts (run by hand; they print figures, never assert)."""

from __future__ import annotations

import json
import random
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CORPUS = ROOT / "corpora" / "diplomacy_strategies.jsonl"
KEEP = ("actor", "caption", "transcript", "on_screen_text", "hashtags", "mentions", "paid_partnership", "is_ad",
        "views", "likes", "shares", "comments", "created_at")


def corpus_posts() -> list[dict]:
    return [json.loads(line) for line in open(CORPUS, encoding="utf-8")]


def synthetic_posts(n: int, *, kind: str = "caption", seed: int = 0) -> list[dict]:
    """``n`` posts made by re-sampling real corpus posts with fresh ids.

    kind="caption": caption/on-screen text only (transcript dropped);
    kind="transcript": posts that have a transcript, caption dropped.
    """
    rng = random.Random(seed)
    base = corpus_posts()
    if kind == "transcript":
        base = [p for p in base if p.get("transcript")]
    out = []
    for i in range(n):
        p = rng.choice(base)
        rec = {k: p[k] for k in KEEP if k in p}
        if kind == "caption":
            rec.pop("transcript", None)
        else:
            rec.pop("caption", None)
        rec["post_id"] = str(10**18 + i)
        out.append(rec)
    return out


def write_jsonl(posts: list[dict], path: Path) -> Path:
    with open(path, "w", encoding="utf-8") as fh:
        for p in posts:
            fh.write(json.dumps(p, ensure_ascii=False) + "\n")
    return path
