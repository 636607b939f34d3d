"""Event windows: a known shift in strategy mix is flagged, a null event is not; events from CLI, TOML, CSV."""

import pandas as pd
import pytest
from typer.testing import CliRunner

from pipeline.analysis.events import Event, event_windows, newcombe_interval, parse_event, read_events
from pipeline.analysis.posts import load_posts
from pipeline.cli.main import app
from pipeline.errors import InputFileError, PipelineError
from pipeline.io.writers import RecordWriter

REG = {"emb": {"name": "Embassy", "type": "embassy", "country": "JP"},
       "gov": {"name": "Ministry", "type": "government", "country": "JP"}}
SHIFT, NULL = Event("Summit", pd.Timestamp("2024-06-01").date()), Event("Nothing", pd.Timestamp("2024-03-01").date())


def _posts(actor, start, n, crisis_every):
    """n posts, one per 6 hours from ``start``; every ``crisis_every``-th one labelled crisis_messaging."""
    t0 = pd.Timestamp(start, tz="UTC")
    return [{"post_id": f"{actor}-{start}-{i}", "actor": actor,
             "created_at": (t0 + pd.Timedelta(hours=6 * i)).isoformat(),
             "labels": ["crisis_messaging"] if i % crisis_every == 0 else [], "scores": {}} for i in range(n)]


@pytest.fixture(scope="module")
def labelled(tmp_path_factory):
    recs = (_posts("emb", "2024-05-06", 100, 10)      # before the summit: 10 of 100 crisis
            + _posts("emb", "2024-06-01", 100, 2)     # after: 50 of 100
            + _posts("gov", "2024-02-05", 100, 5)     # null event: 20 of 100 before and after
            + _posts("gov", "2024-03-01", 100, 5))
    path = tmp_path_factory.mktemp("ev") / "labelled.jsonl"
    with RecordWriter(path) as w:
        w.write(recs)
    return path


def test_known_shift_is_flagged_and_null_event_is_not(labelled):
    posts = load_posts([labelled], REG)
    rows = event_windows(posts, [SHIFT, NULL], pd.Timedelta(days=30).to_pytimedelta())
    crisis = rows[rows["strategy"] == "crisis_messaging"].set_index(["event", "level", "group"])
    shift = crisis.loc[("Summit", "actor", "emb")]
    assert (shift["posts_before"], shift["posts_after"]) == (100, 100)
    assert (shift["with_before"], shift["with_after"]) == (10, 50)
    assert shift["difference"] == pytest.approx(0.4)
    assert 0 < shift["diff_ci_low"] < 0.4 < shift["diff_ci_high"] < 1 and shift["significant"]
    assert crisis.loc[("Summit", "actor_type", "embassy")]["significant"]
    assert crisis.loc[("Summit", "all", "all")]["significant"]
    null = rows[rows["event"] == "Nothing"]
    assert set(null["group"]) == {"all", "government", "gov"}
    assert not null["significant"].any()
    assert null.loc[null["strategy"] == "crisis_messaging", "difference"].eq(0).all()
    assert (null["posts_before"] == 100).all() and (null["posts_after"] == 100).all()
    # a strategy nobody used is 0% on both sides: difference 0, not flagged
    assert not rows[rows["strategy"] == "trend_participation"]["significant"].any()


def test_newcombe_matches_the_published_example():
    # Newcombe (1998), Table II example (a): 56/70 vs 48/80 → difference 0.2, 95% CI 0.0524 to 0.3339
    d, lo, hi = newcombe_interval([48], [80], [56], [70])
    assert d[0] == pytest.approx(0.2) and lo[0] == pytest.approx(0.0524, abs=5e-4) and hi[0] == pytest.approx(
        0.3339, abs=5e-4)


def test_parse_and_read_events(tmp_path):
    assert parse_event("G7 Hiroshima=2023-05-19") == Event("G7 Hiroshima", pd.Timestamp("2023-05-19").date())
    for bad in ("G7", "=2023-05-19", "G7=19.05.2023", "G7=2023-02-30"):
        with pytest.raises(PipelineError, match="NAME=YYYY-MM-DD"):
            parse_event(bad)
    toml = tmp_path / "e.toml"
    toml.write_text('[[event]]\nname = "A"\ndate = 2024-01-02\ndescription = "x"\n[[event]]\nname = "B"\n'
                    'date = "2024-02-03"\n', encoding="utf-8")
    assert [(e.name, str(e.day), e.description) for e in read_events(toml)] == [("A", "2024-01-02", "x"),
                                                                                  ("B", "2024-02-03", "")]
    csv = tmp_path / "e.csv"
    csv.write_text("name,date,description\nA,2024-01-02,\nB,2024-13-01,oops\n", encoding="utf-8")
    with pytest.raises(InputFileError, match=r"e.csv: line 3: .*2024-13-01"):
        read_events(csv)
    csv.write_text("title,day\nA,2024-01-02\n", encoding="utf-8")
    with pytest.raises(InputFileError, match="no date or name column"):
        read_events(csv)


def test_report_cli_with_events(labelled, tmp_path):
    out = tmp_path / "r"
    res = CliRunner().invoke(app, ["report", str(labelled), "-o", str(out), "--event", "Summit=2024-06-01",
                                   "--event", "Nothing=2024-03-01", "--window", "30d"])
    assert res.exit_code == 0, res.output
    rows = pd.read_csv(out / "event_windows.csv")
    assert rows[rows["significant"]]["event"].unique().tolist() == ["Summit"]
    html = (out / "analyses.html").read_text(encoding="utf-8")
    assert "Event: Summit" in html and "Trend adoption" in html and (out / "analysis_charts" / "event_1.png").is_file()
    bad = CliRunner().invoke(app, ["report", str(labelled), "-o", str(tmp_path / "x"), "--event", "Summit"])
    assert bad.exit_code == 2 and not (tmp_path / "x").exists()
    bad = CliRunner().invoke(app, ["report", str(labelled), "-o", str(tmp_path / "x"), "--events",
                                   str(tmp_path / "missing.toml")])
    assert bad.exit_code == 1 and "missing.toml" in bad.output


def test_demo_events_file_reads():
    from pipeline.report.registry import CONFIG_DIR

    events = read_events(CONFIG_DIR.parent / "samples" / "demo" / "events.toml")
    assert [e.day.isoformat() for e in events] == ["2023-05-19", "2023-08-24"]
