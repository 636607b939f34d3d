import numpy as np
import pytest

from pipeline.aggregate import Aggregator, wilson_interval
from pipeline.evaluate import bootstrap_ci, metric_summary
from pipeline.writers import safe_cell


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


def test_wilson_interval_hand_checked():
    lo, hi = wilson_interval(3, 10)
    assert lo == pytest.approx(0.1078, abs=1e-4) and hi == pytest.approx(0.6032, abs=1e-4)
    assert wilson_interval(0, 0) == (0.0, 0.0)


def test_aggregator_counts_add_up():
    agg = Aggregator({"hiroshima_pref": {"name": "Hiroshima", "type": "government", "country": "JP"}})
    recs = [{"actor": "hiroshima_pref", "labels": ["crisis_messaging"], "scores": {"crisis_messaging": 0.9}},
            {"actor": "Hiroshima_Pref", "labels": [], "scores": {"crisis_messaging": 0.1}},
            {"actor": "someone", "labels": ["trend_participation"], "scores": {}},
            {"actor": None, "labels": [], "scores": {}}]
    agg.add(recs)
    t = agg.tables()
    actors = t["actors"].set_index("actor")
    assert actors["posts"].sum() == 4
    assert actors.loc["hiroshima_pref", "crisis_messaging_share"] == 0.5
    assert actors.loc["hiroshima_pref", "crisis_messaging_mean_score"] == 0.5
    assert actors.loc["hiroshima_pref", "actor_type"] == "government"
    types = t["actor_types"].set_index("actor_type")
    assert types.loc["unknown", "posts"] == 2 and types.loc["government", "posts"] == 2
    assert list(t["unknown_actors"]["actor"]) == ["someone"]


@pytest.mark.parametrize("value,expected", [
    ("=HYPERLINK(\"x\")", "'=HYPERLINK(\"x\")"), ("+1", "'+1"), ("-2", "'-2"), ("@SUM(A1)", "'@SUM(A1)"),
    ("plain", "plain"), (3, 3),
])
def test_formula_injection_neutralised(value, expected):
    assert safe_cell(value) == expected
