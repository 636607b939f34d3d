"""Substring cues: word boundaries in space-separated scripts, anywhere in scripts without spaces."""

import pytest

from pipeline.features.cues import config_cues, cue_kind, cues_key, substring_cues

KEY = cues_key(config_cues())
TREND, INFL, CRISIS = "trend_participation", "influencer_amplification", "crisis_messaging"


@pytest.mark.parametrize("text,label,fires", [
    ("the challenger disaster anniversary", TREND, False),    # the artefact from issue 14
    ("take the challenge with us", TREND, True),
    ("three challenges for the summer", TREND, True),          # plural
    ("#onchallenge #dancechallenge2024", TREND, True),         # compounds inside hashtags
    ("#blindingchallenger", TREND, True),                      # inside a hashtag: compound, so it counts
    ("a warning about the weather", CRISIS, False),            # "war" in "warning"
    ("new software release", CRISIS, False),
    ("the wars in the region", CRISIS, True),
    ("evacuation routes for residents", CRISIS, True),         # stem evacu*
    ("russian troops", CRISIS, True),                          # stem russia*
    ("#adidas new drop", INFL, False),                         # "#ad" is a tag of its own
    ("#ad new drop", INFL, True),
    ("creators and influencers met the minister", INFL, True),
    ("ウクライナ情勢と避難", CRISIS, True),                       # Japanese: anywhere
    ("#ブタキムポンポンチャレンジ", TREND, True),
])
def test_word_boundaries(text, label, fires):
    assert (label in substring_cues(text, KEY)) is fires


def test_earlier_rule_is_kept_for_measurement():
    assert TREND in substring_cues("the challenger disaster", KEY, boundaries=False)
    assert TREND not in substring_cues("the challenger disaster", KEY, boundaries=True)


def test_cue_kinds():
    assert cue_kind("challenge") == ("word", False)
    assert cue_kind("evacu*") == ("word", True)
    assert cue_kind("チャレンジ") == ("anywhere", False)
    assert cue_kind("युद्ध") == ("start", False)      # Devanagari: postpositions attach, only the start is checked
    assert cue_kind("듀엣") == ("start", False)


def test_substring_cues_report_each_counted_cue():
    key = cues_key(config_cues())
    hits: dict[str, int] = {}
    text = "#onchallenge dance with our guest! the challenger space shuttle"
    counts = substring_cues(text, key, True, hits)
    assert hits == {"challenge": 1, "dance": 1, "guest": 1}  # not inside "challenger"
    assert counts == substring_cues(text, key, True)  # the per-label counts do not change
