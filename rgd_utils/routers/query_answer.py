"""Query-answer routers: learn each model's correctness on the train queries (the paper's §4).

Correctness is ``train.correct()``: a model's answer against the train label, which is the gold
letter on real data and the generator's letter on generated data. All three routers work on the
query embeddings (L2-normalised where geometry matters):

* :class:`KNNRouter` — mean correctness over the nearest train queries;
* :class:`ClusterRouter` — Avengers-style: k-means clusters, per-cluster accuracy;
* :class:`CorrectnessClassifierRouter` — one classifier per model predicting correctness.

:class:`NeighbourMeanRouter` is the shared kNN machinery: the query-only routers of
:mod:`rgd_utils.routers.query_only` reuse it with label-free targets.
"""

from __future__ import annotations

from typing import Callable

import numpy as np
from sklearn.base import ClassifierMixin
from sklearn.cluster import KMeans
from sklearn.linear_model import LogisticRegression
from sklearn.neighbors import NearestNeighbors
from sklearn.neural_network import MLPClassifier

from .base import Router, RoutingData, unit_norm


class NeighbourMeanRouter(Router):
    """Base class: a query's scores are the mean per-model target of its nearest train queries.

    Subclasses define :meth:`_targets`, one value per (train query, model), higher is better.
    The number of neighbours is capped at the number of train queries; distance ties are
    resolved by scikit-learn's brute-force search (deterministic).

    Parameters
    ----------
    n_neighbors : int, default 10
        Number of nearest train queries.
    metric : str, default "cosine"
        Distance between query embeddings (any scikit-learn ``NearestNeighbors`` metric).
    random_state : int, default 0
        Seed of the ranking's tie-break between models of equal score (:meth:`Router.rank`,
        and the evaluation's vote), the only randomness of these routers.

    Attributes
    ----------
    models_ : list of str
    targets_ : array of shape (n_train, m)
        The per-train-query targets.
    neighbors_ : sklearn.neighbors.NearestNeighbors
        Fitted on the train embeddings.
    """

    def __init__(self, n_neighbors: int = 10, metric: str = "cosine",
                 random_state: int = 0) -> None:
        self.n_neighbors = n_neighbors
        self.metric = metric
        self.random_state = random_state

    def _targets(self, train: RoutingData) -> np.ndarray:  # pragma: no cover - abstract
        """``(n_train, m)`` per-query targets, higher is better."""
        raise NotImplementedError

    def fit(self, train: RoutingData) -> NeighbourMeanRouter:
        """Compute the targets and index the train embeddings; return ``self``."""
        self._check_train(train)
        if self.n_neighbors < 1:
            raise ValueError(f"n_neighbors must be at least 1, got {self.n_neighbors}")
        self.targets_ = np.asarray(self._targets(train), dtype=float)
        self.neighbors_ = NearestNeighbors(
            n_neighbors=min(self.n_neighbors, train.n_queries), metric=self.metric,
            algorithm="brute",
        ).fit(train.embeddings)
        self.models_ = list(train.models)
        return self

    def scores(self, data: RoutingData) -> np.ndarray:
        """``(n, m)`` mean target over each query's nearest train queries."""
        self._check_models(data)
        _, index = self.neighbors_.kneighbors(data.embeddings)
        return self.targets_[index].mean(axis=1)


class KNNRouter(NeighbourMeanRouter):
    """Each model's accuracy over the ``n_neighbors`` nearest train queries.

    Parameters
    ----------
    n_neighbors : int, default 10
    metric : str, default "cosine"
    random_state : int, default 0
        See :class:`NeighbourMeanRouter`.
    """

    family = "query-answer"

    def _targets(self, train: RoutingData) -> np.ndarray:
        return train.correct().astype(float)


class ClusterRouter(Router):
    """Avengers-style router (Zhang et al. 2025; the paper's §4): k-means on the L2-normalised
    train embeddings, each model's accuracy per cluster, a test query takes its nearest
    cluster's accuracies.

    The number of clusters is capped at the number of distinct train embeddings. A cluster's
    accuracy is shrunk toward the model's global train accuracy with ``prior`` pseudo-queries,
    ``(right_c + prior * global) / (n_c + prior)``, so that a cluster of two queries cannot give a
    model a perfect score by luck; ``prior=0`` gives the raw per-cluster accuracy (an empty
    cluster then falls back to the global accuracy).

    Parameters
    ----------
    n_clusters : int, default 64
        Number of k-means clusters (the paper's Avengers setting).
    prior : float, default 1.0
        Pseudo-query count of the shrinkage toward the global accuracy.
    random_state : int, default 0
        Seed of k-means.

    Attributes
    ----------
    models_ : list of str
    kmeans_ : sklearn.cluster.KMeans
    accuracy_ : array of shape (n_clusters_, m)
        Shrunk per-cluster accuracy.
    sizes_ : array of shape (n_clusters_,)
        Train queries per cluster.
    """

    family = "query-answer"

    def __init__(self, n_clusters: int = 64, prior: float = 1.0, random_state: int = 0) -> None:
        self.n_clusters = n_clusters
        self.prior = prior
        self.random_state = random_state

    def fit(self, train: RoutingData) -> ClusterRouter:
        """Cluster the train queries and tabulate per-cluster accuracy; return ``self``."""
        self._check_train(train)
        if self.n_clusters < 1 or self.prior < 0:
            raise ValueError(f"need n_clusters >= 1 and prior >= 0, got {self.n_clusters}, "
                             f"{self.prior}")
        x = unit_norm(train.embeddings)
        k = min(self.n_clusters, len(np.unique(x, axis=0)))
        self.kmeans_ = KMeans(n_clusters=k, n_init="auto", random_state=self.random_state).fit(x)
        correct = train.correct().astype(float)
        overall = correct.mean(axis=0)
        right = np.zeros((k, train.n_models))
        np.add.at(right, self.kmeans_.labels_, correct)
        self.sizes_ = np.bincount(self.kmeans_.labels_, minlength=k)
        weight = (self.sizes_ + self.prior)[:, None]
        self.accuracy_ = np.divide(right + self.prior * overall, weight,
                                   out=np.tile(overall, (k, 1)), where=weight > 0)
        self.models_ = list(train.models)
        return self

    def scores(self, data: RoutingData) -> np.ndarray:
        """``(n, m)`` accuracies of each query's nearest cluster."""
        self._check_models(data)
        return self.accuracy_[self.kmeans_.predict(unit_norm(data.embeddings))]


#: The per-model correctness classifiers, by name, given a seed.
_CLASSIFIERS: dict[str, Callable[[int], ClassifierMixin]] = {
    "logistic": lambda seed: LogisticRegression(max_iter=1000, random_state=seed),
    "mlp": lambda seed: MLPClassifier(hidden_layer_sizes=(64,), max_iter=500, random_state=seed),
}


class CorrectnessClassifierRouter(Router):
    """One binary classifier per model predicting "this model answers right" from the
    L2-normalised query embedding; the score is the predicted probability.

    A model that is always right (or always wrong) on the train queries gets that constant
    (1.0 or 0.0) as its score, as no classifier can be fitted to one class.

    Parameters
    ----------
    model : {"logistic", "mlp"}, default "logistic"
        ``LogisticRegression(max_iter=1000)`` or ``MLPClassifier(hidden_layer_sizes=(64,),
        max_iter=500)`` (scikit-learn defaults otherwise).
    random_state : int, default 0
        Seed of the classifiers.

    Attributes
    ----------
    models_ : list of str
    classifiers_ : list of (classifier or float)
        Per model, the fitted classifier or the constant score.
    """

    family = "query-answer"

    def __init__(self, model: str = "logistic", random_state: int = 0) -> None:
        self.model = model
        self.random_state = random_state

    def fit(self, train: RoutingData) -> CorrectnessClassifierRouter:
        """Fit one classifier per model on the train correctness; return ``self``."""
        self._check_train(train)
        if self.model not in _CLASSIFIERS:
            raise ValueError(f"model must be one of {sorted(_CLASSIFIERS)}, got {self.model!r}")
        make = _CLASSIFIERS[self.model]
        x = unit_norm(train.embeddings)
        self.classifiers_ = [
            make(self.random_state).fit(x, y) if 0 < y.sum() < y.size else float(y.all())
            for y in train.correct().T
        ]
        self.models_ = list(train.models)
        return self

    def scores(self, data: RoutingData) -> np.ndarray:
        """``(n, m)`` predicted probability that each model answers right."""
        self._check_models(data)
        x = unit_norm(data.embeddings)
        columns = [
            np.full(data.n_queries, clf) if isinstance(clf, float)
            else clf.predict_proba(x)[:, list(clf.classes_).index(True)]
            for clf in self.classifiers_
        ]
        return np.column_stack(columns)
