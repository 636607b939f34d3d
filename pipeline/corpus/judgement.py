"""One annotator's decision about one post (:class:`Judgement`) and the checks every tool reader shares."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from pipeline.corpus.read import CorpusError
from pipeline.ingest.mapping import apply_mapping, canonical_mapping
from pipeline.ingest.records import to_iso
from pipeline.schema import has_text, validate_labels

#: Corpus provenance fields a tool may carry through in its task data (see ``corpus export``).
CORPUS_EXTRA = ("source", "sampling")


@dataclass
class Judgement:
    """One annotator's decision about one post, as read from a tool's export."""

    where: str
    post: dict[str, Any]
    source: str
    #: The full label set chosen (multi-label interfaces); ``None`` for binary decisions.
    labels: list[str] | None = None
    #: Binary decisions (Prodigy accept/reject of one label): label → accepted?
    decisions: dict[str, bool] = field(default_factory=dict)
    annotator: str | None = None
    annotated_at: str | None = None
    note: str | None = None


def post_fields(obj: dict[str, Any], where: str, *, text: Any = None) -> dict[str, Any]:
    """Canonical post fields found in a tool's task data; the tool's ``text`` becomes the caption
    when the data carries no caption, transcript or on-screen text of its own."""
    try:
        rec = apply_mapping(obj, canonical_mapping(list(obj)))
    except ValueError as exc:
        raise CorpusError(f"{where}: {exc}.") from exc
    for name in CORPUS_EXTRA:
        if isinstance(obj.get(name), str) and obj[name].strip():
            rec[name] = obj[name]
    if not has_text(rec) and isinstance(text, str) and text.strip():
        rec["caption"] = text
    return {k: v for k, v in rec.items() if v is not None and v != []}


def checked_labels(values: list[Any], where: str) -> list[str]:
    try:
        return validate_labels([str(v).strip() for v in values])
    except ValueError as exc:
        raise CorpusError(f"{where}: {exc}") from exc


def date_of(value: Any) -> str | None:
    """The day (``YYYY-MM-DD``, UTC) of a timestamp or date string, or ``None``."""
    iso = to_iso(value)
    return iso[:10] if iso else None


def text_or_none(value: Any) -> str | None:
    return str(value).strip() or None if value is not None else None
