"""The Markdown summary: the same sections as the HTML report, with charts linked as PNG files.

User text is escaped so that a handle or hashtag can neither break a table (``|``, newlines),
start formatting or links (``*_[]`` …) nor inject raw HTML (``<``, ``>``, ``&``) when the file
is rendered.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from html import escape

from pipeline.report.sections import Link, Section

# $ starts maths on GitHub; with [ and ] escaped no link or image can start, so ( ) ! need no
# escape; # and + only matter at a line start, which user text never is
_MD_SPECIAL = re.compile(r"([\\`*_\[\]|~$])")
_SPACE = re.compile(r"\s+")


def md_escape(text: object) -> str:
    """Plain text → Markdown that renders as the same text (table-cell safe)."""
    flat = _SPACE.sub(" ", str(text)).strip()
    return escape(_MD_SPECIAL.sub(r"\\\1", flat), quote=False)


def _cell(value: object) -> str:
    if isinstance(value, Link) and value.url.startswith("https://www.tiktok.com/"):
        # the URL is built by the report from a numeric id and a handle: no ( ) or spaces to break it
        return f"[{md_escape(value.text)}](<{value.url}>)"
    return md_escape(value) or " "


def _table(section: Section) -> list[str]:
    if not section.rows:
        return ["_No data._", ""] if section.headers else []
    n_text = section.text_columns
    lines = ["| " + " | ".join(md_escape(h) for h in section.headers) + " |",
             "|" + "|".join(["---" if i < n_text else "---:" for i in range(len(section.headers))]) + "|"]
    lines += ["| " + " | ".join(_cell(c) for c in row) + " |" for row in section.rows]
    return lines + [""]


def render_md(sections: Sequence[Section], charts: Mapping[str, str], *, title: str, summary: Sequence[str],
              notes: Sequence[str], method: Sequence[str], files: Sequence[str]) -> str:
    """The Markdown document; ``charts`` maps chart name → relative PNG path."""
    lines = [f"# {md_escape(title)}", ""] + [f"- {md_escape(s)}" for s in summary] + [""]
    lines += ["## How to read these numbers", ""] + [f"> - {md_escape(m)}" for m in method] + [""]
    if notes:
        lines += ["## Data notes", ""] + [f"- {md_escape(n)}" for n in notes] + [""]
    for section in sections:
        lines += [f"## {md_escape(section.title)}", ""]
        if section.intro:
            lines += [md_escape(section.intro), ""]
        for para in section.paragraphs:
            lines += [md_escape(para), ""]
        lines += [f"![{md_escape(name)}]({charts[name]})" for name in section.charts if name in charts]
        if any(name in charts for name in section.charts):
            lines.append("")
        lines += _table(section)
        if section.note:
            lines += [f"_{md_escape(section.note)}_", ""]
    lines += ["## Files", ""] + [f"- `{f}`" for f in files] + [""]
    return "\n".join(lines)
