"""CSV/TSV exports: streamed line by line, broken rows rejected without swallowing the rows after them."""

from __future__ import annotations

import csv
import logging
from collections import deque
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from pipeline.errors import InputFileError
from pipeline.ingest.items import Item, Reject, finish as _finish, why as _why
from pipeline.ingest.mapping import apply_mapping, choose_mapping
from pipeline.io.sources import MAX_LINE_CHARS, OVERLONG, bounded_lines, has_undecodable, open_text

log = logging.getLogger(__name__)
csv.field_size_limit(MAX_LINE_CHARS)  # a field (even over several lines) is bounded like a line


class _Lines:
    """Physical lines for :mod:`csv`, numbered, with the lines of the current row kept so that a
    broken row can be rejected by its first line and the lines after it read again."""

    def __init__(self, fh: Any, head: str = "") -> None:
        self.source = bounded_lines(fh)
        self.pending: deque[tuple[int, str]] = deque([(1, head)] if head else [])
        self.row: list[tuple[int, str]] = []
        self.overlong: list[int] = []
        self.next_no = 2 if head else 1

    def __iter__(self) -> _Lines:
        return self

    def __next__(self) -> str:
        while True:
            if self.pending:
                no, line = self.pending.popleft()
            else:
                raw = next(self.source)
                no, self.next_no = self.next_no, self.next_no + 1
                if raw is OVERLONG:
                    self.overlong.append(no)
                    continue
                line = raw
            self.row.append((no, line))
            return line

    def start_row(self) -> None:
        self.row = []

    def replay_after_first(self) -> int:
        """Queue the current row's lines after its first to be read again; return the first's number."""
        first = self.row[0][0] if self.row else self.next_no
        self.pending.extendleft(reversed(self.row[1:]))
        self.row = []
        return first


def read_csv(path: Path, overrides: dict[str, str] | None = None, delimiter: str | None = None) -> Iterator[Item]:
    """CSV/TSV with a header; the delimiter is sniffed; ragged rows become rejects.

    A broken row (an unbalanced quote that would swallow the rows after it, a wrong number of
    fields) spanning several lines is rejected by its first line and the following lines are
    read again, so one stray quote costs one row. Repeated header names are a file error.
    """
    with open_text(path) as fh:
        first = fh.readline()  # no seek back: zstd streams cannot
        if delimiter is None:
            delimiter = max((",", ";", "\t", "|"), key=first.count)
        lines = _Lines(fh, first)
        reader = csv.reader(lines, delimiter=delimiter, strict=True)
        try:
            header = next(reader)
        except StopIteration:
            raise InputFileError(path, "file is empty", "Export the data again.") from None
        except csv.Error as exc:
            raise InputFileError(path, f"unreadable CSV header ({exc})", "Check the file is a CSV export.") from exc
        header = [h.strip().lstrip("\ufeff") for h in header]
        if len(header) < 2:
            raise InputFileError(path, f"unknown format: one column only ({header[:1]})",
                                 "Pass a CSV with a header row, or force the format with --format.")
        repeated = sorted({h for h in header if h and header.count(h) > 1})
        if repeated:
            raise InputFileError(path, f"the header repeats column name(s) {', '.join(map(repr, repeated))}",
                                 "Rename the repeated columns so each name appears once, then run again.")
        mapping = choose_mapping(header, overrides, path)
        fmt, source = f"csv:{mapping.name}", str(path)
        while True:
            lines.start_row()
            try:
                row = next(reader)
            except StopIteration:
                break
            except csv.Error as exc:
                line = lines.replay_after_first()
                yield Reject(source, line, f"unreadable CSV row ({exc}); check for an unbalanced quote")
                continue
            finally:
                while lines.overlong:
                    yield Reject(source, lines.overlong.pop(0),
                                 f"overlong line (more than {MAX_LINE_CHARS:,} characters); skipped unread")
            line = lines.row[0][0] if lines.row else lines.next_no
            if not any(c.strip() for c in row):
                continue
            if len(row) != len(header):
                if len(lines.row) > 1:
                    line = lines.replay_after_first()
                    yield Reject(source, line, f"row has {len(row)} fields, the header has {len(header)}: an "
                                               "unbalanced quote; the lines after it are read again")
                else:
                    yield Reject(source, line, f"row has {len(row)} fields, the header has {len(header)} "
                                               "(a stray delimiter or an unbalanced quote)")
                continue
            if any(has_undecodable(c) for c in row):
                yield Reject(source, line, "invalid UTF-8 bytes; re-save the file as UTF-8")
                continue
            try:
                rec = apply_mapping(dict(zip(header, row)), mapping)
            except Exception as exc:  # noqa: BLE001 - one bad record is a reject, never the end of the run
                yield Reject(source, line, f"unusable record: {_why(exc)}")
                continue
            yield _finish(rec, source, line, fmt)
