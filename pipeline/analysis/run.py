"""Event windows and trend adoption written beside the ``report`` outputs (their own page and tables).

Files added to the report directory::

    event_windows.csv / .parquet      per event, level, group and strategy: before/after shares, difference
    trend_adoption.csv / .parquet     per trend: first sighting, adopters, who led
    trend_adopters.csv / .parquet     per trend and actor, in adoption order, with the lag
    trend_lags.csv / .parquet         per trend and actor type: first/median/last lag
    analysis_charts/event_<n>.png, analysis_charts/trend_adoption.png
    analyses.html / analyses.md       the sections "Before/after events" and "Trend adoption"
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass, field
from datetime import timedelta
from functools import partial
from pathlib import Path

import pandas as pd

from pipeline.analysis.adoption import OFFICIAL_TYPES, lags_by_type, trend_adoption
from pipeline.analysis.charts import adoption_chart, event_chart
from pipeline.analysis.events import Event, event_windows
from pipeline.analysis.output import Block, atomic_write, render_markdown, render_page, write_table, write_text
from pipeline.analysis.posts import PostTable, load_posts
from pipeline.errors import PipelineError
from pipeline.report.registry import Registry
from pipeline.schema import labels

log = logging.getLogger(__name__)
#: Below this many posts in a window, the event section says the intervals are too wide to read much.
SMALL_WINDOW = 30


@dataclass
class AnalysesRun:
    """Where the page went, lines for the terminal, and every file written."""

    page: Path
    lines: list[str] = field(default_factory=list)
    written: dict[str, Path] = field(default_factory=dict)


def span_text(window: timedelta) -> str:
    """30 days → '30 days'; 48 hours → '48 hours'."""
    hours = window.total_seconds() / 3600
    return f"{hours / 24:g} days" if hours >= 24 and hours % 24 == 0 else f"{hours:g} hours"


def _pct(x: float) -> str:
    return "–" if x is None or (isinstance(x, float) and math.isnan(x)) else f"{100 * x:.1f}%"


def _signed(x: float) -> str:
    return "–" if x is None or (isinstance(x, float) and math.isnan(x)) else f"{100 * x:+.1f}"


def event_blocks(rows: pd.DataFrame, events: list[Event], window: timedelta) -> tuple[list[Block], list[str]]:
    """One block per event (chart of all posts and actor types, table, flagged actors), and notes."""
    names, blocks, notes = labels(), [], []
    for ev in events:
        r = rows[(rows["event"] == ev.name) & (rows["event_date"] == ev.day.isoformat())]
        shown = r[r["level"].isin(["all", "actor_type"])].copy()
        shown["group"] = shown["group"].where(shown["level"] != "all", "all posts")
        total = r[r["level"] == "all"].head(1)
        nb = int(total["posts_before"].sum()) if len(total) else 0
        na = int(total["posts_after"].sum()) if len(total) else 0
        about = f" — {ev.description}" if ev.description else ""
        intro = (f"{ev.day:%Y-%m-%d}{about}. Before = the {span_text(window)} "
                 f"before 00:00 UTC that day ({nb:,} posts), after = the same length from then ({na:,} posts). "
                 "Difference = after − before in percentage points with a 95% interval; ✱ where it excludes 0.")
        note = ""
        if min(nb, na) < SMALL_WINDOW:
            note = (f"Too few posts for this event ({nb} before, {na} after; fewer than {SMALL_WINDOW} in a window): "
                    "the intervals are too wide to show a change. Use a larger export or a longer --window.")
            notes.append(f"event {ev.name!r}: {note}")
        charts = []
        if len(shown) and nb + na:
            both = shown[(shown["posts_before"] > 0) | (shown["posts_after"] > 0)]
            charts.append((f"{ev.name}: posts and strategy shares before vs after, per actor type",
                           event_chart(both, names, f"{ev.name} ({ev.day:%Y-%m-%d}), window {span_text(window)}")))
        flagged = r[(r["level"] == "actor") & r["significant"]].head(50)
        table = pd.concat([shown, flagged.assign(group="actor " + flagged["group"])])
        blocks.append(Block(
            f"Event: {ev.name}", intro, charts,
            ["group", "strategy", "posts before", "posts after", "share before (95% CI)", "share after (95% CI)",
             "difference, points (95% CI)", "excludes 0"],
            [[g.group, g.strategy, str(g.posts_before), str(g.posts_after),
              f"{_pct(g.share_before)} ({_pct(g.before_ci_low)}–{_pct(g.before_ci_high)})",
              f"{_pct(g.share_after)} ({_pct(g.after_ci_low)}–{_pct(g.after_ci_high)})",
              f"{_signed(g.difference)} ({_signed(g.diff_ci_low)} to {_signed(g.diff_ci_high)})",
              "✱" if g.significant else ""] for g in table.itertuples(index=False)],
            note=note or ("Actor rows are listed only where the interval excludes 0; every actor is in "
                          "event_windows.csv."),
            flag_column=7))
    return blocks, notes


def adoption_blocks(trends: pd.DataFrame, adopters: pd.DataFrame, lags: pd.DataFrame) -> tuple[list[Block], list[str]]:
    """The trend-adoption section: chart, per-trend table, lag per actor type; and notes."""
    notes = []
    if trends.empty:
        notes.append("trend adoption: no hashtag of posts labelled trend_participation was used by two or more "
                     "actors (reach hashtags such as #fyp excluded); the sample is too small to follow a trend. "
                     "Name trends with --trend or use a larger export.")
    elif not ((trends["official_adopters"] > 0) & (trends["creator_adopters"] > 0)).any():
        notes.append("trend adoption: no trend here was joined by both an official account and a creator, so "
                     "whether officials led or followed cannot be told; register the actors' types "
                     "(actors_template.toml, --actors) or use a larger export.")
    png = adoption_chart(adopters, "Adoption of each trend: days after its first sighting, by actor type")
    intro = ("Trends are hashtags of posts labelled trend_participation (reach hashtags left out). First sighting = "
             "the earliest such post; lag = days from then to each actor's first such post. Official accounts: "
             f"{', '.join(sorted(OFFICIAL_TYPES))}; creators: influencer/creator.")
    main = Block("Trend adoption", intro, [("Adopters of each trend by days after its first sighting", png)] if png
                 else [],
                 ["trend", "first sighting (UTC)", "first adopter (type)", "adopters", "posts", "official", "creators",
                  "official vs creators", "creators before first official", "adoption order"],
                 [[f"#{t.trend}", f"{t.first_seen:%Y-%m-%d %H:%M}", f"{t.first_actor} ({t.first_actor_type})",
                   str(t.adopters), str(t.posts), str(t.official_adopters), str(t.creator_adopters),
                   t.official_vs_creators, str(t.creators_before_first_official), t.adoption_order]
                  for t in trends.itertuples(index=False)],
                 note=" ".join(notes), text_columns=(9,))
    by_type = lags_by_type(lags)
    lag_block = Block("Adoption lag per actor type",
                      "Across the trends above: how many each actor type joined and the median of its first lag.",
                      headers=["actor type", "trends joined", "median first lag (days)"],
                      rows=[[r.actor_type, str(r.trends), f"{r.median_first_lag_days:.2f}"]
                            for r in by_type.itertuples(index=False)])
    return [main, lag_block], notes


def write_analyses(labelled: Path, out_dir: Path, registry: Registry, events: list[Event], window: timedelta, *,
                   trends: list[str] | None = None, posts: PostTable | None = None) -> AnalysesRun:
    """Load ``labelled`` once, compute event windows (if any events) and trend adoption, write them."""
    out_dir = Path(out_dir)
    posts = load_posts([labelled], registry) if posts is None else posts
    blocks, lines, written = [], [], {}
    try:
        if events:
            rows = event_windows(posts, events, window)
            written.update(write_table(rows, out_dir, "event_windows"))
            ev_blocks, notes = event_blocks(rows, events, window)
            for i, block in enumerate(ev_blocks, start=1):
                for _, png in block.charts:
                    name = f"analysis_charts/event_{i}.png"
                    written[name] = atomic_write(out_dir / name, partial(Path.write_bytes, data=png))
            blocks += ev_blocks
            flagged = rows[rows["significant"] & (rows["level"] != "actor")]
            lines.append(f"{len(events)} events: {len(flagged)} actor-type/overall strategy shares changed (95% "
                         "interval of the difference excludes 0)")
            lines += [f"note: {n}" for n in notes]
        table, adopters, lags = trend_adoption(posts, trends)
        written.update(write_table(table, out_dir, "trend_adoption"))
        written.update(write_table(adopters, out_dir, "trend_adopters"))
        written.update(write_table(lags, out_dir, "trend_lags"))
        ad_blocks, notes = adoption_blocks(table, adopters, lags)
        for _, png in ad_blocks[0].charts:
            name = "analysis_charts/trend_adoption.png"
            written[name] = atomic_write(out_dir / name, partial(Path.write_bytes, data=png))
        blocks += ad_blocks
        lines.append(f"trend adoption: {len(table)} trends followed")
        lines += [f"note: {n}" for n in notes]
        intro = [f"Input: {Path(labelled).name}; {len(posts.frame):,} of {posts.read:,} posts have an actor and a "
                 "time and are used here.", *posts.notes(),
                 "Strategy labels are the classifier's predictions, not hand annotations."]
        if not events:
            intro.append("No events given: pass --event \"NAME=YYYY-MM-DD\" or --events FILE to compare windows.")
        files = sorted(written) + ["analyses.html", "analyses.md"]
        title = "Before/after events and trend adoption"
        written["analyses.html"] = write_text(out_dir / "analyses.html", render_page(title, intro, blocks, files))
        written["analyses.md"] = write_text(out_dir / "analyses.md", render_markdown(title, intro, blocks))
    except OSError as exc:
        raise PipelineError(f"{out_dir}: cannot write the event and trend outputs ({exc.strerror or exc}). "
                            "Pass a writable directory with -o.") from exc
    return AnalysesRun(written["analyses.html"], lines, written)
