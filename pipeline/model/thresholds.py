"""Per-label decision thresholds chosen by the user (``label --threshold LABEL=VALUE``).

A user who validated their own thresholds on their own annotations can replace the tuned ones;
the model file is never changed, and the run records what was used.
"""

from __future__ import annotations

import copy
import difflib
from typing import Any

import numpy as np

from pipeline.errors import UsageError


def parse_thresholds(items: list[str] | None) -> dict[str, float]:
    """``["crisis_messaging=0.4", …]`` → ``{"crisis_messaging": 0.4}``.

    Raises
    ------
    UsageError
        For a malformed item or a value outside (0, 1).
    """
    out: dict[str, float] = {}
    for item in items or []:
        name, sep, value = item.partition("=")
        try:
            out[name.strip()] = float(value)
        except ValueError:
            sep = ""
        if not sep or not name.strip():
            raise UsageError(f"--threshold {item!r}: use LABEL=VALUE, e.g. --threshold crisis_messaging=0.4")
    return out


def with_thresholds(model: Any, thresholds: dict[str, float] | None) -> Any:
    """A shallow copy of ``model`` whose ``thresholds_`` has ``thresholds`` (label → value) in place.

    Raises
    ------
    UsageError
        For an unknown label (the closest is suggested) or a value not strictly between 0 and 1.
    """
    if not thresholds:
        return model
    names = [str(c) for c in model.classes_]
    new = np.array(model.thresholds_, dtype=float).copy()
    for name, value in thresholds.items():
        if name not in names:
            close = difflib.get_close_matches(name, names, n=1)
            hint = f" Did you mean {close[0]!r}?" if close else ""
            raise UsageError(f"threshold for unknown label {name!r}; labels: {', '.join(names)}.{hint}")
        if not 0.0 < float(value) < 1.0:
            raise UsageError(f"threshold {name}={value}: use a value between 0 and 1 (exclusive)")
        new[names.index(name)] = float(value)
    out = copy.copy(model)
    out.thresholds_ = new
    return out


def thresholds_used(model: Any) -> dict[str, float]:
    """label → threshold, for provenance."""
    return {str(c): round(float(t), 6) for c, t in zip(model.classes_, model.thresholds_)}
