"""A router's fit with its numeric libraries on one thread (as shipped) against their default
thread pools, on the machine as found and with one busy process per core added.

CASCAL's fit runs thousands of k-means fits on tens to hundreds of points each (one per model,
subject and candidate k); LLMRank's runs about a thousand Adam steps, each a product of a batch of
64 queries by a small layer. Such small problems gain nothing from threads, and when other
processes hold the cores, the threads wait for them: both fits therefore limit the thread pools to
one thread while they compute (``threadpoolctl``). This benchmark measures what that buys: the
same fit, in the same run, with the limit replaced by a no-op (the baseline), then with it. Both
must give the same scores.

    .venv/bin/python perf/router_threads.py --queries 1200 --models 6 --repeats 3

Data: the synthetic pool of ``perf/cascal_scale.py`` (clustered embeddings, a planted best
model per niche), 10 subjects, 384-dimensional embeddings like MiniLM's. Writes
``perf/results/router_threads.csv``.
"""

from __future__ import annotations

import argparse
import contextlib
import multiprocessing as mp
import os
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from types import ModuleType

import numpy as np
import pandas as pd

from cascal_scale import synthetic_pool
from ratio_tables import show_and_write
from rgd_utils.routers import CASCAL, LLMRankRouter, RoutingData, Router
from rgd_utils.routers import cascal as cascal_module
from rgd_utils.routers import llmrank as llmrank_module

#: Each router: the module whose ``one_thread`` limit its fit enters, and how to make it.
ROUTERS: dict[str, tuple[ModuleType, Callable[[], Router]]] = {
    "CASCAL": (cascal_module, lambda: CASCAL(random_state=0)),
    "LLMRank": (llmrank_module, lambda: LLMRankRouter(random_state=0)),
}


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


def timed_fit(name: str, train: RoutingData, limited: bool, repeats: int) -> tuple[float, np.ndarray]:
    """Best of ``repeats`` fit times (s) of router ``name`` (CASCAL: from a cold clustering memo
    each time), and the scores of the last fit on ``train``."""
    module, make = ROUTERS[name]
    shipped = module.one_thread
    if not limited:
        module.one_thread = lambda *_, **__: contextlib.nullcontext()
    try:
        times = []
        for _ in range(repeats):
            started = time.perf_counter()
            router = make().fit(train)
            times.append(time.perf_counter() - started)
    finally:
        module.one_thread = shipped
    return min(times), router.scores(train)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--routers", nargs="+", default=list(ROUTERS), choices=list(ROUTERS))
    parser.add_argument("--queries", type=int, default=1200)
    parser.add_argument("--models", type=int, default=6)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--busy", type=int, default=os.cpu_count() or 1,
                        help="busy-looping processes added in the second condition (default: one per core)")
    parser.add_argument("--out", type=Path, default=Path(__file__).parent / "results" / "router_threads.csv")
    args = parser.parse_args()
    train = synthetic_pool(args.queries, args.models, d=384)
    rows = []
    for condition, load in (("as found", 0), (f"+{args.busy} busy cores", args.busy)):
        with busy_cores(load):
            for name in args.routers:
                baseline, base_scores = timed_fit(name, train, limited=False, repeats=args.repeats)
                ours, our_scores = timed_fit(name, train, limited=True, repeats=args.repeats)
                assert np.allclose(base_scores, our_scores), f"the thread limit changed {name}'s fit"
                rows.append({"router": name, "machine": condition,
                             "load_1min": round(os.getloadavg()[0], 1),
                             "default threads (s)": round(baseline, 2),
                             "one thread, shipped (s)": round(ours, 2),
                             "ratio_to_baseline": round(ours / baseline, 2)})
    show_and_write(pd.DataFrame(rows), args.out,
                   f"fit on {args.queries} queries x {args.models} models, best of {args.repeats}")


if __name__ == "__main__":
    main()
