"""Active learning: which unlabelled posts would help the model most if annotated next.

*Uncertainty*: for each label, how close its probability is to that label's tuned decision
threshold, as a share of the room on that side (1 at the threshold, 0 at probability 0 or 1),
so a threshold of 0.2 does not make every low score look certain.  A post is as uncertain as
its most uncertain label.

*Diversity*: the N picks are chosen greedily from the ``pool_factor``·N most uncertain posts;
each candidate's gain is ``uncertainty × (1 − s) ** diversity`` where ``s`` is its highest
cosine similarity (character 2–4-gram TF-IDF, which also works for scripts without spaces) to
a post already picked or already annotated.  Reposts and template captions are therefore not
picked twice, and exact copies of annotated posts not at all.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from pipeline.config import DEFAULT_MODEL_DIR
from pipeline.corpus.export import display_text, load_posts, model_version, predict, to_task, write_tasks
from pipeline.corpus.read import read_corpus
from pipeline.corpus.uncertainty import uncertainty
from pipeline.errors import PipelineError
from pipeline.model.artefact import load_model

log = logging.getLogger(__name__)

SUGGEST_FORMATS = ("labelstudio", "jsonl")


def select_diverse(texts: Sequence[str], scores: Any, n: int, *, diversity: float = 1.0, pool_factor: int = 5,
                   known_texts: Sequence[str] = ()) -> list[int]:
    """Indices of ``n`` posts with high ``scores`` that are not near-duplicates of each other
    (or of ``known_texts``), best first."""
    from sklearn.feature_extraction.text import TfidfVectorizer

    scores = np.asarray(scores, dtype=float)
    order = np.argsort(-scores, kind="stable")
    cand = order[: min(len(order), max(n, pool_factor * n))]
    if len(cand) == 0:
        return []
    vec = TfidfVectorizer(analyzer="char_wb", ngram_range=(2, 4), sublinear_tf=True, max_features=100_000)
    try:
        X = vec.fit_transform([texts[i] for i in cand] + list(known_texts))
    except ValueError:  # no n-grams at all (texts of one character): rank by score alone
        return [int(i) for i in cand[:n]]
    C, K = X[: len(cand)], X[len(cand):]
    max_sim = np.asarray((C @ K.T).max(axis=1).todense()).ravel() if K.shape[0] else np.zeros(len(cand))
    gain_base = scores[cand]
    free = np.ones(len(cand), dtype=bool)
    picked: list[int] = []
    for _ in range(min(n, len(cand))):
        gain = gain_base * np.clip(1.0 - max_sim, 0.0, 1.0) ** diversity
        gain[~free] = -np.inf
        k = int(np.argmax(gain))
        picked.append(k)
        free[k] = False
        max_sim = np.maximum(max_sim, (C @ C[k].T).toarray().ravel())
    return [int(cand[k]) for k in picked]


@dataclass
class SuggestResult:
    output: Path
    config: Path | None
    picked: list[dict[str, Any]]
    loaded: Any
    model_version: str


def suggest(paths: Sequence[Path], n: int, output: Path, *, model_dir: Path | None = None,
            exclude: Sequence[Path] = (), fmt: str | None = None, diversity: float = 1.0,
            pool_factor: int = 5, input_format: str | None = None, columns: dict[str, str] | None = None,
            transcripts: Path | None = None) -> SuggestResult:
    """Pick the ``n`` posts of ``paths`` most worth annotating and write them for an annotation tool.

    ``fmt`` is ``labelstudio`` (tasks JSON with pre-annotations + labeling config) or ``jsonl``
    (one post per line with ``text``, which Prodigy and doccano import); by default it follows
    ``output``'s extension. ``input_format``, ``columns`` and ``transcripts`` read the exports as
    ``label``'s ``--format``, ``--column`` and ``--transcripts`` do.
    """

    output = Path(output)
    fmt = fmt or ("jsonl" if output.suffix.lower() in (".jsonl", ".ndjson") else "labelstudio")
    if fmt not in SUGGEST_FORMATS:
        raise PipelineError(f"suggestion format must be one of {', '.join(SUGGEST_FORMATS)}; got {fmt!r}.")
    annotated = read_corpus(exclude) if exclude else []
    loaded = load_posts(paths, exclude={str(r["post_id"]) for r in annotated}, fmt=input_format, columns=columns,
                        transcripts=transcripts)
    if not loaded.records:
        raise PipelineError(f"{', '.join(map(str, paths))}: no posts left to suggest "
                            f"(left out: {loaded.left_out() or 'nothing'}).")
    model, meta = load_model(model_dir)
    version = model_version(model_dir or DEFAULT_MODEL_DIR, meta)
    proba = predict(model, loaded.records)
    unc = uncertainty(proba, model.thresholds_)
    chosen = select_diverse([display_text(r) for r in loaded.records], unc, n, diversity=diversity,
                            pool_factor=pool_factor, known_texts=[display_text(r) for r in annotated])
    picked = []
    for rank, i in enumerate(chosen, start=1):
        task = to_task(loaded.records[i], proba[i], model.thresholds_, version)
        task["data"].update(uncertainty=round(float(unc[i]), 4), suggestion_rank=rank)
        picked.append(task)
    config = None
    if fmt == "labelstudio":
        config = write_tasks(picked, output)
    else:
        _write_jsonl(picked, output)
    log.info("suggested %d of %d posts", len(picked), len(loaded.records))
    return SuggestResult(output, config, picked, loaded, version)


def _write_jsonl(tasks: list[dict[str, Any]], output: Path) -> None:
    """One post per line: its fields, ``text`` (what Prodigy and doccano show) and the model's view."""
    import orjson

    output.parent.mkdir(parents=True, exist_ok=True)
    with open(output, "wb") as fh:
        for task in tasks:
            row = {k: v for k, v in task["data"].items() if k != "header"}
            row["scores"] = row.pop("model_scores")
            row["predicted_labels"] = [c for r in task["predictions"][0]["result"] for c in r["value"]["choices"]]
            fh.write(orjson.dumps(row) + b"\n")
