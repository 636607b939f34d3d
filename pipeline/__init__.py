"""tiktok-diplomacy: classify TikTok posts by diplomacy communication strategy.

Stages: :mod:`pipeline.ingest` (read exports) → :mod:`pipeline.clean.text` →
:mod:`pipeline.model.estimator` (label) → :mod:`pipeline.report.aggregate` (per-actor report).

From Python: ``pipeline.label_frame(df)`` labels a DataFrame, ``pipeline.load_model()`` loads
and verifies a model (:mod:`pipeline.label.frame`).
"""

from typing import Any

__version__ = "0.1.0"
__all__ = ["__version__", "label_frame", "load_model"]


def __getattr__(name: str) -> Any:
    """``label_frame`` and ``load_model``, imported on first use (``import pipeline`` stays light)."""
    if name in ("label_frame", "load_model"):
        from pipeline.label import frame  # lazy: keeps the CLI's start-up free of the model code

        return getattr(frame, name)
    raise AttributeError(f"module 'pipeline' has no attribute {name!r}")
