"""tiktok-diplomacy: classify TikTok posts by diplomacy communication strategy.

Stages: :mod:`pipeline.ingest` (read exports) → :mod:`pipeline.clean` →
:mod:`pipeline.classifier` (label) → :mod:`pipeline.aggregate` (per-actor report).
"""

__version__ = "0.1.0"
