"""CASCAL at scale: fit and routing time and peak memory as queries and models grow.

Routing is measured against a straightforward per-query Python implementation of the same
inference (the shape of the authors' ``infer.py``: for each query, its subject, then a loop over
that subject's centroids), over the same fitted router, in the same run; the two must give the
same scores. The fit is timed as it is (its k-means and silhouettes are scikit-learn and numpy
in both shapes, so a per-query fit would differ only in its bookkeeping). Memory is the process's
peak resident size after each fit (sizes grow along the grid, so each row's peak is its own).

    .venv/bin/python benchmarks/cascal_scale.py --queries 1000 10000 50000 --models 6 20 100
    .venv/bin/python benchmarks/cascal_scale.py --queries 1000 10000 50000 200000 \
        --models 6 50 200 --jobs 2 --out benchmarks/results/cascal_scale.csv

Targets on 2 cores (issue 6): fit 50,000 queries x 100 models in under 60 s; route at least
10,000 queries per second. Data: a synthetic pool made here (clustered embeddings, a planted
best model per niche, per-model noisy confidences), 10 subjects.
"""

from __future__ import annotations

import argparse
import resource
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd
from scipy.special import softmax

from rgd_utils.routers import CASCAL, RoutingData, unit_norm

LETTERS = np.array(list("ABCD"), dtype=object)


def synthetic_pool(n: int, m: int, d: int = 32, n_subjects: int = 10, n_niches: int = 3,
                   seed: int = 0) -> RoutingData:
    """``n`` queries of ``n_subjects`` subjects with ``n_niches`` niches each; in each niche one
    planted model is right 85% of the time, the others 45%; wrong answers are uniform."""
    rng = np.random.default_rng(seed)
    niche = rng.integers(0, n_subjects * n_niches, n)
    centres = rng.normal(size=(n_subjects * n_niches, d))
    x = centres[niche] + 0.8 * rng.normal(size=(n, d))
    best = rng.integers(0, m, n_subjects * n_niches)
    p_right = np.where(np.arange(m)[None, :] == best[niche][:, None], 0.85, 0.45)
    truth = rng.integers(0, 4, n)
    right = rng.random((n, m)) < p_right
    wrong = (truth[:, None] + rng.integers(1, 4, (n, m))) % 4
    choices = LETTERS[np.where(right, truth[:, None], wrong)]
    confidence = -np.exp(rng.normal(np.where(right, -1.5, -0.8), 0.3))
    subjects = np.array([f"s{k // n_niches}" for k in niche], dtype=object)
    return RoutingData([f"m{j}" for j in range(m)], x, subjects, choices, confidence,
                       LETTERS[truth])


def route_per_query(router: CASCAL, data: RoutingData) -> np.ndarray:
    """The same scores as ``router.scores(data)``, one query at a time (reference shape)."""
    subjects = list(router.subject_representatives_)
    reps = [router.subject_representatives_[s] for s in subjects]
    sharp = {}
    for c in router.centroids_:
        usable = c.scores.sum() > 0 and np.isfinite(c.scores).all()
        sharp[c.id] = (softmax(c.scores / router.scoring_temp) if router.sharp_scoring and usable
                       else c.scores), usable
    g = router.global_scores_
    g_norm = g / g.sum() if g.sum() > 0 else g
    out = []
    for vector in unit_norm(data.embeddings):
        subject = subjects[int(np.argmax([vector @ r for r in reps]))]
        mine = [(1.0 - vector @ c.vector, c) for c in router.centroids_ if c.subject == subject]
        if not mine:
            out.append(g.copy())
            continue
        mine.sort(key=lambda pair: pair[0])  # stable, as the vectorised argsort
        nearest = mine[:router.k_nearest]
        weights = softmax([-dist / router.distance_temp for dist, _ in nearest])
        p = sum(w * sharp[c.id][0] * sharp[c.id][1] for w, (_, c) in zip(weights, nearest))
        d0 = nearest[0][0]
        if router.fallback and d0 > router.distance_threshold:
            alpha = min(max((d0 - router.distance_threshold) / router.fallback_ramp, 0.0), 1.0)
            p = (1 - alpha) * (p / p.sum() if p.sum() > 0 else p * 0) + alpha * g_norm
        out.append(np.asarray(p, dtype=float))
    return np.array(out)


def timed(run: Callable[[], object]) -> tuple[object, float]:
    """(result, seconds) of ``run()``."""
    start = time.perf_counter()
    result = run()
    return result, time.perf_counter() - start


def peak_rss_mb() -> float:
    """Peak resident memory of this process so far, in MB (Linux reports KiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--queries", type=int, nargs="+", default=[1000, 5000])
    parser.add_argument("--models", type=int, nargs="+", default=[6, 20])
    parser.add_argument("--route", type=int, default=20000, help="test queries routed")
    parser.add_argument("--reference-cap", type=int, default=5000,
                        help="test queries routed by the per-query reference (its rate is per query)")
    parser.add_argument("--silhouette-sample", type=int, default=None,
                        help="CASCAL(silhouette_sample=...): silhouettes on a sample of this size")
    parser.add_argument("--jobs", type=int, default=1, help="CASCAL(n_jobs=...) for the fit")
    parser.add_argument("--out", type=Path, default=None,
                        help="also write the rows to this CSV and plot them beside it (.png)")
    args = parser.parse_args()
    rows = []
    print(f"{'queries':>8} {'models':>6} {'fit s':>8} {'peak MB':>7} {'route q/s':>10} "
          f"{'ref q/s':>9} {'ratio':>6} {'same':>5}")
    for m in args.models:
        for n in args.queries:
            train = synthetic_pool(n, m, seed=1).without_labels()
            test = synthetic_pool(args.route, m, seed=2)
            router, fit_s = timed(lambda: CASCAL(silhouette_sample=args.silhouette_sample,
                                                   n_jobs=args.jobs).fit(train))
            fit_mb = peak_rss_mb()
            scores, route_s = timed(lambda: router.scores(test))
            few = test.subset(np.arange(min(args.reference_cap, test.n_queries)))
            reference, ref_s = timed(lambda: route_per_query(router, few))
            same = np.allclose(reference, scores[:few.n_queries], rtol=1e-9, atol=1e-12)
            ours_qps, ref_qps = test.n_queries / route_s, few.n_queries / ref_s
            print(f"{n:>8} {m:>6} {fit_s:>8.1f} {fit_mb:>7.0f} {ours_qps:>10.0f} {ref_qps:>9.0f} "
                  f"{ours_qps / ref_qps:>6.1f} {str(same):>5}", flush=True)
            rows.append({"queries": n, "models": m, "jobs": args.jobs, "fit_s": fit_s,
                         "peak_mb": fit_mb, "route_qps": ours_qps, "reference_qps": ref_qps,
                         "same_scores": same})
    if args.out is not None:
        write_curves(pd.DataFrame(rows), args.out)


def write_curves(table: pd.DataFrame, out: Path) -> None:
    """``out`` (CSV) and ``out`` with ``.png``: fit time and routing rate against queries (one
    line per pool size), with the targets."""
    import matplotlib.pyplot as plt

    out.parent.mkdir(parents=True, exist_ok=True)
    table.to_csv(out, index=False, float_format="%.4g")
    fig, (left, right) = plt.subplots(1, 2, figsize=(10, 3.8), layout="constrained")
    for i, (m, part) in enumerate(table.groupby("models")):
        colour = f"C{i}"
        left.plot(part["queries"], part["fit_s"], marker="o", color=colour, label=f"{m} models")
        right.plot(part["queries"], part["route_qps"], marker="o", color=colour,
                   label=f"{m} models (ours)")
        right.plot(part["queries"], part["reference_qps"], marker="x", linestyle=":",
                   color=colour, label=f"{m} models (per-query loop)")
    left.axhline(60, color="grey", linestyle="--", linewidth=1)
    right.axhline(10_000, color="grey", linestyle="--", linewidth=1)
    for ax in (left, right):
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.set_xlabel("train queries")
        ax.legend(fontsize="x-small")
    left.set_ylabel(f"CASCAL fit, s (n_jobs={table['jobs'].iloc[0]}; target 60 s)")
    right.set_ylabel("routing, queries per second (target 10,000)")
    fig.savefig(out.with_suffix(".png"), dpi=120, metadata={"Software": "rgd"})


if __name__ == "__main__":
    main()
