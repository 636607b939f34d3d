"""Faults and interrupts: SIGINT/SIGTERM mid-run, a full disk, unwritable outputs, two runs on one output.

Each runs the real CLI in a subprocess (its own session, so that every process it starts can be
found afterwards) and checks that no partial file is left under the final name, the previous
output is untouched and no child process survives.
"""

from __future__ import annotations

import json
import os
import resource
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow
CLI = [sys.executable, "-m", "pipeline"]


def _posts(path: Path, n: int) -> Path:
    with open(path, "w", encoding="utf-8") as fh:
        for i in range(n):
            fh.write(json.dumps({"post_id": str(i), "actor": f"a{i % 50}",
                                 "caption": f"Embassy statement {i} on the typhoon: evacuation centres open #{i % 7}"}) + "\n")
    return path


def _session_members(sid: int) -> list[int]:
    """Processes still alive in session ``sid`` (zombies not counted)."""
    out = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        fields = stat[stat.rindex(")") + 2:].split()
        if int(fields[3]) == sid and fields[0] != "Z":
            out.append(int(entry.name))
    return out


def _wait_gone(sid: int, timeout: float = 15.0) -> list[int]:
    end = time.monotonic() + timeout
    while (left := _session_members(sid)) and time.monotonic() < end:
        time.sleep(0.2)
    return left


def _visible(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir())


@pytest.mark.parametrize("sig,code", [(signal.SIGINT, 130), (signal.SIGTERM, 143)])
@pytest.mark.parametrize("workers", ["1", "2"])
def test_interrupt_mid_run_leaves_previous_output_and_no_process(tmp_path, sig, code, workers):
    src = _posts(tmp_path / "in.jsonl", 60_000)
    out = tmp_path / "out.jsonl"
    out.write_text("previous\n", encoding="utf-8")
    # a shell without job control starts background jobs with SIGINT ignored, and children inherit
    # that: give the command the default disposition a user's terminal gives it
    proc = subprocess.Popen([*CLI, "label", str(src), "-o", str(out), "--workers", workers, "--chunk-size", "2000"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True,
                            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    # interrupt once labelling is under way: the temporary output exists and has grown
    end = time.monotonic() + 120
    while time.monotonic() < end and proc.poll() is None:
        tmps = [p for p in tmp_path.iterdir() if p.name.startswith(".tiktok-diplomacy-tmp-out.jsonl")]
        if tmps and tmps[0].stat().st_size > 0:
            break
        time.sleep(0.05)
    assert proc.poll() is None, proc.communicate()
    proc.send_signal(sig)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == code, err
    assert "interrupted" in err and "nothing written" in err and "Traceback" not in err
    assert out.read_text(encoding="utf-8") == "previous\n"
    assert _visible(tmp_path) == ["in.jsonl", "out.jsonl"]  # no temporary, rejects or lock file left
    assert _wait_gone(proc.pid) == []


def test_disk_full_leaves_nothing_and_says_so(tmp_path):
    src = _posts(tmp_path / "in.jsonl", 3_000)
    out = tmp_path / "o" / "out.jsonl"

    def limit() -> None:  # ``ulimit -f``: writes beyond 64 KiB fail like a full disk
        resource.setrlimit(resource.RLIMIT_FSIZE, (65536, 65536))

    res = subprocess.run([*CLI, "label", str(src), "-o", str(out), "--workers", "1"], capture_output=True,
                         text=True, preexec_fn=limit, timeout=300)
    assert res.returncode == 1, res.stderr
    assert "nothing was written" in res.stderr and "Traceback" not in res.stderr
    assert len(res.stderr.strip().splitlines()) == 1
    assert _visible(out.parent) == []


@pytest.mark.parametrize("where", ["under_a_file", "read_only_dir"])
def test_unwritable_output_is_one_line_before_reading(tmp_path, where):
    src = _posts(tmp_path / "in.jsonl", 5)
    if where == "under_a_file":
        (tmp_path / "f").write_text("x")
        out = tmp_path / "f" / "out.jsonl"
    else:
        if os.geteuid() == 0:
            pytest.skip("root can write to read-only folders")
        ro = tmp_path / "ro"
        ro.mkdir(mode=0o500)
        out = ro / "out.jsonl"
    res = subprocess.run([*CLI, "label", str(src), "-o", str(out), "--workers", "1"], capture_output=True,
                         text=True, timeout=300)
    assert res.returncode == 1 and "cannot write here" in res.stderr and "Traceback" not in res.stderr


def test_second_run_on_the_same_output_is_refused(tmp_path):
    src = _posts(tmp_path / "in.jsonl", 40_000)
    out = tmp_path / "out.jsonl"
    first = subprocess.Popen([*CLI, "label", str(src), "-o", str(out), "--workers", "1"],
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    end = time.monotonic() + 60
    while not (tmp_path / ".out.jsonl.lock").exists() and time.monotonic() < end:
        time.sleep(0.05)
    second = subprocess.run([*CLI, "label", str(src), "-o", str(out), "--workers", "1"], capture_output=True,
                            text=True, timeout=300)
    _, err = first.communicate(timeout=300)
    assert first.returncode == 0, err
    assert second.returncode == 1 and "another run is writing this output" in second.stderr
    assert sum(1 for _ in open(out, encoding="utf-8")) == 40_000


def test_stdin_dev_stdin_and_process_substitution_are_read(tmp_path):
    import gzip
    import shlex

    src = _posts(tmp_path / "in.jsonl", 30)
    gz = tmp_path / "in.jsonl.gz"
    gz.write_bytes(gzip.compress(src.read_bytes()))
    cli = " ".join(shlex.quote(a) for a in CLI)
    for i, how in enumerate([f"{cli} label - -o o0.jsonl --workers 1 < in.jsonl",
                             f"{cli} label /dev/stdin -o o1.jsonl --workers 1 < in.jsonl",
                             f"{cli} label <(zcat in.jsonl.gz) -o o2.jsonl --workers 1"]):
        res = subprocess.run(["bash", "-c", how], cwd=tmp_path, capture_output=True, text=True, timeout=300)
        assert res.returncode == 0 and "30 labelled — of 30 records read" in res.stderr, (how, res.stderr)
        assert sum(1 for _ in open(tmp_path / f"o{i}.jsonl", encoding="utf-8")) == 30
