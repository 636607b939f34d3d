"""Reading annotation-tool exports: Label Studio JSON, Prodigy ``db-out`` JSONL, doccano JSONL, CSV.

Each reader yields :class:`Judgement` items: the post as far as the tool knows it and what one
annotator decided about it.  Merging judgements into corpus records (and catching conflicts)
is :mod:`pipeline.corpus.importer`'s job.  Every judgement carries ``where`` (file and line, or
file and task) so that errors can name it.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import orjson

from pipeline.corpus.csv_format import read_csv_annotations
from pipeline.corpus.judgement import Judgement, checked_labels, date_of, post_fields, text_or_none
from pipeline.corpus.read import CorpusError, iter_jsonl_objects
from pipeline.errors import InputFileError
from pipeline.io.sources import read_all_bytes, read_head
from pipeline.schema import labels

FORMATS = ("labelstudio", "prodigy", "doccano", "csv")
#: Name of the Label Studio Choices control in the labeling config ``corpus export`` writes.
STRATEGY_CONTROL = "strategy"
_PRODIGY_KEYS = ("_input_hash", "_task_hash", "_view_id", "_session_id", "_annotator_id", "answer")


def detect_format(path: Path) -> str:
    """Which annotation tool wrote ``path``, from its content."""
    text = read_head(path).decode("utf-8", errors="replace").lstrip("\ufeff \t\r\n")
    if not text.startswith(("{", "[")):
        return "csv"
    if text.startswith("["):
        first = next((x for x in _load_json(path) if isinstance(x, dict)), None)
    else:
        try:
            first = orjson.loads(text.split("\n", 1)[0])
        except orjson.JSONDecodeError as exc:
            raise InputFileError(path, f"first line is not valid JSON ({exc})",
                                 "Pass the file the tool exported.") from exc
    kind = _kind(first) if isinstance(first, dict) else None
    if kind is None:
        raise InputFileError(path, "cannot tell which annotation tool wrote this file",
                             "Pass --format labelstudio, prodigy, doccano or csv.")
    return kind


def _kind(obj: dict[str, Any]) -> str | None:
    if isinstance(obj.get("data"), dict) and any(k in obj for k in ("annotations", "completions", "predictions")):
        return "labelstudio"
    if any(k in obj for k in _PRODIGY_KEYS):
        return "prodigy"
    if ("label" in obj or "labels" in obj) and ("text" in obj or "data" in obj):
        return "doccano"
    return None


def read_annotations(path: Path, fmt: str | None, skipped: Counter) -> Iterator[Judgement]:
    """Judgements from one export file; tasks nobody answered are counted in ``skipped``."""
    path = Path(path)
    kind = fmt or detect_format(path)
    read_head(path)  # missing, empty and binary files fail here with a clear message
    reader = {"labelstudio": _read_labelstudio, "prodigy": _read_prodigy, "doccano": _read_doccano,
              "csv": read_csv_annotations}.get(kind)
    if reader is None:
        raise InputFileError(path, f"unknown annotation format {kind!r}", f"Use one of: {', '.join(FORMATS)}.")
    yield from reader(path, skipped)


# --- shared helpers ---------------------------------------------------------------------------

def _load_json(path: Path) -> list[Any]:
    try:
        doc = orjson.loads(read_all_bytes(path).removeprefix(b"\xef\xbb\xbf"))
    except orjson.JSONDecodeError as exc:
        raise InputFileError(path, f"not valid JSON ({exc})",
                             "Export the project again (the file may be cut off).") from exc
    return doc if isinstance(doc, list) else [doc]


# --- Label Studio -----------------------------------------------------------------------------

def _ls_user(value: Any) -> str | None:
    if isinstance(value, dict):  # older exports inline the user
        return text_or_none(value.get("email")) or (f"ls-user-{value['id']}" if value.get("id") is not None else None)
    return f"ls-user-{value}" if value is not None else None


def _read_labelstudio(path: Path, skipped: Counter) -> Iterator[Judgement]:
    """Label Studio "JSON" export: a list of tasks with ``data`` and ``annotations[].result[]``."""
    for index, task in enumerate(_load_json(path), start=1):
        where = f"{path}: task {index}" + (f" (id {task['id']})" if isinstance(task, dict) and "id" in task else "")
        if not isinstance(task, dict) or not isinstance(task.get("data"), dict):
            raise CorpusError(f"{where}: not a Label Studio task (no 'data' object). Export the project as 'JSON'.")
        done = [a for a in task.get("annotations", task.get("completions")) or []
                if isinstance(a, dict) and not a.get("was_cancelled")]
        if not done:
            skipped["Label Studio tasks without a submitted annotation"] += 1
            continue
        if any(a.get("ground_truth") for a in done):  # an adjudicated answer overrides the others
            done = [a for a in done if a.get("ground_truth")]
        data = task["data"]
        post = post_fields(data, where, text=data.get("text"))
        for ann in done:
            by_control: dict[str, list[Any]] = {}
            notes: list[str] = []
            for region in ann.get("result") or []:
                value = region.get("value") if isinstance(region, dict) else None
                if not isinstance(value, dict):
                    continue
                if region.get("type") == "choices":
                    by_control.setdefault(str(region.get("from_name")), []).extend(value.get("choices") or [])
                elif region.get("type") == "textarea":
                    notes += [t for t in value.get("text") or [] if isinstance(t, str)]
            # A project may ask other multiple-choice questions; ours is named "strategy".
            choices = by_control.get(STRATEGY_CONTROL) or [c for cs in by_control.values() for c in cs]
            yield Judgement(where, post, f"labelstudio:{path.name}", labels=checked_labels(choices, where),
                            annotator=_ls_user(ann.get("completed_by")),
                            annotated_at=date_of(ann.get("updated_at") or ann.get("created_at")),
                            note=" ".join(notes).strip() or None)


# --- Prodigy ----------------------------------------------------------------------------------

def _read_prodigy(path: Path, skipped: Counter) -> Iterator[Judgement]:
    """Prodigy ``db-out``: choice tasks (``accept`` list) and binary tasks (``label`` + ``answer``)."""
    for lineno, obj in iter_jsonl_objects(path):
        where = f"{path}:{lineno}"
        answer = obj.get("answer")
        if answer is None:
            skipped["Prodigy lines without an answer"] += 1
            continue
        if answer not in ("accept", "reject", "ignore"):
            raise CorpusError(f"{where}: Prodigy answer must be accept, reject or ignore; got {answer!r}.")
        if answer == "ignore":
            skipped["Prodigy answers 'ignore'"] += 1
            continue
        meta: dict[str, Any] = obj["meta"] if isinstance(obj.get("meta"), dict) else {}
        post = post_fields({**meta, **{k: v for k, v in obj.items() if k != "meta"}}, where, text=obj.get("text"))
        annotator = text_or_none(obj.get("_annotator_id") or obj.get("_session_id"))
        annotated_at = date_of(obj.get("_timestamp"))
        if "accept" in obj or "options" in obj:
            if answer == "reject":  # the annotator rejected the example itself, not a label
                skipped["Prodigy choice tasks answered 'reject'"] += 1
                continue
            names = {o.get("id"): o.get("text") for o in obj.get("options") or [] if isinstance(o, dict)}
            known = set(labels())
            chosen = [x if x in known else names.get(x, x) for x in obj.get("accept") or []]
            yield Judgement(where, post, f"prodigy:{path.name}", labels=checked_labels(chosen, where),
                            annotator=annotator, annotated_at=annotated_at)
        elif "label" in obj:
            label = checked_labels([obj["label"]], where)[0]
            yield Judgement(where, post, f"prodigy:{path.name}", decisions={label: answer == "accept"},
                            annotator=annotator, annotated_at=annotated_at)
        else:
            raise CorpusError(f"{where}: Prodigy task has neither 'accept' (choice interface) nor 'label' "
                              "(binary interface). Export a text classification dataset.")


# --- doccano ----------------------------------------------------------------------------------

_DOCCANO_OWN = ("id", "text", "data", "label", "labels", "meta", "Comments", "comments")


def _read_doccano(path: Path, skipped: Counter) -> Iterator[Judgement]:
    """doccano text-classification export: JSONL (or a JSON list) with ``text`` and ``label``."""
    head = read_head(path).lstrip(b"\xef\xbb\xbf \t\r\n")
    items = enumerate(_load_json(path), start=1) if head.startswith(b"[") else iter_jsonl_objects(path)
    for lineno, obj in items:
        where = f"{path}:{lineno}"
        if not isinstance(obj, dict):
            raise CorpusError(f"{where}: expected a JSON object.")
        raw = obj.get("label", obj.get("labels"))
        if not isinstance(raw, list):
            raise CorpusError(f"{where}: no 'label' list. Export a doccano Text Classification project as JSONL.")
        if any(isinstance(x, (list, dict)) for x in raw):
            raise CorpusError(f"{where}: 'label' holds span annotations (sequence labelling), not document "
                              "labels. Export a Text Classification project.")
        meta = obj["meta"] if isinstance(obj.get("meta"), dict) else {}
        data = {**meta, **{k: v for k, v in obj.items() if k not in _DOCCANO_OWN}}
        text = obj.get("text", obj.get("data"))
        comments = obj.get("Comments", obj.get("comments")) or []
        note = " ".join(c if isinstance(c, str) else str(c.get("text", "")) for c in comments
                        if isinstance(c, (str, dict))).strip()
        yield Judgement(where, post_fields(data, where, text=text), f"doccano:{path.name}",
                        labels=checked_labels(raw, where),
                        annotator=text_or_none(obj.get("annotator") or obj.get("user")),
                        annotated_at=date_of(obj.get("annotated_at")), note=note or None)
