"""The data dictionary: every column of every exported table, its long name, type and meaning.

Written as ``codebook.csv`` (one row per table and column) and ``codebook.md``.  The exported
names are Stata-safe (≤ 32 characters); ``long_name`` is the name used in Python
(:func:`pipeline.report.aggregate.aggregate_frame`), so the codebook is also the names map.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence

import pandas as pd

from pipeline.report.exports import export_frame, export_name, label_codes
from pipeline.report.markdown import md_escape
from pipeline.report.tables import METRICS

TABLES = {
    "overall": "All posts in one row: counted shares with Wilson intervals, engagement-weighted shares, mix.",
    "actor_types": "One row per actor type (registry); posts without an actor are the last, unranked row.",
    "actors": "One row per handle (case-insensitive); posts without an actor are the last, unranked row.",
    "timeseries": "Counted shares per month, for all posts, each actor type and each actor (dated posts only).",
    "cooccurrence": "Posts with both strategies, per group, as share of posts and of the first strategy's posts.",
    "hashtags": "Top hashtags per group and strategy.",
    "unknown_actors": "Handles not in the actor registry (actor type 'unknown').",
    "estimates": "The three share estimates with 95% intervals per level, group and strategy, and the "
                 "threshold-sensitivity columns.",
    "examples": "Example posts per strategy: top-scoring and borderline, overall and per actor type.",
    "posts": "One row per post: ids as text, UTC timestamps, nullable counts, 0/1 per strategy.",
}

_FIXED = {
    "rank": "rank by posts (1 = most); empty for posts without an actor, which are never ranked",
    "all": "the one group of all posts",
    "actor": "TikTok handle, lower-case without @ ('(no actor)' when the post has none; user_… = pseudonym)",
    "actor_name": "display name from the actor registry", "actor_type": "actor type from the actor registry",
    "country": "ISO 3166-1 country of the actor from the registry ('(unknown)' when not known)",
    "actors": "distinct handles in the group", "posts": "posts in the group",
    "posts_without_date": "posts without a readable created_at",
    "first_month": "first month with a dated post (YYYY-MM, UTC)", "last_month": "last month with a dated post",
    "no_strategy_posts": "posts with none of the strategies", "multi_strategy_posts": "posts with 2+ strategies",
    "level": "grouping level: all, actor_type, actor, country, language or month", "group": "the group's value",
    "strategy": "strategy (label name)", "co_strategy": "the second strategy",
    "share_of_posts": "posts with both ÷ posts", "conditional_share": "posts with both ÷ posts with the row strategy",
    "hashtag": "hashtag, lower-case without #", "share_of_strategy_posts": "posts with the hashtag ÷ posts with the strategy",
    "approximate": "true when rare hashtags were dropped to bound memory (counts may be slightly low)",
    "month": "month (YYYY-MM, UTC)", "name_in_data": "display name found in the export",
    "posts_scored": "posts with a score for the strategy", "counted_posts": "posts labelled with the strategy",
    "counted_share": "(a) counted share: posts labelled ÷ posts, at the model's thresholds",
    "counted_low": "lower end of the Wilson 95% interval of counted_share", "counted_high": "upper end of that interval",
    "mean_prob": "(b) mean calibrated probability", "mean_prob_low": "bootstrap 95% interval of mean_prob, lower end",
    "mean_prob_high": "bootstrap 95% interval of mean_prob, upper end",
    "adjusted": "(c) prior-shift-adjusted share (EM, Saerens et al. 2002): the headline estimate; empty for groups under 30 posts or without the model's provenance",
    "adjusted_low": "bootstrap 95% interval of adjusted, lower end", "adjusted_high": "upper end of that interval",
    "small_group": "true when the group has fewer than 30 posts: wide intervals, unstable adjusted estimate",
    "adjusted_at_boundary": "true when EM put the share at 0% (100%) although posts score above (below) the "
                            "threshold: the group's posts differ from the training posts in more than prevalence",
    "threshold_minus": "threshold − 0.1", "threshold_at": "the model's threshold", "threshold_plus": "threshold + 0.1",
    "share_at_threshold_minus": "share of scored posts with score ≥ threshold − 0.1",
    "share_at_threshold_at": "share of scored posts with score ≥ threshold",
    "share_at_threshold_plus": "share of scored posts with score ≥ threshold + 0.1",
    "scope": "'all' or the actor type the example was picked in", "kind": "top = highest score; borderline = closest to the threshold",
    "post_id": "TikTok post id (text: 19-digit ids lose digits as numbers)", "created_at": "post time (UTC)",
    "language": "ISO 639-1 language of the text ('und' = undetermined)", "score": "the strategy's calibrated probability",
    "threshold": "the strategy's threshold", "labels": "strategies assigned to the post",
    "text": "caption (or on-screen text, transcript), cut to 280 characters", "explanation":
    "features that pushed the decision most: feature [field] weight (log-odds), from label --explain",
    "url": "link to the post (empty when not a TikTok video id or the account is pseudonymised)",
    "comments": "comment count (empty = unknown, not zero)", "n_strategies": "number of strategies assigned",
    "source_file": "export file the post came from",
}


def describe(column: str, names: Sequence[str]) -> str:
    """Meaning of a table column (long name), from its pattern."""
    if column in _FIXED:
        return _FIXED[column]
    for m in METRICS:
        if column == m:
            return f"{m} count (empty = unknown, not zero)"
        if column == f"{m}_known_posts":
            return f"posts whose {m} count is known"
        if column == f"{m}_total":
            return f"sum of {m} over posts where it is known"
    codes = label_codes(names)
    for n in names:
        if column in (n, codes[n]):
            return f"1 if the post has {n} (score ≥ threshold), else 0"
        if column == f"p_{codes[n]}":
            return f"calibrated probability of {n}"
        rest = column[len(n):] if column.startswith(n) else None
        if rest is None:
            continue
        if rest.startswith("+"):
            return f"posts with both {n} and {rest[1:].removesuffix('_posts')}"
        simple = {"_posts": f"posts with {n}", "_share": f"counted share of posts with {n}",
                  "_share_ci_low": f"Wilson 95% interval of {n}_share, lower end",
                  "_share_ci_high": f"Wilson 95% interval of {n}_share, upper end",
                  "_only_posts": f"posts with {n} and no other strategy",
                  "_mean_score": f"mean calibrated probability of {n}"}
        if rest in simple:
            return simple[rest]
        match = re.fullmatch(r"_(\w+)_share", rest)
        if match and match.group(1) in METRICS:
            return (f"{match.group(1)}-weighted share: sum of {match.group(1)} over posts with {n} ÷ sum over "
                    f"posts where {match.group(1)} is known")
    return ""


def codebook(tables: Mapping[str, pd.DataFrame], names: Sequence[str]) -> pd.DataFrame:
    """One row per (table, exported column): table, column, long_name, type, description."""
    rows = []
    for table, df in tables.items():
        out = export_frame(df, names)
        for long, col in zip(df.columns, out.columns):
            rows.append({"table": table, "column": col, "long_name": str(long), "type": str(out[col].dtype),
                         "description": describe(str(long), names)})
    return pd.DataFrame(rows, columns=["table", "column", "long_name", "type", "description"])


def codebook_md(book: pd.DataFrame, names: Sequence[str]) -> str:
    """The codebook as Markdown: one section per table."""
    codes = label_codes(names)
    lines = ["# Codebook", "",
             "Every column of every exported table. Column names are at most 32 characters (Stata); strategy "
             "names are shortened to codes: " + ", ".join(f"`{c}` = {n}" for n, c in codes.items()) + "; "
             "`a_and_b` = posts with both. `long_name` is the name in Python (`aggregate_frame`).", "",
             "Read CSV ids as text: R `readr::read_csv(f, col_types = cols(post_id = 'c'))`, pandas "
             "`pd.read_csv(f, dtype={'post_id': str})`, Stata `import delimited posts.csv, stringcols(1)` (post_id "
             "is the first column of posts.csv). "
             "Parquet and report.xlsx already store them as text.", ""]
    for table, part in book.groupby("table", sort=False):
        lines += [f"## {table}", "", md_escape(TABLES.get(str(table), "")), "",
                  "| column | long name | type | description |", "|---|---|---|---|"]
        lines += [f"| {md_escape(r.column)} | {md_escape(r.long_name)} | {md_escape(r.type)} | "
                  f"{md_escape(r.description)} |" for r in part.itertuples()]
        lines.append("")
    return "\n".join(lines)


def check_names(tables: Mapping[str, pd.DataFrame], names: Sequence[str]) -> None:
    """Raise if any exported column name is not Stata-safe (called before anything is written)."""
    for df in tables.values():
        for col in df.columns:
            export_name(str(col), names)
