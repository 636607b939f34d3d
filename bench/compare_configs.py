"""Compare training configurations by random-post and account-grouped cross-validation (run by hand).

Each variant is the shipped config with classifier parameters overridden; out-of-fold
probabilities are cached per variant in OUT (``<name>.npz``), so adding a variant reruns only it.
Prints per variant and fold scheme macro-F1 (95% CI), per-label F1, Brier and calibration slope,
and the paired bootstrap difference of each variant to the previous one and to the first.

    .venv/bin/python bench/compare_configs.py --out /tmp/exp VARIANTS.json
    # VARIANTS.json: [{"name": "today", "params": {"rules": false}}, {"name": "rules", "params": {}}]
    # a "cues" parameter given as a path is read as a cue table TOML; "schemes": ["actor"] limits a
    # variant to some fold schemes (default --schemes)
"""

from __future__ import annotations

import argparse
import json
import logging
import time
from pathlib import Path

import numpy as np

from pipeline.corpus.read import read_corpus
from pipeline.evaluation.calibration import calibration_summary
from pipeline.evaluation.cv import cross_validate_config
from pipeline.evaluation.metrics import bootstrap_ci, metric_summary, paired_bootstrap
from pipeline.features.cues import config_cues
from pipeline.model.config import build_classifier, load_config
from pipeline.model.estimator import to_indicator
from pipeline.schema import labels


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("variants", type=Path)
    ap.add_argument("--corpus", type=Path, default=Path("corpora/diplomacy_strategies.jsonl"))
    ap.add_argument("--out", type=Path, required=True)
    ap.add_argument("--cv", type=int, default=5)
    ap.add_argument("--schemes", default="random,actor")
    args = ap.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s")
    args.out.mkdir(parents=True, exist_ok=True)
    records = read_corpus([args.corpus])
    Y = to_indicator([r["labels"] for r in records], labels())
    base = load_config(None)
    variants = json.loads(args.variants.read_text())
    all_schemes = args.schemes.split(",")
    runs: dict[str, dict[str, tuple[np.ndarray, np.ndarray]]] = {}
    for v in variants:
        schemes = v.get("schemes", all_schemes)
        path = args.out / f"{v['name']}.npz"
        if path.is_file():
            z = np.load(path)
            runs[v["name"]] = {s: (z[f"{s}_proba"], z[f"{s}_pred"]) for s in schemes if f"{s}_proba" in z}
            if all(s in runs[v["name"]] for s in schemes):
                continue
        params = dict(v["params"])
        if isinstance(params.get("cues"), str):
            params["cues"] = config_cues(Path(params["cues"]))
        cfg = {**base, "classifier": {**base["classifier"], **params}}
        runs.setdefault(v["name"], {})
        for s in schemes:
            if s in runs[v["name"]]:
                continue
            start = time.perf_counter()
            runs[v["name"]][s] = cross_validate_config(records, Y, build_classifier(cfg), k=args.cv, seed=base["seed"],
                                                       group_by=None if s == "random" else s)
            logging.info("%s %s: %.0f s", v["name"], s, time.perf_counter() - start)
        np.savez(path, **{f"{s}_{k}": a for s, (p, q) in runs[v["name"]].items() for k, a in (("proba", p), ("pred", q))})
    first = variants[0]["name"]
    report = {}
    for s in all_schemes:
        print(f"\n== {s} folds ==")
        prev = None
        for v in variants:
            name = v["name"]
            if s not in runs[name]:
                continue
            proba, pred = runs[name][s]
            m, ci = metric_summary(Y, pred, proba), bootstrap_ci(Y, pred)
            cal = calibration_summary(Y, proba, n_boot=200)["per_label"]
            line = (f"{name:28s} macro-F1 {m['macro_f1']:.3f} ({ci['macro_f1'][0]:.3f}-{ci['macro_f1'][1]:.3f}) | "
                    + " ".join(f"{n[:5]} F1 {m['per_label'][n]['f1']:.3f} P {m['per_label'][n]['precision']:.2f} "
                               f"Brier {cal[n]['brier']:.4f} slope {cal[n]['slope'] or float('nan'):.2f}"
                               for n in labels()))
            for ref, tag in ((prev, "prev"), (first, "first")):
                if ref and ref != name and s in runs[ref]:
                    d = paired_bootstrap(Y, pred, runs[ref][s][1])
                    line += f" | vs {tag} {d['difference']:+.3f} ({d['ci'][0]:+.3f} to {d['ci'][1]:+.3f})"
            print(line, flush=True)
            report.setdefault(s, {})[name] = {"metrics": m, "ci": ci, "calibration": cal}
            prev = name
    (args.out / "summary.json").write_text(json.dumps(report, indent=1))


if __name__ == "__main__":
    main()
