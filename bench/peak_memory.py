"""Wall time and peak memory of a command and every process it starts (Linux, /proc).

    .venv/bin/python bench/peak_memory.py [--interval 0.25] -- COMMAND [ARG ...]

``label`` runs worker processes (forked from a forkserver, grandchildren of the command), so
the command's own ``ru_maxrss`` (``/usr/bin/time %M``) misses most of the memory. This samples
the whole process tree every ``--interval`` seconds and prints the peak of the summed
proportional set size (PSS: pages shared between processes, such as the libraries the forked
workers inherit, are divided among them, so the sum is the memory the run really uses) and of
the summed RSS (shared pages counted once per process). Peaks shorter than the interval can be
missed (a 10,000-post chunk takes about a second). Reading ``smaps_rollup`` of a few large
processes costs ~20 ms of CPU per sample here, ~8% of one core at the default interval, so
take speed figures from bench_label.py, not from the times printed here. Prints only, never asserts.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path


@dataclass
class TreePeak:
    seconds: float
    pss_mb: float
    rss_mb: float
    returncode: int
    stderr: str


def _tree(pid: int) -> list[int]:
    """``pid`` and all its descendants."""
    out, todo = [], [pid]
    while todo:
        p = todo.pop()
        out.append(p)
        try:
            todo += [int(c) for c in Path(f"/proc/{p}/task/{p}/children").read_text().split()]
        except OSError:  # exited meanwhile
            pass
    return out


def _field_kb(path: str, name: str) -> int:
    try:
        with open(path) as fh:
            for line in fh:
                if line.startswith(name):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


def run_sampled(cmd: list[str], interval: float = 0.25, cwd: Path | None = None) -> TreePeak:
    """Run ``cmd`` (stdout discarded, stderr captured), sampling its process tree's memory."""
    start = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, cwd=cwd)
    pss = rss = 0
    while proc.poll() is None:
        pids = _tree(proc.pid)
        pss = max(pss, sum(_field_kb(f"/proc/{p}/smaps_rollup", "Pss:") for p in pids))
        rss = max(rss, sum(_field_kb(f"/proc/{p}/status", "VmRSS:") for p in pids))
        time.sleep(interval)
    stderr = proc.stderr.read() if proc.stderr else ""
    proc.wait()
    return TreePeak(time.perf_counter() - start, pss / 1024, rss / 1024, proc.returncode, stderr)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--interval", type=float, default=0.25, help="seconds between samples")
    ap.add_argument("command", nargs=argparse.REMAINDER, help="the command, after --")
    args = ap.parse_args()
    cmd = args.command[1:] if args.command[:1] == ["--"] else args.command
    if not cmd:
        ap.error("give the command to run after --")
    peak = run_sampled(cmd, args.interval)
    sys.stderr.write(peak.stderr)
    print(f"{peak.seconds:.2f} s; peak memory of the process tree: {peak.pss_mb:,.0f} MB PSS "
          f"({peak.rss_mb:,.0f} MB summed RSS); exit {peak.returncode}")


if __name__ == "__main__":
    main()
