"""Evaluation: paired bootstrap, Brier score, the spaCy textcat baseline, CV comparison, the HTML report."""

from __future__ import annotations

import json

import numpy as np
import pytest
from sklearn.base import clone
from sklearn.metrics import average_precision_score, f1_score, roc_auc_score
from typer.testing import CliRunner

from pipeline.cli.main import app
from pipeline.evaluation import baselines as ev_baselines, cv as ev_cv, metrics as ev_metrics, run as ev
from pipeline.evaluation.spacy_baseline import SpacyTextcatBaseline
from pipeline.model.estimator import to_indicator
from pipeline.schema import labels

HOSTILE = "<script>alert('x')</script><img src=x onerror=alert(1)>"


def test_bootstrap_f1_matches_sklearn_on_the_same_resamples():
    rng = np.random.default_rng(4)
    Y = rng.integers(0, 2, (15, 3))
    Y[:, 2] = 0
    Y[3, 2] = 1  # a rare label: many resamples have no positive and no prediction (F1 0 by convention)
    P = np.where(rng.random((15, 3)) < 0.7, Y, 1 - Y)
    (samples,) = ev_metrics.bootstrap_f1(Y, [P], n_boot=40, seed=9)
    idx = np.random.default_rng(9).integers(0, 15, (40, 15))
    expected = np.array([f1_score(Y[i], P[i], average=None, zero_division=0) for i in idx])
    np.testing.assert_allclose(samples, expected)


def test_paired_bootstrap_of_identical_systems_is_exactly_zero():
    rng = np.random.default_rng(2)
    Y = rng.integers(0, 2, (120, 3))
    P = np.where(rng.random((120, 3)) < 0.75, Y, 1 - Y)
    d = ev_metrics.paired_bootstrap(Y, P, P.copy(), n_boot=200)
    assert d["difference"] == 0 and d["ci"] == [0.0, 0.0]
    assert all(v == {"difference": 0.0, "ci": [0.0, 0.0]} for v in d["per_label"].values())


def test_paired_bootstrap_sees_a_real_gap():
    rng = np.random.default_rng(3)
    Y = rng.integers(0, 2, (300, 3))
    good = np.where(rng.random((300, 3)) < 0.9, Y, 1 - Y)
    bad = np.where(rng.random((300, 3)) < 0.6, Y, 1 - Y)
    d = ev_metrics.paired_bootstrap(Y, good, bad, n_boot=300)
    assert 0 < d["ci"][0] <= d["difference"] <= d["ci"][1]


def test_metric_summary_brier_score_hand_checked():
    Y = np.array([[1, 0, 0], [0, 1, 0], [0, 0, 1], [0, 0, 0]])
    proba = np.array([[0.9, 0.0, 0.5], [0.2, 1.0, 0.5], [0.0, 0.0, 0.5], [0.1, 0.0, 0.5]])
    m = ev_metrics.metric_summary(Y, (proba >= 0.5).astype(int), proba)
    assert m["per_label"]["trend_participation"]["brier"] == pytest.approx((0.01 + 0.04 + 0 + 0.01) / 4)
    assert m["per_label"]["crisis_messaging"]["brier"] == 0.25  # always 0.5: the uninformed score
    assert "brier" not in ev_metrics.metric_summary(Y, (proba >= 0.5).astype(int))["per_label"]["crisis_messaging"]


def test_spacy_textcat_learns_from_real_posts(corpus_records):
    train, test = corpus_records[1::2][:800], corpus_records[::2][:400]  # disjoint, mixed sources
    train = train + [{"post_id": "empty", "labels": []}]  # no text at all: must not break bigram extraction
    Y_train = to_indicator([r["labels"] for r in train], labels())
    Y_test = to_indicator([r["labels"] for r in test], labels())
    est = clone(SpacyTextcatBaseline(epochs=4, random_state=1))
    assert est.get_params()["epochs"] == 4
    est.fit(train, Y_train)
    proba = est.predict_proba(test + [{"post_id": "empty2"}])
    assert proba.shape == (len(test) + 1, len(labels()))
    assert ((proba >= 0) & (proba <= 1)).all()
    assert est.losses_[-1] < est.losses_[0]
    # beats chance: a random scorer has ROC-AUC 0.5 and average precision = prevalence on every label
    aucs = [roc_auc_score(Y_test[:, j], proba[:-1, j]) for j in range(len(labels()))]
    lifts = [average_precision_score(Y_test[:, j], proba[:-1, j]) / Y_test[:, j].mean() for j in range(len(labels()))]
    assert min(aucs) > 0.65 and min(lifts) > 1.5, (aucs, lifts)
    np.testing.assert_array_equal(est.predict(test), (proba[:-1] >= 0.5).astype(int))
    runs = [SpacyTextcatBaseline(epochs=1, random_state=5).fit(train[:150], Y_train[:150]).predict_proba(test[:50])
            for _ in range(2)]
    np.testing.assert_array_equal(*runs)  # fixed seed: same model


@pytest.fixture(scope="module")
def cv_run(tmp_path_factory, small_corpus):
    """One tiny cross-validated run with both baselines and a report; records the CV calls."""
    config = tmp_path_factory.mktemp("cfg") / "tiny.toml"  # no threshold tuning: 3× cheaper folds
    config.write_text("seed = 3\n[classifier]\nuse_chars = false\ncalibration_folds = 2\nthreshold_folds = 0\n",
                      encoding="utf-8")
    calls = []
    real = ev_cv.cross_validate_config

    def recording(records, Y, estimator, k=5, seed=0):
        calls.append((type(estimator).__name__, k, seed, len(records)))
        return real(records, Y, estimator, k=k, seed=seed)

    out = tmp_path_factory.mktemp("evalrep")
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(ev, "cross_validate_config", recording)
        mp.setattr(ev_baselines, "cross_validate_config", recording)
        result = ev.evaluate([small_corpus], cv=2, config=config, report_dir=out, n_boot=300, spacy_epochs=3)
    return result, out, calls


def test_cv_trains_spacy_textcat_on_the_same_folds(cv_run):
    result, _, calls = cv_run
    assert [c[0] for c in calls] == ["StrategyClassifier", "SpacyTextcatBaseline"]
    assert calls[0][1:] == calls[1][1:]  # same k, seed and posts → same KFold splits
    tc = result["spacy_textcat"]
    assert {"macro_f1", "per_label", "bootstrap_ci", "setup"} <= set(tc)
    assert tc["setup"]["architecture"] == "spacy.TextCatBOW.v3" and tc["setup"]["ngram_size"] == 2
    assert all("roc_auc" in m and "brier" in m for m in tc["per_label"].values())
    assert "bootstrap_ci" in result["keyword_baseline"]


@pytest.mark.parametrize("name", ["model_vs_keyword_baseline", "model_vs_spacy_textcat"])
def test_cv_paired_differences_contain_the_point_difference(cv_run, name):
    result, _, _ = cv_run
    d = result["paired_differences"][name]
    other = result[d["b"]]
    assert d["difference"] == pytest.approx(result["macro_f1"] - other["macro_f1"], abs=2e-4)
    assert d["ci"][0] <= d["difference"] <= d["ci"][1]
    for n, v in d["per_label"].items():
        assert v["ci"][0] <= v["difference"] <= v["ci"][1], n


def test_confusion_counts_add_up(cv_run):
    result, _, _ = cv_run
    for name, c in result["confusion"].items():
        assert sum(c.values()) == result["n_posts"]
        assert c["tp"] + c["fn"] == result["per_label"][name]["support"]


def test_cv_report_has_plots_comparison_and_breakdowns(cv_run):
    result, out, _ = cv_run
    html = (out / "report.html").read_text(encoding="utf-8")
    assert html.count('src="data:image/png;base64,') == 4
    for png in ("pr_curves", "confusion", "calibration", "comparison"):
        assert (out / "plots" / f"{png}.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert "spaCy textcat_multilabel (BOW)" in html and "paired 95% CI" in html and "How to read" in html
    md = (out / "report.md").read_text(encoding="utf-8")
    assert "## Comparison on the same posts" in md and "(plots/pr_curves.png)" in md
    assert "spaCy textcat_multilabel (BOW) macro-F1" in md  # per-language column for the baseline
    assert set(next(iter(result["by_language"].values()))["other_systems_macro_f1"]) == {"keyword_baseline",
                                                                                        "spacy_textcat"}
    assert json.loads((out / "metrics.json").read_text())["spacy_textcat"]["macro_f1"] == result["spacy_textcat"]["macro_f1"]
    wrong = [json.loads(line) for line in open(out / "misclassified.jsonl", encoding="utf-8")]
    assert wrong and set(wrong[0]["other_systems"]) == {"keyword_baseline", "spacy_textcat"}


def test_model_mode_is_quick_escapes_hostile_text_and_says_textcat_needs_cv(tmp_path, small_model, corpus_records):
    corpus = tmp_path / "hostile.jsonl"
    rows = [dict(r) for r in corpus_records[::4][:30]]  # training posts of small_model: few errors
    rows.append({"post_id": "<b>id</b>", "caption": f"Thank you all for watching {HOSTILE}", "language": "en",
                 "source": "<iframe src=evil>", "labels": list(labels())})  # gold: every label → misclassified
    corpus.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")
    rd = tmp_path / "rep"
    res = CliRunner().invoke(app, ["evaluate", str(corpus), "--model", str(small_model), "--report-dir", str(rd),
                                   "--bootstrap", "200"])
    assert res.exit_code == 0, res.output
    assert "needs a training split" in res.output and "spaCy textcat_multilabel macro-F1" not in res.output
    assert "model - keyword baseline: macro-F1" in res.output
    html = (rd / "report.html").read_text(encoding="utf-8")
    assert "<script" not in html and "<iframe" not in html and "<b>id" not in html
    assert "&lt;script&gt;alert(&#x27;x&#x27;)&lt;/script&gt;" in html
    assert "&lt;iframe src=evil&gt;" in html and "&lt;b&gt;id&lt;/b&gt;" in html
    assert "Content-Security-Policy" in html and "data:image/png;base64," in html
    m = json.loads((rd / "metrics.json").read_text(encoding="utf-8"))
    assert "needs a training split" in m["spacy_textcat"]["skipped"] and "model_vs_spacy_textcat" not in m["paired_differences"]


def test_cli_no_spacy_baseline_flag_and_printed_comparison(monkeypatch, cv_run):
    seen = {}

    def fake(corpus, **kwargs):
        seen.update(kwargs)
        return cv_run[0]

    monkeypatch.setattr(ev, "evaluate", fake)
    runner = CliRunner()
    res = runner.invoke(app, ["evaluate", "c.jsonl", "--cv", "2"])
    assert res.exit_code == 0, res.output
    assert seen["spacy_baseline"] is True and seen["cv"] == 2
    assert "spaCy textcat_multilabel macro-F1" in res.output and "model - spacy textcat: macro-F1" in res.output
    res = runner.invoke(app, ["evaluate", "c.jsonl", "--cv", "2", "--no-spacy-baseline"])
    assert res.exit_code == 0 and seen["spacy_baseline"] is False


def test_breakdown_leaves_out_labels_absent_from_a_group():
    import numpy as np

    from pipeline.evaluation.metrics import breakdown

    recs = [{"language": "ro"}, {"language": "ro"}, {"language": "ne"}]
    Y = np.array([[0, 1, 0], [0, 0, 0], [0, 0, 0]])
    P = np.array([[0, 1, 0], [0, 0, 0], [0, 0, 0]])
    out = breakdown(recs, Y, P, "language")
    assert out["ro"]["macro_f1"] == 1.0  # only influencer_amplification occurs: it is not averaged with two zeros
    assert out["ro"]["per_label_f1"]["trend_participation"] is None
    assert out["ne"]["macro_f1"] is None


@pytest.fixture(scope="module")
def grouped_run(tmp_path_factory, small_corpus):
    """A tiny cross-validation with grouped folds beside the random ones, and its report."""
    config = tmp_path_factory.mktemp("cfg") / "tiny.toml"
    config.write_text("seed = 3\n[classifier]\nuse_chars = false\ncalibration_folds = 2\nthreshold_folds = 0\n",
                      encoding="utf-8")
    out = tmp_path_factory.mktemp("grouprep")
    result = ev.evaluate([small_corpus], cv=3, config=config, report_dir=out, n_boot=200, spacy_baseline=False,
                         group_by="actor")
    return result, out


@pytest.mark.slow
def test_grouped_cv_beside_random_cv_with_intervals_and_calibration(grouped_run):
    result, out = grouped_run
    g = result["grouped_cv"]
    assert g["group_by"] == "actor" and g["n_posts"] == result["n_posts"]
    lo, hi = g["bootstrap_ci"]["macro_f1"]
    assert lo <= g["macro_f1"] <= hi
    d = g["grouped_minus_random"]
    assert d["difference"] == pytest.approx(g["macro_f1"] - result["macro_f1"], abs=2e-4)
    for cal in (result["calibration"], g["calibration"]):
        for n in labels():
            row = cal["per_label"][n]
            assert {"brier", "ece", "slope", "slope_ci", "bins"} <= set(row)
            assert sum(b["n"] for b in row["bins"]) == result["n_posts"]
    html = (out / "report.html").read_text(encoding="utf-8")
    assert "Accounts the model has not seen" in html and "calibration slope" in html
    md = (out / "report.md").read_text(encoding="utf-8")
    assert "grouped by actor" in md and "## Calibration" in md


def test_cli_group_by_needs_cv_and_a_known_field():
    runner = CliRunner()
    res = runner.invoke(app, ["evaluate", "c.jsonl", "--group-by", "actor"])
    assert res.exit_code == 2 and "--cv" in res.output
    res = runner.invoke(app, ["evaluate", "c.jsonl", "--cv", "2", "--group-by", "language"])
    assert res.exit_code == 2 and "actor" in res.output
