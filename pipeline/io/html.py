"""What the HTML reports share: escaping, the page shell with its Content-Security-Policy, and
matplotlib figures rendered to PNG bytes without a display.

The policy forbids scripts and any outside resource (images only as ``data:`` URLs), so even a
missed escape of user text could not run code or load anything.
"""

from __future__ import annotations

import io
import warnings
from collections.abc import Callable
from html import escape
from typing import Any

CSP = "default-src 'none'; img-src data:; style-src 'unsafe-inline'"
# Handles may contain '$' or '_': matplotlib must never read them as mathtext.
MPL_RC = {"text.parse_math": False, "font.size": 9, "axes.spines.top": False, "axes.spines.right": False}


def esc(text: object) -> str:
    """HTML-escape any value (quotes included, for attributes)."""
    return escape(str(text), quote=True)


def html_document(title: str, body: str, css: str) -> str:
    """A complete, self-contained HTML page."""
    return (f'<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n'
            f'<meta http-equiv="Content-Security-Policy" content="{CSP}">\n'
            f'<meta name="viewport" content="width=device-width, initial-scale=1">\n'
            f"<title>{esc(title)}</title>\n<style>{css}</style>\n</head>\n<body>\n{body}\n</body>\n</html>\n")


def file_list(files: list[str]) -> str:
    """The closing "Files" section linking the report's other outputs."""
    return "<h2>Files</h2><ul>" + "".join(f'<li><a href="{esc(f)}">{esc(f)}</a></li>' for f in files) + "</ul>"


def render_png(draw: Callable[[Any], None], size: tuple[float, float], dpi: int = 100) -> bytes:
    """Draw on a fresh Agg-backed Figure (no pyplot, no global state) and return PNG bytes."""
    from matplotlib import rc_context
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    # matplotlib types rc_context() keys as a Literal of every rcParam name; a dict[str, ...] cannot match it
    with rc_context(MPL_RC), warnings.catch_warnings():  # type: ignore[arg-type]
        warnings.filterwarnings("ignore", message="Glyph .* missing from")  # CJK text without a CJK font
        fig = Figure(figsize=size, layout="constrained")
        FigureCanvasAgg(fig)
        draw(fig)
        buf = io.BytesIO()
        fig.savefig(buf, format="png", dpi=dpi, metadata={"Software": None})
    return buf.getvalue()
