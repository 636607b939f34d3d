"""Value converters: counts range-checked, dates in common formats, unusable values noted."""

import pytest

from pipeline.ingest import records as R


@pytest.fixture(autouse=True)
def _fresh_notes():
    R.take_notes()
    yield
    R.take_notes()


@pytest.mark.parametrize("value", [float("inf"), float("nan"), "9" * 400, 10**30, 1e30, -5, "-3", "lots", 2**63])
def test_unusable_counts_are_empty_and_noted(value):
    assert R.to_int(value) is None
    assert [k for k, _ in R.take_notes()] == ["count"]


@pytest.mark.parametrize("value,expected", [(12, 12), ("12", 12), ("1.2K", 1200), (2**63 - 1, 2**63 - 1), ("", None),
                                            (None, None)])
def test_usable_counts(value, expected):
    assert R.to_int(value) == expected and R.take_notes() == []


@pytest.mark.parametrize("value,expected", [
    ("2024-06-04T23:59:00Z", "2024-06-04T23:59:00Z"),
    ("2024-06-04 23:59", "2024-06-04T23:59:00Z"),
    ("2024/06/04 23:59", "2024-06-04T23:59:00Z"),
    ("04.06.2024", "2024-06-04T00:00:00Z"),
    ("13/04/2024 10:00", "2024-04-13T10:00:00Z"),  # day first: 13 cannot be a month
    ("04/13/2024", "2024-04-13T00:00:00Z"),
    ("Jun 4, 2024", "2024-06-04T00:00:00Z"),
    (1717545540, "2024-06-04T23:59:00Z"),
])
def test_common_date_formats(value, expected):
    assert R.to_iso(value) == expected and R.take_notes() == []


@pytest.mark.parametrize("value", ["06/04/2024 23:59", "9999-12-31T23:59:59-14:00", "yesterday", "2024-13-45",
                                   float("nan"), 1e300])
def test_unreadable_or_ambiguous_dates_are_empty_and_noted(value):
    assert R.to_iso(value) is None
    assert [k for k, _ in R.take_notes()] == ["date"]


def test_explicit_date_format_decides_ambiguous_dates():
    with R.date_formats(["%d/%m/%Y %H:%M"]):
        assert R.to_iso("06/04/2024 23:59") == "2024-04-06T23:59:00Z"
    with R.date_formats(["%m/%d/%Y %H:%M"]):
        assert R.to_iso("06/04/2024 23:59") == "2024-06-04T23:59:00Z"
    assert R.to_iso("06/04/2024 23:59") is None
