"""Shared helpers for the benchmark scripts (run by hand; they print figures, never assert)."""

from __future__ import annotations

import json
import random
import statistics
import subprocess
import time
from collections.abc import Callable, Sequence
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CORPUS = ROOT / "corpora" / "diplomacy_strategies.jsonl"
KEEP = ("actor", "caption", "transcript", "on_screen_text", "hashtags", "mentions", "paid_partnership", "is_ad",
        "views", "likes", "shares", "comments", "created_at")


def corpus_posts() -> list[dict]:
    return [json.loads(line) for line in open(CORPUS, encoding="utf-8")]


def synthetic_posts(n: int, *, kind: str = "caption", seed: int = 0,
                    language: Callable[[str], bool] | None = None) -> list[dict]:
    """``n`` posts made by re-sampling real corpus posts with fresh ids.

    kind="caption": caption/on-screen text only (transcript dropped);
    kind="transcript": posts that have a transcript, caption dropped.
    language: re-sample only corpus posts whose annotated ``language`` passes this test.
    """
    rng = random.Random(seed)
    base = corpus_posts()
    if kind == "transcript":
        base = [p for p in base if p.get("transcript")]
    if language is not None:
        base = [p for p in base if language(p.get("language") or "")]
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


def write_resampled(path: Path, n: int, *, seed: int = 1, transcripts: bool = True) -> int:
    """Write ``n`` corpus posts drawn with replacement (fresh numeric ids) as JSONL; return its size in bytes."""
    base = [{k: p[k] for k in KEEP if k in p and (transcripts or k != "transcript")} for p in corpus_posts()]
    rng = random.Random(seed)
    with open(path, "w", encoding="utf-8") as fh:
        for i in range(n):
            rec = dict(rng.choice(base))
            rec["post_id"] = str(10**18 + i)
            fh.write(json.dumps(rec, ensure_ascii=False) + "\n")
    return path.stat().st_size


def write_jsonl(posts: list[dict], path: Path) -> Path:
    with open(path, "w", encoding="utf-8") as fh:
        for p in posts:
            fh.write(json.dumps(p, ensure_ascii=False) + "\n")
    return path


def timed(fn: Callable[[], object], repeat: int) -> float:
    """Median wall-clock seconds of ``repeat`` calls of ``fn``."""
    runs = []
    for _ in range(repeat):
        t = time.perf_counter()
        fn()
        runs.append(time.perf_counter() - t)
    return statistics.median(runs)


def head_posts(path: Path, n: int) -> list[dict]:
    """The first ``n`` posts of a JSONL file."""
    with open(path, encoding="utf-8") as fh:
        return [json.loads(line) for _, line in zip(range(n), fh)]


def timed_or_error(fn: Callable[[], object], repeat: int) -> float | str:
    """:func:`timed`, or the error as text if ``fn`` fails (the tree may be mid-edit)."""
    try:
        return timed(fn, repeat)
    except Exception as exc:  # noqa: BLE001 - a benchmark reports a broken stage and goes on
        return f"FAILED ({type(exc).__name__}: {exc})"


def run_command(cmd: Sequence[str]) -> None:
    """Run ``cmd`` in the repo root; on failure raise with the last line of its stderr (not a bare exit code)."""
    proc = subprocess.run(list(cmd), cwd=ROOT, capture_output=True, text=True)
    if proc.returncode:
        last = (proc.stderr.strip().splitlines() or ["(no stderr)"])[-1]
        raise RuntimeError(f"exit {proc.returncode}: {last}")


def throughput(n: int, fn: Callable[[], object], repeat: int) -> float | str:
    """``n`` items / median seconds of ``fn``; the error as text if ``fn`` fails (the tree may be mid-edit)."""
    seconds = timed_or_error(fn, repeat)
    return n / seconds if isinstance(seconds, float) else seconds


def fmt_rate(rate: float | str) -> str:
    return f"{rate:,.0f}/s" if isinstance(rate, float) else rate


def fmt_ratio(ours: float | str, theirs: float | str) -> str:
    return f"{ours / theirs:.2f}×" if isinstance(ours, float) and isinstance(theirs, float) else "n/a"
