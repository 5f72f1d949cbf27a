"""What every router reads (:class:`RoutingData`) and the small base class they share.

A router follows scikit-learn: ``__init__`` only stores parameters, ``fit(train)`` learns and
returns ``self``, learned state ends in ``_``. ``scores(data)`` is an ``(n_queries, n_models)``
array, higher is better; :meth:`Router.rank` and :meth:`Router.route` turn it into model orders
with an explicit, seeded tie-break (the paper's §5.7: shuffle, then a stable sort).

Query-only routers (``uses_labels = False``) never read ``labels``: the tests prove it by
shuffling them and by setting them to None.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, ClassVar, Mapping, Sequence

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator


@dataclass(frozen=True, eq=False)
class RoutingData:
    """Queries, their embeddings and subjects, and the pool's answers to them.

    Parameters
    ----------
    models : sequence of str
        The ``m`` pool members (expert names), in column order.
    embeddings : array of shape (n, d)
        One vector per query (any scale; routers normalise where they need to).
    subjects : array of shape (n,)
        Each query's subject (str).
    choices : array of shape (n, m)
        Each model's answer letter, or None where it gave none.
    confidence : array of shape (n, m)
        Each model's confidence in its answer (e.g. the log-probability of its choice); NaN
        where it gave none.
    labels : array of shape (n,), optional
        The gold (real data) or generated (generated data) letter; None for label-free data.
    qids : array of shape (n,), optional
        Query ids, for joining results back to tables.
    """

    models: Sequence[str]
    embeddings: np.ndarray
    subjects: np.ndarray
    choices: np.ndarray
    confidence: np.ndarray
    labels: np.ndarray | None = None
    qids: np.ndarray | None = None

    def __post_init__(self) -> None:
        set_ = object.__setattr__
        set_(self, "models", list(self.models))
        set_(self, "embeddings", np.asarray(self.embeddings, dtype=float))
        set_(self, "subjects", np.asarray(self.subjects, dtype=object))
        choices = np.asarray(self.choices, dtype=object)
        set_(self, "choices", np.where(pd.isna(choices), None, choices))  # NaN (from pivots) -> None
        set_(self, "confidence", np.asarray(self.confidence, dtype=float))
        if self.labels is not None:
            set_(self, "labels", np.asarray(self.labels, dtype=object))
        if self.qids is not None:
            set_(self, "qids", np.asarray(self.qids, dtype=object))
        n, m = len(self.subjects), len(self.models)
        if m == 0:
            raise ValueError("RoutingData needs at least one model")
        if len(set(self.models)) != m:
            raise ValueError(f"model names repeat: {self.models}")
        shapes = {
            "embeddings": (self.embeddings.shape[:1], (n,)),
            "choices": (self.choices.shape, (n, m)),
            "confidence": (self.confidence.shape, (n, m)),
        }
        if self.embeddings.ndim != 2:
            raise ValueError(f"embeddings must be 2-D (n, d), got shape {self.embeddings.shape}")
        if self.labels is not None:
            shapes["labels"] = (self.labels.shape, (n,))
        if self.qids is not None:
            shapes["qids"] = (self.qids.shape, (n,))
        wrong = {name: got for name, (got, want) in shapes.items() if tuple(got) != want}
        if wrong:
            raise ValueError(f"with {n} queries and {m} models, these shapes are wrong: {wrong}")

    @classmethod
    def from_tables(
        cls,
        questions: pd.DataFrame,
        responses: pd.DataFrame,
        embeddings: Mapping[str, np.ndarray] | Callable[[Sequence[str]], np.ndarray],
        models: Sequence[str],
        labels: bool = True,
    ) -> RoutingData:
        """Build routing data from the study's tables (the study's schemas).

        Parameters
        ----------
        questions : pandas.DataFrame
            The queries, in the order wanted (``qid, subject, answer``).
        responses : pandas.DataFrame
            Responses (``qid, model, choice, confidence``) of at least ``models`` to them.
        embeddings : mapping of qid to vector, or callable
            A vector per query id, or a function from a list of ids to an ``(n, d)`` array.
        models : sequence of str
            The pool, in column order.
        labels : bool, default True
            Take ``answer`` as the labels; False gives label-free data.

        Raises
        ------
        ValueError
            When a (query, model) response is missing or repeated.
        """
        qids = questions["qid"].tolist()
        chosen = responses[responses["qid"].isin(qids) & responses["model"].isin(list(models))]
        if chosen.duplicated(["qid", "model"]).any():
            raise ValueError("a (query, model) pair has more than one response")
        expected = len(qids) * len(models)
        if len(chosen) != expected:
            raise ValueError(f"{expected - len(chosen)} of {expected} (query, model) responses are missing")
        choices = chosen.pivot(index="qid", columns="model", values="choice").loc[qids, list(models)]
        confidence = chosen.pivot(index="qid", columns="model", values="confidence").loc[qids, list(models)]
        vectors = (np.asarray(embeddings(qids)) if callable(embeddings)
                   else np.stack([np.asarray(embeddings[q]) for q in qids]))
        return cls(
            models=list(models), embeddings=vectors, subjects=questions["subject"].to_numpy(object),
            choices=choices.to_numpy(object), confidence=confidence.to_numpy(float),
            labels=questions["answer"].to_numpy(object) if labels else None, qids=np.asarray(qids, dtype=object),
        )

    @property
    def n_queries(self) -> int:
        """Number of queries ``n``."""
        return len(self.subjects)

    @property
    def n_models(self) -> int:
        """Number of models ``m``."""
        return len(self.models)

    def correct(self) -> np.ndarray:
        """``(n, m)`` bool: whether each model's choice equals the query's label (False where
        the model gave no answer or the query has no label).

        Raises
        ------
        ValueError
            For label-free data.
        """
        if self.labels is None:
            raise ValueError("these data have no labels; correctness is unknown")
        labelled = np.array([label is not None for label in self.labels], dtype=bool)
        return (self.choices == self.labels[:, None]).astype(bool) & labelled[:, None]

    def subset(self, index: np.ndarray | Sequence[int]) -> RoutingData:
        """The queries selected by a boolean mask or integer index (same models)."""
        index = np.asarray(index)
        return RoutingData(
            models=self.models, embeddings=self.embeddings[index], subjects=self.subjects[index],
            choices=self.choices[index], confidence=self.confidence[index],
            labels=None if self.labels is None else self.labels[index],
            qids=None if self.qids is None else self.qids[index],
        )

    def select_models(self, models: Sequence[str]) -> RoutingData:
        """The same queries with only ``models`` (in that order) as the pool.

        Raises
        ------
        ValueError
            When a name is not a model of these data.
        """
        unknown = [m for m in models if m not in self.models]
        if unknown:
            raise ValueError(f"{unknown} are not models of these data ({self.models})")
        columns = [self.models.index(m) for m in models]
        return RoutingData(list(models), self.embeddings, self.subjects,
                           self.choices[:, columns], self.confidence[:, columns],
                           labels=self.labels, qids=self.qids)

    def without_labels(self) -> RoutingData:
        """The same data with ``labels=None`` (what a query-only router may see)."""
        return RoutingData(self.models, self.embeddings, self.subjects, self.choices,
                           self.confidence, labels=None, qids=self.qids)


def unit_norm(x: np.ndarray) -> np.ndarray:
    """Vectors (the last axis) scaled to unit L2 norm; an all-zero vector stays zero.

    Parameters
    ----------
    x : array of shape (..., d)

    Returns
    -------
    array of the same shape, float
    """
    x = np.asarray(x, dtype=float)
    norms = np.linalg.norm(x, axis=-1, keepdims=True)
    return np.divide(x, norms, out=np.zeros_like(x), where=norms > 0)


def rank_scores(scores: np.ndarray, random_state: int = 0) -> np.ndarray:
    """Model orders, best first, ties broken at random (a seeded shuffle, then a stable sort).

    Parameters
    ----------
    scores : array of shape (n, m)
        Higher is better; NaN ranks last.
    random_state : int, default 0
        Seed of the tie-break.

    Returns
    -------
    array of shape (n, m), int
        Column indices, best first.
    """
    scores = np.asarray(scores, dtype=float)
    n, m = scores.shape
    rng = np.random.default_rng(random_state)
    shuffle = np.argsort(rng.random((n, m)), axis=1)
    shuffled = np.take_along_axis(np.nan_to_num(scores, nan=-np.inf), shuffle, axis=1)
    order = np.argsort(-shuffled, axis=1, kind="stable")
    return np.take_along_axis(shuffle, order, axis=1)


class Router(BaseEstimator):
    """Base class: ``fit`` (returns self), ``scores``, and the shared ``rank``/``route``.

    A scikit-learn estimator: ``get_params``/``set_params`` and :func:`sklearn.base.clone` (the
    one way to copy an unfitted router) work on every router.

    Attributes
    ----------
    family : str
        ``"query-answer"`` (fitted on labels), ``"query-only"`` (label-free) or ``"reference"``
        (a point of comparison); every router class declares its own.
    uses_labels : bool
        True for query-answer routers (and references that need labels); False for query-only
        routers, which must give the same scores whatever the train labels are.
    """

    family: ClassVar[str]
    uses_labels: bool = True
    random_state: int = 0

    def fit(self, train: RoutingData) -> Router:  # pragma: no cover - abstract
        """Learn from the train data; return ``self``."""
        raise NotImplementedError

    def scores(self, data: RoutingData) -> np.ndarray:  # pragma: no cover - abstract
        """``(n_queries, n_models)`` scores, higher is better."""
        raise NotImplementedError

    def _check_train(self, train: RoutingData) -> None:
        """Refuse to learn from zero train queries, with a message that says so."""
        if train.n_queries == 0:
            raise ValueError(f"cannot fit {type(self).__name__} on zero train queries: give it "
                             f"at least one (a benchmark or source without train data is "
                             f"skipped by rgd_utils.experiments.run_routers)")

    def _check_fitted(self) -> None:
        if not hasattr(self, "models_"):
            raise RuntimeError(f"{type(self).__name__} is not fitted yet: call fit(train) first")

    def _check_models(self, data: RoutingData) -> None:
        self._check_fitted()
        if list(data.models) != list(self.models_):
            raise ValueError(f"fitted on models {self.models_}, asked about {data.models}")

    def rank(self, data: RoutingData) -> np.ndarray:
        """``(n, m)`` model indices, best first (seeded random tie-break)."""
        return rank_scores(self.scores(data), self.random_state)

    def route(self, data: RoutingData, k: int = 1) -> np.ndarray:
        """``(n, k)`` indices of the ``k`` models each query is sent to."""
        if not 1 <= k <= data.n_models:
            raise ValueError(f"k must be between 1 and {data.n_models}, got {k}")
        return self.rank(data)[:, :k]
