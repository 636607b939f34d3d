"""The ``diplomacy_strategy`` spaCy component: entry point, cats, batching, save/load, scoring."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys

import numpy as np
import pytest
import spacy
from sklearn.metrics import f1_score
from spacy.scorer import Scorer
from spacy.training import Example

from pipeline.errors import ModelFileError
from pipeline.model.artefact import load_model
from pipeline.model.estimator import to_indicator
from pipeline.model.spacy_component import DiplomacyStrategy, doc_from_post, post_record
from pipeline.schema import labels

LABELS = labels()


@pytest.fixture(scope="module")
def posts(corpus_records) -> list[dict]:
    """Real annotated posts: a spread of the corpus plus posts carrying each optional field."""
    picked = corpus_records[::151]
    for field in ("transcript", "on_screen_text", "paid_partnership", "mentions"):
        picked += [r for r in corpus_records if r.get(field)][:2]
    for label in LABELS:
        picked += [r for r in corpus_records if label in r["labels"]][:3]
    seen: set[str] = set()
    return [r for r in picked if not (r["post_id"] in seen or seen.add(r["post_id"]))]


@pytest.fixture(scope="module")
def nlp(small_model):
    nlp = spacy.blank("xx")
    nlp.add_pipe("diplomacy_strategy", config={"model_dir": str(small_model)})
    return nlp


@pytest.fixture(scope="module")
def classifier(small_model):
    return load_model(small_model)[0]


def cats_matrix(docs) -> np.ndarray:
    return np.array([[doc.cats[label] for label in LABELS] for doc in docs])


@pytest.mark.slow
def test_entry_point_registers_factory_without_importing_pipeline(small_model, nlp, posts, tmp_path):
    script = (
        "import json, sys, spacy\n"
        "assert 'pipeline' not in sys.modules\n"
        "nlp = spacy.blank('xx')\n"
        "nlp.add_pipe('diplomacy_strategy', config={'model_dir': sys.argv[1]})\n"
        "print(json.dumps(nlp(sys.argv[2]).cats))\n"
    )
    caption = next(p["caption"] for p in posts if p.get("caption"))
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    # cwd elsewhere: the package must be found through its installed entry point, not the checkout
    res = subprocess.run([sys.executable, "-c", script, str(small_model), caption], cwd=tmp_path, env=env,
                         capture_output=True, text=True, timeout=120)
    assert res.returncode == 0, res.stderr
    assert json.loads(res.stdout.strip().splitlines()[-1]) == nlp(caption).cats


def test_cats_are_probabilities_for_every_label(nlp, posts):
    component = nlp.get_pipe("diplomacy_strategy")
    for doc in nlp.pipe(doc_from_post(nlp, p) for p in posts):
        assert tuple(doc.cats) == LABELS
        assert all(0.0 <= v <= 1.0 for v in doc.cats.values())
        assert doc._.strategies == [c for c in LABELS if doc.cats[c] >= component.thresholds[c]]
    assert nlp.analyze_pipes()["summary"]["diplomacy_strategy"]["assigns"] == ["doc.cats", "doc._.strategies"]


def test_cats_equal_classifier_predict_proba(nlp, classifier, posts):
    docs = [nlp(doc_from_post(nlp, p)) for p in posts]
    assert np.array_equal(cats_matrix(docs), classifier.predict_proba(posts))


def test_extensions_set_by_hand_reach_the_classifier(nlp, classifier, corpus_records):
    post = next(r for r in corpus_records if r.get("caption") and r.get("transcript"))
    doc = nlp.make_doc(post["caption"])
    doc._.transcript = post["transcript"]
    doc._.paid_partnership = True
    doc = nlp(doc)
    rec = {"caption": post["caption"], "transcript": post["transcript"], "paid_partnership": True}
    assert post_record(doc) == rec
    assert np.array_equal(cats_matrix([doc]), classifier.predict_proba([rec]))
    assert cats_matrix([doc]).tolist() != cats_matrix([nlp(post["caption"])]).tolist()


def test_extension_of_wrong_type_is_reported(nlp):
    doc = nlp.make_doc("Stand with us #peace")
    doc._.hashtags = "peace war"
    with pytest.raises(ValueError, match=r"doc._.hashtags must be list or None\. Got str"):
        nlp(doc)


@pytest.mark.parametrize("threshold", [-0.1, 1.5])
def test_threshold_out_of_range_is_refused(small_model, threshold):
    with pytest.raises(ValueError, match=r"threshold must be a probability in \[0, 1\]"):
        spacy.blank("en").add_pipe("diplomacy_strategy", config={"model_dir": str(small_model), "threshold": threshold})


def test_pipe_batches_equal_single_docs_one_call_per_batch(nlp, posts, monkeypatch):
    single = cats_matrix([nlp(doc_from_post(nlp, p)) for p in posts])
    model = nlp.get_pipe("diplomacy_strategy").classifier
    calls: list[int] = []
    real = model.predict_proba
    monkeypatch.setattr(model, "predict_proba", lambda X: calls.append(len(X)) or real(X))
    batched = cats_matrix(list(nlp.pipe((doc_from_post(nlp, p) for p in posts), batch_size=8)))
    assert np.array_equal(batched, single)
    assert calls == [8] * (len(posts) // 8) + ([len(posts) % 8] if len(posts) % 8 else [])


def test_to_disk_spacy_load_round_trip_same_cats(nlp, posts, small_model, tmp_path):
    nlp.to_disk(tmp_path / "nlp")
    saved = tmp_path / "nlp" / "diplomacy_strategy"
    assert sorted(p.name for p in saved.iterdir()) == ["MODEL_CARD.md", "meta.json", "model.npz"]
    assert (saved / "model.npz").read_bytes() == (small_model / "model.npz").read_bytes()
    loaded = spacy.load(tmp_path / "nlp")
    assert isinstance(loaded.get_pipe("diplomacy_strategy"), DiplomacyStrategy)
    expected = [nlp(doc_from_post(nlp, p)).cats for p in posts]
    assert [d.cats for d in loaded.pipe(doc_from_post(loaded, p) for p in posts)] == expected
    again = spacy.blank("xx")
    again.add_pipe("diplomacy_strategy")
    again.from_bytes(loaded.to_bytes())
    assert [again(doc_from_post(again, p)).cats for p in posts] == expected


def test_tampered_model_in_saved_pipeline_is_refused(nlp, tmp_path):
    nlp.to_disk(tmp_path / "nlp")
    model_file = tmp_path / "nlp" / "diplomacy_strategy" / "model.npz"
    data = bytearray(model_file.read_bytes())
    data[len(data) // 2] ^= 0xFF
    model_file.write_bytes(bytes(data))
    with pytest.raises(ModelFileError, match="does not match meta.json"):
        spacy.load(tmp_path / "nlp")


def test_source_model_changed_after_loading_is_not_saved(small_model, tmp_path):
    source = tmp_path / "m"
    shutil.copytree(small_model, source)
    nlp = spacy.blank("xx")
    nlp.add_pipe("diplomacy_strategy", config={"model_dir": str(source)})
    nlp.initialize()
    with open(source / "model.npz", "ab") as fh:
        fh.write(b"tampered")
    with pytest.raises(ModelFileError, match="changed after loading"):
        nlp.to_disk(tmp_path / "nlp")
    assert not (tmp_path / "nlp" / "diplomacy_strategy" / "model.npz").exists()


def test_missing_model_dir_fails_on_initialize(tmp_path):
    from spacy import ty

    nlp = spacy.blank("xx")
    pipe = nlp.add_pipe("diplomacy_strategy", config={"model_dir": str(tmp_path / "nothing")})
    # spaCy probes components against this protocol while linking; probing must never load the model
    assert not isinstance(pipe, ty.ListenedToComponent)
    with pytest.raises(ModelFileError, match="model directory not found"):
        nlp.initialize()


def test_scorer_score_cats_on_annotated_posts(nlp, classifier, posts):
    gold = [{label: float(label in p["labels"]) for label in LABELS} for p in posts]
    docs = list(nlp.pipe(doc_from_post(nlp, p) for p in posts))
    examples = [Example.from_dict(doc, {"cats": g}) for doc, g in zip(docs, gold)]
    scores = Scorer.score_cats(examples, "cats", labels=LABELS, multi_label=True)
    Y = to_indicator([p["labels"] for p in posts], LABELS)
    at_half = (classifier.predict_proba(posts) >= 0.5).astype(int)
    assert scores["cats_macro_f"] == pytest.approx(f1_score(Y, at_half, average="macro", zero_division=0))
    assert 0.0 <= scores["cats_macro_auc"] <= 1.0 and set(scores["cats_f_per_type"]) == set(LABELS)
    # nlp.evaluate runs the component and its score(): strategies_* use the tuned thresholds
    evaluated = nlp.evaluate([Example.from_dict(doc_from_post(nlp, p), {"cats": g}) for p, g in zip(posts, gold)])
    assert evaluated["cats_macro_f"] == pytest.approx(scores["cats_macro_f"])
    assert evaluated["strategies_macro_f"] == pytest.approx(
        f1_score(Y, classifier.predict(posts), average="macro", zero_division=0))
