"""How far scores can be read as probabilities: reliability bins, ECE, calibration slope.

- **Reliability bins**: posts grouped by score into equal-width bins; per bin the mean score
  and the share of posts that carry the label. A calibrated model's points lie on the diagonal.
- **ECE** (expected calibration error): the post-weighted mean gap between the two.
- **Calibration slope and intercept**: the logistic regression ``logit P(y=1) = a + b·logit(p)``
  fitted by maximum likelihood (no penalty). ``b`` = 1 is calibrated; ``b`` > 1 means the
  scores are too timid (true probabilities more extreme than the scores), ``b`` < 1 too
  confident. Intervals come from resampling posts.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from pipeline.schema import labels

N_BINS = 10
_EPS = 1e-6


def reliability_bins(y: np.ndarray, p: np.ndarray, n_bins: int = N_BINS) -> list[dict[str, Any]]:
    """Equal-width score bins: ``lo``, ``hi``, ``n`` posts, ``mean_score``, ``positive_rate`` (empty bins left out)."""
    y, p = np.asarray(y, dtype=float), np.asarray(p, dtype=float)
    idx = np.minimum((p * n_bins).astype(int), n_bins - 1)
    out = []
    for b in range(n_bins):
        m = idx == b
        if m.any():
            out.append({"lo": round(b / n_bins, 4), "hi": round((b + 1) / n_bins, 4), "n": int(m.sum()),
                        "mean_score": round(float(p[m].mean()), 4), "positive_rate": round(float(y[m].mean()), 4)})
    return out


def expected_calibration_error(y: np.ndarray, p: np.ndarray, n_bins: int = N_BINS) -> float:
    """Post-weighted mean |mean score − positive rate| over equal-width bins."""
    y, p = np.asarray(y, dtype=float), np.asarray(p, dtype=float)
    if len(y) == 0:
        return 0.0
    return float(sum(b["n"] * abs(b["mean_score"] - b["positive_rate"]) for b in _exact_bins(y, p, n_bins)) / len(y))


def _exact_bins(y: np.ndarray, p: np.ndarray, n_bins: int) -> list[dict[str, float]]:
    idx = np.minimum((p * n_bins).astype(int), n_bins - 1)
    return [{"n": int((idx == b).sum()), "mean_score": float(p[idx == b].mean()), "positive_rate": float(y[idx == b].mean())}
            for b in range(n_bins) if (idx == b).any()]


def logit(p: np.ndarray) -> np.ndarray:
    p = np.clip(np.asarray(p, dtype=float), _EPS, 1 - _EPS)
    return np.log(p / (1 - p))


def calibration_line(y: np.ndarray, p: np.ndarray, weights: np.ndarray | None = None,
                     iterations: int = 50) -> tuple[float, float]:
    """``(intercept, slope)`` of the unpenalised logistic regression of ``y`` on ``logit(p)``.

    Newton–Raphson on the two parameters (a few microseconds per fit, so the bootstrap can
    refit it a thousand times); NaN when the outcome does not vary or the scores do not.
    """
    y = np.asarray(y, dtype=float)
    x = logit(p)
    w = np.ones_like(y) if weights is None else np.asarray(weights, dtype=float)
    if w.sum() == 0 or np.ptp(y[w > 0]) == 0 or np.ptp(x[w > 0]) == 0:
        return float("nan"), float("nan")
    X = np.column_stack([np.ones_like(x), x])
    beta = np.array([0.0, 1.0])
    for _ in range(iterations):
        eta = np.clip(X @ beta, -30, 30)
        mu = 1 / (1 + np.exp(-eta))
        grad = X.T @ (w * (y - mu))
        hess = (X * (w * mu * (1 - mu))[:, None]).T @ X
        try:
            step = np.linalg.solve(hess + 1e-10 * np.eye(2), grad)
        except np.linalg.LinAlgError:
            return float("nan"), float("nan")
        beta = beta + step
        if np.abs(step).max() < 1e-10:
            break
    if not np.isfinite(beta).all() or np.abs(beta).max() > 1e6:  # separation: no finite maximum
        return float("nan"), float("nan")
    return float(beta[0]), float(beta[1])


def calibration_summary(Y: np.ndarray, P: np.ndarray, *, n_boot: int = 1000, seed: int = 0, level: float = 0.95,
                        n_bins: int = N_BINS) -> dict[str, Any]:
    """Per label: Brier score, ECE, calibration intercept and slope (with percentile bootstrap
    intervals over resampled posts) and the reliability bins."""
    Y, P = np.asarray(Y, dtype=float), np.asarray(P, dtype=float)
    n = len(Y)
    rng = np.random.default_rng(seed)
    weights = [np.bincount(rng.integers(0, n, n), minlength=n) for _ in range(n_boot)] if n else []
    lo_q, hi_q = (1 - level) / 2 * 100, (1 + level) / 2 * 100
    out: dict[str, Any] = {}
    for j, name in enumerate(labels()[:Y.shape[1]] if Y.ndim == 2 else ()):
        y, p = Y[:, j], P[:, j]
        a, b = calibration_line(y, p)
        boots = np.array([calibration_line(y, p, w) for w in weights]) if weights else np.zeros((0, 2))
        eces = np.array([_weighted_ece(y, p, w, n_bins) for w in weights]) if weights else np.zeros(0)
        ok = np.isfinite(boots).all(axis=1) if len(boots) else np.zeros(0, dtype=bool)

        def ci(v: np.ndarray) -> list[float] | None:
            return [round(float(np.percentile(v, lo_q)), 4), round(float(np.percentile(v, hi_q)), 4)] if len(v) else None

        out[name] = {
            "brier": round(float(np.mean((p - y) ** 2)), 4) if n else None,
            "ece": round(expected_calibration_error(y, p, n_bins), 4), "ece_ci": ci(eces),
            "slope": round(b, 4) if np.isfinite(b) else None, "slope_ci": ci(boots[ok, 1]),
            "intercept": round(a, 4) if np.isfinite(a) else None, "intercept_ci": ci(boots[ok, 0]),
            "bins": reliability_bins(y, p, n_bins),
        }
    return {"level": level, "n_boot": n_boot, "n_bins": n_bins, "per_label": out}


def _weighted_ece(y: np.ndarray, p: np.ndarray, w: np.ndarray, n_bins: int) -> float:
    idx = np.minimum((p * n_bins).astype(int), n_bins - 1)
    total = w.sum()
    gap = 0.0
    for b in range(n_bins):
        m = (idx == b) & (w > 0)
        if m.any():
            wb = w[m]
            gap += abs(float((wb * p[m]).sum() - (wb * y[m]).sum()))
    return gap / total if total else 0.0
