"""Report charts as PNG bytes, drawn with matplotlib's Agg renderer (no display needed).

Figures are built with :class:`matplotlib.figure.Figure` and an Agg canvas rather than pyplot,
so no global backend state is touched and nothing ever tries to open a window.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

import pandas as pd

from pipeline.io.html import render_png
from pipeline.report.tables import METRICS

log = logging.getLogger(__name__)
NONE_COLOUR, MULTI_COLOUR = "#d9d9d9", "#555555"
PALETTE = ("#4c78a8", "#f58518", "#e45756", "#72b7b2", "#54a24b", "#eeca3b", "#b279a2", "#ff9da6", "#9d755d")


def _png(draw: Callable[[Any], None], size: tuple[float, float]) -> bytes:
    return render_png(draw, size, dpi=110)


def strategy_mix(df: pd.DataFrame, key: str, names: tuple[str, ...], title: str) -> bytes:
    """100% stacked bars per group: no strategy, each strategy alone, or several strategies."""
    df = df.iloc[::-1]  # largest group on top
    parts = [("no strategy", df["no_strategy_posts"], NONE_COLOUR)]
    parts += [(f"{n} only", df[f"{n}_only_posts"], PALETTE[i % len(PALETTE)]) for i, n in enumerate(names)]
    parts += [("2+ strategies", df["multi_strategy_posts"], MULTI_COLOUR)]
    labels = [f"{g} (n={p:,})" for g, p in zip(df[key], df["posts"])]

    def draw(fig: Any) -> None:
        ax = fig.add_subplot()
        left = pd.Series(0.0, index=df.index)
        for label, counts, colour in parts:
            share = counts / df["posts"]
            ax.barh(labels, share, left=left, color=colour, label=label, height=0.7)
            left = left + share
        ax.set_xlim(0, 1)
        ax.xaxis.set_major_formatter("{x:.0%}")
        ax.set_title(title, loc="left")
        fig.legend(loc="outside lower center", ncol=min(len(parts), 3), frameon=False)

    return _png(draw, (9, 1.6 + 0.28 * len(df)))


def timeseries(ts: pd.DataFrame, names: tuple[str, ...], title: str, max_groups: int = 6) -> bytes:
    """Monthly posts and monthly share of posts with each strategy, one line per group."""
    ts = ts.assign(when=pd.to_datetime(ts["month"] + "-01"))
    top = ts.groupby("group")["posts"].sum().sort_values(ascending=False).head(max_groups).index
    # every month in the range, so that lines break where a group did not post instead of bridging the gap
    months = pd.date_range(ts["when"].min(), ts["when"].max(), freq="MS")

    def draw(fig: Any) -> None:
        axes = fig.subplots(len(names) + 1, 1, sharex=True)
        for i, group in enumerate(top):
            g = ts[ts["group"] == group].set_index("when").reindex(months).rename_axis("when").reset_index()
            g["posts"] = g["posts"].fillna(0)
            colour = PALETTE[i % len(PALETTE)]
            axes[0].plot(g["when"], g["posts"], marker="o", ms=3, color=colour, label=str(group))
            for ax, n in zip(axes[1:], names):
                ax.plot(g["when"], g[f"{n}_share"], marker="o", ms=3, color=colour)
        axes[0].set_ylabel("posts")
        axes[0].set_title(title, loc="left")
        fig.legend(loc="outside lower center", fontsize=8, frameon=False, ncol=min(len(top), 6))
        for ax, n in zip(axes[1:], names):
            ax.set_ylabel(f"{n}\nshare", fontsize=8)
            ax.set_ylim(0, 1)
            ax.yaxis.set_major_formatter("{x:.0%}")

    return _png(draw, (9, 1.9 * (len(names) + 1)))


def engagement(df: pd.DataFrame, key: str, names: tuple[str, ...], title: str) -> bytes:
    """Per strategy: share of posts (with 95% CI) next to the views/likes/shares-weighted shares."""
    df = df.iloc[::-1]
    series = [("posts", "_share")] + [(m, f"_{m}_share") for m in METRICS]
    height = 0.8 / len(series)

    def draw(fig: Any) -> None:
        axes = fig.subplots(1, len(names), sharey=True, squeeze=False)[0]
        ypos = pd.Series(range(len(df)), dtype=float)
        for ax, n in zip(axes, names):
            for j, (what, suffix) in enumerate(series):
                y = ypos + (j - (len(series) - 1) / 2) * height
                values = df[f"{n}{suffix}"].to_numpy(dtype=float)
                err = None
                if what == "posts":
                    err = [values - df[f"{n}_share_ci_low"].to_numpy(), df[f"{n}_share_ci_high"].to_numpy() - values]
                ax.barh(y, values, height=height, xerr=err, color=PALETTE[j], label=f"share of {what}",
                        error_kw={"elinewidth": 0.8, "capsize": 2})
            for y, known in zip(ypos, df["views_known_posts"]):
                if not known:
                    ax.text(0.01, y + 0.25, "no engagement data", fontsize=7, color="#777", va="center")
            ax.set_title(n, fontsize=9)
            ax.set_xlim(0, 1)
            ax.xaxis.set_major_formatter("{x:.0%}")
        axes[0].set_yticks(list(ypos), [str(g) for g in df[key]])
        fig.suptitle(title, x=0.01, ha="left")
        fig.legend(*axes[0].get_legend_handles_labels(), loc="outside lower center", ncol=4, frameon=False, fontsize=8)

    return _png(draw, (10, 1.8 + 0.45 * len(df)))


def charts(tables: dict[str, pd.DataFrame], names: tuple[str, ...], *, top_actors: int = 20) -> dict[str, tuple[str, bytes]]:
    """name → (caption, PNG bytes) for every chart that has data to show."""
    out: dict[str, tuple[str, bytes]] = {}
    actors, types = tables["actors"].head(top_actors), tables["actor_types"]
    if len(actors):
        cap = f"Strategy mix of the {len(actors)} actors with most posts"
        out["strategy_mix_actors"] = (cap, strategy_mix(actors, "actor", names, cap))
    if len(types):
        cap = "Strategy mix per actor type"
        out["strategy_mix_types"] = (cap, strategy_mix(types, "actor_type", names, cap))
        cap = "Share of posts vs engagement-weighted shares per actor type (missing metrics left out)"
        out["engagement_types"] = (cap, engagement(types, "actor_type", names, cap))
    ts = tables["timeseries"]
    ts = ts[ts["level"] == "actor_type"]
    if len(ts):
        cap = "Monthly posts and strategy shares per actor type (dated posts only)"
        out["timeseries_types"] = (cap, timeseries(ts, names, cap))
    log.debug("drew %d charts", len(out))
    return out
