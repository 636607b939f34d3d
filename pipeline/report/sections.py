"""Report tables → display sections of plain strings, shared by the HTML and Markdown writers.

Nothing here is escaped: cells are plain text (including user-supplied handles, names, hashtags
and post text) or :class:`Link` values, and each writer escapes them for its own format.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from pipeline.report.registry import NO_ACTOR
from pipeline.report.tables import METRICS

SMALL = " †"


@dataclass(frozen=True)
class Link:
    """A cell linking to a post; writers render it only for https://www.tiktok.com/ URLs."""

    text: str
    url: str

    def __str__(self) -> str:
        return self.text


@dataclass
class Section:
    """One titled table of display cells; ``charts`` names charts shown above it."""

    key: str
    title: str
    intro: str
    headers: list[str]
    rows: list[list[Any]]
    note: str = ""
    charts: list[str] = field(default_factory=list)
    paragraphs: list[str] = field(default_factory=list)
    text_columns: int = 1  # leading columns holding text (left-aligned); the rest are numbers


def pct(x: Any) -> str:
    """0.4215 → '42.2%'; missing → '–'."""
    return "–" if x is None or (isinstance(x, float) and math.isnan(x)) or x is pd.NA else f"{100 * float(x):.1f}%"


def interval(value: Any, low: Any, high: Any) -> str:
    """'42.2% (30.1–55.0%)'; '–' when the value is missing."""
    if pct(value) == "–":
        return "–"
    return f"{pct(value)} ({pct(low)[:-1]}–{pct(high)})"


def _int(x: Any) -> str:
    return f"{int(x):,}"


def plural(n: int, word: str, many: str | None = None) -> str:
    """'1 actor', '2 actors'."""
    return f"{n:,} {word if n == 1 else (many or word + 's')}"


def shown_note(shown: int, total: int, what: str, file: str) -> str:
    if shown >= total:
        return f"All {plural(total, what)} shown."
    return f"Top {shown} of {total:,} {what}s by posts shown; all are in {file}."


def estimate_frame(est: pd.DataFrame, level: str) -> pd.DataFrame:
    """The long estimates of one level, indexed by (group, strategy)."""
    part = est[est["level"] == level]
    return part.set_index(["group", "strategy"]) if len(part) else part


BOUNDARY = " ‡"


def _cells(row: pd.Series, what: tuple[str, ...]) -> list[str]:
    out = []
    for w in what:
        prefix = {"counted": "counted_share", "mean_prob": "mean_prob", "adjusted": "adjusted"}[w]
        low, high = ("counted_low", "counted_high") if w == "counted" else (f"{w}_low", f"{w}_high")
        cell = interval(row[prefix], row[low], row[high])
        if w == "adjusted" and bool(row.get("adjusted_at_boundary", False)) and cell != "–":
            cell += BOUNDARY
        out.append(cell)
    return out


def estimate_headers(names: tuple[str, ...], what: tuple[str, ...]) -> list[str]:
    """Headers per strategy; the first estimate in ``what`` is the headline."""
    words = {"counted": "counted", "mean_prob": "mean probability", "adjusted": "adjusted"}
    words[what[0]] += " (headline)"
    return [f"{n.replace('_', ' ')}: {words[w]}" for n in names for w in what]  # spaces: headers can wrap


def group_rows(est: pd.DataFrame, groups: list[tuple[str, list[str]]], names: tuple[str, ...],
               what: tuple[str, ...], name_at: int = 0) -> list[list[str]]:
    """One row per group: the group's leading cells, posts, then the chosen estimates per strategy."""
    rows = []
    for group, lead in groups:
        first = est.loc[(group, names[0])] if (group, names[0]) in est.index else None
        if first is None:
            continue
        cells = list(lead)
        if bool(first["small_group"]):
            cells[name_at] = f"{cells[name_at]}{SMALL}"
        cells.append(_int(first["posts"]))
        for n in names:
            cells += _cells(est.loc[(group, n)], what)
        rows.append(cells)
    return rows


def overall_sections(tables: dict[str, pd.DataFrame], names: tuple[str, ...], headline: str) -> list[Section]:
    """All posts: the three estimates side by side, and shares at thresholds ±0.1."""
    est = estimate_frame(tables["estimates"], "all")
    rows, sens = [], []
    for n in names:
        if ("all", n) not in est.index:
            continue
        r = est.loc[("all", n)]
        rows.append([n, _int(r["posts"]), _int(r["counted_posts"])] + _cells(r, ("counted", "mean_prob", "adjusted")))
        if "threshold_at" in r and pd.notna(r.get("threshold_at")):
            sens.append([n] + [f"{pct(r[f'share_at_threshold_{t}'])} at {r[f'threshold_{t}']:.2f}"
                               for t in ("minus", "at", "plus")])
    out = [Section("overall", "All posts: three estimates of each strategy's share",
                   f"The headline is the {headline} share (see 'How to read these numbers'). 95% intervals in "
                   "brackets; ‡ = EM at 0% or 100% against the evidence of the scores.",
                   ["strategy", "posts", "posts labelled", "counted (Wilson)", "mean probability (bootstrap)",
                    "adjusted, EM (bootstrap)"], rows, charts=["estimates_overall"])]
    if sens:
        out.append(Section("sensitivity", "Threshold sensitivity (all posts)",
                           "Share of posts counted at the strategy's threshold minus 0.1, at it, and plus 0.1. A "
                           "large swing means the counted share depends on an arbitrary cut-off; the adjusted "
                           "share uses no threshold.", ["strategy", "threshold − 0.1", "threshold", "threshold + 0.1"],
                           sens))
    return out


def level_sections(tables: dict[str, pd.DataFrame], names: tuple[str, ...], *, top: int, headline: str) -> list[Section]:
    """Actor types, actors, countries, languages and months: the estimates per group."""
    est_all = tables["estimates"]
    has_adjusted = "adjusted" in est_all and est_all["adjusted"].notna().any()
    what = ("adjusted", "counted") if headline == "adjusted" else ("counted", "adjusted") if has_adjusted else ("counted",)
    intro = (f"{what[0].capitalize()} (headline){' and ' + what[1] if len(what) > 1 else ''} share of posts per "
             "strategy, with 95% intervals; mean probabilities and the threshold sensitivity of every group are in "
             "estimates.csv. † = fewer than 30 posts (no adjusted estimate); ‡ = EM at 0% or 100% against the "
             "evidence of the scores.")
    out = []
    types = tables["actor_types"]
    est = estimate_frame(est_all, "actor_type")
    groups = [(str(r.actor_type), ["" if pd.isna(r.rank) else str(r.rank), str(r.actor_type), _int(r.actors)])
              for r in types.itertuples()]
    out.append(Section("actor_types", "Strategies by actor type", intro + " Mean probabilities are shown here too.",
                       ["rank", "actor type", "actors", "posts"] + estimate_headers(names, what + ("mean_prob",)),
                       group_rows(est, groups, names, what + ("mean_prob",), 1), charts=["estimates_types"],
                       note=f"All {plural(int(types['rank'].notna().sum()), 'actor type')} shown"
                       + (f", and the '{NO_ACTOR}' row." if (types["actor_type"] == NO_ACTOR).any() else "."),
                       text_columns=3))
    actors = tables["actors"]
    ranked = actors[actors["actor"] != NO_ACTOR]
    shown = pd.concat([ranked.head(top), actors[actors["actor"] == NO_ACTOR]])
    est = estimate_frame(est_all, "actor")
    groups = [(str(r.actor), ["" if pd.isna(r.rank) else str(r.rank), str(r.actor), str(r.actor_name),
                              str(r.actor_type), str(r.country)]) for r in shown.itertuples()]
    out.append(Section("actors", "Strategies by actor", intro + " One row per handle (case-insensitive); posts "
                       f"without a handle are the last row, '{NO_ACTOR}', and are not ranked.",
                       ["rank", "handle", "name", "type", "country", "posts"] + estimate_headers(names, what),
                       group_rows(est, groups, names, what, 1), charts=["strategy_mix_actors"],
                       note=shown_note(min(top, len(ranked)), len(ranked), "actor", "actors.csv and estimates.csv"),
                       text_columns=5))
    for level, title, word in (("country", "Strategies by country of the actor", "country"),
                               ("language", "Strategies by language of the post", "language"),
                               ("month", "Strategies by month (UTC)", "month")):
        est = estimate_frame(est_all, level)
        if not len(est):
            continue
        posts = est.xs(names[0], level="strategy")["posts"]
        order = sorted(posts.index) if level == "month" else list(posts.sort_values(ascending=False, kind="stable").index)
        keep = order if level == "month" else order[:top]
        groups = [(g, [g]) for g in keep]
        many = "countries" if word == "country" else None
        note = (f"All {plural(len(order), word, many)} shown." if len(keep) == len(order) else
                f"Top {len(keep)} of {len(order)} {many or word + 's'} by posts shown; all are in estimates.csv.")
        out.append(Section(level, title, intro + (" Countries come from the actor registry." if level == "country"
                                                  else ""),
                           [word, "posts"] + estimate_headers(names, what), group_rows(est, groups, names, what),
                           note=note, charts=["timeseries_all", "timeseries_types"] if level == "month" else []))
    return out


def mix_section(tables: dict[str, pd.DataFrame], names: tuple[str, ...]) -> Section:
    """Counted strategy mix per actor type: the numbers behind the stacked bars."""
    rows = []
    for r in tables["actor_types"].itertuples(index=False):
        d = r._asdict()
        n = d["posts"]
        cells = [str(d["actor_type"]), _int(n), pct(d["no_strategy_posts"] / n if n else math.nan)]
        cells += [pct(d[f"{x}_only_posts"] / n if n else math.nan) for x in names]
        rows.append(cells + [pct(d["multi_strategy_posts"] / n if n else math.nan)])
    return Section("mix", "Strategy mix by actor type (counted)",
                   "Each post in exactly one category, counted at the thresholds: the bars and the table show the "
                   "same numbers.", ["actor type", "posts", "no strategy"] + [f"{n} only" for n in names]
                   + ["2+ strategies"], rows, charts=["strategy_mix_types"])


def engagement_section(tables: dict[str, pd.DataFrame], names: tuple[str, ...]) -> Section:
    rows = []
    for _, row in tables["actor_types"].iterrows():
        for m in METRICS:
            rows.append([str(row["actor_type"]), m, _int(row[f"{m}_known_posts"]), _int(row[f"{m}_total"])]
                        + [pct(row[f"{n}_{m}_share"]) for n in names])
    return Section("engagement", "Engagement-weighted shares by actor type",
                   "A different denominator from the post shares above: sum of the metric over posts with the "
                   "strategy ÷ sum over all posts where the metric is known. Posts without the metric are left "
                   "out, not counted as zero.", ["actor type", "metric", "posts with metric", "total"]
                   + [f"{n}: weighted share" for n in names], rows, charts=["engagement_types"], text_columns=2)


def other_sections(tables: dict[str, pd.DataFrame], names: tuple[str, ...], *, top_actors: int,
                   top_hashtags: int) -> list[Section]:
    """Co-occurrence, hashtags and handles not in the registry."""
    out = []
    cooc = tables["cooccurrence"]
    cooc = cooc[cooc["level"] == "all"].set_index(["strategy", "co_strategy"])
    out.append(Section("cooccurrence", "Strategy co-occurrence (all posts, counted)",
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
                        for i in range(min(top_hashtags, max([len(b) for b in by.values()] + [0])))],
                       text_columns=len(names) + 1))
    unknown = tables["unknown_actors"]
    n_posts = int(unknown["posts"].sum()) if len(unknown) else 0
    out.append(Section("unknown", "Handles not in the actor registry",
                       f"{plural(len(unknown), 'handle')} ({plural(n_posts, 'post')}) are counted as actor type "
                       "'unknown'. Fill in actors_template.toml (written next to this report) for public accounts "
                       "and pass it with --actors FILE. Private individuals are best left unknown.",
                       ["handle", "posts", "name in data"],
                       [[str(r["actor"]), _int(r["posts"]), str(r["name_in_data"])]
                        for _, r in unknown.head(top_actors).iterrows()],
                       note=shown_note(min(top_actors, len(unknown)), len(unknown), "handle", "unknown_actors.csv")
                       if len(unknown) else ""))
    return out


def example_sections(tables: dict[str, pd.DataFrame], names: tuple[str, ...], n: int) -> list[Section]:
    """Example posts per strategy: overall, then per actor type."""
    ex = tables.get("examples")
    if ex is None or not len(ex):
        return []
    out = []
    headers = ["scope", "kind", "score", "threshold", "actor", "text", "explanation (feature [field] weight)", "post"]
    for name in names:
        part = ex[ex["strategy"] == name]
        rows = [[str(r.scope), str(r.kind), f"{r.score:.3f}", f"{r.threshold:.2f}", str(r.actor), str(r.text),
                 str(r.explanation) or "–", Link(str(r.post_id), str(r.url)) if r.url else str(r.post_id)]
                for r in part.itertuples()]
        out.append(Section(f"examples_{name}", f"Example posts: {name}",
                           f"Per scope (all posts, then each actor type): the {n} highest-scoring posts ('top') and "
                           f"the {n} posts closest to the threshold ('borderline', where the classifier is least "
                           "sure). Read them to judge whether the label means what the definition says. "
                           "Explanations need 'label --explain'.", headers, rows, text_columns=len(headers)))
    return out
