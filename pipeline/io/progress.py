"""Progress bars for long work: tqdm on stderr with a total and time left, only on a terminal.

Library code asks :func:`bar` for a bar; it is a no-op object when stderr is not a terminal or
when the command was run with ``--quiet`` (:func:`set_enabled`).
"""

from __future__ import annotations

import sys
from typing import Any

_enabled: bool | None = None  # None: when stderr is a terminal


def set_enabled(flag: bool | None) -> None:
    """``False`` silences every bar (``--quiet``); ``None`` restores "on a terminal only"."""
    global _enabled
    _enabled = flag


def enabled() -> bool:
    return sys.stderr.isatty() if _enabled is None else _enabled


class _NoBar:
    """What :func:`bar` returns when bars are off: accepts the calls a tqdm bar does."""

    n = 0

    def update(self, n: int = 1) -> None:
        self.n += n

    def set_postfix_str(self, *args: Any, **kwargs: Any) -> None:
        pass

    def close(self) -> None:
        pass

    def __enter__(self) -> _NoBar:
        return self

    def __exit__(self, *exc: Any) -> None:
        pass


def bar(total: float | None, desc: str, unit: str = "it", *, show: bool | None = None, **kwargs: Any) -> Any:
    """A tqdm bar (``total`` gives the time left), or a no-op when bars are off (``show`` overrides)."""
    if not (enabled() if show is None else show):
        return _NoBar()
    from tqdm import tqdm  # lazy: only when a bar is shown

    return tqdm(total=total, desc=desc, unit=unit, file=sys.stderr, dynamic_ncols=True, **kwargs)
