"""Trend adoption: order, lags and who led match a hand-computed case."""

import pandas as pd
import pytest

from pipeline.analysis.adoption import lags_by_type, trend_adoption
from pipeline.analysis.posts import load_posts
from pipeline.analysis.run import write_analyses
from pipeline.io.writers import RecordWriter

REG = {"creator1": {"name": "", "type": "influencer/creator", "country": "JP"},
       "creator2": {"name": "", "type": "influencer/creator", "country": "KR"},
       "gov1": {"name": "", "type": "government", "country": "JP"},
       "gov2": {"name": "", "type": "government", "country": "JP"},
       "embassy1": {"name": "", "type": "embassy", "country": "US"}}
T = "trend_participation"


def _p(pid, actor, when, tags, labels=(T,)):
    return {"post_id": pid, "actor": actor, "created_at": when, "hashtags": list(tags), "labels": list(labels),
            "scores": {}}


HAND = [
    _p("0", "gov2", "2023-12-25T00:00:00Z", ["CraneChallenge"], labels=()),  # not trend_participation: ignored
    _p("1", "creator1", "2024-01-01T00:00:00Z", ["#CraneChallenge", "fyp"]),  # first sighting
    _p("2", "creator2", "2024-01-03T00:00:00Z", ["cranechallenge"]),           # lag 2 days
    _p("3", "gov1", "2024-01-05T12:00:00Z", ["CraneChallenge", "DanceTogether"]),  # 4.5 days; dance: first
    _p("4", "creator1", "2024-01-06T00:00:00Z", ["CraneChallenge"]),           # already adopted
    _p("5", "embassy1", "2024-01-11T00:00:00Z", ["CraneChallenge"]),           # 10 days
    _p("6", "creator2", "2024-01-06T12:00:00Z", ["DanceTogether"]),            # dance: 1 day after gov1
    _p("7", "creator1", "2024-01-02T00:00:00Z", ["solo"]),                     # one actor only: not a trend
    _p("8", "gov1", "2024-01-02T00:00:00Z", ["fyp", "viral"]),                 # reach hashtags: never trends
    _p("9", "creator2", "2024-01-02T00:00:00Z", ["fyp"]),
]


@pytest.fixture()
def posts(tmp_path):
    path = tmp_path / "l.jsonl"
    with RecordWriter(path) as w:
        w.write(HAND)
    return load_posts([path], REG), path


def test_order_lags_and_leaders_match_the_hand_computed_case(posts):
    trends, adopters, lags = trend_adoption(posts[0])
    assert trends["trend"].tolist() == ["cranechallenge", "dancetogether"]
    crane = adopters[adopters["trend"] == "cranechallenge"]
    assert crane["actor"].tolist() == ["creator1", "creator2", "gov1", "embassy1"]
    assert crane["order"].tolist() == [1, 2, 3, 4]
    assert crane["lag_days"].tolist() == [0.0, 2.0, 4.5, 10.0]
    assert crane["posts"].tolist() == [2, 1, 1, 1]
    t = trends.set_index("trend")
    assert t.loc["cranechallenge", "first_seen"] == pd.Timestamp("2024-01-01", tz="UTC")
    assert t.loc["cranechallenge", "official_vs_creators"] == "creators led"
    assert t.loc["cranechallenge", "creators_before_first_official"] == 2
    assert t.loc["cranechallenge", "official_adopters"] == 2 and t.loc["cranechallenge", "creator_adopters"] == 2
    assert t.loc["dancetogether", "official_vs_creators"] == "official led"
    assert t.loc["dancetogether", "creators_before_first_official"] == 0
    dance = adopters[adopters["trend"] == "dancetogether"]
    assert dance["actor"].tolist() == ["gov1", "creator2"] and dance["lag_days"].tolist() == [0.0, 1.0]
    lag = lags.set_index(["trend", "actor_type"])
    assert lag.loc[("cranechallenge", "influencer/creator"), "median_lag_days"] == 1.0
    assert lag.loc[("cranechallenge", "government"), "first_lag_days"] == 4.5
    assert lag.loc[("cranechallenge", "embassy"), "first_lag_days"] == 10.0
    by_type = lags_by_type(lags).set_index("actor_type")
    assert by_type.loc["government", "median_first_lag_days"] == 2.25  # 4.5 (crane) and 0 (dance)
    assert by_type.loc["influencer/creator", "trends"] == 2


def test_named_trends_and_page(posts, tmp_path):
    trends, adopters, _ = trend_adoption(posts[0], ["#DanceTogether", "solo"])
    assert trends["trend"].tolist() == ["dancetogether", "solo"]  # named: followed even with one adopter
    run = write_analyses(posts[1], tmp_path, REG, [], pd.Timedelta(days=30).to_pytimedelta())
    html = run.page.read_text(encoding="utf-8")
    assert "#cranechallenge" in html and "creators led" in html
    assert (tmp_path / "analysis_charts" / "trend_adoption.png").is_file()
    assert pd.read_csv(tmp_path / "trend_adopters.csv")["lag_days"].tolist() == [0.0, 2.0, 4.5, 10.0, 0.0, 1.0]


def test_too_small_sample_says_so(tmp_path):
    path = tmp_path / "l.jsonl"
    with RecordWriter(path) as w:
        w.write(HAND[:2])
    run = write_analyses(path, tmp_path / "o", REG, [], pd.Timedelta(days=30).to_pytimedelta())
    assert any("too small to follow a trend" in line for line in run.lines)
