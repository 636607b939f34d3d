"""Report charts as PNG bytes, drawn with matplotlib's Agg renderer (no display needed).

Figures are built with :class:`matplotlib.figure.Figure` and an Agg canvas rather than pyplot,
so no global backend state is touched and nothing ever tries to open a window.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd

from pipeline.io.html import render_png
from pipeline.report.estimate import SMALL_GROUP
from pipeline.report.registry import NO_ACTOR
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
    """Monthly posts and counted share per strategy, one line per group, with Wilson 95% bands.

    Months with fewer than :data:`SMALL_GROUP` posts are drawn as hollow markers: their shares
    swing by chance (a month with one post reads 0% or 100%).
    """
    ts = ts.assign(when=pd.to_datetime(ts["month"] + "-01"))
    top = ts.groupby("group")["posts"].sum().sort_values(ascending=False).head(max_groups).index
    # every month in the range, so that lines break where a group did not post instead of bridging the gap
    months = pd.date_range(ts["when"].min(), ts["when"].max(), freq="MS")

    def draw(fig: Any) -> None:
        axes = fig.subplots(len(names) + 1, 1, sharex=True)
        width = 25 / max(1, len(top))
        for i, group in enumerate(top):
            g = ts[ts["group"] == group].set_index("when").reindex(months).rename_axis("when").reset_index()
            g["posts"] = g["posts"].fillna(0)
            colour = PALETTE[i % len(PALETTE)]
            offset = pd.to_timedelta((i - (len(top) - 1) / 2) * width, unit="D")
            axes[0].bar(g["when"] + offset, g["posts"], width=width, color=colour, label=str(group))
            small = g["posts"] < SMALL_GROUP
            for ax, n in zip(axes[1:], names):
                ax.fill_between(g["when"], g[f"{n}_share_ci_low"], g[f"{n}_share_ci_high"], color=colour, alpha=0.15,
                                linewidth=0)
                ax.plot(g["when"], g[f"{n}_share"], color=colour, linewidth=1.2)
                ax.plot(g["when"][~small], g[f"{n}_share"][~small], "o", ms=3.5, color=colour)
                ax.plot(g["when"][small], g[f"{n}_share"][small], "o", ms=3.5, mfc="white", color=colour)
        axes[0].set_ylabel("posts")
        axes[0].set_title(title, loc="left")
        fig.legend(loc="outside lower center", fontsize=8, frameon=False, ncol=min(len(top), 6))
        for ax, n in zip(axes[1:], names):
            ax.set_ylabel(f"{n}\ncounted share", fontsize=8)
            ax.set_ylim(0, 1)
            ax.yaxis.set_major_formatter("{x:.0%}")

    return _png(draw, (10, 1.9 * (len(names) + 1)))


def monthly_estimates(est: pd.DataFrame, names: tuple[str, ...], title: str, adjusted: bool) -> bytes:
    """All posts per month: post counts, and per strategy the counted share (Wilson band, every month)
    and the adjusted share (bootstrap band, months with 30+ posts only); hollow markers = small months."""
    est = est[est["group"].str.match(r"^\d{4}-\d{2}$")].assign(when=lambda d: pd.to_datetime(d["group"] + "-01"))
    months = pd.date_range(est["when"].min(), est["when"].max(), freq="MS")

    def draw(fig: Any) -> None:
        axes = fig.subplots(len(names) + 1, 1, sharex=True)
        first = est[est["strategy"] == names[0]].sort_values("when")
        axes[0].bar(first["when"], first["posts"], width=20, color="#999")
        for when, n in zip(first["when"], first["posts"]):
            axes[0].annotate(f"{n:,}", (when, n), ha="center", va="bottom", fontsize=7)
        axes[0].set_ylabel("posts")
        axes[0].set_title(title, loc="left")
        for i, (ax, n) in enumerate(zip(axes[1:], names)):
            g = est[est["strategy"] == n].set_index("when").reindex(months)  # gaps break the lines
            small = (g["posts"].fillna(0) < SMALL_GROUP).to_numpy()
            ax.fill_between(months, g["counted_low"], g["counted_high"], color="#999", alpha=0.2, linewidth=0,
                            label="counted: Wilson 95% interval")
            ax.plot(months, g["counted_share"], color="#777", linewidth=1)
            ax.plot(months[~small], g["counted_share"][~small], "o", ms=3.5, color="#777", label="counted, 30+ posts")
            ax.plot(months[small], g["counted_share"][small], "o", ms=3.5, mfc="white", color="#777",
                    label="counted, fewer than 30 posts")
            if adjusted and g["adjusted"].notna().any():
                colour = PALETTE[i % len(PALETTE)]
                adj, lo, hi = (g[c].to_numpy(dtype=float) for c in ("adjusted", "adjusted_low", "adjusted_high"))
                ok = ~np.isnan(adj)
                # error bars, not a band: adjusted months are often isolated (small months have none)
                ax.errorbar(months[ok], adj[ok], yerr=[np.clip(adj - lo, 0, None)[ok], np.clip(hi - adj, 0, None)[ok]],
                            fmt="s", ms=4, color=colour, elinewidth=1.5, capsize=3,
                            label="adjusted, bootstrap 95% interval")
            ax.set_ylabel(f"{n}\nshare", fontsize=8)
            ax.set_ylim(0, 1)
            ax.yaxis.set_major_formatter("{x:.0%}")
        handles, labels = axes[1].get_legend_handles_labels()
        fig.legend(handles, labels, loc="outside lower center", ncol=3, frameon=False, fontsize=8)

    return _png(draw, (10, 1.8 * (len(names) + 1)))


def estimate_dots(est: pd.DataFrame, groups: list[str], names: tuple[str, ...], title: str,
                  what: tuple[str, ...]) -> bytes:
    """Per strategy panel: each group's estimates as points with 95% intervals (same numbers as the tables).

    The first estimate in ``what`` is labelled the headline.
    """
    cols = {"counted": ("counted_share", "counted_low", "counted_high", "#999999"),
            "mean_prob": ("mean_prob", "mean_prob_low", "mean_prob_high", "#f58518"),
            "adjusted": ("adjusted", "adjusted_low", "adjusted_high", "#4c78a8")}
    words = {"counted": "counted", "mean_prob": "mean probability", "adjusted": "adjusted"}
    words[what[0]] += " (headline)"
    idx = est.set_index(["group", "strategy"])
    groups = groups[::-1]

    def draw(fig: Any) -> None:
        axes = fig.subplots(1, len(names), sharey=True, squeeze=False)[0]
        step = 0.8 / len(what)
        for ax, n in zip(axes, names):
            for j, w in enumerate(what):
                key, lo, hi, colour = cols[w]
                y, x, err_lo, err_hi = [], [], [], []
                for k, g in enumerate(groups):
                    if (g, n) not in idx.index or pd.isna(idx.at[(g, n), key]):
                        continue
                    r = idx.loc[(g, n)]
                    y.append(k + (j - (len(what) - 1) / 2) * step)
                    x.append(r[key])
                    err_lo.append(max(0.0, r[key] - r[lo]))
                    err_hi.append(max(0.0, r[hi] - r[key]))
                ax.errorbar(x, y, xerr=[err_lo, err_hi], fmt="o", ms=3.5, color=colour, elinewidth=1, capsize=2,
                            label=words[w])
            ax.set_title(n, fontsize=9)
            ax.set_xlim(0, 1)
            ax.xaxis.set_major_formatter("{x:.0%}")
        axes[0].set_yticks(range(len(groups)), groups)
        fig.suptitle(title, x=0.01, ha="left")
        fig.legend(*axes[0].get_legend_handles_labels(), loc="outside lower center", ncol=3, frameon=False, fontsize=8)

    return _png(draw, (10, 1.6 + 0.32 * len(groups) * max(1, len(what) / 2)))


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


def charts(tables: dict[str, pd.DataFrame], names: tuple[str, ...], *, top_actors: int = 20,
           adjusted: bool = True, headline: str = "adjusted") -> dict[str, tuple[str, bytes]]:
    """name → (caption, PNG bytes) for every chart that has data to show."""
    out: dict[str, tuple[str, bytes]] = {}
    all_actors = tables["actors"][tables["actors"]["actor"] != NO_ACTOR]  # never ranked among actors
    actors, types = all_actors.head(top_actors), tables["actor_types"]
    est = tables["estimates"]
    what = (("adjusted", "counted", "mean_prob") if headline == "adjusted" else ("counted", "adjusted", "mean_prob")) \
        if adjusted else ("counted", "mean_prob")
    if len(est):
        cap = "All posts: the three estimates per strategy with 95% intervals"
        out["estimates_overall"] = (cap, estimate_dots(est[est["level"] == "all"], ["all"], names,
                                                       "All posts: three estimates", what))
    if len(types):
        groups = [str(t) for t in types["actor_type"]]
        cap = (f"Estimated shares per actor type, all {len(groups)} shown ('{NO_ACTOR}' = posts without a handle, "
               "not an actor type), with 95% intervals")
        out["estimates_types"] = (cap, estimate_dots(est[est["level"] == "actor_type"], groups, names,
                                                     "Estimated shares per actor type", what[:2]))
    if len(actors):
        shown = f"all {len(actors)} actors" if len(actors) == len(all_actors) else \
            f"top {len(actors)} of {len(all_actors)} actors by posts"
        cap = f"Strategy mix (counted) of the {shown}; posts without a handle left out"
        out["strategy_mix_actors"] = (cap, strategy_mix(actors, "actor", names, f"Strategy mix (counted), {shown}"))
    if len(types):
        cap = "Strategy mix per actor type, counted at the thresholds (numbers in the table below)"
        out["strategy_mix_types"] = (cap, strategy_mix(types, "actor_type", names, "Strategy mix per actor type (counted)"))
        cap = "Share of posts vs engagement-weighted shares per actor type (missing metrics left out)"
        out["engagement_types"] = (cap, engagement(types, "actor_type", names, "Post shares vs engagement-weighted shares"))
    month_est = est[est["level"] == "month"] if len(est) else est
    if len(month_est) and month_est["group"].str.match(r"^\d{4}-\d{2}$").any():
        cap = ("All dated posts per month: posts, and per strategy the counted share (grey, Wilson 95% band) and "
               + ("the adjusted share (colour, bootstrap 95% band; months with 30+ posts only); " if adjusted else "")
               + "hollow markers = months with fewer than 30 posts")
        out["timeseries_all"] = (cap, monthly_estimates(month_est, names, "All dated posts per month", adjusted))
    ts = tables["timeseries"]
    ts = ts[(ts["level"] == "actor_type") & (ts["group"] != NO_ACTOR)]
    if len(ts):
        n_types = ts["group"].nunique()
        shown = f"all {n_types}" if n_types <= 6 else f"the 6 with most posts of {n_types}"
        cap = (f"Monthly posts and counted shares per actor type ({shown} actor types), Wilson 95% bands; hollow "
               "markers = months with fewer than 30 posts")
        out["timeseries_types"] = (cap, timeseries(ts, names, f"Per actor type ({shown})"))
    log.debug("drew %d charts", len(out))
    return out
