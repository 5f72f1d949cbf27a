"""How a pool's models agree: agreement beyond chance, the skills it implies, and blocs of models
that agree more than their skills explain (models that share a base and err alike).

Under the one-coin model (each model right with its own probability, wrong letters spread
evenly over the others, models independent given the question), two models' agreement beyond
chance is the product of their skills: with ``K`` options,
``(A_ij - 1/K) / (1 - 1/K) = s_i · s_j`` where ``s = (K·p - 1) / (K - 1)`` is a model's accuracy
``p`` rescaled so that chance is 0 (the rank-one structure of the spectral meta-learner, Parisi
et al., 2014). Models that agree well above ``s_i · s_j`` are not independent: they form a
**bloc**, found as the partition of the pool that the one-coin model fits best between blocs.
Everything here reads answers only, never labels.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

#: Least skill (of the rescaled accuracy) a model is given, so that products stay informative.
_MIN_SKILL = 0.01


def answered_mask(choices: np.ndarray) -> np.ndarray:
    """``(n, m)`` True where the model gave an answer."""
    return ~pd.isna(np.asarray(choices, dtype=object))


def agreement_beyond_chance(choices: np.ndarray, n_options: np.ndarray | int) -> np.ndarray:
    """``(m, m)`` chance-corrected agreement ``(A_ij - c) / (1 - c)`` of every pair of models.

    Parameters
    ----------
    choices : array of shape (n, m)
        Answer letters, None where a model gave none.
    n_options : int or array of shape (n,)
        Options of each query (chance agreement ``c`` is the mean ``1 / K`` over the queries
        both models answered).

    Returns
    -------
    array of shape (m, m)
        NaN on the diagonal and for pairs with no common answered query.
    """
    choices = np.asarray(choices, dtype=object)
    n, m = choices.shape
    chance = 1.0 / np.broadcast_to(np.asarray(n_options, dtype=float), (n,))
    answered = answered_mask(choices)
    result = np.full((m, m), np.nan)
    for i in range(m):
        for j in range(i + 1, m):
            both = answered[:, i] & answered[:, j]
            if both.any():
                agree = np.mean(choices[both, i] == choices[both, j])
                c = chance[both].mean()
                result[i, j] = result[j, i] = (agree - c) / (1 - c)
    return result


def rank_one_skills(agreement: np.ndarray, mask: np.ndarray | None = None,
                    n_iter: int = 100) -> np.ndarray:
    """Skills ``s`` (chance 0, perfect 1) with ``agreement[i, j] ≈ s_i s_j`` on the masked pairs.

    Coordinate-wise least squares from the square root of each model's mean agreement; pairs outside
    ``mask`` (and NaN pairs) are ignored. A model with no usable pair keeps its start.

    Parameters
    ----------
    agreement : array of shape (m, m)
        :func:`agreement_beyond_chance`.
    mask : bool array of shape (m, m), optional
        Pairs to fit (default: every off-diagonal pair).
    n_iter : int, default 100

    Returns
    -------
    array of shape (m,)
        In ``[_MIN_SKILL, 1]``.
    """
    m = len(agreement)
    use = ~np.eye(m, dtype=bool) & ~np.isnan(agreement)
    if mask is not None:
        use &= mask
    values = np.where(use, agreement, 0.0)
    counts = use.sum(axis=1)
    start = np.sqrt(np.clip(values.sum(axis=1) / np.maximum(counts, 1), _MIN_SKILL ** 2, 1.0))
    skills = start.copy()
    pairs = use.astype(float)
    fitted_models = np.flatnonzero(counts).tolist()
    for _ in range(n_iter):
        for i in fitted_models:  # one model at a time (a joint update flips the scale)
            fitted = values[i] @ skills / max(pairs[i] @ skills ** 2, 1e-12)
            skills[i] = min(max(fitted, _MIN_SKILL), 1.0)  # np.clip costs 10x on a scalar
    return skills


def partitions(items: list[int]):
    """Every partition of ``items`` into blocs (lists), the first item's bloc first."""
    if not items:
        yield []
        return
    first, rest = items[0], items[1:]
    for partition in partitions(rest):
        yield [[first], *partition]
        for k in range(len(partition)):
            yield [*partition[:k], [first, *partition[k]], *partition[k + 1:]]


#: Largest pool whose partitions are all tried (Bell(8) = 4,140); larger pools merge greedily.
MAX_EXHAUSTIVE = 8


def bloc_fit(agreement: np.ndarray, blocs: np.ndarray, threshold: float) -> float:
    """Misfit of a partition: squared residuals of the rank-one fit on the pairs between blocs,
    plus ``threshold²`` for every pair inside a bloc (a pair is worth taking out of the fit only
    if its excess agreement is above about ``threshold``)."""
    between = blocs[:, None] != blocs[None, :]
    skills = rank_one_skills(agreement, between, n_iter=30)
    residual = np.nan_to_num(agreement - np.outer(skills, skills), nan=0.0)
    off = ~np.eye(len(blocs), dtype=bool)
    return float(np.sum(residual[between & off] ** 2) / 2
                 + threshold ** 2 * np.sum(~between & off) / 2)


def find_blocs(agreement: np.ndarray, threshold: float = 0.15) -> np.ndarray:
    """Blocs of models that agree beyond what their skills explain.

    The partition of the models with the least :func:`bloc_fit`: the one-coin (rank-one) model
    must explain the agreement between blocs, and each pair put inside a bloc costs
    ``threshold²``. Every partition is tried for pools of at most :data:`MAX_EXHAUSTIVE` models
    (a majority bloc is then found as surely as a minority one, which a fit on all pairs would
    mistake for skill); larger pools merge the pair of blocs that lowers the misfit most, while
    one does.

    Parameters
    ----------
    agreement : array of shape (m, m)
        :func:`agreement_beyond_chance`.
    threshold : float, default 0.15
        About the least excess agreement (beyond chance, on the 0-1 scale) that makes a bloc.

    Returns
    -------
    int array of shape (m,)
        Bloc number of each model (0, 1, ...; models alone get their own number), numbered in
        order of first model.
    """
    m = len(agreement)

    def labels(partition: list[list[int]]) -> np.ndarray:
        out = np.empty(m, dtype=int)
        for number, bloc in enumerate(sorted(partition)):
            out[bloc] = number
        return out

    if m <= MAX_EXHAUSTIVE:
        candidates = (labels(p) for p in partitions(list(range(m))))
        return min(candidates, key=lambda blocs: bloc_fit(agreement, blocs, threshold))
    blocs = np.arange(m)
    while True:
        merges = [np.where(blocs == b, a, blocs) for a in np.unique(blocs) for b in np.unique(blocs)
                  if a < b]
        best = min(merges, key=lambda c: bloc_fit(agreement, c, threshold), default=None)
        current = bloc_fit(agreement, blocs, threshold)
        if best is None or bloc_fit(agreement, best, threshold) >= current:
            return labels([list(np.flatnonzero(blocs == b)) for b in np.unique(blocs)])
        blocs = best
