"""The statistics of the claims: a paired, seed-and-question bootstrap of a contrast, Holm's
adjustment and the minimum detectable effect.

A contrast's data are, per benchmark, an ``(S, n)`` array ``D`` of per-query differences
(a weighted sum of routed correctness over the conditions of the contrast, so both sides of
the contrast sit on the same test question) for ``S`` seeds (each seed: a router seed and a
draw of the training items, :func:`rgd_utils.experiments.train_draw`) and ``n`` test questions.
The estimate of a benchmark is ``D.mean()``; that of the average, the mean of the benchmarks'.

:func:`paired_bootstrap` resamples, per replicate, the seeds (shared by every benchmark: one
seed is one training draw of the whole study) and the test questions within each benchmark,
jointly for both sides; it also reports the two sources of variance apart: the questions'
(seeds fixed) and the seeds' (spread of the per-seed estimates). Multinomial weights make a
replicate one matrix product, so 2,000 replicates of thousands of questions take milliseconds.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Mapping

import numpy as np
from scipy.stats import norm

#: Name of the interval of :func:`paired_bootstrap`, for the claims table.
PAIRED_INTERVAL = ("95% percentile bootstrap, paired: test questions resampled within each "
                   "benchmark jointly for both sides, seeds resampled")


@dataclass(frozen=True)
class Contrast:
    """A contrast's estimate, interval and variance sources (one benchmark or the average).

    Attributes
    ----------
    estimate, low, high : float
        Mean difference and its 95% percentile interval.
    p : float
        Two-sided bootstrap p-value of "no difference": twice the smaller share of replicates
        on either side of 0 (at least ``1 / n_boot``), the test the percentile interval inverts.
    se_questions : float
        Standard deviation of the estimate over question resamples alone (seeds fixed).
    sd_seeds : float
        Standard deviation of the per-seed estimates (training variance: router seed and train
        draw).
    paired_se : float
        Standard error from the paired per-question SD of the seed-averaged differences
        (``sd / sqrt(n)``; for the average, combined over benchmarks), what the minimum
        detectable effect is computed from.
    n : int
        Test questions.
    seeds : int
    """

    estimate: float
    low: float
    high: float
    p: float
    se_questions: float
    sd_seeds: float
    paired_se: float
    n: int
    seeds: int


def paired_bootstrap(differences: Mapping[str, np.ndarray], n_boot: int = 2000,
                     level: float = 0.95, random_state: int = 0) -> dict[str, Contrast]:
    """Per-benchmark and average contrasts from per-(seed, question) differences.

    Parameters
    ----------
    differences : mapping of str to array of shape (S, n_b)
        Per benchmark, the differences of every seed (rows, the same seeds in the same order
        for every benchmark) and test question (columns).
    n_boot : int, default 2000
    level : float, default 0.95
    random_state : int, default 0

    Returns
    -------
    dict of str to Contrast
        One per benchmark and ``"average"`` (the mean of the benchmarks' estimates).

    Raises
    ------
    ValueError
        When there is no benchmark, or benchmarks differ in their number of seeds.
    """
    if not differences:
        raise ValueError("no benchmark to bootstrap")
    arrays = {b: np.atleast_2d(np.asarray(d, dtype=float)) for b, d in differences.items()}
    seeds = {d.shape[0] for d in arrays.values()}
    if len(seeds) != 1:
        raise ValueError(f"every benchmark needs the same seeds, got {sorted(seeds)} rows")
    n_seeds = seeds.pop()
    rng = np.random.default_rng(random_state)
    seed_weights = rng.multinomial(n_seeds, np.full(n_seeds, 1 / n_seeds), size=n_boot) / n_seeds
    flat_seeds = np.full(n_seeds, 1 / n_seeds)
    replicates, question_only = {}, {}
    for benchmark, d in arrays.items():
        n = d.shape[1]
        question_weights = rng.multinomial(n, np.full(n, 1 / n), size=n_boot) / n
        per_seed = question_weights @ d.T  # (n_boot, S): each seed's mean on the resample
        replicates[benchmark] = (per_seed * seed_weights).sum(axis=1)
        question_only[benchmark] = per_seed @ flat_seeds
    replicates["average"] = np.mean([replicates[b] for b in arrays], axis=0)
    question_only["average"] = np.mean([question_only[b] for b in arrays], axis=0)
    tail = 100 * (1 - level) / 2
    out = {}
    for name, draws in replicates.items():
        parts = list(arrays.values()) if name == "average" else [arrays[name]]
        per_seed = np.mean([d.mean(axis=1) for d in parts], axis=0)
        estimate = float(per_seed.mean())
        paired_se = np.sqrt(sum(d.mean(axis=0).var(ddof=1) / d.shape[1]
                                for d in parts)) / len(parts)
        low, high = np.percentile(draws, [tail, 100 - tail])
        # a replicate that is 0 in exact arithmetic comes out as +-1e-17 from the weighted sums
        # (the sign depends on the summation order of the BLAS at hand): round before the sign test
        exact = np.round(draws, 12)
        p = 2 * min((exact <= 0).mean(), (exact >= 0).mean())
        out[name] = Contrast(estimate, float(low), float(high), float(min(1.0, max(p, 1 / n_boot))),
                             float(question_only[name].std(ddof=1)),
                             float(per_seed.std(ddof=1)) if n_seeds > 1 else float("nan"),
                             float(paired_se), int(sum(d.shape[1] for d in parts)), n_seeds)
    return out


def holm(p_values: np.ndarray) -> np.ndarray:
    """Holm's step-down adjusted p-values (family-wise error control, any dependence).

    scipy has Benjamini–Hochberg (:func:`scipy.stats.false_discovery_control`, a false
    discovery rate) but not Holm, and statsmodels is not a dependency: the few lines are here.
    NaN p-values (a claim not measured) stay NaN and do not count in the family.
    """
    p = np.asarray(p_values, dtype=float)
    adjusted = np.full_like(p, np.nan)
    measured = np.flatnonzero(~np.isnan(p))
    order = measured[np.argsort(p[measured], kind="stable")]
    m = len(order)
    running = 0.0
    for rank, index in enumerate(order):
        running = max(running, min(1.0, (m - rank) * p[index]))
        adjusted[index] = running
    return adjusted


def minimum_detectable_effect(se: float, alpha: float = 0.05, power: float = 0.8) -> float:
    """Smallest true difference a two-sided test at ``alpha`` detects with ``power``, for an
    estimate of standard error ``se``: ``(z(1 - alpha/2) + z(power)) · se``."""
    return float((norm.ppf(1 - alpha / 2) + norm.ppf(power)) * se)
