"""Rules labels.md states outright hold whatever the training data: paid partnership, duet/stitch."""

import numpy as np
import pytest

from pipeline.model.artefact import load_model, save_model
from pipeline.model.estimator import RULE_PRIOR, StrategyClassifier, rule_hits, to_indicator
from pipeline.schema import labels

ROMANIA = "romania2024_commercial_content_medialab"


def fast(**kw):
    return StrategyClassifier(**{"max_char_features": 5000, "calibration_folds": 2, "threshold_folds": 2, **kw})


@pytest.fixture(scope="module")
def unflagged(corpus_records):
    """Every 6th corpus post outside the ad library: no post carries a paid-partnership, duet or stitch flag."""
    recs = [r for r in corpus_records[::6] if r["source"] != ROMANIA]
    assert not rule_hits(recs, ("paid_partnership", "duet_from", "stitch_from")).any()  # no flag in training
    return recs


@pytest.fixture(scope="module")
def tiny_model(unflagged):
    return fast().fit(unflagged, [r["labels"] for r in unflagged])


def test_rules_hold_on_flags_never_seen_in_training(tiny_model):
    posts = [{"post_id": "1", "caption": "our new city guide", "language": "en", "paid_partnership": True},
             {"post_id": "2", "caption": "our new city guide", "language": "en", "duet_from": "7300000000000000001"},
             {"post_id": "3", "caption": "our new city guide", "language": "en", "stitch_from": "7300000000000000002"},
             {"post_id": "4", "caption": "our new city guide", "language": "en", "paid_partnership": False,
              "duet_from": ""}]
    got = tiny_model.predict_labels(posts)
    assert "influencer_amplification" in got[0]
    assert "trend_participation" in got[1] and "trend_participation" in got[2]
    assert got[3] == tiny_model.predict_labels([{"post_id": "5", "caption": "our new city guide", "language": "en"}])[0]
    rules = {r["name"]: r for r in tiny_model.rules_}
    # no flagged training post: the rule's score is the prior mean 19/20
    assert rules["paid_partnership"]["n"] == 0
    assert rules["paid_partnership"]["probability"] == pytest.approx(RULE_PRIOR[0] / sum(RULE_PRIOR))
    p = tiny_model.predict_proba(posts)
    assert p[0, list(tiny_model.classes_).index("influencer_amplification")] == pytest.approx(0.95, abs=1e-9)


def test_rules_survive_the_model_file_and_can_be_turned_off(tiny_model, unflagged, tmp_path):
    save_model(tiny_model, tmp_path / "m", {"training_corpus": {}})
    loaded, _ = load_model(tmp_path / "m")
    post = [{"post_id": "1", "caption": "our new city guide", "language": "en", "paid_partnership": True}]
    assert loaded.rules_ == tiny_model.rules_
    np.testing.assert_allclose(loaded.predict_proba(post), tiny_model.predict_proba(post))
    off = fast(rules=False).fit(unflagged, [r["labels"] for r in unflagged])
    assert off.rules_ == [] and off.predict_proba(post)[0, 1] < 0.95


@pytest.mark.slow
def test_paid_partnership_rule_with_every_romanian_row_held_out(corpus_records):
    """issue 14: trained without any ad-library row, the model labelled none of the flagged rows."""
    train = [r for r in corpus_records if r["source"] != ROMANIA]
    held_out = [r for r in corpus_records if r["source"] == ROMANIA]
    flagged = [r for r in held_out if r.get("paid_partnership")]
    assert len(flagged) >= 300 and not any(r.get("paid_partnership") for r in train)
    model = fast().fit(train, to_indicator([r["labels"] for r in train], labels()))
    got = model.predict_labels(flagged)
    assert all("influencer_amplification" in g for g in got)
    # and the rule does not leak to unflagged ad-library rows ("Promotional Content" alone is not influencer)
    unflagged = [r for r in held_out if not r.get("paid_partnership")]
    j = list(model.classes_).index("influencer_amplification")
    assert (model.predict_proba(unflagged)[:, j] < 0.95).all()
