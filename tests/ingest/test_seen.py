"""The compact duplicate-id set: the same answers as a dict of first positions, also when hashes
collide, and through :func:`pipeline.ingest.iter_posts` the same reject messages across files and chunks."""

import json
import random
from pathlib import Path

import pytest

import pipeline.ingest.seen as seen_mod
from pipeline.ingest import IngestStats, Reject, chunked, iter_posts
from pipeline.ingest.seen import SeenIds

_MULTIPLIER = 0x9E3779B97F4A7C15


def _replay(ids, files=("a.jsonl", "b.jsonl", "c.csv"), multiplier=None):
    """Feed ``ids`` to a SeenIds and to a dict; both must answer alike for every id."""
    seen, ref = SeenIds(multiplier), {}
    for line, pid in enumerate(ids, start=1):
        where = (files[line % len(files)], line)
        assert seen.first_or_add(pid, *where) == ref.get(pid), pid
        ref.setdefault(pid, where)
    assert len(seen) == len(ref)
    return seen


def _odd_ids():
    return ["0", "7", "007", "07", "\u0663", "3", "\uff13", "9223372036854775806", "9223372036854775807",
            "18446744073709551616", "1" * 19, "1" * 20, "-5", "+5", " 5", "5.0", "a\ud800", "\u00e9t\u00e9",
            "post_1", "", "x" * 500]


def test_same_first_positions_as_a_dict_for_all_kinds_of_ids():
    rng = random.Random(7)
    ids = [str(7 * 10**18 + rng.getrandbits(40)) for _ in range(6000)] + [f"p{i}" for i in range(3000)] + _odd_ids()
    stream = ids + rng.sample(ids, 4000) + _odd_ids()
    rng.shuffle(stream)
    seen = _replay(stream)
    assert max(len(k) for k in seen._keys) > 16  # the parts grew on the way


def test_numeric_ids_are_stored_exactly_and_others_by_hash():
    seen = SeenIds()
    for pid in ("7", "007", "\u0663", "9223372036854775807"):
        assert seen.first_or_add(pid, "a", 1) is None
    keys = [k for part in seen._keys for k in part.tolist() if k]
    assert 8 in keys  # "7" is its own value (+1)
    assert sum(k < 0 for k in keys) == 3  # leading zero, non-ASCII digit, beyond the numeric range: hashed


def test_a_forced_hash_collision_never_drops_a_distinct_post(monkeypatch):
    monkeypatch.setattr(seen_mod, "id_hash", lambda pid: 42)
    ids = [f"id-{i}" for i in range(300)]
    seen = _replay(ids + ids[::7] + ["7", "7", "08", "8"])
    assert len(seen) == 300 + 3


def test_colliding_hashes_wrap_around_the_end_of_a_part_while_growing(monkeypatch):
    # a hash whose first slot is the last one of its part at every size: each grow wraps the cluster
    mixed = (0x01 << 56) | ((1 << 56) - 1)  # part 1, all slot bits set
    key = (mixed * pow(_MULTIPLIER, -1, 2**64)) % 2**64 - 2**64
    assert -(2**63) <= key < 0
    monkeypatch.setattr(seen_mod, "id_hash", lambda pid: ~key)
    ids = [f"w{i}" for i in range(200)]
    _replay(ids + list(reversed(ids)), multiplier=_MULTIPLIER)


def test_ids_chosen_to_crowd_one_stretch_of_a_fixed_multipliers_table_do_not_crowd_this_one():
    # ids that a fixed multiplier would send to consecutive slots of one part: each insert
    # would probe past all earlier ones. With the random multiplier they spread over the parts.
    inverse = pow(_MULTIPLIER, -1, 2**64)
    ids = [str((((7 << 56) | (i << 20)) * inverse) % 2**64 - 1) for i in range(3000)]
    ids = [pid for pid in ids if int(pid) < 2**63 - 1 and not pid.startswith("0")]
    crowded = SeenIds(_MULTIPLIER)
    spread = SeenIds()
    for line, pid in enumerate(ids, start=1):
        crowded.first_or_add(pid, "a", line)
        spread.first_or_add(pid, "a", line)
    assert max(len(k) for k in crowded._keys) >= 2048  # all in one part, doubled again and again
    assert max(len(k) for k in spread._keys) <= 256


def test_positions_that_do_not_pack_are_kept_exactly():
    seen = SeenIds()
    assert seen.first_or_add("1", "a", 2**41) is None
    assert seen.first_or_add("x", "a", "7") is None  # type: ignore[arg-type]
    assert seen.first_or_add("1", "b", 3) == ("a", 2**41)
    assert seen.first_or_add("x", "b", 4) == ("a", "7")


def test_about_thirty_bytes_per_numeric_id():
    seen = SeenIds()
    n = 100_000
    for i in range(n):
        seen.first_or_add(str(7 * 10**18 + i * 7919), "big.jsonl", i + 1)
    assert 16 <= seen.nbytes / n <= 50  # a dict of (file, line) tuples held ~190


def _write(path: Path, ids) -> Path:
    path.write_text("".join(json.dumps({"post_id": pid, "caption": f"post {pid}"}) + "\n" for pid in ids),
                    encoding="utf-8")
    return path


def _run(paths, chunk=None):
    stats = IngestStats()
    items = iter_posts([Path(p) for p in paths], stats=stats, detect_lang=False)
    flat = [x for c in chunked(items, chunk) for x in c] if chunk else list(items)
    assert stats.read == stats.kept + stats.rejected
    return ([p["post_id"] for p in flat if not isinstance(p, Reject)],
            [(Path(r.source_file).name, r.source_line, r.reason, r.count) for r in flat if isinstance(r, Reject)],
            stats)


def _two_files(tmp_path, ids_a, ids_b):
    return [_write(tmp_path / "a.jsonl", ids_a), _write(tmp_path / "b.jsonl", ids_b)]


def test_duplicates_across_files_and_chunks_keep_their_messages(tmp_path):
    a = [str(7 * 10**18 + i) for i in range(2000)] + ["7000000000000000005", "p-1", "p-2", "p-1"]
    b = ["p-2", "7000000000000000005", "7000000000000000005", "new"] + [str(7 * 10**18 + i) for i in range(1990, 2010)]
    kept, rejects, stats = _run(_two_files(tmp_path, a, b), chunk=7)
    assert len(kept) == len(set(a + b)) and stats.duplicates == 1 + 1 + 1 + 2 + 10
    assert rejects == [
        ("a.jsonl", 2001, "duplicate post_id 7000000000000000005 (first seen at line 6)", 1),
        ("a.jsonl", 2004, "duplicate post_id p-1 (first seen at line 2002)", 1),
        ("b.jsonl", 1, "duplicate post_id p-2 (first seen at a.jsonl line 2003)", 1),
        ("b.jsonl", 2, "duplicate post_id 7000000000000000005 (first seen at a.jsonl line 6); 2 records, lines 2-3", 2),
    ] + [("b.jsonl", 5 + i, f"duplicate post_id {7 * 10**18 + 1990 + i} (first seen at a.jsonl line {1991 + i})", 1)
         for i in range(10)]


def test_a_forced_hash_collision_gives_the_same_posts_and_rejects(tmp_path, monkeypatch):
    a = [f"user-{i}" for i in range(500)] + ["user-3", "user-3", "x"]
    b = ["x", "y", "user-499"] + [f"user-{i}" for i in range(0, 500, 50)]
    paths = _two_files(tmp_path, a, b)
    expected = _run(paths)
    monkeypatch.setattr(seen_mod, "id_hash", lambda pid: len(pid) % 3)  # nearly every id collides
    kept, rejects, stats = _run(paths, chunk=13)
    assert (kept, rejects) == expected[:2] and len(kept) == 502
    assert stats.duplicates == expected[2].duplicates == 2 + 1 + 1 + 10


@pytest.mark.parametrize("pid", ["7", "user-7"])
def test_a_duplicate_of_a_file_read_through_stdin_names_the_input_as_given(tmp_path, monkeypatch, pid):
    import io
    import sys

    data = "".join(json.dumps({"post_id": p, "caption": "c"}) + "\n" for p in (pid, "8", pid))
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(data.encode())))
    kept, rejects, _ = _run(["-"])
    assert kept == [pid, "8"] and rejects == [("-", 3, f"duplicate post_id {pid} (first seen at line 1)", 1)]
