import numpy as np
import pytest

from pipeline.evaluation.metrics import bootstrap_ci, metric_summary


def test_metric_summary_hand_checked():
    Y = np.array([[1, 0, 0], [1, 1, 0], [0, 0, 1], [0, 0, 0]])
    P = np.array([[1, 0, 0], [0, 1, 0], [0, 1, 1], [0, 0, 0]])
    m = metric_summary(Y, P)
    assert m["per_label"]["trend_participation"] == {"precision": 1.0, "recall": 0.5, "f1": 0.6667, "support": 2}
    assert m["per_label"]["influencer_amplification"]["precision"] == 0.5
    assert m["macro_f1"] == pytest.approx((2 / 3 + 2 / 3 + 1) / 3, abs=1e-4)
    assert m["micro_f1"] == pytest.approx(0.75)
    assert m["subset_accuracy"] == 0.5
    assert m["hamming_loss"] == pytest.approx(2 / 12, abs=1e-4)


def test_bootstrap_interval_contains_point_estimate():
    rng = np.random.default_rng(1)
    Y = rng.integers(0, 2, (200, 3))
    P = np.where(rng.random((200, 3)) < 0.8, Y, 1 - Y)
    ci = bootstrap_ci(Y, P, n_boot=300)
    point = metric_summary(Y, P)["macro_f1"]
    assert ci["macro_f1"][0] < point < ci["macro_f1"][1]
