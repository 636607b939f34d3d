"""Ingestion: read every supported export, attach transcripts, clean, de-duplicate.

Public entry point: :func:`iter_posts`, which yields canonical, cleaned post records
and :class:`Reject` items, and counts both in an :class:`IngestStats`.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from itertools import islice
from pathlib import Path
from typing import Any, TypeVar

from pipeline.clean.text import clean_record
from pipeline.clean.language import ensure_language
from pipeline.schema import has_text, validate_post
from pipeline.ingest.transcripts import TranscriptAttacher
from pipeline.ingest.readers import FORMATS, Reject, detect_format, read_file

__all__ = ["FORMATS", "IngestStats", "Reject", "chunked", "detect_format", "iter_posts", "read_file"]

T = TypeVar("T")
_REASON_KIND_RE = re.compile(r"^([^:(;0-9]+)")


@dataclass
class IngestStats:
    """Counts that must add up: ``read == kept + rejected``."""

    read: int = 0
    kept: int = 0
    rejected: int = 0
    reasons: Counter = field(default_factory=Counter)
    transcripts_attached: int = 0
    #: with --transcripts: posts with a subtitle file, files found, and files that matched no post
    transcript_posts: int = 0
    transcript_files: int = 0
    transcript_files_unmatched: int = 0
    without_text: int = 0
    #: of ``rejected``: later copies of a post id already read (the first is kept)
    duplicates: int = 0

    def reject(self, item: Reject) -> None:
        self.rejected += 1
        kind = _REASON_KIND_RE.match(item.reason).group(1).strip()
        self.reasons[kind] += 1
        if kind == "duplicate post_id":
            self.duplicates += 1

    def summary(self, labelled: int | None = None, rejects_name: str | None = None) -> str:
        """One plain sentence: ``20,000 labelled; 1,980 duplicate posts skipped (first kept); 3 rejected (see …)``.

        Duplicates are not errors: they are counted apart from the records that could not be used.
        """
        kept = self.kept if labelled is None else labelled
        parts = [f"{kept:,} labelled"]
        if self.duplicates:
            parts.append(f"{self.duplicates:,} duplicate post{'s' if self.duplicates != 1 else ''} skipped (first kept)")
        bad = self.rejected - self.duplicates
        if bad:
            reasons = ", ".join(f"{n:,} {r}" for r, n in self.reasons.most_common() if r != "duplicate post_id")
            where = f"; see {rejects_name}" if rejects_name else ""
            parts.append(f"{bad:,} rejected ({reasons}{where})")
        return "; ".join(parts) + f" — of {self.read:,} records read"

    def transcript_summary(self) -> str | None:
        """How --transcripts matched: posts with a subtitle file, and files that matched no post."""
        if not self.transcript_files:
            return None
        return (f"transcripts: {self.transcript_posts:,} posts matched a subtitle file "
                f"({self.transcripts_attached:,} attached); {self.transcript_files_unmatched:,} of "
                f"{self.transcript_files:,} files matched no post")


def iter_posts(paths: Iterable[Path], *, fmt: str | None = None, columns: dict[str, str] | None = None,
               transcripts: Path | None = None, stats: IngestStats | None = None,
               detect_lang: bool = True) -> Iterator[dict[str, Any] | Reject]:
    """Yield cleaned canonical records and rejects for all ``paths``, in input order.

    Duplicate post ids (across all inputs) keep the first record; later ones are rejected.
    """
    stats = stats if stats is not None else IngestStats()
    attacher = TranscriptAttacher(transcripts) if transcripts else None
    seen: dict[str, tuple[str, int]] = {}
    for path in paths:
        for item in read_file(Path(path), fmt, columns):
            stats.read += 1
            if isinstance(item, Reject):
                stats.reject(item)
                yield item
                continue
            if attacher is not None:
                attacher(item)
            problem = validate_post(item)
            pid = item.get("post_id")
            if problem is None and pid in seen:
                first = seen[pid]
                problem = f"duplicate post_id {pid} (first seen in {first[0]} line {first[1]})"
            if problem is not None:
                rej = Reject(item["source_file"], item["source_line"], problem, pid)
                stats.reject(rej)
                yield rej
                continue
            seen[pid] = (item["source_file"], item["source_line"])
            if not has_text(item):
                stats.without_text += 1
            clean_record(item)
            if detect_lang:
                ensure_language(item)
            stats.kept += 1
            yield item
    if attacher is not None:
        stats.transcripts_attached = attacher.attached
        stats.transcript_posts = len(attacher.matched)
        stats.transcript_files = attacher.files
        stats.transcript_files_unmatched = attacher.unmatched_files


def chunked(items: Iterable[T], size: int) -> Iterator[list[T]]:
    """Consecutive lists of at most ``size`` items."""
    it = iter(items)
    while chunk := list(islice(it, size)):
        yield chunk
