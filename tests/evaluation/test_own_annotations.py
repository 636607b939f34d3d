"""Evaluating a model on a user's own annotations (issue 19): labels without support and posts seen in training."""

import json

import numpy as np
from typer.testing import CliRunner

from pipeline.cli.main import app
from pipeline.evaluation import metrics as M, run as ev
from pipeline.schema import labels


def test_zero_support_labels_are_left_out_of_macro_f1_and_marked():
    names = labels()
    # three annotated posts, none with the third label; the model predicts it once (a false positive)
    Y = np.array([[1, 0, 0], [0, 1, 0], [1, 1, 0]])
    pred = np.array([[1, 0, 1], [0, 1, 0], [1, 0, 0]])
    s = M.metric_summary(Y, pred)
    f1 = [s["per_label"][n]["f1"] for n in names]
    assert s["labels_without_support"] == [names[2]] and s["per_label"][names[2]]["in_macro_f1"] is False
    assert abs(s["macro_f1"] - (f1[0] + f1[1]) / 2) < 1e-4  # (1 + 2/3) / 2, not (1 + 2/3 + 0) / 3
    ci = M.bootstrap_ci(Y, pred, n_boot=200)
    assert ci["macro_f1"][1] <= 1.0 and ci["macro_f1"][0] > 0.3  # not dragged down by the label's 0
    full = M.metric_summary(np.array([[1, 1, 1], [0, 0, 0]]), np.array([[1, 1, 1], [0, 0, 0]]))
    assert full["labels_without_support"] == [] and full["macro_f1"] == 1.0


def test_evaluate_warns_when_posts_were_in_the_training_set(small_model, small_corpus, tmp_path):
    meta = json.loads((small_model / "meta.json").read_text(encoding="utf-8"))
    hashes = meta["training_corpus"]["post_id_sha256_16"]
    trained = [json.loads(line) for line in open(small_corpus, encoding="utf-8")]
    assert len(hashes) == len({r["post_id"] for r in trained}) and all(len(h) == 16 for h in hashes)
    assert not any(r["post_id"] in json.dumps(meta) for r in trained[:20])  # ids are not stored, only hashes
    mine = tmp_path / "mine.jsonl"
    with open(mine, "w", encoding="utf-8") as fh:
        for r in trained[:3]:
            fh.write(json.dumps(r, ensure_ascii=False) + "\n")
        for i in range(3):
            fh.write(json.dumps({"post_id": f"new{i}", "caption": "Evacuation order: typhoon, go to shelters now",
                                 "labels": ["crisis_messaging"]}) + "\n")
    res = ev.evaluate([mine], model_dir=small_model, n_boot=100, spacy_baseline=False)
    assert res["posts_in_training_set"] == 3 and "3 of 6 evaluated posts were in the model's training set" in res["warning"]
    out = CliRunner().invoke(app, ["evaluate", str(mine), "--model", str(small_model), "--bootstrap", "100"])
    assert out.exit_code == 0 and "warning: 3 of 6 evaluated posts" in out.output
