"""The self-contained HTML report: inline CSS, charts embedded as base64 PNGs, every text escaped.

All user-supplied text (handles, names, hashtags, post text, file names, notes) goes through
:func:`html.escape`; the page also carries a Content-Security-Policy that forbids scripts and
any outside resource, so even a missed escape could not run code or phone home.  Links are
written only for post URLs on https://www.tiktok.com/ (built by the report, never read from
the data).

Tables fit the page: cells wrap, text columns are left-aligned and numbers right-aligned,
headers stick to the top of the window while scrolling, and no column is hidden behind a
horizontal scroll bar.
"""

from __future__ import annotations

import base64
from collections.abc import Mapping, Sequence
from typing import Any

from pipeline.io.html import esc as _e, file_list, html_document
from pipeline.report.sections import Link, Section

TIKTOK = "https://www.tiktok.com/"
_CSS = """
body{font-family:system-ui,-apple-system,"Segoe UI",sans-serif;margin:2rem auto;max-width:1280px;padding:0 1rem;
color:#222;line-height:1.45}
h1{margin-bottom:.2rem} h2{margin-top:2.2rem;border-bottom:1px solid #ddd;padding-bottom:.2rem}
.meta{color:#555} .note{color:#555;font-size:.9rem}
.box{background:#f3f7fb;border:1px solid #b9cde0;border-radius:6px;padding:.4rem 1.2rem;margin:1rem 0}
.box h2{border:none;margin-top:.6rem}
table{border-collapse:collapse;font-size:.82rem;margin:.6rem 0;width:100%;table-layout:auto}
th,td{border:1px solid #ddd;padding:.25rem .4rem;vertical-align:top;text-align:right}
th{background:#f4f4f4;position:sticky;top:0;z-index:1;text-align:left;font-weight:600;overflow-wrap:anywhere}
td.t{text-align:left;overflow-wrap:anywhere;min-width:5rem} td.n{min-width:4.5rem}
figure{margin:1rem 0} figure img{max-width:100%;height:auto;border:1px solid #eee}
figcaption{color:#555;font-size:.85rem} ul.notes li{margin:.2rem 0}
"""


def _cell(value: Any, text: bool) -> str:
    cls = "t" if text else "n"
    if isinstance(value, Link):
        if value.url.startswith(TIKTOK):
            return f'<td class="{cls}"><a href="{_e(value.url)}" rel="noopener noreferrer">{_e(value.text)}</a></td>'
        value = value.text
    return f'<td class="{cls}">{_e(value)}</td>'


def _table(section: Section) -> str:
    if not section.rows:
        return '<p class="note">No data.</p>' if section.headers else ""
    head = "".join(f"<th>{_e(h)}</th>" for h in section.headers)
    body = "\n".join("<tr>" + "".join(_cell(c, i < section.text_columns) for i, c in enumerate(row)) + "</tr>"
                     for row in section.rows)
    return f"<table><thead><tr>{head}</tr></thead>\n<tbody>\n{body}\n</tbody></table>"


def _figure(caption: str, png: bytes) -> str:
    data = base64.b64encode(png).decode("ascii")
    return (f'<figure><img src="data:image/png;base64,{data}" alt="{_e(caption)}">'
            f"<figcaption>{_e(caption)}</figcaption></figure>")


def render_html(sections: Sequence[Section], charts: Mapping[str, tuple[str, bytes]], *, title: str,
                summary: Sequence[str], notes: Sequence[str], method: Sequence[str],
                files: Sequence[str]) -> str:
    """The whole HTML document as a string."""
    parts = [f"<h1>{_e(title)}</h1>", '<p class="meta">' + "<br>".join(_e(s) for s in summary) + "</p>"]
    parts.append('<div class="box"><h2 id="how-to-read">How to read these numbers</h2><ul class="notes">'
                 + "".join(f"<li>{_e(m)}</li>" for m in method) + "</ul></div>")
    if notes:
        parts.append("<h2>Data notes</h2><ul class=\"notes\">" + "".join(f"<li>{_e(n)}</li>" for n in notes) + "</ul>")
    for section in sections:
        parts.append(f'<h2 id="{_e(section.key)}">{_e(section.title)}</h2>')
        if section.intro:
            parts.append(f"<p>{_e(section.intro)}</p>")
        parts += [f"<p>{_e(p)}</p>" for p in section.paragraphs]
        parts += [_figure(*charts[name]) for name in section.charts if name in charts]
        parts.append(_table(section))
        if section.note:
            parts.append(f'<p class="note">{_e(section.note)}</p>')
    parts.append(file_list(list(files)))
    return html_document(title, "\n".join(parts), _CSS)
