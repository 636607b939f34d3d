"""Opening inputs: lines bounded while streaming, JSON Lines behind a huge first line, documents capped."""

import gzip
import io

import pytest

from pipeline.errors import InputFileError
from pipeline.io.sources import OVERLONG, bounded_lines, has_later_lines, read_all_bytes


def test_bounded_lines_skip_an_overlong_line_without_losing_the_next():
    fh = io.StringIO("short\n" + "x" * 50 + "\nafter\nlast")
    assert list(bounded_lines(fh, limit=10)) == ["short\n", OVERLONG, "after\n", "last"]


@pytest.mark.parametrize("first", [b"a" * (1 << 20), b"a" * ((1 << 20) - 1), b"a" * 10])
def test_later_lines_found_behind_a_first_line_of_any_length(tmp_path, first):
    p = tmp_path / "x.jsonl.gz"
    p.write_bytes(gzip.compress(b'{"x":"' + first + b'"}\n\n  {"post_id": "2"}\n'))
    assert has_later_lines(p)
    p.write_bytes(gzip.compress(b'{"x":"' + first + b'"}\n'))
    assert not has_later_lines(p)


def test_whole_documents_are_capped(tmp_path):
    p = tmp_path / "doc.json"
    p.write_bytes(b"[" + b"1," * 100 + b"1]")
    with pytest.raises(InputFileError, match="Convert it to JSON Lines"):
        read_all_bytes(p, limit=50)
    assert read_all_bytes(p, limit=1000).startswith(b"[1,")
