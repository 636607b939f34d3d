"""``label --engine dask`` on a 2-worker LocalCluster started here: the same records, rejects and
counts as ``--engine local`` (demo sample; a multi-partition input with duplicates across
partitions), a partitioned Parquet folder, ``label_dask``, and a worker killed mid-run."""

from __future__ import annotations

import json
import os
import random
import signal
import threading
import time
from pathlib import Path

import orjson
import pandas as pd
import pytest
from typer.testing import CliRunner

from pipeline.cli.main import app
from pipeline.io.writers import read_records
from pipeline.label.run import label_files

pytestmark = pytest.mark.slow
ROOT = Path(__file__).resolve().parents[2]
DEMO = ROOT / "samples" / "demo"
runner = CliRunner()


@pytest.fixture(scope="module")
def multi_inputs(tmp_path_factory) -> list[Path]:
    """Research API videos as JSONL, each video twice (the copies shuffled into later blocks), a
    malformed and a blank line, an invalid record, followed by a CSV and an NDJSON export."""
    out = tmp_path_factory.mktemp("multi")
    doc = json.loads((DEMO / "research_api_responses.json").read_text(encoding="utf-8"))
    videos = [v for page in doc["stored"] if isinstance(page, dict) and isinstance(page.get("data"), dict)
              for v in page["data"].get("videos") or []]
    copies = videos[:]
    random.Random(5).shuffle(copies)
    lines = [json.dumps(v, ensure_ascii=False) for v in videos + copies]
    lines.insert(40, '{"id": 1, "video_description": "broken')
    lines.insert(90, "")
    lines.insert(120, json.dumps({"id": None, "video_description": "no id"}))
    jsonl = out / "videos.jsonl"
    jsonl.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return [jsonl, DEMO / "eu24_aiforensics.csv", DEMO / "zeeschuimer_fosfor.ndjson"]


def _sorted_lines(path: Path, key) -> list[bytes]:
    recs = [orjson.loads(line) for line in path.read_bytes().splitlines() if line.strip()]
    return [orjson.dumps(r) for r in sorted(recs, key=key)]


def _by_id(r):
    return (str(r.get("post_id")), r["source_file"], r["source_line"])


def _assert_same(local_out: Path, dask_out: Path) -> None:
    assert _sorted_lines(dask_out, _by_id) == _sorted_lines(local_out, _by_id)
    rej = lambda p: p.with_name(p.name.split(".")[0] + ".rejects.jsonl")  # noqa: E731
    assert _sorted_lines(rej(dask_out), _by_id) == _sorted_lines(rej(local_out), _by_id)


def _local(inputs, out: Path, **kw):
    return label_files(inputs, out, workers=1, progress=False, **kw)


def test_demo_sample_cli_on_the_cluster_gives_the_local_records_and_rejects(cluster, demo_inputs, tmp_path):
    address = cluster.scheduler.address
    local = _local(demo_inputs, tmp_path / "local.jsonl", transcripts=DEMO / "transcripts")
    res = runner.invoke(app, ["label", *map(str, demo_inputs), "--transcripts", str(DEMO / "transcripts"),
                              "-o", str(tmp_path / "dask.jsonl"), "--engine", "dask", "--scheduler", address])
    assert res.exit_code == 0, res.output
    assert local.stats.summary(local.labelled) in res.output
    assert local.stats.rejected > 0  # the demo repeats posts: duplicates are rejected
    _assert_same(tmp_path / "local.jsonl", tmp_path / "dask.jsonl")


def test_multi_partition_input_with_duplicates_across_partitions(cluster, multi_inputs, tmp_path):
    from pipeline.ingest.partitions import plan_parts
    from pipeline.label.dask_engine import label_files_dask

    parts = plan_parts(multi_inputs, partitions=12)
    assert sum(p.path.endswith("videos.jsonl") for p in parts) >= 4
    assert [p.how for p in parts if p.kind == "csv"] == ["file"]  # a CSV is read whole (see ingest.partitions)
    local = _local(multi_inputs, tmp_path / "local.jsonl")
    run = label_files_dask(multi_inputs, tmp_path / "dask.jsonl", partitions=12, client=cluster, progress=False)
    assert (run.stats.read, run.labelled, run.stats.rejected) == (local.stats.read, local.labelled, local.stats.rejected)
    assert run.stats.read == run.labelled + run.stats.rejected
    assert run.stats.reasons == local.stats.reasons and run.stats.reasons["duplicate post_id"] > 50
    _assert_same(tmp_path / "local.jsonl", tmp_path / "dask.jsonl")
    # in input order too, not only after sorting
    assert (tmp_path / "dask.jsonl").read_bytes() == (tmp_path / "local.jsonl").read_bytes()


def test_partitioned_parquet_folder_reads_with_pandas_and_report(cluster, multi_inputs, tmp_path):
    from pipeline.label.dask_engine import label_files_dask

    local = _local(multi_inputs, tmp_path / "local.parquet")
    folder = tmp_path / "labelled"
    (folder).mkdir()
    (folder / "part-00999.parquet").write_bytes(b"stale part of an earlier run")
    run = label_files_dask(multi_inputs, folder, partitions=6, client=cluster, progress=False)
    assert run.labelled == local.labelled
    names = sorted(p.name for p in folder.iterdir())
    assert names[0] == "_SUCCESS" and all(n.startswith("part-") for n in names[1:]) and "part-00999.parquet" not in names
    df = pd.read_parquet(folder)
    ref = pd.read_parquet(tmp_path / "local.parquet")
    assert len(df) == len(ref) and sorted(df["post_id"]) == sorted(ref["post_id"])
    cols = ["post_id", "labels", "score_crisis_messaging", "source_file", "source_line", "language"]
    a = df[cols].sort_values("post_id").reset_index(drop=True)
    b = ref[cols].sort_values("post_id").reset_index(drop=True)
    assert a.map(str).equals(b.map(str))
    recs = [r for chunk in read_records(folder) for r in chunk]
    assert len(recs) == local.labelled and isinstance(recs[0]["scores"], dict)


def test_folder_without_success_marker_is_refused(tmp_path):
    from pipeline.errors import PipelineError

    (tmp_path / "part-00000.parquet").write_bytes(b"x")
    with pytest.raises(PipelineError, match="_SUCCESS"):
        next(read_records(tmp_path))


def test_label_dask_api_returns_a_dask_dataframe(cluster, multi_inputs, tmp_path):
    import dask.dataframe as dd

    from pipeline.label.dask_engine import label_dask

    local = _local(multi_inputs, tmp_path / "local.jsonl")
    ddf, rejects = label_dask(multi_inputs, partitions=5, with_rejects=True)
    assert isinstance(ddf, dd.DataFrame) and ddf.npartitions >= 5
    df, rej = ddf.compute(), rejects.compute()
    assert len(df) == local.labelled and len(rej) == local.stats.rejected
    assert df["post_id"].is_unique
    # a Dask DataFrame of canonical columns, with a duplicate across its partitions
    posts = pd.DataFrame({"post_id": ["1", "2", "3", "2"], "caption": ["Stand with Ukraine", "hello", "a", "b"],
                          "actor": ["x", "y", "z", "y"]})
    out, rej = label_dask(dd.from_pandas(posts, npartitions=2), with_rejects=True)
    out, rej = out.compute(), rej.compute()
    assert sorted(out["post_id"]) == ["1", "2", "3"]
    assert rej["reason"].tolist() == ["duplicate post_id 2 (first seen at dataframe partition 0 line 2)"]


def test_a_worker_killed_mid_run_is_replaced_and_the_output_is_the_same(cluster, multi_inputs, tmp_path):
    from pipeline.label.dask_engine import label_files_dask

    _local(multi_inputs, tmp_path / "local.jsonl")
    pids = cluster.run(os.getpid)
    killed: list[str] = []

    def kill_a_busy_worker() -> None:
        deadline = time.time() + 300
        while time.time() < deadline and not killed:
            for worker, keys in cluster.processing().items():
                if any(str(k).startswith("label-part") for k in keys):
                    os.kill(pids[worker], signal.SIGKILL)
                    killed.append(worker)
                    return
            time.sleep(0.05)

    killer = threading.Thread(target=kill_a_busy_worker)
    killer.start()
    run = label_files_dask(multi_inputs, tmp_path / "dask.jsonl", partitions=20, client=cluster, progress=False)
    killer.join()
    assert killed, "no labelling task was seen running"
    assert run.stats.read == run.labelled + run.stats.rejected
    _assert_same(tmp_path / "local.jsonl", tmp_path / "dask.jsonl")


def test_scheduler_file_connects_to_the_cluster(cluster, tmp_path):
    from pipeline.label.dask_engine import dask_client

    path = tmp_path / "scheduler.json"
    path.write_text(json.dumps({"address": cluster.scheduler.address}), encoding="utf-8")
    with dask_client(str(path)) as client:
        assert len(client.scheduler_info()["workers"]) >= 1  # the worker killed above may still be restarting


def test_duplicate_runs_normalised_fields_and_provenance_as_locally(cluster, tmp_path):
    """A run of consecutive duplicates cut by partition ends is one reject with its count; a
    float-form id, a lone surrogate and an out-of-range count are handled by main's per-record
    normalisation in the workers as in the local engine; the provenance sidecar is written."""
    from pipeline.ingest.partitions import plan_parts
    from pipeline.label.dask_engine import label_files_dask

    rows = [{"post_id": str(100 + i), "caption": f"Stand with Ukraine, post {i} " + "x" * 40, "author": f"acct{i % 5}",
             "views": 10 * i} for i in range(60)]
    rows[10:10] = [dict(rows[5], caption="copy")] * 25  # a run of 25 copies of post 105
    rows.insert(50, {"post_id": "7.23457E+18", "caption": "an id a spreadsheet rounded", "author": "a"})
    rows.insert(51, {"post_id": "900", "caption": "lone \ud800 surrogate", "author": "a", "views": 2**70})
    path = tmp_path / "posts.jsonl"
    path.write_text("\n".join(json.dumps(r) for r in rows) + "\n", encoding="utf-8")
    assert len(plan_parts([path], partitions=6)) >= 5
    local = _local([path], tmp_path / "local.jsonl")
    run = label_files_dask([path], tmp_path / "dask.jsonl", partitions=6, client=cluster, progress=False)
    _assert_same(tmp_path / "local.jsonl", tmp_path / "dask.jsonl")
    assert (run.labelled, run.stats.read, run.stats.rejected, run.stats.duplicates) == \
        (local.labelled, local.stats.read, local.stats.rejected, local.stats.duplicates)
    assert run.stats.surrogates_replaced == local.stats.surrogates_replaced == 1
    assert run.stats.unusable == local.stats.unusable and run.stats.unusable["count"] == 1
    rejects = [orjson.loads(line) for line in (tmp_path / "dask.rejects.jsonl").read_bytes().splitlines()]
    runs = [r for r in rejects if r["reason"].startswith("duplicate post_id 105")]
    assert len(runs) == 1 and runs[0]["count"] == 25 and "lines 11-35" in runs[0]["reason"]
    assert any(r["post_id"] == "7.23457E+18" and "floating-point" in r["reason"] for r in rejects)
    prov = json.loads((tmp_path / "dask.jsonl.meta.json").read_text(encoding="utf-8"))
    assert prov["posts_labelled"] == run.labelled and prov["engine"] == "dask"
    assert prov["inputs"][0]["rows"] == run.stats.read
