"""Shared fixtures: real export excerpts under tests/data, a small trained model."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT / "tests" / "data"
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
