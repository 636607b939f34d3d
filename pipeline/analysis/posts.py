"""Labelled posts as one compact table for the cross-post analyses, plus durations such as ``48h``.

The analyses need every post at once (clusters and adoption orders span the whole input), so
``label`` output is read in chunks and only the columns they use are kept: the handle, its
registry type and country, the time, one boolean column per strategy, the hashtags and, for
coordination, the normalised texts.  A post that cannot be placed (no handle, no readable time)
is counted and left out, never silently.
"""

from __future__ import annotations

import json
import logging
import re
from collections import Counter
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from pipeline.errors import PipelineError
from pipeline.io.writers import read_records
from pipeline.report.registry import NO_ACTOR, Registry, actor_info, actor_key
from pipeline.schema import labels

log = logging.getLogger(__name__)
_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(m|min|h|d|w)\s*$", re.IGNORECASE)
_SEP = re.compile(r"[,;|]")
_UNITS = {"m": "minutes", "min": "minutes", "h": "hours", "d": "days", "w": "weeks"}


def parse_duration(text: str, option: str = "--window") -> timedelta:
    """``'48h'`` → 48 hours; units m (minutes), h, d, w.  Raises :class:`PipelineError` otherwise."""
    m = _DURATION.match(str(text))
    if not m or float(m.group(1)) <= 0:
        raise PipelineError(f"{option} {text!r} is not a duration. Use a positive number with a unit: "
                            "90m, 48h, 30d or 2w.")
    return timedelta(**{_UNITS[m.group(2).lower()]: float(m.group(1))})


@dataclass
class PostTable:
    """The kept posts (one row each) and counts of the posts left out, by reason."""

    frame: pd.DataFrame
    read: int = 0
    skipped: Counter[str] = field(default_factory=Counter)

    def notes(self) -> list[str]:
        """One line per reason posts were left out."""
        why = {"no_actor": "have no actor handle", "no_time": "have no readable created_at time"}
        return [f"{n:,} of {self.read:,} posts {why.get(k, k)} and were left out of this analysis"
                for k, n in sorted(self.skipped.items()) if n]


def list_field(value: Any) -> list[str]:
    """A list-valued field as strings: a list/array, a JSON list (CSV cells), or 'a;b' text."""
    if value is None or (isinstance(value, float) and value != value):
        return []
    if isinstance(value, str):
        text = value.strip()
        if text.startswith("["):
            try:
                value = json.loads(text)
            except json.JSONDecodeError:
                return []
        else:
            return [p.strip() for p in _SEP.split(text) if p.strip()]
    if isinstance(value, (str, bytes, Mapping)) or not isinstance(value, Iterable):
        return []
    return [str(v) for v in value if v is not None and str(v).strip()]


def _times(values: list[Any]) -> pd.Series:
    """ISO 8601 strings (or datetimes) → UTC timestamps; unreadable or missing → NaT."""
    return pd.to_datetime(pd.Series(values, dtype=object), utc=True, errors="coerce", format="ISO8601")


def load_posts(paths: Iterable[Path], registry: Registry, *, texts: Mapping[str, Callable[[Mapping[str, Any]], str | None]]
               | None = None, hashtags: bool = True) -> PostTable:
    """Read ``label`` output files into a :class:`PostTable`.

    Parameters
    ----------
    paths : iterable of Path
        ``label`` outputs (JSONL, CSV or Parquet); read in chunks.
    registry : mapping
        Actor registry (:func:`pipeline.report.registry.load_registry`).
    texts : mapping, optional
        Column name → function of a record giving the text kept per post (coordination keeps
        normalised texts).
    hashtags : bool
        Keep the lower-cased hashtags (without ``#``) as a list column ``hashtags``.
    """
    names = labels()
    parts: list[pd.DataFrame] = []
    read, skipped = 0, Counter[str]()
    for path in paths:
        path = Path(path)
        try:
            chunks = read_records(path)
            for chunk in chunks:
                read += len(chunk)
                parts.append(_chunk_frame(chunk, path, names, texts, hashtags, skipped))
        except PipelineError:
            raise
        except OSError as exc:
            raise PipelineError(f"{path}: cannot read it ({exc.strerror or exc}). Pass the output of "
                                "'tiktok-diplomacy label'.") from exc
    frame = pd.concat(parts, ignore_index=True) if parts else _chunk_frame([], Path("-"), names, texts, hashtags,
                                                                           skipped)
    info = {a: actor_info(registry, a) for a in frame["actor"].unique()}
    frame["actor_type"] = frame["actor"].map(lambda a: info[a]["type"]).astype("category")
    frame["country"] = frame["actor"].map(lambda a: info[a]["country"]).astype("category")
    frame["actor_name"] = frame["actor"].map(lambda a: info[a]["name"])
    log.info("loaded %d of %d posts", len(frame), read)
    return PostTable(frame, read, skipped)


def _chunk_frame(chunk: Sequence[Mapping[str, Any]], path: Path, names: tuple[str, ...],
                 texts: Mapping[str, Callable[[Mapping[str, Any]], str | None]] | None, hashtags: bool,
                 skipped: Counter[str]) -> pd.DataFrame:
    actors = [actor_key(r.get("actor")) for r in chunk]
    when = _times([r.get("created_at") for r in chunk])
    keep = np.array([a != NO_ACTOR for a in actors], dtype=bool) & when.notna().to_numpy()
    skipped["no_actor"] += sum(a == NO_ACTOR for a in actors)
    skipped["no_time"] += int(((~when.notna().to_numpy()) & np.array([a != NO_ACTOR for a in actors],
                                                                      dtype=bool)).sum())
    rows = [r for r, k in zip(chunk, keep) if k]
    cols: dict[str, Any] = {
        "post_id": [str(r.get("post_id", "")) for r in rows],
        "actor": pd.Series([a for a, k in zip(actors, keep) if k], dtype=object),
        "time": when[keep].reset_index(drop=True) if len(chunk) else pd.Series([], dtype="datetime64[ns, UTC]"),
    }
    label_sets = [set(list_field(r.get("labels"))) for r in rows]
    for name in names:
        cols[name] = np.array([name in s for s in label_sets], dtype=bool)
    if hashtags:
        cols["hashtags"] = [sorted({t.strip().lstrip("#").strip().lower() for t in list_field(r.get("hashtags"))}
                                   - {""}) for r in rows]
    for key, fn in (texts or {}).items():
        cols[key] = pd.Series([fn(r) for r in rows], dtype=object)
    frame = pd.DataFrame(cols)
    frame["source"] = path.name
    return frame
