"""Output writers: spreadsheet-formula neutralisation."""

import pytest

from pipeline.io.writers import safe_cell


@pytest.mark.parametrize("value,expected", [
    ("=HYPERLINK(\"x\")", "'=HYPERLINK(\"x\")"), ("+1", "'+1"), ("-2", "'-2"), ("@SUM(A1)", "'@SUM(A1)"),
    ("plain", "plain"), (3, 3),
])
def test_formula_injection_neutralised(value, expected):
    assert safe_cell(value) == expected
