"""Writing analysis outputs safely: tables as CSV (formula-safe) and Parquet, and simple HTML pages.

Every file is written to a temporary file in the same folder and renamed into place when it is
complete, so an interrupted run never leaves a truncated table that looks finished.
"""

from __future__ import annotations

import base64
import logging
import os
import tempfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from pipeline.io.html import esc, file_list, html_document
from pipeline.io.writers import safe_cell

log = logging.getLogger(__name__)

CSS = """
body{font-family:system-ui,-apple-system,"Segoe UI",sans-serif;margin:2rem auto;max-width:1200px;padding:0 1rem;
color:#222;line-height:1.45}
h2{margin-top:2.2rem;border-bottom:1px solid #ddd;padding-bottom:.2rem} .note{color:#555;font-size:.9rem}
.scroll{overflow-x:auto} table{border-collapse:collapse;font-size:.85rem;margin:.6rem 0}
th,td{border:1px solid #ddd;padding:.25rem .5rem;text-align:left;vertical-align:top}
th{background:#f4f4f4} td.text{max-width:32rem;white-space:normal}
figure{margin:1rem 0} figure img{max-width:100%;height:auto;border:1px solid #eee}
figcaption{color:#555;font-size:.85rem} .flag{font-weight:bold;color:#b00}
"""


def atomic_write(path: Path, write: Callable[[Path], object]) -> Path:
    """Call ``write(tmp)`` on a temporary file next to ``path``, then rename it to ``path``."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    os.close(fd)
    try:
        write(Path(tmp))
        os.replace(tmp, path)
    finally:
        Path(tmp).unlink(missing_ok=True)
    return path


def write_text(path: Path, text: str) -> Path:
    """A UTF-8 text file, written atomically."""
    return atomic_write(path, lambda tmp: tmp.write_text(text, encoding="utf-8"))


def _for_files(df: pd.DataFrame) -> pd.DataFrame:
    """Timestamps as ISO 8601 UTC text, so CSV and Parquet readers agree on them."""
    out = df.copy()
    for col in out.columns:
        if pd.api.types.is_datetime64_any_dtype(out[col]):
            out[col] = out[col].dt.strftime("%Y-%m-%dT%H:%M:%SZ")
        elif isinstance(out[col].dtype, pd.CategoricalDtype):
            out[col] = out[col].astype(str)
    return out


def write_table(df: pd.DataFrame, out_dir: Path, name: str) -> dict[str, Path]:
    """``name.csv`` (every text cell through :func:`safe_cell`) and ``name.parquet``."""
    flat = _for_files(df)
    written = {f"{name}.csv": atomic_write(out_dir / f"{name}.csv",
                                           lambda tmp: flat.map(safe_cell).to_csv(tmp, index=False))}
    written[f"{name}.parquet"] = atomic_write(out_dir / f"{name}.parquet",
                                              lambda tmp: flat.to_parquet(tmp, index=False))
    return written


@dataclass
class Block:
    """One titled part of a page: intro text, charts (caption, PNG), a table of display strings."""

    title: str
    intro: str = ""
    charts: list[tuple[str, bytes]] = field(default_factory=list)
    headers: list[str] = field(default_factory=list)
    rows: list[list[str]] = field(default_factory=list)
    note: str = ""
    text_columns: tuple[int, ...] = ()
    flag_column: int | None = None


def _table(block: Block) -> str:
    if not block.headers:
        return ""
    if not block.rows:
        return '<p class="note">Nothing to show.</p>'
    head = "".join(f"<th>{esc(h)}</th>" for h in block.headers)
    body = []
    for row in block.rows:
        cells = []
        for j, c in enumerate(row):
            cls = ' class="text"' if j in block.text_columns else ""
            cls = ' class="flag"' if j == block.flag_column and c else cls
            cells.append(f"<td{cls}>{esc(c)}</td>")
        body.append("<tr>" + "".join(cells) + "</tr>")
    return (f'<div class="scroll"><table><thead><tr>{head}</tr></thead><tbody>\n' + "\n".join(body)
            + "\n</tbody></table></div>")


def render_page(title: str, intro: Sequence[str], blocks: Sequence[Block], files: Sequence[str]) -> str:
    """A self-contained HTML page (charts inline, all text escaped, no scripts)."""
    parts = [f"<h1>{esc(title)}</h1>"] + [f'<p class="note">{esc(p)}</p>' for p in intro]
    for block in blocks:
        parts.append(f"<h2>{esc(block.title)}</h2>")
        if block.intro:
            parts.append(f"<p>{esc(block.intro)}</p>")
        for caption, png in block.charts:
            data = base64.b64encode(png).decode("ascii")
            parts.append(f'<figure><img src="data:image/png;base64,{data}" alt="{esc(caption)}">'
                         f"<figcaption>{esc(caption)}</figcaption></figure>")
        parts.append(_table(block))
        if block.note:
            parts.append(f'<p class="note">{esc(block.note)}</p>')
    parts.append(file_list(list(files)))
    return html_document(title, "\n".join(parts), CSS)


def render_markdown(title: str, intro: Sequence[str], blocks: Sequence[Block], max_rows: int = 30) -> str:
    """The same content as Markdown tables (no charts), for a quick look in a terminal or a repository."""
    def cell(v: str) -> str:
        return str(v).replace("|", "\\|").replace("\n", " ")

    out = [f"# {title}", ""] + [f"{p}\n" for p in intro]
    for block in blocks:
        out += [f"## {block.title}", ""] + ([block.intro, ""] if block.intro else [])
        if block.headers and block.rows:
            out.append("| " + " | ".join(cell(h) for h in block.headers) + " |")
            out.append("|" + "---|" * len(block.headers))
            out += ["| " + " | ".join(cell(c) for c in row) + " |" for row in block.rows[:max_rows]]
            if len(block.rows) > max_rows:
                out.append(f"\n({len(block.rows) - max_rows} more rows in the CSV/Parquet tables)")
            out.append("")
        elif block.headers:
            out += ["Nothing to show.", ""]
        if block.note:
            out += [block.note, ""]
    return "\n".join(out) + "\n"
