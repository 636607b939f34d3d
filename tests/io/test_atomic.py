"""Outputs are renamed into place only when complete; overlapping paths and concurrent runs are refused."""

import os

import pytest

from pipeline.errors import PipelineError
from pipeline.io.atomic import check_writable, output_lock, refuse_overlaps, staged_dir
from pipeline.io.writers import RecordWriter


def test_output_equal_to_an_input_is_refused_by_any_spelling(tmp_path, monkeypatch):
    src = tmp_path / "in.jsonl"
    src.write_text("x\n")
    (tmp_path / "link.jsonl").symlink_to(src)
    monkeypatch.chdir(tmp_path)
    for out in (src, tmp_path / "." / "in.jsonl", tmp_path / "link.jsonl"):
        with pytest.raises(PipelineError, match="would destroy the input"):
            refuse_overlaps([src], {"output": out})
    with pytest.raises(PipelineError, match="would destroy the input"):
        refuse_overlaps(["in.jsonl"], {"rejects file": tmp_path / "in.jsonl"})
    with pytest.raises(PipelineError, match="are the same file"):
        refuse_overlaps([src], {"output": tmp_path / "o.jsonl", "rejects file": tmp_path / "sub" / ".." / "o.jsonl"})
    refuse_overlaps([src], {"output": tmp_path / "o.jsonl", "rejects file": tmp_path / "o.rejects.jsonl"})
    assert src.read_text() == "x\n"


def test_failed_write_leaves_the_previous_file_and_no_temporary(tmp_path):
    out = tmp_path / "out.jsonl"
    out.write_text("previous\n")
    with pytest.raises(RuntimeError):
        with RecordWriter(out) as w:
            w.write([{"post_id": "1"}])
            raise RuntimeError("interrupted")
    assert out.read_text() == "previous\n" and os.listdir(tmp_path) == ["out.jsonl"]
    with RecordWriter(out) as w:
        w.write([{"post_id": "1"}])
    assert out.read_text().startswith('{"post_id":"1"') and os.listdir(tmp_path) == ["out.jsonl"]
    assert oct(out.stat().st_mode & 0o777) != oct(0o600)


def test_second_holder_of_an_output_lock_is_refused(tmp_path):
    out = tmp_path / "o.jsonl"
    with output_lock(out):
        with pytest.raises(PipelineError, match="another run is writing this output"):
            with output_lock(out):
                pass
    with output_lock(out):  # released afterwards
        pass
    assert os.listdir(tmp_path) == []


def test_unwritable_locations_fail_early(tmp_path):
    (tmp_path / "file").write_text("x")
    with pytest.raises(PipelineError, match="cannot write here"):
        check_writable(tmp_path / "file" / "out.jsonl")
    with pytest.raises(PipelineError, match="is a folder"):
        check_writable(tmp_path)


def test_staged_dir_publishes_only_on_success_and_keeps_other_files(tmp_path):
    final = tmp_path / "rep"
    final.mkdir()
    (final / "mine.txt").write_text("keep")
    with pytest.raises(RuntimeError):
        with staged_dir(final) as stage:
            (stage / "a.csv").write_text("partial")
            raise RuntimeError
    assert sorted(os.listdir(final)) == ["mine.txt"] and sorted(os.listdir(tmp_path)) == ["rep"]
    with staged_dir(final) as stage:
        (stage / "charts").mkdir()
        (stage / "charts" / "c.png").write_bytes(b"png")
        (stage / "a.csv").write_text("done")
    assert sorted(os.listdir(final)) == ["a.csv", "charts", "mine.txt"] and sorted(os.listdir(tmp_path)) == ["rep"]


def test_staged_dir_never_replaces_a_protected_input(tmp_path):
    final = tmp_path / "rep"
    final.mkdir()
    src = final / "actors.csv"
    src.write_text("my labelled posts")
    with pytest.raises(PipelineError, match="would replace this input"):
        with staged_dir(final, protect=[src]) as stage:
            (stage / "actors.csv").write_text("table")
            (stage / "other.csv").write_text("table")
    assert src.read_text() == "my labelled posts" and sorted(os.listdir(final)) == ["actors.csv"]
