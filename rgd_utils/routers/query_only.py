"""Query-only routers: learn from the train queries and the pool's answers, never from labels
(the paper's §4). Both smooth a label-free per-query quality estimate over the nearest train
queries (:class:`~rgd_utils.routers.query_answer.NeighbourMeanRouter`):

* :class:`ConsensusKNNRouter` — each model's consensus score (the paper's §5.1–5.2);
* :class:`SmoothieRouter` — Smoothie-Train (Guha et al. 2024) on one-hot answers;
* :class:`LabelFreeKNNRouter` — each model's estimated probability of being right, from an
  unsupervised ensemble estimator fitted per subject (:mod:`rgd_utils.label_free`) [OURS].
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ..consensus import RobustZ, consensus_from_confidence
from ..label_free import ESTIMATORS, estimate_correctness
from .base import RoutingData
from .query_answer import NeighbourMeanRouter


class ConsensusKNNRouter(NeighbourMeanRouter):
    """Mean consensus score of each model over the nearest train queries.

    The consensus scores of the train queries come from the train confidences: a
    :class:`~rgd_utils.consensus.RobustZ` fitted on them, confidence weights, then
    :func:`~rgd_utils.consensus.consensus_scores`. A model that gave no answer to a train query
    scores 0 there (no support), not NaN.

    Parameters
    ----------
    n_neighbors : int, default 10
    metric : str, default "cosine"
    random_state : int, default 0
        See :class:`~rgd_utils.routers.query_answer.NeighbourMeanRouter`.
    version : {"softmax", "sum"}, default "softmax"
        Consensus version (the authors' code, or the paper's figure).
    random_state : int, default 0
        Seed of the tie-break (see the base class).

    Attributes
    ----------
    scaler_ : RobustZ
        Fitted on the train confidences; also the vote tie-break's scaler at evaluation.
    models_, targets_, neighbors_
        As in the base class.
    """

    family = "query-only"
    uses_labels = False

    def __init__(self, n_neighbors: int = 10, metric: str = "cosine",
                 version: str = "softmax", random_state: int = 0) -> None:
        super().__init__(n_neighbors=n_neighbors, metric=metric, random_state=random_state)
        self.version = version

    def fit(self, train: RoutingData) -> ConsensusKNNRouter:
        """Fit the confidence scaler, score the train queries, index them; return ``self``."""
        self._check_train(train)
        self.scaler_ = RobustZ().fit(train.confidence)
        return super().fit(train)

    def _targets(self, train: RoutingData) -> np.ndarray:
        consensus = consensus_from_confidence(train.choices, train.confidence, self.scaler_,
                                              version=self.version)
        return np.nan_to_num(consensus, nan=0.0)


def triplet_errors(choices: np.ndarray) -> np.ndarray:
    """Smoothie's triplet estimate of each model's squared distance to the true output, per query,
    with one-hot answer letters as the output embeddings.

    With one-hot letters, ``||λ_a − λ_b||² = 2·1[a ≠ b]``; a missing answer is its own direction,
    so it disagrees with every answer, another missing answer included. If errors are independent,
    ``E||λ_a − λ_b||² = δ_a + δ_b`` with ``δ_a = E||λ_a − y||²``; for every triplet ``(a, b, c)``,
    ``δ_a = (D_ab + D_ac − D_bc) / 2``, and Smoothie averages this over all pairs ``(b, c)`` of
    the other models. Here, with ``S_a = Σ_b D_ab`` and ``T = Σ_{b<c} D_bc``, the average is
    ``δ_a = ((m − 2)·S_a − (T − S_a)) / ((m − 1)(m − 2))``.

    Letters are not zero-mean Gaussian noise: two wrong answers both lack the true letter, so
    ``δ_a / 2`` is not a calibrated error rate (with three models of accuracies ``p`` and wrong
    letters colliding with probability ``r``, ``δ_a − δ_b = 2(p_b − p_a)(p_c − r(1 − p_c))``).
    It orders the models by accuracy as long as the others beat that collision level.

    The estimate is linear in the distances, so averaging it over queries equals Smoothie's fit
    on those queries' outputs (its ``fit`` averages the distances over samples first).

    Parameters
    ----------
    choices : array of shape (n, m)
        Answer letters, None (or NaN) where a model gave none; ``m >= 3``.

    Returns
    -------
    array of shape (n, m)
        ``δ`` per query and model, in ``[0, 2]`` (disagreement obeys the triangle
        inequality). Per pair of other models, the triplet term is 0 when the model sides with
        them (both, if they agree; one, if not), 1 when all three differ, and 2 when the pair
        agrees without it.
    """
    choices = np.asarray(choices, dtype=object)
    n, m = choices.shape
    if m < 3:
        raise ValueError(f"Smoothie's triplet estimate needs at least 3 models, got {m}")
    answered = ~pd.isna(choices)
    letters = np.where(answered, choices, None)
    agree = ((letters[:, :, None] == letters[:, None, :]).astype(bool)
             & answered[:, :, None] & answered[:, None, :])
    distance = 2.0 * ~agree
    distance[:, np.arange(m), np.arange(m)] = 0.0
    spoke = distance.sum(axis=2)
    total = distance.sum(axis=(1, 2))[:, None] / 2
    return ((m - 2) * spoke - (total - spoke)) / ((m - 1) * (m - 2))


class SmoothieRouter(NeighbourMeanRouter):
    """Smoothie-Train (Guha et al. 2024, arXiv 2412.04692) for multiple-choice answers.

    Smoothie models each output embedding ``λ_a`` as Gaussian around the true output ``y`` with
    model-specific variance, estimates each model's distance ``δ_a = E||λ_a − y||²`` from the
    three-way identities of :func:`triplet_errors`, and routes to the model with the largest
    ``θ_a ∝ d / (2 δ_a)``. Its ``train_time`` / ``sample_dependent`` variant fits these estimates
    on the outputs for the ``k`` train queries nearest to the test query (by input embedding).

    Adaptation to this study:

    * the pool's outputs are answer letters, so one-hot letters stand in for output embeddings
      (the paper's pool prompt asks for a letter; free text would add nothing comparable);
    * the score is ``1 − δ_a / 2`` (an accuracy-like number in [0, 1], see
      :func:`triplet_errors` for why it is not calibrated), which orders
      the models as ``θ_a`` does wherever ``δ_a > 0`` and stays finite at ``δ_a = 0`` (common
      with letters: a model in the majority on every neighbour), where ``θ_a`` divides by zero;
    * neighbours are found by cosine distance (Smoothie uses Euclidean distance; the two agree
      on normalised embeddings), and with ``n_neighbors=1`` the single nearest train query is
      used (Smoothie's script then reads the train query at the test query's index, a slip).

    Parameters
    ----------
    n_neighbors : int, default 10
    metric : str, default "cosine"
    random_state : int, default 0
        See :class:`~rgd_utils.routers.query_answer.NeighbourMeanRouter`.

    Attributes
    ----------
    models_, targets_, neighbors_
        As in the base class; ``targets_`` holds ``1 − δ / 2`` per train query.
    """

    family = "query-only"
    uses_labels = False

    def _targets(self, train: RoutingData) -> np.ndarray:
        return 1.0 - triplet_errors(train.choices) / 2.0


class LabelFreeKNNRouter(NeighbourMeanRouter):
    """Mean estimated probability that each model is right, over the nearest train queries.

    The estimate comes from an unsupervised ensemble estimator (Dawid–Skene, its one-coin form,
    the spectral meta-learner, or the majority vote) fitted on each subject's train answers
    (:func:`rgd_utils.label_free.estimate_correctness`); no label is read. A model that gave no
    answer to a train query scores 0 there.

    Parameters
    ----------
    estimator : str, default "dawid-skene"
        A name of :data:`rgd_utils.label_free.ESTIMATORS`.
    n_neighbors : int, default 10
    metric : str, default "cosine"
    random_state : int, default 0
        See :class:`~rgd_utils.routers.query_answer.NeighbourMeanRouter`.

    Attributes
    ----------
    models_, targets_, neighbors_
        As in the base class; ``targets_`` holds the estimated probabilities.
    """

    family = "query-only"
    uses_labels = False

    def __init__(self, estimator: str = "dawid-skene", n_neighbors: int = 10,
                 metric: str = "cosine", random_state: int = 0) -> None:
        super().__init__(n_neighbors=n_neighbors, metric=metric, random_state=random_state)
        self.estimator = estimator

    def fit(self, train: RoutingData) -> LabelFreeKNNRouter:
        """Estimate the train queries' correctness, index them; return ``self``."""
        if self.estimator not in ESTIMATORS:
            raise ValueError(f"unknown estimator {self.estimator!r}; choose one of {sorted(ESTIMATORS)}")
        return super().fit(train)

    def _targets(self, train: RoutingData) -> np.ndarray:
        estimate, _ = estimate_correctness(train.choices, train.subjects, self.estimator)
        return np.nan_to_num(estimate, nan=0.0)
