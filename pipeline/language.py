"""Per-post language identification.

py3langid ships its model inside the wheel (no download) and keeps memory small
(a few MB), unlike detectors that preload every language model (>1 GB).  Scripts that
identify a language on their own (kana → Japanese, Hangul → Korean) are decided
without the model, which is both faster and more accurate on short captions.
"""

from __future__ import annotations

import re

_KANA_RE = re.compile("[\u3040-\u30ff]")
_HAN_RE = re.compile("[\u4e00-\u9fff]")
_HANGUL_RE = re.compile("[\uac00-\ud7af]")
_DEVANAGARI_RE = re.compile("[\u0900-\u097f]")
_LETTER_RE = re.compile(r"[^\W\d_]", re.UNICODE)
_STRIP_RE = re.compile(r"[#＃@＠]\S+|https?://\S+")

UNDETERMINED = "und"
MIN_LETTERS = 12

_identifier = None


def _model():
    global _identifier
    if _identifier is None:
        from py3langid.langid import MODEL_FILE, LanguageIdentifier

        _identifier = LanguageIdentifier.from_model_file(MODEL_FILE, norm_probs=True)
    return _identifier


def detect_language(text: str) -> str:
    """ISO 639-1 code of ``text``'s language, or ``"und"`` when there is too little text.

    Hashtags, mentions and URLs are ignored: they are often English on non-English posts.
    """
    body = _STRIP_RE.sub(" ", text or "")
    if _KANA_RE.search(body):
        return "ja"
    if _HANGUL_RE.search(body):
        return "ko"
    letters = len(_LETTER_RE.findall(body))
    if letters < MIN_LETTERS:
        if _HAN_RE.search(body):
            return "ja" if letters else UNDETERMINED
        return UNDETERMINED
    if _DEVANAGARI_RE.search(body):
        lang, _ = _model().classify(body)
        return lang if lang in {"ne", "hi", "mr"} else "ne"
    lang, prob = _model().classify(body)
    return lang if prob >= 0.5 else UNDETERMINED


def record_language(rec: dict) -> str:
    """Language of a post, from its caption, on-screen text and transcript together.

    The raw fields are used: the cleaned ones keep hashtags as plain words, and a tag such as
    ``#fypシ`` would make any post look Japanese.
    """
    parts = [rec.get("caption"), rec.get("on_screen_text"), (rec.get("transcript") or "")[:1000]]
    return detect_language(" ".join(p for p in parts if isinstance(p, str) and p))


def ensure_language(rec: dict) -> dict:
    """Set ``rec["language"]`` (in place) unless the export already gave one; return ``rec``."""
    if not rec.get("language"):
        rec["language"] = record_language(rec)
    return rec
