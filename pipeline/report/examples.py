"""Example posts per strategy: the top-scoring and the borderline posts, overall and per actor type.

Researchers validate a classifier by reading what it labelled.  For each strategy and scope
("all posts" and each actor type) the collector keeps, in bounded heaps, the ``n`` posts with
the highest score and the ``n`` posts whose score is closest to the threshold (the decisions a
small change of threshold would flip), with their text, explanation (``label --explain``) and a
link to the post.  Memory is O(scopes × strategies × n), whatever the input size.
"""

from __future__ import annotations

import heapq
import itertools
import json
import math
import re
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from pipeline.report.privacy import Pseudonymiser

TEXT_CHARS = 280
KINDS = ("top", "borderline")
COLUMNS = ["scope", "strategy", "kind", "rank", "post_id", "actor", "actor_type", "created_at", "language",
           "score", "threshold", "labels", "text", "explanation", "url"]
_VIDEO_ID = re.compile(r"^\d{15,21}$")
_HANDLE = re.compile(r"^[a-z0-9_.]{1,40}$")  # what TikTok allows in a handle; anything else gets no link
_PSEUDONYM = re.compile(r"^user_[0-9a-f]{10}$")  # corpus/report pseudonyms: not a real account, no link


def post_url(post_id: str, actor: str, public: bool) -> str:
    """``https://www.tiktok.com/@handle/video/ID`` for TikTok video ids; empty when it cannot be built.

    Links of pseudonymised accounts are left empty: the handle is part of the URL (and a pseudonym
    from the bundled sample, ``user_`` + 10 hex digits, is not a real account).
    """
    if not _VIDEO_ID.match(post_id) or not _HANDLE.match(actor) or _PSEUDONYM.match(actor) or not public:
        return ""
    return f"https://www.tiktok.com/@{actor}/video/{post_id}"


def _text(rec: Mapping[str, Any]) -> str:
    for field in ("caption", "on_screen_text", "transcript"):
        value = rec.get(field)
        if isinstance(value, str) and value.strip():
            text = " ".join(value.split())
            return text if len(text) <= TEXT_CHARS else text[:TEXT_CHARS - 1] + "…"
    return ""


def _explanation(rec: Mapping[str, Any], label: str) -> str:
    raw = rec.get("explanations")
    if isinstance(raw, str):
        try:
            raw = json.loads(raw)
        except json.JSONDecodeError:
            return ""
    if not isinstance(raw, Mapping):
        return ""
    parts = []
    for item in raw.get(label) or []:
        if isinstance(item, Mapping):
            parts.append(f"{item.get('feature')} [{item.get('field')}] {float(item.get('weight', 0)):+.2f}")
    return "; ".join(parts)


class ExampleCollector:
    """Keeps the top-scoring and borderline posts per (scope, strategy) across chunks."""

    def __init__(self, names: Sequence[str], thresholds: Mapping[str, float] | None, n: int,
                 pseudonymiser: Pseudonymiser | None = None) -> None:
        self.names = tuple(names)
        self.thresholds = dict(thresholds or {})
        self.n = n
        self.pseudo = pseudonymiser
        self.heaps: dict[tuple[str, str, str], list[tuple[float, int, dict[str, Any]]]] = {}
        self._seq = itertools.count()

    def add(self, recs: Sequence[Mapping[str, Any]], S: np.ndarray, actors: Sequence[str],
            types: Sequence[str]) -> None:
        """One chunk: records, their scores (n, L), canonical actors and actor types."""
        if self.n < 1 or not len(recs):
            return
        frame = pd.DataFrame({"type": list(types), "i": np.arange(len(recs))})
        for j, name in enumerate(self.names):
            t = self.thresholds.get(name, 0.5)
            frame["top"], frame["border"] = S[:, j], -np.abs(S[:, j] - t)
            ok = frame[~np.isnan(S[:, j])]
            for kind, col in (("top", "top"), ("borderline", "border")):
                best = ok.sort_values(col, ascending=False, kind="stable")
                k = self._cap(("", name, kind))
                picks = [("all", best.head(k))] + list(best.groupby("type", sort=False).head(k)
                                                       .groupby("type", sort=False))
                for scope, rows in picks:
                    for i, key in zip(rows["i"], rows[col]):
                        self._push((str(scope), name, kind), float(key), recs[i], actors[i], types[i], S[i, j], t)

    def _push(self, slot: tuple[str, str, str], key: float, rec: Mapping[str, Any], actor: str, atype: str,
              score: float, threshold: float) -> None:
        heap = self.heaps.setdefault(slot, [])
        cap = self._cap(slot)
        if len(heap) >= cap and key <= heap[0][0]:
            return
        public = self.pseudo is None or not self.pseudo.is_private(actor)
        shown = self.pseudo.handle(actor) if self.pseudo else actor
        text = _text(rec)
        if self.pseudo:
            text = self.pseudo.text(text)
        labels = rec.get("labels")
        if isinstance(labels, str):
            labels_text = labels
        else:
            labels_text = ", ".join(str(x) for x in (labels if labels is not None else []))
        post_id = "" if rec.get("post_id") is None else str(rec.get("post_id"))
        created = rec.get("created_at")
        item = {"post_id": post_id, "actor": shown, "actor_type": atype,
                "created_at": "" if created is None or (isinstance(created, float) and math.isnan(created))
                else str(created)[:19], "language": str(rec.get("language") or ""), "score": round(float(score), 4),
                "threshold": threshold, "labels": labels_text, "text": text,
                "explanation": _explanation(rec, slot[1]), "url": post_url(post_id, actor, public)}
        entry = (key, next(self._seq), item)
        if len(heap) < cap:
            heapq.heappush(heap, entry)
        else:
            heapq.heapreplace(heap, entry)

    def _cap(self, slot: tuple[str, str, str]) -> int:
        # borderline keeps twice as many: in a scope where nothing scores high, the top posts are also the
        # ones closest to the threshold, and the table shows each post once (as 'top')
        return self.n * (2 if slot[2] == "borderline" else 1)

    def table(self) -> pd.DataFrame:
        """All kept examples, one row each, best first within (scope, strategy, kind); no post twice."""
        rows = []
        for (scope, name, kind), heap in self.heaps.items():
            top = {e[2]["post_id"] for e in self.heaps.get((scope, name, "top"), [])} if kind == "borderline" else set()
            kept = [e for e in sorted(heap, key=lambda e: (-e[0], e[1])) if e[2]["post_id"] not in top][:self.n]
            for rank, (_, _, item) in enumerate(kept, start=1):
                rows.append({"scope": scope, "strategy": name, "kind": kind, "rank": rank, **item})
        df = pd.DataFrame(rows, columns=COLUMNS)
        order = {n: i for i, n in enumerate(self.names)}
        if len(df):
            df = df.assign(_s=df["scope"].ne("all"), _o=df["strategy"].map(order), _k=df["kind"].map(KINDS.index))
            df = df.sort_values(["_s", "scope", "_o", "_k", "rank"]).drop(columns=["_s", "_o", "_k"])
        return df.reset_index(drop=True)
