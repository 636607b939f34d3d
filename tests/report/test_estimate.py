"""Prior-shift-adjusted shares on synthetic data with a known prevalence."""

import numpy as np
import pytest

from pipeline.report.estimate import BINS, ScoreHistograms, em_prevalence, estimate_table, score_bins


def _calibrated_scores(rng, n, prevalence, prior_train, sep=2.0):
    """Scores calibrated for a population with ``prior_train`` positives, drawn from one with ``prevalence``.

    x | y=1 ~ N(sep/2, 1), x | y=0 ~ N(-sep/2, 1): the exact posterior under the training prior is
    sigmoid(sep * x + logit(prior_train)), so the scores are calibrated for the training population.
    """
    y = rng.random(n) < prevalence
    x = rng.normal(np.where(y, sep / 2, -sep / 2), 1.0)
    logit = sep * x + np.log(prior_train / (1 - prior_train))
    return 1 / (1 + np.exp(-logit)), y


def test_em_recovers_known_prevalence_and_interval_covers_it():
    rng = np.random.default_rng(7)
    prior_train, truth = 0.12, 0.035  # enriched training corpus vs a population sample
    s, y = _calibrated_scores(rng, 20_000, truth, prior_train)
    hist = ScoreHistograms(["x"])
    labelled = (s >= 0.3)[:, None]
    hist.add("all", ["all"] * len(s), s[:, None], labelled)
    row = estimate_table(hist, "all", priors={"x": prior_train}, thresholds={"x": 0.3}).iloc[0]
    assert row["adjusted_low"] <= y.mean() <= row["adjusted_high"]
    assert abs(row["adjusted"] - y.mean()) < 0.005
    # counting and mean probability over-state a rare label, as measured on the real data
    assert row["counted_share"] > y.mean() + 0.01 and row["mean_prob"] > y.mean() + 0.01
    assert row["share_at_threshold_at"] == pytest.approx(labelled.mean(), abs=1e-9)
    assert row["threshold_minus"] == pytest.approx(0.2) and row["threshold_plus"] == pytest.approx(0.4)
    assert row["share_at_threshold_plus"] < row["share_at_threshold_at"] < row["share_at_threshold_minus"]


def test_em_without_shift_returns_training_prevalence():
    rng = np.random.default_rng(3)
    s, y = _calibrated_scores(rng, 50_000, 0.2, 0.2)
    counts = np.bincount(score_bins(s), minlength=BINS)
    means = np.bincount(score_bins(s), weights=s, minlength=BINS) / np.maximum(counts, 1)
    assert em_prevalence(counts, means, 0.2) == pytest.approx(y.mean(), abs=0.01)


def test_groups_are_estimated_separately_and_small_groups_marked():
    rng = np.random.default_rng(11)
    s1, _ = _calibrated_scores(rng, 5000, 0.02, 0.1)
    s2, _ = _calibrated_scores(rng, 5000, 0.4, 0.1)
    s3, _ = _calibrated_scores(rng, 10, 0.4, 0.1)
    s = np.concatenate([s1, s2, s3])[:, None]
    groups = ["a"] * 5000 + ["b"] * 5000 + ["c"] * 10
    hist = ScoreHistograms(["x"])
    for i in range(0, len(groups), 3000):  # chunked like the aggregator
        hist.add("g", groups[i:i + 3000], s[i:i + 3000], s[i:i + 3000] > 0.5)
    t = estimate_table(hist, "g", priors={"x": 0.1}, thresholds=None).set_index("group")
    assert t.loc["a", "adjusted"] == pytest.approx(0.02, abs=0.01)
    assert t.loc["b", "adjusted"] == pytest.approx(0.4, abs=0.03)
    assert t.loc["c", "small_group"] and not t.loc["a", "small_group"]
    assert np.isnan(t.loc["c", "adjusted"]) and np.isnan(t.loc["c", "adjusted_high"])  # no EM on 10 posts
    assert t.loc["c", "counted_high"] > 0 and not np.isnan(t.loc["c", "mean_prob"])
    assert t.loc["a", "posts"] == 5000 and t["posts"].sum() == 10_010


def test_missing_prior_leaves_adjusted_empty():
    hist = ScoreHistograms(["x"])
    hist.add("all", ["all"] * 3, np.array([[0.1], [0.9], [np.nan]]), np.array([[False], [True], [False]]))
    row = estimate_table(hist, "all", priors=None, thresholds=None).iloc[0]
    assert np.isnan(row["adjusted"]) and row["posts"] == 3 and row["posts_scored"] == 2
    assert row["mean_prob"] == pytest.approx(0.5)


def test_headline_falls_back_to_counted_when_em_hits_zero_against_the_scores():
    import pandas as pd

    from pipeline.report.estimate import choose_headline

    rng = np.random.default_rng(5)
    # scores calibrated for the training data, but the group's negatives score far lower than training
    # negatives did (not a prior shift): EM goes to 0% although posts clearly score above the threshold
    neg = rng.uniform(0.0005, 0.002, 980)
    pos = rng.uniform(0.6, 0.9, 20)
    s = np.concatenate([neg, pos])[:, None]
    hist = ScoreHistograms(["x"])
    for level in ("all", "actor_type"):
        hist.add(level, ["g"] * len(s) if level == "actor_type" else ["all"] * len(s), s, s >= 0.5)
    est = pd.concat([estimate_table(hist, lv, priors={"x": 0.3}, thresholds=None, n_boot=20)
                     for lv in ("all", "actor_type")])
    assert est["adjusted_at_boundary"].all() and (est["adjusted"] == 0).all()
    headline, why = choose_headline(est)
    assert headline == "counted" and "EM put the share at 0%" in why
    # a genuine prior shift keeps the adjusted share as the headline
    s2, _ = _calibrated_scores(rng, 5000, 0.05, 0.12)
    hist2 = ScoreHistograms(["x"])
    for level in ("all", "actor_type"):
        hist2.add(level, ["g"] * len(s2) if level == "actor_type" else ["all"] * len(s2), s2[:, None],
                  (s2 >= 0.3)[:, None])
    est2 = pd.concat([estimate_table(hist2, lv, priors={"x": 0.12}, thresholds=None, n_boot=20)
                      for lv in ("all", "actor_type")])
    assert choose_headline(est2)[0] == "adjusted"
    assert choose_headline(est2.assign(adjusted=np.nan))[0] == "counted"


def test_score_histograms_merge_equals_one_histogram_of_all_posts():
    rng = np.random.default_rng(3)
    names = ("a", "b")
    S = rng.random((50, 2))
    S[4, 1] = np.nan  # a missing score
    Y = S > 0.6
    groups = [f"g{i % 3}" for i in range(50)]
    whole, first, second = ScoreHistograms(names), ScoreHistograms(names), ScoreHistograms(names)
    whole.add("actor", groups, S, Y)
    first.add("actor", groups[:20], S[:20], Y[:20])
    second.add("actor", groups[20:], S[20:], Y[20:])
    second.add("month", ["m"] * 30, S[20:], Y[20:])  # a level only the second part has
    first.merge(second)
    assert first.keys("actor") == whole.keys("actor") and first.keys("month") == [("month", "m")]
    for key in whole.counts:
        assert (first.counts[key] == whole.counts[key]).all()
        assert np.allclose(first.sums[key], whole.sums[key])
        assert (first.labelled[key] == whole.labelled[key]).all() and first.posts[key] == whole.posts[key]
    assert first.posts[("month", "m")] == 30
    second.counts[("month", "m")][0, 0] += 1000  # merging copied the arrays: later changes to a part stay there
    assert first.counts[("month", "m")][0, 0] < 1000
