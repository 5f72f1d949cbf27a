"""CASCAL at scale: fit and routing time and peak memory as queries and models grow.

Routing is measured against a straightforward per-query Python implementation of the same
inference (the shape of the authors' ``infer.py``: for each query, its subject, then a loop over
that subject's centroids), over the same fitted router, in the same run; the two must give the
same scores. The fit is compared in the same way with a per-query fit (the shape of the authors'
``train.py``: each query's majority, nearest centroid and cluster sums in Python loops), which
shares with ours the consensus scores and the clustering (k-means and silhouettes, computed
afresh for each), so its ratio measures our bookkeeping; the two must give the same centroids.
Memory is the process's peak resident size after each fit (sizes grow along the grid, so each
row's peak is its own).

    .venv/bin/python perf/cascal_scale.py --queries 1000 10000 50000 --models 6 20 100
    .venv/bin/python perf/cascal_scale.py --queries 1000 10000 50000 200000 \
        --models 6 50 200 --jobs 2 --out perf/results/cascal_scale.csv

Targets on 2 cores: fit 50,000 queries x 100 models in under 60 s; route at least
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

from rgd_utils.consensus import RobustZ
from rgd_utils.routers import CASCAL, RoutingData, unit_norm
from rgd_utils.routers.skill_clusters import (
    Centroid,
    merge_close_centroids,
    prune_redundant_centroids,
)

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


def _means(signal: np.ndarray, rows: list[int], decimals: int) -> np.ndarray:
    """Per-model mean of ``signal`` over ``rows``, one query at a time (NaN not counted)."""
    m = signal.shape[1]
    total, count = np.zeros(m), np.zeros(m)
    for i in rows:
        for j in range(m):
            if not np.isnan(signal[i, j]):
                total[j] += signal[i, j]
                count[j] += 1
    return np.round(np.divide(total, count, out=np.zeros(m), where=count > 0), decimals)


def fit_per_query(train: RoutingData, **params: object) -> CASCAL:
    """CASCAL's fit with per-query loops (see the module docstring); the same result."""
    router = CASCAL(**params)
    router.models_, router.scaler_ = list(train.models), RobustZ().fit(train.confidence)
    signal, x = router._signal(train), unit_norm(train.embeddings)
    n, m = train.choices.shape
    proficient, weight = np.zeros((n, m), dtype=bool), np.zeros(n)
    for i, row in enumerate(train.choices):
        answers = [str(c) if c is not None and c == c else None for c in row]
        counts: dict[str, int] = {}
        for a in answers:
            if a is not None:
                counts[a] = counts.get(a, 0) + 1
        top = max(counts.values(), default=0)
        members = [j for j, a in enumerate(answers) if a is not None and counts[a] == top]
        weight[i] = len(members) / m
        if weight[i] >= router.min_consensus:
            proficient[i, members] = True
    router.global_scores_ = _means(signal, list(range(n)), 4)
    router.centroids_, router.subject_representatives_ = [], {}
    for subject in dict.fromkeys(train.subjects):
        rows = [i for i in range(n) if train.subjects[i] == subject]
        centroids = []
        for j, model in enumerate(router.models_):
            keep = [i for i in rows if proficient[i, j] and weight[i] > 0]
            if keep:
                vectors, labels = router._clustering().compute(x[keep], weight[keep])
                centroids += [Centroid(f"{subject}::model={model}::c{c}", subject, vectors[c],
                                       ((model, c),), int((labels == c).sum()))
                              for c in range(len(vectors))]
        centroids = merge_close_centroids(centroids, router.merge_threshold)
        assigned: list[list[int]] = [[] for _ in centroids]
        for i in rows:
            assigned[int(np.argmax([x[i] @ c.vector for c in centroids]))].append(i)
        kept = [(c, a) for c, a in zip(centroids, assigned) if a]
        for c, a in kept:
            c.scores = _means(signal, a, 3)
        centroids, groups = prune_redundant_centroids([c for c, _ in kept],
                                                      [np.array(a) for _, a in kept],
                                                      router.models_, router.prune_jaccard)
        for c, a in zip(centroids, groups):
            c.scores = _means(signal, list(a), 3)
            c.vector = unit_norm(np.sum([x[i] for i in a], axis=0) / len(a))
            c.n_assigned = len(a)
        router.centroids_ += centroids
        vectors = [c.vector for c in centroids] or [x[i] for i in rows]
        router.subject_representatives_[subject] = unit_norm(np.mean(vectors, axis=0))
    return router


def same_fit(a: CASCAL, b: CASCAL) -> bool:
    """Same centroids (ids, members, sizes, scores, vectors) and global scores."""
    return (np.allclose(a.global_scores_, b.global_scores_)
            and [(c.id, c.members, c.n_assigned) for c in a.centroids_]
            == [(c.id, c.members, c.n_assigned) for c in b.centroids_]
            and all(np.allclose(c.scores, d.scores) and np.allclose(c.vector, d.vector)
                    for c, d in zip(a.centroids_, b.centroids_)))


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
    parser.add_argument("--fit-reference", action=argparse.BooleanOptionalAction, default=True,
                        help="also time the per-query fit (serial)")
    parser.add_argument("--out", type=Path, default=None,
                        help="also write the rows to this CSV and plot them beside it (.png)")
    args = parser.parse_args()
    rows = []
    print(f"{'queries':>8} {'models':>6} {'fit s':>8} {'ref fit s':>9} {'same':>5} {'peak MB':>7} "
          f"{'route q/s':>10} {'ref q/s':>9} {'ratio':>6} {'same':>5}")
    for m in args.models:
        for n in args.queries:
            train = synthetic_pool(n, m, seed=1).without_labels()
            test = synthetic_pool(args.route, m, seed=2)
            params = {"silhouette_sample": args.silhouette_sample}
            router, fit_s = timed(lambda: CASCAL(n_jobs=args.jobs, **params).fit(train))
            fit_mb = peak_rss_mb()
            if args.fit_reference:
                reference_fit, ref_fit_s = timed(lambda: fit_per_query(train, **params))
                fit_same = same_fit(router, reference_fit)
            else:
                ref_fit_s, fit_same = np.nan, None
            scores, route_s = timed(lambda: router.scores(test))
            few = test.subset(np.arange(min(args.reference_cap, test.n_queries)))
            reference, ref_s = timed(lambda: route_per_query(router, few))
            same = np.allclose(reference, scores[:few.n_queries], rtol=1e-9, atol=1e-12)
            ours_qps, ref_qps = test.n_queries / route_s, few.n_queries / ref_s
            print(f"{n:>8} {m:>6} {fit_s:>8.1f} {ref_fit_s:>9.1f} {str(fit_same):>5} "
                  f"{fit_mb:>7.0f} {ours_qps:>10.0f} {ref_qps:>9.0f} {ours_qps / ref_qps:>6.1f} "
                  f"{str(same):>5}", flush=True)
            rows.append({"queries": n, "models": m, "jobs": args.jobs, "fit_s": fit_s,
                         "reference_fit_s": ref_fit_s, "same_fit": fit_same,
                         "peak_mb": fit_mb, "route_qps": ours_qps, "reference_qps": ref_qps,
                         "same_scores": same})
    if args.out is not None:
        write_curves(pd.DataFrame(rows), args.out)


def write_curves(table: pd.DataFrame, out: Path) -> None:
    """``out`` (CSV) and ``out`` with ``.png``: fit time and routing rate against queries (one
    line per pool size, ours and the per-query reference), with the targets."""
    import matplotlib.pyplot as plt

    out.parent.mkdir(parents=True, exist_ok=True)
    table.to_csv(out, index=False, float_format="%.4g")
    fig, (left, right) = plt.subplots(1, 2, figsize=(10, 3.8), layout="constrained")
    for i, (m, part) in enumerate(table.groupby("models")):
        colour = f"C{i}"
        left.plot(part["queries"], part["fit_s"], marker="o", color=colour, label=f"{m} models (ours)")
        if part["reference_fit_s"].notna().any():
            left.plot(part["queries"], part["reference_fit_s"], marker="x", linestyle=":",
                      color=colour, label=f"{m} models (per-query fit, serial)")
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
