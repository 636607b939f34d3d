"""Labelling from Python and notebooks: a pandas DataFrame in, the same rows with labels out.

``pipeline.label_frame(df)`` and ``pipeline.load_model()`` are the entry points (re-exported by
:mod:`pipeline`).
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from pipeline.clean.language import ensure_languages
from pipeline.clean.text import clean_record
from pipeline.ingest.mapping import apply_mapping, choose_mapping, load_presets
from pipeline.label.chunk import label_chunk
from pipeline.model.thresholds import with_thresholds
from pipeline.schema import labels as label_names, validate_post

log = logging.getLogger(__name__)


def load_model(model_dir: str | Path | None = None, thresholds: dict[str, float] | None = None) -> Any:
    """The verified model of ``model_dir`` (default: the shipped model), optionally with your thresholds.

    Parameters
    ----------
    model_dir : str or Path, optional
        A model directory written by ``tiktok-diplomacy train``.
    thresholds : dict, optional
        label → decision threshold, replacing the tuned ones (see ``label --threshold``).
    """
    from pipeline.model.artefact import load_model as _load  # lazy: scikit-learn only when a model is loaded

    return with_thresholds(_load(Path(model_dir) if model_dir is not None else None)[0], thresholds)


def label_frame(df: Any, model: Any = None, *, columns: dict[str, str] | None = None,
                thresholds: dict[str, float] | None = None, explain: bool = False) -> Any:
    """Label the posts of a DataFrame; return a copy with ``labels``, ``score_<label>`` and ``language``.

    Parameters
    ----------
    df : pandas.DataFrame
        One post per row, with canonical column names (``post_id``, ``caption``, ``transcript`` …),
        a known export layout (pyktok, Apify, 4CAT … as in ``configs/formats``) or ``columns``.
        Any index; missing values (NaN, None, ``pd.NA``) are fine. Without a post id column the
        index is used as the post id.
    model : model, str or Path, optional
        A model from :func:`load_model`, a model directory, or ``None`` for the shipped model.
    columns : dict, optional
        field → column, as ``--column`` on the command line.
    thresholds : dict, optional
        label → decision threshold, replacing the model's (recorded in ``df.attrs["thresholds"]``).
    explain : bool
        Also add ``explanations`` (per label, the features that drove the decision).

    Returns
    -------
    pandas.DataFrame
        ``df``'s rows and index, plus ``labels`` (list; ``None`` for a row that is not a usable
        post, with the reason in ``reject_reason``), one ``score_<label>`` column per label and
        ``language``.
    """
    import pandas as pd  # lazy: pandas only for DataFrame users

    if model is None or isinstance(model, (str, Path)):
        model = load_model(model, thresholds)
    else:
        model = with_thresholds(model, thresholds)
    header = [str(c) for c in df.columns]
    use_index = "post_id" not in header and "post_id" not in (columns or {}) and not _preset_has_id(header)
    mapping = choose_mapping(header + (["post_id"] if use_index else []), columns or None, Path("<DataFrame>"))
    values = df.astype(object).where(pd.notna(df), None)
    records: list[dict[str, Any] | None] = []
    reasons: list[str | None] = []
    for position, (index, row) in enumerate(zip(df.index, values.itertuples(index=False, name=None)), start=1):
        raw = dict(zip(header, row))
        if use_index:
            raw["post_id"] = str(index)
        try:
            rec = apply_mapping(raw, mapping)
        except ValueError as exc:
            records.append(None)
            reasons.append(str(exc))
            continue
        rec["source_file"], rec["source_line"] = "<DataFrame>", position
        problem = validate_post(rec)
        records.append(None if problem else clean_record(rec))
        reasons.append(problem)
    usable = [r for r in records if r is not None]
    ensure_languages(usable)
    label_chunk(usable, model, explain=explain)
    out = df.copy()
    names = [str(c) for c in model.classes_] or list(label_names())
    out["labels"] = [None if r is None else r["labels"] for r in records]
    for name in names:
        out[f"score_{name}"] = [float("nan") if r is None else r["scores"][name] for r in records]
    out["language"] = [None if r is None else r["language"] for r in records]
    if explain:
        out["explanations"] = [None if r is None else r.get("explanations") for r in records]
    if any(reasons):
        out["reject_reason"] = reasons
        log.warning("%d of %d rows are not usable posts (see the reject_reason column)", sum(map(bool, reasons)), len(df))
    out.attrs["thresholds"] = {str(c): float(t) for c, t in zip(model.classes_, model.thresholds_)}
    return out


def _preset_has_id(header: list[str]) -> bool:
    """True when a known layout of ``header`` maps the post id."""
    return any(p.matches(header) and "post_id" in p.columns for p in load_presets())
