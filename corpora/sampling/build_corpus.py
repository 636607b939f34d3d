"""Join the annotators' decisions with the canonical records read by the pipeline's own readers.

    python corpora/sampling/build_corpus.py ../shared/data corpora

Writes ``corpora/diplomacy_strategies.jsonl`` (final labels: primary annotation, replaced by the
last adjudication: ``adjudication_01`` (double-annotation disagreements), ``02`` (consistency review),
``03_*`` (re-read under the 2026-12 decisions, four parts), ``04``...) and ``corpora/agreement.json``
(round 1 at the top level; ``round3_double_02`` and ``reread_double_03`` for the later studies).
Handles of private individuals are pseudonymised with a keyed hash (see DATASHEET.md). The
default key is fixed so that rebuilds are reproducible; set CORPUS_PSEUDONYM_KEY to use a
private key instead (post ids still allow anyone to look a post up on TikTok).
"""

from __future__ import annotations

import glob
import hashlib
import hmac
import json
import os
import re
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from pipeline.clean.text import extract_mentions  # noqa: E402
from pipeline.corpus.agreement import agreement_report  # noqa: E402
from pipeline.ingest import IngestStats, iter_posts  # noqa: E402
from pipeline.schema import POST_FIELDS, validate_labels  # noqa: E402

SOURCES = {
    "jp_gov_tiktokapi": ["jp_gov_tiktokapi/videos_flat.csv"],
    "eu24_war_abortion_aiforensics": ["eu24_war_abortion_aiforensics/videos_dedup.csv"],
    "research_api_us2024_cns": ["research_api_us2024_cns/videos_dedup.jsonl"],
    "zeeschuimer_tiktok_fosfor": ["zeeschuimer_tiktok_fosfor/tiktok-test.ndjson"],
    "nepal_election2022_tiktok": ["nepal_election2022_tiktok/Sample_150_Test_Coherence.csv"],
    "romania2024_commercial_content_medialab": ["romania2024_commercial_content_medialab/romania-20241106-20241206-ocr.csv"],
}
TRANSCRIPTS = {"eu24_war_abortion_aiforensics": "eu24_war_abortion_aiforensics/transcripts"}
ANNOTATED_AT = "2026-11-24"
#: Batches annotated on a later day (round 2: 08-09; round 3: 10-13).
ANNOTATED_AT_BY_BATCH = {"08": "2026-11-25", "09": "2026-11-25",
                         "10": "2026-12-01", "11": "2026-12-01", "12": "2026-12-01", "13": "2026-12-01"}
REREAD_PARTS = ("jp_ent", "jp_news", "jp_gov", "other")
KEEP = list(POST_FIELDS) + ["actor_name", "region", "duet_from", "stitch_from", "transcript_source"]


def public_accounts(path: Path) -> set[str]:
    return {ln.split("#")[0].strip().lower() for ln in open(path, encoding="utf-8") if ln.split("#")[0].strip()}


def pseudonym(handle: str, key: bytes) -> str:
    return "user_" + hmac.new(key, handle.lower().encode(), hashlib.sha256).hexdigest()[:10]


def main(data_root: str, corpora: str) -> None:
    root, out = Path(data_root), Path(corpora)
    ann = out / "annotations"
    pool = {json.loads(line)["uid"]: json.loads(line) for line in open(out / "sampling/manifest.jsonl", encoding="utf-8")}
    primary: dict[str, dict] = {}
    for f in sorted(glob.glob(str(ann / "labels_batch_*.jsonl"))):
        batch = re.search(r"batch_(\d+)", f).group(1)
        for line in open(f, encoding="utf-8"):
            o = json.loads(line)
            o["annotator"] = f"ann-b{batch}"
            o["annotated_at"] = ANNOTATED_AT_BY_BATCH.get(batch, ANNOTATED_AT)
            primary[o["uid"]] = o
    second = {}
    for f in sorted(glob.glob(str(ann / "labels_double_*.jsonl"))):
        for line in open(f, encoding="utf-8"):
            o = json.loads(line)
            o["annotator"] = "ann-d" + re.search(r"double_(\d+)", f).group(1)
            second[o["uid"]] = o
    # adjudication rounds in order (01, 02, 03 = four re-read parts, 04 ...); a later round overrides an
    # earlier one; a uid twice within one round (e.g. in two 03 parts) is an error
    rounds: dict[str, dict[str, dict]] = {}
    for f in sorted(glob.glob(str(ann / "adjudication_*.jsonl"))):
        rnd = re.search(r"adjudication_(\d+)", f).group(1)
        for line in open(f, encoding="utf-8"):
            o = json.loads(line)
            if o["uid"] in rounds.setdefault(rnd, {}):
                raise SystemExit(f"{o['uid']} is adjudicated twice in round {rnd} ({f})")
            rounds[rnd][o["uid"]] = o
    adjudicated: dict[str, dict] = {}     # uid -> last adjudication
    adjudicators: dict[str, list] = {}    # uid -> every adjudicator, in order
    for rnd in sorted(rounds):
        for uid, o in rounds[rnd].items():
            adjudicated[uid] = o
            adjudicators.setdefault(uid, []).append(o["adjudicator"])
    missing = set(pool) - set(primary)
    if missing:
        raise SystemExit(f"{len(missing)} pooled posts have no annotation, e.g. {sorted(missing)[:3]}")

    records: dict[str, dict] = {}
    for source, files in SOURCES.items():
        tdir = root / TRANSCRIPTS[source] if source in TRANSCRIPTS else None
        stats = IngestStats()
        for item in iter_posts([root / f for f in files], transcripts=tdir, stats=stats):
            if isinstance(item, dict):
                records[f"{source}:{item['post_id']}"] = item
        print(source, stats.summary())

    key = os.environ.get("CORPUS_PSEUDONYM_KEY", "tiktok-diplomacy-corpus-v1").encode()
    public = public_accounts(out / "public_accounts.txt")
    rows = []
    for uid, p in pool.items():
        rec = records.get(uid)
        if rec is None:
            raise SystemExit(f"{uid}: annotated post not found by the readers")
        final = adjudicated.get(uid, primary[uid])
        row = {k: rec.get(k) for k in KEEP if rec.get(k) not in (None, "", [])}
        row["source_file"] = os.path.relpath(rec["source_file"], root)
        row["source"] = p["source"]
        row["sampling"] = p["sampling"]
        row["labels"] = validate_labels(final["labels"])
        row["annotator"] = primary[uid]["annotator"] + (f"+{second[uid]['annotator']}" if uid in second else "")
        if uid in adjudicated:
            row["annotator"] += "".join(f"+{a}" for a in adjudicators[uid])
        row["annotated_at"] = primary[uid]["annotated_at"]
        row["note"] = adjudicated[uid]["rule"] if uid in adjudicated else primary[uid].get("note", "")
        handle = (row.get("actor") or "").lower()
        if handle and handle not in public:
            row["actor"] = pseudonym(handle, key)
            row.pop("actor_name", None)
        # every @handle in any text field or the annotator's note, not only the parsed mentions
        found = set(row.get("mentions", []))
        for field in ("caption", "transcript", "on_screen_text", "note"):
            found.update(extract_mentions(row.get(field) or ""))
        private = sorted((m for m in found if m.lower() not in public), key=len, reverse=True)
        if private:
            row["mentions"] = [pseudonym(m, key) if m in private else m for m in row.get("mentions", [])]
            for field in ("caption", "transcript", "on_screen_text", "note"):
                if row.get(field):
                    for m in private:
                        row[field] = re.sub(rf"[@＠]{re.escape(m)}(?![A-Za-z0-9_])", "@" + pseudonym(m, key),
                                            row[field], flags=re.I)
        rows.append(row)
    rows.sort(key=lambda r: (r["source"], r["post_id"]))
    with open(out / "diplomacy_strategies.jsonl", "w", encoding="utf-8") as fh:
        for r in rows:
            fh.write(json.dumps(r, ensure_ascii=False) + "\n")
    print(f"{len(rows)} annotated posts -> {out / 'diplomacy_strategies.jsonl'}")

    # round 1 (top-level keys, unchanged): primary vs labels_double_01; raw annotations
    d01 = [u for u in second if second[u]["annotator"] == "ann-d01"]
    report = agreement_report([(primary[u]["labels"], second[u]["labels"]) for u in d01])
    disagreements = [u for u in d01 if set(primary[u]["labels"]) != set(second[u]["labels"])]
    report["n_disagreements_adjudicated"] = sum(u in rounds.get("01", {}) for u in disagreements)
    report["n_consistency_corrections"] = len(rounds.get("02", {}))

    def study(pairs: dict[str, tuple[list, list]], a: str, b: str) -> dict:
        r = agreement_report(list(pairs.values()))
        r["annotators"] = {"a": a, "b": b}
        r["disagreements"] = [{"uid": u, "a": sorted(x), "b": sorted(y)}
                              for u, (x, y) in pairs.items() if set(x) != set(y)]
        r["n_disagreements_adjudicated"] = sum(d["uid"] in rounds.get("04", {}) for d in r["disagreements"])
        return r

    # round 3 (2026-12-01): primary (batches 10-13) vs labels_double_02; raw annotations
    d02 = sorted(u for u in second if second[u]["annotator"] == "ann-d02")
    if d02:
        report["round3_double_02"] = study({u: (primary[u]["labels"], second[u]["labels"]) for u in d02},
                                           "primary annotator of batches 10-13 (ann-b10..ann-b13)",
                                           "ann-d02 (labels_double_02.jsonl)")
    # re-read under the 2026-12 decisions: adj-3's labels vs labels_reread_double_03 (160-post sample)
    sample_f, double_f = out / "sampling/reread_double_03_sample.jsonl", ann / "labels_reread_double_03.jsonl"
    if sample_f.exists() and double_f.exists():
        reread = {}
        for part in REREAD_PARTS:
            for line in open(ann / f"reread_03_{part}.jsonl", encoding="utf-8"):
                o = json.loads(line)
                reread[o["uid"]] = o
        sample = [json.loads(line) for line in open(sample_f, encoding="utf-8")]
        dbl = {json.loads(line)["uid"]: json.loads(line)["labels"] for line in open(double_f, encoding="utf-8")}
        pairs = {s["uid"]: (reread[s["uid"]]["labels"], dbl[s["uid"]]) for s in sample}
        r = study(pairs, "adj-3 (reread_03_*.jsonl, final labels)", "second re-reader (labels_reread_double_03.jsonl)")
        for flag, key in ((True, "changed_by_reread"), (False, "unchanged_by_reread")):
            sub = [(pairs[s["uid"]]) for s in sample if s["changed_by_reread"] is flag]
            r[key] = agreement_report(sub)
        report["reread_double_03"] = r
    report["n_reread_corrections"] = sum(len(v) for k, v in rounds.items() if k == "03")
    (out / "agreement.json").write_text(json.dumps(report, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    print(json.dumps({k: v for k, v in report.items() if k not in ("round3_double_02", "reread_double_03")}, indent=2))
    for k in ("round3_double_02", "reread_double_03"):
        if k in report:
            print(k, report[k]["n_posts"], report[k]["exact_set_agreement"],
                  {n: v["cohen_kappa"] for n, v in report[k]["per_label"].items()})

if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
