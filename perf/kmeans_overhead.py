"""CASCAL's k-means (rgd_utils.routers.kmeans) against scikit-learn's ``KMeans.fit_predict``.

Both run the same algorithm on the same random stream; the baseline also validates its
parameters, inputs and weights and enters a BLAS thread limit on every call. The problems are
the size CASCAL clusters: the proficient queries of one model and subject (tens to hundreds of
unit vectors, 384 dimensions like MiniLM's), every k from 2 to 8. Both run in this process, one
after the other, on one BLAS thread; the labels must be equal.

    .venv/bin/python perf/kmeans_overhead.py --sets 200 --repeats 3   # writes perf/results/kmeans_overhead.csv
"""

from __future__ import annotations

import argparse
import time
import warnings
from pathlib import Path

import numpy as np
from sklearn.cluster import KMeans
from sklearn.exceptions import ConvergenceWarning

from rgd_utils.routers.base import unit_norm
from rgd_utils.routers.kmeans import kmeans_labels, one_thread

from ratio_tables import best_of_table, show_and_write

RESULTS = Path(__file__).parent / "results" / "kmeans_overhead.csv"


def problems(n_sets: int, seed: int) -> list[tuple[np.ndarray, np.ndarray]]:
    """``n_sets`` weighted point sets of 20-300 unit vectors around 2-6 centres."""
    rng = np.random.default_rng(seed)
    sets = []
    for _ in range(n_sets):
        n, n_blobs = int(rng.integers(20, 301)), int(rng.integers(2, 7))
        centres = rng.normal(size=(n_blobs, 384))
        x = unit_norm(centres[rng.integers(n_blobs, size=n)] + 0.8 * rng.normal(size=(n, 384)))
        weight = rng.uniform(0.5, 2.0, size=n)
        sets.append((x, weight * (n / weight.sum())))
    return sets


def run_scikit_learn(sets: list, ks: range) -> list[np.ndarray]:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        return [KMeans(n_clusters=k, n_init="auto", random_state=0, max_iter=200)
                .fit_predict(x, sample_weight=w) for x, w in sets for k in ks]


def run_ours(sets: list, ks: range) -> list[np.ndarray]:
    with one_thread("blas"):
        return [labels for x, w in sets for labels in kmeans_labels(x, w, ks, 0, max_iter=200)]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sets", type=int, default=200)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--out", type=Path, default=RESULTS)
    args = parser.parse_args()
    sets, ks = problems(args.sets, seed=0), range(2, 9)
    times = {"scikit-learn KMeans": [], "rgd kmeans_labels": []}
    with one_thread("blas"):
        for _ in range(args.repeats):
            for name, run in (("scikit-learn KMeans", run_scikit_learn), ("rgd kmeans_labels", run_ours)):
                started = time.perf_counter()
                labels = run(sets, ks)
                times[name].append(time.perf_counter() - started)
                if name == "scikit-learn KMeans":
                    expected = labels
                else:
                    assert all(np.array_equal(a, b) for a, b in zip(labels, expected)), "labels differ"
    table = best_of_table(times, len(sets) * len(ks), "fit", "ratio_to_scikit_learn", digits=3)
    show_and_write(table, args.out, f"labels identical on every fit; best of {args.repeats} runs")


if __name__ == "__main__":
    main()
