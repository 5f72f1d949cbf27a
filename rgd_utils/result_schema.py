"""The columns of the router results and of their per-query rows, and the tables built in them.

A results row is one (benchmark, pool, train source, filter, router, k, seed) with its accuracy,
its 95% bootstrap interval (``low``, ``high``), its cost and its AIQ (area under the top-1
accuracy-cost curve, with an interval); a per-query row is one routed test query's correctness,
what the claims' paired resampling reads.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from .routers import RoutingData

#: The results schema, in column order (one row per benchmark, train source, router, k, seed).
RESULT_COLUMNS: tuple[str, ...] = ("benchmark", "pool", "train_source", "filter", "router", "k",
                                   "seed", "accuracy", "n", "low", "high", "cost", "aiq",
                                   "aiq_low", "aiq_high")
#: The columns of :attr:`rgd_utils.experiments.RouterRuns.curves`.
CURVE_COLUMNS: tuple[str, ...] = ("benchmark", "train_source", "router", "trade_off", "accuracy",
                                  "cost")
#: The columns of :attr:`rgd_utils.experiments.RouterRuns.per_query`: one row per routed test query.
PER_QUERY_COLUMNS: tuple[str, ...] = ("benchmark", "pool", "train_source", "filter", "router", "k",
                                      "seed", "qid", "correct")
#: The ``pool`` value of each preset's results.
POOLS: dict[str, str] = {"cpu": "cpu-pool", "sim": "sim-large", "paper": "paper-large",
                         "paper-small": "paper-small"}


def pool_name(preset: str) -> str:
    """The ``pool`` column of a preset's results (:data:`POOLS`; ``"<preset>-pool"`` otherwise)."""
    return POOLS.get(preset, f"{preset}-pool")


def results_frame(rows: list[dict], pool: str, data_filter: str, seed: int) -> pd.DataFrame:
    """Rows with ``pool``, ``filter`` and ``seed`` added, in :data:`RESULT_COLUMNS` order."""
    table = pd.DataFrame(rows, columns=[c for c in RESULT_COLUMNS
                                        if c not in ("pool", "filter", "seed")])
    return table.assign(pool=pool, filter=data_filter, seed=seed)[list(RESULT_COLUMNS)]


def query_rows(correct: np.ndarray, test: RoutingData, **condition: object) -> pd.DataFrame:
    """:data:`PER_QUERY_COLUMNS` rows of one condition: ``correct`` per test query."""
    qids = test.qids if test.qids is not None else np.arange(test.n_queries)
    table = pd.DataFrame({"qid": np.asarray(qids).astype(str),
                          "correct": np.asarray(correct, bool)})
    return table.assign(**condition)[list(PER_QUERY_COLUMNS)]


def concat_queries(parts: list[pd.DataFrame]) -> pd.DataFrame:
    """The per-query parts as one table (empty with :data:`PER_QUERY_COLUMNS` when none)."""
    if not parts:
        return pd.DataFrame(columns=list(PER_QUERY_COLUMNS))
    return pd.concat(parts, ignore_index=True).astype({"k": int, "seed": int})
