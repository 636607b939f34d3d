"""Charts of the cross-post analyses as PNG bytes: co-posting network, event windows, trend adoption."""

from __future__ import annotations

import logging
from typing import Any

import numpy as np
import pandas as pd

from pipeline.io.html import render_png

log = logging.getLogger(__name__)
PALETTE = ("#4c78a8", "#f58518", "#e45756", "#72b7b2", "#54a24b", "#eeca3b", "#b279a2", "#ff9da6", "#9d755d",
           "#bab0ac")


def _colours(values: list[str]) -> dict[str, str]:
    return {v: PALETTE[i % len(PALETTE)] for i, v in enumerate(sorted(set(values)))}


def network(graph: Any, title: str, max_nodes: int = 60) -> bytes | None:
    """Co-posting actors: node size = clusters joined, edge width = clusters shared, colour = actor type.

    Only the ``max_nodes`` actors with the most shared clusters are drawn; ``None`` without edges.
    """
    import networkx as nx  # lazy: heavy import, only when a chart is drawn

    if graph.number_of_edges() == 0:
        return None
    strength = dict(graph.degree(weight="weight"))
    keep = sorted(strength, key=lambda n: (-strength[n], n))[:max_nodes]
    g = graph.subgraph(keep)
    pos = nx.spring_layout(g, seed=1, weight="weight")
    colours = _colours([g.nodes[n].get("actor_type", "unknown") for n in g])

    def draw(fig: Any) -> None:
        ax = fig.add_subplot()
        for a, b, d in g.edges(data=True):
            ax.plot([pos[a][0], pos[b][0]], [pos[a][1], pos[b][1]], color="#999", alpha=0.6,
                    lw=0.5 + min(d.get("weight", 1), 10) * 0.5, zorder=1)
        for atype, colour in colours.items():
            nodes = [n for n in g if g.nodes[n].get("actor_type", "unknown") == atype]
            ax.scatter([pos[n][0] for n in nodes], [pos[n][1] for n in nodes], zorder=2, color=colour,
                       s=[40 + 25 * min(g.nodes[n].get("clusters", 1), 20) for n in nodes], label=atype,
                       edgecolors="white")
        if len(g) <= 40:
            for n in g:
                ax.annotate(str(n), pos[n], fontsize=7, xytext=(4, 4), textcoords="offset points")
        ax.set_axis_off()
        ax.set_title(title, loc="left")
        fig.legend(loc="outside lower center", ncol=min(len(colours), 5), frameon=False, fontsize=8)

    return render_png(draw, (9, 7), dpi=110)


def event_chart(rows: pd.DataFrame, names: tuple[str, ...], title: str) -> bytes:
    """Per group: posts before/after, and per strategy the after − before difference with its 95% interval.

    ``rows`` are the event-window rows of one event for the groups to show (one per group and strategy).
    """
    groups = list(dict.fromkeys(rows["group"]))[::-1]
    y = np.arange(len(groups))

    def draw(fig: Any) -> None:
        axes = fig.subplots(1, len(names) + 1, sharey=True, squeeze=False)[0]
        vol = rows.drop_duplicates("group").set_index("group").loc[groups]
        axes[0].barh(y + 0.2, vol["posts_before"], height=0.4, color="#bbbbbb", label="before")
        axes[0].barh(y - 0.2, vol["posts_after"], height=0.4, color="#4c78a8", label="after")
        axes[0].set_title("posts", fontsize=9)
        axes[0].legend(fontsize=7, frameon=False)
        axes[0].set_yticks(list(y), groups)
        for ax, name in zip(axes[1:], names):
            r = rows[rows["strategy"] == name].set_index("group").reindex(groups)
            d, lo, hi = (r[c].to_numpy(dtype=float) for c in ("difference", "diff_ci_low", "diff_ci_high"))
            sig = r["significant"].fillna(False).to_numpy(dtype=bool)
            ax.errorbar(d, y, xerr=[d - lo, hi - d], fmt="none", ecolor="#777", elinewidth=1, capsize=2)
            ax.scatter(d[~sig], y[~sig], color="#777", zorder=3, s=18)
            ax.scatter(d[sig], y[sig], color="#e45756", zorder=3, s=26, label="interval excludes 0")
            ax.axvline(0, color="#222", lw=0.8)
            ax.set_xlim(-1, 1)
            ax.xaxis.set_major_formatter("{x:+.0%}")
            ax.set_title(f"{name}\nafter − before", fontsize=9)
        fig.suptitle(title, x=0.01, ha="left")

    return render_png(draw, (11, 1.8 + 0.4 * len(groups)), dpi=110)


def adoption_chart(adopters: pd.DataFrame, title: str, max_trends: int = 15) -> bytes | None:
    """One row per trend; each adopter a dot at its days after the trend's first sighting, coloured by type."""
    if adopters.empty:
        return None
    trends = list(dict.fromkeys(adopters["trend"]))[:max_trends]
    a = adopters[adopters["trend"].isin(trends)]
    colours = _colours(a["actor_type"].astype(str).tolist())
    ypos = {t: i for i, t in enumerate(trends[::-1])}

    def draw(fig: Any) -> None:
        ax = fig.add_subplot()
        for atype, colour in colours.items():
            s = a[a["actor_type"].astype(str) == atype]
            ax.scatter(s["lag_days"], [ypos[t] for t in s["trend"]], color=colour, label=atype, s=30, alpha=0.8,
                       edgecolors="white")
        ax.set_yticks(list(ypos.values()), [f"#{t}" for t in ypos])
        ax.set_xscale("symlog", linthresh=1)  # minutes and months on one axis
        ax.set_xlabel("days after the trend's first sighting in the data (log scale above 1 day)")
        ax.set_title(title, loc="left")
        fig.legend(loc="outside lower center", ncol=min(len(colours), 5), frameon=False, fontsize=8)

    return render_png(draw, (9, 1.8 + 0.4 * len(trends)), dpi=110)
