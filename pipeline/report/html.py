"""The self-contained HTML report: inline CSS, charts embedded as base64 PNGs, every text escaped.

All user-supplied text (handles, names, hashtags, file names, notes) goes through
:func:`html.escape`; the page also carries a Content-Security-Policy that forbids scripts and
any outside resource, so even a missed escape could not run code or phone home.
"""

from __future__ import annotations

import base64
from collections.abc import Mapping, Sequence

from pipeline.io.html import esc as _e
from pipeline.io.html import file_list, html_document
from pipeline.report.sections import Section

_CSS = """
body{font-family:system-ui,-apple-system,"Segoe UI",sans-serif;margin:2rem auto;max-width:1200px;padding:0 1rem;
color:#222;line-height:1.45}
h1{margin-bottom:.2rem} h2{margin-top:2.2rem;border-bottom:1px solid #ddd;padding-bottom:.2rem}
.meta{color:#555} .note{color:#555;font-size:.9rem}
.scroll{overflow-x:auto} table{border-collapse:collapse;font-size:.85rem;margin:.6rem 0}
th,td{border:1px solid #ddd;padding:.25rem .5rem;text-align:right;white-space:nowrap}
th{background:#f4f4f4;position:sticky;top:0} td:first-child,th:first-child{text-align:left}
figure{margin:1rem 0} figure img{max-width:100%;height:auto;border:1px solid #eee}
figcaption{color:#555;font-size:.85rem} ul.notes li{margin:.2rem 0}
"""


def _table(section: Section) -> str:
    if not section.rows:
        return '<p class="note">No data.</p>'
    head = "".join(f"<th>{_e(h)}</th>" for h in section.headers)
    body = "\n".join("<tr>" + "".join(f"<td>{_e(c)}</td>" for c in row) + "</tr>" for row in section.rows)
    return f'<div class="scroll"><table><thead><tr>{head}</tr></thead>\n<tbody>\n{body}\n</tbody></table></div>'


def _figure(caption: str, png: bytes) -> str:
    data = base64.b64encode(png).decode("ascii")
    return (f'<figure><img src="data:image/png;base64,{data}" alt="{_e(caption)}">'
            f"<figcaption>{_e(caption)}</figcaption></figure>")


def render_html(sections: Sequence[Section], charts: Mapping[str, tuple[str, bytes]], *, title: str,
                summary: Sequence[str], notes: Sequence[str], method: Sequence[str],
                files: Sequence[str]) -> str:
    """The whole HTML document as a string."""
    parts = [f"<h1>{_e(title)}</h1>", '<p class="meta">' + "<br>".join(_e(s) for s in summary) + "</p>"]
    if notes:
        parts.append("<h2>Data notes</h2><ul class=\"notes\">" + "".join(f"<li>{_e(n)}</li>" for n in notes) + "</ul>")
    parts.append("<h2>How to read this report</h2><ul class=\"notes\">"
                 + "".join(f"<li>{_e(m)}</li>" for m in method) + "</ul>")
    for section in sections:
        parts.append(f'<h2 id="{_e(section.key)}">{_e(section.title)}</h2>')
        parts.append(f"<p>{_e(section.intro)}</p>")
        parts += [_figure(*charts[name]) for name in section.charts if name in charts]
        parts.append(_table(section))
        if section.note:
            parts.append(f'<p class="note">{_e(section.note)}</p>')
    parts.append(file_list(files))
    return html_document(title, "\n".join(parts), _CSS)
