"""Start-up work for ``label --workers N``, done once in the forkserver instead of once per worker.

:func:`pipeline.label.workers.mp_context` asks multiprocessing's forkserver to import this module
before it forks the label workers. Every worker is then a fork of a process that has already
imported the labelling code and built what the first chunk would build (the language-ID
model, the SudachiPy dictionary, the cue automata): on a
2-core machine the workers and the reading process compete for the cores, so work paid
twice at start-up delays the whole run. Forked workers share these pages until they write to
them.

Nothing here is needed for correctness: each worker loads and verifies the model itself and
builds whatever is missing on first use. A failure is therefore only logged, never raised (an
exception in a forkserver preload would break the process pool).
"""

from __future__ import annotations

import logging

log = logging.getLogger(__name__)


def warm() -> None:
    """Import the labelling modules and build the per-process caches the workers use.

    The imports are this function's purpose (they run once, in the forkserver), hence lazy.
    spaCy is not loaded: models tokenized with it (``word_tokenizer="spacy"``, before issue 16)
    build their spaCy pipelines in each worker, on first use.
    """
    import pipeline.label.chunk  # noqa: F401  # lazy: the import is the point
    import pipeline.model.predictor  # noqa: F401  # lazy: the import is the point
    from pipeline.clean.language import RULE, _model  # lazy: the import is the point
    from pipeline.features.cues import config_cues, cue_automata, cues_key  # lazy: the point
    from pipeline.features.posts import sudachi_tokenizer  # lazy: the point
    from pipeline.features.tokens import phrase_automaton  # lazy: the point

    _model(RULE.languages)  # the identifier restricted to the rule's languages, as labelling uses it
    sudachi_tokenizer()
    key = cues_key(config_cues())  # the shipped model's cue table; another model builds its own matchers
    cue_automata(key)
    phrase_automaton(key)


try:
    warm()
except Exception as exc:  # noqa: BLE001 - best effort; the workers redo (and report) anything missing
    log.warning("label worker preload failed (%s); each worker will start up on its own", exc)
