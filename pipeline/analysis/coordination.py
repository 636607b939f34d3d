"""Coordinated posting: near-duplicate texts posted by different actors within a time window.

1. Every post contributes its normalised caption, on-screen text and transcript
   (:mod:`pipeline.analysis.text`); empty texts, boilerplate and texts shorter than
   ``min_chars`` are counted and left out.
2. Identical texts are merged; the distinct texts are grouped into near-duplicate families by
   MinHash LSH (:mod:`pipeline.analysis.minhash`, no all-pairs comparison).  A family may mix
   fields (a caption of one account copied as on-screen text by another).
3. Within a family, posts are ordered by time and split wherever two consecutive posts are
   more than ``window`` apart; a run with at least ``min_actors`` different actors is a cluster.

Coordination score = actors × mean similarity to the cluster's text ÷ (1 + spread ÷ window):
more accounts, closer copies and a tighter burst score higher.
"""

from __future__ import annotations

import itertools
import logging
import re
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

import numpy as np
import pandas as pd

from pipeline.analysis.minhash import near_duplicate_groups, similarity
from pipeline.analysis.posts import PostTable
from pipeline.analysis.text import TEXT_FIELDS
from pipeline.schema import labels

log = logging.getLogger(__name__)
#: Clusters with more actors than this add no rows to the actor-pair table (pairs grow as n²).
MAX_PAIR_ACTORS = 200
#: A text made only of hashtags/mentions: weaker evidence of coordination than shared wording.
_HASHTAGS_ONLY = re.compile(r"^(?:[#@][^\s#@]+\s*)+$")


@dataclass
class CoordinationResult:
    """Clusters, their posts, actor pairs and what was left out."""

    clusters: pd.DataFrame
    cluster_posts: pd.DataFrame
    actor_pairs: pd.DataFrame
    params: dict[str, Any]
    counts: dict[str, int]
    notes: list[str] = field(default_factory=list)


def _text_rows(frame: pd.DataFrame, fields: tuple[str, ...], min_chars: int) -> tuple[pd.DataFrame, dict[str, int]]:
    """Long table (post row, field, text) of the texts compared, and counts of those left out."""
    parts, counts = [], {"texts_empty": 0, "texts_boilerplate": 0, "texts_short": 0, "texts_compared": 0}
    for f in fields:
        col = frame[f] if f in frame else pd.Series([None] * len(frame), dtype=object)
        present = col.notna()
        lengths = col.fillna("").str.len()
        counts["texts_empty"] += int((~present).sum())
        counts["texts_boilerplate"] += int((present & (lengths == 0)).sum())
        counts["texts_short"] += int((present & (lengths > 0) & (lengths < min_chars)).sum())
        ok = present & (lengths >= min_chars)
        parts.append(pd.DataFrame({"row": np.flatnonzero(ok.to_numpy()), "field": f,
                                   "text": col[ok].to_numpy(dtype=object)}))
    rows = pd.concat(parts, ignore_index=True)
    counts["texts_compared"] = len(rows)
    return rows, counts


def find_clusters(posts: PostTable, *, window: timedelta = timedelta(hours=48), min_actors: int = 3,
                  similarity_threshold: float = 0.8, min_chars: int = 20, fields: tuple[str, ...] = TEXT_FIELDS,
                  num_perm: int = 64) -> CoordinationResult:
    """Find clusters of near-duplicate texts posted by at least ``min_actors`` actors within ``window``.

    Parameters
    ----------
    posts : PostTable
        From :func:`pipeline.analysis.posts.load_posts` with the normalised ``fields`` as columns.
    window : timedelta
        Largest gap between consecutive posts of one cluster.
    min_actors : int
        Distinct actors a cluster needs.
    similarity_threshold : float
        Estimated Jaccard similarity of character 5-gram sets that makes two texts near-duplicates.
    min_chars : int
        Shorter normalised texts are left out (short phrases match by chance).
    """
    frame = posts.frame
    params = {"window_hours": window.total_seconds() / 3600, "min_actors": min_actors,
              "similarity": similarity_threshold, "min_chars": min_chars, "fields": list(fields),
              "num_perm": num_perm}
    rows, counts = _text_rows(frame, fields, min_chars)
    counts.update(posts_read=posts.read, posts_used=len(frame))
    notes = list(posts.notes())
    text_codes, uniques = pd.factorize(rows["text"])
    counts["distinct_texts"] = len(uniques)
    if len(uniques) == 0:
        return CoordinationResult(*_empty(), params, counts, notes)
    groups, sig = near_duplicate_groups(list(uniques), similarity_threshold, num_perm)
    rows["text_id"] = text_codes
    rows["family"] = groups[text_codes]
    rows["actor"] = frame["actor"].to_numpy()[rows["row"].to_numpy()]
    # naive UTC datetime64: tz-aware columns turn into object arrays of Timestamps in NumPy
    rows["time"] = frame["time"].dt.tz_convert(None).to_numpy()[rows["row"].to_numpy()]
    # only families that can reach min_actors at all go on to the time split
    n_actors = rows.groupby("family")["actor"].nunique()
    rows = rows[rows["family"].isin(n_actors.index[n_actors >= min_actors])]
    # one entry per post and family (a caption copied into the on-screen text counts once)
    rows = rows.sort_values(["family", "time", "row"], kind="stable").drop_duplicates(["family", "row"])
    fam, t = rows["family"].to_numpy(), rows["time"].to_numpy()
    new_run = np.r_[True, (fam[1:] != fam[:-1]) | ((t[1:] - t[:-1]) > np.timedelta64(window))]
    rows["run"] = np.cumsum(new_run) - 1
    run_actors = rows.groupby("run")["actor"].nunique()
    rows = rows[rows["run"].isin(run_actors.index[run_actors >= min_actors])].copy()
    if rows.empty:
        return CoordinationResult(*_empty(), params, counts, notes)
    clusters, members = _describe(rows, frame, uniques, sig, window)
    pairs, skipped = actor_pairs(members)
    if skipped:
        notes.append(f"{skipped} clusters with more than {MAX_PAIR_ACTORS} actors are left out of the actor-pair "
                     "table and the network (pairs would grow as the square of their size)")
    counts["clusters"] = len(clusters)
    log.info("%d clusters from %d distinct texts", len(clusters), len(uniques))
    return CoordinationResult(clusters, members, pairs, params, counts, notes)


def _describe(rows: pd.DataFrame, frame: pd.DataFrame, uniques: Any, sig: np.ndarray, window: timedelta
              ) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The cluster table and the per-post member table for the kept runs."""
    names = labels()
    # representative text of a run: its most posted distinct text (earliest on ties)
    counts = rows.groupby(["run", "text_id"], sort=False).size().rename("n").reset_index()
    counts = counts.sort_values(["run", "n"], ascending=[True, False], kind="stable")
    rep = counts.drop_duplicates("run").set_index("run")["text_id"]
    rep_of_row = rep.loc[rows["run"]].to_numpy()
    rows["similarity"] = similarity(sig, rows["text_id"].to_numpy(), rep_of_row)
    src = frame.iloc[rows["row"].to_numpy()]
    members = pd.DataFrame({
        "run": rows["run"].to_numpy(), "post_id": src["post_id"].to_numpy(), "actor": src["actor"].to_numpy(),
        "actor_name": src["actor_name"].to_numpy(), "actor_type": src["actor_type"].astype(str).to_numpy(),
        "country": src["country"].astype(str).to_numpy(), "time": src["time"].reset_index(drop=True),
        "field": rows["field"].to_numpy(), "similarity": rows["similarity"].round(3).to_numpy(),
        "text": [uniques[i] for i in rows["text_id"].to_numpy()],
        "labels": [";".join(n for n in names if r[n]) for r in src[list(names)].to_dict("records")],
        "source": src["source"].to_numpy()})
    labmat = src[list(names)].reset_index(drop=True)
    out = []
    for run, g in members.groupby("run", sort=False):
        first, last = g["time"].min(), g["time"].max()
        spread_h = (last - first).total_seconds() / 3600
        actors = g.drop_duplicates("actor")
        mean_sim = float(g["similarity"].mean())
        score = len(actors) * mean_sim / (1 + spread_h / (window.total_seconds() / 3600))
        lab = labmat.iloc[g.index]
        rec = {"run": run, "score": round(score, 3), "actors": len(actors), "posts": len(g),
               "first": first, "last": last, "spread_hours": round(spread_h, 2),
               "mean_similarity": round(mean_sim, 3), "text": uniques[rep.loc[run]],
               "hashtags_only": bool(_HASHTAGS_ONLY.match(uniques[rep.loc[run]])),
               "fields": ";".join(sorted(g["field"].unique())),
               "actor_list": "; ".join(f"{a} ({t or 'unknown'}, {c or '?'})" for a, t, c in
                                       zip(actors["actor"], actors["actor_type"], actors["country"])),
               "actor_types": _tally(actors["actor_type"]), "countries": _tally(actors["country"].replace("", "?")),
               "strategies": _strategies(lab, names)}
        for n in names:
            rec[f"{n}_posts"] = int(lab[n].sum())
        rec["no_strategy_posts"] = int((~lab.any(axis=1)).sum())
        out.append(rec)
    clusters = pd.DataFrame(out).sort_values(["score", "actors", "first"], ascending=[False, False, True],
                                             kind="stable").reset_index(drop=True)
    ids = {run: f"c{i + 1:04d}" for i, run in enumerate(clusters["run"])}
    clusters.insert(0, "cluster_id", clusters.pop("run").map(ids))
    members.insert(0, "cluster_id", members.pop("run").map(ids))
    members = members.sort_values(["cluster_id", "time"], kind="stable").reset_index(drop=True)
    return clusters, members


def _tally(values: pd.Series) -> str:
    """'state media 3; embassy 1' — most frequent first."""
    return "; ".join(f"{k} {v}" for k, v in values.astype(str).value_counts().items())


def _strategies(lab: pd.DataFrame, names: tuple[str, ...]) -> str:
    parts = [f"{n} {int(lab[n].sum())}" for n in names if lab[n].any()]
    none = int((~lab.any(axis=1)).sum())
    return "; ".join(parts + ([f"no strategy {none}"] if none else []))


def actor_pairs(members: pd.DataFrame, max_actors: int = MAX_PAIR_ACTORS) -> tuple[pd.DataFrame, int]:
    """How often each pair of actors posted in the same cluster; returns (table, clusters skipped)."""
    rows, skipped = [], 0
    info = members.drop_duplicates("actor").set_index("actor")[["actor_type", "country"]]
    for cid, g in members.groupby("cluster_id", sort=False):
        actors = sorted(g["actor"].unique())
        if len(actors) > max_actors:
            skipped += 1
            continue
        when = g["time"].min()
        rows += [(a, b, cid, when) for a, b in itertools.combinations(actors, 2)]
    if not rows:
        return _empty()[2], skipped
    df = pd.DataFrame(rows, columns=["actor_a", "actor_b", "cluster_id", "time"])
    pairs = (df.groupby(["actor_a", "actor_b"])
             .agg(clusters=("cluster_id", "nunique"), first=("time", "min"), last=("time", "max"),
                  cluster_ids=("cluster_id", lambda s: ";".join(sorted(s))))
             .reset_index().sort_values(["clusters", "first"], ascending=[False, True], kind="stable"))
    for side in ("a", "b"):
        pairs[f"type_{side}"] = pairs[f"actor_{side}"].map(info["actor_type"])
        pairs[f"country_{side}"] = pairs[f"actor_{side}"].map(info["country"])
    return pairs.reset_index(drop=True), skipped


def _empty() -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    names = labels()
    clusters = pd.DataFrame(columns=["cluster_id", "score", "actors", "posts", "first", "last", "spread_hours",
                                     "mean_similarity", "text", "hashtags_only", "fields", "actor_list",
                                     "actor_types", "countries", "strategies", *[f"{n}_posts" for n in names],
                                     "no_strategy_posts"])
    members = pd.DataFrame(columns=["cluster_id", "post_id", "actor", "actor_name", "actor_type", "country", "time",
                                    "field", "similarity", "text", "labels", "source"])
    pairs = pd.DataFrame(columns=["actor_a", "actor_b", "clusters", "first", "last", "cluster_ids", "type_a",
                                  "country_a", "type_b", "country_b"])
    return clusters, members, pairs
