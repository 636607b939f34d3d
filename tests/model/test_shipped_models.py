"""The shipped models: trained on today's corpus and configs, and usable by name from the CLI."""

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from pipeline.cli.main import app
from pipeline.config import CONFIG_DIR, SHIPPED_MODELS, shipped_model_dir
from pipeline.corpus.read import corpus_sha256
from pipeline.features.cues import config_cues
from pipeline.features.registry import config_registries
from pipeline.label.provenance import sidecar_path
from pipeline.model.artefact import load_model, read_meta
from pipeline.model.config import load_config

ROOT = Path(__file__).resolve().parents[2]
CORPUS = ROOT / "corpora" / "diplomacy_strategies.jsonl"

#: Each shipped model and the config it is trained with (`make model`).
CONFIGS = {"default": CONFIG_DIR / "train.toml", "fast": CONFIG_DIR / "train_fast.toml"}


@pytest.mark.parametrize("name", SHIPPED_MODELS)
def test_shipped_model_is_trained_on_the_corpus_and_config_of_this_checkout(name):
    """A model retrained with other settings, or a corpus, config, cue table or registry edited
    without `make model`, fails here (the cues and registries are copied into a model when it is trained)."""
    meta = read_meta(shipped_model_dir(name))
    cfg = load_config(CONFIGS[name])
    assert meta["training_corpus"]["sha256"] == corpus_sha256([CORPUS]), f"run `make model`: models/{name} is stale"
    assert meta["config"]["classifier"] == cfg["classifier"] and meta["config"]["seed"] == cfg["seed"]
    model, _ = load_model(shipped_model_dir(name))
    assert model.prep_.cues_ == config_cues(), f"configs/cues.toml changed since models/{name} was trained"
    assert model.prep_.registries_ == config_registries(), f"configs/registries/ changed since models/{name} was trained"
    grouped = meta["metrics"]["cross_validation"]["grouped"]
    assert grouped["macro_f1"] > 0.6  # a real model, cross-validated by `make model`


def test_label_with_a_shipped_model_by_name(tmp_path, monkeypatch):
    """`--model fast` picks models/fast from anywhere; its provenance names it; a folder named like
    a shipped model in the working directory is taken as the folder it is."""
    monkeypatch.chdir(tmp_path)
    src = ROOT / "samples" / "demo" / "jp_komei_official_videos.json"
    out = {}
    for name in SHIPPED_MODELS:
        res = CliRunner().invoke(app, ["label", str(src), "-o", str(tmp_path / f"{name}.jsonl"), "--model", name])
        assert res.exit_code == 0, res.output
        prov = json.loads(sidecar_path(tmp_path / f"{name}.jsonl").read_text())
        assert prov["model"]["path"] == str(shipped_model_dir(name))
        out[name] = [json.loads(line) for line in open(tmp_path / f"{name}.jsonl", encoding="utf-8")]
    assert [r["post_id"] for r in out["default"]] == [r["post_id"] for r in out["fast"]] and out["fast"]
    # Japanese posts: the two models score them differently (different Japanese words)
    assert any(a["scores"] != b["scores"] for a, b in zip(out["default"], out["fast"]))
    assert load_model(shipped_model_dir("fast"))[1]["config"]["classifier"]["japanese_tokenizer"] == "multilingual"
    (tmp_path / "fast").mkdir()  # an empty folder called "fast" here: not a model, and said so
    res = CliRunner().invoke(app, ["label", str(src), "-o", str(tmp_path / "x.jsonl"), "--model", "fast"])
    assert res.exit_code == 1 and "fast" in res.output and "Traceback" not in res.output
