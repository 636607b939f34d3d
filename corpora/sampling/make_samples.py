"""Cut the bundled demo export (samples/demo) and test fixtures (tests/data) from ../shared/data.

Real files in their real formats, shortened; handles of private individuals pseudonymised
(same rule as the corpus: corpora/public_accounts.txt lists the handles kept by name).

    python corpora/sampling/make_samples.py ../shared/data
"""

from __future__ import annotations

import csv
import hashlib
import json
import random
import shutil
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PUBLIC = {ln.split("#")[0].strip().lower() for ln in open(ROOT / "corpora/public_accounts.txt", encoding="utf-8")
          if ln.split("#")[0].strip()}
csv.field_size_limit(10**9)


def pseudo(handle: str | None) -> str | None:
    if not handle or handle.lower() in PUBLIC:
        return handle
    return "user_" + hashlib.sha256(("samples:" + handle.lower()).encode()).hexdigest()[:10]


def research_api(src: Path, dst: Path, pages: int) -> None:
    doc = json.loads(src.read_text(encoding="utf-8"))
    kept = []
    for entry in doc["stored"]:
        if isinstance(entry, dict) and isinstance(entry.get("data"), dict):
            if sum(1 for e in kept if isinstance(e, dict) and "data" in e) >= pages:
                continue
            for v in entry["data"]["videos"]:
                v["username"] = pseudo(v.get("username"))
        kept.append(entry)  # null and junk entries stay: readers must cope with them
        if sum(1 for e in kept if isinstance(e, dict) and "data" in e) >= pages and len(kept) > pages + 3:
            break
    dst.write_text(json.dumps({"stored": kept}, ensure_ascii=False), encoding="utf-8")


def zeeschuimer(src: Path, dst: Path, n: int) -> None:
    with open(src, encoding="utf-8") as fh, open(dst, "w", encoding="utf-8") as out:
        for i, line in enumerate(fh):
            if i >= n:
                break
            o = json.loads(line)
            a = o["data"].get("author") or {}
            if isinstance(a, dict) and not a.get("verified"):
                h = pseudo(a.get("uniqueId"))
                o["data"]["author"] = {"id": "", "uniqueId": h, "nickname": h, "verified": False}
            for t in o["data"].get("textExtra") or []:
                if t.get("userUniqueId"):
                    t["userUniqueId"] = pseudo(t["userUniqueId"])
            out.write(json.dumps(o, ensure_ascii=False) + "\n")


def csv_rows(src: Path, dst: Path, keep, delimiter: str = ",", actor_col: str | None = None) -> list[dict]:
    with open(src, encoding="utf-8-sig", newline="") as fh:
        reader = csv.DictReader(fh, delimiter=delimiter)
        rows = [r for r in reader if keep(r)]
        fields = reader.fieldnames
    for r in rows:
        if actor_col:
            r[actor_col] = pseudo(r[actor_col])
    with open(dst, "w", encoding="utf-8", newline="") as out:
        w = csv.DictWriter(out, fieldnames=fields, delimiter=delimiter)
        w.writeheader()
        w.writerows(rows)
    return rows


def main(data: str) -> None:
    d = Path(data)
    rng = random.Random(5)
    demo = ROOT / "samples/demo"
    demo.mkdir(parents=True, exist_ok=True)
    research_api(d / "research_api_us2024_cns/video_query_responses_raw.json", demo / "research_api_responses.json", 2)
    zeeschuimer(d / "zeeschuimer_tiktok_fosfor/tiktok-test.ndjson", demo / "zeeschuimer_fosfor.ndjson", 40)
    shutil.copy(d / "jp_gov_tiktokapi/videos/urasoeofficial_videos.json", demo / "jp_urasoeofficial_videos.json")
    shutil.copy(d / "jp_gov_tiktokapi/videos/komei.official_videos.json", demo / "jp_komei_official_videos.json")
    eu = csv_rows(d / "eu24_war_abortion_aiforensics/videos_dedup.csv", demo / "eu24_aiforensics.csv",
                  lambda r: r["creator_id"].lower() in PUBLIC)
    tdir = demo / "transcripts"
    for r in eu:
        src = d / "eu24_war_abortion_aiforensics/transcripts" / r["video_id"]
        if src.is_dir():
            shutil.copytree(src, tdir / r["video_id"], dirs_exist_ok=True)
    ro_ids = set()
    with open(d / "romania2024_commercial_content_medialab/romania-20241106-20241206-ocr.csv", encoding="utf-8") as fh:
        all_ro = [r["id"] for r in csv.DictReader(fh) if r["ocr"].strip()]
    ro_ids = set(rng.sample(all_ro, 60))
    csv_rows(d / "romania2024_commercial_content_medialab/romania-20241106-20241206-ocr.csv", demo / "romania_ccl.csv",
             lambda r: r["id"] in ro_ids)
    print("samples written to", demo)


if __name__ == "__main__":
    main(sys.argv[1])
