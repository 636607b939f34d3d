"""Cross-validation folds: random over posts, or grouped so that no account is on both sides."""

import numpy as np
import pytest

from pipeline.evaluation.cv import cv_folds, fold_groups, label_combination
from pipeline.model.estimator import to_indicator
from pipeline.schema import labels


@pytest.fixture(scope="module")
def corpus(corpus_records):
    return corpus_records, to_indicator([r["labels"] for r in corpus_records], labels())


def test_grouped_folds_never_split_an_actor(corpus):
    records, Y = corpus
    folds = cv_folds(records, Y, k=5, seed=13, group_by="actor")
    assert len(folds) == 5
    seen_test = np.concatenate([te for _, te in folds])
    assert sorted(seen_test.tolist()) == list(range(len(records)))  # every post tested exactly once
    for tr, te in folds:
        train_actors = {records[i]["actor"] for i in tr if records[i].get("actor")}
        test_actors = {records[i]["actor"] for i in te if records[i].get("actor")}
        assert train_actors and test_actors
        assert not train_actors & test_actors
        # every label has positives to learn from and to test on in every fold
        assert (Y[tr].sum(axis=0) > 0).all() and (Y[te].sum(axis=0) > 0).all()


def test_random_folds_do_split_actors(corpus):
    """The contrast grouped folds exist for: random folds put one account on both sides."""
    records, Y = corpus
    tr, te = cv_folds(records, Y, k=5, seed=13)[0]
    assert {records[i].get("actor") for i in tr} & {records[i].get("actor") for i in te} - {None}


def test_posts_without_an_actor_are_each_their_own_group():
    recs = [{"actor": "a"}, {"actor": "a"}, {}, {"actor": ""}, {"actor": None}, {"actor": "b"}]
    g = fold_groups(recs)
    assert g[0] == g[1] and g[5] != g[0]
    assert len({g[2], g[3], g[4], g[0], g[5]}) == 5


def test_label_combination_keys():
    Y = np.array([[0, 0, 0], [1, 0, 0], [1, 1, 0], [0, 0, 1]])
    assert label_combination(Y).tolist() == [0, 1, 3, 4]


def test_grouped_folds_need_enough_groups_and_a_known_field():
    recs = [{"actor": "a"}] * 6 + [{"actor": "b"}] * 6
    Y = np.array([[1, 0, 0], [0, 1, 0], [0, 0, 1]] * 4)
    with pytest.raises(ValueError, match="2 distinct actor groups cannot fill 3 folds"):
        cv_folds(recs, Y, k=3, group_by="actor")
    with pytest.raises(ValueError, match="group_by must be one of actor"):
        cv_folds(recs, Y, k=2, group_by="language")
