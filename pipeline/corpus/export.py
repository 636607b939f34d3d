"""Posts → Label Studio tasks with the model's predictions as pre-annotations, plus the labeling config.

Inputs are any export the ``label`` command reads, or an annotated corpus (its provenance
fields ``source`` and ``sampling`` travel in the task data, so ``corpus import`` gets them back).
The labeling config is written beside the tasks (``TASKS.label_config.xml``) so a project can
be set up and the tasks imported as they are.
"""

from __future__ import annotations

import logging
import tomllib
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from xml.sax.saxutils import quoteattr

import orjson

from pipeline.config import CONFIG_DIR, DEFAULT_MODEL_DIR
from pipeline.corpus.read import read_corpus
from pipeline.corpus.tool_formats import STRATEGY_CONTROL
from pipeline.corpus.uncertainty import uncertainty
from pipeline.ingest import IngestStats, Reject, iter_posts
from pipeline.io.sources import open_text
from pipeline.model.artefact import load_model
from pipeline.schema import EXTRA_FIELDS, POST_FIELDS, has_text, labels

log = logging.getLogger(__name__)

FROM_NAME, TO_NAME, NOTE_NAME = STRATEGY_CONTROL, "text", "note"
#: Post fields copied into a task's ``data`` (all a re-import needs to rebuild the record).
TASK_FIELDS = tuple(f for f in (*POST_FIELDS, *EXTRA_FIELDS, "source", "sampling") if f != "format")
PREDICT_CHUNK = 5_000


@dataclass
class LoadedPosts:
    """Posts read for export or suggestion, with what was left out and why."""

    records: list[dict[str, Any]] = field(default_factory=list)
    rejected: Counter = field(default_factory=Counter)
    without_text: int = 0
    excluded: int = 0

    def left_out(self) -> str:
        """What was not kept, for one line on the terminal ('' when nothing was left out)."""
        parts = []
        if self.excluded:
            parts.append(f"{self.excluded} already annotated")
        if self.without_text:
            parts.append(f"{self.without_text} without any text (nothing to annotate)")
        parts += [f"{n} {reason}" for reason, n in self.rejected.most_common()]
        return ", ".join(parts)


def is_corpus(path: Path) -> bool:
    """True when ``path`` is an annotated corpus: JSON Lines whose records carry ``labels`` but,
    unlike the output of ``label``, no model ``scores``."""
    try:
        with open_text(Path(path)) as fh:
            line = next((ln for ln in fh if ln.strip()), "")
        obj = orjson.loads(line)
    except (orjson.JSONDecodeError, UnicodeError, OSError, StopIteration):
        return False
    return isinstance(obj, dict) and "labels" in obj and "post_id" in obj and "scores" not in obj


def load_posts(paths: Sequence[Path], *, exclude: set[str] | None = None, fmt: str | None = None,
               columns: dict[str, str] | None = None, transcripts: Path | None = None) -> LoadedPosts:
    """Read posts from exports or corpora; the first record of each post id is kept.

    ``fmt``, ``columns`` and ``transcripts`` apply to exports as in ``label`` (not to corpora).
    """
    paths = [paths] if isinstance(paths, (str, Path)) else paths  # one file given as a str or Path
    out = LoadedPosts()
    exclude = exclude or set()
    seen: set[str] = set()
    for path in paths:
        path = Path(path)
        if is_corpus(path):
            items: Any = read_corpus([path])
        else:
            stats = IngestStats()
            items = [i for i in iter_posts([path], fmt=fmt, columns=columns, transcripts=transcripts, stats=stats)
                     if not isinstance(i, Reject)]
            out.rejected.update(stats.reasons)
        for rec in items:
            pid = str(rec["post_id"])
            if pid in exclude:
                out.excluded += 1
                continue
            if pid in seen:
                out.rejected["duplicate post_id"] += 1
                continue
            seen.add(pid)
            if not has_text(rec):
                out.without_text += 1
                continue
            out.records.append(rec)
    return out


def predict(model: Any, records: list[dict[str, Any]]) -> Any:
    """Probabilities (n, n_labels), computed in chunks to bound memory."""
    import numpy as np

    parts = [model.predict_proba(records[i:i + PREDICT_CHUNK]) for i in range(0, len(records), PREDICT_CHUNK)]
    return np.vstack(parts) if parts else np.zeros((0, len(labels())))


def model_version(model_dir: Path, meta: dict[str, Any]) -> str:
    return f"{Path(model_dir).name}-{str(meta.get('model_sha256', ''))[:8]}"


def display_text(rec: dict[str, Any]) -> str:
    """What the annotator reads: caption, then on-screen text and transcript under their own headings."""
    parts = [rec.get("caption") or ""]
    if rec.get("on_screen_text"):
        parts.append(f"[on-screen text] {rec['on_screen_text']}")
    if rec.get("transcript"):
        parts.append(f"[transcript] {rec['transcript']}")
    return "\n\n".join(p for p in parts if p).strip()


def to_task(rec: dict[str, Any], proba: Any = None, thresholds: Any = None,
            version: str | None = None) -> dict[str, Any]:
    """One Label Studio task; with ``proba`` the model's labels become a pre-annotation."""
    data = {k: rec[k] for k in TASK_FIELDS if rec.get(k) not in (None, [], "")}
    data["text"] = display_text(rec)
    data["header"] = " · ".join(str(x) for x in (rec.get("actor") and f"@{rec['actor']}",
                                                 (rec.get("created_at") or "")[:10], f"post {rec['post_id']}") if x)
    task: dict[str, Any] = {"data": data}
    if proba is not None:
        names = labels()
        data["model_scores"] = {n: round(float(p), 4) for n, p in zip(names, proba)}
        chosen = [n for n, p, t in zip(names, proba, thresholds) if p >= t]
        result = [{"from_name": FROM_NAME, "to_name": TO_NAME, "type": "choices",
                   "value": {"choices": chosen}}] if chosen else []
        score = 1.0 - float(uncertainty(proba[None, :], thresholds)[0])
        task["predictions"] = [{"model_version": version, "score": round(score, 4), "result": result}]
    return task


def labeling_config() -> str:
    """Label Studio labeling config: the post text, a multiple-choice strategy field and a note."""
    with open(CONFIG_DIR / "labels.toml", "rb") as fh:
        hints = {e["name"]: e.get("short", "") for e in tomllib.load(fh)["label"]}
    choices = "\n".join(f"    <Choice value={quoteattr(n)} hint={quoteattr(hints.get(n, ''))}/>" for n in labels())
    return ("<View>\n"
            '  <Header value="$header" size="6"/>\n'
            f'  <Text name="{TO_NAME}" value="$text"/>\n'
            f'  <Choices name="{FROM_NAME}" toName="{TO_NAME}" choice="multiple" showInLine="false">\n'
            f"{choices}\n"
            "  </Choices>\n"
            f'  <TextArea name="{NOTE_NAME}" toName="{TO_NAME}" placeholder="Note (optional): a hard case, why"'
            ' editable="true" maxSubmissions="1" rows="2"/>\n'
            "</View>\n")


def config_path(tasks_path: Path) -> Path:
    tasks_path = Path(tasks_path)
    return tasks_path.with_name(tasks_path.name.split(".")[0] + ".label_config.xml")


def write_tasks(tasks: list[dict[str, Any]], output: Path) -> Path:
    """Write the tasks JSON and the labeling config beside it; return the config's path."""
    output = Path(output)
    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_bytes(orjson.dumps(tasks, option=orjson.OPT_INDENT_2) + b"\n")
    cfg = config_path(output)
    cfg.write_text(labeling_config(), encoding="utf-8")
    return cfg


@dataclass
class ExportResult:
    output: Path
    config: Path
    tasks: int
    loaded: LoadedPosts
    model_version: str | None


def export_tasks(paths: Sequence[Path], output: Path, *, model_dir: Path | None = None,
                 with_predictions: bool = True, fmt: str | None = None, columns: dict[str, str] | None = None,
                 transcripts: Path | None = None) -> ExportResult:
    """Posts of ``paths`` → Label Studio tasks at ``output`` (+ labeling config beside it).

    ``fmt``, ``columns`` and ``transcripts`` read the exports as ``label`` does.
    """
    loaded = load_posts(paths, fmt=fmt, columns=columns, transcripts=transcripts)
    tasks: list[dict[str, Any]]
    version = None
    if with_predictions:
        model, meta = load_model(model_dir)
        version = model_version(model_dir or DEFAULT_MODEL_DIR, meta)
        proba = predict(model, loaded.records)
        tasks = [to_task(r, p, model.thresholds_, version) for r, p in zip(loaded.records, proba)]
    else:
        tasks = [to_task(r) for r in loaded.records]
    cfg = write_tasks(tasks, output)
    log.info("exported %d tasks to %s", len(tasks), output)
    return ExportResult(Path(output), cfg, len(tasks), loaded, version)
