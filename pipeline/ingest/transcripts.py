"""Subtitle/transcript files → plain transcript text, and attaching them to posts.

Supported: WebVTT, SRT, TikTok creator-caption JSON (``{"utterances": [...]}``) and plain
text.  Files are matched to posts by the video id in the file name or its folder name.
When several exist for one post, creator captions (``LC``) win over speech recognition
(``ASR``) over machine translation (``MT``); the choice is recorded in ``transcript_source``.
"""

from __future__ import annotations

import json
import logging
import re
from dataclasses import dataclass
from pathlib import Path

from pipeline.errors import InputFileError

log = logging.getLogger(__name__)

_TIMING_RE = re.compile(r"^\s*(?:\d+:)?\d{1,2}:\d{2}[.,]\d{3}\s*-->\s*(?:\d+:)?\d{1,2}:\d{2}[.,]\d{3}.*$")
_TAG_RE = re.compile(r"<[^>]{0,200}>")
_INLINE_TS_RE = re.compile(r"<\d{1,2}:\d{2}[.:]\d{2}[.,]?\d*>")
_ID_RE = re.compile(r"(?<!\d)(\d{15,20})(?!\d)")
_KIND_RE = re.compile(r"(?:^|[_.-])(LC|ASR|MT)(?:[_.-]|$)", re.IGNORECASE)
_LANG_RE = re.compile(r"_(?:webvtt|creator_caption)_([A-Za-z]{2,3}(?:-[A-Za-z]{2,4})?)_", re.IGNORECASE)

SUFFIXES = (".vtt", ".srt", ".json", ".txt")
#: Preference when several transcripts exist for one post (lower wins).
KIND_RANK = {"LC": 0, "ASR": 1, "MT": 2, "": 3}


def _cue_lines(lines: list[str]) -> list[str]:
    """Keep the text lines of subtitle cues, dropping the repeats of rolling captions."""
    out: list[str] = []
    for raw in lines:
        line = _TAG_RE.sub("", _INLINE_TS_RE.sub("", raw)).replace("&nbsp;", " ").replace("&amp;", "&")
        line = line.replace("&lt;", "<").replace("&gt;", ">").strip()
        if not line:
            continue
        # Rolling (karaoke-style) captions repeat the previous line, sometimes extended.
        prev = out[-1] if out else ""
        if prev and (line == prev or (len(prev) >= 4 and line.startswith(prev + " "))):
            out[-1] = line
            continue
        if out and len(line) > 8 and out[-1].endswith(line):
            continue
        out.append(line)
    return out


def parse_vtt(text: str) -> str:
    """WebVTT → text: drops the header, NOTE/STYLE/REGION blocks, cue ids, timings and markup."""
    text = text.lstrip("\ufeff")
    if not text.startswith("WEBVTT"):
        raise ValueError("not a WebVTT file: the first line must start with 'WEBVTT'")
    keep: list[str] = []
    for block in re.split(r"\r?\n\s*\r?\n", text):
        lines = block.splitlines()
        if not lines or lines[0].startswith(("WEBVTT", "NOTE", "STYLE", "REGION")):
            continue
        timing = next((i for i, ln in enumerate(lines) if _TIMING_RE.match(ln)), None)
        if timing is None:
            continue
        keep.extend(lines[timing + 1:])
    return " ".join(_cue_lines(keep))


def parse_srt(text: str) -> str:
    """SRT → text: drops cue numbers, timings and markup."""
    keep: list[str] = []
    for block in re.split(r"\r?\n\s*\r?\n", text.lstrip("\ufeff")):
        lines = block.splitlines()
        timing = next((i for i, ln in enumerate(lines) if _TIMING_RE.match(ln)), None)
        if timing is not None:
            keep.extend(lines[timing + 1:])
    return " ".join(_cue_lines(keep))


def parse_creator_caption(text: str) -> str:
    """TikTok creator-caption JSON ``{"utterances": [{"text": …}, …]}`` → text."""
    data = json.loads(text)
    if not isinstance(data, dict) or not isinstance(data.get("utterances"), list):
        raise ValueError("not a TikTok creator-caption file: expected an object with an 'utterances' list")
    parts = [u.get("text", "") for u in data["utterances"] if isinstance(u, dict) and isinstance(u.get("text"), str)]
    return " ".join(p.strip() for p in parts if p.strip())


def parse_transcript_file(path: Path) -> str:
    """Read one transcript file, choosing the parser by content, then by suffix."""
    try:
        text = path.read_bytes().decode("utf-8", errors="replace")
    except OSError as exc:
        raise InputFileError(path, f"cannot read transcript ({exc.strerror})", "Check the file permissions.") from exc
    head = text.lstrip("\ufeff")[:20]
    try:
        if head.startswith("WEBVTT"):
            return parse_vtt(text)
        if head.lstrip().startswith("{"):
            return parse_creator_caption(text)
        if path.suffix.lower() == ".srt" or _TIMING_RE.search(text[:500]):
            return parse_srt(text)
    except (ValueError, TypeError, AttributeError, KeyError, RecursionError) as exc:
        raise InputFileError(path, f"unreadable transcript: {exc}", "Fix or remove the file.") from exc
    return " ".join(text.split())


@dataclass(frozen=True)
class TranscriptFile:
    path: Path
    video_id: str
    kind: str  # LC, ASR, MT or ""
    language: str

    @property
    def source(self) -> str:
        kind = self.kind or "unknown"
        fmt = "creator_caption" if self.path.suffix.lower() == ".json" else self.path.suffix.lower().lstrip(".")
        return f"{fmt}:{kind}:{self.language or 'und'}:{self.path.name}"


def index_transcripts(directory: Path) -> dict[str, list[TranscriptFile]]:
    """Find transcript files below ``directory`` and group them by video id."""
    if not directory.is_dir():
        raise InputFileError(directory, "transcript directory not found", "Pass an existing folder to --transcripts.")
    found: dict[str, list[TranscriptFile]] = {}
    for path in sorted(directory.rglob("*")):
        if not path.is_file() or path.suffix.lower() not in SUFFIXES:
            continue
        m = _ID_RE.search(path.stem) or _ID_RE.search(path.parent.name)
        if not m:
            continue
        kind = _KIND_RE.search(path.stem)
        lang = _LANG_RE.search(path.name)
        found.setdefault(m.group(1), []).append(
            TranscriptFile(path, m.group(1), kind.group(1).upper() if kind else "", lang.group(1) if lang else ""))
    for files in found.values():
        files.sort(key=lambda f: (KIND_RANK[f.kind], f.path.suffix.lower() != ".vtt", f.path.name))
    return found


class TranscriptAttacher:
    """Attach the preferred transcript from a folder to posts that have none (or an ASR one)."""

    def __init__(self, directory: Path) -> None:
        self.index = index_transcripts(Path(directory))
        self.attached = 0
        #: Messages for transcript files that could not be read (their posts keep their own text).
        self.unreadable: list[str] = []
        self.matched: set[str] = set()

    @property
    def files(self) -> int:
        """Subtitle files found (named by a video id)."""
        return sum(len(f) for f in self.index.values())

    @property
    def unmatched_files(self) -> int:
        """Subtitle files whose video id matched no post read so far."""
        return sum(len(f) for vid, f in self.index.items() if vid not in self.matched)

    def __call__(self, rec: dict) -> dict:
        pid = str(rec.get("post_id"))
        files = self.index.get(pid)
        if not files:
            return rec
        self.matched.add(pid)
        for best in files:  # the preferred readable file; an unreadable one is noted, never fatal
            try:
                text = parse_transcript_file(best.path)
            except InputFileError as exc:
                self.unreadable.append(str(exc))
                continue
            if text:
                rec["transcript"] = text
                rec["transcript_source"] = best.source
                self.attached += 1
            break
        return rec
