"""Per-language precision/recall of language ID on the corpus posts whose language is known.

    .venv/bin/python bench/language_id_eval.py [--corpus corpora/diplomacy_strategies.jsonl] [--rules all]

Gold rule (the language is taken as known only where the source makes it unambiguous; other posts
are left out):

- ``jp_gov_tiktokapi``: kana in the text without hashtags → ``ja``, Hangul → ``ko``; a post whose
  only words are hashtags: kana in them (the smiley ``シ`` aside) → ``ja``, Hangul → ``ko``.
- ``nepal_election2022_tiktok``: text with Devanagari → ``ne`` (the export is Nepali; some
  transcripts are Hindi, so ``ne`` recall here is a lower bound).
- ``romania2024_commercial_content_medialab`` (cover OCR): → ``ro`` when the OCR text has a
  Romanian letter (ă â î ș ț ş ţ) or two Romanian function words.
- ``research_api_us2024_cns`` and ``eu24_war_abortion_aiforensics``: → ``en`` when the text
  without hashtags, mentions and URLs is ASCII, has three words, one of them an English function word, and none of the
  German/French/Spanish/Italian/Romanian/Dutch ones listed below.
- ``zeeschuimer_tiktok_fosfor``: ``tr`` with ğ or ı (and no Azerbaijani ə); ``es`` with ñ ¿ ¡ or two
  Spanish function words and no Portuguese ones.

The text is what the pipeline identifies: caption, on-screen text and the first 1,000 characters
of the transcript. Precision counts every gold post the detector gave that language (so Hindi
answers on Nepali posts lower ``ne`` recall, not ``hi`` precision, as ``hi`` has no gold posts).
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from pipeline.clean.language import (
    COMMON_LANGUAGES as COMMON,  # noqa: E402
    PREVIOUS_RULE,
    RULE,
    DecisionRule,
    _record_text,
    _strip_tags,
    detect_languages,
)

ROOT = Path(__file__).resolve().parent.parent
WORD_RE = re.compile(r"[^\W\d_]+")
FUNCTION_WORDS = {
    "en": {"the", "and", "of", "to", "is", "for", "you", "this", "with", "are", "that", "it", "was", "on", "be",
           "have", "your", "what", "will", "they", "we", "not", "from", "how", "why", "after", "about"},
    "de": {"der", "die", "das", "und", "ist", "nicht", "ich", "wir", "mit", "auf", "für", "sie", "ein", "eine", "auch"},
    "fr": {"le", "la", "les", "et", "est", "des", "une", "pour", "pas", "que", "qui", "dans", "sur", "nous", "vous"},
    "es": {"el", "los", "las", "que", "por", "para", "con", "una", "pero", "como", "más", "este", "esta", "del", "muy"},
    "it": {"il", "che", "di", "della", "non", "sono", "per", "gli", "una", "questo"},
    "ro": {"și", "şi", "în", "pentru", "este", "sunt", "care", "mai", "din", "acest", "această", "vă", "cu", "noi",
           "sau", "cel", "cea", "la", "de"},
    "nl": {"het", "een", "niet", "van", "zijn", "voor", "ook", "maar", "wij", "jij"},
    "pt": {"não", "você", "uma", "com", "são", "mais", "para", "isso", "muito"},
}
_RO_LETTERS = set("ăâîșțşţĂÂÎȘȚŞŢ")
_KANA = re.compile("[\u3040-\u30ff]")
_HANGUL = re.compile("[\uac00-\ud7af]")
_DEVANAGARI = re.compile("[\u0900-\u097f]")
_TAGS = re.compile(r"[#＃]\S+")
_SMILEY = re.compile("[シツ\u309a\u3099]")

CANDIDATES = {
    "previous (all languages, p ≥ 0.5)": PREVIOUS_RULE,
    "all languages, p ≥ 0.3 under 40 letters": DecisionRule(0.5, 0.3, 40),
    "all languages, p ≥ 0.3": DecisionRule(0.3, 0.3, 0),
    "previous + hashtag scripts": DecisionRule(tag_scripts=True),
    "hashtag scripts, p ≥ 0.3 under 40 letters": DecisionRule(0.5, 0.3, 40, tag_scripts=True),
    "hashtag scripts, 40 languages, p ≥ 0.3 under 40 letters": DecisionRule(0.5, 0.3, 40, COMMON, True),
    "hashtag scripts, 40 languages, p ≥ 0.5": DecisionRule(0.5, 0.5, 0, COMMON, True),
}


def words(text: str) -> list[str]:
    return [w.lower() for w in WORD_RE.findall(text)]


def _count(ws: list[str], lang: str) -> int:
    return sum(w in FUNCTION_WORDS[lang] for w in ws)


def gold_language(rec: dict) -> str | None:
    """The known language of a corpus post (module docstring), or ``None``."""
    text = _record_text(rec)
    body = _strip_tags(text)
    src = rec.get("source")
    ws = words(body)
    if src == "jp_gov_tiktokapi":
        tags = _SMILEY.sub("", " ".join(_TAGS.findall(text)))
        probe = body if len(ws) > 1 or not tags.strip() else tags
        return "ja" if _KANA.search(probe) else ("ko" if _HANGUL.search(probe) else None)
    if src == "nepal_election2022_tiktok":
        return "ne" if _DEVANAGARI.search(text) else None
    if src == "romania2024_commercial_content_medialab":
        romanian = bool(_RO_LETTERS & set(body)) or sum(w in FUNCTION_WORDS["ro"] - {"la", "de"} for w in ws) >= 2
        return "ro" if romanian else None
    if src in ("research_api_us2024_cns", "eu24_war_abortion_aiforensics"):
        others = sum(_count(ws, lang) for lang in ("de", "fr", "es", "it", "ro", "nl"))
        return "en" if body.isascii() and len(ws) >= 3 and _count(ws, "en") >= 1 and others == 0 else None
    if src == "zeeschuimer_tiktok_fosfor":
        if ("ğ" in body or "ı" in body) and "ə" not in body:
            return "tr"
        if (set("ñ¿¡") & set(body) or _count(ws, "es") >= 2) and _count(ws, "pt") == 0:
            return "es"
    return None


def table(gold: list[str], pred: list[str]) -> list[tuple[str, int, float, float, int]]:
    """Per gold language: (language, support, precision, recall, answered und)."""
    rows = []
    for lang in sorted(set(gold), key=lambda g: -gold.count(g)):
        tp = sum(g == lang and p == lang for g, p in zip(gold, pred))
        said = sum(p == lang for p in pred)
        sup = gold.count(lang)
        und = sum(g == lang and p == "und" for g, p in zip(gold, pred))
        rows.append((lang, sup, tp / said if said else float("nan"), tp / sup, und))
    return rows


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--corpus", type=Path, default=ROOT / "corpora" / "diplomacy_strategies.jsonl")
    ap.add_argument("--changes", action="store_true", help="also list old → new language counts over the whole corpus")
    ap.add_argument("--changes-out", type=Path, help="with --changes: write post_id, stored and new language of "
                                                     "every corpus post whose language changes (JSONL)")
    args = ap.parse_args()
    recs = [json.loads(line) for line in open(args.corpus, encoding="utf-8")]
    known = [(r, g) for r in recs if (g := gold_language(r))]
    gold = [g for _, g in known]
    texts = [_record_text(r) for r, _ in known]
    print(f"{len(known)} of {len(recs)} corpus posts have a known language: {dict(Counter(gold).most_common())}\n")
    rules = dict(CANDIDATES)
    rules.setdefault("in use", RULE)
    for name, rule in rules.items():
        pred = detect_languages(texts, rule)
        acc = sum(g == p for g, p in zip(gold, pred)) / len(gold)
        print(f"## {name}: accuracy {acc:.3f}, und {sum(p == 'und' for p in pred)} of {len(pred)}")
        print("| language | posts | precision | recall | und |\n|---|---|---|---|---|")
        for lang, sup, prec, rec, und in table(gold, pred):
            print(f"| {lang} | {sup} | {prec:.3f} | {rec:.3f} | {und} |")
        print()
    if args.changes:
        all_texts = [_record_text(r) for r in recs]
        old, new = detect_languages(all_texts, PREVIOUS_RULE), detect_languages(all_texts, RULE)
        moved = Counter((o, n) for o, n in zip(old, new) if o != n)
        print(f"language changes over all {len(recs)} corpus posts, previous rule → rule in use: {sum(moved.values())}")
        for (o, n), c in moved.most_common():
            print(f"  {o} → {n}: {c}")
        stored = Counter((r.get("language"), n) for r, n in zip(recs, new) if r.get("language") != n)
        print(f"corpus 'language' field → rule in use: {sum(stored.values())} differ")
        for (o, n), c in stored.most_common():
            print(f"  {o} → {n}: {c}")
        if args.changes_out:
            with open(args.changes_out, "w", encoding="utf-8") as fh:
                for r, n in zip(recs, new):
                    if r.get("language") != n:
                        fh.write(json.dumps({"post_id": r["post_id"], "source": r.get("source"),
                                             "language": r.get("language"), "new_language": n}) + "\n")
            print(f"changed posts: {args.changes_out}")


if __name__ == "__main__":
    main()
