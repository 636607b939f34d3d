"""Calibration metrics on cases worked out by hand."""

import math

import numpy as np
import pytest

from pipeline.evaluation.calibration import (
    calibration_line,
    calibration_summary,
    expected_calibration_error,
    reliability_bins,
)


def _case(rate_low: float, rate_high: float, n: int = 10):
    """n posts scored 0.2 of which rate_low carry the label, n scored 0.8 of which rate_high do."""
    p = np.array([0.2] * n + [0.8] * n)
    y = np.array([1] * round(rate_low * n) + [0] * (n - round(rate_low * n))
                 + [1] * round(rate_high * n) + [0] * (n - round(rate_high * n)))
    return y, p


def test_perfectly_calibrated_scores():
    y, p = _case(0.2, 0.8)
    assert expected_calibration_error(y, p) == pytest.approx(0.0)
    a, b = calibration_line(y, p)
    # two score levels whose observed rates equal the scores: the fit is exactly a=0, b=1
    assert a == pytest.approx(0.0, abs=1e-8) and b == pytest.approx(1.0, abs=1e-8)
    bins = reliability_bins(y, p)
    assert [(x["lo"], x["n"], x["mean_score"], x["positive_rate"]) for x in bins] == [(0.2, 10, 0.2, 0.2),
                                                                                       (0.8, 10, 0.8, 0.8)]


def test_timid_scores_have_slope_above_one():
    # observed rates 0.1 and 0.9 for scores 0.2 and 0.8: |0.2-0.1| and |0.8-0.9| → ECE 0.1;
    # the line through (logit 0.2, logit 0.1) and (logit 0.8, logit 0.9): slope logit(0.9)/logit(0.8)
    y, p = _case(0.1, 0.9)
    assert expected_calibration_error(y, p) == pytest.approx(0.1)
    a, b = calibration_line(y, p)
    assert a == pytest.approx(0.0, abs=1e-8)
    assert b == pytest.approx(math.log(9) / math.log(4), rel=1e-8)  # 1.585: too timid


def test_overconfident_scores_have_slope_below_one():
    y, p = _case(0.3, 0.7)
    assert calibration_line(y, p)[1] == pytest.approx(math.log(7 / 3) / math.log(4), rel=1e-8)  # 0.611


def test_undefined_slope_is_none_not_a_crash():
    y = np.array([0, 0, 0, 0])
    s = calibration_summary(np.column_stack([y, y, y]), np.full((4, 3), 0.3), n_boot=20)
    row = next(iter(s["per_label"].values()))
    assert row["slope"] is None and row["brier"] == pytest.approx(0.09)


def test_summary_has_intervals_around_the_point_estimates():
    rng = np.random.default_rng(0)
    p = rng.uniform(0.01, 0.99, size=(2000, 3))
    Y = (rng.uniform(size=p.shape) < p).astype(int)  # calibrated by construction
    s = calibration_summary(Y, p, n_boot=200)
    for row in s["per_label"].values():
        assert row["slope_ci"][0] <= row["slope"] <= row["slope_ci"][1]
        assert abs(row["slope"] - 1) < 0.15 and row["slope_ci"][1] - row["slope_ci"][0] < 0.4
        assert row["ece"] < 0.05 and len(row["ece_ci"]) == 2  # (binned ECE is biased upward under resampling)
