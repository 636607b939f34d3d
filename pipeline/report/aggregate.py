"""Per-actor and per-actor-type aggregation of labelled posts, streamed in chunks.

Each chunk is reduced to sums per (actor, month) as it arrives; the actor, actor-type, overall
and monthly tables are derived from those sums at the end (:mod:`pipeline.report.tables`).
Memory therefore grows with the number of actors and months, not with the number of posts.
Hashtag counts are kept in bounded counters, so they stay small on any input too.
"""

from __future__ import annotations

import json
import logging
import math
import numbers
import re
from collections import Counter
from collections.abc import Iterable, Mapping
from datetime import UTC, date, datetime
from typing import Any

import numpy as np
import pandas as pd

from pipeline.report.estimate import ScoreHistograms, estimate_table
from pipeline.report.examples import ExampleCollector
from pipeline.report.privacy import Pseudonymiser
from pipeline.report.registry import ACTOR_TYPES, NO_ACTOR, UNKNOWN, Registry, actor_info, actor_key, load_registry
from pipeline.report.tables import METRICS, BoundedCounter, build_tables, sum_columns, wilson_interval
from pipeline.schema import fold_tag, labels

__all__ = ["ACTOR_TYPES", "METRICS", "NO_ACTOR", "UNKNOWN", "Aggregator", "aggregate_frame", "aggregate_records",
           "load_registry", "wilson_interval"]
log = logging.getLogger(__name__)
_SEP = re.compile(r"[,;|]")
_CONSOLIDATE_ROWS = 200_000
#: Group levels of the share-estimate table (``estimates``), in display order.
ESTIMATE_LEVELS = ("all", "actor_type", "actor", "country", "language", "month")
NO_COUNTRY, NO_LANGUAGE, NO_MONTH = "(unknown)", "und", "(undated)"


def _missing(value: Any) -> bool:
    """None, NaN, NaT or blank text (CSV writes a missing value as an empty cell)."""
    return (value is None or value is pd.NaT or (isinstance(value, float) and math.isnan(value))
            or (isinstance(value, str) and not value.strip()))


def _names(value: Any) -> list[str]:
    """A list-valued field as strings: a list/array, a JSON list (CSV cells), or 'a;b' text."""
    if _missing(value):
        return []
    if isinstance(value, str):
        text = value.strip()
        if not text.startswith("["):
            return [p.strip() for p in _SEP.split(text) if p.strip()]
        try:
            value = json.loads(text)
        except json.JSONDecodeError:
            return []
    if isinstance(value, (str, bytes, Mapping)) or not isinstance(value, Iterable):
        return []
    return [str(v) for v in value if not _missing(v)]


def _metric(value: Any) -> int | None:
    """An engagement count, or ``None`` when missing or invalid (missing is not zero)."""
    if _missing(value) or isinstance(value, bool):
        return None
    if isinstance(value, numbers.Integral):
        count = int(value)
        return count if count >= 0 else None
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return int(number) if math.isfinite(number) and number >= 0 else None


def _prob(value: Any) -> float:
    try:
        p = float(value)
    except (TypeError, ValueError):
        return math.nan
    return p if 0.0 <= p <= 1.0 else math.nan


def _scores(rec: Mapping[str, Any], names: tuple[str, ...]) -> list[float]:
    raw = rec.get("scores")
    if isinstance(raw, str):
        try:
            raw = json.loads(raw)
        except json.JSONDecodeError:
            raw = None
    if isinstance(raw, Mapping):
        return [_prob(raw.get(n)) for n in names]
    return [_prob(rec.get(f"score_{n}")) for n in names]  # flattened CSV/Parquet columns


def _month(value: Any) -> str | None:
    """'YYYY-MM' in UTC of an ISO 8601 timestamp or a datetime; ``None`` when missing or unreadable."""
    if _missing(value):
        return None
    when = value
    if isinstance(value, str):
        try:
            when = datetime.fromisoformat(value.strip())
        except ValueError:
            return None
    if not isinstance(when, date):
        return None
    if isinstance(when, datetime) and when.tzinfo is not None:
        when = when.astimezone(UTC)
    return f"{when.year:04d}-{when.month:02d}"


class Aggregator:
    """Accumulates labelled posts chunk by chunk; :meth:`tables` returns the report tables.

    Parameters
    ----------
    registry : mapping
        Canonical handle → ``{"name", "type", "country"}`` (see :func:`load_registry`).
    top_hashtags : int
        Hashtags kept per group and strategy in the ``hashtags`` table.
    examples : ExampleCollector, optional
        Keeps example posts per strategy (see :mod:`pipeline.report.examples`).
    pseudonymiser : Pseudonymiser, optional
        Replaces private handles before anything is stored (every table then carries pseudonyms).
    on_chunk : callable, optional
        Called per chunk with ``(records, columns)`` (the per-post values the report derived) so
        that a posts table can be streamed out (:mod:`pipeline.report.posts`).
    """

    def __init__(self, registry: Registry, *, top_hashtags: int = 10, examples: ExampleCollector | None = None,
                 pseudonymiser: Pseudonymiser | None = None, on_chunk: Any = None) -> None:
        self.registry = {actor_key(k): dict(v) for k, v in registry.items()}
        self.top_hashtags = top_hashtags
        self.labels = labels()
        self.columns = sum_columns(self.labels)
        self.total = 0
        self.issues: Counter[str] = Counter()
        self.unknown_labels: Counter[str] = Counter()
        self.names_in_data: dict[str, str] = {}
        self.hashtags = {"actor": BoundedCounter(500_000), "actor_type": BoundedCounter(200_000),
                         "all": BoundedCounter(100_000)}
        self._parts: list[pd.DataFrame] = []
        self._pending = 0
        self.hist = ScoreHistograms(self.labels)
        self.examples = examples
        self.pseudo = pseudonymiser
        self.on_chunk = on_chunk
        self.no_actor = 0

    def add(self, records: Iterable[Mapping[str, Any]]) -> None:
        """Add one chunk of labelled records (dicts as written by ``label``)."""
        recs = list(records)
        n, names = len(recs), self.labels
        if not n:
            return
        index = {name: j for j, name in enumerate(names)}
        Y = np.zeros((n, len(names)), dtype=bool)
        S = np.empty((n, len(names)))
        V = np.zeros((n, len(METRICS)), dtype=np.int64)
        K = np.zeros((n, len(METRICS)), dtype=bool)
        actors, months, raw = [], [], []
        for i, rec in enumerate(recs):
            actor = actor_key(rec.get("actor"))
            raw.append(actor)
            if self.pseudo is not None and self.pseudo.is_private(actor):
                actor = self.pseudo.handle(actor)  # a private account's name in the data is dropped with it
            actors.append(actor)
            if actor not in self.registry and actor not in self.names_in_data and rec.get("actor_name") \
                    and not actor.startswith("user_"):
                self.names_in_data[actor] = str(rec["actor_name"])
            month = _month(rec.get("created_at"))
            months.append(month or "")
            if month is None:
                self.issues["undated" if _missing(rec.get("created_at")) else "bad_date"] += 1
            for name in _names(rec.get("labels")):
                j = index.get(name)
                if j is None:
                    self.unknown_labels[name] += 1
                else:
                    Y[i, j] = True
            S[i] = _scores(rec, names)
            for m, metric in enumerate(METRICS):
                value = _metric(rec.get(metric))
                if value is not None:
                    V[i, m], K[i, m] = value, True
            if Y[i].any():
                self._count_hashtags(actor, rec.get("hashtags"), [names[j] for j in np.flatnonzero(Y[i])])
        self.total += n
        self._estimate_inputs(recs, Y, S, actors, raw, months)
        self._parts.append(self._sums(Y, S, V, K, actors, months))
        self._pending += len(self._parts[-1])
        if self._pending > _CONSOLIDATE_ROWS:
            self._consolidate()

    def merge(self, other: Aggregator) -> None:
        """Add the sums of ``other``, an aggregator of the next part of the same input.

        Sums, counts, score histograms and hashtag counters add up; an actor's name seen in the
        data is the one seen first, so merging the parts' aggregators in input order gives the
        tables of one aggregator fed the whole input (intervals, shares and estimates are computed
        from the combined sums). Example posts are not merged: aggregators with an example
        collector cannot be merged.
        """
        if self.examples is not None or other.examples is not None:
            raise ValueError("aggregators that collect example posts cannot be merged")
        self.total += other.total
        self.no_actor += other.no_actor
        self.hist.merge(other.hist)
        self.issues.update(other.issues)
        self.unknown_labels.update(other.unknown_labels)
        for actor, name in other.names_in_data.items():
            self.names_in_data.setdefault(actor, name)
        for level, counter in other.hashtags.items():
            self.hashtags[level].merge(counter)
        self._parts += other._parts
        self._pending += sum(len(p) for p in other._parts)
        if self._pending > _CONSOLIDATE_ROWS:
            self._consolidate()

    def _estimate_inputs(self, recs: list[Mapping[str, Any]], Y: np.ndarray, S: np.ndarray, actors: list[str],
                         raw: list[str], months: list[str]) -> None:
        """Feed the score histograms, the example collector and the posts stream for one chunk."""
        info = [actor_info(self.registry, a) for a in raw]
        types = [i["type"] for i in info]
        countries = [i["country"] or NO_COUNTRY for i in info]
        langs = [str(r.get("language") or NO_LANGUAGE) for r in recs]
        self.no_actor += sum(a == NO_ACTOR for a in actors)
        for level, groups in (("all", ["all"] * len(recs)), ("actor_type", types), ("actor", actors),
                              ("country", countries), ("language", langs),
                              ("month", [m or NO_MONTH for m in months])):
            self.hist.add(level, groups, S, Y)
        if self.examples is not None:
            self.examples.add(recs, S, raw, types)
        if self.on_chunk is not None:
            self.on_chunk(recs, {"actor": actors, "actor_type": types, "country": countries, "Y": Y, "S": S})

    def _count_hashtags(self, actor: str, value: Any, strategies: list[str]) -> None:
        tags = {fold_tag(t.strip().lstrip("#").strip()) for t in _names(value)} - {""}
        atype = actor_info(self.registry, actor)["type"]
        for strategy in strategies:
            self.hashtags["actor"].update((actor, strategy, t) for t in tags)
            self.hashtags["actor_type"].update((atype, strategy, t) for t in tags)
            self.hashtags["all"].update(("all", strategy, t) for t in tags)

    def _sums(self, Y: np.ndarray, S: np.ndarray, V: np.ndarray, K: np.ndarray, actors: list[str],
              months: list[str]) -> pd.DataFrame:
        names, n_labels = self.labels, Y.sum(axis=1)
        cols: dict[str, Any] = {"posts": np.ones(len(actors), dtype=np.int64),
                                "no_strategy_posts": n_labels == 0, "multi_strategy_posts": n_labels >= 2}
        for j, name in enumerate(names):
            known = ~np.isnan(S[:, j])
            cols[f"{name}_posts"] = Y[:, j]
            cols[f"{name}_only_posts"] = Y[:, j] & (n_labels == 1)
            cols[f"{name}_score_sum"] = np.where(known, S[:, j], 0.0)
            cols[f"{name}_score_n"] = known
            for other in range(j + 1, len(names)):
                cols[f"{name}+{names[other]}_posts"] = Y[:, j] & Y[:, other]
            for m, metric in enumerate(METRICS):
                cols[f"{name}_{metric}_total"] = np.where(Y[:, j], V[:, m], 0)
        for m, metric in enumerate(METRICS):
            cols[f"{metric}_known_posts"] = K[:, m]
            cols[f"{metric}_total"] = V[:, m]
        frame = pd.DataFrame(cols)[self.columns]
        frame = frame.astype({c: np.int64 for c in self.columns if not c.endswith("_score_sum")})
        frame.index = pd.MultiIndex.from_arrays([actors, months], names=["actor", "month"])
        return frame.groupby(level=["actor", "month"], sort=False).sum()

    def _consolidate(self) -> pd.DataFrame:
        if len(self._parts) != 1:
            empty = pd.DataFrame(columns=self.columns,
                                 index=pd.MultiIndex.from_arrays([[], []], names=["actor", "month"]))
            parts = self._parts or [empty]
            self._parts = [pd.concat(parts).groupby(level=["actor", "month"], sort=False).sum()]
        self._pending = len(self._parts[0])
        return self._parts[0]

    def notes(self) -> list[str]:
        """Data-quality notes, one summarised line each (not one per post)."""
        notes = []
        if self.issues["undated"]:
            notes.append(f"{self.issues['undated']} of {self.total} posts have no created_at date "
                         "(counted everywhere except the monthly time series)")
        if self.issues["bad_date"]:
            notes.append(f"{self.issues['bad_date']} posts have an unreadable created_at date "
                         "(counted everywhere except the monthly time series)")
        if self.no_actor:
            notes.append(f"{self.no_actor} of {self.total} posts have no actor handle: they are shown as their own "
                         f"row '{NO_ACTOR}' and left out of the actor and actor-type rankings and charts")
        if self.unknown_labels:
            seen = ", ".join(f"{k!r} ({v})" for k, v in self.unknown_labels.most_common(5))
            notes.append(f"labels not in configs/labels.toml were ignored: {seen}")
        if any(c.approximate for c in self.hashtags.values()):
            notes.append("hashtag counts are approximate: rare hashtags were dropped to bound memory")
        return notes

    def tables(self, *, priors: Mapping[str, float] | None = None,
               thresholds: Mapping[str, float] | None = None, n_boot: int = 200) -> dict[str, pd.DataFrame]:
        """The report tables: actors, actor_types, overall, timeseries, cooccurrence, hashtags, unknown_actors,
        estimates (three share estimates per level and group) and examples (when collected).

        ``priors`` (training prevalence per label) enable the prior-shift-adjusted estimate;
        ``thresholds`` the threshold-sensitivity columns.
        """
        out = build_tables(self._consolidate(), self.registry, self.labels, hashtags=self.hashtags,
                           top_hashtags=self.top_hashtags, names_in_data=self.names_in_data)
        est = [estimate_table(self.hist, level, priors=priors, thresholds=thresholds, n_boot=n_boot)
               for level in ESTIMATE_LEVELS]
        est = [e for e in est if len(e)]
        out["estimates"] = pd.concat(est, ignore_index=True) if est else pd.DataFrame(
            columns=["level", "group", "strategy", "posts"])
        if self.examples is not None:
            out["examples"] = self.examples.table()
        return out


def aggregate_records(chunks: Iterable[Iterable[Mapping[str, Any]]], registry: Registry | None = None, *,
                      top_hashtags: int = 10, priors: Mapping[str, float] | None = None,
                      thresholds: Mapping[str, float] | None = None, n_boot: int = 200, **options: Any,
                      ) -> tuple[dict[str, pd.DataFrame], list[str]]:
    """Aggregate chunks of labelled records; returns (tables, data-quality notes).

    ``options`` go to :class:`Aggregator` (``examples``, ``pseudonymiser``, ``on_chunk``).
    """
    agg = Aggregator(load_registry() if registry is None else registry, top_hashtags=top_hashtags, **options)
    for chunk in chunks:
        agg.add(chunk)
    notes = agg.notes()
    for note in notes:
        log.warning(note)
    return agg.tables(priors=priors, thresholds=thresholds, n_boot=n_boot), notes


def aggregate_frame(df: pd.DataFrame, registry: Registry | None = None, *, chunk_size: int = 10_000,
                    top_hashtags: int = 10) -> dict[str, pd.DataFrame]:
    """Aggregate a DataFrame of labelled posts (``label`` output read with pandas) into report tables.

    ``registry`` defaults to the shipped ``configs/actors.toml``; pass ``load_registry(path)``
    to merge your own.  Scores may be a ``scores`` dict column or flattened ``score_<label>`` columns.
    """
    if not isinstance(df, pd.DataFrame):
        raise TypeError(f"df must be a pandas DataFrame. Got {type(df).__name__} instead.")
    chunks = (df.iloc[i:i + chunk_size].to_dict("records") for i in range(0, len(df), chunk_size))
    return aggregate_records(chunks, registry, top_hashtags=top_hashtags)[0]
