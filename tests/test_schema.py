import pytest

from pipeline.schema import POST_FIELDS, empty_post, labels, validate_labels, validate_post


def test_label_set_is_defined_once_in_configs():
    assert labels() == ("trend_participation", "influencer_amplification", "crisis_messaging")


def test_canonical_fields_are_the_documented_ones():
    assert list(POST_FIELDS) == ["post_id", "actor", "created_at", "caption", "transcript", "on_screen_text",
                                 "hashtags", "mentions", "music", "paid_partnership", "is_ad", "views", "likes",
                                 "shares", "comments", "language", "source_file", "source_line"]


def test_post_without_actor_or_caption_is_valid():
    rec = empty_post()
    rec.update(post_id="1", on_screen_text="VOTEAZĂ")
    assert validate_post(rec) is None


@pytest.mark.parametrize("change,reason", [
    ({"post_id": None}, "missing post_id"),
    ({"post_id": "  "}, "missing post_id"),
    ({"views": "12"}, "field 'views' must be int"),
    ({"hashtags": "a,b"}, "field 'hashtags' must be list"),
])
def test_invalid_posts_say_why(change, reason):
    rec = empty_post()
    rec.update(post_id="1", caption="x")
    rec.update(change)
    assert reason in validate_post(rec)


def test_unknown_label_suggests_closest():
    with pytest.raises(ValueError, match="Did you mean 'crisis_messaging'"):
        validate_labels(["crisis_mesaging"])


def test_labels_come_back_in_config_order():
    assert validate_labels(["crisis_messaging", "trend_participation"]) == ["trend_participation", "crisis_messaging"]


def test_post_typeddict_covers_every_field_a_stage_writes():
    from pipeline.schema import CLEAN_FIELDS, EXTRA_FIELDS, POST_FIELDS, PREDICTION_FIELDS, Post

    assert set(POST_FIELDS) | set(EXTRA_FIELDS) | set(CLEAN_FIELDS) | set(PREDICTION_FIELDS) <= set(Post.__annotations__)
