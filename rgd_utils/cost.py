"""Cost-aware routing: a trade-off knob between a router's scores and each model's cost, the
accuracy–cost curve it traces, and the area under that curve (RouterBench's AIQ).

The cost of sending query ``i`` to model ``j`` is a proxy: the model's parameters times the
query's prompt tokens (:func:`query_costs`, :func:`study_costs`); a price table can replace it
for hosted models. The study's answers are scored, not generated (letter and cloze modes), so
prompt tokens are the tokens a model reads; tokens are counted as characters / 4
(:data:`CHARS_PER_TOKEN`), which only scales queries against each other. Costs are reported
relative to the costliest pool model (its mean cost per query is 1).

For a router with scores ``s`` (higher is better), the trade-off ``λ`` routes each query to
``argmax_j  s_ij - λ · c_ij / max(c)``: ``λ = 0`` is the router as it is (ties go to the cheaper
model), a large ``λ`` sends every query to the cheapest model. Scores are first rescaled per
query to [0, 1], so that one ``λ`` grid suits routers whose scores have different ranges.
The accuracy–cost curve's area between the cheapest and the costliest single model
(:func:`curve_area`, RouterBench's AIQ) summarises a router in one number
(:func:`area_with_interval`, with a bootstrap interval over queries).
"""

from __future__ import annotations

from typing import Sequence

import numpy as np
import pandas as pd

#: Characters per token of the token proxy (a rule of thumb for English BPE tokenizers).
CHARS_PER_TOKEN = 4.0
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


def prompt_tokens(questions: pd.DataFrame) -> np.ndarray:
    """``(n,)`` token proxy of each question's prompt: characters of its stem and options / 4.

    Parameters
    ----------
    questions : pandas.DataFrame
        Question table (``question``, ``options``).
    """
    chars = [len(q) + sum(len(o) for o in opts)
             for q, opts in zip(questions["question"], questions["options"])]
    return np.maximum(np.ceil(np.asarray(chars, dtype=float) / CHARS_PER_TOKEN), 1.0)


def simulated_sizes() -> dict[str, float]:
    """The size each simulated model borrows: that of the paper's model in the same position of
    the paper's pool of the same name (``SIM_POOLS``' ``large`` and ``small``), so that the
    simulated pools cost what the paper's do (the simulated skills do not depend on size)."""
    from rgd_utils.llm.registry import PAPER_MODELS
    from rgd_utils.responses import Expert
    from rgd_utils.sim_config import SIM_POOLS

    sizes = {}
    for pool in SIM_POOLS:
        paper = [m.n_params for m in PAPER_MODELS.values() if m.role == f"pool-{pool.name}"]
        sizes.update({Expert.parse(expert).model: size for expert, size in zip(pool.models, paper)})
    return sizes


def expert_sizes(experts: Sequence[str]) -> np.ndarray:
    """``(m,)`` parameters of each pool expert (``"<model>:<mode>"``), the cost proxy's size term:
    a registered model's registry size (:func:`rgd_utils.llm.registry.n_params`), a simulated
    model's :func:`simulated_sizes`."""
    from rgd_utils.llm.registry import n_params
    from rgd_utils.responses import Expert

    simulated = simulated_sizes()
    sizes = []
    for name in experts:
        model = Expert.parse(name).model
        if model in simulated:
            sizes.append(simulated[model])
            continue
        try:
            sizes.append(n_params(model))
        except (KeyError, ValueError) as error:
            raise ValueError(f"no parameter count for model {model!r} (expert {name!r}): register it "
                             f"(rgd_utils.llm.registry; a simulated model needs a paper counterpart "
                             f"in its pool), or measure without costs (run_routers(..., costs=False))"
                             ) from error
    return np.asarray(sizes, dtype=float)


def study_costs(questions: pd.DataFrame, experts: Sequence[str]) -> np.ndarray:
    """``(n, m)`` cost of each question for each expert, relative to the costliest expert.

    Parameters × prompt tokens (:func:`query_costs`, :func:`prompt_tokens`,
    :func:`expert_sizes`), divided by the costliest expert's mean over the questions, so that
    the costliest expert alone costs 1 per query.
    """
    costs = query_costs(expert_sizes(experts), prompt_tokens(questions))
    return costs / costs.mean(axis=0).max()


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
    choices = trade_off_choices(scores, costs, trade_offs)
    accuracy, cost = _operating_points(choices, correct, costs)
    return pd.DataFrame({"trade_off": np.asarray(trade_offs, dtype=float), "accuracy": accuracy,
                         "cost": cost})


def trade_off_choices(scores: np.ndarray, costs: np.ndarray,
                      trade_offs: Sequence[float] = DEFAULT_TRADE_OFFS) -> np.ndarray:
    """``(L, n)`` model index per trade-off and query (:func:`cost_aware_choice` at each ``λ``)."""
    return np.stack([cost_aware_choice(scores, costs, float(t)) for t in trade_offs])


def _operating_points(choices: np.ndarray, correct: np.ndarray, costs: np.ndarray,
                      rows: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Accuracy and mean cost ``(L,)`` of each row of ``choices`` over the queries ``rows``."""
    correct, costs = np.asarray(correct, dtype=float), np.asarray(costs, dtype=float)
    rows = np.arange(correct.shape[0]) if rows is None else rows
    picked = np.asarray(choices)[:, rows]
    return correct[rows, picked].mean(axis=1), costs[rows, picked].mean(axis=1)


def _upper_hull(points: np.ndarray) -> np.ndarray:
    """The non-decreasing concave upper envelope of (cost, accuracy) points, sorted by cost.

    Costs and accuracies both rise strictly along the envelope. The scan runs on Python floats
    (the same IEEE arithmetic as NumPy's scalars, at a fraction of their overhead): the bootstrap
    of :func:`area_with_interval` builds one envelope per resample.
    """
    order = np.lexsort((-points[:, 1], points[:, 0]))
    hull: list[list[float]] = []
    for x, y in points[order].tolist():
        if hull and y <= hull[-1][1]:
            continue  # costs more, not more accurate
        while len(hull) >= 2:
            (x1, y1), (x2, y2) = hull[-2], hull[-1]
            if (x2 - x1) * (y - y1) - (y2 - y1) * (x - x1) >= 0:
                hull.pop()  # the middle point lies under the chord
            else:
                break
        hull.append([x, y])
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
    start = max(low, hull[0, 0])
    if start >= high:
        return 0.0
    # the envelope is piecewise linear on [start, high]: the trapezoid rule on its corners is exact
    inner = hull[:, 0][(hull[:, 0] > start) & (hull[:, 0] < high)]
    corners = np.concatenate([[start], inner, [high]])
    values = np.interp(corners, hull[:, 0], hull[:, 1], right=hull[-1, 1])
    return float(np.trapezoid(values, corners) / (high - low))


def area_with_interval(
    choices: np.ndarray, correct: np.ndarray, costs: np.ndarray, cost_range: tuple[float, float],
    n_boot: int = 200, level: float = 0.95, random_state: int = 0,
) -> tuple[float, float, float]:
    """AIQ of a policy and its percentile bootstrap interval over queries.

    Parameters
    ----------
    choices : array of shape (L, n), int
        The model of each query at each operating point (:func:`trade_off_choices`; one row
        for a single model).
    correct, costs : arrays of shape (n, m)
        Correctness and cost of each (query, model).
    cost_range : (float, float)
        The budgets averaged over (fixed across resamples).
    n_boot : int, default 200
        Resamples of the queries.
    level : float, default 0.95
        Coverage of the interval.
    random_state : int, default 0
        Seed of the resampling.

    Returns
    -------
    (float, float, float)
        The area and the interval's ends.
    """
    choices = np.atleast_2d(np.asarray(choices))
    n = choices.shape[1]
    queries = np.arange(n)
    # each operating point's correctness and cost per query, gathered once for every resample
    hit = np.asarray(correct, dtype=float)[queries, choices]
    paid = np.asarray(costs, dtype=float)[queries, choices]

    area = curve_area(paid.mean(axis=1), hit.mean(axis=1), cost_range)
    draws = np.random.default_rng(random_state).integers(n, size=(n_boot, n))
    # how often each resample draws each query: every resample's operating points in one product
    counts = np.bincount((draws + n * np.arange(n_boot)[:, None]).ravel(), minlength=n_boot * n)
    counts = counts.reshape(n_boot, n).astype(float)
    paid_means, hit_means = counts @ paid.T / n, counts @ hit.T / n
    areas = [curve_area(paid_means[b], hit_means[b], cost_range) for b in range(n_boot)]
    tail = 100 * (1 - level) / 2
    low, high = np.percentile(areas, [tail, 100 - tail])
    return area, float(low), float(high)
