"""Report tables → display sections of plain strings, shared by the HTML and Markdown writers.

Nothing here is escaped: cells are plain text (including user-supplied handles, names and
hashtags) and each writer escapes them for its own format.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from pipeline.report.tables import METRICS


@dataclass
class Section:
    """One titled table of display strings; ``chart`` names a chart shown above it."""

    key: str
    title: str
    intro: str
    headers: list[str]
    rows: list[list[str]]
    note: str = ""
    charts: list[str] = field(default_factory=list)


def pct(x: Any) -> str:
    """0.4215 → '42.2%'; missing → '–'."""
    return "–" if x is None or (isinstance(x, float) and math.isnan(x)) else f"{100 * float(x):.1f}%"


def share_ci(row: pd.Series, label: str) -> str:
    return (f"{pct(row[f'{label}_share'])} ({pct(row[f'{label}_share_ci_low'])[:-1]}–"
            f"{pct(row[f'{label}_share_ci_high'])})")


def _int(x: Any) -> str:
    return f"{int(x):,}"


def _label_headers(names: tuple[str, ...], what: str) -> list[str]:
    return [f"{n}: {what}" for n in names]


def _group_rows(df: pd.DataFrame, key: str, names: tuple[str, ...], extra: list[str]) -> list[list[str]]:
    rows = []
    for _, row in df.iterrows():
        cells = [str(row[key])] + [str(row[c]) for c in extra] + [_int(row["posts"])]
        cells += [share_ci(row, n) for n in names]
        cells += [_int(row["views_known_posts"])] + [pct(row[f"{n}_views_share"]) for n in names]
        rows.append(cells)
    return rows


def sections(tables: dict[str, pd.DataFrame], names: tuple[str, ...], *, top_actors: int = 50,
             top_hashtags: int = 5) -> list[Section]:
    """The report's sections, in reading order."""
    out = []
    share_h = _label_headers(names, "share of posts (95% CI)")
    views_h = ["posts with views"] + _label_headers(names, "views-weighted share")
    types = tables["actor_types"]
    out.append(Section("actor_types", "Strategies by actor type", "Share of posts with each strategy, with Wilson 95% "
                       "intervals, and the share of views going to posts with that strategy.",
                       ["actor type", "actors", "posts"] + share_h + views_h,
                       _group_rows(types, "actor_type", names, ["actors"]),
                       charts=["strategy_mix_types", "timeseries_types"]))
    actors = tables["actors"]
    shown = actors.head(top_actors)
    more = f"Showing the {len(shown)} actors with most posts of {len(actors)}; all are in actors.csv." \
        if len(actors) > len(shown) else ""
    out.append(Section("actors", "Strategies by actor", "One row per handle (case-insensitive).",
                       ["handle", "name", "type", "country", "posts"] + share_h + views_h,
                       _group_rows(shown, "actor", names, ["actor_name", "actor_type", "country"]), more,
                       charts=["strategy_mix_actors"]))
    rows = []
    for _, row in types.iterrows():
        for m in METRICS:
            rows.append([str(row["actor_type"]), m, _int(row[f"{m}_known_posts"]), _int(row[f"{m}_total"])]
                        + [pct(row[f"{n}_{m}_share"]) for n in names])
    out.append(Section("engagement", "Engagement-weighted shares by actor type",
                       "Sum of the metric over posts with the strategy ÷ sum over all posts where the metric is known. "
                       "Posts without the metric are left out, not counted as zero.",
                       ["actor type", "metric", "posts with metric", "total"] + _label_headers(names, "weighted share"),
                       rows, charts=["engagement_types"]))
    out.append(Section("scores", "Mean predicted probability by actor type", "Mean classifier score per strategy.",
                       ["actor type", "posts"] + _label_headers(names, "mean score"),
                       [[str(r["actor_type"]), _int(r["posts"])] + [f"{r[f'{n}_mean_score']:.3f}"
                        if not math.isnan(r[f"{n}_mean_score"]) else "–" for n in names] for _, r in types.iterrows()]))
    cooc = tables["cooccurrence"]
    cooc = cooc[cooc["level"] == "all"].set_index(["strategy", "co_strategy"])
    out.append(Section("cooccurrence", "Strategy co-occurrence (all posts)",
                       "Posts with both strategies; in brackets the share of the row strategy's posts that also "
                       "have the column strategy.", ["strategy"] + list(names),
                       [[a] + [f"{int(cooc.at[(a, b), 'posts'])} ({pct(cooc.at[(a, b), 'conditional_share'])})"
                               for b in names] for a in names] if len(cooc) else []))
    tags = tables["hashtags"]
    tags = tags[tags["level"] == "all"]
    by = {n: tags[tags["strategy"] == n].sort_values("rank") for n in names}
    out.append(Section("hashtags", "Top hashtags per strategy (all posts)",
                       "Number of posts with the strategy that carry the hashtag. Per actor and actor type: hashtags.csv.",
                       ["rank"] + list(names),
                       [[str(i + 1)] + [f"#{by[n].iloc[i]['hashtag']} ({int(by[n].iloc[i]['posts'])})"
                                        if i < len(by[n]) else "" for n in names]
                        for i in range(min(top_hashtags, max([len(b) for b in by.values()] + [0])))]))
    unknown = tables["unknown_actors"]
    out.append(Section("unknown", "Handles not in the actor registry",
                       f"{len(unknown)} handles ({int(unknown['posts'].sum()) if len(unknown) else 0} posts) are "
                       "counted as actor type 'unknown'. Fill in actors_template.toml (written next to this report) "
                       "for public accounts and pass it with --actors FILE. Private individuals are best left unknown.",
                       ["handle", "posts", "name in data"],
                       [[str(r["actor"]), _int(r["posts"]), str(r["name_in_data"])]
                        for _, r in unknown.head(top_actors).iterrows()],
                       f"Showing {top_actors} of {len(unknown)}; all are in unknown_actors.csv."
                       if len(unknown) > top_actors else ""))
    return out
