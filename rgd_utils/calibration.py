"""Which experts beat chance where: the table the default study's pool and benchmarks are chosen by.

Chance on a question is ``1 / n_options``; an expert's chance rate on a set is the mean of that
over the set's questions. Each (expert, benchmark) cell gets its accuracy, ``n``, a Wilson 95%
interval and a one-sided exact binomial test against chance (Bernoulli trials with the
set's mean chance rate, a close approximation when option counts barely vary, as here).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy.stats import binomtest


def wilson_interval(successes: int, n: int, z: float = 1.959964) -> tuple[float, float]:
    """Wilson score interval of a binomial proportion (95% by default)."""
    if n == 0:
        return (float("nan"), float("nan"))
    p = successes / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z * np.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    return (float(centre - half), float(centre + half))


def calibration_table(
    responses: pd.DataFrame, questions: pd.DataFrame, alpha: float = 0.05
) -> pd.DataFrame:
    """Accuracy of every expert on every benchmark, against chance.

    Parameters
    ----------
    responses : pandas.DataFrame
        Responses table (``qid, model, choice, correct``); unanswered questions count as wrong.
    questions : pandas.DataFrame
        Question table of the same questions (``qid, benchmark, options``).
    alpha : float, default 0.05
        Level of the one-sided test "accuracy > chance".

    Returns
    -------
    pandas.DataFrame
        One row per (model, benchmark): ``n, correct, accuracy, low, high, chance, p_value,
        above_chance, answered`` (share of questions with a choice).
    """
    merged = responses.merge(questions[["qid", "benchmark", "options"]], on="qid", how="inner")
    merged["chance"] = 1.0 / merged["options"].map(len)
    merged["hit"] = merged["correct"].fillna(False).astype(bool)
    rows = []
    for (model, benchmark), group in merged.groupby(["model", "benchmark"], sort=True):
        n, hits, chance = len(group), int(group["hit"].sum()), float(group["chance"].mean())
        low, high = wilson_interval(hits, n)
        p_value = binomtest(hits, n, chance, alternative="greater").pvalue
        rows.append({
            "model": model, "benchmark": benchmark, "n": n, "correct": hits,
            "accuracy": hits / n, "low": low, "high": high, "chance": chance,
            "p_value": float(p_value), "above_chance": bool(p_value < alpha),
            "answered": float(group["choice"].notna().mean()),
        })
    return pd.DataFrame(rows)


def experts_above_chance(table: pd.DataFrame) -> pd.DataFrame:
    """Per benchmark: how many experts beat chance, and which (the study favours benchmarks
    where more than one does)."""
    above = table[table["above_chance"]]
    summary = table.groupby("benchmark").agg(experts=("model", "size"))
    summary["above_chance"] = above.groupby("benchmark").size().reindex(summary.index, fill_value=0)
    summary["which"] = above.groupby("benchmark")["model"].agg(", ".join).reindex(summary.index, fill_value="")
    return summary.sort_values("above_chance", ascending=False)
