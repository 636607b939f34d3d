"""Per-post language identification.

py3langid ships its model inside the wheel (no download) and keeps memory small
(a few tens of MB), unlike detectors that preload every language model (>1 GB).  Scripts that
identify a language on their own (kana → Japanese, Hangul → Korean) are decided
without the model, which is both faster and more accurate on short captions.

Speed: language ID runs once per post (in the worker processes with ``label --workers``).  The
cheap decisions come first and each regex is skipped when a plain ``str`` test shows it cannot
match; the model itself is only asked about texts the shortcuts cannot decide.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from functools import lru_cache
from typing import Any, cast

_KANA_RE = re.compile("[\u3040-\u30ff]")
_HAN_RE = re.compile("[\u4e00-\u9fff]")
_HANGUL_RE = re.compile("[\uac00-\ud7af]")
_DEVANAGARI_RE = re.compile("[\u0900-\u097f]")
_LETTER_RE = re.compile(r"[^\W\d_]", re.UNICODE)
_STRIP_RE = re.compile(r"[#＃@＠]\S+|https?://\S+")

UNDETERMINED = "und"
MIN_LETTERS = 12

# Matches (at the start) iff the text has at least MIN_LETTERS letters: each repetition skips
# non-letters ([\W\d_] is exactly the complement of the letter class [^\W\d_]) then takes one
# letter.  The possessive ``*+`` never backtracks, so this stops after the 12th letter instead
# of listing every letter of a long transcript.
_ENOUGH_LETTERS_RE = re.compile(rf"(?:[\W\d_]*+[^\W\d_]){{{MIN_LETTERS}}}")

@dataclass(frozen=True)
class DecisionRule:
    """How the model's answer becomes a language (chosen with ``bench/language_id_eval.py``).

    ``languages`` restricts the model to those codes (``None``: all 97 of py3langid); bodies with
    fewer than ``short_letters`` letters need ``short_threshold``, longer ones ``threshold``.
    """

    threshold: float = 0.5
    short_threshold: float = 0.5
    short_letters: int = 0
    languages: tuple[str, ...] | None = None
    #: when the text without hashtags is too short: kana in the hashtags → ja, Hangul → ko
    tag_scripts: bool = False

    def cut_off(self, body: str) -> float:
        if self.short_letters and _LONG_RE_CACHE.setdefault(self.short_letters, _letters_re(self.short_letters)).match(body) is None:
            return self.short_threshold
        return self.threshold


def _letters_re(n: int) -> re.Pattern:
    """Matches (at the start) iff the text has at least ``n`` letters (see ``_ENOUGH_LETTERS_RE``)."""
    return re.compile(rf"(?:[\W\d_]*+[^\W\d_]){{{n}}}")


_LONG_RE_CACHE: dict[int, re.Pattern] = {}

#: The rule before issue 19: every language, one cut-off of 0.5.
PREVIOUS_RULE = DecisionRule()

_identifiers: dict[tuple[str, ...] | None, Any] = {}


def _model(languages: tuple[str, ...] | None = None):
    identifier = _identifiers.get(languages)
    if identifier is None:
        from py3langid.langid import MODEL_FILE, LanguageIdentifier

        identifier = LanguageIdentifier.from_model_file(MODEL_FILE, norm_probs=True)
        if languages is not None:
            identifier.set_languages(languages)
        # a new identifier over the restricted table only: the stock one also keeps the full
        # 142-language table for set_languages(None), which we never call (57 MB as float32)
        identifier = _with_float32_table(identifier)
        _identifiers[languages] = identifier
    return identifier


def _with_float32_table(identifier):
    """The same identifier with its feature table stored as float32 instead of float16.

    py3langid 0.4 scores a text as ``float32 counts @ table[features]``; with a float16 table
    NumPy first converts the selected rows to float32 (exactly: every float16 is a float32),
    which costs more than the rest of the scoring.  Converting the whole table once gives the
    same float32 operands, so the same scores (checked against the stock identifier in
    ``tests/test_speed_ingest_language.py``), for ~9 MB more memory with the 46 languages of
    :data:`RULE` (the current, restricted table is converted, and the new identifier keeps no
    full table).  Other py3langid versions (other scoring code) keep their table as shipped.
    """
    import numpy as np

    if not _langid_is_0_4() or identifier.nb_ptc.dtype != np.float16:
        return identifier
    return type(identifier)(identifier.nb_ptc.astype(np.float32), identifier.nb_pc, list(identifier.nb_classes),
                            identifier.tk_nextmove, identifier.tk_output, norm_probs=True, tk_row=identifier.tk_row)


def _strip_tags(text: str) -> str:
    """``text`` without hashtags, mentions and URLs; each needs one of ``# ＃ @ ＠ ://``."""
    if "#" in text or "@" in text or "://" in text or "＃" in text or "＠" in text:
        return _STRIP_RE.sub(" ", text)
    return text


def _decide_without_model(text: str) -> tuple[str | None, str, bool]:
    """``(language, body, devanagari)``; ``language`` is ``None`` when the model must classify ``body``.

    The script tests (kana, Hangul, Han, Devanagari) look for non-ASCII characters only,
    so they are skipped for ASCII text.
    """
    body = _strip_tags(text or "")
    other_script = not body.isascii()
    if other_script:
        if _KANA_RE.search(body):
            return "ja", body, False
        if _HANGUL_RE.search(body):
            return "ko", body, False
    if _ENOUGH_LETTERS_RE.match(body) is None:  # fewer than MIN_LETTERS letters
        if other_script and _HAN_RE.search(body):
            return ("ja" if _LETTER_RE.search(body) else UNDETERMINED), body, False
        return UNDETERMINED, body, False
    return None, body, other_script and _DEVANAGARI_RE.search(body) is not None


#: ``#fypシ゚`` and kin: a katakana "shi" as a smiley in tags of posts in any language
_SMILEY_KANA_RE = re.compile("[シツ゚゙]")
_TAG_RE = re.compile(r"[#＃]\S+")


def _tag_script_language(text: str) -> str:
    """``ja``/``ko`` when the hashtags are written in kana/Hangul (the smiley ``シ`` aside), else ``und``.

    Only for texts whose other words are too few to identify: a Japanese hashtag-only post is
    Japanese, while a Latin-script hashtag says little about the post's language.
    """
    if "#" not in text and "＃" not in text:
        return UNDETERMINED
    tags = _SMILEY_KANA_RE.sub("", " ".join(_TAG_RE.findall(text)))
    if tags.isascii():
        return UNDETERMINED
    if _KANA_RE.search(tags):
        return "ja"
    if _HANGUL_RE.search(tags):
        return "ko"
    return UNDETERMINED


def _model_language(lang: str, prob: float, devanagari: bool, body: str = "", rule: DecisionRule | None = None) -> str:
    """The answer for the model's ``(language, probability)`` on a body (see :func:`detect_language`)."""
    if devanagari:
        return lang if lang in {"ne", "hi", "mr"} else "ne"
    return lang if prob >= (rule or RULE).cut_off(body) else UNDETERMINED


def detect_language(text: str, rule: DecisionRule | None = None) -> str:
    """ISO 639-1 code of ``text``'s language, or ``"und"`` when there is too little text.

    Hashtags, mentions and URLs are ignored: they are often English on non-English posts.
    """
    return detect_languages([text], rule)[0]


def detect_languages(texts: list[str], rule: DecisionRule | None = None) -> list[str]:
    """:func:`detect_language` of each text; the model scores the undecided ones together (faster)."""
    rule = rule or RULE
    decided = [_decide_without_model(text) for text in texts]
    langs = [lang for lang, _, _ in decided]
    if rule.tag_scripts:
        for i, lang in enumerate(langs):
            if lang == UNDETERMINED and texts[i]:
                langs[i] = _tag_script_language(texts[i])
    todo = [i for i, lang in enumerate(langs) if lang is None]
    if todo:
        model = _model(rule.languages)
        for i, (lang, prob) in zip(todo, _classify_many(model, [decided[i][1] for i in todo])):
            langs[i] = _model_language(lang, prob, decided[i][2], decided[i][1], rule)
    return cast(list[str], langs)  # the model decided every None above


# --- the model over many texts at once ---------------------------------------------------------
# py3langid walks a byte automaton over each text in a Python loop (most of its time). Its
# automaton forgets everything but the last _WINDOW bytes (checked for the shipped model by
# tests/test_speed_ingest_language.py): the state after any byte is the state reached from the
# start state by the _WINDOW bytes ending there.  So the states at all positions of all texts can
# be computed with _WINDOW vectorised steps; feature counts and scores are then formed exactly as
# py3langid 0.4 forms them (LanguageIdentifier._raw_score/_decide/classify), per text.

_WINDOW = 6
#: Text bytes handled per vectorised pass (bounds the temporary arrays to a few MB).
_BATCH_BYTES = 1 << 17


def _batch_supported(identifier: Any) -> bool:
    """True for py3langid 0.4 identifiers, whose internals :func:`_classify_many` mirrors."""
    if not (_langid_is_0_4() and all(
            hasattr(identifier, a) for a in ("_encode", "_rowbase", "_norm_probs", "_alias_pairs", "tk_nextmove"))):
        return False
    nextmove, rowbase, output = _automaton(identifier)
    return bool(nextmove[rowbase[0]] == 0 and output[0] < 0)  # a NUL byte keeps the start state (_feature_counts)


@lru_cache(maxsize=1)
def _langid_is_0_4() -> bool:
    """Whether py3langid 0.4 is installed; read once (a package-metadata lookup costs ~3 ms,
    which per call had been most of the language-ID time of a post-by-post read)."""
    from importlib.metadata import version

    return version("py3langid").startswith("0.4.")


def _classify_many(identifier: Any, bodies: list[str]) -> list[tuple[str, float]]:
    """``[identifier.classify(body) for body in bodies]``, with the automaton walk vectorised."""
    if not bodies or not _batch_supported(identifier):
        return [identifier.classify(body) for body in bodies]
    encoded = [identifier._encode(body) for body in bodies]
    results: list[tuple[str, float]] = []
    start = 0
    while start < len(encoded):
        stop, size = start, 0
        while stop < len(encoded) and (stop == start or size + len(encoded[stop]) <= _BATCH_BYTES):
            size += len(encoded[stop])
            stop += 1
        batch = encoded[start:stop]
        results += [_classify_counts(identifier, text, counts) for text, counts in zip(batch, _feature_counts(identifier, batch))]
        start = stop
    return results


def _automaton(identifier: Any) -> tuple[Any, Any, Any]:
    """The identifier's transition table, row offsets and state outputs as NumPy arrays (made once)."""
    import numpy as np

    cached = _AUTOMATA.get(id(identifier))
    if cached is None or cached[0] is not identifier:
        cached = (identifier, np.frombuffer(identifier.tk_nextmove, dtype=np.dtype(identifier.tk_nextmove.typecode)),
                  np.asarray(identifier._rowbase, dtype=np.int64), np.asarray(identifier.tk_output, dtype=np.int64))
        _AUTOMATA[id(identifier)] = cached
    return cached[1], cached[2], cached[3]


_AUTOMATA: dict[int, tuple[Any, Any, Any, Any]] = {}


def _feature_counts(identifier: Any, texts: list[bytes]) -> list[tuple[Any, Any] | None]:
    """Per text, what py3langid's ``visit_counts`` gives: feature ids in order of first occurrence
    and their counts (as ``intp`` and ``float32`` arrays, as ``_sparse_score`` makes them), or ``None``."""
    import numpy as np

    nextmove, rowbase, output = _automaton(identifier)
    # Each text is preceded by _WINDOW - 1 NUL bytes, which keep the automaton in its start state
    # (checked in _automaton): a position's window then never reaches the text before, and each
    # vectorised step is two gathers over a slice instead of masking positions before the start.
    pad = _WINDOW - 1
    lengths = np.fromiter(map(len, texts), dtype=np.int64, count=len(texts))
    data = np.frombuffer(b"\0" * pad + (b"\0" * pad).join(texts), dtype=np.uint8).astype(np.intp)
    segments = np.empty(2 * len(texts), dtype=np.int64)
    segments[0::2], segments[1::2] = pad, lengths
    owner = np.empty(2 * len(texts), dtype=np.int64)
    owner[0::2], owner[1::2] = -1, np.arange(len(texts))
    doc = np.repeat(owner, segments)[pad:]  # -1 on padding
    n = len(data) - pad
    state = np.zeros(n, dtype=np.intp)
    for back in range(pad, -1, -1):  # feed the bytes at position-back … position
        state = nextmove[rowbase[state] + data[pad - back:pad - back + n]]
    feature = output[state]
    emitted = (feature >= 0) & (doc >= 0)
    key = doc[emitted] * len(output) + feature[emitted]
    uniq, first, counts = np.unique(key, return_index=True, return_counts=True)
    order = np.argsort(first, kind="stable")  # first occurrence order, texts in turn
    uniq, counts = uniq[order], counts[order]
    key_doc = uniq // len(output)
    bounds = np.searchsorted(key_doc, np.arange(len(texts) + 1))
    features = (uniq % len(output)).astype(np.intp)
    counts = counts.astype(np.float32)
    return [(features[a:b], counts[a:b]) if b > a else None for a, b in zip(bounds[:-1], bounds[1:])]


def _classify_counts(identifier: Any, text: bytes, visits: tuple[Any, Any] | None) -> tuple[str, float]:
    """``identifier.classify`` of the encoded ``text`` whose feature counts are ``visits``."""
    import numpy as np

    if visits is not None:
        features, counts = visits
        scores = np.log1p(counts) @ identifier.nb_ptc[features] + identifier.nb_pc
    else:
        fill = 0.0 if identifier._norm_probs else float(np.finfo(np.float32).min)
        scores = np.full(len(identifier.nb_classes), fill, dtype=np.float32)
    if identifier._norm_probs:
        scores *= 1.0 / math.sqrt(len(text) or 1)
        np.exp(scores - scores.max(), out=scores)
        scores /= scores.sum()
    for i, j in identifier._alias_pairs:
        if identifier._norm_probs:
            scores[i] += scores[j]
            scores[j] = 0.0
        else:
            scores[i] = max(scores[i], scores[j])
            scores[j] = float(np.finfo(np.float32).min)
    best = int(scores.argmax())
    conf = float(scores[best])
    if identifier.min_confidence is not None and conf < identifier.min_confidence:
        return "und", conf
    return identifier.nb_classes[best], conf


#: Languages the model chooses among: those common on TikTok and in diplomacy research (py3langid
#: codes). Restricting the 97 languages to these lifts short English and Romanian posts over the
#: cut-off (``bench/language_id_eval.py``); posts in other languages come out as the closest of them.
COMMON_LANGUAGES = ("ar", "az", "bg", "bn", "cs", "da", "de", "el", "en", "es", "et", "fa", "fi", "fr", "he", "hi",
                    "hr", "hu", "id", "it", "ja", "kk", "ko", "lt", "lv", "mr", "ms", "ne", "nl", "no", "pl", "pt",
                    "ro", "ru", "sk", "sl", "sr", "sv", "th", "tl", "tr", "uk", "ur", "vi", "zh")

#: The rule in use, chosen from the per-language figures of ``bench/language_id_eval.py`` (README).
RULE = DecisionRule(threshold=0.5, short_threshold=0.3, short_letters=40, languages=COMMON_LANGUAGES, tag_scripts=True)


def record_language(rec: dict) -> str:
    """Language of a post, from its caption, on-screen text and transcript together.

    The raw fields are used: the cleaned ones keep hashtags as plain words, and a tag such as
    ``#fypシ`` would make any post look Japanese.
    """
    return detect_language(_record_text(rec))


def _record_text(rec: dict) -> str:
    parts = [rec.get("caption"), rec.get("on_screen_text"), (rec.get("transcript") or "")[:1000]]
    return " ".join(p for p in parts if isinstance(p, str) and p)


def ensure_language(rec: dict) -> dict:
    """Set ``rec["language"]`` (in place) unless the export already gave one; return ``rec``."""
    if not rec.get("language"):
        rec["language"] = record_language(rec)
    return rec


def ensure_languages(recs: list[dict]) -> list[dict]:
    """:func:`ensure_language` for each record, with the model run over the batch (faster)."""
    todo = [rec for rec in recs if not rec.get("language")]
    for rec, lang in zip(todo, detect_languages([_record_text(rec) for rec in todo])):
        rec["language"] = lang
    return recs
