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
    without_text: int = 0

    def reject(self, item: Reject) -> None:
        self.rejected += 1
        self.reasons[_REASON_KIND_RE.match(item.reason).group(1).strip()] += 1

    def summary(self, labelled: int | None = None) -> str:
        kept = self.kept if labelled is None else labelled
        reasons = ", ".join(f"{n} {r}" for r, n in self.reasons.most_common()) or "none"
        return f"{self.read} read, {kept} labelled, {self.rejected} rejected: reasons {reasons}"


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


def chunked(items: Iterable[T], size: int) -> Iterator[list[T]]:
    """Consecutive lists of at most ``size`` items."""
    it = iter(items)
    while chunk := list(islice(it, size)):
        yield chunk
