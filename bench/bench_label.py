"""Throughput of labelling, end to end and per stage, on captions and on transcripts.

    .venv/bin/python bench/bench_label.py [--n 20000] [--model models/default] [--workers 1 2] [--explain]

Prints posts/s for: reading+cleaning+language ID (iter_posts), feature preparation, model
prediction, and the whole `label_files` path, for caption-only and transcript posts.
"end-to-end label" runs `label_files` in this (warm) process with one worker. With
``--workers 1 2`` the `tiktok-diplomacy label` command is also timed as a fresh process per
worker count ("CLI"): interpreter start, model loading and each process's spaCy/Sudachi
start-up included, as a user sees it. ``--explain`` adds the same with explanations.
Figures are medians of --repeat runs; the machine is shared and noisy, compare ratios.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import ROOT, synthetic_posts, write_jsonl  # noqa: E402

from pipeline.features import PostPreprocessor  # noqa: E402
from pipeline.ingest import iter_posts  # noqa: E402
from pipeline.label import label_files  # noqa: E402
from pipeline.model_io import load_model  # noqa: E402


def timed(fn, repeat: int) -> float:
    runs = []
    for _ in range(repeat):
        t = time.perf_counter()
        fn()
        runs.append(time.perf_counter() - t)
    return statistics.median(runs)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--n", type=int, default=20000)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--model", type=Path, default=None)
    ap.add_argument("--workers", type=int, nargs="*", default=[],
                    help="worker counts to time as a fresh CLI process each, e.g. --workers 1 2")
    ap.add_argument("--chunk-size", type=int, default=2000,
                    help="posts per chunk (small enough that --n gives every worker several chunks)")
    ap.add_argument("--explain", action="store_true", help="also time the CLI runs with --explain")
    args = ap.parse_args()
    model, _ = load_model(args.model)
    n_tr = max(1000, args.n // 5)
    with tempfile.TemporaryDirectory() as tmp:
        for kind, n in (("caption", args.n), ("transcript", n_tr)):
            path = write_jsonl(synthetic_posts(n, kind=kind), Path(tmp) / f"{kind}.jsonl")
            recs = [r for r in iter_posts([path]) if isinstance(r, dict)]
            model.predict_proba(recs[:200])  # warm up: spaCy pipelines, Sudachi dictionary
            t_ingest = timed(lambda: [r for r in iter_posts([path])], args.repeat)
            t_prep = timed(lambda: PostPreprocessor().transform(recs), args.repeat)
            t_pred = timed(lambda: model.predict_proba(recs), args.repeat)
            out = Path(tmp) / "out.jsonl"
            t_all = timed(lambda: label_files([path], out, model_dir=args.model, progress=False,
                                              chunk_size=args.chunk_size), args.repeat)
            ends = [f"end-to-end label {n / t_all:,.0f}/s"]
            for explain in (False, True) if args.explain else (False,):
                for w in args.workers:
                    cmd = [sys.executable, "-m", "pipeline", "label", str(path), "-o", str(out),
                           "--chunk-size", str(args.chunk_size), "--workers", str(w)]
                    cmd += (["--model", str(args.model)] if args.model else []) + (["--explain"] if explain else [])
                    t_cli = timed(lambda: subprocess.run(cmd, cwd=ROOT, check=True, capture_output=True), args.repeat)
                    ends.append(f"CLI{' --explain' if explain else ''} workers={w} {n / t_cli:,.0f}/s")
            print(f"{kind}s (n={n}, chunk {args.chunk_size}): ingest+clean+langid {n / t_ingest:,.0f}/s | "
                  f"features prep {n / t_prep:,.0f}/s | predict_proba (incl. prep) {n / t_pred:,.0f}/s | "
                  + " | ".join(ends), flush=True)


if __name__ == "__main__":
    main()
