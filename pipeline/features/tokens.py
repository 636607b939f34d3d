"""Word tokens without spaCy: one regular-expression pass per text, ids from a stable 64-bit hash.

spaCy's rule-based tokenizer cost ~110 µs per caption here (prefix/suffix/infix searches per
whitespace chunk, a new lexeme for every unseen string, and a string store that grows with
the input), and importing spaCy ~1.1 s per process. For bag-of-words features only the word
boundaries matter, so ``word_tokenizer="regex"`` (:class:`pipeline.features.preprocess.PostPreprocessor`)
takes words as runs of letters, combining marks, digits and ``_`` (Devanagari vowel signs
stay inside their word), each other symbol (emoji, ``$``) as a token of its own, and drops
punctuation and spaces, as the spaCy features did (``IS_PUNCT``/``IS_SPACE``). Apostrophes and
hyphens split words ("don't" → "don", "t"; "anti-war" → "anti", "war").

Token ids are the first 8 bytes of BLAKE2b of the lower-cased token: stable across processes
and Python versions (``hash()`` is salted per process). A bounded cache keeps the hashing off
the per-token path; it is cleared when full, so memory stays flat however long the input.

Cue phrases (``configs/cues.toml`` ``phrases``) are matched on the same tokens: one
Aho-Corasick automaton over `` tok tok `` patterns, run over the post's tokens joined by spaces,
so a phrase matches whole tokens only, as spaCy's ``PhraseMatcher`` on ``LOWER`` did.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence
from functools import lru_cache
from hashlib import blake2b
from typing import Any

import numpy as np

from pipeline.features.cues import _cues
from pipeline.features.unicode_classes import MARKS

#: Entries of the token → id cache before it is cleared (~100 bytes each).
CACHE_SIZE = 500_000
_IDS: dict[str, int] = {}
_NO_TOKENS = np.zeros(0, dtype=np.uint64)
MENTION = "@mention"


def token_id(token: str) -> int:
    """The 64-bit id of ``token`` (already lower-cased)."""
    i = _IDS.get(token)
    if i is None:
        if len(_IDS) >= CACHE_SIZE:
            _IDS.clear()
        i = _IDS[token] = int.from_bytes(blake2b(token.encode("utf-8", "surrogatepass"), digest_size=8).digest(),
                                         "little")
    return i


def token_ids(tokens: Sequence[str]) -> np.ndarray:
    """uint64 ids of ``tokens``."""
    if not tokens:
        return _NO_TOKENS
    get = _IDS.get
    out = [get(t) for t in tokens]
    if None in out:
        out = [token_id(t) if i is None else i for t, i in zip(tokens, out)]
    return np.array(out, dtype=np.uint64)


_TEXTS: dict[int, str] = {}


def text_of(tid: int) -> str | None:
    """The token whose id is ``tid``, if this process hashed it since the cache was last cleared
    (used only to name features when a model is fitted)."""
    text = _TEXTS.get(tid)
    if text is None and len(_TEXTS) != len(_IDS):
        _TEXTS.clear()
        _TEXTS.update((i, t) for t, i in _IDS.items())
        text = _TEXTS.get(tid)
    return text


def hash_many(tokens: Sequence[str]) -> np.ndarray:
    """uint64 ids of many distinct strings (a lemma table), bypassing the cache."""
    return np.fromiter((int.from_bytes(blake2b(t.encode("utf-8", "surrogatepass"), digest_size=8).digest(), "little")
                        for t in tokens), dtype=np.uint64, count=len(tokens))


def unicode_ranges(pred: Any, limit: int = 0x10000) -> list[tuple[int, int]]:
    """Ranges of code points below ``limit`` whose category ``pred`` accepts (to rebuild
    :mod:`pipeline.features.unicode_classes`)."""
    out, start = [], None
    for cp in range(limit + 1):
        inside = cp < limit and pred(unicodedata.category(chr(cp)))
        if inside and start is None:
            start = cp
        elif not inside and start is not None:
            out.append((start, cp - 1))
            start = None
    return out


#: Punctuation the regex skips outright (ASCII, Latin-1 and General Punctuation): every single
#: character :func:`tokenize` would drop anyway, so that most texts need no filtering pass.
_COMMON_PUNCTUATION = "!\"#%&'()*,-./:;?@[\\]{}\u00a1\u00a7\u00ab\u00b6\u00b7\u00bb\u00bf" + "".join(
    chr(c) for c in range(0x2010, 0x2028)) + "".join(chr(c) for c in range(0x2030, 0x205f) if chr(c) not in "\u2044\u2052")
#: ``@mention`` (the placeholder of a tagged handle), word runs (``\w`` and combining marks), or
#: any other single character but a space or common punctuation; :func:`tokenize` keeps the
#: symbols among those.
TOKEN_RE = re.compile(rf"{re.escape(MENTION)}\b|[\w{MARKS}]+|[^\w\s{re.escape(_COMMON_PUNCTUATION)}]")
_SYMBOL: dict[str, bool] = {}


def _is_symbol(c: str) -> bool:
    """Whether a single character is a symbol (category S*: emoji, ``$``, ``+``), not punctuation."""
    v = _SYMBOL.get(c)
    if v is None:
        v = _SYMBOL[c] = unicodedata.category(c)[0] == "S"
    return v


def tokenize(text: str) -> list[str]:
    """Lower-cased word and symbol tokens of ``text`` (no punctuation, no spaces)."""
    if not text:
        return []
    toks = TOKEN_RE.findall(text.lower())
    # single characters that are neither a word nor a symbol (a lone combining mark, rarer
    # punctuation, control and format characters): found per distinct token, dropped if any
    odd = {t for t in set(toks) if len(t) == 1 and not (t.isalnum() or t == "_" or _is_symbol(t))}
    return [t for t in toks if t not in odd] if odd else toks


@lru_cache(maxsize=8)
def phrase_automaton(key: str) -> Any:
    """One Aho-Corasick automaton over every cue phrase of table ``key``, tokenized as posts are;
    each pattern is `` tok tok `` and its value the set of labels listing it."""
    import ahocorasick  # C extension; only needed when posts are featurised

    by_pattern: dict[str, set[str]] = {}
    for label, entry in _cues(key).items():
        for phrase in entry.get("phrases", []):
            toks = tokenize(phrase)
            if toks:
                by_pattern.setdefault(" " + " ".join(toks) + " ", set()).add(label)
    auto = ahocorasick.Automaton()
    for pattern, labels in by_pattern.items():
        auto.add_word(pattern, tuple(sorted(labels)))
    if by_pattern:
        auto.make_automaton()
        return auto
    return None


def phrase_counts(tokens: Sequence[str], key: str) -> dict[str, int]:
    """Per-label count of cue phrases of table ``key`` found as whole-token sequences in ``tokens``."""
    auto = phrase_automaton(key)
    if auto is None or not tokens:
        return {}
    counts: dict[str, int] = {}
    for _, labels in auto.iter(" " + " ".join(tokens) + " "):
        for label in labels:
            counts[label] = counts.get(label, 0) + 1
    return counts


def regex_tokens(texts: Sequence[str], key: str) -> tuple[list[np.ndarray], list[dict[str, int]]]:
    """Token ids and per-label cue-phrase counts of ``texts`` (any language written with spaces)."""
    ids, counts = [], []
    for text in texts:
        toks = tokenize(text)
        ids.append(token_ids(toks))
        counts.append(phrase_counts(toks, key))
    return ids, counts
