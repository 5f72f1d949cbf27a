"""A query-only router that does not follow a correlated majority [OURS].

Consensus routing trusts the pool's majority. When most models share a base and err alike, the
majority is one bloc's opinion counted several times, and every model of the bloc looks right
because it agrees with itself. :class:`BlocVoteRouter` finds the blocs from the pool's
agreement on the (unlabelled) train queries (:func:`rgd_utils.pool_structure.find_blocs`),
estimates each model's skill from the pairs *between* blocs only (where the one-coin model's
independence can hold), and scores a model's answer to a train query by the posterior that it is
right under a skill-weighted vote in which **each bloc casts one vote** (optionally leaving the
model's own bloc out, so that a bloc cannot vouch for itself). Four like-minded models then
count as one opinion, not four. The per-query scores are smoothed over the nearest train queries
as in the other query-only routers.
"""

from __future__ import annotations

import numpy as np

from ..pool_structure import agreement_beyond_chance, answered_mask, find_blocs, rank_one_skills
from .base import RoutingData
from .query_answer import NeighbourMeanRouter

#: Accuracies are clipped to ``[_CLIP, 1 - _CLIP]`` before taking vote weights (log-odds).
_CLIP = 0.02


def _letter_codes(choices: np.ndarray) -> tuple[np.ndarray, int]:
    """``(n, m)`` index of each answer letter (-1 where none) and the number of letters seen."""
    answered = answered_mask(choices)
    codes = np.full(choices.shape, -1)
    letters = np.unique(choices[answered].astype(str))
    codes[answered] = np.searchsorted(letters, choices[answered].astype(str))
    return codes, len(letters)


def bloc_vote_posterior(codes: np.ndarray, n_letters: int, accuracy: np.ndarray,
                        blocs: np.ndarray, exclude_own_bloc: bool = False) -> np.ndarray:
    """``(n, m)`` posterior that each model's answer is right under a one-vote-per-bloc vote.

    One-coin weighted vote: model ``k`` votes its letter with weight
    ``log(p_k (K - 1) / (1 - p_k)) / |bloc(k)|`` (each bloc one vote in all); the letters'
    posterior is the softmax of their total weights over the ``K`` letters. With
    ``exclude_own_bloc``, the models of the scored model's own bloc are left out of its vote.
    NaN where the model gave no answer.
    """
    n, m = codes.shape
    p = np.clip(accuracy, _CLIP, 1 - _CLIP)
    size = np.bincount(blocs)[blocs]
    weight = np.log(p * (n_letters - 1) / (1 - p)) / size
    hot = np.zeros((n, m, n_letters))
    i, j = np.nonzero(codes >= 0)
    hot[i, j, codes[i, j]] = 1.0
    result = np.full((n, m), np.nan)
    for bloc in np.unique(blocs):
        others = blocs != bloc if exclude_own_bloc else np.ones(m, dtype=bool)
        votes = np.einsum("ijk,j->ik", hot[:, others], weight[others])
        posterior = np.exp(votes - votes.max(axis=1, keepdims=True))
        posterior /= posterior.sum(axis=1, keepdims=True)
        for member in np.flatnonzero(blocs == bloc):
            rows = codes[:, member] >= 0
            result[rows, member] = posterior[rows, codes[rows, member]]
    return result


class BlocVoteRouter(NeighbourMeanRouter):
    """Mean bloc-aware correctness estimate of each model over the nearest train queries.

    Fitting reads the train answers only: the blocs (from the agreement of all train queries),
    the models' skills (fitted per subject on the pairs between blocs; on all train queries for
    a subject with fewer than ``min_subject_queries``), then each train query's
    :func:`bloc_vote_posterior`.

    Parameters
    ----------
    threshold : float, default 0.15
        Least excess agreement that links two models into a bloc
        (:func:`~rgd_utils.pool_structure.find_blocs`).
    min_subject_queries : int, default 100
        Fewest train queries of a subject for its own skill estimate.
    exclude_own_bloc : bool, default False
        Score each model against the other blocs' vote only.
    n_neighbors : int, default 20
    metric : str, default "cosine"
        See :class:`~rgd_utils.routers.query_answer.NeighbourMeanRouter`.

    Attributes
    ----------
    blocs_ : int array of shape (m,)
        Bloc number of each model.
    accuracy_ : array of shape (m,)
        Each model's estimated accuracy over all train queries.
    models_, targets_, neighbors_
        As in the base class; ``targets_`` holds the posteriors (0 where a model gave no answer).
    """

    family = "query-only"
    uses_labels = False

    def __init__(self, threshold: float = 0.15, min_subject_queries: int = 100,
                 exclude_own_bloc: bool = False, n_neighbors: int = 20,
                 metric: str = "cosine") -> None:
        super().__init__(n_neighbors=n_neighbors, metric=metric)
        self.threshold = threshold
        self.min_subject_queries = min_subject_queries
        self.exclude_own_bloc = exclude_own_bloc

    def _accuracy(self, codes: np.ndarray, n_letters: int) -> np.ndarray:
        """One-coin accuracies fitted on the pairs between the fitted blocs."""
        agreement = agreement_beyond_chance(np.where(codes >= 0, codes, None), n_letters)
        skills = rank_one_skills(agreement, self.blocs_[:, None] != self.blocs_[None, :])
        return skills * (n_letters - 1) / n_letters + 1 / n_letters

    def _targets(self, train: RoutingData) -> np.ndarray:
        codes, n_letters = _letter_codes(train.choices)
        n_letters = max(n_letters, 2)
        choices = np.where(codes >= 0, codes, None)
        self.blocs_ = find_blocs(agreement_beyond_chance(choices, n_letters), self.threshold)
        self.accuracy_ = self._accuracy(codes, n_letters)
        targets = np.empty(codes.shape)
        for subject in dict.fromkeys(train.subjects.tolist()):
            rows = np.flatnonzero(train.subjects == subject)
            accuracy = (self._accuracy(codes[rows], n_letters)
                        if len(rows) >= self.min_subject_queries else self.accuracy_)
            targets[rows] = bloc_vote_posterior(codes[rows], n_letters, accuracy, self.blocs_,
                                                self.exclude_own_bloc)
        return np.nan_to_num(targets, nan=0.0)
