"""The actor registry: TikTok handle → display name, actor type and country.

The shipped registry is ``configs/actors.toml``; a user's file given with ``--actors`` is merged
over it (user entries win).  Handles are matched case-insensitively and without a leading ``@``,
because TikTok treats ``@BBCNews`` and ``bbcnews`` as the same account.
"""

from __future__ import annotations

import csv
import json
import math
import re
from pathlib import Path
from typing import Any

from pipeline.config import CONFIG_DIR, read_toml
from pipeline.errors import InputFileError
from pipeline.io.sources import open_text

UNKNOWN = "unknown"
NO_ACTOR = "(no actor)"
ACTOR_TYPES = ("government", "foreign ministry", "embassy", "head of state/government", "international organisation",
               "NGO", "state media", "media", "political party", "politician", "influencer/creator", "citizen",
               "brand", "unknown")
ENTRY_KEYS = ("name", "type", "country")
_TYPES_BY_LOWER = {t.lower(): t for t in ACTOR_TYPES}
_COUNTRY = re.compile(r"^[A-Z]{2}$")
_EXAMPLE = '[actors."bbcnews"]\nname = "BBC News"\ntype = "media"\ncountry = "GB"'

Registry = dict[str, dict[str, str]]


def actor_key(value: Any) -> str:
    """The canonical form of a handle: stripped, without a leading ``@``, lower-cased.

    Posts without a handle (``None``, empty, or a pandas NaN) are grouped as ``"(no actor)"``
    so that per-actor counts still add up to the number of posts.
    """
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return NO_ACTOR
    key = str(value).strip().lstrip("@").strip().lower()
    return key or NO_ACTOR


def _entry(handle: str, entry: Any) -> tuple[dict[str, str] | None, list[str]]:
    """``(entry, [])`` for a valid registry entry, else ``(None, problems)`` (every problem of the entry)."""
    if not isinstance(entry, dict):
        return None, [f"actor {handle!r} must be a table (name, type, country); got {entry!r}"]
    problems = []
    extra = sorted(set(entry) - set(ENTRY_KEYS))
    if extra:
        problems.append(f"actor {handle!r} has unknown key(s) {', '.join(extra)} (Valid keys: {', '.join(ENTRY_KEYS)})")
    atype = _TYPES_BY_LOWER.get(str(entry.get("type") or UNKNOWN).strip().lower())
    if atype is None:
        problems.append(f"actor {handle!r} has unknown type {entry.get('type')!r}")
    country = str(entry.get("country") or "").strip().upper()
    if country and not _COUNTRY.match(country):
        problems.append(f"actor {handle!r} has country {entry.get('country')!r} (use a two-letter ISO code such as "
                        "'JP', or leave it empty)")
    if problems or atype is None:  # an unknown type is one of the problems
        return None, problems
    return {"name": str(entry.get("name") or handle).strip(), "type": atype, "country": country}, []


#: Column names a CSV registry may use for the handle.
_HANDLE_COLUMNS = ("handle", "actor", "username", "author")


def _csv_entries(path: Path) -> list[tuple[str, str, Any]]:
    """``(where, handle, entry)`` per row of a CSV registry (``handle,name,type,country``)."""
    with open_text(path) as fh:
        rows = list(csv.DictReader(fh, delimiter="\t" if path.suffix.lower() == ".tsv" else ","))
    header = list(rows[0]) if rows else []
    col = next((c for c in _HANDLE_COLUMNS if c in header), None)
    if col is None:
        raise InputFileError(path, f"no handle column (columns: {', '.join(header) or 'none'})",
                             "Use the columns handle,name,type,country, one actor per row.")
    # empty extra columns (a spreadsheet's notes column left blank) are fine; filled ones are reported
    return [(f"line {i}", r.get(col) or "", {k: v for k, v in r.items() if k != col and (k in ENTRY_KEYS or v)})
            for i, r in enumerate(rows, start=2)]


def read_registry(path: Path) -> Registry:
    """Read one registry file (TOML ``[actors."handle"]`` tables, or CSV ``handle,name,type,country``).

    Raises :class:`InputFileError` listing every bad entry at once, each with its handle (and line in a CSV).
    """
    path = Path(path)
    if path.suffix.lower() in (".csv", ".tsv"):
        entries = _csv_entries(path)
    else:
        cfg = read_toml(path, what="actor registry", option="--actors")
        actors = cfg.get("actors")
        if not isinstance(actors, dict):
            raise InputFileError(path, "no [actors] entries found",
                                 f"Write one table per handle, e.g.\n{_EXAMPLE}")
        entries = [("", handle, entry) for handle, entry in actors.items()]
    registry: Registry = {}
    problems: list[str] = []
    for where, handle, entry in entries:
        key = actor_key(handle)
        if key == NO_ACTOR:
            problems.append(f"{where + ': ' if where else ''}an actor entry has an empty handle")
            continue
        value, found = _entry(handle, entry)
        problems += [f"{where}: {p}" if where else p for p in found]
        if value is not None:
            registry[key] = value
    if problems:
        raise InputFileError(path, f"{len(problems)} problem{'s' if len(problems) > 1 else ''} in the actor registry: "
                                   + "; ".join(problems),
                             f"Fix them all and re-run. Use one of: {', '.join(ACTOR_TYPES)} as type.")
    return registry


def load_registry(extra: Path | None = None) -> Registry:
    """The shipped registry merged with ``extra`` (the user's entries replace shipped ones)."""
    registry = read_registry(CONFIG_DIR / "actors.toml")
    if extra is not None:
        registry.update(read_registry(Path(extra)))
    return registry


def actor_info(registry: Registry, actor: str) -> dict[str, str]:
    """Registry entry of ``actor``; unregistered handles get type ``unknown`` and empty name/country.

    Posts without a handle get the type ``(no actor)``: they are not an actor, and folding them
    into ``unknown`` made ad-library rows without a handle read as an actor type's strategy mix.
    """
    if actor == NO_ACTOR:
        return {"name": "", "type": NO_ACTOR, "country": ""}
    return registry.get(actor) or {"name": "", "type": UNKNOWN, "country": ""}


def actor_template(unknown: list[tuple[str, int]], limit: int = 500, names: dict[str, str] | None = None) -> str:
    """A registry TOML with one entry per unregistered handle, to fill in and pass with ``--actors``.

    ``unknown`` is (handle, posts) with the most posts first; only the first ``limit`` are written.
    ``names`` (handle → display name seen in the data, e.g. the export's nickname) pre-fill ``name``.
    """
    names = names or {}
    lines = ["# Handles of this report that are not in the actor registry, most posts first.",
             "# Fill in name/type/country for public accounts (leave private individuals out),",
             "# then re-run: tiktok-diplomacy report LABELLED -o DIR --actors THIS_FILE",
             f"# Types: {', '.join(ACTOR_TYPES)}."]
    if len(unknown) > limit:
        lines.append(f"# Showing {limit} of {len(unknown)} handles; all are in unknown_actors.csv.")
    for handle, posts in unknown[:limit]:
        # JSON string escapes are valid TOML basic-string escapes, so any handle stays one safe key
        lines += ["", f"# posts: {posts}", f"[actors.{json.dumps(handle, ensure_ascii=False)}]",
                  f"name = {json.dumps(str(names.get(handle) or ''), ensure_ascii=False)}",
                  'type = "unknown"', 'country = ""']
    return "\n".join(lines) + "\n"
