"""The Markdown summary: the same sections as the HTML report, with charts linked as PNG files.

User text is escaped so that a handle or hashtag can neither break a table (``|``, newlines),
start formatting or links (``*_[]`` …) nor inject raw HTML (``<``, ``>``, ``&``) when the file
is rendered.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from html import escape

from pipeline.report.sections import Section

# $ starts maths on GitHub; with [ and ] escaped no link or image can start, so ( ) ! need no
# escape; # and + only matter at a line start, which user text never is
_MD_SPECIAL = re.compile(r"([\\`*_\[\]|~$])")
_SPACE = re.compile(r"\s+")


def md_escape(text: object) -> str:
    """Plain text → Markdown that renders as the same text (table-cell safe)."""
    flat = _SPACE.sub(" ", str(text)).strip()
    return escape(_MD_SPECIAL.sub(r"\\\1", flat), quote=False)


def _table(section: Section) -> list[str]:
    if not section.rows:
        return ["_No data._", ""]
    lines = ["| " + " | ".join(md_escape(h) for h in section.headers) + " |",
             "|" + "|".join(["---"] + ["---:"] * (len(section.headers) - 1)) + "|"]
    lines += ["| " + " | ".join(md_escape(c) or " " for c in row) + " |" for row in section.rows]
    return lines + [""]


def render_md(sections: Sequence[Section], charts: Mapping[str, str], *, title: str, summary: Sequence[str],
              notes: Sequence[str], method: Sequence[str], files: Sequence[str]) -> str:
    """The Markdown document; ``charts`` maps chart name → relative PNG path."""
    lines = [f"# {md_escape(title)}", ""] + [f"- {md_escape(s)}" for s in summary] + [""]
    if notes:
        lines += ["## Data notes", ""] + [f"- {md_escape(n)}" for n in notes] + [""]
    lines += ["## How to read this report", ""] + [f"- {md_escape(m)}" for m in method] + [""]
    for section in sections:
        lines += [f"## {md_escape(section.title)}", "", md_escape(section.intro), ""]
        lines += [f"![{md_escape(name)}]({charts[name]})" for name in section.charts if name in charts]
        if any(name in charts for name in section.charts):
            lines.append("")
        lines += _table(section)
        if section.note:
            lines += [f"_{md_escape(section.note)}_", ""]
    lines += ["## Files", ""] + [f"- `{f}`" for f in files] + [""]
    return "\n".join(lines)
