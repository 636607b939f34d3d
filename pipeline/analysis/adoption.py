"""Trend adoption: who picked up each named trend first, in what order, and how long after.

A *trend* is a hashtag carried by posts labelled ``trend_participation`` (a challenge, dance or
campaign tag), reach hashtags such as #fyp left out.  Without named trends, every such hashtag
that at least ``min_actors`` different actors used is followed.  Only posts labelled
``trend_participation`` count: the first sighting is the earliest of them carrying the tag, an
actor adopts the trend at its own first such post, and its lag is the time since the first
sighting.  *Official* accounts are the state actor types in :data:`OFFICIAL_TYPES`; *creators*
are ``influencer/creator``; "official led" means an official account adopted before any creator.
"""

from __future__ import annotations

import logging

import pandas as pd

from pipeline.analysis.posts import PostTable
from pipeline.analysis.text import REACH_HASHTAGS

log = logging.getLogger(__name__)
TREND = "trend_participation"
OFFICIAL_TYPES = frozenset({"government", "foreign ministry", "embassy", "head of state/government",
                            "international organisation", "state media"})
CREATOR_TYPES = frozenset({"influencer/creator"})


def _verdict(official: pd.Timestamp | None, creator: pd.Timestamp | None) -> str:
    if official is None and creator is None:
        return "no official account or creator"
    if creator is None:
        return "official accounts only"
    if official is None:
        return "creators only"
    if official < creator:
        return "official led"
    return "creators led" if creator < official else "same time"


def trend_adoption(posts: PostTable, trends: list[str] | None = None, *, min_actors: int = 2, top: int = 20
                   ) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """(trends, adopters, lags per actor type) for the named ``trends`` or those found in the data.

    Returns
    -------
    trends : DataFrame
        One row per trend: first sighting, first adopter, adopters, posts, first official and first
        creator adoption, who led, creators before the first official account.
    adopters : DataFrame
        One row per trend and actor in adoption order, with ``lag_days`` since the first sighting.
    lags : DataFrame
        Per trend and actor type: adopters, first, median and last lag in days.
    """
    frame = posts.frame
    tp = frame.loc[frame[TREND], ["post_id", "actor", "actor_type", "country", "time", "hashtags"]]
    long = tp.explode("hashtags").dropna(subset=["hashtags"]).rename(columns={"hashtags": "trend"})
    long = long[~long["trend"].isin(REACH_HASHTAGS)]
    if trends:
        wanted = [t.strip().lstrip("#").strip().lower() for t in trends]
        long = long[long["trend"].isin(wanted)]
    counts = long.groupby("trend")["actor"].nunique()
    keep = counts[counts >= (1 if trends else min_actors)].sort_values(ascending=False, kind="stable")
    keep = keep if trends else keep.head(top)
    long = long[long["trend"].isin(keep.index)]
    adopters = (long.sort_values(["trend", "time", "actor"], kind="stable")
                .groupby(["trend", "actor"], sort=False)
                .agg(adopted=("time", "min"), posts=("post_id", "nunique"), actor_type=("actor_type", "first"),
                     country=("country", "first"), first_post=("post_id", "first"))
                .reset_index().sort_values(["trend", "adopted", "actor"], kind="stable"))
    adopters["actor_type"] = adopters["actor_type"].astype(str)
    adopters["country"] = adopters["country"].astype(str)
    first = adopters.groupby("trend")["adopted"].transform("min")
    adopters["order"] = adopters.groupby("trend").cumcount() + 1
    adopters["lag_days"] = ((adopters["adopted"] - first).dt.total_seconds() / 86400).round(2)
    rows, lags = [], []
    for trend, g in adopters.groupby("trend", sort=False):
        off, cre = g[g["actor_type"].isin(OFFICIAL_TYPES)], g[g["actor_type"].isin(CREATOR_TYPES)]
        off_t = off["adopted"].min() if len(off) else None
        cre_t = cre["adopted"].min() if len(cre) else None
        rows.append({"trend": trend, "first_seen": g["adopted"].min(), "first_actor": g.iloc[0]["actor"],
                     "first_actor_type": g.iloc[0]["actor_type"], "adopters": len(g), "posts": int(g["posts"].sum()),
                     "official_adopters": len(off), "creator_adopters": len(cre),
                     "first_official": off_t, "first_creator": cre_t,
                     "official_vs_creators": _verdict(off_t, cre_t),
                     "creators_before_first_official": int((cre["adopted"] < off_t).sum()) if off_t is not None
                     else len(cre),
                     "adoption_order": " → ".join(g["actor"].head(10)) + (" …" if len(g) > 10 else "")})
        for atype, a in g.groupby("actor_type", sort=True):
            lags.append({"trend": trend, "actor_type": atype, "adopters": len(a),
                         "first_lag_days": float(a["lag_days"].min()), "median_lag_days": float(a["lag_days"].median()),
                         "last_lag_days": float(a["lag_days"].max())})
    table = pd.DataFrame(rows, columns=["trend", "first_seen", "first_actor", "first_actor_type", "adopters", "posts",
                                        "official_adopters", "creator_adopters", "first_official", "first_creator",
                                        "official_vs_creators", "creators_before_first_official", "adoption_order"])
    if len(table):
        table = table.sort_values(["adopters", "first_seen"], ascending=[False, True], kind="stable")
        adopters["_rank"] = adopters["trend"].map({t: i for i, t in enumerate(table["trend"])})
        adopters = adopters.sort_values(["_rank", "order"], kind="stable").drop(columns="_rank")
    lag_table = pd.DataFrame(lags, columns=["trend", "actor_type", "adopters", "first_lag_days", "median_lag_days",
                                            "last_lag_days"])
    log.info("%d trends followed", len(table))
    cols = ["trend", "order", "actor", "actor_type", "country", "adopted", "lag_days", "posts", "first_post"]
    return table.reset_index(drop=True), adopters[cols].reset_index(drop=True), lag_table


def lags_by_type(lags: pd.DataFrame) -> pd.DataFrame:
    """Across trends, per actor type: trends joined and the median of their first lags in days."""
    if lags.empty:
        return pd.DataFrame(columns=["actor_type", "trends", "median_first_lag_days"])
    out = lags.groupby("actor_type").agg(trends=("trend", "nunique"),
                                         median_first_lag_days=("first_lag_days", "median")).reset_index()
    out["median_first_lag_days"] = out["median_first_lag_days"].astype(float).round(2)
    return out.sort_values(["median_first_lag_days", "actor_type"], kind="stable").reset_index(drop=True)


__all__ = ["OFFICIAL_TYPES", "CREATOR_TYPES", "trend_adoption", "lags_by_type"]
