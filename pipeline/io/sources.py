"""Opening input files safely: gzip, BOM, encodings, and whole-file problems."""

from __future__ import annotations

import gzip
import io
import re
import zlib
from pathlib import Path
from typing import BinaryIO

from pipeline.errors import InputFileError

GZIP_MAGIC = b"\x1f\x8b"
PARQUET_MAGIC = b"PAR1"
HEAD_BYTES = 65536


def open_binary(path: Path) -> BinaryIO:
    """Open ``path`` for reading bytes, decompressing gzip transparently.

    Raises
    ------
    InputFileError
        If the file is missing, a folder, unreadable, or empty.
    """
    if not path.exists():
        raise InputFileError(path, "file not found", "Check the path.")
    if path.is_dir():
        raise InputFileError(path, "is a folder, not a file", "Pass the export files inside it.")
    try:
        fh: BinaryIO = open(path, "rb")
    except OSError as exc:
        raise InputFileError(path, f"cannot open ({exc.strerror})", "Check the file permissions.") from exc
    magic = fh.read(2)
    fh.seek(0)
    if magic == GZIP_MAGIC:
        fh = gzip.GzipFile(fileobj=fh)  # type: ignore[assignment]
    return fh


def read_head(path: Path) -> bytes:
    """The first bytes of the (decompressed) file; checks it is neither empty nor binary."""
    with open_binary(path) as fh:
        try:
            head = fh.read(HEAD_BYTES)
        except (EOFError, OSError, zlib.error) as exc:
            raise InputFileError(path, f"truncated or corrupt gzip ({exc})", "Re-download or re-compress the file.") from exc
    if not head.strip():
        raise InputFileError(path, "file is empty", "Export the data again, or remove the file from the command.")
    if head.startswith(PARQUET_MAGIC):
        return head
    sample = head[:8192]
    if sample.count(b"\x00") > len(sample) // 10 and not sample.startswith((b"\xff\xfe", b"\xfe\xff")):
        raise InputFileError(path, "looks like a binary file, not a text export",
                             "Pass a JSON, JSONL/NDJSON, CSV or Parquet export.")
    return head


def open_text(path: Path) -> io.TextIOWrapper:
    """Open as text: UTF-8 (BOM removed); UTF-16 when it has a UTF-16 BOM.

    Undecodable bytes are kept as surrogate escapes so the reader can reject the
    affected record (naming its line) instead of failing the whole file.
    """
    fh = open_binary(path)
    head = fh.peek(4)[:4] if hasattr(fh, "peek") else b""
    encoding = "utf-16" if head.startswith((b"\xff\xfe", b"\xfe\xff")) else "utf-8-sig"
    return io.TextIOWrapper(fh, encoding=encoding, errors="surrogateescape", newline="")


_UNDECODABLE_RE = re.compile("[\udc80-\udcff]")


def has_undecodable(text: str) -> bool:
    """True when ``text`` carries surrogate escapes from invalid UTF-8 input (never in ASCII text)."""
    return not text.isascii() and _UNDECODABLE_RE.search(text) is not None


def read_all_bytes(path: Path) -> bytes:
    with open_binary(path) as fh:
        try:
            return fh.read()
        except (EOFError, OSError, zlib.error) as exc:
            raise InputFileError(path, f"truncated or corrupt gzip ({exc})", "Re-download or re-compress the file.") from exc
