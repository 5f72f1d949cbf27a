"""CASCAL's fit with its numeric libraries on one thread (as shipped) against their default
thread pools, on an idle machine and on a busy one.

CASCAL's fit runs thousands of k-means fits on tens to hundreds of points each (one per model,
subject and candidate k). Such small problems gain nothing from threads, and when other
processes hold the cores, OpenMP's threads wait for them: ``CASCAL.fit`` therefore limits the
thread pools to one thread while it clusters (``threadpoolctl``). This benchmark measures what
that buys: the same fit, in the same run, with the limit replaced by a no-op (the baseline),
idle and with one busy-looping process per core. Both must give the same centroids.

    .venv/bin/python perf/cascal_threads.py --queries 1200 --models 6 --repeats 3

Data: the synthetic pool of ``perf/cascal_scale.py`` (clustered embeddings, a planted best
model per niche), 10 subjects, 384-dimensional embeddings like MiniLM's.
"""

from __future__ import annotations

import argparse
import contextlib
import multiprocessing as mp
import os
import time
from collections.abc import Iterator

import numpy as np
import pandas as pd

from cascal_scale import synthetic_pool
from rgd_utils.routers import CASCAL, RoutingData
from rgd_utils.routers import cascal as cascal_module


def _spin() -> None:
    """Keep one core busy until terminated."""
    while True:
        pass


@contextlib.contextmanager
def busy_cores(n: int) -> Iterator[None]:
    """``n`` processes that each keep a core busy while the block runs."""
    workers = [mp.Process(target=_spin, daemon=True) for _ in range(n)]
    for worker in workers:
        worker.start()
    try:
        yield
    finally:
        for worker in workers:
            worker.terminate()
            worker.join()


def timed_fit(train: RoutingData, limited: bool, repeats: int) -> tuple[float, np.ndarray]:
    """Best of ``repeats`` fit times (s), from a cold clustering memo each time, and the
    centroid vectors of the last fit."""
    shipped = cascal_module.one_thread
    if not limited:
        cascal_module.one_thread = lambda *_, **__: contextlib.nullcontext()
    try:
        times = []
        for _ in range(repeats):
            started = time.perf_counter()
            router = CASCAL(random_state=0).fit(train)
            times.append(time.perf_counter() - started)
    finally:
        cascal_module.one_thread = shipped
    return min(times), np.array([c.vector for c in router.centroids_])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--queries", type=int, default=1200)
    parser.add_argument("--models", type=int, default=6)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--busy", type=int, default=os.cpu_count() or 1,
                        help="busy-looping processes for the busy condition (default: one per core)")
    args = parser.parse_args()
    train = synthetic_pool(args.queries, args.models, d=384)
    rows = []
    for condition, load in (("idle", 0), (f"{args.busy} busy cores", args.busy)):
        with busy_cores(load):
            baseline, base_centroids = timed_fit(train, limited=False, repeats=args.repeats)
            ours, our_centroids = timed_fit(train, limited=True, repeats=args.repeats)
        assert np.allclose(base_centroids, our_centroids), "the thread limit changed the fit"
        rows.append({"machine": condition, "default threads (s)": round(baseline, 2),
                     "one thread, shipped (s)": round(ours, 2),
                     "speed-up": round(baseline / ours, 2)})
    print(f"CASCAL.fit on {args.queries} queries x {args.models} models, best of {args.repeats}")
    print(pd.DataFrame(rows).to_string(index=False))


if __name__ == "__main__":
    main()
