"""The Dask engine's task functions, run in this process: duplicate verdicts, a bad record
becoming a reject instead of failing its partition, errors that survive the trip to the client."""

from __future__ import annotations

import pickle

import numpy as np
import pandas as pd
import pytest

from pipeline.errors import InputFileError, PipelineError
from pipeline.label import dask_tasks as T


def test_duplicates_keep_the_first_in_input_order_and_name_it():
    keys = pd.DataFrame({"post_id": ["7", "8", "7", "7", "9"], "part": [2, 0, 0, 1, 0], "pos": [0, 5, 9, 3, 1],
                         "source_file": ["c.jsonl", "a.jsonl", "a.jsonl", "b.csv", "a.jsonl"],
                         "source_line": [1, 6, 10, 4, 2]})
    out = T.duplicates(keys.sample(frac=1, random_state=3))  # the shuffle delivers rows in any order
    assert out[["part", "pos"]].values.tolist() == [[1, 3], [2, 0]]
    assert set(out["reason"]) == {"duplicate post_id 7 (first seen at a.jsonl line 10)"}  # the local engine's wording
    assert T.duplicates(keys.iloc[:0]).empty


class _Model:
    """Predicts 0.9 for every label, and fails on any chunk holding a post whose caption is 'boom'."""

    classes_ = np.array(["a", "b"])
    thresholds_ = [0.5, 0.95]

    def predict_proba(self, chunk):
        if any(p.get("caption") == "boom" for p in chunk):
            raise ValueError("cannot featurise this post")
        return np.full((len(chunk), 2), 0.9)


def _post(pid, caption):
    return {"post_id": pid, "caption": caption, "transcript": None, "on_screen_text": None, "hashtags": [],
            "mentions": [], "source_file": "x.jsonl", "source_line": int(pid)}


def test_a_post_that_breaks_labelling_is_rejected_and_the_others_are_labelled():
    posts = [_post("1", "fine"), _post("2", "boom"), _post("3", "also fine")]
    done, bad = T._label_posts(posts, _Model(), T.Options())
    assert [p["post_id"] for p in done] == ["1", "3"] and done[0]["labels"] == ["a"]
    assert [(r.post_id, r.source_line) for r in bad] == [("2", 2)]
    assert bad[0].reason.startswith("could not be labelled: ValueError: cannot featurise")


def test_user_errors_reach_the_client_as_picklable_pipeline_errors():
    @T._user_errors
    def task():
        raise InputFileError("a.csv", "file is empty", "Export it again.")

    with pytest.raises(PipelineError) as info:
        task()
    again = pickle.loads(pickle.dumps(info.value))
    assert str(again) == "a.csv: file is empty. Export it again."


def test_a_shipped_model_travels_to_workers_by_name_and_others_by_absolute_path(tmp_path, monkeypatch):
    """Each worker loads its own install's copy of a shipped model (as it does the default), so a
    cluster needs no shared folder for ``--model fast``; any other folder must be seen at one path."""
    import shutil

    from pipeline.config import shipped_model_dir
    from pipeline.label.dask_engine import _options
    from pipeline.model.artefact import read_meta

    assert _options(None).model_dir is None and _options(shipped_model_dir("default")).model_dir is None
    fast = _options(shipped_model_dir("fast"))
    assert fast.model_dir == "fast" and fast.model_sha256 == read_meta(shipped_model_dir("fast"))["model_sha256"]
    model = T.worker_model(fast.model_dir, fast.model_sha256)
    assert model.prep_.japanese_tokenizer == "multilingual"
    shutil.copytree(shipped_model_dir("fast"), tmp_path / "copy")
    monkeypatch.chdir(tmp_path)
    assert _options("copy").model_dir == str(tmp_path / "copy")  # a copy is a folder like any other
