"""Peak memory of `tiktok-diplomacy label` on a large JSONL: flat in file size when streaming.

    .venv/bin/python bench/bench_stream_memory.py --posts 1000000 [--ingest-only] [--model fast]

Writes a JSONL of N caption posts (real corpus posts re-sampled with fresh ids) to a temp dir,
runs the CLI in a child process and prints the peak memory of it and every process it starts
(the label workers; see peak_memory.py), the time, and the posts/s.  --ingest-only measures
reading+cleaning+language ID alone (iter_posts), which is what
bounds memory; labelling adds the model's per-chunk working set.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import write_resampled  # noqa: E402
from peak_memory import run_sampled  # noqa: E402

from pipeline.label.workers import CHUNK_SIZE  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
INGEST_ONLY = """
import sys
from pathlib import Path
from pipeline.ingest import IngestStats, iter_posts
s = IngestStats()
for _ in iter_posts([Path(sys.argv[1])], stats=s):
    pass
print(s.summary(), file=sys.stderr)
"""


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--posts", type=int, default=1_000_000)
    ap.add_argument("--ingest-only", action="store_true")
    ap.add_argument("--chunk-size", type=int, default=CHUNK_SIZE, help="label --chunk-size (default: the CLI's)")
    ap.add_argument("--workers", type=int, default=None, help="label --workers (default: the CLI's own)")
    ap.add_argument("--model", default=None, help="label --model: a model folder or a shipped model's name")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        src = Path(tmp) / "big.jsonl"
        size = write_resampled(src, args.posts, transcripts=False)
        if args.ingest_only:
            cmd = [sys.executable, "-c", INGEST_ONLY, str(src)]
        else:
            cmd = [str(Path(sys.executable).parent / "tiktok-diplomacy"), "label", str(src), "-o",
                   str(Path(tmp) / "out.jsonl"), "--chunk-size", str(args.chunk_size)]
            if args.workers is not None:
                cmd += ["--workers", str(args.workers)]
            if args.model is not None:
                cmd += ["--model", args.model]
        res = run_sampled(cmd, cwd=ROOT)
        secs = res.seconds
        print(res.stderr.strip().splitlines()[0] if res.stderr.strip() else "(no summary)")
        mode = "ingest only" if args.ingest_only else f"label, chunk {args.chunk_size}, model {args.model or 'default'}"
        print(f"{args.posts:,} posts, {size / 1e6:,.0f} MB JSONL, {mode}: peak memory of all processes "
              f"{res.pss_mb:,.0f} MB PSS ({res.rss_mb:,.0f} MB summed RSS), {secs:,.0f} s "
              f"({args.posts / secs:,.0f} posts/s); exit {res.returncode}")


if __name__ == "__main__":
    main()
