"""The report stage: actor registry, aggregation (counts, Wilson intervals, engagement weights),
table formats, and escaping of hostile handles, names and hashtags in HTML, Markdown and CSV."""

import csv
import json
import random
from collections import Counter
from html.parser import HTMLParser

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from pipeline.cli.main import app
from pipeline.errors import InputFileError
from pipeline.io.writers import RecordWriter, read_records
from pipeline.report import aggregate
from pipeline.report.aggregate import Aggregator, aggregate_frame, aggregate_records, wilson_interval
from pipeline.report.exports import export_name
from pipeline.report.registry import ACTOR_TYPES, NO_ACTOR, load_registry, read_registry
from pipeline.report.run import report
from pipeline.report.tables import BoundedCounter, wilson_arrays

CRISIS, TREND, INFL = "crisis_messaging", "trend_participation", "influencer_amplification"
REG = {"hiroshima_pref": {"name": "Hiroshima", "type": "government", "country": "JP"}}


def _post(pid, actor, labels, views=None, likes=None, shares=None, created_at=None, hashtags=(), crisis=None):
    return {"post_id": pid, "actor": actor, "labels": list(labels), "created_at": created_at, "hashtags": list(hashtags),
            "views": views, "likes": likes, "shares": shares,
            "scores": {} if crisis is None else {CRISIS: crisis, TREND: 0.5, INFL: 0.0}}


# A hand-checked actor: 5 posts, 2 with crisis_messaging, 2 with trend_participation, 1 with both.
HAND = [
    _post("p1", "gov_a", [CRISIS], 100, 10, 1, "2024-01-05T10:00:00Z", ["#Flood", "aid"], crisis=0.9),
    _post("p2", "GOV_A", [CRISIS, TREND], 300, None, 3, "2024-01-20T10:00:00Z", ["flood"], crisis=0.8),
    _post("p3", "@gov_a", [], None, 5, 0, "2024-02-01T00:00:00Z"),
    _post("p4", "gov_a", [TREND], 600, 20, None, None, crisis=0.1),
    _post("p5", "gov_a", [], 0, 0, 0, "2024-01-31T23:30:00-05:00", crisis=0.2),  # 2024-02 in UTC
    _post("p6", "other", [CRISIS], None, None, None, "2024-02-03T00:00:00Z"),
]
HAND_REG = {"gov_a": {"name": "Gov A", "type": "government", "country": "JP"}}


def _write_jsonl(path, rows):
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")
    return path


def test_wilson_interval_hand_checked():
    lo, hi = wilson_interval(3, 10)
    assert lo == pytest.approx(0.1078, abs=1e-4) and hi == pytest.approx(0.6032, abs=1e-4)
    assert wilson_interval(2, 5) == pytest.approx((0.1176, 0.7693), abs=1e-4)
    assert wilson_interval(0, 0) == (0.0, 0.0)
    lo, hi = wilson_arrays(np.array([0, 5, 3]), np.array([5, 5, 10]))
    assert lo[0] == 0.0 and hi[1] == 1.0 and lo[2] == pytest.approx(0.1078, abs=1e-4)


def test_aggregator_counts_add_up():
    agg = Aggregator({"hiroshima_pref": {"name": "Hiroshima", "type": "government", "country": "JP"}})
    recs = [{"actor": "hiroshima_pref", "labels": [CRISIS], "scores": {CRISIS: 0.9}},
            {"actor": "Hiroshima_Pref", "labels": [], "scores": {CRISIS: 0.1}},
            {"actor": "someone", "labels": [TREND], "scores": {}},
            {"actor": None, "labels": [], "scores": {}}]
    agg.add(recs)
    t = agg.tables()
    actors = t["actors"].set_index("actor")
    assert actors["posts"].sum() == 4
    assert actors.loc["hiroshima_pref", "crisis_messaging_share"] == 0.5
    assert actors.loc["hiroshima_pref", "crisis_messaging_mean_score"] == 0.5
    assert actors.loc["hiroshima_pref", "actor_type"] == "government"
    types = t["actor_types"].set_index("actor_type")
    # the post without a handle is its own unranked row, not part of the 'unknown' actor type (issue 17)
    assert types.loc["unknown", "posts"] == 1 and types.loc["government", "posts"] == 2
    assert types.loc[NO_ACTOR, "posts"] == 1 and pd.isna(types.loc[NO_ACTOR, "rank"])
    assert pd.isna(actors.loc[NO_ACTOR, "rank"]) and t["actors"]["actor"].iloc[-1] == NO_ACTOR
    assert list(t["unknown_actors"]["actor"]) == ["someone"]


def test_hand_checked_shares_intervals_weights_and_series():
    t = aggregate_frame(pd.DataFrame(HAND), registry=HAND_REG)
    a = t["actors"].set_index("actor").loc["gov_a"]  # GOV_A and @gov_a are the same account
    assert a["posts"] == 5 and a["actor_name"] == "Gov A" and a["posts_without_date"] == 1
    assert (a["first_month"], a["last_month"]) == ("2024-01", "2024-02")
    assert a["crisis_messaging_share"] == 0.4 and a["trend_participation_share"] == 0.4
    assert (a["crisis_messaging_share_ci_low"], a["crisis_messaging_share_ci_high"]) == pytest.approx((0.1176, 0.7693), abs=1e-4)
    # views known for p1 p2 p4 p5 (sum 1000); likes for p1 p3 p4 p5 (35); shares for p1 p2 p3 p5 (4)
    assert (a["views_known_posts"], a["views_total"], a["likes_known_posts"], a["likes_total"]) == (4, 1000, 4, 35)
    assert a["crisis_messaging_views_share"] == 0.4 and a["trend_participation_views_share"] == 0.9
    assert a["crisis_messaging_likes_share"] == pytest.approx(10 / 35, abs=1e-4)
    assert a["crisis_messaging_shares_share"] == 1.0 and a["trend_participation_shares_share"] == 0.75
    assert a["crisis_messaging_mean_score"] == 0.5  # (0.9 + 0.8 + 0.1 + 0.2) / 4: p3 has no score
    assert (a["no_strategy_posts"], a["multi_strategy_posts"], a["crisis_messaging_only_posts"]) == (2, 1, 1)
    other = t["actors"].set_index("actor").loc["other"]
    assert other["views_known_posts"] == 0 and np.isnan(other["crisis_messaging_views_share"])  # missing ≠ 0
    ts = t["timeseries"].set_index(["level", "group", "month"])
    assert ts.loc[("actor", "gov_a", "2024-01"), "posts"] == 2 and ts.loc[("actor", "gov_a", "2024-02"), "posts"] == 2
    assert ts.loc[("actor", "gov_a", "2024-01"), "crisis_messaging_share"] == 1.0
    assert ts.loc[("all", "all", "2024-02"), "posts"] == 3
    co = t["cooccurrence"].set_index(["level", "group", "strategy", "co_strategy"])
    assert co.loc[("actor", "gov_a", CRISIS, TREND), "posts"] == 1
    assert co.loc[("actor", "gov_a", CRISIS, TREND), "conditional_share"] == 0.5
    assert co.loc[("actor", "gov_a", CRISIS, CRISIS), "posts"] == 2
    tags = t["hashtags"].query("level == 'actor' and group == 'gov_a' and strategy == @CRISIS")
    assert list(zip(tags["hashtag"], tags["posts"])) == [("flood", 2), ("aid", 1)]
    gov = t["actor_types"].set_index("actor_type").loc["government"]
    assert gov["posts"] == 5 and gov["actors"] == 1 and t["overall"].loc[0, "posts"] == 6
    assert t["overall"].loc[0, "crisis_messaging_share"] == 0.5


def test_chunked_file_formats_match_dataframe(tmp_path, monkeypatch):
    monkeypatch.setattr(aggregate, "_CONSOLIDATE_ROWS", 1)  # consolidate after every chunk
    expected = aggregate_frame(pd.DataFrame(HAND), registry=HAND_REG)
    agg = Aggregator(HAND_REG)
    for i in range(0, len(HAND), 2):
        agg.add(HAND[i:i + 2])
    pd.testing.assert_frame_equal(agg.tables()["actors"], expected["actors"])
    for ext in ("jsonl", "csv", "parquet"):
        path = tmp_path / f"l.{ext}"
        with RecordWriter(path) as w:
            w.write([dict(r) for r in HAND])
        tables, _ = aggregate_records(read_records(path), HAND_REG)
        for name in ("actors", "timeseries", "cooccurrence"):
            pd.testing.assert_frame_equal(tables[name], expected[name], check_dtype=False, obj=f"{ext} {name}")


def test_counts_add_up_on_many_posts_across_chunks(tmp_path):
    rng = random.Random(7)
    handles = ["hiroshima_pref", "BBCNews", "@bbcnews", "rtl.officiel", "user_x1", "user_x2", None, ""]
    names = [TREND, INFL, CRISIS]
    rows = [_post(str(i), rng.choice(handles), [n for n in names if rng.random() < 0.2],
                  views=rng.choice([None, rng.randint(0, 10_000)]),
                  created_at=rng.choice([None, f"2024-{rng.randint(1, 12):02d}-10T00:00:00Z"]))
            for i in range(21_000)]  # read back in 3 chunks of up to 10,000
    res = CliRunner().invoke(app, ["report", str(_write_jsonl(tmp_path / "l.jsonl", rows)), "-o", str(tmp_path / "r")])
    assert res.exit_code == 0, res.output
    actors = pd.read_csv(tmp_path / "r" / "actors.csv").set_index("actor")
    truth = Counter((r["actor"] or "").lstrip("@").lower() or "(no actor)" for r in rows)
    assert actors["posts"].to_dict() == dict(truth) and actors["posts"].sum() == 21_000
    assert actors.loc["bbcnews", "actor_type"] == "media" and actors.loc["user_x1", "actor_type"] == "unknown"
    types = pd.read_csv(tmp_path / "r" / "actor_types.csv")
    overall = pd.read_csv(tmp_path / "r" / "overall.csv").iloc[0]
    assert types["posts"].sum() == overall["posts"] == 21_000
    x = {c: export_name(c, names) for n in names for c in (f"{n}_posts", f"{n}_only_posts")}  # Stata-safe names
    for n in names:
        assert actors[x[f"{n}_posts"]].sum() == types[x[f"{n}_posts"]].sum() == sum(n in r["labels"] for r in rows)
    mix = actors["no_strategy_posts"] + actors["multi_strategy_posts"] + sum(actors[x[f"{n}_only_posts"]] for n in names)
    assert (mix == actors["posts"]).all()
    assert overall["views_known_posts"] == sum(r["views"] is not None for r in rows)
    ts = pd.read_csv(tmp_path / "r" / "timeseries.csv")
    assert ts.loc[ts["level"] == "all", "posts"].sum() + overall["posts_without_date"] == 21_000
    unknown = pd.read_csv(tmp_path / "r" / "unknown_actors.csv")
    assert set(unknown["actor"]) == {"user_x1", "user_x2"}
    assert pd.read_parquet(tmp_path / "r" / "actors.parquet")["posts"].sum() == 21_000
    assert sum(r["posts"] for r in json.loads((tmp_path / "r" / "actors.json").read_text())) == 21_000
    assert "2 handles are not in the actor registry" in res.output


class _Tags(HTMLParser):
    def __init__(self):
        super().__init__()
        self.tags, self.attrs = set(), []

    def handle_starttag(self, tag, attrs):
        self.tags.add(tag)
        self.attrs += attrs


def test_hostile_handles_names_and_hashtags_are_escaped(tmp_path):
    evil = "<script>alert(1)</script>"
    rows = [_post("1", evil, [CRISIS], hashtags=["<img src=x onerror=alert(1)>", "=cmd|' /C calc'!A0"]),
            _post("2", '=HYPERLINK("http://evil")', [CRISIS], hashtags=["<img src=x onerror=alert(1)>"]),
            _post("3", "a|b*c_$x^2$", [], views=5),
            _post("4", "@registered", [TREND]),
            _post("5", 'q"uote\\back\nline', [])]
    rows[2]["actor_name"] = "<b>name</b>\n| broken"
    reg = tmp_path / "mine.toml"
    reg.write_text('[actors."@Registered"]\nname = "<i>Evil & Co</i>"\ntype = "NGO"\n', encoding="utf-8")
    run = report(_write_jsonl(tmp_path / "l.jsonl", rows), tmp_path / "r", reg)
    assert run.posts == 5 and run.unknown_actors == 4
    template = read_registry(tmp_path / "r" / "actors_template.toml")  # fill-in file parses back, handles intact
    assert set(template) == {evil, '=hyperlink("http://evil")', "a|b*c_$x^2$", 'q"uote\\back\nline'}
    html = (tmp_path / "r" / "report.html").read_text(encoding="utf-8")
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html and "&lt;img src=x onerror=alert(1)&gt;" in html
    assert "&lt;i&gt;Evil &amp; Co&lt;/i&gt;" in html and "<script" not in html and "<i>" not in html
    parser = _Tags()
    parser.feed(html)
    assert parser.tags <= {"html", "head", "meta", "title", "style", "body", "h1", "h2", "p", "br", "ul", "li", "a",
                           "figure", "img", "figcaption", "div", "table", "thead", "tbody", "tr", "th", "td"}
    assert not [k for k, _ in parser.attrs if k.startswith("on")]
    assert all(v.startswith("data:image/png;base64,") for k, v in parser.attrs if k == "src")
    md = (tmp_path / "r" / "summary.md").read_text(encoding="utf-8")
    assert "<script" not in md and "<b>" not in md and "&lt;script&gt;" in md and r"a\|b\*c\_\$x^2\$" in md
    table = [line for line in md.splitlines() if line.startswith("| handle | posts | name in data")]
    rows_md = md.splitlines()[md.splitlines().index(table[0]):]
    unescaped = [line.replace("\\|", "").count("|") for line in rows_md[:5]]
    assert len(set(unescaped)) == 1  # no handle or name broke the table
    for path in (tmp_path / "r").glob("*.csv"):
        with open(path, encoding="utf-8") as fh:
            for row in csv.reader(fh):
                assert not [c for c in row if c[:1] in ("=", "+", "-", "@")], (path.name, row)
    actors = pd.read_csv(tmp_path / "r" / "actors.csv", keep_default_na=False)
    assert "'=hyperlink(\"http://evil\")" in set(actors["actor"])
    assert actors.set_index("actor").loc["registered", "actor_type"] == "NGO"
    tags = pd.read_csv(tmp_path / "r" / "hashtags.csv")
    assert "'=cmd|' /c calc'!a0" in set(tags["hashtag"])


def test_empty_input_still_writes_a_report(tmp_path):
    run = report(_write_jsonl(tmp_path / "l.jsonl", []), tmp_path / "r")
    assert run.posts == 0 and run.actors == 0
    assert pd.read_csv(tmp_path / "r" / "overall.csv").loc[0, "posts"] == 0
    assert "No data." in (tmp_path / "r" / "report.html").read_text(encoding="utf-8")


def test_shipped_registry_covers_demo_public_accounts_only():
    reg = load_registry()
    assert {v["type"] for v in reg.values()} <= set(ACTOR_TYPES)
    assert reg["rtl.officiel"]["type"] == "media" and reg["peter.caseyireland"]["type"] == "politician"
    assert reg["komei.official"]["type"] == "political party"  # entries that were already there are kept
    assert not [h for h in reg if h.startswith("user_")]  # pseudonymised private accounts stay unknown


@pytest.mark.parametrize("text,message", [
    ('[actors."x"]\ntype = "goverment"\n', "unknown type 'goverment'.*Use one of: government"),
    ('[actors."x"]\ntyp = "media"\n', "unknown key.*typ.*Valid keys: name, type, country"),
    ('[actors."x"]\ncountry = "Japan"\n', "country 'Japan'.*two-letter"),
    ('actors = 3\n', r"no \[actors\] entries"),
    ('[actors."x"\n', "invalid TOML"),
])
def test_bad_registry_names_file_and_what_to_do(tmp_path, text, message):
    path = tmp_path / "bad.toml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(InputFileError, match=message) as info:
        load_registry(path)
    assert str(path) in str(info.value)


def test_user_registry_overrides_and_is_case_insensitive(tmp_path):
    path = tmp_path / "mine.toml"
    path.write_text('[actors."@BBCNews"]\nname = "BBC"\ntype = "State Media"\ncountry = "gb"\n', encoding="utf-8")
    reg = load_registry(path)
    assert reg["bbcnews"] == {"name": "BBC", "type": "state media", "country": "GB"}
    assert reg["komei.official"]["type"] == "political party"


def test_bounded_counter_keeps_frequent_hashtags():
    c = BoundedCounter(cap=50)
    for i in range(2000):
        c.update([f"common{i % 3}", f"rare{i}"])
    assert len(c.counts) <= 50 and c.approximate
    assert [k for k, _ in c.counts.most_common(3)] == ["common0", "common1", "common2"]


def test_label_then_report_on_real_exports(tmp_path, data_dir):
    labelled = tmp_path / "l.jsonl"
    inputs = [data_dir / n for n in ("zeeschuimer.ndjson", "aiforensics_videos.csv")]
    res = CliRunner().invoke(app, ["label", *map(str, inputs), "-o", str(labelled)])
    assert res.exit_code == 0, res.output
    n_labelled = sum(1 for line in open(labelled, encoding="utf-8") if line.strip())
    res = CliRunner().invoke(app, ["report", str(labelled), "-o", str(tmp_path / "r")])
    assert res.exit_code == 0, res.output
    actors = pd.read_csv(tmp_path / "r" / "actors.csv")
    assert n_labelled > 0 and actors["posts"].sum() == n_labelled
    assert pd.read_csv(tmp_path / "r" / "actor_types.csv")["posts"].sum() == n_labelled
    assert {p.stem for p in (tmp_path / "r" / "charts").glob("*.png")} == {
        "estimates_overall", "estimates_types", "strategy_mix_actors", "strategy_mix_types", "engagement_types",
        "timeseries_all", "timeseries_types"}


@pytest.mark.parametrize("registry_text,message", [
    (None, "actor registry not found"),
    ('[actors."x"]\ntype = "spy"\n', "unknown type 'spy'"),
])
def test_report_cli_registry_errors_exit_1_with_one_line(tmp_path, registry_text, message):
    registry = tmp_path / "mine.toml"
    if registry_text is not None:
        registry.write_text(registry_text, encoding="utf-8")
    labelled = _write_jsonl(tmp_path / "l.jsonl", HAND)
    res = CliRunner().invoke(app, ["report", str(labelled), "-o", str(tmp_path / "r"), "--actors", str(registry)])
    assert res.exit_code == 1 and message in res.output
    assert len(res.output.strip().splitlines()) == 1 and not (tmp_path / "r").exists()


def test_registry_reports_all_problems_at_once_and_reads_csv(tmp_path):
    """Issue 19: every bad entry in one message; a CSV registry (handle,name,type,country) works the same."""
    bad = tmp_path / "bad.toml"
    bad.write_text('[actors."a"]\ntype = "goverment"\n[actors."b"]\ncountry = "Japan"\n[actors."c"]\ntype = "media"\n',
                   encoding="utf-8")
    with pytest.raises(InputFileError, match=r"2 problems.*'a' has unknown type 'goverment'.*'b' has country 'Japan'"):
        load_registry(bad)
    good = tmp_path / "mine.csv"
    good.write_text("handle,name,type,country,notes\n@MOFA_Japan,Ministry of Foreign Affairs of Japan,foreign ministry,jp,\n"
                    "bbcnews,BBC News,Media,GB,\n", encoding="utf-8")
    reg = load_registry(good)
    assert reg["mofa_japan"] == {"name": "Ministry of Foreign Affairs of Japan", "type": "foreign ministry", "country": "JP"}
    assert reg["bbcnews"]["type"] == "media"
    bad_csv = tmp_path / "bad.csv"
    bad_csv.write_text("handle,name,type,country\nx,X,spy,JP\n,Nameless,media,GB\ny,Y,media,Japan\n", encoding="utf-8")
    with pytest.raises(InputFileError, match=r"3 problems.*line 2: actor 'x' has unknown type 'spy'.*line 3: an actor "
                                             r"entry has an empty handle.*line 4: actor 'y' has country 'Japan'"):
        load_registry(bad_csv)


def test_actor_template_prefills_display_names_from_the_data():
    from pipeline.report.registry import actor_template

    text = actor_template([("user_1", 3), ("nhk_news", 2)], names={"nhk_news": 'NHK "News"'})
    assert 'name = "NHK \\"News\\""' in text and '[actors."user_1"]\n# ' not in text
    assert text.count('name = ""') == 1
    import tomllib

    assert tomllib.loads(text)["actors"]["nhk_news"]["name"] == 'NHK "News"'
