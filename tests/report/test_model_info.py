"""The report's model section reads the accuracy figures the shipped model records."""

import json
from pathlib import Path

from pipeline.config import DEFAULT_MODEL_DIR
from pipeline.label.provenance import model_summary
from pipeline.report.model_info import provenance_sections


def test_grouped_cv_recorded_by_train_is_shown():
    meta = json.loads((Path(DEFAULT_MODEL_DIR) / "meta.json").read_text(encoding="utf-8"))
    grouped = meta["metrics"]["cross_validation"]["grouped"]
    prov = {"model": model_summary(DEFAULT_MODEL_DIR, meta), "thresholds": meta["thresholds"]}
    section = provenance_sections(prov, list(meta["labels"]))[0]
    text = " ".join(section.paragraphs)
    assert f"grouped CV macro-F1 {grouped['macro_f1']}" in text
    assert "no grouped (by account) cross-validation" not in text
    assert "F1 (grouped CV)" in section.headers
