"""Report tables derived from per-(actor, month) sums.

Shares of posts with Wilson 95% intervals, engagement-weighted shares, mean scores, strategy
co-occurrence, top hashtags per strategy and monthly series, at three levels: actor, actor type
and all posts.  Every statistic is a ratio of sums, so the actor-type and overall figures are
exact regardless of how the input was chunked.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Hashable, Iterable, Mapping
from typing import Any

import numpy as np
import pandas as pd

from pipeline.report.registry import NO_ACTOR, Registry, actor_info

#: Engagement counts used as weights.  A post whose count is missing is left out of that metric's
#: denominator (missing is not zero); ``<metric>_known_posts`` says how many posts had it.
METRICS = ("views", "likes", "shares")
Z95 = 1.959963984540054
LEVELS = ("actor", "actor_type", "all")


def sum_columns(names: tuple[str, ...]) -> list[str]:
    """The summed columns kept per (actor, month); ``a+b_posts`` counts posts with both a and b."""
    cols = ["posts", "no_strategy_posts", "multi_strategy_posts"]
    for j, name in enumerate(names):
        cols += [f"{name}_posts", f"{name}_only_posts", f"{name}_score_sum", f"{name}_score_n"]
        cols += [f"{name}+{other}_posts" for other in names[j + 1:]]
        cols += [f"{name}_{m}_total" for m in METRICS]
    for m in METRICS:
        cols += [f"{m}_known_posts", f"{m}_total"]
    return cols


def wilson_interval(k: int, n: int, z: float = Z95) -> tuple[float, float]:
    """Wilson score interval for a proportion k/n (95% by default); (0, 0) when n = 0."""
    lo, hi = wilson_arrays(np.array([k]), np.array([n]), z)
    return (float(lo[0]), float(hi[0]))


def wilson_arrays(k: np.ndarray, n: np.ndarray, z: float = Z95) -> tuple[np.ndarray, np.ndarray]:
    """Vectorised :func:`wilson_interval`."""
    k, n = np.asarray(k, dtype=float), np.asarray(n, dtype=float)
    safe = np.where(n > 0, n, 1.0)
    p = k / safe
    denom = 1 + z * z / safe
    centre = (p + z * z / (2 * safe)) / denom
    half = z * np.sqrt(p * (1 - p) / safe + z * z / (4 * safe * safe)) / denom
    return (np.where(n > 0, np.clip(centre - half, 0.0, 1.0), 0.0),
            np.where(n > 0, np.clip(centre + half, 0.0, 1.0), 0.0))


class BoundedCounter:
    """A counter that never holds more than ``cap`` keys.

    When it grows past ``cap`` the rarest keys are dropped until at most ``cap / 2`` remain.
    Frequent keys survive (their counts may then be slightly low), so top-N lists of skewed data
    such as hashtags stay right; :attr:`approximate` records whether anything was dropped.
    """

    def __init__(self, cap: int) -> None:
        self.cap = cap
        self.counts: Counter[Hashable] = Counter()
        self.approximate = False

    def update(self, keys: Iterable[Hashable]) -> None:
        self.counts.update(keys)
        self._bound()

    def merge(self, other: BoundedCounter) -> None:
        """Add the counts of ``other`` (a counter of another part of the same input)."""
        self.counts.update(other.counts)
        self.approximate = self.approximate or other.approximate
        self._bound()

    def _bound(self) -> None:
        if len(self.counts) > self.cap:
            values = np.fromiter(self.counts.values(), dtype=np.int64, count=len(self.counts))
            keep = max(1, self.cap // 2)
            threshold = np.partition(values, len(values) - keep)[len(values) - keep]
            self.counts = Counter({k: v for k, v in self.counts.items() if v > threshold})
            self.approximate = True


def _ratio(a: Any, b: Any) -> np.ndarray:
    a, b = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    return np.round(np.divide(a, b, out=np.full(a.shape, math.nan), where=b > 0), 4)


def derive(totals: pd.DataFrame, names: tuple[str, ...], *, weights: bool = True) -> pd.DataFrame:
    """Shares, Wilson intervals, mean scores and engagement-weighted shares from summed columns."""
    n = totals["posts"].to_numpy()
    out: dict[str, Any] = {"posts": totals["posts"]}
    for name in names:
        k = totals[f"{name}_posts"].to_numpy()
        lo, hi = wilson_arrays(k, n)
        out[f"{name}_posts"] = totals[f"{name}_posts"]
        out[f"{name}_share"] = np.nan_to_num(_ratio(k, n))
        out[f"{name}_share_ci_low"], out[f"{name}_share_ci_high"] = lo.round(4), hi.round(4)
        if not weights:
            continue
        out[f"{name}_only_posts"] = totals[f"{name}_only_posts"]
        out[f"{name}_mean_score"] = _ratio(totals[f"{name}_score_sum"], totals[f"{name}_score_n"])
        for m in METRICS:
            out[f"{name}_{m}_share"] = _ratio(totals[f"{name}_{m}_total"], totals[f"{m}_total"])
    if weights:
        for m in METRICS:
            out[f"{m}_known_posts"], out[f"{m}_total"] = totals[f"{m}_known_posts"], totals[f"{m}_total"]
        out["no_strategy_posts"], out["multi_strategy_posts"] = totals["no_strategy_posts"], totals["multi_strategy_posts"]
    return pd.DataFrame(out, index=totals.index)


def _level(flat: pd.DataFrame, key: str, columns: list[str], names: tuple[str, ...]) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(summed totals, derived table) per value of ``flat[key]``."""
    totals = flat.groupby(key)[columns].sum()
    if key == "all":
        totals = totals.reindex(["all"], fill_value=0)  # one row even for an empty input
    dated = flat[flat["month"] != ""]
    table = derive(totals, names)
    table.insert(1, "posts_without_date", flat[flat["month"] == ""].groupby(key)["posts"].sum()
                 .reindex(totals.index, fill_value=0))
    # months as yyyymm integers: min/max of strings would fall back to slow Python code
    yyyymm = dated["month"].str.slice(0, 4).astype(int) * 100 + dated["month"].str.slice(5, 7).astype(int)
    span = yyyymm.groupby(dated[key]).agg(["min", "max"]).reindex(totals.index)
    for pos, (col, agg) in enumerate((("first_month", "min"), ("last_month", "max")), start=2):
        table.insert(pos, col, [f"{int(v) // 100:04d}-{int(v) % 100:02d}" if v == v else "" for v in span[agg]])
    if key != "actor":
        table.insert(0, "actors", flat.groupby(key)["actor"].nunique().reindex(totals.index, fill_value=0))
    table = table.rename_axis(key).reset_index()
    return totals, ranked(table.sort_values(["posts", key], ascending=[False, True], kind="stable"), key)


def ranked(table: pd.DataFrame, key: str) -> pd.DataFrame:
    """Rank groups by posts (1 = most); posts without an actor go last, unranked (``rank`` missing).

    They are not an actor, so they must not top an actor or actor-type ranking; they stay in the
    table as their own labelled row so that counts still add up.
    """
    if key not in ("actor", "actor_type"):
        return table.reset_index(drop=True)
    none = table[key] == NO_ACTOR
    table = pd.concat([table[~none], table[none]], ignore_index=True)
    rank = pd.array(list(range(1, int((~none).sum()) + 1)) + [None] * int(none.sum()), dtype="Int64")
    table.insert(0, "rank", rank)
    return table


def _cooccurrence(totals: pd.DataFrame, level: str, names: tuple[str, ...]) -> pd.DataFrame:
    """Long table: posts with both strategies, as a share of all posts and of the first strategy's posts."""
    frames = []
    for a in names:
        for b in names:
            col = f"{a}_posts" if a == b else f"{a}+{b}_posts" if f"{a}+{b}_posts" in totals else f"{b}+{a}_posts"
            both = totals[col].to_numpy()
            frames.append(pd.DataFrame({"level": level, "group": totals.index, "strategy": a, "co_strategy": b,
                                        "posts": both, "share_of_posts": _ratio(both, totals["posts"]),
                                        "conditional_share": _ratio(both, totals[f"{a}_posts"])}))
    return pd.concat(frames, ignore_index=True).sort_values("group", kind="stable").reset_index(drop=True)


def _hashtags(counter: Any, level: str, totals: pd.DataFrame, names: tuple[str, ...], top: int) -> pd.DataFrame:
    cols = ["level", "group", "strategy", "rank", "hashtag", "posts", "share_of_strategy_posts", "approximate"]
    if not counter.counts:
        return pd.DataFrame(columns=cols)
    df = pd.DataFrame([(g, s, t, c) for (g, s, t), c in counter.counts.items()],
                      columns=["group", "strategy", "hashtag", "posts"])
    df = df.sort_values(["group", "strategy", "posts", "hashtag"], ascending=[True, True, False, True])
    df = df.groupby(["group", "strategy"], sort=False).head(top).copy()
    df["rank"] = df.groupby(["group", "strategy"]).cumcount() + 1
    base = totals[[f"{n}_posts" for n in names]].set_axis(list(names), axis=1).stack()  # (group, strategy) → posts
    base = base.reindex(pd.MultiIndex.from_arrays([df["group"], df["strategy"]]), fill_value=0)
    df["share_of_strategy_posts"] = _ratio(df["posts"].to_numpy(), base.to_numpy())
    df["level"], df["approximate"] = level, counter.approximate
    return df[cols].reset_index(drop=True)


def build_tables(sums: pd.DataFrame, registry: Registry, names: tuple[str, ...], *, hashtags: Mapping[str, Any],
                 top_hashtags: int, names_in_data: Mapping[str, str]) -> dict[str, pd.DataFrame]:
    """All report tables from the per-(actor, month) ``sums`` kept by the aggregator."""
    columns = sum_columns(names)
    sums = sums.astype({c: float if c.endswith("_score_sum") else np.int64 for c in columns})
    flat = sums.reset_index()
    info = {a: actor_info(registry, a) for a in flat["actor"].unique()}
    flat["actor_type"] = flat["actor"].map(lambda a: info[a]["type"])
    flat["all"] = "all"
    out: dict[str, pd.DataFrame] = {}
    series, cooc, tags = [], [], []
    for level, name in zip(LEVELS, ("actors", "actor_types", "overall")):
        totals, out[name] = _level(flat, level, columns, names)
        monthly = flat[flat["month"] != ""].groupby([level, "month"])[columns].sum()
        ts = derive(monthly, names, weights=False).reset_index().rename(columns={level: "group"})
        ts.insert(0, "level", level)
        series.append(ts)
        cooc.append(_cooccurrence(totals, level, names))
        tags.append(_hashtags(hashtags[level], level, totals, names, top_hashtags))
    actors = out["actors"]
    meta = pd.DataFrame([info.get(a, actor_info(registry, a)) for a in actors["actor"]], index=actors.index,
                        columns=["name", "type", "country"])
    for pos, (col, src) in enumerate((("actor_name", "name"), ("actor_type", "type"), ("country", "country")), start=2):
        actors.insert(pos, col, meta[src])
    out["timeseries"] = pd.concat(series, ignore_index=True)
    out["cooccurrence"] = pd.concat(cooc, ignore_index=True)
    out["hashtags"] = pd.concat([t for t in tags if len(t)] or tags[:1], ignore_index=True)
    unknown = actors[~actors["actor"].isin(list(registry)) & (actors["actor"] != NO_ACTOR)]
    out["unknown_actors"] = pd.DataFrame({
        "actor": unknown["actor"], "posts": unknown["posts"], "first_month": unknown["first_month"],
        "last_month": unknown["last_month"],
        "name_in_data": [names_in_data.get(a, "") for a in unknown["actor"]]}).reset_index(drop=True)
    return out
