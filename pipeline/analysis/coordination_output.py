"""Coordination outputs: cluster, member and actor-pair tables, a GEXF network for Gephi, an HTML page.

Output directory layout::

    clusters.csv / .parquet         one row per cluster, best score first
    cluster_posts.csv / .parquet    every post of every cluster, with its similarity to the cluster text
    actor_pairs.csv / .parquet      pairs of actors and how many clusters they share
    coordination.gexf               actors (type, country, clusters) and co-posting edges, for Gephi
    coordination.html               top clusters and the co-posting network chart
    coordination.md                 the same tables in Markdown
    coordination.json               parameters, counts and notes
"""

from __future__ import annotations

import json
import logging
from datetime import timedelta
from pathlib import Path
from typing import Any

from pipeline import __version__
from pipeline.analysis.charts import network
from pipeline.analysis.coordination import CoordinationResult, find_clusters
from pipeline.analysis.output import Block, atomic_write, render_markdown, render_page, write_table, write_text
from pipeline.analysis.posts import load_posts
from pipeline.analysis.text import TEXT_FIELDS, text_getter
from pipeline.errors import PipelineError
from pipeline.report.registry import Registry

log = logging.getLogger(__name__)


def co_posting_graph(result: CoordinationResult) -> Any:
    """networkx graph: one node per actor in a cluster, one edge per pair weighted by shared clusters."""
    import networkx as nx  # lazy: heavy import

    g = nx.Graph()
    members = result.cluster_posts
    for actor, grp in members.groupby("actor", sort=True):
        first = grp.iloc[0]
        g.add_node(str(actor), label=str(actor), name=str(first["actor_name"] or ""),
                   actor_type=str(first["actor_type"]), country=str(first["country"] or ""),
                   clusters=int(grp["cluster_id"].nunique()), posts=int(grp["post_id"].nunique()))
    for r in result.actor_pairs.itertuples(index=False):
        g.add_edge(str(r.actor_a), str(r.actor_b), weight=int(r.clusters), clusters=str(r.cluster_ids))
    return g


def _short(text: str, limit: int = 280) -> str:
    return text if len(text) <= limit else text[:limit - 1] + "…"


def _blocks(result: CoordinationResult, png: bytes | None, top: int) -> list[Block]:
    c, p = result.clusters.head(top), result.params
    rows = [[r.cluster_id, f"{r.score:.2f}", str(r.actors), str(r.posts), f"{r.first:%Y-%m-%d %H:%M}",
             f"{r.spread_hours:.1f} h", f"{r.mean_similarity:.2f}", r.actor_list, r.countries, r.strategies,
             _short(r.text)] for r in c.itertuples(index=False)]
    blocks = [Block(
        f"Top {len(c)} of {len(result.clusters)} clusters",
        f"Near-duplicate texts (estimated Jaccard similarity of character 5-grams ≥ {p['similarity']}) posted by "
        f"at least {p['min_actors']} different actors, consecutive posts at most {p['window_hours']:g} h apart. "
        "Score = actors × mean similarity ÷ (1 + spread ÷ window).",
        headers=["cluster", "score", "actors", "posts", "first (UTC)", "spread", "similarity", "actors (type, country)",
                 "countries", "strategies of its posts", "shared text (normalised)"],
        rows=rows, text_columns=(7, 10))]
    pairs = result.actor_pairs.head(top)
    blocks.append(Block(
        "Actors that co-post most often", "Pairs of actors and the number of clusters both posted in.",
        [(f"Co-posting network ({'top 60 actors' if png else 'no edges'}): node size = clusters joined, "
          "edge width = clusters shared, colour = actor type", png)] if png else [],
        ["actor", "type", "country", "actor", "type", "country", "clusters", "first (UTC)", "last (UTC)"],
        [[r.actor_a, r.type_a, r.country_a, r.actor_b, r.type_b, r.country_b, str(r.clusters),
          f"{r.first:%Y-%m-%d %H:%M}", f"{r.last:%Y-%m-%d %H:%M}"] for r in pairs.itertuples(index=False)]))
    return blocks


def _intro(result: CoordinationResult, sources: list[str]) -> list[str]:
    k = result.counts
    intro = [f"Input: {', '.join(sources)}. {k['posts_used']:,} of {k['posts_read']:,} posts used; "
             f"{k['texts_compared']:,} texts compared ({k['distinct_texts']:,} distinct).",
             f"Left out: {k['texts_empty']:,} empty text fields, {k['texts_boilerplate']:,} boilerplate texts (only "
             "reach hashtags such as #fyp/#foryou/#viral/#おすすめ, URLs, punctuation or emoji) and "
             f"{k['texts_short']:,} texts shorter than {result.params['min_chars']} characters after normalisation.",
             "Texts are compared after normalisation (Unicode NFKC, case-folded, URLs and reach hashtags removed, "
             "other hashtags and @mentions kept). Similar texts are found with MinHash LSH; a cluster can chain "
             "texts that are each similar to a neighbour, so check the per-post similarity in cluster_posts."]
    if not len(result.clusters):
        intro.append("No cluster found with these settings. On a small sample this is expected: coordination "
                     "needs several accounts posting the same text; try a larger export, a longer --window or "
                     "--min-actors 2.")
    return intro + result.notes


def write_coordination(result: CoordinationResult, out_dir: Path, *, sources: list[str], top: int = 25
                       ) -> dict[str, Path]:
    """Write every coordination output into ``out_dir``; returns name → path."""
    import networkx as nx  # lazy: heavy import

    out_dir = Path(out_dir)
    try:
        written: dict[str, Path] = {}
        written.update(write_table(result.clusters, out_dir, "clusters"))
        written.update(write_table(result.cluster_posts, out_dir, "cluster_posts"))
        written.update(write_table(result.actor_pairs, out_dir, "actor_pairs"))
        graph = co_posting_graph(result)
        written["coordination.gexf"] = atomic_write(out_dir / "coordination.gexf", lambda t: nx.write_gexf(graph, t))
        png = network(graph, "Actors posting near-duplicate texts within the window")
        if png:
            written["coordination_network.png"] = atomic_write(out_dir / "coordination_network.png",
                                                               lambda t: t.write_bytes(png))
        files = sorted(written) + ["coordination.html", "coordination.md", "coordination.json"]
        intro, blocks = _intro(result, sources), _blocks(result, png, top)
        title = "Coordinated posting: near-duplicate texts across actors"
        written["coordination.html"] = write_text(out_dir / "coordination.html",
                                                  render_page(title, intro, blocks, files))
        written["coordination.md"] = write_text(out_dir / "coordination.md", render_markdown(title, intro, blocks))
        meta = {"format": "tiktok-diplomacy-coordination/1", "tiktok_diplomacy_version": __version__,
                "sources": sources, "params": result.params, "counts": result.counts, "notes": result.notes,
                "files": files}
        written["coordination.json"] = write_text(out_dir / "coordination.json",
                                                  json.dumps(meta, indent=2, ensure_ascii=False) + "\n")
    except OSError as exc:
        raise PipelineError(f"{out_dir}: cannot write the coordination outputs ({exc.strerror or exc}). "
                            "Pass a writable directory with -o.") from exc
    log.info("coordination outputs in %s", out_dir)
    return written


def summary(result: CoordinationResult) -> str:
    """One line for the terminal."""
    k = result.counts
    n = k.get("clusters", 0)
    return (f"{n} cluster{'' if n == 1 else 's'}; {k['posts_used']:,} posts, {k['texts_compared']:,} texts compared "
            f"({k['texts_boilerplate']:,} boilerplate, {k['texts_short']:,} too short left out)")


def coordination(paths: list[Path], out_dir: Path, registry: Registry, *, window: timedelta = timedelta(hours=48),
                 min_actors: int = 3, similarity: float = 0.8, min_chars: int = 20,
                 fields: tuple[str, ...] = TEXT_FIELDS, top: int = 25) -> tuple[CoordinationResult, dict[str, Path]]:
    """Read ``label`` outputs, find coordination clusters and write every output into ``out_dir``."""
    posts = load_posts(paths, registry, texts={f: text_getter(f) for f in fields}, hashtags=False)
    result = find_clusters(posts, window=window, min_actors=min_actors, similarity_threshold=similarity,
                           min_chars=min_chars, fields=fields)
    return result, write_coordination(result, out_dir, sources=[Path(p).name for p in paths], top=top)
