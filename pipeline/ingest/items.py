"""What readers yield: canonical records with provenance, or :class:`Reject` items with a reason."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

log = logging.getLogger(__name__)

#: Longest text field kept; longer ones are cut (TikTok captions are ≤ 4,000 characters).
MAX_TEXT = 200_000


@dataclass(frozen=True)
class Reject:
    """An input record that could not be used, and why."""

    source_file: str
    source_line: int
    reason: str
    post_id: str | None = None
    #: Input records this reject stands for (a run of consecutive duplicates is one reject).
    count: int = 1

    def as_dict(self) -> dict[str, Any]:
        return {"source_file": self.source_file, "source_line": self.source_line,
                "reason": self.reason, "post_id": self.post_id, "count": self.count}


Item = dict[str, Any] | Reject



def finish(rec: dict[str, Any], source: str, line: int, fmt: str) -> dict[str, Any]:
    """Set provenance (``source`` is the file's path as text, made once per file) and cut overlong texts."""
    rec["source_file"] = source
    rec["source_line"] = line
    rec["format"] = fmt
    for field in ("caption", "transcript", "on_screen_text"):
        value = rec.get(field)
        if isinstance(value, str) and len(value) > MAX_TEXT:
            rec[field] = value[:MAX_TEXT]
    return rec


def why(exc: BaseException) -> str:
    """A short reason for a reject from an exception (type for the unexpected ones)."""
    text = str(exc)[:200]
    return text if isinstance(exc, (ValueError, TypeError, KeyError)) and text else f"{type(exc).__name__}: {text}"
