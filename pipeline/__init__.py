"""tiktok-diplomacy: classify TikTok posts by diplomacy communication strategy.

Stages: :mod:`pipeline.ingest` (read exports) → :mod:`pipeline.clean.text` →
:mod:`pipeline.model.estimator` (label) → :mod:`pipeline.report.aggregate` (per-actor report).
"""

__version__ = "0.1.0"
