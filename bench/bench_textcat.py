"""spaCy ``textcat_multilabel`` (BOW) inference, the speed yardstick of bench_label.py.

The model is the project's own baseline definition, :class:`pipeline.evaluation.spacy_baseline.SpacyTextcatBaseline`:
``spacy.blank("xx")``, ``spacy.TextCatBOW.v3`` with uni- and bigrams, one text per post
(:func:`pipeline.evaluation.spacy_baseline.post_text`: caption + on-screen text + transcript), trained
once on the annotated corpus. Its weights do not change its inference cost (a fixed-size
hashed table), so the number of training epochs does not matter for speed.

Three ways to time it, always one process (``nlp.pipe`` with spaCy's default batch size,
``n_process=1``), as a user would run it:

* :func:`infer` - ``nlp.pipe`` over post texts already built and in memory, reading each
  ``doc.cats``: tokenizing, BOW features, the forward pass. No JSON reading or parsing, no
  text cleaning, no language ID, nothing written. This is "spaCy textcat" in the issue.
* :func:`label_jsonl` - the same plus reading the JSONL with orjson, building the texts and
  writing each record back with ``labels`` and ``scores`` (orjson), in a warm process: the
  like-for-like match for our in-process ``label_files``.
* this file as a script, ``python bench/bench_textcat.py MODEL_DIR INPUT.jsonl OUTPUT.jsonl``:
  :func:`label_jsonl` in a fresh process, interpreter start, spaCy import and ``spacy.load``
  included: the like-for-like match for our ``tiktok-diplomacy label`` CLI.

Training is never timed.
"""

from __future__ import annotations

import sys
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import orjson
from common import corpus_posts

from pipeline.evaluation.spacy_baseline import EMPTY_TEXT, SpacyTextcatBaseline, post_text

PIPE = "textcat_multilabel"


def train_textcat(epochs: int | None = None) -> Any:
    """The baseline trained on the whole corpus (each post's ``labels``); returns the spaCy ``Language``."""
    posts = corpus_posts()
    est = SpacyTextcatBaseline(**({} if epochs is None else {"epochs": epochs}))
    return est.fit(posts, [p.get("labels") or [] for p in posts]).nlp_


def texts_of(posts: Iterable[dict[str, Any]]) -> list[str]:
    """One text per post, exactly as the baseline builds it."""
    return [post_text(r) or EMPTY_TEXT for r in posts]


def infer(nlp: Any, texts: Iterable[str]) -> list[dict[str, float]]:
    """``doc.cats`` of every text, via ``nlp.pipe`` (one process, default batch size)."""
    return [doc.cats for doc in nlp.pipe(texts)]


def label_jsonl(nlp: Any, src: Path, dst: Path) -> int:
    """Stream posts from JSONL (orjson) through ``nlp.pipe``, write each with ``labels`` and ``scores``.

    Returns the number of posts. Memory stays bounded (spaCy batches the stream), like ``label_files``.
    """
    threshold = nlp.get_pipe(PIPE).cfg.get("threshold", 0.5)
    n = 0
    with open(src, "rb") as fh, open(dst, "wb") as out:
        recs = (orjson.loads(line) for line in fh if line.strip())
        for doc, rec in nlp.pipe(((post_text(r) or EMPTY_TEXT, r) for r in recs), as_tuples=True):
            rec["labels"] = [c for c, p in doc.cats.items() if p >= threshold]
            rec["scores"] = doc.cats
            out.write(orjson.dumps(rec) + b"\n")
            n += 1
    return n


def main(argv: list[str]) -> None:
    if len(argv) != 3:
        sys.exit("usage: bench_textcat.py MODEL_DIR INPUT.jsonl OUTPUT.jsonl  (MODEL_DIR: a saved textcat pipeline)")
    import spacy

    label_jsonl(spacy.load(argv[0]), Path(argv[1]), Path(argv[2]))


if __name__ == "__main__":
    main(sys.argv[1:])
