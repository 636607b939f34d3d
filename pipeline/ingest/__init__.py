"""Ingestion: read every supported export, attach transcripts, clean, de-duplicate.

Public entry point: :func:`iter_posts`, which yields canonical, cleaned post records
and :class:`Reject` items, and counts both in an :class:`IngestStats`.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field, replace
from itertools import islice
from pathlib import Path
from typing import Any, TypeVar

from pipeline.clean.language import ensure_language
from pipeline.clean.text import clean_record
from pipeline.errors import InputFileError
from pipeline.ingest import records as R
from pipeline.ingest.normalise import normalise
from pipeline.ingest.readers import FORMATS, Reject, detect_format, read_file
from pipeline.ingest.seen import SeenIds
from pipeline.ingest.transcripts import TranscriptAttacher
from pipeline.io.sources import readable
from pipeline.schema import has_text, validate_post

__all__ = ["FORMATS", "IngestStats", "Reject", "chunked", "detect_format", "iter_posts", "read_file"]

T = TypeVar("T")
#: Duplicate reject lines per input file; further duplicates there are counted in one reject.
MAX_DUPLICATE_LINES = 10_000
_REASON_KIND_RE = re.compile(r"^([^:(;0-9]+)")
_DUPLICATE = "duplicate post_id"


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
    #: Posts from a mapping with no text column at all (and no transcript attached).
    no_text_column: int = 0
    #: Column names of an input that had no text column mapped (for the error message).
    columns_seen: str = ""
    #: Lone surrogates replaced with U+FFFD.
    surrogates_replaced: int = 0
    #: Unusable values left empty, by kind (``date``, ``count``), with a few examples each.
    unusable: Counter = field(default_factory=Counter)
    examples: dict[str, list[str]] = field(default_factory=dict)
    #: Whole files skipped with ``keep_going``: their error messages.
    skipped_files: list[str] = field(default_factory=list)
    transcripts_unreadable: list[str] = field(default_factory=list)

    #: of ``rejected``: later copies of a post id already read (the first is kept)
    duplicates: int = 0

    def reject(self, item: Reject) -> None:
        self.rejected += item.count
        if item.reason.startswith(_DUPLICATE):  # the id that follows may hold any character
            kind = _DUPLICATE
        else:
            m = _REASON_KIND_RE.match(item.reason)
            kind = m.group(1).strip() if m else item.reason  # a reason starting with ':', '(' or a digit
        self.reasons[kind] += item.count
        if kind == _DUPLICATE:
            self.duplicates += item.count

    def noted(self, notes: list[tuple[str, str]]) -> None:
        for kind, example in notes:
            if kind == "no_text_column":
                self.columns_seen = self.columns_seen or example
                continue
            self.unusable[kind] += 1
            seen = self.examples.setdefault(kind, [])
            if len(seen) < 3 and example not in seen:
                seen.append(example)

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
            reasons = ", ".join(f"{n:,} {r}" for r, n in sorted(self.reasons.items(), key=lambda x: (-x[1], x[0]))
                                if r != "duplicate post_id")
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


class _Duplicates:
    """Post ids seen so far, and runs of consecutive duplicates folded into one reject.

    A reject line per duplicate of a file that repeats one post millions of times would be
    larger than the input; a run of duplicates of one id, line after line, is one reject with
    its ``count`` and line range instead. The reason names the first occurrence by file name
    (the path is in ``source_file``). The ids are held in a :class:`~pipeline.ingest.seen.SeenIds`
    (~20-45 bytes per post instead of a dict's ~190; exact, never decided by a hash alone).
    """

    def __init__(self) -> None:
        self.seen = SeenIds()
        self.run: Reject | None = None
        self.last_line = 0
        self.lines = 0  # duplicate reject lines written for the current file
        self.overflow: Reject | None = None
        self.overflow_last = 0

    def check(self, item: dict[str, Any]) -> Reject | None:
        """Record ``item``'s id; return it as a (new) duplicate reject, or ``None`` if first seen."""
        pid = item["post_id"]
        first = self.seen.first_or_add(pid, item["source_file"], item["source_line"])
        if first is None:
            return None
        where = f"line {first[1]}" if first[0] == item["source_file"] else f"{Path(first[0]).name} line {first[1]}"
        return Reject(item["source_file"], item["source_line"], f"duplicate post_id {pid} (first seen at {where})", pid)

    def fold(self, rej: Reject) -> Reject | None:
        """Add ``rej`` to the current run; return the finished run when ``rej`` starts a new one.

        Past :data:`MAX_DUPLICATE_LINES` reject lines in one file, further duplicates are only
        counted, in one reject written when the file ends.
        """
        run = self.run
        if run is not None and run.post_id == rej.post_id and run.source_file == rej.source_file \
                and rej.source_line == self.last_line + 1:
            self.run = replace(run, count=run.count + 1)
            self.last_line = rej.source_line
            return None
        if self.lines >= MAX_DUPLICATE_LINES:
            self.overflow = rej if self.overflow is None else replace(self.overflow, count=self.overflow.count + 1)
            self.overflow_last = rej.source_line
            return None
        self.lines += 1
        self.run, self.last_line = rej, rej.source_line
        return run

    def flush(self) -> list[Reject]:
        """The pending run and the counted overflow of the file just read (call at the end of each file)."""
        out = [] if self.run is None else [dups_flush_one(self.run)]
        if self.overflow is not None:
            out.append(Reject(self.overflow.source_file, self.overflow.source_line,
                              f"duplicate post_id: {self.overflow.count} more duplicates in lines "
                              f"{self.overflow.source_line}-{self.overflow_last}, not listed one by one "
                              f"(more than {MAX_DUPLICATE_LINES:,} duplicate lines in this file)",
                              None, self.overflow.count))
        self.run, self.overflow, self.lines = None, None, 0
        return out


#: Folds duplicate rejects into runs as :func:`iter_posts` does (for engines that find duplicates apart).
DuplicateRuns = _Duplicates


def iter_posts(paths: Iterable[Path], *, fmt: str | None = None, columns: dict[str, str] | None = None,
               transcripts: Path | None = None, stats: IngestStats | None = None,
               detect_lang: bool = True, keep_going: bool = False,
               date_formats: Sequence[str] | None = None) -> Iterator[dict[str, Any] | Reject]:
    """Yield cleaned canonical records and rejects for all ``paths``, in input order.

    Duplicate post ids (across all inputs) keep the first record; later ones are rejected
    (consecutive duplicates of one id as one reject with a ``count``). Any error in one record
    makes it a reject with the reason. A whole-file problem raises :class:`InputFileError`,
    or with ``keep_going`` skips the file and lists it in ``stats.skipped_files``. ``-`` and
    pipes are read through a temporary copy.
    """
    stats = stats if stats is not None else IngestStats()
    attacher = TranscriptAttacher(transcripts) if transcripts else None
    dups = _Duplicates()
    with R.date_formats(date_formats):
        for path in paths:
            real = Path(path)
            try:
                with readable(Path(path)) as real:
                    items = _read_checked(real, fmt, columns)
                    copied = real != Path(path)  # stdin or a pipe, read through a temporary copy
                    for item in items:
                        if copied:
                            item = _renamed(item, str(path))
                        yield from _process(item, stats, attacher, dups, detect_lang)
            except InputFileError as exc:
                for done in dups.flush():
                    stats.reject(done)
                    yield done
                if real != Path(path):  # name the input as given, not its temporary copy
                    renamed = InputFileError(path, "", "")
                    renamed.args = (f"{path}: {str(exc).removeprefix(f'{real}: ')}",)
                    exc = renamed
                if not keep_going:
                    raise exc from None
                stats.skipped_files.append(str(exc))
                continue
            for done in dups.flush():
                stats.reject(done)
                yield done
    if attacher is not None:
        stats.transcripts_attached = attacher.attached
        stats.transcripts_unreadable = attacher.unreadable
        stats.transcript_posts = len(attacher.matched)
        stats.transcript_files = attacher.files
        stats.transcript_files_unmatched = attacher.unmatched_files


def _read_checked(path: Path, fmt: str | None, columns: dict[str, str] | None) -> Iterator[Any]:
    """:func:`read_file`, with an unexpected failure of the reader itself turned into a file error."""
    try:
        yield from read_file(path, fmt, columns)
    except (InputFileError, GeneratorExit):
        raise
    except Exception as exc:  # noqa: BLE001 - a reader bug or I/O fault must not be a traceback
        raise InputFileError(path, f"reading stopped ({type(exc).__name__}: {str(exc)[:200]})",
                             "Check the file is a complete export (with --keep-going the records before this point are kept)") from exc


def _renamed(item: Any, name: str) -> Any:
    if isinstance(item, Reject):
        return replace(item, source_file=name)
    item["source_file"] = name
    return item


def _process(item: Any, stats: IngestStats, attacher: TranscriptAttacher | None, dups: _Duplicates,
             detect_lang: bool) -> Iterator[dict[str, Any] | Reject]:
    """Validate, de-duplicate and clean one read item; yield it (or its reject) and any finished duplicate run."""
    stats.read += 1
    notes = R.take_notes()
    if isinstance(item, Reject):
        stats.reject(item)
        yield item
        return
    try:
        problem, replaced = normalise(item)
        stats.surrogates_replaced += replaced
        if attacher is not None and problem is None:
            attacher(item)
        problem = problem or validate_post(item)
        if problem is None:
            dup = dups.check(item)
            if dup is not None:
                done = dups.fold(dup)
                if done is not None:
                    done = dups_flush_one(done)
                    stats.reject(done)
                    yield done
                return
        if problem is not None:
            rej = Reject(item["source_file"], item["source_line"], problem, item.get("post_id"))
            stats.reject(rej)
            yield rej
            return
        stats.noted(notes + R.take_notes())
        if not has_text(item):
            stats.without_text += 1
            if any(kind == "no_text_column" for kind, _ in notes):
                stats.no_text_column += 1
        clean_record(item)
        if detect_lang:
            ensure_language(item)
    except Exception as exc:  # noqa: BLE001 - one bad record is a reject, never the end of the run
        rej = Reject(str(item.get("source_file")), int(item.get("source_line") or 0),
                     f"unusable record ({type(exc).__name__}: {str(exc)[:200]})", _pid(item))
        stats.reject(rej)
        yield rej
        return
    stats.kept += 1
    yield item


def dups_flush_one(run: Reject) -> Reject:
    """A finished run of duplicates with its count and line range in the reason."""
    if run.count > 1:
        return replace(run, reason=f"{run.reason}; {run.count} records, lines {run.source_line}-"
                                   f"{run.source_line + run.count - 1}")
    return run


def _pid(item: dict[str, Any]) -> str | None:
    pid = item.get("post_id")
    return pid if isinstance(pid, str) else None


def chunked(items: Iterable[T], size: int) -> Iterator[list[T]]:
    """Consecutive lists of at most ``size`` items."""
    it = iter(items)
    while chunk := list(islice(it, size)):
        yield chunk
