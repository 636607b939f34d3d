"""`label --explain` (per-post feature contributions) and `label --workers N` (chunk-level processes)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import orjson
import pytest
from typer.testing import CliRunner

from pipeline.cli.main import app
from pipeline.ingest import Reject, iter_posts
from pipeline.io.writers import read_records
from pipeline.label.chunk import label_chunk
from pipeline.model.artefact import load_model
from pipeline.model.explain import FIELDS, contributions, explain, feature_matrix, linear_view

runner = CliRunner()
# ~20 distinct posts across six export formats, plus duplicates and a malformed line (rejects).
MIXED = ("zeeschuimer.ndjson", "research_api_stored.json", "tiktok_ccl.csv", "4cat_tiktok.csv",
         "aiforensics_videos.csv", "nepal_election.csv")


def run(*args):
    return runner.invoke(app, [str(a) for a in args])


def rows_labels(cell):
    return json.loads(cell) if isinstance(cell, str) else cell  # CSV: JSON text; Parquet: a list column


@pytest.fixture(scope="module")
def model(small_model):
    return load_model(small_model)[0]


@pytest.fixture(scope="module")
def ccl_posts(data_dir) -> list[dict]:
    return [p for p in iter_posts([data_dir / "tiktok_ccl.csv"]) if not isinstance(p, Reject)]


@pytest.fixture(scope="module")
def mixed_inputs(data_dir, tmp_path_factory) -> list[Path]:
    bad = tmp_path_factory.mktemp("mixed") / "bad.jsonl"
    bad.write_text('{"post_id": "x1", "caption": "Evacuation order: typhoon approaching, go to shelters now"}\n'
                   '{not json}\n', encoding="utf-8")
    return [data_dir / name for name in MIXED] + [bad]


def test_explanations_for_every_post_and_label(model, data_dir):
    posts = [p for p in iter_posts([data_dir / "tiktok_ccl.csv", data_dir / "zeeschuimer.ndjson"])
             if not isinstance(p, Reject)]
    out = label_chunk(posts, model, explain=True, top_k=3)
    assert len(out) == 11
    for rec in out:
        ex = rec["explanations"]
        assert list(ex) == [str(c) for c in model.classes_]
        orjson.dumps(ex)  # plain JSON types only
        for feats in ex.values():
            assert 1 <= len(feats) <= 3
            assert {f["field"] for f in feats} <= set(FIELDS.values())
            w = [f["weight"] for f in feats]
            pos, neg = [x for x in w if x > 0], [x for x in w if x <= 0]
            # what pushed toward the label first, each part strongest first
            assert w == pos + neg and pos == sorted(pos, reverse=True) and neg == sorted(neg)


def test_paid_partnership_flag_pushes_influencer_amplification(model, ccl_posts):
    flagged = [p["post_id"] for p in ccl_posts if p.get("paid_partnership")]
    assert len(flagged) == 5  # TikTok's "Paid Partnership" label; the sixth row is "Promotional Content" (is_ad)
    for rec, ex in zip(ccl_posts, explain(model, ccl_posts)):
        top = {f["feature"]: f for f in ex["influencer_amplification"]}
        if rec["post_id"] in flagged:
            assert top["flag=paid_partnership"]["weight"] > 0
            assert top["flag=paid_partnership"]["field"] == "metadata/cue"
        else:
            assert "flag=paid_partnership" not in top


def test_contributions_add_up_to_the_decision_score(model, ccl_posts):
    X = feature_matrix(model, ccl_posts)
    view = linear_view(model)
    per_label = contributions(model, X)
    for j in range(len(view.labels)):
        decision = np.mean(np.asarray(X @ model.coef_[j].T) + model.intercept_[j], axis=1)
        np.testing.assert_allclose(np.asarray(per_label[j].sum(axis=1)).ravel(), decision - view.intercept[j],
                                   atol=1e-9)
    # hand check on the first post (paid partnership): with every feature listed, the rounded weights
    # still add up to its influencer_amplification score minus the intercept, which is positive
    j = view.labels.index("influencer_amplification")
    d0 = float(np.mean(np.asarray(X[:1] @ model.coef_[j].T) + model.intercept_[j]))
    full = explain(model, ccl_posts[:1], top_k=10**6)[0]["influencer_amplification"]
    assert len(full) == np.count_nonzero(per_label[j][0].toarray())
    total = sum(f["weight"] for f in full)
    assert total == pytest.approx(d0 - view.intercept[j], abs=1e-4 * len(full))
    assert total > 0


@pytest.mark.parametrize("k", [1, 5])
def test_top_k_by_passes_equals_top_k_by_sorting(model, data_dir, monkeypatch, k):
    import pipeline.model.explain as ex

    posts = [p for p in iter_posts([data_dir / name for name in MIXED]) if not isinstance(p, Reject)]
    X = feature_matrix(model, posts)
    by_passes = ex.explain_matrix(model, X, k)
    monkeypatch.setattr(ex, "_MAX_K_BY_PASSES", 0)
    assert ex.explain_matrix(model, X, k) == by_passes


def test_explain_leaves_scores_unchanged(model, ccl_posts):
    plain = label_chunk([dict(p) for p in ccl_posts], model)
    explained = label_chunk([dict(p) for p in ccl_posts], model, explain=True)
    assert [r["scores"] for r in plain] == [r["scores"] for r in explained]
    assert [r["labels"] for r in plain] == [r["labels"] for r in explained]
    assert "explanations" not in plain[0]



def test_labels_are_scores_at_or_above_the_stored_thresholds(model, data_dir):
    posts = [p for p in iter_posts([data_dir / name for name in MIXED]) if not isinstance(p, Reject)]
    proba = model.predict_proba([dict(p) for p in posts])
    out = label_chunk([dict(p) for p in posts], model)
    names = [str(c) for c in model.classes_]
    assert len(out) == len(posts) == len(proba)
    for rec, row in zip(out, proba):
        assert rec["labels"] == [n for n, p, t in zip(names, row, model.thresholds_) if p >= t]
        assert list(rec["scores"]) == names
        assert all(type(v) is float for v in rec["scores"].values())  # plain floats: JSON/CSV/Parquet writers
        assert list(rec["scores"].values()) == [round(float(p), 4) for p in row]
    assert {tuple(r["labels"]) for r in out} != {()}  # the mixed sample gets some labels

@pytest.mark.parametrize("name", ["out.csv", "out.parquet"])
def test_explain_csv_and_parquet_are_readable(tmp_path, data_dir, small_model, name):
    import pandas as pd

    out = tmp_path / name
    res = run("label", data_dir / "tiktok_ccl.csv", "-o", out, "--model", small_model, "--explain", "--explain-top", "2")
    assert res.exit_code == 0, res.output
    df = pd.read_csv(out) if name.endswith(".csv") else pd.read_parquet(out)
    assert len(df) == 6 and "explanations" in df.columns
    cell = json.loads(df["explanations"][0])
    assert set(cell) == {"trend_participation", "influencer_amplification", "crisis_messaging"}
    assert all(len(v) <= 2 for v in cell.values())
    back = [r for chunk in read_records(out) for r in chunk]
    assert back[0]["explanations"] == cell and list(back[0]["labels"]) == list(rows_labels(df["labels"][0]))


def test_plain_csv_has_no_explanations_column(tmp_path, data_dir, small_model):
    out = tmp_path / "out.csv"
    assert run("label", data_dir / "tiktok_ccl.csv", "-o", out, "--model", small_model).exit_code == 0
    assert "explanations" not in out.read_text(encoding="utf-8").splitlines()[0].split(",")


def test_workers_2_same_bytes_rejects_and_summary_as_1(tmp_path, mixed_inputs, small_model):
    outputs = {}
    for workers in (1, 2):
        out, rej = tmp_path / f"out{workers}.jsonl", tmp_path / f"rej{workers}.jsonl"
        res = run("label", *mixed_inputs, "-o", out, "--rejects", rej, "--model", small_model,
                  "--chunk-size", "3", "--explain", "--workers", workers)
        assert res.exit_code == 0, res.output
        outputs[workers] = (out.read_bytes(), rej.read_bytes(), res.output.splitlines()[0])
    one, two = outputs[1], outputs[2]
    assert one[0] == two[0] and one[1] == two[1] and one[2].replace("rej1", "rej") == two[2].replace("rej2", "rej")
    rows = [json.loads(line) for line in one[0].splitlines()]
    assert len(rows) >= 20 and all("explanations" in r for r in rows)  # several chunks of 3 went through
    assert "rejected (" in one[2] and "malformed JSON" in one[2] and "see rej1.jsonl" in one[2]


@pytest.mark.slow
def test_workers_report_a_model_that_fails_verification(tmp_path, data_dir, small_model):
    bad = tmp_path / "m"
    shutil.copytree(small_model, bad)
    meta = json.loads((bad / "meta.json").read_text())
    meta["model_sha256"] = "0" * 64
    (bad / "meta.json").write_text(json.dumps(meta))
    res = run("label", data_dir / "tiktok_ccl.csv", "-o", tmp_path / "o.jsonl", "--model", bad, "--workers", "2")
    assert res.exit_code == 1
    assert "does not match meta.json" in res.output and len(res.output.strip().splitlines()) == 1


def _worker_state() -> tuple[bool, bool, bool]:
    import sys

    from pipeline.clean import language
    from pipeline.features import preprocess as features

    return ("pipeline.label.preload" in sys.modules, "sklearn" in sys.modules,
            language._identifiers.get(language.RULE.languages) is not None
            and features.sudachi_tokenizer.cache_info().currsize == 1)


@pytest.mark.slow
def test_label_workers_fork_from_a_preloaded_server():
    from concurrent.futures import ProcessPoolExecutor

    from pipeline.label.workers import mp_context as _mp_context

    ctx = _mp_context()
    if ctx.get_start_method() != "forkserver":
        pytest.skip("no forkserver on this platform: spawned workers start up on their own")
    with ProcessPoolExecutor(1, mp_context=ctx) as pool:
        # imports, the language-ID model and Sudachi are there before the worker's first task
        assert pool.submit(_worker_state).result() == (True, True, True)


def test_a_failing_preload_only_logs(monkeypatch, caplog):
    import importlib

    import pipeline.clean.language
    import pipeline.label.preload as preload

    def broken(*languages):
        raise OSError("model file unreadable")

    monkeypatch.setattr(pipeline.clean.language, "_model", broken)
    with caplog.at_level("WARNING", logger="pipeline.label.preload"):
        importlib.reload(preload)  # the forkserver imports it: an exception there would break the pool
    assert "label worker preload failed (model file unreadable)" in caplog.text


@pytest.mark.parametrize(("cpus", "expected"), [(1, 1), (2, 2), (3, 3), (16, 4)])
def test_default_workers_one_per_usable_cpu_at_most_4(monkeypatch, cpus, expected):
    import os

    from pipeline.label.workers import default_workers

    monkeypatch.setattr(os, "sched_getaffinity", lambda pid: set(range(cpus)), raising=False)
    assert default_workers() == expected


def test_label_without_workers_lets_label_files_choose(tmp_path, data_dir, small_model, monkeypatch):
    import pipeline.label.run
    import pipeline.label.workers

    seen = {}
    real = pipeline.label.run.label_files

    def spy(*args, **kwargs):
        seen["workers"] = kwargs["workers"]
        return real(*args, **kwargs)

    monkeypatch.setattr(pipeline.label.run, "label_files", spy)
    res = run("label", data_dir / "tiktok_ccl.csv", "-o", tmp_path / "o.jsonl", "--model", small_model)
    assert res.exit_code == 0, res.output
    assert seen == {"workers": None}
    assert res.output.startswith("6 labelled — of 6 records read") and sum(map(len, read_records(tmp_path / "o.jsonl"))) == 6


@pytest.mark.parametrize(("chunk_size", "pool_workers"), [(10_000, None), (3, 2)])
def test_chosen_workers_one_chunk_in_process_more_chunks_in_the_pool(tmp_path, mixed_inputs, small_model,
                                                                     monkeypatch, chunk_size, pool_workers):
    import pipeline.label.run
    import pipeline.label.workers
    from pipeline.label.run import label_files

    one = tmp_path / "one.jsonl"
    label_files(mixed_inputs, one, model_dir=small_model, chunk_size=chunk_size, progress=False, workers=1)
    pools = []
    real = pipeline.label.workers.label_parallel

    def spy(chunks, model_dir, workers, explain, top_k, *thresholds):
        pools.append(workers)
        return real(chunks, model_dir, workers, explain, top_k, *thresholds)

    monkeypatch.setattr(pipeline.label.workers, "default_workers", lambda: 2)
    monkeypatch.setattr(pipeline.label.workers, "label_parallel", spy)
    chosen = tmp_path / "chosen.jsonl"
    run_ = label_files(mixed_inputs, chosen, model_dir=small_model, chunk_size=chunk_size, progress=False,
                       workers=None)
    assert pools == ([] if pool_workers is None else [pool_workers])
    assert chosen.read_bytes() == one.read_bytes() and run_.labelled >= 20
    assert chosen.with_name("chosen.rejects.jsonl").read_bytes() == one.with_name("one.rejects.jsonl").read_bytes()


def test_server_starts_early_only_for_big_or_compressed_inputs(tmp_path):
    from pipeline.label.workers import SERVER_EARLY_BYTES, likely_several_chunks as _likely_several_chunks

    small, big, gz = tmp_path / "a.jsonl", tmp_path / "b.csv", tmp_path / "c.jsonl.gz"
    small.write_bytes(b"x" * 1000)
    big.write_bytes(b"x" * SERVER_EARLY_BYTES)
    gz.write_bytes(b"x")
    assert not _likely_several_chunks([small, tmp_path / "missing.csv"])
    assert _likely_several_chunks([small, big]) and _likely_several_chunks([gz])


@pytest.mark.parametrize("option", [["--workers", "0"], ["--explain-top", "0"]])
def test_worker_and_top_k_must_be_positive(tmp_path, data_dir, option):
    res = run("label", data_dir / "tiktok_ccl.csv", "-o", tmp_path / "o.jsonl", "--explain", *option)
    assert res.exit_code == 2


def test_a_post_that_cannot_be_labelled_is_rejected_and_the_others_labelled(tmp_path, monkeypatch):
    import numpy as np

    from pipeline.ingest import IngestStats
    from pipeline.label import workers as pool
    from pipeline.label.run import label_files

    class Model:
        classes_ = np.array(["trend_participation", "influencer_amplification", "crisis_messaging"])
        thresholds_ = np.array([0.5, 0.5, 0.5])

        def predict_proba(self, chunk):
            if any(r.get("caption") == "boom" for r in chunk):
                raise ValueError("feature extraction failed")
            return np.full((len(chunk), 3), 0.25)

    import pipeline.model.artefact as artefact

    monkeypatch.setattr(artefact, "load_model", lambda model_dir=None, lean=False: (Model(), {}))
    src = tmp_path / "in.jsonl"
    src.write_text('{"post_id": "1", "caption": "fine"}\n{"post_id": "2", "caption": "boom"}\n'
                   '{"post_id": "3", "caption": "also fine"}\n', encoding="utf-8")
    run = label_files([src], tmp_path / "o.jsonl", workers=1)
    assert isinstance(run.stats, IngestStats) and run.labelled == 2
    assert run.stats.read == run.labelled + run.stats.rejected
    rejects = [json.loads(x) for x in open(tmp_path / "o.rejects.jsonl", encoding="utf-8")]
    assert [(r["post_id"], r["source_line"]) for r in rejects] == [("2", 2)] and "cannot label" in rejects[0]["reason"]
    assert [r["post_id"] for c in read_records(tmp_path / "o.jsonl") for r in c] == ["1", "3"]
    assert pool.LABEL_ERROR not in open(tmp_path / "o.jsonl", encoding="utf-8").read()
