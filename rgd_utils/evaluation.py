"""How well a router does on the real test split: routed accuracy (top-1, top-k vote), the
reference points (oracle, best single model, random model, whole-pool vote), bootstrap intervals
and routing shares.

A router gives ``(n, m)`` scores; :func:`~rgd_utils.routers.base.rank_scores` orders the models
per query (seeded random tie-break). With ``k = 1`` the query gets the top model's answer. With
``k > 1`` the top ``k`` models vote (the paper's §5.7, the authors' ``rankings.py``): the letter
with the most votes wins; when several letters share the top count (e.g. three different
answers), the answer of the model with the highest z-scored confidence among those letters'
voters wins. A missing answer (None) casts no vote and is always wrong.

Every accuracy here is a mean of per-query 0/1 correctness, so intervals come from a percentile
bootstrap over queries (:func:`bootstrap_interval`, paired: :func:`bootstrap_difference`).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from .consensus import RobustZ, majority_agreement
from .cost import area_with_interval, trade_off_choices
from .routers.base import Router, RoutingData, rank_scores

#: Queries resampled per chunk in the bootstrap (bounds memory at ``_CHUNK * n`` indices).
_CHUNK = 200


def _vote(choices: np.ndarray, z: np.ndarray) -> np.ndarray:
    """Vote of the given models per query.

    Parameters
    ----------
    choices : array of shape (n, k)
        Answer letters, None where a model gave none.
    z : array of shape (n, k)
        Z-scored confidences (NaN ranks last); ties go to the earlier column.

    Returns
    -------
    array of shape (n,), object
        The majority letter; among a tied top count, the letter of the most confident voter;
        None when no model answered.
    """
    in_majority, agreement = majority_agreement(choices)
    lowest = -np.finfo(float).max  # a voter without confidence still beats a non-voter
    key = np.where(in_majority, np.nan_to_num(z, nan=lowest, neginf=lowest), -np.inf)
    winner = np.argmax(key, axis=1)
    voted = np.take_along_axis(np.asarray(choices, dtype=object), winner[:, None], axis=1)[:, 0]
    return np.where(agreement > 0, voted, None)


def _test_z(test: RoutingData, scaler: RobustZ | None) -> np.ndarray:
    """``(n, m)`` z-scored test confidences with ``scaler``, or with a RobustZ fitted on the
    test confidences themselves when ``scaler`` is None (label-free, but transductive)."""
    scaler = RobustZ().fit(test.confidence) if scaler is None else scaler
    return scaler.transform(test.confidence)


def routed_choices(
    scores: np.ndarray,
    test: RoutingData,
    k: int = 1,
    scaler: RobustZ | None = None,
    random_state: int = 0,
) -> np.ndarray:
    """The answer each query gets when routed to its top ``k`` models.

    Parameters
    ----------
    scores : array of shape (n, m)
        A router's scores on ``test``, higher is better.
    test : RoutingData
        The evaluation queries and the pool's answers (labels not needed).
    k : int, default 1
        Number of models per query; ``k > 1`` aggregates by vote (see the module docstring).
    scaler : RobustZ, optional
        Fitted on the router's **train** confidence; used only for the vote's tie-break. None
        fits a RobustZ on ``test.confidence`` (label-free, uses no answer key).
    random_state : int, default 0
        Seed of the ranking's tie-break.

    Returns
    -------
    array of shape (n,), object
        The routed answer letter, or None.
    """
    scores = np.asarray(scores, dtype=float)
    if scores.shape != (test.n_queries, test.n_models):
        raise ValueError(f"scores have shape {scores.shape}, the test data "
                         f"{(test.n_queries, test.n_models)}")
    if not 1 <= k <= test.n_models:
        raise ValueError(f"k must be between 1 and {test.n_models}, got {k}")
    top = rank_scores(scores, random_state)[:, :k]
    z = np.zeros_like(scores) if k == 1 else _test_z(test, scaler)
    return _vote(np.take_along_axis(test.choices, top, axis=1),
                 np.take_along_axis(z, top, axis=1))


def _is_right(answers: np.ndarray, test: RoutingData) -> np.ndarray:
    """``(n,)`` bool: answer equals the test label (None answers and labels are never right)."""
    if test.labels is None:
        raise ValueError("the test data have no labels; accuracy is unknown")
    labelled = np.array([label is not None for label in test.labels], dtype=bool)
    return (answers == test.labels).astype(bool) & labelled


def routed_correct(
    scores: np.ndarray,
    test: RoutingData,
    k: int = 1,
    scaler: RobustZ | None = None,
    random_state: int = 0,
) -> np.ndarray:
    """Per-query correctness of routing to the top ``k`` models.

    Parameters are those of :func:`routed_choices`; ``test`` must have labels.

    Returns
    -------
    array of shape (n,), bool
        True where the routed answer equals ``test.labels``.
    """
    return _is_right(routed_choices(scores, test, k, scaler, random_state), test)


def routed_accuracy(
    scores: np.ndarray,
    test: RoutingData,
    k: int = 1,
    scaler: RobustZ | None = None,
    random_state: int = 0,
) -> float:
    """Accuracy of routing to the top ``k`` models: the mean of :func:`routed_correct`.

    Parameters
    ----------
    scores : array of shape (n, m)
        A router's scores on ``test``.
    test : RoutingData
        Labelled evaluation queries.
    k : int, default 1
        1: the top model answers; the paper also reports 3 (vote).
    scaler : RobustZ, optional
        The router's train-fitted scaler for the vote's tie-break; None: fitted on the test
        confidences (see :func:`routed_choices`).
    random_state : int, default 0
        Seed of the ranking's tie-break.

    Returns
    -------
    float
        Share of queries answered right.
    """
    return float(routed_correct(scores, test, k, scaler, random_state).mean())


def pool_vote_correct(test: RoutingData, scaler: RobustZ | None = None) -> np.ndarray:
    """Per-query correctness of the whole pool's vote (every model votes, no routing).

    The whole-pool vote is an ensemble, not a ranking, so it lives here rather than as a router.
    Ties in the top count go to the most confident voter, as in the top-k vote.

    Parameters
    ----------
    test : RoutingData
        Labelled evaluation queries.
    scaler : RobustZ, optional
        Fitted on train confidences; None fits one on ``test.confidence`` (label-free).

    Returns
    -------
    array of shape (n,), bool
        True where the vote equals ``test.labels``.
    """
    return _is_right(_vote(test.choices, _test_z(test, scaler)), test)


def pool_vote_accuracy(test: RoutingData, scaler: RobustZ | None = None) -> float:
    """Accuracy of the whole pool's vote: the mean of :func:`pool_vote_correct`."""
    return float(pool_vote_correct(test, scaler).mean())


def oracle_accuracy(test: RoutingData) -> float:
    """Share of test queries that at least one pool model answers right (a ceiling).

    Parameters
    ----------
    test : RoutingData
        Labelled evaluation queries.

    Returns
    -------
    float
    """
    return float(test.correct().any(axis=1).mean())


def best_single(train: RoutingData, test: RoutingData) -> tuple[int, float]:
    """The model with the best train accuracy, and its test accuracy.

    Parameters
    ----------
    train, test : RoutingData
        Labelled, same models. Ties in train accuracy go to the earlier model.

    Returns
    -------
    index : int
        Column of the chosen model.
    accuracy : float
        Its accuracy on ``test``.
    """
    if list(train.models) != list(test.models):
        raise ValueError(f"train models {train.models} differ from test models {test.models}")
    index = int(np.argmax(train.correct().mean(axis=0)))
    return index, float(test.correct()[:, index].mean())


def random_expected_accuracy(test: RoutingData) -> float:
    """Expected accuracy of a uniformly random pool model per query (an expectation, no draw).

    Parameters
    ----------
    test : RoutingData
        Labelled evaluation queries.

    Returns
    -------
    float
        Mean over queries of the share of models that answer right.
    """
    return float(test.correct().mean(axis=1).mean())


def bootstrap_interval(
    correct: np.ndarray, n_boot: int = 2000, level: float = 0.95, random_state: int = 0
) -> tuple[float, float]:
    """Percentile bootstrap interval of a mean over queries.

    Parameters
    ----------
    correct : array of shape (n,)
        Per-query values (0/1 correctness, or differences for a paired comparison).
    n_boot : int, default 2000
        Number of resamples of the ``n`` queries (with replacement).
    level : float, default 0.95
        Coverage of the interval.
    random_state : int, default 0
        Seed of the resampling.

    Returns
    -------
    (float, float)
        Lower and upper ends.
    """
    values = np.asarray(correct, dtype=float).ravel()
    if values.size == 0:
        raise ValueError("cannot bootstrap an empty sample")
    if not 0 < level < 1:
        raise ValueError(f"level must be in (0, 1), got {level}")
    rng = np.random.default_rng(random_state)
    means = np.concatenate([
        values[rng.integers(values.size, size=(min(_CHUNK, n_boot - start), values.size))]
        .mean(axis=1)
        for start in range(0, n_boot, _CHUNK)
    ])
    tail = 100 * (1 - level) / 2
    low, high = np.percentile(means, [tail, 100 - tail])
    return float(low), float(high)


def bootstrap_difference(
    correct_a: np.ndarray,
    correct_b: np.ndarray,
    n_boot: int = 2000,
    level: float = 0.95,
    random_state: int = 0,
) -> tuple[float, float, float]:
    """Paired bootstrap of ``accuracy(A) - accuracy(B)`` on the same queries.

    Parameters
    ----------
    correct_a, correct_b : array of shape (n,)
        Per-query correctness of routers A and B, same queries in the same order.
    n_boot, level, random_state
        As in :func:`bootstrap_interval`.

    Returns
    -------
    (float, float, float)
        Mean difference, lower end, upper end. "A beats B" when the lower end is above 0.
    """
    a, b = np.asarray(correct_a, dtype=float), np.asarray(correct_b, dtype=float)
    if a.shape != b.shape:
        raise ValueError(f"paired samples differ in shape: {a.shape} vs {b.shape}")
    difference = a - b
    return (float(difference.mean()),
            *bootstrap_interval(difference, n_boot, level, random_state))


def routing_shares(ranks_or_routes: np.ndarray, n_models: int) -> np.ndarray:
    """Share of queries whose top-1 model is each model.

    Parameters
    ----------
    ranks_or_routes : array of shape (n, k) or (n,), int
        Model indices per query, best first (from ``rank``/``route``), or the top-1 index.
    n_models : int
        Number of models ``m``.

    Returns
    -------
    array of shape (m,), float
        Shares summing to 1.
    """
    routes = np.asarray(ranks_or_routes, dtype=int)
    top = routes if routes.ndim == 1 else routes[:, 0]
    if top.size == 0:
        raise ValueError("no queries to count")
    return np.bincount(top, minlength=n_models) / top.size


def _vote_scaler(router: Router, train: RoutingData) -> RobustZ:
    """The vote tie-break's scaler: the router's own ``scaler_``, else one fitted on the train
    confidence (the train statistics, as CASCAL's inference step does)."""
    scaler = getattr(router, "scaler_", None)
    return RobustZ().fit(train.confidence) if scaler is None else scaler


def fitted_router_correct(router: Router, train: RoutingData, test: RoutingData,
                          k: int) -> np.ndarray:
    """``(n,)`` per-query correctness of a router already fitted on ``train`` (as
    :func:`evaluate_router` scores it: same vote scaler, same seeded tie-break)."""
    return routed_correct(router.scores(test), test, k, _vote_scaler(router, train),
                          router.random_state)


def evaluate_router(
    router: Router, train: RoutingData, test: RoutingData, ks: tuple[int, ...] = (1, 3),
    reference_train: RoutingData | None = None, costs: np.ndarray | None = None,
) -> pd.DataFrame:
    """Fit a router on ``train`` and score its routing on ``test``, against the references.

    A router with ``uses_labels = False`` is fitted on ``train.without_labels()``. The vote's
    tie-break uses the router's own ``scaler_`` when it has one, else a RobustZ fitted on
    ``train.confidence`` (the train statistics, as in the paper's §5.7).

    Parameters
    ----------
    router : Router
        Unfitted (or refittable) router.
    train, test : RoutingData
        Labelled train data (labels are used for the best-single reference) and test data.
    ks : tuple of int, default (1, 3)
        Numbers of routed models.
    reference_train : RoutingData, optional
        Labelled data the best single model is chosen on (default ``train``). Pass the real
        train split when ``train`` is generated: the reference is the best model on real data.
    costs : array of shape (n_test, m), optional
        Cost of each test (query, model) (:func:`rgd_utils.cost.study_costs`). Given, each row
        has ``cost`` (mean cost per query of the ``k`` routed models), and the k = 1 row the
        area of the router's accuracy–cost curve (:func:`rgd_utils.cost.area_with_interval`,
        between the cheapest and the costliest single model) as ``aiq, aiq_low, aiq_high``.

    Returns
    -------
    pandas.DataFrame
        One row per k: ``router, k, accuracy, n, low, high`` (95% bootstrap interval, its
        resampling seeded with the router's ``random_state``, the run's seed),
        ``gain_best_single`` (accuracy minus the best train model's test accuracy),
        ``gain_random`` (minus :func:`random_expected_accuracy`), ``gap_oracle`` (oracle
        accuracy minus accuracy), and with ``costs`` the cost columns.
    """
    router.fit(train if router.uses_labels else train.without_labels())
    scores = router.scores(test)
    scaler = _vote_scaler(router, train)
    single = best_single(train if reference_train is None else reference_train, test)[1]
    random, oracle = random_expected_accuracy(test), oracle_accuracy(test)
    rows = []
    for k in ks:
        correct = routed_correct(scores, test, k, scaler, router.random_state)
        accuracy = float(correct.mean())
        low, high = bootstrap_interval(correct, random_state=router.random_state)
        rows.append({"router": type(router).__name__, "k": k, "accuracy": accuracy,
                     "n": correct.size, "low": low, "high": high,
                     "gain_best_single": accuracy - single, "gain_random": accuracy - random,
                     "gap_oracle": oracle - accuracy})
        if costs is not None:
            rows[-1].update(_cost_columns(scores, test, costs, k, router.random_state))
    return pd.DataFrame(rows)


def _cost_columns(scores: np.ndarray, test: RoutingData, costs: np.ndarray, k: int,
                  random_state: int) -> dict[str, float]:
    """``cost`` of routing to the top ``k`` models; for k = 1 also the router's AIQ."""
    top = rank_scores(scores, random_state)[:, :k]
    found = {"cost": float(np.take_along_axis(costs, top, axis=1).sum(axis=1).mean())}
    if k == 1:
        single = costs.mean(axis=0)
        aiq, low, high = area_with_interval(trade_off_choices(scores, costs), test.correct(),
                                            costs, (single.min(), single.max()),
                                            random_state=random_state)
        found.update(aiq=aiq, aiq_low=low, aiq_high=high)
    return found
