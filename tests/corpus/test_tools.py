"""Corpus tools: importers on real-format exports, Label Studio round trip, validation, stats, suggest."""

import csv
import json
import xml.etree.ElementTree as ET

import numpy as np
import pytest
from typer.testing import CliRunner

from pipeline.cli.main import app
from pipeline.corpus.active_learning import select_diverse, uncertainty
from pipeline.corpus.importer import import_annotations
from pipeline.corpus.read import CorpusError, read_corpus
from pipeline.corpus.stats import corpus_stats
from pipeline.corpus.tool_formats import detect_format
from pipeline.schema import POST_FIELDS, has_text, labels

runner = CliRunner()
T, INF, C = labels()
# Real posts of corpora/diplomacy_strategies.jsonl used by the fixtures in tests/data/annotation.
A, B, CC, D, E, F, G = ("7185595376949415210", "7312409184643878176", "7363559674123275552", "7098612433769549058",
                        "6829941131757882626", "6839138030062701826", "7088900078215236891")
SIX = {A: [C], B: [T], CC: [INF], D: [INF, C], E: [T, C], F: []}


def run(*args):
    return runner.invoke(app, [str(a) for a in args])


@pytest.fixture(scope="module")
def ann(data_dir):
    return data_dir / "annotation"


@pytest.fixture(scope="module")
def by_id(corpus_records):
    return {r["post_id"]: r for r in corpus_records}


def write_jsonl(path, records):
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records), encoding="utf-8")
    return path


# --- importers on each tool's real export format ------------------------------------------------

@pytest.mark.parametrize("name,fmt,expected,judgements,skipped", [
    ("labelstudio_export.json", "labelstudio", SIX, 7, {"Label Studio tasks without a submitted annotation": 2}),
    ("prodigy_textcat_manual.jsonl", "prodigy", SIX, 7, {"Prodigy answers 'ignore'": 1}),
    ("prodigy_textcat_binary.jsonl", "prodigy", {A: [C], B: [T], G: [T], F: []}, 7, {"Prodigy answers 'ignore'": 1}),
    ("doccano_admin.jsonl", "doccano", {**SIX, G: [T]}, 7, {}),
    ("spreadsheet.csv", "csv", {A: [C], D: [INF, C], E: [T, C], F: [], G: [T]}, 5, {}),
])
def test_importer_reads_real_export(tmp_path, ann, by_id, name, fmt, expected, judgements, skipped):
    assert detect_format(ann / name) == fmt
    out = tmp_path / "corpus.jsonl"
    result = import_annotations([ann / name], out)
    recs = read_corpus([out])  # what was written is a valid corpus
    assert {r["post_id"]: r["labels"] for r in recs} == expected
    assert (result.posts, result.judgements, dict(result.skipped)) == (len(expected), judgements, skipped)
    assert result.positives == {n: sum(n in v for v in expected.values()) for n in labels()}
    for r in recs:
        assert r["caption"] == by_id[r["post_id"]]["caption"]
        assert r["source"].startswith(f"{fmt}:{name}") and r["annotated_at"][:4].isdigit() and r["language"]


def test_tool_metadata_becomes_annotator_date_and_note(tmp_path, ann):
    def imported(name):
        out = tmp_path / f"{name}.jsonl"
        import_annotations([ann / name], out)
        return {r["post_id"]: r for r in read_corpus([out])}

    ls = imported("labelstudio_export.json")
    assert ls[CC]["annotator"] == "ls-user-1+ls-user-2" and ls[CC]["annotated_at"] == "2025-03-12"
    assert ls[D]["note"].startswith("Singer's visit") and ls[F]["labels"] == []
    assert imported("prodigy_textcat_manual.jsonl")[A]["annotator"] == "strategies-alice+strategies-bilal"
    assert imported("prodigy_textcat_manual.jsonl")[A]["annotated_at"] == "2025-03-13"  # the later answer
    assert imported("doccano_admin.jsonl")[D]["note"] == "guest singer + war appeal"
    sheet = imported("spreadsheet.csv")
    assert (sheet[F]["annotator"], sheet[F]["annotated_at"], sheet[F]["note"]) == ("mh", "2025-03-03", "tourism promo")


def test_binary_prodigy_answers_merge_per_post(tmp_path, ann):
    result = import_annotations([ann / "prodigy_textcat_binary.jsonl"], tmp_path / "c.jsonl")
    assert result.partial == 3  # only B was asked about all three labels


def test_all_tools_together_merge_into_one_corpus(tmp_path, ann):
    files = sorted(ann.iterdir())
    res = run("corpus", "import", *files, "-o", tmp_path / "all.jsonl", "--annotator", "team")
    assert res.exit_code == 0, res.output
    recs = read_corpus([tmp_path / "all.jsonl"])
    assert {r["post_id"]: r["labels"] for r in recs} == {**SIX, G: [T]}
    assert {r["annotator"] for r in recs} == {"team"}
    assert "imported 7 posts (33 judgements) from 5 file(s)" in res.stderr


def test_csv_with_one_column_per_label(tmp_path, by_id):
    path = tmp_path / "sheet.csv"
    with open(path, "w", encoding="utf-8", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["post_id", "caption", T, INF, C])
        for pid, flags in ((A, "001"), (D, "011"), (F, "000")):
            w.writerow([pid, by_id[pid]["caption"], *flags])
    import_annotations([path], tmp_path / "c.jsonl")
    assert {r["post_id"]: r["labels"] for r in read_corpus([tmp_path / "c.jsonl"])} == {A: [C], D: [INF, C], F: []}


# --- validation: file and line, what is wrong, what is valid -----------------------------------

def _lines(path):
    return path.read_text(encoding="utf-8").splitlines(keepends=True)


def test_unknown_label_names_file_line_and_closest_label(tmp_path, ann):
    lines = _lines(ann / "doccano_admin.jsonl")
    bad = tmp_path / "admin.jsonl"
    bad.write_text(lines[0] + lines[1].replace('"trend_participation"', '"trend_particpation"'), encoding="utf-8")
    res = run("corpus", "import", bad, "-o", tmp_path / "out.jsonl")
    assert res.exit_code == 1 and "Traceback" not in res.output
    assert res.stderr.strip().splitlines() == [res.stderr.strip()]  # one line
    assert res.stderr.startswith(f"error: {bad}:2: unknown label 'trend_particpation'")
    assert "Did you mean 'trend_participation'?" in res.stderr
    assert not (tmp_path / "out.jsonl").exists()


def test_unknown_label_in_label_studio_names_the_task(tmp_path, ann):
    tasks = json.loads((ann / "labelstudio_export.json").read_text(encoding="utf-8"))
    tasks[1]["annotations"][0]["result"][0]["value"]["choices"] = ["Crisis messaging"]
    bad = write_jsonl(tmp_path / "x.json", [])
    bad.write_text(json.dumps(tasks), encoding="utf-8")
    with pytest.raises(CorpusError, match=r"x\.json: task 2 \(id 202\): unknown label 'Crisis messaging'.*"
                                          r"Did you mean 'crisis_messaging'"):
        import_annotations([bad], tmp_path / "out.jsonl")


def test_duplicate_id_on_different_posts(tmp_path, ann):
    rows = [json.loads(x) for x in _lines(ann / "doccano_admin.jsonl")[:2]]
    rows[1]["post_id"] = rows[0]["post_id"]
    bad = write_jsonl(tmp_path / "dup.jsonl", rows)
    with pytest.raises(CorpusError, match=rf"dup\.jsonl:2: post id {A} is also used at .*dup\.jsonl:1 for a "
                                          "different post"):
        import_annotations([bad], tmp_path / "out.jsonl")


def test_empty_text_is_refused(tmp_path):
    bad = tmp_path / "sheet.csv"
    bad.write_text(f"post_id,text,labels\n{A},Here are Russia's top allies,crisis_messaging\n{B},  ,\n",
                   encoding="utf-8")
    with pytest.raises(CorpusError, match=rf"sheet\.csv:3: post {B} has no caption, transcript or on-screen text"):
        import_annotations([bad], tmp_path / "out.jsonl")


def test_same_post_annotated_differently_across_files(tmp_path, ann):
    rows = [json.loads(x) for x in _lines(ann / "doccano_admin.jsonl")]
    rows[4]["label"] = [T]  # E is trend+crisis in the Label Studio export
    other = write_jsonl(tmp_path / "other.jsonl", rows)
    with pytest.raises(CorpusError, match=rf"other\.jsonl:5: post {E} is annotated \['trend_participation'\] here "
                                          r"but \['trend_participation', 'crisis_messaging'\] at .*labelstudio_export"
                                          r"\.json: task 5 \(id 205\)\. Adjudicate"):
        import_annotations([ann / "labelstudio_export.json", other], tmp_path / "out.jsonl")


def test_binary_accept_and_reject_of_one_label_conflict(tmp_path, ann):
    first = json.loads(_lines(ann / "prodigy_textcat_binary.jsonl")[0])
    bad = write_jsonl(tmp_path / "bin.jsonl", [first, {**first, "answer": "reject", "_annotator_id": "bob"}])
    with pytest.raises(CorpusError, match=r"bin\.jsonl:2: post .*: crisis_messaging is rejected here but accepted at "
                                          r".*bin\.jsonl:1"):
        import_annotations([bad], tmp_path / "out.jsonl")


def test_misspelled_label_column_is_suggested(tmp_path):
    bad = tmp_path / "flags.csv"
    bad.write_text(f"post_id,caption,{T},{INF},crisis_mesaging\n{A},text,0,0,1\n", encoding="utf-8")
    with pytest.raises(CorpusError, match=r"flags\.csv:1: .*crisis_messaging are missing; columns 'crisis_mesaging' "
                                          r"\(did you mean 'crisis_messaging'\?\)"):
        import_annotations([bad], tmp_path / "out.jsonl")


def test_unrecognised_json_asks_for_format(tmp_path):
    bad = write_jsonl(tmp_path / "x.jsonl", [{"foo": 1}])
    res = run("corpus", "import", bad, "-o", tmp_path / "out.jsonl")
    assert res.exit_code == 1 and "cannot tell which annotation tool" in res.stderr and "--format" in res.stderr


# --- export → annotate in Label Studio → import --------------------------------------------------

def _annotate_with_predictions(tasks):
    """What an annotator accepting every pre-annotation in Label Studio exports."""
    for i, task in enumerate(tasks, start=1):
        task.update(id=100 + i, annotations=[{
            "id": i, "completed_by": 3, "result": task["predictions"][0]["result"], "was_cancelled": False,
            "ground_truth": False, "created_at": "2025-04-01T10:00:00.000000Z",
            "updated_at": "2025-04-01T10:00:05.000000Z", "lead_time": 5.0, "task": 100 + i, "project": 9}])
    return tasks


def test_round_trip_corpus_to_label_studio_and_back(tmp_path, corpus_records, small_model):
    from pipeline.model.artefact import load_model

    held_out = [r for r in corpus_records[1::4] if has_text(r)]  # not in the small model's training set
    sample = [r for r in held_out if r["labels"]][:8] + [r for r in held_out if not r["labels"]][:4]
    corpus = write_jsonl(tmp_path / "corpus.jsonl", sample)
    tasks_path = tmp_path / "tasks.json"
    res = run("corpus", "export", corpus, "-o", tasks_path, "--model", small_model)
    assert res.exit_code == 0, res.output
    tasks = json.loads(tasks_path.read_text(encoding="utf-8"))
    assert len(tasks) == len(sample)
    for task in tasks:
        (pred,) = task["predictions"]
        assert pred["model_version"].startswith("m-") and 0.0 <= pred["score"] <= 1.0
        assert all(r["type"] == "choices" and r["from_name"] == "strategy" and r["to_name"] == "text"
                   for r in pred["result"])
    config = ET.parse(tmp_path / "tasks.label_config.xml").getroot()
    (choices,) = config.iter("Choices")
    assert choices.get("choice") == "multiple" and choices.get("toName") == "text"
    assert [c.get("value") for c in choices.iter("Choice")] == list(labels())

    annotated = tmp_path / "project-9-at-2025-04-01.json"
    annotated.write_text(json.dumps(_annotate_with_predictions(tasks)), encoding="utf-8")
    res = run("corpus", "import", annotated, "-o", tmp_path / "back.jsonl")
    assert res.exit_code == 0, res.output
    back = read_corpus([tmp_path / "back.jsonl"])
    model, _ = load_model(small_model)
    assert [r["labels"] for r in back] == model.predict_labels(sample)
    assert any(r["labels"] for r in back)
    assert [r["post_id"] for r in back] == [r["post_id"] for r in sample]
    for before, after in zip(sample, back):
        for f in (*POST_FIELDS, "source", "sampling"):
            assert after.get(f) == before.get(f), f
        assert after["annotator"] == "ls-user-3"


@pytest.mark.parametrize("name", ["labelstudio_export.json", "prodigy_textcat_manual.jsonl", "doccano_admin.jsonl",
                                  "spreadsheet.csv"])
def test_round_trip_from_each_tool(tmp_path, ann, small_model, name):
    first = tmp_path / "first.jsonl"
    import_annotations([ann / name], first)
    res = run("corpus", "export", first, "-o", tmp_path / "t.json", "--model", small_model)
    assert res.exit_code == 0, res.output
    tasks = _annotate_with_predictions(json.loads((tmp_path / "t.json").read_text(encoding="utf-8")))
    (tmp_path / "t.json").write_text(json.dumps(tasks), encoding="utf-8")
    import_annotations([tmp_path / "t.json"], tmp_path / "back.jsonl")
    before, after = read_corpus([first]), read_corpus([tmp_path / "back.jsonl"])
    predicted = [[c for r in t["predictions"][0]["result"] for c in r["value"]["choices"]] for t in tasks]
    assert [r["labels"] for r in after] == predicted
    assert [(r["post_id"], r["caption"], r["source"]) for r in after] == \
           [(r["post_id"], r["caption"], r["source"]) for r in before]


def test_export_reads_platform_exports_without_a_model(tmp_path, data_dir):
    res = run("corpus", "export", data_dir / "zeeschuimer.ndjson", "-o", tmp_path / "t.json", "--no-predictions")
    assert res.exit_code == 0, res.output
    tasks = json.loads((tmp_path / "t.json").read_text(encoding="utf-8"))
    assert len(tasks) == 5 and all("predictions" not in t for t in tasks)
    assert all(t["data"]["post_id"] and t["data"]["text"] for t in tasks)
    assert (tmp_path / "t.label_config.xml").is_file()


# --- stats ---------------------------------------------------------------------------------------

def test_stats_counts(tmp_path, corpus_records):
    spec = [([C], "s1", "a", "en"), ([T, C], "s1", "a+b", "ja"), ([], "s2", "b", "ja"), ([INF], "s2", "c", "ja"),
            ([], "s2", "a", "en")]
    recs = [{**r, "labels": lab, "sampling": s, "annotator": who, "language": lang, "source": "src"}
            for r, (lab, s, who, lang) in zip(corpus_records[:5], spec)]
    corpus = write_jsonl(tmp_path / "c.jsonl", recs)
    stats = corpus_stats(read_corpus([corpus]))
    assert stats["n_posts"] == 5 and stats["positives"] == {T: 1, INF: 1, C: 2}
    assert (stats["no_label"], stats["multi_label"], stats["double_annotated"]) == (2, 1, 1)
    assert stats["languages"] == {"ja": 3, "en": 2} and stats["sources"] == {"src": 5}
    assert stats["annotators"] == {"a": 3, "b": 2, "c": 1}
    assert stats["sampling"] == {"s2": {"posts": 3, T: 0, INF: 1, C: 0}, "s1": {"posts": 2, T: 1, INF: 0, C: 2}}
    res = run("corpus", "stats", corpus, "--json", tmp_path / "s.json")
    assert res.exit_code == 0, res.output
    assert json.loads((tmp_path / "s.json").read_text(encoding="utf-8")) == stats
    assert "5 annotated posts" in res.stdout and "crisis_messaging" in res.stdout
    assert any(line.split()[:2] == ["s2", "3"] for line in res.stdout.splitlines())


# --- active learning -----------------------------------------------------------------------------

@pytest.mark.parametrize("proba,thresholds,expected", [
    ([0.3, 0.0, 1.0], [0.3, 0.5, 0.5], 1.0),     # one label exactly at its threshold
    ([0.0, 1.0, 0.0], [0.3, 0.5, 0.5], 0.0),     # every label certain
    ([0.1, 0.0, 1.0], [0.2, 0.5, 0.5], 0.5),     # half-way between 0 and a threshold of 0.2
    ([0.6, 0.0, 1.0], [0.2, 0.5, 0.5], 0.5),     # half-way between 0.2 and 1
])
def test_uncertainty_is_closeness_to_threshold(proba, thresholds, expected):
    assert uncertainty(np.array([proba]), thresholds)[0] == pytest.approx(expected)


def test_diverse_selection_skips_near_duplicates():
    texts = ["Evacuation order: typhoon approaching, go to shelters now"] * 3 + \
            ["#dance challenge with the mayor", "Our ambassador visits a flooded village"]
    scores = [0.9, 0.9, 0.9, 0.5, 0.4]
    assert select_diverse(texts, scores, 3) == [0, 3, 4]
    assert select_diverse(texts, scores, 3, diversity=0) == [0, 1, 2]  # uncertainty only
    assert select_diverse(texts, scores, 2, known_texts=[texts[0]]) == [3, 4]  # already annotated


def test_suggest_picks_uncertain_distinct_unannotated_posts(tmp_path, corpus_records, small_model):
    from pipeline.model.artefact import load_model

    keep = ("post_id", "actor", "caption", "transcript", "on_screen_text", "hashtags", "language")
    pool = [{k: r[k] for k in keep if k in r} for r in corpus_records[1::4][:60] if has_text(r)]
    model, _ = load_model(small_model)
    unc = uncertainty(model.predict_proba(pool), model.thresholds_)
    top = int(np.argmax(unc))
    copies = [{**pool[top], "post_id": f"{pool[top]['post_id']}{k}"} for k in range(3)]  # reposts
    # Some uncertain posts are already annotated: the five least similar to the top post (the
    # selection's own char n-gram similarity), so "most uncertain first" is what must happen.
    from sklearn.feature_extraction.text import TfidfVectorizer

    from pipeline.corpus.export import display_text

    uncertain = [int(i) for i in np.argsort(unc)[::-1][1:40] if i != top]
    V = TfidfVectorizer(analyzer="char_wb", ngram_range=(2, 4), sublinear_tf=True).fit_transform(
        [display_text(pool[i]) for i in [top] + uncertain])
    sim_to_top = (V[1:] @ V[0].T).toarray().ravel()
    annotated = [uncertain[k] for k in np.argsort(sim_to_top, kind="stable")[:5]]
    exclude = write_jsonl(tmp_path / "done.jsonl", [{**corpus_records[1::4][i], "labels": []} for i in annotated])
    posts = write_jsonl(tmp_path / "pool.jsonl", pool + copies)

    res = run("corpus", "suggest", posts, "-n", 5, "-o", tmp_path / "next.json", "--model", small_model,
              "--exclude", exclude)
    assert res.exit_code == 0, res.output
    picked = [t["data"] for t in json.loads((tmp_path / "next.json").read_text(encoding="utf-8"))]
    ids = [p["post_id"] for p in picked]
    assert len(ids) == 5 == len(set(ids))
    assert not set(ids) & {pool[i]["post_id"] for i in annotated}
    dup_group = {pool[top]["post_id"]} | {c["post_id"] for c in copies}
    assert ids[0] in dup_group and len(set(ids) & dup_group) == 1  # most uncertain first, copies not repeated
    remaining = sorted((u for i, u in enumerate(unc) if i not in annotated), reverse=True)
    assert min(p["uncertainty"] for p in picked) >= round(remaining[5 * 5 - 1], 4)  # from the 5·N most uncertain
    assert np.mean([p["uncertainty"] for p in picked]) > np.mean(unc)
    assert [p["suggestion_rank"] for p in picked] == [1, 2, 3, 4, 5]
    assert (tmp_path / "next.label_config.xml").is_file()

    assert "left out: 5 already annotated" in res.stderr

    # Without the diversity term the picks are exactly the most uncertain posts, copies included.
    res = run("corpus", "suggest", posts, "-n", 5, "-o", tmp_path / "next.jsonl", "--model", small_model,
              "--exclude", exclude, "--diversity", 0)
    assert res.exit_code == 0, res.output
    rows = [json.loads(x) for x in (tmp_path / "next.jsonl").read_text(encoding="utf-8").splitlines()]
    runner_up = next(i for i in np.argsort(unc)[::-1] if i != top and i not in annotated)
    assert {r["post_id"] for r in rows} == dup_group | {pool[runner_up]["post_id"]}
    assert all(r["text"] and set(r["scores"]) == set(labels()) for r in rows)
    assert all(set(r["predicted_labels"]) <= set(labels()) for r in rows)


def test_corpus_commands_are_registered():
    res = run("corpus", "--help")
    assert res.exit_code == 0 and all(cmd in res.output for cmd in ("import", "export", "stats", "suggest"))
    assert "--annotator" in run("corpus", "import", "--help").output
