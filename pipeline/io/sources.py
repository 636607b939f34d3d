"""Opening input files safely: gzip/xz/bz2/zstd, BOM, encodings, and whole-file problems."""

from __future__ import annotations

import bz2
import gzip
import io
import lzma
import os
import re
import shutil
import sys
import tempfile
import zlib
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, BinaryIO

from pipeline.errors import InputFileError

GZIP_MAGIC = b"\x1f\x8b"
XZ_MAGIC = b"\xfd7zXZ\x00"
BZ2_MAGIC = b"BZh"
ZSTD_MAGIC = b"\x28\xb5\x2f\xfd"
ZIP_MAGIC = b"PK\x03\x04"
#: What a corrupt or cut-off compressed stream raises, per library.
DECOMPRESS_ERRORS: tuple[type[BaseException], ...] = (EOFError, OSError, zlib.error, lzma.LZMAError)
PARQUET_MAGIC = b"PAR1"
HEAD_BYTES = 65536


#: Longest line (in characters) a JSONL or CSV reader takes; a longer line is rejected while
#: streaming, without being held in memory. The longest real TikTok record seen is ~60,000.
MAX_LINE_CHARS = 8_000_000
#: Largest whole-file JSON document read into memory (after decompression); convert bigger
#: exports to JSON Lines, which are streamed.
MAX_DOCUMENT_BYTES = 256 * 1024 * 1024
#: Marker :func:`bounded_lines` yields in place of a line longer than :data:`MAX_LINE_CHARS`.
OVERLONG = None


def bounded_lines(fh: io.TextIOBase, limit: int = MAX_LINE_CHARS) -> Iterator[str | None]:
    """The lines of ``fh``; a line longer than ``limit`` is skipped in pieces and yields :data:`OVERLONG`."""
    while True:
        line = fh.readline(limit + 1)
        if not line:
            return
        if len(line) > limit and not line.endswith(("\n", "\r")):
            while True:  # skip the rest of this line without keeping it
                rest = fh.readline(1 << 20)
                if not rest or rest.endswith(("\n", "\r")):
                    break
            yield OVERLONG
            continue
        yield line


def is_stream(path: Path) -> bool:
    """True for ``-`` (standard input) and anything that is not a regular file (pipes, ``<(…)``, devices)."""
    if str(path) == "-":
        return True
    try:
        return Path(path).exists() and not Path(path).is_file() and not Path(path).is_dir()
    except OSError:
        return False


@contextmanager
def readable(path: Path) -> Iterator[Path]:
    """``path`` itself, or for standard input and pipes a temporary copy (deleted afterwards).

    Readers open a file several times (detection, then reading); a stream can be read only
    once, so it is copied to a temporary file first, in pieces.
    """
    if not is_stream(path):
        yield Path(path)
        return
    fd, tmp = tempfile.mkstemp(prefix="tiktok-diplomacy-stdin-")
    try:
        with os.fdopen(fd, "wb") as out:
            try:
                src = sys.stdin.buffer if str(path) == "-" else open(path, "rb")
            except OSError as exc:
                raise InputFileError(path, f"cannot open ({exc.strerror})", "Check the path.") from exc
            shutil.copyfileobj(src, out, 1 << 20)
            if src is not sys.stdin.buffer:
                src.close()
        yield Path(tmp)
    finally:
        os.unlink(tmp)


class TooLargeError(InputFileError):
    """A whole-file JSON document beyond :data:`MAX_DOCUMENT_BYTES`."""


def has_later_lines(path: Path) -> bool:
    """True when the first non-blank line after the first starts with ``{`` (JSON Lines); read in pieces."""
    with open_binary(path) as fh:
        try:
            piece = fh.readline(1 << 20)
            while piece and not piece.endswith(b"\n"):  # the rest of the first line, never held whole
                piece = fh.readline(1 << 20)
            while piece := fh.readline(1 << 20):
                text = piece.lstrip(b" \t\r\n")
                if text:
                    return text[:1] == b"{"
        except DECOMPRESS_ERRORS:
            return False
    return False


def open_binary(path: Path) -> BinaryIO:
    """Open ``path`` for reading bytes, decompressing gzip, xz, bz2 and zstd transparently.

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
        fh: BinaryIO = io.BufferedReader(_CountingFileIO(path))
    except OSError as exc:
        raise InputFileError(path, f"cannot open ({exc.strerror})", "Check the file permissions.") from exc
    magic = fh.read(6)
    fh.seek(0)
    if magic[:2] == GZIP_MAGIC:
        fh = gzip.GzipFile(fileobj=fh)  # type: ignore[assignment]
    elif magic == XZ_MAGIC:
        fh = lzma.LZMAFile(fh)  # type: ignore[assignment]
    elif magic[:3] == BZ2_MAGIC:
        fh = bz2.BZ2File(fh)  # type: ignore[assignment]
    elif magic[:4] == ZSTD_MAGIC:
        fh = _zstd_reader(path, fh)
    return fh


def _zstd_reader(path: Path, fh: BinaryIO) -> BinaryIO:
    """A buffered reader of a Zstandard file (the ``zstandard`` package: the stdlib has none before 3.14)."""
    try:
        import zstandard  # lazy: only for .zst inputs
    except ImportError:
        fh.close()
        raise InputFileError(path, "Zstandard-compressed file and the 'zstandard' package is not installed",
                             "pip install zstandard, or decompress it first (zstd -d FILE).") from None
    return io.BufferedReader(zstandard.ZstdDecompressor().stream_reader(fh, closefd=True))


def _compression(path: Path) -> str:
    """The compression of ``path`` by its magic bytes, for messages."""
    with open(path, "rb") as fh:
        magic = fh.read(6)
    for name, m in (("gzip", GZIP_MAGIC), ("xz", XZ_MAGIC), ("bz2", BZ2_MAGIC), ("zstd", ZSTD_MAGIC)):
        if magic.startswith(m):
            return name
    return "file"


def decode_head(head: bytes) -> str:
    """The first bytes of a file as text: UTF-16 when they start with its byte-order mark, else UTF-8."""
    if head.startswith((b"\xff\xfe", b"\xfe\xff")):
        return head[: len(head) // 2 * 2].decode("utf-16", errors="replace")
    return head.decode("utf-8", errors="replace")


#: Bytes read from input files (before decompression) by this process, for progress bars.
_bytes_read = [0]


def bytes_read() -> int:
    """Bytes read from input files so far (compressed size for compressed files)."""
    return _bytes_read[0]


class _CountingFileIO(io.FileIO):
    """A file that adds what it reads to :func:`bytes_read` (one addition per buffered block)."""

    def readinto(self, buffer: Any) -> int | None:
        n = super().readinto(buffer)
        if n:
            _bytes_read[0] += n
        return n

    def readall(self) -> bytes:
        data = super().readall()
        _bytes_read[0] += len(data)
        return data


def _looks_utf16(sample: bytes) -> bool:
    """Text in UTF-16 (either byte order): NUL in every other byte, printable ASCII in the others."""
    for zeros, chars in ((sample[1::2], sample[0::2]), (sample[0::2], sample[1::2])):
        if zeros.count(0) > len(zeros) * 0.6 and sum(32 <= b < 127 or b in (9, 10, 13) for b in chars) > len(chars) * 0.6:
            return True
    return False


def read_head(path: Path) -> bytes:
    """The first bytes of the (decompressed) file; checks it is neither empty nor binary."""
    with open_binary(path) as fh:
        try:
            head = fh.read(HEAD_BYTES)
        except DECOMPRESS_ERRORS as exc:
            raise InputFileError(path, f"truncated or corrupt {_compression(path)} ({exc})", "Re-download or re-compress the file.") from exc
    if not head.strip():
        raise InputFileError(path, "file is empty", "Export the data again, or remove the file from the command.")
    if head.startswith((PARQUET_MAGIC, ZIP_MAGIC)):
        return head  # detect_format names them
    sample = head[:8192]
    if len(sample) >= 64 and not sample.startswith((b"\xff\xfe", b"\xfe\xff")) and _looks_utf16(sample):
        raise InputFileError(path, "looks like UTF-16 text without a byte-order mark",
                             "Re-save the file as UTF-8 (or UTF-16 with a BOM).")
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


def read_all_text_bytes(path: Path, limit: int | None = None) -> bytes:
    """The whole (decompressed) file as UTF-8 bytes: UTF-16 with a byte-order mark is converted."""
    raw = read_all_bytes(path) if limit is None else read_all_bytes(path, limit)
    if raw.startswith((b"\xff\xfe", b"\xfe\xff")):
        return raw.decode("utf-16", errors="replace").encode("utf-8")
    return raw


def read_all_bytes(path: Path, limit: int = MAX_DOCUMENT_BYTES) -> bytes:
    """The whole (decompressed) file; refuses one larger than ``limit`` without reading it all."""
    with open_binary(path) as fh:
        try:
            data = fh.read(limit + 1)
        except DECOMPRESS_ERRORS as exc:
            raise InputFileError(path, f"truncated or corrupt {_compression(path)} ({exc})", "Re-download or re-compress the file.") from exc
    if len(data) > limit:
        raise TooLargeError(path, f"a single JSON document larger than {limit // 2**20} MiB",
                            "Convert it to JSON Lines (one post per line), which is read in pieces.")
    return data
