"""Throughput and peak memory per worker: `label --engine local` against `label --engine dask`.

    .venv/bin/python bench/bench_dask.py --posts 200000 [--workers 2] [--partitions N] [--keep DIR]

Writes a JSONL of N posts re-sampled from the annotated corpus (all their fields, transcripts
included where the corpus has one; fresh ids), then runs the CLI twice on it in child
processes: the local engine (`--workers W`) and the Dask engine (a LocalCluster of W worker
processes, one thread each; the CLI starts and stops it). Each run's process tree is sampled
every --interval seconds (PSS from /proc, see peak_memory.py); printed are the wall time
(start-up included), posts/s, the peak of the summed PSS of all processes, and each process's
own peak, largest first, so the reading/writing process and each worker show separately.
The two outputs are compared byte for byte. Prints only, never asserts; Linux only.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import write_resampled  # noqa: E402
from peak_memory import _field_kb  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
CLI = ROOT / ".venv" / "bin" / "tiktok-diplomacy"


@dataclass
class Run:
    seconds: float
    total_mb: float
    per_process: dict[int, tuple[str, float]] = field(default_factory=dict)
    returncode: int = 0
    stderr: str = ""


def _tree(pid: int) -> list[int]:
    """``pid`` and its descendants, including children started by any of its threads (Dask's
    nannies start worker processes from the event-loop thread, not the main one)."""
    out, todo = [], [pid]
    while todo:
        p = todo.pop()
        out.append(p)
        try:
            for task in Path(f"/proc/{p}/task").iterdir():
                todo += [int(c) for c in (task / "children").read_text().split()]
        except OSError:  # exited meanwhile
            pass
    return out


def _cmdline(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\x00", b" ").decode(errors="replace")
    except OSError:
        return ""


def _parent(pid: int) -> int:
    try:
        return int(Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[1])
    except (OSError, ValueError, IndexError):
        return 0


def _role(pid: int, root: int) -> str:
    if pid == root:
        return "CLI (reads, writes; with dask also client and scheduler)"
    cmd = _cmdline(pid)
    if "forkserver" in cmd:
        return "worker process (forked)" if "forkserver" in _cmdline(_parent(pid)) else "forkserver"
    if "spawn_main" in cmd:
        return "worker process (spawned)"
    if "resource_tracker" in cmd:
        return "resource tracker"
    return cmd[:60]


def run_sampled(cmd: list[str], interval: float) -> Run:
    start = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    total, peaks = 0, {}
    while proc.poll() is None:
        now = 0
        for pid in _tree(proc.pid):
            kb = _field_kb(f"/proc/{pid}/smaps_rollup", "Pss:")
            now += kb
            if kb > peaks.get(pid, (None, 0))[1]:
                peaks[pid] = (_role(pid, proc.pid), kb)
        total = max(total, now)
        time.sleep(interval)
    stderr = proc.stderr.read() if proc.stderr else ""
    proc.wait()
    per = {pid: (role, kb / 1024) for pid, (role, kb) in peaks.items()}
    return Run(time.perf_counter() - start, total / 1024, per, proc.returncode, stderr)


def report(name: str, run: Run, posts: int) -> None:
    print(f"\n{name}: {run.seconds:.1f} s, {posts / run.seconds:,.0f} posts/s, peak summed PSS {run.total_mb:,.0f} MB"
          f" (exit {run.returncode})")
    for _pid, (role, mb) in sorted(run.per_process.items(), key=lambda kv: -kv[1][1]):
        if mb >= 20:
            print(f"  {mb:7,.0f} MB  {role}")
    if run.returncode:
        print(run.stderr[-2000:])
    else:
        print("  " + run.stderr.strip().splitlines()[-3])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--posts", type=int, default=200_000)
    ap.add_argument("--workers", type=int, default=2, help="local --workers, and Dask worker processes")
    ap.add_argument("--partitions", type=int, default=None, help="label --partitions (default: the CLI's)")
    ap.add_argument("--interval", type=float, default=0.5, help="seconds between memory samples")
    ap.add_argument("--keep", type=Path, default=None, help="write the input and outputs here (kept)")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        work = args.keep or Path(tmp)
        work.mkdir(parents=True, exist_ok=True)
        src = work / "posts.jsonl"
        size = write_resampled(src, args.posts)
        print(f"{args.posts:,} posts re-sampled from the corpus, {size / 1e6:,.0f} MB JSONL; {args.workers} workers")
        local = run_sampled([str(CLI), "label", str(src), "-o", str(work / "local.jsonl"),
                             "--workers", str(args.workers)], args.interval)
        report(f"--engine local --workers {args.workers}", local, args.posts)
        # the CLI sizes its LocalCluster to the CPUs it may use: with fewer workers than CPUs asked
        # for, pin the run to that many CPUs (taskset, Linux)
        dask_cmd = [str(CLI), "label", str(src), "-o", str(work / "dask.jsonl"), "--engine", "dask"]
        if args.partitions:
            dask_cmd += ["--partitions", str(args.partitions)]
        if args.workers < len(os.sched_getaffinity(0)):
            dask_cmd = ["taskset", "-c", ",".join(map(str, range(args.workers))), *dask_cmd]
        dask = run_sampled(dask_cmd, args.interval)
        report(f"--engine dask (LocalCluster, {args.workers} processes x 1 thread)", dask, args.posts)
        same = (work / "local.jsonl").read_bytes() == (work / "dask.jsonl").read_bytes()
        print(f"\noutputs identical: {same}")
        workers = lambda r: [mb for role, mb in r.per_process.values() if role.startswith("worker")]  # noqa: E731
        lw, dw = workers(local), workers(dask)
        print(f"dask / local: time {dask.seconds / local.seconds:.2f}x, throughput {local.seconds / dask.seconds:.2f}x, "
              f"peak summed PSS {dask.total_mb / local.total_mb:.2f}x, "
              f"largest worker {max(dw or [0]):,.0f} MB vs {max(lw or [0]):,.0f} MB")


if __name__ == "__main__":
    main()
