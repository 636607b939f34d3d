"""The model folder format: self-contained, loaded without running code, refused when crafted."""

from __future__ import annotations

import hashlib
import json
import pickle
import shutil
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

import pipeline.config
import pipeline.features.preprocess
import pipeline.ingest.mapping
import pipeline.model.config
import pipeline.schema
from pipeline.cli.main import app
from pipeline.errors import ModelFileError
from pipeline.model.artefact import FORMAT_VERSION, MODEL_FILE, load_model, save_model
from pipeline.model.estimator import StrategyClassifier

ROOT = Path(__file__).resolve().parents[2]
runner = CliRunner()


def _records(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


def _tiny_model(tiny_corpus: Path, **kw) -> StrategyClassifier:
    recs = _records(tiny_corpus)
    params = dict(C=10.0, calibration_folds=2, threshold_folds=0, max_char_features=2000)
    params.update(kw)
    return StrategyClassifier(**params).fit(recs, [r["labels"] for r in recs])


def test_overfit_save_load_same_predictions(tiny_corpus, tmp_path):
    recs = _records(tiny_corpus)
    model = _tiny_model(tiny_corpus)
    before = model.predict_proba(recs)
    # it learned the tiny corpus: every post's gold labels are its labels at 0.5
    assert (before >= 0.5).astype(int).tolist() == [[int(n in r["labels"]) for n in model.classes_] for r in recs]
    save_model(model, tmp_path / "m", {"note": "tiny"})
    assert sorted(p.name for p in (tmp_path / "m").iterdir()) == ["meta.json", MODEL_FILE]
    loaded, meta = load_model(tmp_path / "m")
    np.testing.assert_array_equal(loaded.predict_proba(recs), before)
    assert meta["format_version"] == FORMAT_VERSION and meta["note"] == "tiny"
    assert list(loaded.classes_) == list(model.classes_)


def test_editing_configs_after_training_changes_no_prediction(tiny_corpus, tmp_path, monkeypatch):
    """Train with a copy of configs/, then edit every file in it: the saved model predicts the same."""
    cfg = tmp_path / "configs"
    shutil.copytree(ROOT / "configs", cfg)
    for mod in (pipeline.config, pipeline.schema, pipeline.features.preprocess, pipeline.ingest.mapping,
                pipeline.model.config):
        monkeypatch.setattr(mod, "CONFIG_DIR", cfg, raising=False)
    pipeline.schema.labels.cache_clear()
    recs = _records(tiny_corpus)
    model = _tiny_model(tiny_corpus)
    save_model(model, tmp_path / "m", {})
    before = model.predict_proba(recs)
    # edit everything a prediction could read: cue phrases emptied, labels renamed and reordered,
    # training settings and formats changed
    (cfg / "cues.toml").write_text('[crisis_messaging]\nphrases = ["lunch"]\nsubstrings = ["図書館"]\n', encoding="utf-8")
    (cfg / "labels.toml").write_text('[[label]]\nname = "something_else"\n', encoding="utf-8")
    for path in cfg.rglob("*.toml"):
        if path.name not in ("cues.toml", "labels.toml"):
            path.write_text("# emptied after training\n", encoding="utf-8")
    pipeline.schema.labels.cache_clear()
    try:
        loaded, _ = load_model(tmp_path / "m")
        np.testing.assert_array_equal(loaded.predict_proba(recs), before)
        assert list(loaded.classes_) == list(model.classes_)
    finally:
        pipeline.schema.labels.cache_clear()


# --- crafted model folders ------------------------------------------------------------------

class _Payload:
    """Unpickling this writes a marker file: proof that code from the folder ran."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self):
        return (Path.write_text, (self.marker, "code ran"))


def _sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _folder(base: Path, name: str, meta: dict, files: dict[str, bytes]) -> Path:
    d = base / name
    d.mkdir(parents=True)
    for fname, data in files.items():
        (d / fname).write_bytes(data)
    (d / "meta.json").write_text(json.dumps(meta), encoding="utf-8")
    return d


def crafted_folders(base: Path, marker: Path, real: Path) -> dict[str, tuple[Path, str]]:
    """Crafted folders and the message each must be refused with."""
    payload = pickle.dumps(_Payload(marker))
    out = {}
    # a format-2 folder whose pickle (with a matching sha256) would run code
    out["pickle"] = (_folder(base, "pickle", {"format_version": 2, "model_file": "model.joblib",
                                              "model_sha256": hashlib.sha256(payload).hexdigest()},
                             {"model.joblib": payload}), "format version 2 is not supported")
    # format 3 claimed, but the npz holds an object array (a pickle inside) with a matching sha256
    evil = base / "evil.npz"
    np.savez(evil, state_json=np.array([_Payload(marker)], dtype=object))
    out["npz_pickle"] = (_folder(base, "npz_pickle", {"format_version": FORMAT_VERSION, "model_file": MODEL_FILE,
                                                      "model_sha256": _sha(evil)}, {MODEL_FILE: evil.read_bytes()}),
                         "not a model this project can read")
    # model_file pointing outside the folder at a real, valid model
    outside = real / MODEL_FILE
    out["traversal"] = (_folder(base, "traversal", {"format_version": FORMAT_VERSION,
                                                    "model_file": f"../{real.name}/{MODEL_FILE}",
                                                    "model_sha256": _sha(outside)}, {}),
                        "not a plain file name inside the model directory")
    out["absolute"] = (_folder(base, "absolute", {"format_version": FORMAT_VERSION, "model_file": str(outside),
                                                  "model_sha256": _sha(outside)}, {}),
                       "not a plain file name inside the model directory")
    return out


@pytest.fixture
def crafted(tmp_path, tiny_corpus):
    real = tmp_path / "real"
    save_model(_tiny_model(tiny_corpus), real, {})
    marker = tmp_path / "CODE_RAN"
    return crafted_folders(tmp_path / "crafted", marker, real), marker


def test_load_model_refuses_crafted_folders_without_running_code(crafted):
    folders, marker = crafted
    for name, (folder, message) in folders.items():
        with pytest.raises(ModelFileError, match=message):
            load_model(folder)
        assert not marker.exists(), name


@pytest.mark.parametrize("command", ["label", "evaluate", "corpus suggest", "corpus export"])
def test_every_command_with_model_refuses_crafted_folders(command, crafted, tmp_path, data_dir, tiny_corpus):
    folders, marker = crafted
    for name, (folder, message) in folders.items():
        out = tmp_path / f"{command.replace(' ', '_')}_{name}"
        args = {"label": ["label", data_dir / "tiktok_ccl.csv", "-o", out.with_suffix(".jsonl")],
                "evaluate": ["evaluate", tiny_corpus],
                "corpus suggest": ["corpus", "suggest", data_dir / "tiktok_ccl.csv", "-n", "2", "-o",
                                   out.with_suffix(".json")],
                "corpus export": ["corpus", "export", data_dir / "tiktok_ccl.csv", "-o", out.with_suffix(".json")],
                }[command]
        res = runner.invoke(app, [str(a) for a in args] + ["--model", str(folder)])
        assert res.exit_code == 1, (name, res.output)
        lines = [ln for ln in res.output.splitlines() if ln.strip()]
        assert len(lines) == 1 and message in lines[0] and "Traceback" not in res.output, (name, res.output)
        assert not marker.exists(), (command, name)
        assert not out.with_suffix(".jsonl").exists() and not out.with_suffix(".json").exists()


def test_spacy_component_refuses_crafted_folders(crafted):
    import spacy

    folders, marker = crafted
    for name, (folder, message) in folders.items():
        nlp = spacy.blank("en")
        nlp.add_pipe("diplomacy_strategy", config={"model_dir": str(folder)})
        with pytest.raises(ModelFileError, match=message):
            nlp.initialize()
        assert not marker.exists(), name
