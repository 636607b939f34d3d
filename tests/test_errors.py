"""The error catalogue's one-line form."""

import pytest

from pipeline.errors import PipelineError, TrainingDataError, UsageError, error_message


def test_message_has_where_seen_valid_and_todo():
    msg = error_message("data.csv line 3", "unknown label", seen="crisis", valid="a, b", todo="Fix the label.")
    assert msg == "data.csv line 3: unknown label (got 'crisis'); valid: a, b. Fix the label."
    assert "\n" not in str(PipelineError(where="x", problem="p", seen="a\nb", todo="t"))


def test_exit_codes_and_types():
    assert PipelineError("x").exit_code == 1 and UsageError("x").exit_code == 2
    with pytest.raises(ValueError):  # estimators raise ValueError for bad training data, as sklearn's do
        raise TrainingDataError(where="c.jsonl", problem="too few positives", seen=1, valid="at least 2")


def test_long_values_are_cut():
    msg = error_message("f", "bad value", seen="x" * 500)
    assert msg.startswith("f: bad value (got 'xxx") and "…)" in msg and len(msg) < 110
