"""Learning curve on accounts the model has not seen (run by hand): what more annotation would buy.

For each account-grouped fold (the folds of ``evaluate --cv K --group-by actor``), the shipped
configuration is trained on a fraction of that fold's training posts and scored on its held-out
accounts. Two ways of taking the fraction answer two questions:

* ``--by posts``: the same fraction of every account's posts (all training accounts kept): what
  annotating more posts of the accounts already in the corpus would buy;
* ``--by accounts``: that fraction of the training accounts, with all their posts (a post without
  an actor is an account of its own): what annotating posts of more accounts would buy.

Prints macro-F1 (95% bootstrap CI) per fraction and the paired difference to the full training
set, all on the same held-out posts; ``--json`` writes them. Prints only, never asserts.

    .venv/bin/python bench/learning_curve.py --by posts --fractions 0.25 0.5 1 [--json FILE]
"""

from __future__ import annotations

import argparse
import json
import logging
import time
from pathlib import Path

import numpy as np
from sklearn.base import clone

from pipeline.corpus.read import read_corpus
from pipeline.evaluation.cv import cv_folds
from pipeline.evaluation.metrics import bootstrap_ci, metric_summary, paired_bootstrap
from pipeline.model.config import build_classifier, load_config
from pipeline.model.estimator import to_indicator
from pipeline.model.folds import fold_groups
from pipeline.schema import labels


def subsample(train: np.ndarray, groups: np.ndarray, fraction: float, by: str, rng: np.random.Generator) -> np.ndarray:
    """``fraction`` of the ``train`` indices: of each group's posts (``by="posts"``) or of the groups."""
    if fraction >= 1:
        return train
    g = groups[train]
    if by == "accounts":
        uniq = np.unique(g)
        keep = rng.choice(uniq, size=max(1, round(fraction * len(uniq))), replace=False)
        return train[np.isin(g, keep)]
    out = []
    for value in np.unique(g):
        members = train[g == value]
        n = round(fraction * len(members))
        if len(members) == 1:  # a one-post account (every actorless post): kept with probability fraction
            n = int(rng.random() < fraction)
        out.append(rng.choice(members, size=n, replace=False))
    return np.sort(np.concatenate(out))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--corpus", type=Path, default=Path("corpora/diplomacy_strategies.jsonl"))
    ap.add_argument("--config", type=Path, default=None, help="training config (default: configs/train.toml)")
    ap.add_argument("--by", choices=("posts", "accounts"), default="posts")
    ap.add_argument("--fractions", type=float, nargs="+", default=[0.25, 0.5, 1.0])
    ap.add_argument("--cv", type=int, default=5)
    ap.add_argument("--json", type=Path, default=None)
    args = ap.parse_args()
    logging.basicConfig(level=logging.WARNING)
    records = read_corpus([args.corpus])
    names = labels()
    Y = to_indicator([r["labels"] for r in records], names)
    cfg = load_config(args.config)
    estimator = build_classifier(cfg)
    groups = fold_groups(records, "actor")
    folds = cv_folds(records, Y, k=args.cv, seed=cfg["seed"], group_by="actor")
    fractions = sorted(set(args.fractions) | {1.0})
    preds = {f: np.zeros(Y.shape, dtype=int) for f in fractions}
    sizes: dict[float, list[int]] = {f: [] for f in fractions}
    for fold, (tr, te) in enumerate(folds, start=1):
        rng = np.random.default_rng([cfg["seed"], fold])
        test = [records[i] for i in te]
        for f in fractions:
            start = time.perf_counter()
            sub = subsample(tr, groups, f, args.by, rng)
            est = clone(estimator).fit([records[i] for i in sub], Y[sub])
            preds[f][te] = est.predict(test)
            sizes[f].append(len(sub))
            print(f"fold {fold}: fraction {f:g} of {args.by}: {len(sub):,} training posts, "
                  f"{len(np.unique(groups[sub])):,} accounts, {time.perf_counter() - start:.0f} s", flush=True)
    report = {"by": args.by, "folds": args.cv, "seed": cfg["seed"], "posts": len(records), "fractions": {}}
    print(f"\naccount-grouped {args.cv}-fold CV, training on a fraction of each fold's training {args.by}:")
    for f in fractions:
        m, ci = metric_summary(Y, preds[f]), bootstrap_ci(Y, preds[f])
        d = paired_bootstrap(Y, preds[f], preds[1.0]) if f < 1 else None
        row = {"training_posts_mean": float(np.mean(sizes[f])), "macro_f1": m["macro_f1"], "ci": ci["macro_f1"],
               "per_label_f1": {n: m["per_label"][n]["f1"] for n in names},
               "vs_full": None if d is None else {"difference": d["difference"], "ci": d["ci"]}}
        report["fractions"][str(f)] = row
        print(f"  {f:>5g}  ~{row['training_posts_mean']:,.0f} posts  macro-F1 {m['macro_f1']:.3f} "
              f"({ci['macro_f1'][0]:.3f}-{ci['macro_f1'][1]:.3f})  "
              + " ".join(f"{n[:5]} {row['per_label_f1'][n]:.3f}" for n in names)
              + ("" if d is None else f"  vs full {d['difference']:+.3f} ({d['ci'][0]:+.3f} to {d['ci'][1]:+.3f})"))
    if args.json:
        args.json.write_text(json.dumps(report, indent=1))


if __name__ == "__main__":
    main()
