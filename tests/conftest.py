"""Shared fixtures: real export excerpts under tests/data, a tiny hand-written corpus, a small trained model.

Tests that train on the real corpus, cross-validate, start worker pools or subprocesses are
marked ``slow`` (by the fixtures they use, or explicitly): ``make test-fast`` leaves them out,
``make test`` (CI) runs everything.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT / "tests" / "data"
TINY = DATA / "tiny_corpus.jsonl"
#: Fixtures whose set-up trains on the real corpus or cross-validates: their users are slow tests.
SLOW_FIXTURES = {"small_model", "cv_run", "model", "trained_small"}


def pytest_collection_modifyitems(config, items):
    for item in items:
        if SLOW_FIXTURES & set(getattr(item, "fixturenames", ())):
            item.add_marker(pytest.mark.slow)


@pytest.fixture(scope="session")
def tiny_corpus() -> Path:
    """36 hand-written posts in five languages, 9 per label and 9 with none (unit and contract tests)."""
    return TINY
CORPUS = ROOT / "corpora" / "diplomacy_strategies.jsonl"


@pytest.fixture(scope="session")
def data_dir() -> Path:
    return DATA


@pytest.fixture(scope="session")
def corpus_records() -> list[dict]:
    return [json.loads(line) for line in open(CORPUS, encoding="utf-8")]


@pytest.fixture(scope="session")
def small_corpus(tmp_path_factory, corpus_records) -> Path:
    """~500 real annotated posts (every 4th record), enough positives of each label to train."""
    path = tmp_path_factory.mktemp("corpus") / "small.jsonl"
    with open(path, "w", encoding="utf-8") as fh:
        for rec in corpus_records[::4]:
            fh.write(json.dumps(rec, ensure_ascii=False) + "\n")
    return path


@pytest.fixture(scope="session")
def fast_config(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("cfg") / "fast.toml"
    path.write_text("seed = 3\n[classifier]\nC = 4.0\nuse_chars = true\nmax_char_features = 20000\n"
                    "calibration_folds = 2\nthreshold_folds = 2\n", encoding="utf-8")
    return path


@pytest.fixture(scope="session")
def small_model(tmp_path_factory, small_corpus, fast_config) -> Path:
    from pipeline.train.run import train

    out = tmp_path_factory.mktemp("model") / "m"
    train([small_corpus], out, fast_config)
    return out


#: The demo sample's exports (the Makefile's DEMO_INPUTS), for the Dask engine's comparisons.
DEMO_DIR = ROOT / "samples" / "demo"


@pytest.fixture(scope="session")
def demo_inputs() -> list[Path]:
    return [DEMO_DIR / n for n in ("research_api_responses.json", "zeeschuimer_fosfor.ndjson",
                                   "jp_urasoeofficial_videos.json", "jp_komei_official_videos.json",
                                   "eu24_aiforensics.csv", "romania_ccl.csv")]


@pytest.fixture(scope="module")
def cluster():
    """A 2-worker Dask LocalCluster started by the test module itself (no cluster is assumed)."""
    from distributed import Client, LocalCluster

    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None,
                      silence_logs=40) as lc, Client(lc) as client:
        yield client
