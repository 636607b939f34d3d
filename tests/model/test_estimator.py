"""The estimator contract, and the train → save → load → same predictions round trip."""

import json
import shutil

import numpy as np
import pytest
from sklearn.base import clone
from sklearn.model_selection import GridSearchCV, KFold, cross_validate

from pipeline.errors import ModelFileError
from pipeline.model.artefact import load_model
from pipeline.model.estimator import StrategyClassifier, best_thresholds, to_indicator
from pipeline.schema import labels


@pytest.fixture(scope="module")
def train_set(corpus_records):
    recs = corpus_records[::5]
    return recs, to_indicator([r["labels"] for r in recs], labels())


def fast(**kw):
    params = dict(max_char_features=5000, calibration_folds=2, threshold_folds=2)
    params.update(kw)
    return StrategyClassifier(**params)


def test_estimator_contract(train_set):
    recs, Y = train_set
    est = fast(C=2.0)
    assert est.get_params()["C"] == 2.0
    est.set_params(C=1.0)
    assert clone(est).get_params()["C"] == 1.0
    assert not hasattr(est, "coef_")  # __init__ stores parameters only
    est.fit(recs, Y)
    P = est.predict_proba(recs[:7])
    assert P.shape == (7, 3) and ((P >= 0) & (P <= 1)).all()
    assert est.predict(recs[:7]).shape == (7, 3)
    assert list(est.classes_) == list(labels())
    assert est.predict_proba([]).shape == (0, 3)


def test_fits_label_lists_and_works_in_cross_validate_and_grid_search(train_set):
    recs, Y = train_set
    res = cross_validate(fast(), recs, Y, cv=KFold(2, shuffle=True, random_state=0))
    assert len(res["test_score"]) == 2 and all(0.0 <= s <= 1.0 for s in res["test_score"])
    gs = GridSearchCV(fast(threshold_folds=0), {"C": [0.5, 4.0]}, cv=2).fit(recs, Y)
    assert gs.best_params_["C"] in (0.5, 4.0)


def test_learns_real_signal(train_set, corpus_records):
    recs, Y = train_set
    est = fast().fit(recs, Y)
    held = [r for i, r in enumerate(corpus_records) if i % 5 == 1][:300]
    Yh = to_indicator([r["labels"] for r in held], labels())
    # chance level: macro-F1 of predicting every label for every post
    prevalence = Yh.mean(axis=0)
    chance = float(np.mean(2 * prevalence / (1 + prevalence)))
    assert est.score(held, Yh) > chance + 0.2


def test_not_enough_positives_is_a_clear_error(train_set):
    recs, Y = train_set
    Y2 = Y.copy()
    Y2[:, 0] = 0
    with pytest.raises(ValueError, match=r"label 'trend_participation' has too few positive posts \(got 0\); "
                                         r"valid: at least 2\. Annotate more posts with trend_participation\."):
        fast().fit(recs, Y2)


def test_thresholds_maximise_f1():
    Y = np.array([[1], [1], [0], [0]])
    P = np.array([[0.9], [0.35], [0.3], [0.1]])
    assert best_thresholds(Y, P)[0] == pytest.approx(0.35)


def test_round_trip_same_predictions(small_model, corpus_records):
    model, meta = load_model(small_model)
    sample = corpus_records[1::40]
    again, _ = load_model(small_model)
    assert np.array_equal(model.predict_proba(sample), again.predict_proba(sample))
    assert meta["labels"] == list(labels())
    assert set(meta["thresholds"]) == set(labels())
    assert meta["training_corpus"]["n_posts"] > 400 and len(meta["training_corpus"]["sha256"]) == 64
    assert (small_model / "MODEL_CARD.md").read_text().startswith("# Model card")


def test_tampered_model_file_is_refused_before_unpickling(small_model, tmp_path):
    copy = tmp_path / "m"
    shutil.copytree(small_model, copy)
    with open(copy / "model.npz", "ab") as fh:
        fh.write(b"tampered")
    with pytest.raises(ModelFileError, match="does not match meta.json"):
        load_model(copy)


def test_model_dir_problems(tmp_path, small_model):
    with pytest.raises(ModelFileError, match="model directory not found"):
        load_model(tmp_path / "nothing")
    copy = tmp_path / "m2"
    shutil.copytree(small_model, copy)
    meta = json.loads((copy / "meta.json").read_text())
    meta["format_version"] = 99
    (copy / "meta.json").write_text(json.dumps(meta))
    with pytest.raises(ModelFileError, match="format version 99"):
        load_model(copy)


def test_library_version_drift_warns_once(small_model, tmp_path):
    copy = tmp_path / "m3"
    shutil.copytree(small_model, copy)
    meta = json.loads((copy / "meta.json").read_text())
    meta["library_versions"]["scikit-learn"] = "0.0.1"
    (copy / "meta.json").write_text(json.dumps(meta))
    with pytest.warns(UserWarning, match="scikit-learn 0.0.1"):
        load_model(copy)


def test_japanese_tokenizer_is_a_parameter_the_fitted_model_keeps(train_set, small_model):
    recs, Y = train_set
    est = fast(japanese_tokenizer="multilingual")
    assert clone(est).get_params()["japanese_tokenizer"] == "multilingual"
    est.fit(recs, Y)
    assert est.prep_.japanese_tokenizer == "multilingual"
    ja = [r for r in recs if r.get("language") == "ja"][:20]
    assert not np.allclose(est.predict_proba(ja), fast().fit(recs, Y).predict_proba(ja))
    # the choice travels with the saved model
    model, _ = load_model(small_model)
    assert model.get_params()["japanese_tokenizer"] == model.prep_.japanese_tokenizer == "sudachi"


def test_account_options_change_what_is_learned(train_set):
    """``min_groups`` zeroes every feature seen in one account only; ``group_folds`` tunes thresholds
    on scores of held-out accounts; defaults leave both off."""
    from pipeline.model.folds import fold_groups, groups_per_column

    recs, Y = train_set
    base = fast().fit(recs, Y)
    pruned = fast(min_groups=2).fit(recs, Y)
    M = pruned.features(recs)
    single = groups_per_column(M, fold_groups(recs)) < 2
    assert single.any() and (~single).any()
    assert (pruned.coef_[:, :, single] == 0).all()
    assert (base.coef_[:, :, single] != 0).any()  # they had weight before
    grouped = fast(group_folds=True).fit(recs, Y)
    assert grouped.cv_probabilities_ is not None
    assert not np.allclose(grouped.cv_probabilities_, base.cv_probabilities_)
    weighted = fast(group_weight_power=1.0).fit(recs, Y)
    assert not np.allclose(weighted.coef_, base.coef_)


def test_meta_weight_is_folded_into_the_coefficients(train_set):
    """The stored model (unweighted features × folded coefficients) gives exactly the probabilities
    of the weighted scikit-learn fit, and the weight changes what is learned."""
    from pipeline.model.folds import fold_groups

    recs, Y = train_set
    est = fast(meta_weight=4.0, threshold_folds=0, min_groups=2).fit(recs, Y)
    frame = est.prep_.transform(recs)
    core = est._fit_core(frame, Y, fold_groups(recs), frozenset())
    assert core[0].transformer_weights == {"meta": 4.0}
    test = recs[:60]
    np.testing.assert_allclose(est.proba_from_features(est.features(test)),
                               est._proba_core(*core, est.prep_.transform(test)), rtol=1e-9, atol=1e-12)
    base = fast(threshold_folds=0, min_groups=2).fit(recs, Y)
    assert not np.allclose(base.predict_proba(test), est.predict_proba(test))


def test_a_threshold_fold_without_a_label_positives_does_not_stop_training(train_set):
    """A fold whose training posts hold none of a label's positives gets a constant score for that
    label (0), as ``OneVsRestClassifier`` gave, instead of a "needs two classes" error."""
    from pipeline.model.folds import fold_groups

    recs, Y = train_set
    est = fast(threshold_folds=0).fit(recs, Y)
    frame = est.prep_.transform(recs)
    Y0 = Y.copy()
    Y0[:, 2] = 0
    core = est._fit_core(frame, Y0, fold_groups(recs), frozenset())
    P = est._proba_core(*core, frame.iloc[:20])
    assert P.shape == (20, 3) and (P[:, 2] == 0).all() and (P[:, 0] > 0).any()
