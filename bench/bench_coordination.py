"""Time and peak memory of ``tiktok-diplomacy coordination`` on N synthetic labelled posts (run by hand).

    .venv/bin/python bench/bench_coordination.py [--posts 1000000] [--planted 50] [--keep DIR]

Background posts are unrelated: 8–40 words drawn from the real corpus's word stream (so word
frequencies are natural), one of 20,000 accounts, a time anywhere in one year; 10% of them are
boilerplate (only reach hashtags), 20% carry on-screen text and 5% a transcript of 60–150 words.
Planted clusters: ``--planted`` texts, each posted by 3–8 accounts within 6 hours with small
edits.  The command runs in a fresh process, sampled by ``peak_memory.run_sampled`` (peak PSS of
the process tree); the script then reports how many planted clusters were found and how many
other clusters appeared.  Prints only, never asserts.
"""

from __future__ import annotations

import argparse
import random
import sys
import tempfile
import time
from pathlib import Path

import orjson
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import CORPUS, ROOT  # noqa: E402
from peak_memory import run_sampled  # noqa: E402

START = pd.Timestamp("2024-01-01", tz="UTC").timestamp()
YEAR = 365 * 24 * 3600


def _words() -> list[str]:
    words = []
    for line in open(CORPUS, encoding="utf-8"):
        rec = orjson.loads(line)
        for f in ("caption", "transcript"):
            words += (rec.get(f) or "").split()
    return [w for w in words if not w.startswith(("#", "@", "http"))]


def _iso(ts: float) -> str:
    return pd.Timestamp(ts, unit="s", tz="UTC").isoformat()


def generate(path: Path, n: int, planted: int, seed: int = 0) -> None:
    rng = random.Random(seed)
    words = _words()
    with open(path, "wb") as fh:
        for i in range(n):
            r = rng.random()
            caption = ("#fyp #foryou #viral" if r < 0.10 else " ".join(rng.choices(words, k=rng.randint(8, 40))))
            rec = {"post_id": f"b{i}", "actor": f"acct{rng.randrange(20_000)}",
                   "created_at": _iso(START + rng.random() * YEAR), "caption": caption,
                   "labels": ["crisis_messaging"] if rng.random() < 0.2 else [], "scores": {}}
            if rng.random() < 0.2:
                rec["on_screen_text"] = " ".join(rng.choices(words, k=rng.randint(5, 15)))
            if rng.random() < 0.05:
                rec["transcript"] = " ".join(rng.choices(words, k=rng.randint(60, 150)))
            fh.write(orjson.dumps(rec) + b"\n")
        for c in range(planted):
            text = " ".join(rng.choices(words, k=rng.randint(15, 40))) + f" #campaign{c} @hub{c}"
            t0 = START + rng.random() * YEAR
            for k in range(rng.randint(3, 8)):
                edit = text + ("!" if k % 2 else "") + (" #fyp" if k % 3 == 0 else "")
                fh.write(orjson.dumps({"post_id": f"p{c}-{k}", "actor": f"net{c}-{k}", "caption": edit,
                                       "created_at": _iso(t0 + rng.random() * 6 * 3600), "labels": [],
                                       "scores": {}}) + b"\n")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--posts", type=int, default=1_000_000)
    ap.add_argument("--planted", type=int, default=50)
    ap.add_argument("--keep", type=Path, help="Work in this folder and keep the files (default: a temporary one).")
    ap.add_argument("--reuse", action="store_true", help="Reuse labelled.jsonl already in --keep (same --posts).")
    args = ap.parse_args()
    work = args.keep or Path(tempfile.mkdtemp(prefix="bench_coord_"))
    work.mkdir(parents=True, exist_ok=True)
    data = work / "labelled.jsonl"
    t = time.perf_counter()
    if args.reuse and data.is_file():
        print(f"reusing {data} ({data.stat().st_size / 1e6:.0f} MB)")
    else:
        generate(data, args.posts, args.planted)
        print(f"generated {args.posts:,} background + planted posts ({data.stat().st_size / 1e6:.0f} MB) "
              f"in {time.perf_counter() - t:.0f} s")
    cmd = [str(ROOT / ".venv" / "bin" / "tiktok-diplomacy"), "coordination", str(data), "-o", str(work / "out")]
    peak = run_sampled(cmd)
    print(f"coordination: {peak.seconds:.1f} s, peak PSS {peak.pss_mb:,.0f} MB (RSS {peak.rss_mb:,.0f} MB), "
          f"exit {peak.returncode}")
    print("  " + peak.stderr.strip().replace("\n", "\n  "))
    if peak.returncode == 0:
        members = pd.read_parquet(work / "out" / "cluster_posts.parquet")
        found = members.groupby("cluster_id")["post_id"].apply(lambda s: {p.split("-")[0] for p in s})
        planted = {f"p{c}" for c in range(args.planted)}
        exact = sum(1 for s in found if len(s) == 1 and next(iter(s)) in planted)
        other = sum(1 for s in found if not s <= planted)
        print(f"planted clusters found: {exact} of {args.planted}; other clusters: {other}")


if __name__ == "__main__":
    main()
