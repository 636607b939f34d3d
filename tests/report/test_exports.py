"""Exports open with the right types in pandas (CSV with BOM, Parquet, xlsx); names fit Stata; codebook is complete;
posts without an actor never appear in a ranking; --pseudonymise leaves no private handle in any output."""

import json
import random

import numpy as np
import pandas as pd
import pytest

from pipeline.label.provenance import sidecar_path
from pipeline.report.registry import NO_ACTOR
from pipeline.report.run import report
from pipeline.schema import labels

NAMES = labels()
BIG_ID = "7301234567890123456"  # 19 digits: a float would round it
REG = {"gov_a": {"name": "Gov A", "type": "government", "country": "JP"},
       "media_b": {"name": "Media B", "type": "media", "country": "GB"}}


def _rows(n=400, seed=5):
    rng = random.Random(seed)
    rows = []
    for i in range(n):
        # many posts without a handle, as in the ad library: they must not become the top "actor"
        actor = rng.choice([None, None, None, "", "gov_a", "media_b", "private_person", "@Private_Person"])
        scores = {name: round(rng.random() ** 3, 4) for name in NAMES}
        rows.append({"post_id": BIG_ID if i == 0 else str(7300000000000000000 + i), "actor": actor,
                     "labels": [k for k, v in scores.items() if v >= 0.3], "scores": scores,
                     "created_at": rng.choice([None, f"2024-0{rng.randint(1, 9)}-10T08:00:00Z"]),
                     "views": rng.choice([None, rng.randint(0, 10**6)]), "likes": rng.choice([None, 3]),
                     "language": rng.choice(["ja", "en", None]),
                     "caption": "ask @private_person and @bbcnews =1+1" if i % 7 == 0 else "hello",
                     "explanations": {name: [{"feature": "w:hello", "field": "caption", "weight": 0.5}] for name in NAMES},
                     "hashtags": ["tag"]})
    return rows


def _labelled(tmp_path, rows, provenance=True):
    path = tmp_path / "l.jsonl"
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")
    if provenance:
        sidecar_path(path).write_text(json.dumps({
            "model": {"id": "m", "sha256": "abc", "training_corpus": {"n_posts": 100, "prevalence": {n: 0.1 for n in NAMES}},
                      "metrics": {}}, "thresholds": {n: 0.3 for n in NAMES}, "label_definitions": [], "inputs": []}))
    return path


@pytest.fixture(scope="module")
def full_report(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("exp")
    rows = _rows()
    run = report(_labelled(tmp, rows), tmp / "r", registry=REG, formats=("csv", "parquet", "json", "xlsx"), bom=True,
                 examples=2, n_boot=50)
    return rows, run, tmp / "r"


def test_every_export_opens_with_the_right_types(full_report):
    rows, run, out = full_report
    assert (out / "posts.csv").read_bytes()[:3] == b"\xef\xbb\xbf"  # BOM: Excel reads the UTF-8
    csv_posts = pd.read_csv(out / "posts.csv", dtype={"post_id": str}, encoding="utf-8-sig")
    assert csv_posts.loc[0, "post_id"] == BIG_ID and len(csv_posts) == len(rows)
    pq_posts = pd.read_parquet(out / "posts.parquet")
    assert pq_posts.loc[0, "post_id"] == BIG_ID
    assert str(pq_posts["created_at"].dtype) == "datetime64[us, UTC]"
    assert str(pq_posts["views"].dtype) == "Int64" and pq_posts["views"].isna().sum() == sum(r["views"] is None for r in rows)
    for name in NAMES:
        code = name.split("_")[0]
        assert str(pq_posts[code].dtype) == "Int8"
        assert list(pq_posts[code]) == [int(name in r["labels"]) for r in rows]
        assert set(csv_posts[code]) <= {0, 1}
    assert pq_posts["created_at"].notna().sum() == sum(r["created_at"] is not None for r in rows)
    xl = pd.read_excel(out / "report.xlsx", sheet_name=None, dtype={"post_id": str})
    assert {"posts", "actors", "actor_types", "estimates", "codebook", "examples"} <= set(xl)
    assert xl["posts"].loc[0, "post_id"] == BIG_ID and len(xl["posts"]) == len(rows)
    assert not [v for v in xl["posts"]["actor"].dropna() if str(v)[:1] in "=+-@"]
    for name in ("actors", "actor_types", "overall", "estimates", "timeseries"):
        csv_t = pd.read_csv(out / f"{name}.csv", encoding="utf-8-sig", keep_default_na=False, na_values=[""])
        pq_t = pd.read_parquet(out / f"{name}.parquet")
        assert list(csv_t.columns) == list(pq_t.columns) == list(xl[name].columns)
        assert len(csv_t) == len(pq_t) == len(xl[name])
        assert all(len(c) <= 32 and c.replace("_", "").isalnum() for c in pq_t.columns)
    assert str(pd.read_parquet(out / "actors.parquet")["rank"].dtype) == "Int64"


def test_codebook_describes_every_column_of_every_table(full_report):
    _, _, out = full_report
    book = pd.read_csv(out / "codebook.csv", encoding="utf-8-sig")
    assert not book["description"].isna().any()
    md = (out / "codebook.md").read_text(encoding="utf-8")
    for table in ("overall", "actor_types", "actors", "estimates", "timeseries", "cooccurrence", "hashtags",
                  "unknown_actors", "examples", "posts"):
        path = out / (f"{table}.parquet")
        cols = list(pd.read_parquet(path).columns)
        assert cols == list(book.loc[book["table"] == table, "column"]), table
        assert f"## {table}" in md
    assert (book["column"].str.len() <= 32).all()


def test_posts_without_an_actor_never_appear_in_a_ranking(full_report):
    rows, run, out = full_report
    n_none = sum(not (r["actor"] or "").strip() for r in rows)
    actors = pd.read_parquet(out / "actors.parquet")
    types = pd.read_parquet(out / "actor_types.parquet")
    for table, key in ((actors, "actor"), (types, "actor_type")):
        none = table[table[key] == NO_ACTOR]
        assert len(none) == 1 and none["posts"].iloc[0] == n_none  # its own labelled row, counted
        assert none["rank"].isna().all() and table[key].iloc[-1] == NO_ACTOR
        ranked = table[table["rank"].notna()]
        assert NO_ACTOR not in set(ranked[key]) and list(ranked["rank"]) == list(range(1, len(ranked) + 1))
    # the no-actor posts are the biggest group, yet the top-ranked actor is a real handle
    assert n_none > actors.loc[actors["rank"] == 1, "posts"].iloc[0]
    assert types.loc[types["actor_type"] == "unknown", "posts"].iloc[0] == sum(
        (r["actor"] or "").lstrip("@").lower() == "private_person" for r in rows)
    notes = json.loads((out / "report.json").read_text())["notes"]
    assert any(f"{n_none} of {len(rows)} posts have no actor handle" in n for n in notes)
    html = (out / "report.html").read_text(encoding="utf-8")
    assert '<tr><td class="t"></td><td class="t">(no actor)</td>' in html  # unranked row: empty rank cell


def test_estimates_and_examples_tables(full_report):
    rows, _, out = full_report
    est = pd.read_parquet(out / "estimates.parquet")
    assert set(est["level"]) == {"all", "actor_type", "actor", "country", "language", "month"}
    for level in ("all", "actor_type", "actor", "language", "month"):
        part = est[(est["level"] == level) & (est["strategy"] == NAMES[0])]
        assert part["posts"].sum() == len(rows), level
    allrow = est[(est["level"] == "all")].iloc[0]
    assert allrow["adjusted_low"] <= allrow["adjusted"] <= allrow["adjusted_high"]
    assert allrow["threshold_minus"] == pytest.approx(0.2)
    ex = pd.read_parquet(out / "examples.parquet")
    top = ex[(ex["scope"] == "all") & (ex["kind"] == "top") & (ex["strategy"] == NAMES[0])]
    best = sorted((r["scores"][NAMES[0]] for r in rows), reverse=True)[:2]
    assert list(top["score"]) == best and (top["explanation"].str.contains("w:hello")).all()
    assert (ex["url"].eq("") | ex["url"].str.startswith("https://www.tiktok.com/@")).all()


def test_pseudonymise_leaves_no_private_handle_in_any_output(tmp_path):
    rows = _rows(120)
    out = tmp_path / "r"
    report(_labelled(tmp_path, rows), out, registry=REG, formats=("csv", "parquet", "json", "xlsx"), examples=5,
           pseudonymise=True, n_boot=20)
    import zipfile

    for path in out.rglob("*"):
        if path.suffix in (".png",) or path.is_dir():
            continue
        if path.suffix == ".xlsx":
            data = b"".join(zipfile.ZipFile(path).read(n) for n in zipfile.ZipFile(path).namelist())
        else:
            data = path.read_bytes()
        assert b"private_person" not in data.lower(), path.name
    actors = pd.read_parquet(out / "actors.parquet")
    assert {"gov_a", "media_b"} <= set(actors["actor"])  # public (registry) handles stay
    assert any(a.startswith("user_") for a in actors["actor"])
    ex = pd.read_parquet(out / "examples.parquet")
    assert ex["text"].str.contains("@bbcnews").any()  # a public account's mention is kept
    assert not (out / "actors_template.toml").exists()


def test_report_without_provenance_says_so_and_has_no_adjusted(tmp_path):
    run = report(_labelled(tmp_path, _rows(60), provenance=False), tmp_path / "r", registry=REG, n_boot=10)
    est = pd.read_parquet(tmp_path / "r" / "estimates.parquet")
    assert est["adjusted"].isna().all() and est["counted_share"].notna().any()
    assert any("no provenance" in n for n in run.notes)
    html = (tmp_path / "r" / "report.html").read_text(encoding="utf-8")
    assert "Headline: the counted share" in html


def test_post_links_only_for_real_public_handles():
    from pipeline.report.examples import post_url

    assert post_url(BIG_ID, "bbcnews", True) == f"https://www.tiktok.com/@bbcnews/video/{BIG_ID}"
    assert post_url(BIG_ID, "bbcnews", False) == ""  # pseudonymised account
    assert post_url(BIG_ID, "user_0123456789", True) == ""  # a pseudonym is not an account
    assert post_url(BIG_ID, "<b>x</b>", True) == "" and post_url("v0f025gc0000", "bbcnews", True) == ""


def test_examples_show_each_post_once_per_scope_and_strategy():
    from pipeline.report.examples import ExampleCollector

    recs = [{"post_id": str(i), "caption": f"post {i}"} for i in range(6)]
    S = np.array([[0.01 * (i + 1)] for i in range(6)])  # nothing reaches the 0.5 threshold
    col = ExampleCollector(["x"], {"x": 0.5}, 2)
    col.add(recs, S, ["a"] * 6, ["media"] * 6)
    t = col.table()
    for scope in ("all", "media"):
        part = t[t["scope"] == scope]
        assert list(part.loc[part["kind"] == "top", "post_id"]) == ["5", "4"]
        assert list(part.loc[part["kind"] == "borderline", "post_id"]) == ["3", "2"]  # next closest, no repeats
