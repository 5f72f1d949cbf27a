"""Label-free estimates of whether each model answered each query correctly.

CASCAL's consensus trusts the pool's majority; when most models err alike, the majority is
wrong and so is every estimate built on it. Unsupervised ensemble learning has estimators that
weigh each model by how reliable it is, learned from the answers alone. Each estimator here is
fitted on one group of queries (a subject, or a cluster) from the pool's answers only, and gives
``P(model j is right on query i)`` as an ``(n, m)`` array, NaN where the model gave no answer.

* :class:`MajorityVote`: the share of models that gave the same answer (the reference every
  other estimator must beat);
* :class:`DawidSkene` (Dawid & Skene, 1979): EM over the unknown right letter, with a full
  confusion matrix per model (``"full"``: it learns letter biases such as "always A") or a
  single accuracy per model (``"one-coin"``: errors spread evenly over the other letters),
  started from a vote that discounts models answering the same letter whatever the question
  (:func:`entropy_weighted_vote`);
* :class:`SpectralOneCoin`: the spectral meta-learner (Parisi et al., 2014) for multiple
  choice: under the one-coin model, two models agree beyond chance in proportion to the product
  of their skills, so the off-diagonal agreement matrix is rank one and its leading eigenvector
  gives every model's accuracy without EM; queries are then scored with those accuracies.

Letters are the classes (``K`` of them: every letter seen in the group); a model's answer is one
of them or None.
"""

from __future__ import annotations

from typing import Protocol

import numpy as np

_EPS = 1e-6


def _codes(choices: np.ndarray) -> tuple[np.ndarray, int]:
    """``(n, m)`` class index of each answer (-1 where none) and the number of classes."""
    choices = np.asarray(choices, dtype=object)
    if choices.ndim != 2:
        raise ValueError(f"choices must be 2-D (queries, models), got shape {choices.shape}")
    answered = np.array([[c is not None and c == c for c in row] for row in choices], dtype=bool)
    answered = answered.reshape(choices.shape)
    codes = np.full(choices.shape, -1, dtype=int)
    if answered.any():
        _, codes[answered] = np.unique(choices[answered].astype(str), return_inverse=True)
    return codes, int(codes.max(initial=-1)) + 1


def _one_hot(codes: np.ndarray, k: int) -> np.ndarray:
    """``(n, m, k)`` indicator of each model's answer (all zeros where none)."""
    hot = np.zeros((*codes.shape, k))
    i, j = np.nonzero(codes >= 0)
    hot[i, j, codes[i, j]] = 1.0
    return hot


def _answer_probability(posterior: np.ndarray, codes: np.ndarray) -> np.ndarray:
    """``P(the model's answer is the right one)``: the posterior of the letter it chose."""
    chosen = np.take_along_axis(posterior, np.maximum(codes, 0), axis=1)
    return np.where(codes >= 0, chosen, np.nan)


def entropy_weighted_vote(hot: np.ndarray) -> np.ndarray:
    """``(n, K)`` vote shares where each model's vote weighs the entropy of its letters.

    EM started from the plain majority is stuck when most models share a bias: with three
    models that always answer "A", the majority says "A" is right everywhere, and the
    model in which "A" is always right explains the data nearly as well. Benchmarks balance
    their answer keys, so a model that knows something spreads its answers over the letters; a
    constant one carries no information about the question. Each model's vote therefore
    weighs ``H(its letters) / log K`` (0 for a constant model, 1 for evenly spread answers),
    and EM starts from there.
    """
    k = hot.shape[2]
    counts = hot.sum(axis=0)  # (m, K)
    shares = counts / np.maximum(counts.sum(axis=1, keepdims=True), 1)
    entropy = -np.sum(np.where(shares > 0, shares * np.log(np.where(shares > 0, shares, 1)), 0.0), axis=1)
    weight = entropy / np.log(k) if k > 1 else np.ones(len(counts))
    votes = np.einsum("ijk,j->ik", hot, weight)
    totals = votes.sum(axis=1, keepdims=True)
    return np.where(totals > 0, votes / np.where(totals > 0, totals, 1), 1.0 / k)


class CorrectnessEstimator(Protocol):
    """What every estimator offers."""

    def fit(self, choices: np.ndarray) -> "CorrectnessEstimator": ...

    def correctness(self) -> np.ndarray: ...


class MajorityVote:
    """``P(right)`` = the share of the answering models that gave the same answer.

    Attributes
    ----------
    posterior_ : array of shape (n, K)
        Vote shares of the letters (uniform for a query nobody answered).
    """

    def fit(self, choices: np.ndarray) -> MajorityVote:
        """Count the votes; returns ``self``."""
        self.codes_, k = _codes(choices)
        votes = _one_hot(self.codes_, max(k, 1)).sum(axis=1)
        totals = votes.sum(axis=1, keepdims=True)
        self.posterior_ = np.where(totals > 0, votes / np.maximum(totals, 1), 1.0 / max(k, 1))
        return self

    def correctness(self) -> np.ndarray:
        """``(n, m)`` estimate, NaN where the model gave no answer."""
        return _answer_probability(self.posterior_, self.codes_)


class DawidSkene:
    """Dawid–Skene EM over the unknown right letter of each query.

    Parameters
    ----------
    model : {"full", "one-coin"}, default "full"
        A confusion matrix per model, or one accuracy per model.
    max_iter : int, default 100
        EM iterations at most.
    tol : float, default 1e-6
        Stop when no posterior moves by more than this.
    smoothing : float, default 1.0
        Pseudo-count added to every confusion cell (and class count), so that a letter a model
        never chose in one group keeps a small probability.
    prior : {"uniform", "learned"}, default "uniform"
        The right letter's prior. Benchmarks balance their answer keys, and a learned prior
        lets EM settle where one letter is "always right" when several models favour it.

    Attributes
    ----------
    posterior_ : array of shape (n, K)
        ``P(right letter = k | answers)``.
    confusion_ : array of shape (m, K, K)
        ``P(model answers l | right letter k)`` (``"full"``); the one-coin matrices otherwise.
    accuracy_ : array of shape (m,)
        Each model's estimated accuracy (the prior-weighted diagonal of its confusion).
    prior_ : array of shape (K,)
        Class prior.
    n_iter_ : int
        EM iterations run.
    """

    def __init__(self, model: str = "full", max_iter: int = 100, tol: float = 1e-6,
                 smoothing: float = 1.0, prior: str = "uniform") -> None:
        self.model = model
        self.max_iter = max_iter
        self.tol = tol
        self.smoothing = smoothing
        self.prior = prior

    def fit(self, choices: np.ndarray) -> DawidSkene:
        """Run EM from an entropy-weighted vote (see :func:`entropy_weighted_vote`); returns
        ``self``."""
        if self.model not in ("full", "one-coin"):
            raise ValueError(f"model must be 'full' or 'one-coin', got {self.model!r}")
        if self.prior not in ("uniform", "learned"):
            raise ValueError(f"prior must be 'uniform' or 'learned', got {self.prior!r}")
        self.codes_, k = _codes(choices)
        k = max(k, 1)
        hot = _one_hot(self.codes_, k)
        posterior = entropy_weighted_vote(hot)
        for self.n_iter_ in range(1, self.max_iter + 1):
            self._m_step(hot, posterior, k)
            updated = self._e_step(hot)
            moved = float(np.abs(updated - posterior).max(initial=0.0))
            posterior = updated
            if moved < self.tol:
                break
        self.posterior_ = posterior
        return self

    def _m_step(self, hot: np.ndarray, posterior: np.ndarray, k: int) -> None:
        counts = np.einsum("ik,ijl->jkl", posterior, hot) + self.smoothing  # (m, K, K)
        if self.model == "one-coin":
            right = np.trace(counts, axis1=1, axis2=2)
            accuracy = right / counts.sum(axis=(1, 2))
            off = (1 - accuracy) / max(k - 1, 1)
            counts = np.where(np.eye(k, dtype=bool)[None], accuracy[:, None, None], off[:, None, None])
        self.confusion_ = counts / counts.sum(axis=2, keepdims=True)
        self.prior_ = (np.full(k, 1.0 / k) if self.prior == "uniform" else
                       (posterior.sum(axis=0) + self.smoothing) / (len(posterior) + k * self.smoothing))
        self.accuracy_ = np.einsum("k,jkk->j", self.prior_, self.confusion_)

    def _e_step(self, hot: np.ndarray) -> np.ndarray:
        log_like = np.einsum("ijl,jkl->ik", hot, np.log(self.confusion_ + _EPS)) + np.log(self.prior_)
        log_like -= log_like.max(axis=1, keepdims=True)
        posterior = np.exp(log_like)
        return posterior / posterior.sum(axis=1, keepdims=True)

    def correctness(self) -> np.ndarray:
        """``(n, m)`` estimate, NaN where the model gave no answer."""
        return _answer_probability(self.posterior_, self.codes_)


class SpectralOneCoin:
    """The spectral meta-learner for multiple choice (one-coin model, no EM).

    With ``K`` letters and accuracy ``p_j``, write ``a_j = (K p_j - 1) / (K - 1)``. Under
    conditional independence and evenly spread errors, models ``j != l`` agree with probability
    ``1/K + (K-1)/K · a_j a_l``: the matrix of rescaled agreements is ``a a^T`` off the
    diagonal. Its diagonal is filled in by iterating the best rank-one approximation, and ``a``
    is the leading eigenvector scaled by the square root of its eigenvalue, signed so that the
    pool is better than chance on the whole. Each query's letters are then scored with the
    one-coin likelihood of those accuracies and a uniform prior.

    Parameters
    ----------
    n_iter : int, default 50
        Diagonal completion iterations.

    Attributes
    ----------
    accuracy_ : array of shape (m,)
        Estimated accuracies, clipped to ``[0.01, 0.99]``.
    posterior_ : array of shape (n, K)
    """

    def __init__(self, n_iter: int = 50) -> None:
        self.n_iter = n_iter

    def fit(self, choices: np.ndarray) -> SpectralOneCoin:
        """Estimate the accuracies from pairwise agreement, then score the queries."""
        self.codes_, k = _codes(choices)
        k = max(k, 2)
        answered = self.codes_ >= 0
        same = (self.codes_[:, :, None] == self.codes_[:, None, :]) & answered[:, :, None] & answered[:, None, :]
        both = (answered[:, :, None] & answered[:, None, :]).sum(axis=0)
        agreement = np.divide(same.sum(axis=0), both, out=np.full(both.shape, 1.0 / k), where=both > 0)
        target = (agreement - 1.0 / k) * k / (k - 1)
        off = ~np.eye(len(target), dtype=bool)
        filled = np.where(off, target, 0.0)
        for _ in range(self.n_iter):
            values, vectors = np.linalg.eigh(filled)
            rank_one = values[-1] * np.outer(vectors[:, -1], vectors[:, -1])
            filled = np.where(off, target, rank_one)
        values, vectors = np.linalg.eigh(filled)
        skill = np.sqrt(max(values[-1], 0.0)) * vectors[:, -1]
        skill = skill if skill.sum() >= 0 else -skill
        self.accuracy_ = np.clip((1 + (k - 1) * skill) / k, 0.01, 0.99)
        hot = _one_hot(self.codes_, k)
        log_right, log_wrong = np.log(self.accuracy_), np.log((1 - self.accuracy_) / (k - 1))
        log_like = np.einsum("ijk,j->ik", hot, log_right - log_wrong) + (answered @ log_wrong)[:, None]
        log_like -= log_like.max(axis=1, keepdims=True)
        posterior = np.exp(log_like)
        self.posterior_ = posterior / posterior.sum(axis=1, keepdims=True)
        return self

    def correctness(self) -> np.ndarray:
        """``(n, m)`` estimate, NaN where the model gave no answer."""
        return _answer_probability(self.posterior_, self.codes_)


#: Estimator names, as CASCAL's ``correctness`` parameter and the routers take them.
ESTIMATORS = {
    "majority": MajorityVote,
    "dawid-skene": lambda: DawidSkene("full"),
    "one-coin": lambda: DawidSkene("one-coin"),
    "spectral": SpectralOneCoin,
}


def estimate_correctness(choices: np.ndarray, groups: np.ndarray, method: str) -> tuple[np.ndarray, np.ndarray]:
    """Fit an estimator on each group of queries (e.g. each subject) separately.

    Parameters
    ----------
    choices : array of shape (n, m)
        Answer letters; None where a model gave no answer.
    groups : array of shape (n,)
        Group of each query.
    method : str
        A name of :data:`ESTIMATORS`.

    Returns
    -------
    correctness : array of shape (n, m)
        ``P(model j is right on query i)``, NaN where it gave no answer.
    confidence : array of shape (n,)
        The posterior of each query's most likely letter (how sure the estimator is of it).
    """
    if method not in ESTIMATORS:
        raise ValueError(f"unknown estimator {method!r}; choose one of {sorted(ESTIMATORS)}")
    choices = np.asarray(choices, dtype=object)
    groups = np.asarray(groups)
    if len(groups) != len(choices):
        raise ValueError(f"{len(groups)} groups for {len(choices)} queries")
    correctness = np.full(choices.shape, np.nan)
    confidence = np.zeros(len(choices))
    for group in dict.fromkeys(groups.tolist()):
        rows = np.flatnonzero(groups == group)
        estimator = ESTIMATORS[method]().fit(choices[rows])
        correctness[rows] = estimator.correctness()
        confidence[rows] = estimator.posterior_.max(axis=1)
    return correctness, confidence


def correctness_quality(estimate: np.ndarray, correct: np.ndarray, n_bins: int = 10) -> dict:
    """How well an ``(n, m)`` correctness estimate predicts true correctness (for evaluation:
    the labels are read here, never by the estimators).

    Parameters
    ----------
    estimate : array of shape (n, m)
        Estimated probabilities; NaN entries (no answer) are left out.
    correct : array of shape (n, m)
        True correctness (bool; entries where ``estimate`` is NaN are ignored).
    n_bins : int, default 10
        Equal-width bins of the expected calibration error.

    Returns
    -------
    dict
        ``auroc`` (NaN when only one class is present), ``ece`` (expected calibration error:
        the mean |estimate - accuracy| over bins, weighted by their counts), ``brier`` and
        ``n`` (entries scored).
    """
    from sklearn.metrics import roc_auc_score

    estimate = np.asarray(estimate, dtype=float)
    keep = ~np.isnan(estimate)
    p, y = estimate[keep], np.asarray(correct, dtype=bool)[keep]
    if p.size == 0:
        return {"auroc": np.nan, "ece": np.nan, "brier": np.nan, "n": 0}
    auroc = float(roc_auc_score(y, p)) if 0 < y.sum() < y.size else np.nan
    bins = np.minimum((p * n_bins).astype(int), n_bins - 1)
    ece = sum(abs(p[bins == b].mean() - y[bins == b].mean()) * (bins == b).sum()
              for b in np.unique(bins)) / p.size
    return {"auroc": auroc, "ece": float(ece), "brier": float(np.mean((p - y) ** 2)), "n": int(p.size)}
