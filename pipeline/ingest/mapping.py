"""Column mappings: which column or key of an export holds each canonical post field.

Known layouts live in ``configs/formats/*.toml``; canonical names map themselves; users add
``--column field=column``.
"""

from __future__ import annotations

import tomllib
from collections.abc import Callable
from dataclasses import dataclass
from functools import cached_property, lru_cache
from pathlib import Path
from typing import Any

from pipeline.config import CONFIG_DIR
from pipeline.errors import InputFileError
from pipeline.ingest import records as R
from pipeline.ingest.known import describe_header
from pipeline.schema import EXTRA_FIELDS, POST_FIELDS, TEXT_FIELDS


@dataclass(frozen=True)
class ColumnMapping:
    """canonical field → source column(s), plus boolean flags derived from a column's value."""

    name: str
    columns: dict[str, list[str]]
    flags: dict[str, tuple[str, str | None]]
    required: tuple[str, ...] = ()

    def matches(self, header: list[str]) -> bool:
        return bool(self.required) and all(c in header for c in self.required)

    @cached_property
    def has_text(self) -> bool:
        """True when some column is mapped to a text field (caption, transcript, on-screen text)."""
        return any(f in self.columns for f in TEXT_FIELDS)

    @cached_property
    def plan(self) -> tuple[tuple[str, str | None, tuple[str, ...], Callable[[Any], Any], bool], ...]:
        """Per canonical field: its source column (``None`` when there are several), its source
        columns, its converter and whether it must be text.

        Worked out once per mapping instead of once per row (:func:`apply_mapping`).
        """
        return tuple((field, sources[0] if len(sources) == 1 else None, tuple(sources),
                      _FIELD_CONVERTERS.get(field, R.to_str), field in _TEXT_FIELDS)
                     for field, sources in self.columns.items())


@lru_cache(maxsize=1)
def load_presets() -> tuple[ColumnMapping, ...]:
    """Column mappings for known CSV layouts, from ``configs/formats/*.toml``."""
    presets = []
    for path in sorted((CONFIG_DIR / "formats").glob("*.toml")):
        with open(path, "rb") as fh:
            cfg = tomllib.load(fh)
        cols = {k: ([v] if isinstance(v, str) else list(v)) for k, v in cfg.get("columns", {}).items()}
        # a flag is true when the column equals a value, or (no "equals") when the column is truthy
        flags = {k: (v["column"], v.get("equals")) for k, v in cfg.get("flags", {}).items()}
        presets.append(ColumnMapping(path.stem, cols, flags, tuple(cfg.get("required", ()))))
    return tuple(presets)  # cached: JSONL is mapped per distinct key set, not once per file


def canonical_mapping(header: list[str], overrides: dict[str, str] | None = None) -> ColumnMapping:
    """Identity mapping for canonical column names, with ``--column field=source`` overrides."""
    known = set(POST_FIELDS) | set(EXTRA_FIELDS)
    cols = {h: [h] for h in header if h in known}
    for field, src in (overrides or {}).items():
        cols[field] = [src]
    return ColumnMapping("canonical", cols, {})


def choose_mapping(header: list[str], overrides: dict[str, str] | None, path: Path) -> ColumnMapping:
    """The preset whose required columns ``header`` has (else the canonical names), with ``--column`` on top."""
    missing = [src for src in (overrides or {}).values() if src not in header]
    if missing:
        raise InputFileError(path, f"column(s) {', '.join(missing)} given with --column are not in the file",
                             f"Columns present: {', '.join(header[:30])}")
    for preset in load_presets():
        if preset.matches(header):
            if not overrides:
                return preset
            cols = {**preset.columns, **{f: [src] for f, src in overrides.items()}}
            flags = {f: v for f, v in preset.flags.items() if f not in overrides}
            return ColumnMapping(f"{preset.name}+columns", cols, flags, preset.required)
    mapping = canonical_mapping(header, overrides)
    if "post_id" not in mapping.columns:
        known = describe_header(header)
        if known is not None:
            raise InputFileError(path, known[0], known[1])
        raise InputFileError(path, "no post id column (looked for 'post_id' and the known export layouts)",
                             f"Map one with --column post_id=COLUMN; columns present: {', '.join(header[:30])}")
    return mapping


def check_overrides(path: Path, obj: dict[str, Any], overrides: dict[str, str], kind: str) -> None:
    """Stop when a ``--column`` source is in neither the first record nor a dotted path of it."""
    missing = [src for src in overrides.values() if R.dig(obj, src) is None and src not in obj]
    if missing:
        raise InputFileError(path, f"key(s) {', '.join(missing)} given with --column are not in the first "
                                   f"{kind} record", f"Keys present: {', '.join(list(obj)[:30])} "
                                   "(nested keys as a.b, e.g. author.uniqueId)")


def apply_overrides(rec: dict[str, Any], obj: dict[str, Any], overrides: dict[str, str]) -> dict[str, Any]:
    """``rec`` with each ``--column field=key`` taken from the item ``obj`` (key or dotted path)."""
    for field, src in overrides.items():
        value = R.dig(obj, src)
        if value in _NO_VALUE:
            continue
        if field in _TEXT_FIELDS and isinstance(value, (dict, list)):
            raise ValueError(f"field {field!r} must be text; {src!r} holds a JSON {type(value).__name__}")
        rec[field] = _FIELD_CONVERTERS.get(field, R.to_str)(value)
    return rec


_FIELD_CONVERTERS: dict[str, Callable[[Any], Any]] = {
    "created_at": R.to_iso, "hashtags": R.to_list, "mentions": R.to_list,
    "paid_partnership": R.to_bool, "is_ad": R.to_bool, "views": R.to_int, "likes": R.to_int,
    "shares": R.to_int, "comments": R.to_int, "transcript": R.transcript_value,
    "source_line": R.to_int,
}


_TEXT_FIELDS = ("post_id", "caption", "transcript", "on_screen_text", "actor")
#: Cell values that mean "no value": the next source column is tried.
_NO_VALUE = (None, "")


def _first_value(row: dict[str, Any], sources: tuple[str, ...]) -> Any:
    """The first of ``sources`` that ``row`` has with a value, or ``None``.

    A missing column reads as ``None`` (``row.get``), which is skipped like an empty cell;
    with one source, :func:`apply_mapping` reads the cell directly and skips it the same way.
    """
    for source in sources:
        value = row.get(source)
        if value not in _NO_VALUE:
            return value
    return None


def apply_mapping(row: dict[str, Any], mapping: ColumnMapping) -> dict[str, Any]:
    """Map one input row onto a canonical record.

    Raises
    ------
    ValueError
        If a text field holds a JSON object or list (numbers are taken as their text).
    """
    rec = R.new_post()
    for field, source, sources, conv, text_only in mapping.plan:
        value = row.get(source) if source is not None else _first_value(row, sources)
        if value in _NO_VALUE:
            rec[field] = rec.get(field)
        elif text_only and isinstance(value, (dict, list)):
            raise ValueError(f"field {field!r} must be text; got a JSON {type(value).__name__}")
        else:
            rec[field] = conv(value)
    for field, (column, equals) in mapping.flags.items():
        if column not in row:
            continue
        flag = bool(R.to_bool(row[column])) if equals is None else str(row[column]).strip().lower() == equals.lower()
        if POST_FIELDS.get(field) is bool:
            rec[field] = flag
        elif flag:  # e.g. duet_from when the export only says "is a duet"
            rec[field] = "unknown"
    if rec.get("post_id") is not None:
        pid = rec["post_id"]
        # a float id is exact only up to 2**53; larger ones stay in float form and are rejected
        rec["post_id"] = str(int(pid)) if isinstance(pid, float) and pid.is_integer() and abs(pid) <= 2**53 \
            else str(pid).strip()
    if not mapping.has_text:
        R.note("no_text_column", ", ".join(str(k) for k in list(row)[:30]))
    for k in ("source_file", "source_line"):  # provenance is ours to set
        rec.pop(k, None) if mapping.name != "canonical" else None
    return rec
