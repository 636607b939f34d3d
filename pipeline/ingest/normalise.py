"""Every field of every record checked once after mapping: text, ids, counts.

Readers map values leniently; this is the one place that guarantees what later stages and
the writers rely on: strings without lone surrogates (replaced with U+FFFD and counted), post
ids kept as exact strings (ids a spreadsheet turned into floating-point numbers are refused,
because the real id is lost), counts within int64.
"""

from __future__ import annotations

import re
from typing import Any

import orjson

from pipeline.ingest.records import MAX_COUNT, note
from pipeline.schema import POST_FIELDS

_SURROGATE_RE = re.compile("[\ud800-\udfff]")
#: Ids in floating-point form: 7.234567890123457e+18, 7.23457E+18, 1234.5
_FLOAT_ID_RE = re.compile(r"[+-]?(\d+\.\d*|\.\d+|\d+)[eE][+-]?\d+|[+-]?\d+\.\d*[1-9]\d*")
_INT_DOT_ZERO_RE = re.compile(r"(\d+)\.0+")
_COUNT_FIELDS = tuple(k for k, t in POST_FIELDS.items() if t is int and k != "source_line")


def _clean_str(value: str) -> tuple[str, int]:
    if value.isascii():
        return value, 0
    fixed, n = _SURROGATE_RE.subn("\ufffd", value)
    return fixed, n


def _clean_value(value: Any) -> tuple[Any, int]:
    if isinstance(value, str):
        return _clean_str(value)
    if isinstance(value, list):
        total, out = 0, []
        for v in value:
            v, n = _clean_value(v)
            out.append(v)
            total += n
        return out, total
    if isinstance(value, dict):
        total, d = 0, {}
        for k, v in value.items():
            k2, n1 = _clean_value(k) if isinstance(k, str) else (k, 0)
            v2, n2 = _clean_value(v)
            d[k2] = v2
            total += n1 + n2
        return d, total
    return value, 0


def normalise(rec: dict[str, Any]) -> tuple[str | None, int]:
    """Check and fix ``rec`` in place; return ``(why it must be rejected or None, surrogates replaced)``."""
    replaced = 0
    try:
        orjson.dumps(rec)  # one C call: passes when no string holds a surrogate and ints fit 64 bits
    except (orjson.JSONEncodeError, TypeError):
        for key, value in list(rec.items()):
            rec[key], n = _clean_value(value)
            replaced += n
    for key in _COUNT_FIELDS:
        value = rec.get(key)
        if isinstance(value, int) and not isinstance(value, bool) and not 0 <= value <= MAX_COUNT:
            note("count", value)
            rec[key] = None
    pid = rec.get("post_id")
    if isinstance(pid, str):
        pid = pid.strip()
        m = _INT_DOT_ZERO_RE.fullmatch(pid)
        if m and int(m.group(1)) <= 2**53:
            pid = m.group(1)  # 123.0: a small integer id written as a float is still exact
        elif m or _FLOAT_ID_RE.fullmatch(pid):
            return (f"post_id in floating-point form: {pid!r} (a spreadsheet or script rounded it), "
                    "so the real id is lost; re-export keeping ids as text"), replaced
        rec["post_id"] = pid
    return None, replaced
