"""Results rows summarised: the average over benchmarks, the routing shares pooled over them, and
the readable ``"accuracy [low, high]"`` tables."""

from __future__ import annotations

import numpy as np
import pandas as pd

from .result_schema import RESULT_COLUMNS


def macro_average(results: pd.DataFrame, z: float = 1.959964) -> pd.DataFrame:
    """Average of the benchmarks' accuracies per (pool, train source, filter, router, k, seed).

    The interval treats the benchmarks' estimates as independent and normal: each benchmark's
    standard error is its bootstrap interval's width / (2 z), and the average's is
    ``sqrt(Σ se²) / B``. Only conditions measured on every benchmark of ``results`` are kept.

    Parameters
    ----------
    results : pandas.DataFrame
        :data:`RESULT_COLUMNS` rows.
    z : float, default 1.959964
        Normal quantile of the intervals (95%).

    Returns
    -------
    pandas.DataFrame
        :data:`RESULT_COLUMNS` rows with ``benchmark="average"``, ``n`` the total test queries,
        ``low``/``high`` clipped to [0, 1]; ``cost`` and ``aiq`` (interval as the accuracy's)
        where every benchmark has them.
    """
    keys = ["pool", "train_source", "filter", "router", "k", "seed"]
    results = results.reindex(columns=list(RESULT_COLUMNS))  # rows measured without costs: NaN
    n_benchmarks = results["benchmark"].nunique()
    se = (results["high"] - results["low"]) / (2 * z)
    aiq_se = (results["aiq_high"] - results["aiq_low"]) / (2 * z)
    grouped = results.assign(var=se ** 2, aiq_var=aiq_se ** 2).groupby(keys, sort=True)
    table = grouped.agg(accuracy=("accuracy", "mean"), n=("n", "sum"), var=("var", "sum"),
                        count=("benchmark", "size")).reset_index()
    # cost and AIQ average only where every benchmark has them (NaN otherwise)
    table = table.join(grouped[["cost", "aiq", "aiq_var"]].agg(
        lambda v: v.sum(min_count=len(v))).reset_index(drop=True))
    table = table[table["count"] == n_benchmarks]
    half = z * np.sqrt(table["var"]) / n_benchmarks
    aiq_half = z * np.sqrt(table["aiq_var"]) / n_benchmarks
    table = table.assign(benchmark="average", low=(table["accuracy"] - half).clip(0, 1),
                         high=(table["accuracy"] + half).clip(0, 1),
                         cost=table["cost"] / n_benchmarks, aiq=table["aiq"] / n_benchmarks)
    table = table.assign(aiq_low=(table["aiq"] - aiq_half).clip(0, 1),
                         aiq_high=(table["aiq"] + aiq_half).clip(0, 1))
    return table[list(RESULT_COLUMNS)].reset_index(drop=True)


def pooled_shares(shares: pd.DataFrame) -> pd.DataFrame:
    """Routing shares over all benchmarks' test queries (weighted by each benchmark's ``n``).

    Parameters
    ----------
    shares : pandas.DataFrame
        :attr:`rgd_utils.experiments.RouterRuns.shares`.

    Returns
    -------
    pandas.DataFrame
        ``train_source, router, model, share``.
    """
    counted = shares.assign(count=shares["share"] * shares["n"])
    keys = ["train_source", "router", "model"]
    table = counted.groupby(keys, sort=False)[["count", "n"]].sum().reset_index()
    return table.assign(share=table["count"] / table["n"])[[*keys, "share"]]


def interval_table(results: pd.DataFrame, index: str | list[str], columns: str | list[str],
                   digits: int = 3) -> pd.DataFrame:
    """Results as a readable wide table of ``"accuracy [low, high]"`` strings.

    Parameters
    ----------
    results : pandas.DataFrame
        :data:`RESULT_COLUMNS` rows, one per cell of the table.
    index, columns : str or list of str
        Result columns of the rows and columns (in order of first appearance).
    digits : int, default 3
        Decimals.

    Returns
    -------
    pandas.DataFrame
        Strings; empty where a combination was not measured.
    """
    cells = results.assign(cell=[f"{a:.{digits}f} [{lo:.{digits}f}, {hi:.{digits}f}]"
                                 for a, lo, hi in zip(results["accuracy"], results["low"],
                                                      results["high"])])
    table = cells.pivot_table(index=index, columns=columns, values="cell", aggfunc="first",
                              sort=False)
    return table.fillna("")
