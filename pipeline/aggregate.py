"""Per-actor and per-actor-type aggregation of labelled posts (streamed in chunks)."""

from __future__ import annotations

import math
import tomllib
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from .errors import InputFileError
from .schema import CONFIG_DIR, labels

UNKNOWN = "unknown"
ACTOR_TYPES = ("government", "foreign ministry", "embassy", "head of state/government", "international organisation",
               "NGO", "state media", "media", "political party", "politician", "influencer/creator", "citizen",
               "brand", "unknown")


def load_registry(extra: Path | None = None) -> dict[str, dict[str, str]]:
    """handle → {name, type, country}, from configs/actors.toml merged with a user's file (user wins)."""
    registry: dict[str, dict[str, str]] = {}
    for path in [CONFIG_DIR / "actors.toml"] + ([Path(extra)] if extra else []):
        if not path.is_file():
            raise InputFileError(path, "actor registry not found", "Pass an existing TOML file to --actors.")
        try:
            with open(path, "rb") as fh:
                cfg = tomllib.load(fh)
        except tomllib.TOMLDecodeError as exc:
            raise InputFileError(path, f"invalid TOML ({exc})", "Fix the registry file.") from exc
        for handle, entry in cfg.get("actors", {}).items():
            atype = entry.get("type", UNKNOWN)
            if atype not in ACTOR_TYPES:
                raise InputFileError(path, f"actor {handle!r} has unknown type {atype!r}",
                                     f"Use one of: {', '.join(ACTOR_TYPES)}.")
            registry[handle.lower()] = {"name": entry.get("name", handle), "type": atype,
                                        "country": entry.get("country", "")}
    return registry


def wilson_interval(k: int, n: int, z: float = 1.959963984540054) -> tuple[float, float]:
    """Wilson score interval for a proportion k/n (95% by default); (0, 0) when n = 0."""
    if n == 0:
        return (0.0, 0.0)
    p = k / n
    denom = 1 + z * z / n
    centre = (p + z * z / (2 * n)) / denom
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / denom
    return (max(0.0, centre - half), min(1.0, centre + half))


@dataclass
class _Acc:
    posts: int = 0
    positives: dict[str, int] = field(default_factory=dict)
    score_sum: dict[str, float] = field(default_factory=dict)


class Aggregator:
    """Accumulates counts per actor over chunks; :meth:`tables` returns the report tables."""

    def __init__(self, registry: dict[str, dict[str, str]]) -> None:
        self.registry = registry
        self.by_actor: dict[str, _Acc] = {}
        self.total = 0

    def add(self, records: Iterable[dict[str, Any]]) -> None:
        names = labels()
        for r in records:
            actor = str(r.get("actor") or "").strip().lower() or "(no actor)"
            acc = self.by_actor.setdefault(actor, _Acc(positives={n: 0 for n in names}, score_sum={n: 0.0 for n in names}))
            acc.posts += 1
            self.total += 1
            got = set(r.get("labels") or [])
            scores = r.get("scores") or {}
            for n in names:
                acc.positives[n] += n in got
                acc.score_sum[n] += float(scores.get(n) or 0.0)

    def _rows(self, groups: dict[str, list[str]], key: str) -> pd.DataFrame:
        names = labels()
        rows = []
        for group, actors in groups.items():
            n = sum(self.by_actor[a].posts for a in actors)
            row: dict[str, Any] = {key: group, "posts": n}
            if key == "actor":
                info = self.registry.get(group, {})
                row.update(actor_name=info.get("name", ""), actor_type=info.get("type", UNKNOWN),
                           country=info.get("country", ""))
            for lab in names:
                k = sum(self.by_actor[a].positives[lab] for a in actors)
                lo, hi = wilson_interval(k, n)
                row[f"{lab}_posts"] = k
                row[f"{lab}_share"] = round(k / n, 4) if n else 0.0
                row[f"{lab}_share_ci_low"] = round(lo, 4)
                row[f"{lab}_share_ci_high"] = round(hi, 4)
                row[f"{lab}_mean_score"] = round(sum(self.by_actor[a].score_sum[lab] for a in actors) / n, 4) if n else 0.0
            rows.append(row)
        return pd.DataFrame(rows).sort_values(["posts", key], ascending=[False, True]).reset_index(drop=True)

    def tables(self) -> dict[str, pd.DataFrame]:
        actors = self._rows({a: [a] for a in self.by_actor}, "actor")
        types: dict[str, list[str]] = {}
        for a in self.by_actor:
            types.setdefault(self.registry.get(a, {}).get("type", UNKNOWN), []).append(a)
        unknown = [a for a in self.by_actor if a not in self.registry and a != "(no actor)"]
        return {"actors": actors, "actor_types": self._rows(types, "actor_type"),
                "unknown_actors": pd.DataFrame({"actor": sorted(unknown),
                                                "posts": [self.by_actor[a].posts for a in sorted(unknown)]})}
