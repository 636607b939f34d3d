"""Registries of people and named trends: world knowledge the text of a post does not state.

``configs/registries/people.toml`` lists creators, celebrities, athletes and broadcast
personalities with the names and handles they appear under; ``configs/registries/trends.toml``
lists named TikTok challenges, dances, effects and meme sounds seen in the data. Like the cue
table, both are read when a model is fitted and copied into it (:attr:`PostPreprocessor.registries_`,
stored as JSON in the model file), so editing them changes no trained model.

They give features, never labels: ``registry=person`` when a registered person is *mentioned*
(tagged handle or name in caption/on-screen text) — never the poster: a creator posting their
own video is the actor, not the tactic, and no feature may read who or what the poster is —
and ``registry=trend`` when a registered challenge/dance/effect is named.
"""

from __future__ import annotations

import json
import re
import tomllib
from functools import lru_cache
from pathlib import Path
from typing import Any

from pipeline.config import CONFIG_DIR
from pipeline.features.cues import cue_hit, cue_kind

REGISTRY_DIR = CONFIG_DIR / "registries"
_HANDLE_RE = re.compile(r"(?<![a-z0-9_.])@([a-z0-9_.]+)")


def _norm_handle(h: str) -> str:
    return h.strip().lstrip("@").lower().rstrip(".")


def config_registries(folder: Path | None = None) -> dict[str, Any]:
    """``{"people": [{"names": [...], "handles": [...], "kind": ...}], "trends": [{"names": [...], "kind": ...}]}``
    from ``configs/registries/`` (or ``folder``); an absent file gives an empty list."""
    folder = Path(folder) if folder else REGISTRY_DIR
    out: dict[str, Any] = {"people": [], "trends": []}
    for name, table in (("people.toml", "person"), ("trends.toml", "trend")):
        path = folder / name
        if not path.is_file():
            continue
        with open(path, "rb") as fh:
            entries = tomllib.load(fh).get(table, [])
        key = "people" if table == "person" else "trends"
        for e in entries:
            names = [str(n) for n in e.get("names", []) if str(n).strip()]
            handles = [_norm_handle(str(h)) for h in e.get("handles", []) if str(h).strip()]
            if names or handles:
                out[key].append({"names": names, "handles": handles, "kind": str(e.get("kind", ""))})
    return out


def registry_key(registries: dict[str, Any]) -> str:
    """Canonical JSON of the registries: the cache key of their matchers (``"{}"`` when empty)."""
    if not any(registries.get(k) for k in ("people", "trends")):
        return "{}"
    return json.dumps(registries, sort_keys=True, ensure_ascii=False)


@lru_cache(maxsize=8)
def _matchers(key: str) -> tuple[Any, Any, dict[str, int]]:
    """Aho-Corasick automata over lower-cased people's names and trend names, and handle → person index."""
    import ahocorasick  # C extension; only needed when posts are featurised

    reg = json.loads(key)
    autos = []
    for entries in (reg.get("people", []), reg.get("trends", [])):
        auto = ahocorasick.Automaton()
        seen: dict[str, int] = {}
        for idx, e in enumerate(entries):
            for n in e["names"]:
                body = n.lower().rstrip("*")
                if body and body not in seen:
                    seen[body] = idx
                    mode, stem = cue_kind(n.lower())
                    auto.add_word(body, (idx, len(body), mode, stem, len(body) <= 3))
        if seen:
            auto.make_automaton()
        autos.append(auto if seen else None)
    handles = {h: idx for idx, e in enumerate(reg.get("people", [])) for h in e["handles"]}
    return autos[0], autos[1], handles


def _hits(auto: Any, text: str) -> set[int]:
    if auto is None or not text:
        return set()
    out = set()
    for end, (idx, length, mode, stem, short) in auto.iter_long(text):
        if cue_hit(text, end - length + 1, end + 1, mode, stem, short):
            out.add(idx)
    return out


def registry_features(rec: dict[str, Any], text: str, key: str) -> dict[str, float]:
    """Registry features of one post: ``registry=person`` and ``registry=trend`` (saturating counts).

    ``text`` is the lower-cased, NFKC-normalised caption + on-screen text. The poster's own
    handle (``actor``) and the names registered with it are skipped.
    """
    people, trends, handles = _matchers(key)
    own = _norm_handle(rec["actor"]) if isinstance(rec.get("actor"), str) and rec.get("actor") else None
    mentioned = {_norm_handle(str(m)) for m in rec.get("mentions") or [] if m}
    mentioned |= {_norm_handle(m) for m in _HANDLE_RE.findall(text or "")}
    found = {handles[h] for h in mentioned if h in handles and h != own}
    found |= _hits(people, text)
    if own is not None and own in handles:
        found.discard(handles[own])
    out: dict[str, float] = {}
    if found:
        out["registry=person"] = min(len(found), 3) / 3
    named = _hits(trends, text)
    if named:
        out["registry=trend"] = min(len(named), 3) / 3
    return out
