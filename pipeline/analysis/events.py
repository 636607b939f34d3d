"""Before/after event windows: each actor's and actor type's strategy mix around dated events.

For an event on day E and a window W, *before* is ``[E − W, E)`` and *after* is ``[E, E + W)``,
E at 00:00 UTC.  Per group and strategy: the share of posts with the strategy in each window
with a Wilson 95% interval, the difference (after − before) with Newcombe's hybrid-score 95%
interval (built from the two Wilson intervals; it stays inside [−1, 1] and behaves at 0% and
100%), and a flag where that interval excludes 0.  Posts are treated as independent draws,
which an actor's series is not quite: read a flag as "worth a look", not as proof.
"""

from __future__ import annotations

import csv
import logging
import re
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from pipeline.analysis.posts import PostTable
from pipeline.config import read_toml
from pipeline.errors import InputFileError, PipelineError
from pipeline.report.tables import wilson_arrays
from pipeline.schema import labels

log = logging.getLogger(__name__)
_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
LEVELS = ("all", "actor_type", "actor")


@dataclass(frozen=True)
class Event:
    """A named, dated event (the day starts at 00:00 UTC)."""

    name: str
    day: date
    description: str = ""


def _day(value: Any) -> date | None:
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    text = str(value or "").strip()
    if not _DATE.match(text):
        return None
    try:
        return date.fromisoformat(text)
    except ValueError:
        return None


def parse_event(text: str) -> Event:
    """``'G7 Hiroshima=2023-05-19'`` → :class:`Event`; raises :class:`PipelineError` naming the value."""
    name, sep, when = str(text).rpartition("=")
    day = _day(when)
    if not sep or not name.strip() or day is None:
        raise PipelineError(f"--event {text!r}: use NAME=YYYY-MM-DD, e.g. --event \"G7 Hiroshima=2023-05-19\"")
    return Event(name.strip(), day)


def read_events(path: Path) -> list[Event]:
    """Events from a TOML file (``[[event]]`` tables with ``name``, ``date``, optional ``description``)
    or a CSV file with those columns; errors name the file and the entry or line."""
    path = Path(path)
    if path.suffix.lower() == ".toml":
        entries = read_toml(path, what="events file", option="--events").get("event")
        if not isinstance(entries, list) or not entries:
            raise InputFileError(path, "no [[event]] entries found",
                                 'Write one per event: [[event]]\\nname = "G7 Hiroshima"\\ndate = 2023-05-19')
        rows = [(f"event {i}", e) for i, e in enumerate(entries, start=1)]
    elif path.suffix.lower() == ".csv":
        if not path.is_file():
            raise InputFileError(path, "events file not found", "Pass an existing CSV or TOML file to --events.")
        try:
            with open(path, encoding="utf-8-sig", newline="") as fh:
                reader = csv.DictReader(fh)
                missing = {"name", "date"} - set(reader.fieldnames or [])
                if missing:
                    raise InputFileError(path, f"no {' or '.join(sorted(missing))} column (columns: "
                                         f"{', '.join(reader.fieldnames or [])})",
                                         "Use a header line: name,date,description")
                rows = [(f"line {i}", r) for i, r in enumerate(reader, start=2)]
        except UnicodeDecodeError as exc:
            raise InputFileError(path, "is not UTF-8 text", "Save it as UTF-8 CSV.") from exc
    else:
        raise InputFileError(path, f"unknown events file type {path.suffix or '(none)'!r}",
                             "Use .toml ([[event]] tables) or .csv (name,date,description).")
    events = []
    for where, entry in rows:
        if not isinstance(entry, dict):
            raise InputFileError(path, f"{where} is not a table", "Give name and date for every event.")
        name, day = str(entry.get("name") or "").strip(), _day(entry.get("date"))
        if not name or day is None:
            raise InputFileError(path, f"{where}: name {entry.get('name')!r}, date {entry.get('date')!r}",
                                 "Every event needs a name and a date written YYYY-MM-DD.")
        events.append(Event(name, day, str(entry.get("description") or "").strip()))
    return events


def newcombe_interval(k1: np.ndarray, n1: np.ndarray, k2: np.ndarray, n2: np.ndarray
                      ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Difference p2 − p1 and its Newcombe (1998, method 10) hybrid-score 95% interval; NaN where n = 0."""
    k1, n1, k2, n2 = (np.asarray(x, dtype=float) for x in (k1, n1, k2, n2))
    l1, u1 = wilson_arrays(k1, n1)
    l2, u2 = wilson_arrays(k2, n2)
    with np.errstate(invalid="ignore", divide="ignore"):
        p1, p2 = k1 / n1, k2 / n2
    d = p2 - p1
    lo = d - np.sqrt((p2 - l2) ** 2 + (u1 - p1) ** 2)
    hi = d + np.sqrt((u2 - p2) ** 2 + (p1 - l1) ** 2)
    bad = (n1 == 0) | (n2 == 0)
    return (np.where(bad, np.nan, d), np.where(bad, np.nan, lo), np.where(bad, np.nan, hi))


def event_windows(posts: PostTable, events: list[Event], window: timedelta) -> pd.DataFrame:
    """One row per event, level (all, actor_type, actor), group and strategy with both windows compared."""
    frame, names = posts.frame, labels()
    out = []
    for ev in events:
        day = pd.Timestamp(ev.day, tz="UTC")
        t = frame["time"]
        side = np.where((t >= day - window) & (t < day), "before", np.where((t >= day) & (t < day + window),
                                                                          "after", ""))
        sub = frame.assign(side=side, all="all")[side != ""]
        for level in LEVELS:
            key = sub[level].astype(str)
            n = sub.groupby([key, "side"]).size().unstack("side").reindex(columns=["before", "after"]).fillna(0)
            k = sub.groupby([key, "side"])[list(names)].sum().unstack("side").fillna(0)
            for name in names:
                kb = k.get((name, "before"), pd.Series(0, index=k.index)).reindex(n.index).fillna(0).to_numpy()
                ka = k.get((name, "after"), pd.Series(0, index=k.index)).reindex(n.index).fillna(0).to_numpy()
                nb, na = n["before"].to_numpy(), n["after"].to_numpy()
                bl, bh = wilson_arrays(kb, nb)
                al, ah = wilson_arrays(ka, na)
                d, lo, hi = newcombe_interval(kb, nb, ka, na)
                with np.errstate(invalid="ignore", divide="ignore"):
                    sb, sa = np.where(nb > 0, kb / np.maximum(nb, 1), np.nan), np.where(na > 0, ka / np.maximum(na, 1),
                                                                                        np.nan)
                out.append(pd.DataFrame({
                    "event": ev.name, "event_date": ev.day.isoformat(), "window_days": window.total_seconds() / 86400,
                    "level": level, "group": n.index.astype(str), "strategy": name,
                    "posts_before": nb.astype(int), "posts_after": na.astype(int),
                    "with_before": kb.astype(int), "with_after": ka.astype(int),
                    "share_before": sb, "before_ci_low": np.where(nb > 0, bl, np.nan),
                    "before_ci_high": np.where(nb > 0, bh, np.nan),
                    "share_after": sa, "after_ci_low": np.where(na > 0, al, np.nan),
                    "after_ci_high": np.where(na > 0, ah, np.nan),
                    "difference": d, "diff_ci_low": lo, "diff_ci_high": hi,
                    "significant": (lo > 0) | (hi < 0)}))
    if not out:
        return pd.DataFrame(columns=["event", "event_date", "window_days", "level", "group", "strategy",
                                     "posts_before", "posts_after", "with_before", "with_after", "share_before",
                                     "before_ci_low", "before_ci_high", "share_after", "after_ci_low", "after_ci_high",
                                     "difference", "diff_ci_low", "diff_ci_high", "significant"])
    rows = pd.concat(out, ignore_index=True)
    order = {lvl: i for i, lvl in enumerate(LEVELS)}
    rows["_l"] = rows["level"].map(order)
    rows["_n"] = -(rows["posts_before"] + rows["posts_after"])
    rows = rows.sort_values(["event_date", "event", "_l", "_n", "group"], kind="stable").drop(columns=["_l", "_n"])
    log.info("%d event-window rows for %d events", len(rows), len(events))
    return rows.reset_index(drop=True)
