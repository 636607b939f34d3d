"""The actor registry: TikTok handle → display name, actor type and country.

The shipped registry is ``configs/actors.toml``; a user's file given with ``--actors`` is merged
over it (user entries win).  Handles are matched case-insensitively and without a leading ``@``,
because TikTok treats ``@BBCNews`` and ``bbcnews`` as the same account.
"""

from __future__ import annotations

import json
import math
import re
from pathlib import Path
from typing import Any

from pipeline.config import read_toml
from pipeline.errors import InputFileError
from pipeline.config import CONFIG_DIR

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


def _entry(path: Path, handle: str, entry: Any) -> dict[str, str]:
    if not isinstance(entry, dict):
        raise InputFileError(path, f"actor {handle!r} must be a table; got {entry!r}",
                             f"Write each actor as a table, e.g.\n{_EXAMPLE}")
    extra = sorted(set(entry) - set(ENTRY_KEYS))
    if extra:
        raise InputFileError(path, f"actor {handle!r} has unknown key(s) {', '.join(extra)}",
                             f"Valid keys: {', '.join(ENTRY_KEYS)}.")
    atype = _TYPES_BY_LOWER.get(str(entry.get("type", UNKNOWN)).strip().lower())
    if atype is None:
        raise InputFileError(path, f"actor {handle!r} has unknown type {entry.get('type')!r}",
                             f"Use one of: {', '.join(ACTOR_TYPES)}.")
    country = str(entry.get("country", "")).strip().upper()
    if country and not _COUNTRY.match(country):
        raise InputFileError(path, f"actor {handle!r} has country {entry.get('country')!r}",
                             "Use a two-letter ISO 3166-1 code such as 'JP', or leave it empty.")
    return {"name": str(entry.get("name") or handle).strip(), "type": atype, "country": country}


def read_registry(path: Path) -> Registry:
    """Read one registry TOML file; raises :class:`InputFileError` naming the file and the bad entry."""
    path = Path(path)
    cfg = read_toml(path, what="actor registry", option="--actors")
    actors = cfg.get("actors")
    if not isinstance(actors, dict):
        raise InputFileError(path, "no [actors] entries found",
                             f"Write one table per handle, e.g.\n{_EXAMPLE}")
    registry: Registry = {}
    for handle, entry in actors.items():
        key = actor_key(handle)
        if key == NO_ACTOR:
            raise InputFileError(path, "an actor entry has an empty handle", "Give every entry a handle.")
        registry[key] = _entry(path, handle, entry)
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


def actor_template(unknown: list[tuple[str, int]], limit: int = 500) -> str:
    """A registry TOML with one entry per unregistered handle, to fill in and pass with ``--actors``.

    ``unknown`` is (handle, posts) with the most posts first; only the first ``limit`` are written.
    """
    lines = ["# Handles of this report that are not in the actor registry, most posts first.",
             "# Fill in name/type/country for public accounts (leave private individuals out),",
             "# then re-run: tiktok-diplomacy report LABELLED -o DIR --actors THIS_FILE",
             f"# Types: {', '.join(ACTOR_TYPES)}."]
    if len(unknown) > limit:
        lines.append(f"# Showing {limit} of {len(unknown)} handles; all are in unknown_actors.csv.")
    for handle, posts in unknown[:limit]:
        # JSON string escapes are valid TOML basic-string escapes, so any handle stays one safe key
        lines += ["", f"# posts: {posts}", f"[actors.{json.dumps(handle, ensure_ascii=False)}]",
                  'name = ""', 'type = "unknown"', 'country = ""']
    return "\n".join(lines) + "\n"
