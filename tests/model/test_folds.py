"""Account groups inside training: group folds, per-account weights, n-grams counted per account."""

import numpy as np
import scipy.sparse as sp

from pipeline.model.folds import group_folds, group_weights, groups_per_column


def test_group_folds_keep_each_account_on_one_side_and_stratify():
    rng = np.random.default_rng(0)
    groups = np.repeat(np.arange(40), rng.integers(1, 12, 40))
    y = (rng.random(len(groups)) < 0.2).astype(int)
    folds = group_folds(y, groups, 3, seed=1)
    assert sorted(np.concatenate([te for _, te in folds]).tolist()) == list(range(len(y)))
    for tr, te in folds:
        assert not set(groups[tr]) & set(groups[te])
        assert y[te].sum() > 0 and y[tr].sum() > 0
    # without groups: stratified folds over posts, which do split accounts
    plain = group_folds(y, None, 3, seed=1)
    assert any(set(groups[tr]) & set(groups[te]) for tr, te in plain)


def test_group_weights():
    groups = np.array([0, 0, 0, 0, 1, 2])
    assert np.allclose(group_weights(groups, 0.0), 1.0)
    w = group_weights(groups, 1.0)  # every account weighs the same in total
    assert np.isclose(w.mean(), 1.0)
    assert np.isclose(w[:4].sum(), w[4]) and np.isclose(w[4], w[5])
    w = group_weights(groups, 0.5)
    assert np.isclose(w[0] * 2, w[4])  # sqrt(4) = 2


def test_groups_per_column_counts_distinct_accounts():
    M = sp.csr_matrix(np.array([[1, 0, 2], [3, 0, 0], [0, 0, 1], [1, 1, 0]], dtype=float))
    groups = np.array([0, 0, 1, 2])
    # column 0: accounts 0 and 2; column 1: account 2; column 2: accounts 0 and 1
    assert groups_per_column(M, groups).tolist() == [2, 1, 2]
