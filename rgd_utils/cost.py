"""Cost-aware routing: a trade-off knob between a router's scores and each model's cost, the
accuracy–cost curve it traces, and the area under that curve (RouterBench's AIQ).

The cost of sending query ``i`` to model ``j`` is a proxy: the model's parameters times the
query's tokens (:func:`query_costs`); a price table can replace it for hosted models. For a
router with scores ``s`` (higher is better), the trade-off ``λ`` routes each query to
``argmax_j  s_ij - λ · c_ij / max(c)``: ``λ = 0`` is the router as it is, a large ``λ`` sends
every query to the cheapest model. Scores are first rescaled per query to [0, 1], so that one
``λ`` grid suits routers whose scores have different ranges.
"""

from __future__ import annotations

from typing import Sequence

import numpy as np
import pandas as pd

#: The trade-offs of :func:`accuracy_cost_curve` by default: 0, then log-spaced up to 100.
DEFAULT_TRADE_OFFS = np.concatenate([[0.0], np.logspace(-3, 2, 41)])


def query_costs(n_params: Sequence[float], n_tokens: Sequence[float]) -> np.ndarray:
    """``(n, m)`` cost proxy: parameters of model ``j`` times tokens of query ``i``.

    Parameters
    ----------
    n_params : sequence of float, length m
        Parameters per model.
    n_tokens : sequence of float, length n
        Tokens per query (prompt and answer); the same for every model.
    """
    params, tokens = np.asarray(n_params, dtype=float), np.asarray(n_tokens, dtype=float)
    if (params <= 0).any() or (tokens <= 0).any():
        raise ValueError("parameters and tokens must be positive")
    return tokens[:, None] * params[None, :]


def _rescaled(scores: np.ndarray) -> np.ndarray:
    low = scores.min(axis=1, keepdims=True)
    span = scores.max(axis=1, keepdims=True) - low
    return np.divide(scores - low, span, out=np.zeros_like(scores), where=span > 0)


def cost_aware_choice(scores: np.ndarray, costs: np.ndarray, trade_off: float) -> np.ndarray:
    """``(n,)`` model index per query: best score minus ``trade_off`` times relative cost.

    Ties go to the cheaper model, then to the first in pool order.
    """
    scores, costs = np.asarray(scores, dtype=float), np.asarray(costs, dtype=float)
    if scores.shape != costs.shape:
        raise ValueError(f"scores {scores.shape} and costs {costs.shape} differ in shape")
    if trade_off < 0:
        raise ValueError(f"trade_off must be non-negative, got {trade_off}")
    value = np.round(_rescaled(scores) - trade_off * costs / costs.max(), 12)
    best = value == value.max(axis=1, keepdims=True)
    return np.argmin(np.where(best, costs, np.inf), axis=1)


def accuracy_cost_curve(
    scores: np.ndarray, correct: np.ndarray, costs: np.ndarray,
    trade_offs: Sequence[float] = DEFAULT_TRADE_OFFS,
) -> pd.DataFrame:
    """Accuracy and mean cost per query of a router at each trade-off.

    Parameters
    ----------
    scores : array of shape (n, m)
        The router's scores of the test queries.
    correct : array of shape (n, m)
        Whether each model answers each query correctly.
    costs : array of shape (n, m)
        Cost of each (query, model) (:func:`query_costs`).
    trade_offs : sequence of float
        The ``λ`` values.

    Returns
    -------
    pandas.DataFrame
        ``trade_off, accuracy, cost`` (mean cost per query), one row per ``λ``.
    """
    correct = np.asarray(correct, dtype=bool)
    rows = np.arange(len(correct))
    out = []
    for trade_off in trade_offs:
        chosen = cost_aware_choice(scores, costs, float(trade_off))
        out.append({"trade_off": float(trade_off), "accuracy": float(correct[rows, chosen].mean()),
                    "cost": float(np.asarray(costs)[rows, chosen].mean())})
    return pd.DataFrame(out)


def _upper_hull(points: np.ndarray) -> np.ndarray:
    """The non-decreasing concave upper envelope of (cost, accuracy) points, sorted by cost."""
    order = np.lexsort((-points[:, 1], points[:, 0]))
    hull: list[np.ndarray] = []
    for point in points[order]:
        if hull and point[1] <= hull[-1][1]:
            continue  # costs more, not more accurate
        while len(hull) >= 2:
            (x1, y1), (x2, y2) = hull[-2], hull[-1]
            if (x2 - x1) * (point[1] - y1) - (y2 - y1) * (point[0] - x1) >= 0:
                hull.pop()  # the middle point lies under the chord
            else:
                break
        hull.append(point)
    return np.array(hull)


def curve_area(cost: Sequence[float], accuracy: Sequence[float], cost_range: tuple[float, float]) -> float:
    """Mean accuracy over the budgets of ``cost_range`` (RouterBench's AIQ).

    The curve is the points' non-decreasing concave upper envelope (mixing two operating points
    at random reaches any point between them); at a budget above its costliest point it keeps
    that point's accuracy, and at a budget below its cheapest point it scores 0 (it cannot run
    there). The area is divided by the width of the range, so it reads as an accuracy.

    Parameters
    ----------
    cost, accuracy : sequence of float
        Operating points (e.g. :func:`accuracy_cost_curve`'s rows).
    cost_range : (float, float)
        Budgets from the cheapest to the costliest single model, say.
    """
    low, high = map(float, cost_range)
    if not high > low:
        raise ValueError(f"cost_range must be increasing, got {cost_range}")
    hull = _upper_hull(np.column_stack([np.asarray(cost, float), np.asarray(accuracy, float)]))
    grid = np.linspace(low, high, 2001)
    values = np.interp(grid, hull[:, 0], hull[:, 1], left=0.0, right=hull[-1, 1])
    values[grid < hull[0, 0]] = 0.0
    return float(np.trapezoid(values, grid) / (high - low))
