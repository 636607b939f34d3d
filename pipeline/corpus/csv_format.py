"""Annotated spreadsheets (CSV/TSV) → judgements: one row per post.

A ``labels`` (or ``label``) column holds label names separated by ``|``, ``;`` or ``,`` (an empty
cell means none apply); otherwise there must be one 0/1 column named after each label.  Optional
columns ``annotator``, ``annotated_at`` and ``note`` are kept; any canonical post field is read.
"""

from __future__ import annotations

import csv
import difflib
import re
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

from pipeline.corpus.judgement import Judgement, checked_labels, date_of, post_fields, text_or_none
from pipeline.corpus.read import CorpusError
from pipeline.io.sources import open_text
from pipeline.schema import labels

_TRUE = {"1", "true", "yes", "y", "x"}
_FALSE = {"0", "false", "no", "n", ""}
_LABEL_SPLIT_RE = re.compile(r"[|;,]")


def _label_columns(header: list[str], path: Path) -> tuple[str | None, list[str]]:
    """The labels column, or the one-0/1-column-per-label columns."""
    for name in ("labels", "label"):
        if name in header:
            return name, []
    present = [n for n in labels() if n in header]
    missing = [n for n in labels() if n not in header]
    if present and missing:
        hints = [f"{c!r} (did you mean {difflib.get_close_matches(c, missing, n=1)[0]!r}?)" for c in header
                 if c not in present and difflib.get_close_matches(c, missing, n=1, cutoff=0.8)]
        raise CorpusError(f"{path}:1: 0/1 label columns for {', '.join(missing)} are missing"
                          + (f"; columns {', '.join(hints)}" if hints else "") + ". Add one column per label.")
    if not present:
        raise CorpusError(f"{path}:1: no 'labels' column and no 0/1 column per label "
                          f"({', '.join(labels())}). Add one of them.")
    return None, present


def read_csv_annotations(path: Path, skipped: Counter) -> Iterator[Judgement]:
    """A spreadsheet: post_id, text columns, and ``labels`` ("a|b" or "a;b") or one 0/1 column per label."""
    with open_text(path) as fh:
        first = fh.readline()
        fh.seek(0)
        delimiter = max((",", ";", "\t"), key=first.count)
        reader = csv.reader(fh, delimiter=delimiter)
        header = [h.strip().lstrip("\ufeff") for h in next(reader, [])]
        if "post_id" not in header:
            raise CorpusError(f"{path}:1: no 'post_id' column; columns present: {', '.join(header[:20])}.")
        label_col, flag_cols = _label_columns(header, path)
        start = reader.line_num + 1
        while True:
            try:
                row = next(reader)
            except StopIteration:
                break
            except csv.Error as exc:
                raise CorpusError(f"{path}:{start}: unreadable CSV row ({exc}). "
                                  "Check for an unbalanced quote.") from exc
            line, start = start, reader.line_num + 1
            if not any(c.strip() for c in row):
                continue
            where = f"{path}:{line}"
            if len(row) != len(header):
                raise CorpusError(f"{where}: row has {len(row)} fields, the header has {len(header)}. "
                                  "Check for a stray delimiter or an unbalanced quote.")
            cells = dict(zip(header, row))
            if label_col is not None:
                raw = cells[label_col].strip().strip("[]").replace('"', "").replace("'", "")
                chosen = [x for x in _LABEL_SPLIT_RE.split(raw) if x.strip()]
            else:
                chosen = []
                for name in flag_cols:
                    value = cells[name].strip().lower()
                    if value not in _TRUE | _FALSE:
                        raise CorpusError(f"{where}: column {name!r} must be 1 or 0; got {cells[name]!r}.")
                    chosen += [name] if value in _TRUE else []
            yield Judgement(where, post_fields(cells, where, text=cells.get("text")), f"csv:{path.name}",
                            labels=checked_labels(chosen, where), annotator=text_or_none(cells.get("annotator")),
                            annotated_at=date_of(cells.get("annotated_at")), note=text_or_none(cells.get("note")))
