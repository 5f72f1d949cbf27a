"""Reference points that every router is compared with (the paper's §4, last rows).

* :class:`RandomRouter` — a uniformly random model per query (label-free);
* :class:`BestSingleRouter` — the model with the best train accuracy, for every query;
* :class:`BestPerSubjectRouter` — the best train model of the query's subject;
* :class:`OracleRouter` — the test answer key itself: a ceiling, never a router.

The whole-pool majority vote is an ensemble of every model rather than a ranking of models, so
it is :func:`rgd_utils.evaluation.pool_vote_accuracy`, not a router.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from .base import Router, RoutingData


class RandomRouter(Router):
    """Seeded uniform random scores: each query goes to a random model.

    ``routed_accuracy`` of this router is **one draw**; the number to report as "random" is its
    expectation, :func:`rgd_utils.evaluation.random_expected_accuracy`.

    Parameters
    ----------
    random_state : int, default 0
        Seed of the scores (the same data get the same scores).

    Attributes
    ----------
    models_ : list of str
    """

    family = "reference"
    uses_labels = False

    def __init__(self, random_state: int = 0) -> None:
        self.random_state = random_state

    def fit(self, train: RoutingData) -> RandomRouter:
        """Remember the models; return ``self``."""
        self.models_ = list(train.models)
        return self

    def scores(self, data: RoutingData) -> np.ndarray:
        """``(n, m)`` uniform random numbers in [0, 1)."""
        self._check_models(data)
        return np.random.default_rng(self.random_state).random((data.n_queries, data.n_models))


class BestSingleRouter(Router):
    """Every query goes to the model with the best train accuracy.

    The scores are minus each model's place in the train-accuracy order (0 for the best, ties by
    model order), the same for every query, so that the top-1 model is the one
    :func:`rgd_utils.evaluation.best_single` picks and the top-k are the k best train models.

    Attributes
    ----------
    models_ : list of str
    accuracy_ : array of shape (m,)
        Train accuracy per model.
    """

    family = "reference"

    def fit(self, train: RoutingData) -> BestSingleRouter:
        """Compute train accuracies; return ``self``."""
        self._check_train(train)
        self.accuracy_ = train.correct().mean(axis=0)
        self.models_ = list(train.models)
        return self

    def scores(self, data: RoutingData) -> np.ndarray:
        """``(n, m)`` constant rows: ``-place`` of each model in the train order."""
        self._check_models(data)
        place = np.argsort(np.argsort(-self.accuracy_, kind="stable"), kind="stable")
        return np.tile(-place.astype(float), (data.n_queries, 1))


class BestPerSubjectRouter(Router):
    """Each query goes by the train accuracy of the models on the query's subject.

    The subject is the query's own ``subjects`` entry (benchmark metadata known at query time).
    A subject without train queries falls back to the overall train accuracy. Ties go to the
    seeded random tie-break of :meth:`Router.rank`.

    Parameters
    ----------
    random_state : int, default 0
        Seed of that tie-break.

    Attributes
    ----------
    models_ : list of str
    accuracy_ : pandas.DataFrame
        Train accuracy, one row per subject, one column per model.
    overall_ : array of shape (m,)
        Train accuracy over all subjects.
    """

    family = "reference"

    def __init__(self, random_state: int = 0) -> None:
        self.random_state = random_state

    def fit(self, train: RoutingData) -> BestPerSubjectRouter:
        """Compute per-subject and overall train accuracies; return ``self``."""
        self._check_train(train)
        correct = pd.DataFrame(train.correct().astype(float), columns=list(train.models))
        self.accuracy_ = correct.groupby(train.subjects).mean()
        self.overall_ = correct.mean(axis=0).to_numpy()
        self.models_ = list(train.models)
        return self

    def scores(self, data: RoutingData) -> np.ndarray:
        """``(n, m)`` train accuracy of each query's subject (overall for unseen subjects)."""
        self._check_models(data)
        table = self.accuracy_.reindex(data.subjects).to_numpy()
        return np.where(np.isnan(table), self.overall_, table)


class OracleRouter(Router):
    """The per-query oracle: scores are the **test** correctness, so a right model comes first.

    It reads the labels of the data it scores, by construction: it is a ceiling to report next
    to the routers (with ``k=1`` it reaches :func:`rgd_utils.evaluation.oracle_accuracy`), never
    a router.

    Attributes
    ----------
    models_ : list of str
    """

    family = "reference"

    def fit(self, train: RoutingData) -> OracleRouter:
        """Remember the models (nothing is learned); return ``self``."""
        self.models_ = list(train.models)
        return self

    def scores(self, data: RoutingData) -> np.ndarray:
        """``(n, m)`` 1.0 where the model answers ``data`` right, else 0.0."""
        self._check_models(data)
        return data.correct().astype(float)
