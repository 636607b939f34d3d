"""``report --engine dask`` (aggregation partition by partition on a 2-worker LocalCluster, sums
merged on the client) gives the tables of the local report."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

from pipeline.cli.main import app
from pipeline.io.writers import read_records
from pipeline.label.run import label_files
from pipeline.report.aggregate import aggregate_records
from pipeline.report.registry import load_registry

pytestmark = pytest.mark.slow
DEMO = Path(__file__).resolve().parents[2] / "samples" / "demo"
runner = CliRunner()


@pytest.fixture(scope="module")
def labelled(tmp_path_factory, demo_inputs) -> dict[str, Path]:
    out = tmp_path_factory.mktemp("labelled")
    paths = {}
    for ext in ("jsonl", "csv", "parquet"):
        paths[ext] = out / f"demo.{ext}"
        label_files(demo_inputs, paths[ext], transcripts=DEMO / "transcripts", workers=1, progress=False)
    return paths


def _assert_tables_equal(a: dict[str, pd.DataFrame], b: dict[str, pd.DataFrame]) -> None:
    assert set(a) == set(b)
    for name in a:
        pd.testing.assert_frame_equal(a[name].reset_index(drop=True), b[name].reset_index(drop=True),
                                      check_dtype=False, obj=name)


@pytest.mark.parametrize("ext,partitions", [("jsonl", 7), ("csv", 5), ("parquet", None)])
def test_partition_wise_tables_equal_the_local_ones(cluster, labelled, ext, partitions):
    from pipeline.report.dask_aggregate import aggregate_dask, report_parts

    registry = load_registry()
    if partitions:
        assert len(report_parts([labelled[ext]], partitions=partitions)) >= partitions - 1
    local, local_notes = aggregate_records(read_records(labelled[ext]), registry)
    tables, notes = aggregate_dask(cluster, [labelled[ext]], registry, partitions=partitions)
    _assert_tables_equal(tables, local)
    assert notes == local_notes
    assert int(tables["overall"]["posts"].iloc[0]) == sum(len(c) for c in read_records(labelled[ext]))


def test_cli_report_engine_dask_on_a_partitioned_folder(cluster, labelled, demo_inputs, tmp_path):
    from pipeline.label.dask_engine import label_files_dask

    folder = tmp_path / "parts"
    label_files_dask(demo_inputs, folder, transcripts=DEMO / "transcripts", partitions=9, client=cluster,
                     progress=False)
    address = cluster.scheduler.address
    res = runner.invoke(app, ["report", str(folder), "-o", str(tmp_path / "dask_report"), "--engine", "dask",
                              "--scheduler", address])
    assert res.exit_code == 0, res.output
    res = runner.invoke(app, ["report", str(labelled["jsonl"]), "-o", str(tmp_path / "local_report")])
    assert res.exit_code == 0, res.output
    for table in ("actors", "actor_types", "overall", "timeseries", "cooccurrence", "hashtags", "unknown_actors"):
        dask_csv = (tmp_path / "dask_report" / f"{table}.csv").read_bytes()
        assert dask_csv == (tmp_path / "local_report" / f"{table}.csv").read_bytes(), table
