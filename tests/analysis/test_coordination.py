"""Coordination: a planted cluster among unrelated posts is found and nothing else; boilerplate is ignored;
MinHash signatures equal datasketch's; outputs are written safely (CSV formula-safe, GEXF, HTML escaped)."""

import json
import random
import string
from datetime import timedelta

import networkx as nx
import numpy as np
import pandas as pd
import pytest
from datasketch import MinHash
from typer.testing import CliRunner

from pipeline.analysis.coordination import find_clusters
from pipeline.analysis.coordination_output import coordination, write_coordination
from pipeline.analysis.minhash import shingle_hashes, signatures
from pipeline.analysis.posts import PostTable, load_posts, parse_duration
from pipeline.analysis.text import normalise, text_getter
from pipeline.cli.main import app
from pipeline.errors import PipelineError
from pipeline.io.writers import RecordWriter

BASE = pd.Timestamp("2024-03-01", tz="UTC")
PLANTED = "Our embassy stands with the people of the region: join #PeaceForAll today with @friendsofpeace"
REG = {"state_a": {"name": "A", "type": "state media", "country": "CN"},
       "embassy_b": {"name": "B", "type": "embassy", "country": "CN"}}


def _records(n_unrelated=10_000, seed=7):
    """n unrelated posts (random word salads from 400 accounts over 90 days) + 4 accounts posting PLANTED in 2 h."""
    rng = random.Random(seed)
    vocab = ["".join(rng.choices(string.ascii_lowercase, k=rng.randint(3, 9))) for _ in range(30_000)]
    recs = []
    for i in range(n_unrelated):
        recs.append({"post_id": f"u{i}", "actor": f"acct{rng.randrange(400)}",
                     "created_at": (BASE + pd.Timedelta(minutes=rng.randrange(90 * 24 * 60))).isoformat(),
                     "caption": " ".join(rng.choices(vocab, k=rng.randint(6, 30))) + " #fyp",
                     "labels": [], "scores": {}})
    variants = [PLANTED, PLANTED + " #fyp", PLANTED.upper(), PLANTED + " https://example.org/x"]
    for k, (actor, text) in enumerate(zip(["state_a", "embassy_b", "acct_c", "acct_d"], variants)):
        recs.append({"post_id": f"planted{k}", "actor": actor, "caption": text,
                     "created_at": (BASE + pd.Timedelta(days=40, minutes=35 * k)).isoformat(),
                     "labels": ["crisis_messaging"] if k < 2 else [], "scores": {}})
    return recs


@pytest.fixture(scope="module")
def planted_file(tmp_path_factory):
    path = tmp_path_factory.mktemp("coord") / "labelled.jsonl"
    with RecordWriter(path) as w:
        w.write(_records())
    return path


def test_planted_cluster_is_found_and_nothing_else(planted_file, tmp_path):
    result, written = coordination([planted_file], tmp_path, REG, window=timedelta(hours=48), min_actors=3)
    assert len(result.clusters) == 1
    c = result.clusters.iloc[0]
    assert c["actors"] == 4 and c["posts"] == 4
    assert set(result.cluster_posts["post_id"]) == {f"planted{k}" for k in range(4)}
    assert c["spread_hours"] == pytest.approx(105 / 60, abs=0.01)
    assert "#peaceforall" in c["text"] and "@friendsofpeace" in c["text"] and "#fyp" not in c["text"]
    assert "state_a (state media, CN)" in c["actor_list"] and "embassy_b (embassy, CN)" in c["actor_list"]
    assert set(c["actor_types"].split("; ")) == {"unknown 2", "state media 1", "embassy 1"}
    assert c["crisis_messaging_posts"] == 2 and c["no_strategy_posts"] == 2
    assert len(result.actor_pairs) == 6 and (result.actor_pairs["clusters"] == 1).all()
    assert result.counts["texts_compared"] == 10_004
    graph = nx.read_gexf(written["coordination.gexf"])
    assert graph.number_of_nodes() == 4 and graph.number_of_edges() == 6
    assert graph.nodes["state_a"]["actor_type"] == "state media"
    assert pd.read_parquet(written["clusters.parquet"])["actors"].tolist() == [4]
    assert "Co-posting network" in written["coordination.html"].read_text(encoding="utf-8")


def test_window_and_min_actors_decide(planted_file):
    posts = load_posts([planted_file], REG, texts={"caption": text_getter("caption")}, hashtags=False)
    assert len(find_clusters(posts, window=timedelta(minutes=30), fields=("caption",)).clusters) == 0
    assert len(find_clusters(posts, min_actors=5, fields=("caption",)).clusters) == 0


def test_same_actor_repeating_itself_is_not_coordination():
    df = pd.DataFrame({"post_id": [f"p{i}" for i in range(5)], "actor": ["solo"] * 4 + ["other"],
                       "time": [BASE + pd.Timedelta(hours=i) for i in range(5)],
                       "caption": [normalise(PLANTED)] * 5})
    df = _complete(df)
    assert len(find_clusters(PostTable(df, 5), min_actors=2, fields=("caption",)).clusters) == 1
    assert len(find_clusters(PostTable(df, 5), min_actors=3, fields=("caption",)).clusters) == 0


def _complete(df):
    for n in ("trend_participation", "influencer_amplification", "crisis_messaging"):
        df[n] = False
    df["actor_type"], df["country"], df["actor_name"], df["source"] = "unknown", "", "", "t"
    return df


def test_boilerplate_is_left_out():
    assert normalise("#fyp #foryou #viral") == ""
    assert normalise("#おすすめ 🔥🔥 https://x.y/z") == ""
    assert normalise("   ") is None and normalise(None) is None
    assert normalise("Ｊｏｉｎ  #CranesForOurFuture @Mayor #FYP") == "join #cranesforourfuture @mayor"
    texts = ["#fyp #viral"] * 3 + ["ok"] * 3
    df = _complete(pd.DataFrame({"post_id": list("abcdef"), "actor": list("abcdef"),
                                 "time": [BASE] * 6, "caption": [normalise(t) for t in texts]}))
    r = find_clusters(PostTable(df, 6), min_actors=2, fields=("caption",))
    assert len(r.clusters) == 0
    assert r.counts["texts_boilerplate"] == 3 and r.counts["texts_short"] == 3 and r.counts["texts_compared"] == 0


def test_signatures_equal_datasketch_minhash():
    texts = ["the same words in a row", "完全に別の日本語の文章です", "abc"]
    (hashes, indptr), sig = shingle_hashes(texts), signatures(texts)
    assert list(np.diff(indptr)) == [19, 9, 1]  # n-grams per text, none across texts
    for r in range(len(texts)):
        m = MinHash(num_perm=64, seed=1, hashfunc=lambda x: x, scheme="affine32")
        m.update_batch(list(hashes[indptr[r]:indptr[r + 1]]))
        assert (m.hashvalues == sig[r]).all()
    # equal 5-grams hash equally wherever they are
    h2, ip2 = shingle_hashes(["xx the same", "the same yy"])
    assert set(h2[ip2[0]:ip2[1]]) & set(h2[ip2[1]:ip2[2]])


def test_outputs_neutralise_formulas_and_escape_html(tmp_path):
    evil = '=HYPERLINK("http://x") <script>alert(1)</script> shared words here'
    df = _complete(pd.DataFrame({"post_id": ["a", "b", "c"], "actor": ["=cmd", "<b>x</b>", "c"],
                                 "time": [BASE] * 3, "caption": [normalise(evil)] * 3}))
    r = find_clusters(PostTable(df, 3), min_actors=3, fields=("caption",))
    written = write_coordination(r, tmp_path, sources=["<in>.jsonl"])
    csv_text = written["clusters.csv"].read_text(encoding="utf-8")
    assert "'=hyperlink" in csv_text
    assert "\n=" not in written["cluster_posts.csv"].read_text(encoding="utf-8").replace(",=", "")
    html = written["coordination.html"].read_text(encoding="utf-8")
    assert "<script>" not in html and "&lt;script&gt;" in html and "<b>x</b>" not in html
    assert not list(tmp_path.glob(".*.tmp"))
    assert json.loads(written["coordination.json"].read_text())["counts"]["clusters"] == 1


def test_durations():
    assert parse_duration("48h") == timedelta(hours=48) and parse_duration("2w") == timedelta(days=14)
    with pytest.raises(PipelineError, match="90m, 48h"):
        parse_duration("soon")


def test_cli_coordination(planted_file, tmp_path):
    res = CliRunner().invoke(app, ["coordination", str(planted_file), "-o", str(tmp_path / "c"), "--window", "48h",
                                   "--min-actors", "4", "--fields", "caption"])
    assert res.exit_code == 0, res.output
    assert "1 cluster;" in res.output and (tmp_path / "c" / "coordination.gexf").is_file()
    bad = CliRunner().invoke(app, ["coordination", str(planted_file), "-o", str(tmp_path / "d"), "--window", "x"])
    assert bad.exit_code == 1 and "not a duration" in bad.output
    bad = CliRunner().invoke(app, ["coordination", str(planted_file), "-o", str(tmp_path / "d"), "--fields", "title"])
    assert bad.exit_code == 2
