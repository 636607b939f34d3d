"""What an annotated corpus holds: size, positives per label, languages, sources, annotators, strata."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from typing import Any

from pipeline.schema import labels


def corpus_stats(records: Sequence[dict[str, Any]]) -> dict[str, Any]:
    """Counts over corpus records (as :func:`pipeline.corpus.read.read_corpus` returns them).

    ``annotators`` counts each person once per post: a double-annotated post (``"a+b"``)
    counts for both, and ``double_annotated`` says how many such posts there are.
    """
    names = labels()
    n = len(records)
    strata: dict[str, dict[str, int]] = {}
    annotators: Counter = Counter()
    for r in records:
        row = strata.setdefault(r.get("sampling") or "(none)", {"posts": 0, **{k: 0 for k in names}})
        row["posts"] += 1
        for k in r["labels"]:
            row[k] += 1
        annotators.update(a.strip() for a in str(r.get("annotator") or "unknown").split("+") if a.strip())
    return {
        "n_posts": n,
        "files": sorted({str(r["corpus_file"]) for r in records if r.get("corpus_file")}),
        "positives": {k: sum(k in r["labels"] for r in records) for k in names},
        "no_label": sum(not r["labels"] for r in records),
        "multi_label": sum(len(r["labels"]) > 1 for r in records),
        "languages": dict(Counter(r.get("language") or "und" for r in records).most_common()),
        "sources": dict(Counter(r.get("source") or "(none)" for r in records).most_common()),
        "annotators": dict(annotators.most_common()),
        "double_annotated": sum("+" in str(r.get("annotator") or "") for r in records),
        "sampling": dict(sorted(strata.items(), key=lambda kv: (-kv[1]["posts"], kv[0]))),
    }


def _table(header: list[str], rows: list[list[Any]]) -> list[str]:
    cells = [header] + [[str(c) for c in row] for row in rows]
    widths = [max(len(r[i]) for r in cells) for i in range(len(header))]
    fmt = [f"{{:<{widths[0]}}}"] + [f"{{:>{w}}}" for w in widths[1:]]
    lines = ["  ".join(f.format(c) for f, c in zip(fmt, row)).rstrip() for row in cells]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return lines


def _share(k: int, n: int) -> str:
    return f"{100 * k / n:.1f}%" if n else "-"


def _counts(title: str, counts: dict[str, int], n: int, top: int = 12) -> list[str]:
    items = list(counts.items())
    rows = [[k, v, _share(v, n)] for k, v in items[:top]]
    if len(items) > top:
        rest = sum(v for _, v in items[top:])
        rows.append([f"({len(items) - top} more)", rest, _share(rest, n)])
    return _table([title, "posts", "share"], rows)


def format_stats(stats: dict[str, Any]) -> str:
    """A readable plain-text report of :func:`corpus_stats`."""
    n = stats["n_posts"]
    out = [f"{n} annotated posts" + (f" in {len(stats['files'])} file(s)" if stats["files"] else ""), ""]
    rows = [[k, v, _share(v, n)] for k, v in stats["positives"].items()]
    rows += [["(no label)", stats["no_label"], _share(stats["no_label"], n)],
             ["(more than one label)", stats["multi_label"], _share(stats["multi_label"], n)]]
    out += _table(["label", "positives", "share"], rows) + [""]
    names = list(stats["positives"])
    out += _table(["sampling stratum", "posts", *names],
                  [[s, row["posts"], *(row[k] for k in names)] for s, row in stats["sampling"].items()]) + [""]
    out += _counts("language", stats["languages"], n) + [""]
    out += _counts("source", stats["sources"], n) + [""]
    out += _counts("annotator", stats["annotators"], n)
    if stats["double_annotated"]:
        out.append(f"{stats['double_annotated']} posts annotated by more than one person")
    return "\n".join(out)
