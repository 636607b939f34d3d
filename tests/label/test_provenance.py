"""The provenance sidecar and Parquet metadata written by ``label`` match the model and the inputs."""

import hashlib
import json

import pyarrow.parquet as pq
import pytest

from pipeline.config import DEFAULT_MODEL_DIR
from pipeline.label.provenance import PARQUET_KEY, read_provenance, sidecar_path
from pipeline.label.run import label_files
from pipeline.schema import labels


def _sha(path):
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.mark.parametrize("ext,chunk_size", [("jsonl", 10_000), ("parquet", 10_000), ("parquet", 7)])
def test_sidecar_matches_model_and_inputs(tmp_path, data_dir, ext, chunk_size):
    inputs = [data_dir / "zeeschuimer.ndjson", data_dir / "aiforensics_videos.csv"]
    out = tmp_path / f"labelled.{ext}"
    # chunk_size 7: several Parquet row groups (writing a second chunk used a missing ParquetWriter attribute)
    run = label_files(inputs, out, progress=False, workers=1, chunk_size=chunk_size)
    side = sidecar_path(out)
    assert side.name == f"labelled.{ext}.meta.json"
    assert not [p for p in tmp_path.iterdir() if p.name.endswith(".tmp")]  # renamed into place
    prov = json.loads(side.read_text(encoding="utf-8"))
    meta = json.loads((DEFAULT_MODEL_DIR / "meta.json").read_text(encoding="utf-8"))
    assert prov["model"]["sha256"] == meta["model_sha256"] == _sha(DEFAULT_MODEL_DIR / meta["model_file"])
    assert prov["model"]["meta_sha256"] == _sha(DEFAULT_MODEL_DIR / "meta.json")
    assert prov["thresholds"] == meta["thresholds"]
    assert prov["model"]["metrics"]["cross_validation"]["macro_f1"] == meta["metrics"]["cross_validation"]["macro_f1"]
    assert [d["name"] for d in prov["label_definitions"]] == list(labels())
    for d in prov["label_definitions"]:
        assert len(d["definition"]) > 200
        assert d["sha256"] == hashlib.sha256(d["definition"].encode()).hexdigest()
    assert [i["sha256"] for i in prov["inputs"]] == [_sha(p) for p in inputs]
    assert sum(i["rows"] for i in prov["inputs"]) == run.stats.read
    assert all(i["rows"] > 0 for i in prov["inputs"])
    assert prov["posts_labelled"] == run.labelled and prov["records_rejected"] == run.stats.rejected
    assert prov["versions"]["tiktok-diplomacy"] and prov["command"] and prov["created_at"]
    assert read_provenance(out) == prov
    if ext == "parquet":
        kv = pq.ParquetFile(out).metadata.metadata
        assert json.loads(kv[PARQUET_KEY.encode()]) == prov
        side.unlink()
        assert read_provenance(out) == prov  # the file alone still carries it


def test_read_provenance_without_sidecar_is_none(tmp_path):
    path = tmp_path / "x.jsonl"
    path.write_text("{}\n")
    assert read_provenance(path) is None
    sidecar_path(path).write_text("{not json")
    assert read_provenance(path) is None
