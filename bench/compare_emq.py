"""Compare the report's hand-written EM (pipeline.report.estimate.em_prevalence) with QuaPy's EMQ.

Run by hand (QuaPy is not a dependency): ``.venv/bin/pip install quapy`` then
``.venv/bin/python bench/compare_emq.py``.  Synthetic binary case with calibrated scores and a
known prior shift; prints truth, counted share, mean probability, both EM estimates and times.
"""

import time

import numpy as np

from pipeline.report.estimate import BINS, em_prevalence, score_bins


def scores(rng, n, prevalence, prior_train, sep=2.0):
    y = rng.random(n) < prevalence
    x = rng.normal(np.where(y, sep / 2, -sep / 2), 1.0)
    return 1 / (1 + np.exp(-(sep * x + np.log(prior_train / (1 - prior_train))))), y


def main() -> None:
    from quapy.method.aggregative import EMQ  # lazy: optional, only for this comparison

    rng = np.random.default_rng(1)
    prior_train = 0.1
    print("truth  counted  mean_prob  ours_exact  ours_binned  quapy_emq  ms_ours  ms_quapy")
    for truth in (0.01, 0.035, 0.1, 0.3):
        for n in (200, 5000, 100_000):
            s, y = scores(rng, n, truth, prior_train)
            post = np.stack([1 - s, s], axis=1)
            t0 = time.perf_counter()
            exact = float(em_prevalence(np.ones(n), s, prior_train))
            counts = np.bincount(score_bins(s), minlength=BINS)
            means = np.bincount(score_bins(s), weights=s, minlength=BINS) / np.maximum(counts, 1)
            binned = float(em_prevalence(counts, means, prior_train))
            t1 = time.perf_counter()
            q = EMQ.EM(np.array([1 - prior_train, prior_train]), post)[0][1]
            t2 = time.perf_counter()
            print(f"{y.mean():.4f} {np.mean(s >= 0.3):.4f} {s.mean():.4f} {exact:.4f} {binned:.4f} {q:.4f} "
                  f"{1000 * (t1 - t0):.1f} {1000 * (t2 - t1):.1f}  (n={n})")


if __name__ == "__main__":
    main()
