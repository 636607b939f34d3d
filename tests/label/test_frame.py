"""The Python/notebook API: pipeline.label_frame, pipeline.load_model, thresholds, str paths (issue 19)."""

import json
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import pipeline
from pipeline.errors import PipelineError

ROOT = Path(__file__).resolve().parents[2]


def test_readme_notebook_example_runs(monkeypatch):
    """The README's notebook-style example, run as written from the project folder."""
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    block = re.search(r"<!-- notebook-example[^>]*-->\s*```python\n(.*?)```", readme, re.S).group(1)
    monkeypatch.chdir(ROOT)
    ns: dict = {}
    exec(compile(block, "README.md", "exec"), ns)  # noqa: S102 - our own README
    out, mine = ns["out"], ns["mine"]
    assert len(out) == 5 and out["labels"].map(lambda v: isinstance(v, list)).all()
    assert mine.attrs["thresholds"]["crisis_messaging"] == 0.4 and len(mine) == 2


def test_label_frame_nan_safe_any_index_and_thresholds():
    df = pd.DataFrame({"caption": ["Evacuation order: typhoon approaching, go to shelters now", None, np.nan,
                                   "Join the #dancechallenge with us!"],
                       "views": [10, np.nan, 3, None], "is_ad": [np.nan, True, pd.NA, False]},
                      index=["a", "b", 7, (1, 2)])
    out = pipeline.label_frame(df)
    assert list(out.index) == list(df.index) and "reject_reason" not in out
    assert out.loc["a", "language"] == "en"
    # labels are the scores at the model's thresholds; the evacuation order outranks the dance challenge
    # (whether 0.29 clears the tuned threshold flips between retrainings: the model, not label_frame)
    thr = dict(zip(pipeline.load_model().classes_, pipeline.load_model().thresholds_))
    for row in (out.iloc[0], out.iloc[3]):
        assert row["labels"] == [n for n, t in thr.items() if row[f"score_{n}"] >= t]
    assert out.iloc[0]["score_crisis_messaging"] > 2 * out.iloc[3]["score_crisis_messaging"]
    assert {f"score_{n}" for n in ("trend_participation", "influencer_amplification", "crisis_messaging")} <= set(out)
    assert df.columns.tolist() == ["caption", "views", "is_ad"]  # the input is not changed
    strict = pipeline.label_frame(df, str(ROOT / "models" / "default"), thresholds={"crisis_messaging": 0.99})
    assert "crisis_messaging" not in strict.loc["a", "labels"] and strict.attrs["thresholds"]["crisis_messaging"] == 0.99
    assert strict.loc["a", "score_crisis_messaging"] == out.loc["a", "score_crisis_messaging"]
    with pytest.raises(PipelineError, match="unknown label 'crisis'.*crisis_messaging"):
        pipeline.load_model(thresholds={"crisis": 0.5})


def test_label_frame_keeps_unusable_rows_with_a_reason():
    df = pd.DataFrame({"post_id": ["1", None], "caption": ["a post about the summit", "no id"]})
    out = pipeline.label_frame(df)
    assert isinstance(out.loc[0, "labels"], list) and out.loc[1, "labels"] is None
    assert out.loc[1, "reject_reason"] == "missing post_id" and np.isnan(out.loc[1, "score_crisis_messaging"])


def test_label_files_accepts_str_paths_and_records_thresholds(tmp_path, data_dir):
    from pipeline.label.run import label_files

    out = tmp_path / "o.jsonl"
    run = label_files(str(data_dir / "zeeschuimer.ndjson"), str(out), workers=1, thresholds={"trend_participation": 0.01})
    rows = [json.loads(line) for line in open(out, encoding="utf-8")]
    assert run.thresholds["trend_participation"] == 0.01 and run.thresholds["crisis_messaging"] > 0
    # 0.01 is below every score the model gives these posts' trend label
    assert all("trend_participation" in r["labels"] for r in rows if r["scores"]["trend_participation"] >= 0.01)


def test_str_paths_everywhere(tmp_path, tiny_corpus, data_dir):
    """Notebook users pass str: one file or a list, for corpora, models, outputs and reports."""
    from pipeline.corpus.read import read_corpus
    from pipeline.evaluation.run import evaluate
    from pipeline.label.run import label_files
    from pipeline.report.run import report

    assert len(read_corpus(str(tiny_corpus))) == len(read_corpus([tiny_corpus]))
    res = evaluate(str(tiny_corpus), model_dir=str(ROOT / "models" / "default"), n_boot=100, spacy_baseline=False)
    assert res["n_posts"] == len(read_corpus([tiny_corpus]))
    out = str(tmp_path / "l.jsonl")
    label_files(str(data_dir / "zeeschuimer.ndjson"), out, model_dir=str(ROOT / "models" / "default"), workers=1)
    assert report(out, str(tmp_path / "rep")).posts == 5
