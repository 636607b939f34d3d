"""Parse report.html: every table has all its columns in every row, expected columns are present, and no
markup comes from user text (handles, names, captions, hashtags, explanations, provenance)."""

import json
from html.parser import HTMLParser

import pytest

from pipeline.label.provenance import sidecar_path
from pipeline.report.run import report
from pipeline.schema import labels

NAMES = labels()
EVIL = '<script>alert(1)</script><img src=x onerror=alert(2)><a href="javascript:x">y</a>'
ALLOWED_TAGS = {"html", "head", "meta", "title", "style", "body", "h1", "h2", "p", "br", "ul", "li", "a", "figure",
                "img", "figcaption", "div", "table", "thead", "tbody", "tr", "th", "td"}
ALLOWED_ATTRS = {"lang", "charset", "http-equiv", "content", "name", "class", "id", "href", "src", "alt", "rel"}


class Page(HTMLParser):
    """Tags, attributes, text, and every table as (section id, headers, rows of cell texts)."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.tags, self.attrs, self.text, self.tables = set(), [], [], []
        self.section, self._cell, self._row, self._table = None, None, None, None

    def handle_starttag(self, tag, attrs):
        self.tags.add(tag)
        self.attrs += attrs
        if tag == "h2":
            self.section = dict(attrs).get("id")
        elif tag == "table":
            self._table = {"section": self.section, "headers": [], "rows": []}
        elif tag == "tr":
            self._row = []
        elif tag in ("td", "th"):
            self._cell = []

    def handle_endtag(self, tag):
        if tag in ("td", "th") and self._cell is not None:
            text = "".join(self._cell)
            (self._table["headers"] if tag == "th" else self._row).append(text)
            self._cell = None
        elif tag == "tr" and self._row:
            self._table["rows"].append(self._row)
        elif tag == "table":
            self.tables.append(self._table)

    def handle_data(self, data):
        self.text.append(data)
        if self._cell is not None:
            self._cell.append(data)


def _row(i, actor, caption, **extra):
    scores = {n: (0.9 if (i + j) % 3 == 0 else 0.05) for j, n in enumerate(NAMES)}
    return {"post_id": str(7300000000000000000 + i), "actor": actor, "labels": [n for n in NAMES if scores[n] > 0.5],
            "scores": scores, "caption": caption, "created_at": f"2024-0{1 + i % 3}-01T00:00:00Z",
            "language": "en", "hashtags": [EVIL], "views": 10,
            "explanations": {n: [{"feature": EVIL, "field": "caption", "weight": 1.0}] for n in NAMES}, **extra}


@pytest.fixture(scope="module")
def page(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("html")
    rows = [_row(i, [EVIL, "gov_a", None, "bbcnews"][i % 4], f"caption {EVIL}", actor_name=EVIL) for i in range(80)]
    path = tmp / "l.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    sidecar_path(path).write_text(json.dumps({
        "created_at": EVIL, "command": ["label", EVIL],
        "model": {"id": EVIL, "sha256": "ab" * 32, "training_corpus": {"n_posts": 10, "prevalence": {n: 0.1 for n in NAMES}},
                  "metrics": {"cross_validation": {"mode": EVIL, "macro_f1": 0.8, "per_label": {
                      n: {"precision": 0.8, "recall": 0.7, "f1": 0.75} for n in NAMES}}}},
        "thresholds": {n: 0.5 for n in NAMES},
        "label_definitions": [{"name": n, "definition": f"def {EVIL}", "sha256": "cd" * 32} for n in NAMES],
        "inputs": [{"name": EVIL, "rows": 80, "bytes": 1, "sha256": "ef" * 32}], "versions": {"x": EVIL}}))
    reg = {"gov_a": {"name": EVIL, "type": "government", "country": "JP"}}
    report(path, tmp / "r", registry=reg, examples=2, n_boot=20)
    parser = Page()
    parser.feed((tmp / "r" / "report.html").read_text(encoding="utf-8"))
    return parser


def test_no_markup_from_user_text(page):
    assert page.tags <= ALLOWED_TAGS
    assert {k for k, _ in page.attrs} <= ALLOWED_ATTRS
    for key, value in page.attrs:
        if key == "href":
            # post links built by the report, or the report's own files (relative, no scheme)
            assert value.startswith("https://www.tiktok.com/@") or ":" not in value, value
            assert "javascript" not in value and "<" not in value
        if key == "src":
            assert value.startswith("data:image/png;base64,")
    text = "".join(page.text)
    # the hostile strings arrive as text, whole: escaped, never interpreted
    assert text.count(EVIL) >= 10


def test_every_table_has_all_its_columns(page):
    by_section = {t["section"]: t for t in page.tables}
    for table in page.tables:
        assert table["headers"], table["section"]
        for row in table["rows"]:
            assert len(row) == len(table["headers"]), (table["section"], row)
    expect = {
        "overall": ["strategy", "posts", "posts labelled", "counted (Wilson)", "mean probability (bootstrap)",
                    "adjusted, EM (bootstrap)"],
        "actor_types": ["rank", "actor type", "actors", "posts"] + [f"{n.replace('_', ' ')}: {w}" for n in NAMES for w in
                                                                    ("adjusted (headline)", "counted", "mean probability")],
        "actors": ["rank", "handle", "name", "type", "country", "posts"],
        "sensitivity": ["strategy", "threshold − 0.1", "threshold", "threshold + 0.1"],
        "model": ["strategy", "threshold", "training prevalence"], "definitions": ["strategy", "definition", "sha256"],
        "inputs": ["file", "records read", "bytes", "sha256"], "language": ["language", "posts"],
        "month": ["month", "posts"], "mix": ["actor type", "posts", "no strategy"],
        "engagement": ["actor type", "metric"],
    }
    for section, headers in expect.items():
        got = by_section[section]["headers"]
        assert got[:len(headers)] == headers, (section, got)
    for n in NAMES:
        assert f"examples_{n}" in by_section
        assert by_section[f"examples_{n}"]["rows"]
    assert len(by_section["overall"]["rows"]) == len(NAMES)
    assert by_section["actors"]["rows"][-1][1].startswith("(no actor)") and by_section["actors"]["rows"][-1][0] == ""
