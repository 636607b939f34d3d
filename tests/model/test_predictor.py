"""The lean predictor (NumPy only) gives the estimator's probabilities, labels and rules."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from pipeline.model.artefact import load_model, save_model
from pipeline.model.estimator import StrategyClassifier
from pipeline.model.predictor import Predictor

ROOT = Path(__file__).resolve().parents[2]
DEMO = ROOT / "tests" / "data" / "research_api_videos.jsonl"


def _records(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


@pytest.mark.parametrize("word_tokenizer,extra_params", [("spacy", {}), ("regex", {}),
                                                          ("regex", {"cue_detail": True, "meta_weight": 2.0})])
def test_same_probabilities_as_the_estimator(tiny_corpus, tmp_path, word_tokenizer, extra_params):
    recs = _records(tiny_corpus)
    clf = StrategyClassifier(C=10.0, calibration_folds=2, threshold_folds=0, max_char_features=2000,
                             word_tokenizer=word_tokenizer, **extra_params).fit(recs, [r["labels"] for r in recs])
    if extra_params.get("cue_detail"):  # the per-cue features exist and are learned
        names = [n for _, _, t in clf.blocks_ if hasattr(t, "feature_names_") for n in t.feature_names_]
        assert any(str(n).startswith("cue:") for n in names)
    save_model(clf, tmp_path / "m", {})
    full, _ = load_model(tmp_path / "m")
    lean, _ = load_model(tmp_path / "m", lean=True)
    assert isinstance(lean, Predictor)
    # unseen posts too: flags the rules read, a post with no text, one with a transcript
    extra = [{"post_id": "p1", "caption": "Our new film with a guest star #ad", "paid_partnership": True},
             {"post_id": "p2", "caption": "", "duet_from": "123"},
             {"post_id": "p3", "caption": "地震の情報 避難してください", "transcript": "evacuate now, the war"}]
    posts = recs + extra
    a, b = full.predict_proba(posts), lean.predict_proba(posts)
    assert np.abs(a - b).max() < 1e-9
    assert (lean.predict(posts) == full.predict(posts)).all()
    assert b[len(recs), list(lean.classes_).index("influencer_amplification")] >= 0.95  # the paid-partnership rule
    assert lean.predict_proba([]).shape == (0, 3)


def test_shipped_model_lean_equals_full_on_real_posts(corpus_records):
    posts = corpus_records[::7]
    full, _ = load_model(None)
    lean, _ = load_model(None, lean=True)
    assert np.abs(full.predict_proba(posts) - lean.predict_proba(posts)).max() < 1e-9


@pytest.mark.slow
def test_labelling_imports_neither_scikit_learn_nor_pandas_nor_spacy(tmp_path):
    """The start-up the lean path exists for: a fresh process labels the demo without them."""
    code = (
        "import sys\n"
        "from pipeline.label.run import label_files\n"
        f"label_files([{str(DEMO)!r}], {str(tmp_path / 'out.jsonl')!r}, workers=1, progress=False)\n"
        "print(sorted(m for m in ('sklearn', 'pandas', 'spacy', 'scipy.stats') if m in sys.modules))\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, check=True)
    assert out.stdout.strip() == "[]", out.stdout + out.stderr
    assert (tmp_path / "out.jsonl").stat().st_size > 0
