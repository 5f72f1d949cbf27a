"""Consensus among the pool: robust z-scores, vote weights, consensus scores (paper §5.1–5.3).

The pipeline for one split of queries is

1. :class:`RobustZ` turns each model's confidence (e.g. its mean token log-probability) into a
   z-score with that model's median and 1.4826·MAD, learned on the **train** split and reused on
   any other split (§5.1);
2. :func:`confidence_weights` maps z to a vote weight ``clip(sigmoid(z), 0.01, 0.99)``;
3. :func:`consensus_scores` gives every model the support of its own answer: the authors' code
   takes a softmax over the 20 letters A–T of the summed weights (default), the paper's figure the
   plain sum (§5.2);
4. :func:`majority_agreement` is the label-free notion of "proficient" used to build CASCAL's
   skill clusters: which models gave a majority answer, and how large the majority was (§5.3).

Missing answers (None, or a float NaN as pandas writes them) never vote and get no score; see
each function for the exact rule.
"""

from __future__ import annotations

import warnings

import numpy as np
from scipy.special import expit, softmax

CLASSES: tuple[str, ...] = tuple("ABCDEFGHIJKLMNOPQRST")
"""The code's fixed 20-letter class set of the consensus softmax (the paper's §5.2)."""

_MAD_TO_STD = 1.4826


def _answered(choices: np.ndarray) -> np.ndarray:
    """``(n, m)`` bool: True where a model gave an answer (not None, not a float NaN)."""
    choices = np.asarray(choices, dtype=object)
    missing = [c is None or (isinstance(c, float) and c != c) for c in choices.ravel()]
    return ~np.array(missing, dtype=bool).reshape(choices.shape)


def _check_2d(name: str, array: np.ndarray) -> np.ndarray:
    if array.ndim != 2:
        raise ValueError(f"{name} must be 2-D (n_queries, n_models), got shape {array.shape}")
    return array


class RobustZ:
    """Per-model robust z-scores of confidence: ``z = (x - median) / (1.4826 * MAD)``.

    ``fit`` learns one location and scale per column (model) from the train split, ignoring NaN
    (no answer); ``transform`` applies them to any split (paper §5.1: the train statistics are
    reused at test time). A scale that is 0 or not finite falls back to the column's standard
    deviation, and that to 1. A column with no finite value at all keeps ``median_ = NaN``, so
    its z-scores (and hence its vote weights) are NaN / 0 everywhere.

    Attributes
    ----------
    median_ : array of shape (m,)
        Per-model median confidence.
    scale_ : array of shape (m,)
        Per-model scale (1.4826·MAD, or the fallback).
    """

    def fit(self, confidence: np.ndarray) -> RobustZ:
        """Learn per-model median and scale.

        Parameters
        ----------
        confidence : array of shape (n, m)
            Confidence of each model's answer; NaN where it gave none.

        Returns
        -------
        RobustZ
            ``self``.
        """
        x = _check_2d("confidence", np.asarray(confidence, dtype=float))
        x = np.where(np.isfinite(x), x, np.nan)
        m = x.shape[1]
        self.median_ = np.full(m, np.nan)
        self.scale_ = np.ones(m)
        for j in range(m):
            col = x[:, j][~np.isnan(x[:, j])]
            if col.size == 0:
                continue
            median = np.median(col)
            scale = _MAD_TO_STD * np.median(np.abs(col - median))
            if scale == 0 or not np.isfinite(scale):
                scale = np.std(col)
            if scale == 0 or not np.isfinite(scale):
                scale = 1.0
            self.median_[j], self.scale_[j] = median, scale
        return self

    def transform(self, confidence: np.ndarray) -> np.ndarray:
        """Z-scores with the fitted statistics.

        Parameters
        ----------
        confidence : array of shape (n, m)
            Same models (columns) as in ``fit``; NaN where a model gave no answer.

        Returns
        -------
        array of shape (n, m)
            ``(confidence - median_) / scale_``; NaN stays NaN.
        """
        if not hasattr(self, "median_"):
            raise RuntimeError("RobustZ is not fitted yet: call fit(confidence) first")
        x = _check_2d("confidence", np.asarray(confidence, dtype=float))
        if x.shape[1] != self.median_.shape[0]:
            raise ValueError(f"fitted on {self.median_.shape[0]} models, got {x.shape[1]} columns")
        return (x - self.median_) / self.scale_

    def fit_transform(self, confidence: np.ndarray) -> np.ndarray:
        """Fit on ``confidence`` and return its z-scores.

        Parameters
        ----------
        confidence : array of shape (n, m)
            Confidence of each model's answer; NaN where it gave none.

        Returns
        -------
        array of shape (n, m)
            ``fit(confidence).transform(confidence)``.
        """
        return self.fit(confidence).transform(confidence)


def confidence_weights(
    z: np.ndarray, scale: float = 1.0, clip: tuple[float, float] = (0.01, 0.99)
) -> np.ndarray:
    """Vote weights ``clip(sigmoid(scale * z), *clip)`` (the paper's §5.1).

    Parameters
    ----------
    z : array of shape (n, m)
        Robust z-scores; NaN where a model gave no answer.
    scale : float, default 1.0
        Steepness of the logistic.
    clip : (float, float), default (0.01, 0.99)
        Lower and upper clamp.

    Returns
    -------
    array of shape (n, m)
        Weights in ``[clip[0], clip[1]]``, and 0 where z is NaN (a model with no answer, or no
        confidence, casts no vote).
    """
    z = np.asarray(z, dtype=float)
    weights = np.clip(expit(scale * z), *clip)
    return np.where(np.isnan(z), 0.0, weights)


def _class_index(choices: np.ndarray, answered: np.ndarray, random_state: int) -> np.ndarray:
    """``(n, m)`` int index into :data:`CLASSES` (-1 where unanswered); answers outside A–T are
    replaced by a seeded random letter, with a warning that counts them."""
    lookup = {letter: i for i, letter in enumerate(CLASSES)}
    index = np.array([lookup.get(c, -2) if a else -1
                      for c, a in zip(choices.ravel(), answered.ravel())],
                     dtype=int).reshape(choices.shape)
    outside = index == -2
    if outside.any():
        rng = np.random.default_rng(random_state)
        index[outside] = rng.integers(len(CLASSES), size=int(outside.sum()))
        examples = sorted({repr(c) for c in choices[outside]})[:5]
        warnings.warn(f"{int(outside.sum())} answers outside A–T (e.g. {', '.join(examples)}) "
                      f"were replaced by random letters (seed {random_state}), as the authors' "
                      "code does", stacklevel=3)
    return index


def consensus_scores(
    choices: np.ndarray,
    weights: np.ndarray,
    version: str = "softmax",
    temperature: float = 1.0,
    random_state: int = 0,
) -> np.ndarray:
    """Each model's consensus score: how much weighted support its answer has (the paper's §5.2).

    Per query, ``raw_c`` is the summed weight of the models answering letter ``c``.

    - ``"softmax"`` (the authors' code, default): ``p = softmax(raw / temperature)`` over the 20
      letters of :data:`CLASSES`, and model ``j`` scores ``p(a_j)``. Scores lie in (0, 1) and are
      compressed: 6 agreeing models of weight 0.5 get ``e^3 / (e^3 + 19) ≈ 0.514``.
    - ``"sum"`` (the paper's Fig. 2A): model ``j`` scores ``raw_{a_j} = Σ_k 1[a_k = a_j] w_k``.

    Parameters
    ----------
    choices : array of shape (n, m)
        Answer letters; None (or NaN) where a model gave no answer.
    weights : array of shape (n, m)
        Vote weights (e.g. from :func:`confidence_weights`); NaN counts as 0.
    version : {"softmax", "sum"}, default "softmax"
        Code version or paper-figure version.
    temperature : float, default 1.0
        Softmax temperature τ (``"softmax"`` only).
    random_state : int, default 0
        Seed for the letters that replace answers outside A–T. The authors' code does this
        replacement unseeded; here it is seeded and each call warns with the count.

    Returns
    -------
    array of shape (n, m)
        Consensus scores; NaN where the model gave no answer (it is *not* given a random
        letter, unlike the authors' code).
    """
    if version not in ("softmax", "sum"):
        raise ValueError(f"version must be 'softmax' or 'sum', got {version!r}")
    choices = _check_2d("choices", np.asarray(choices, dtype=object))
    weights = np.nan_to_num(np.asarray(weights, dtype=float), nan=0.0)
    if weights.shape != choices.shape:
        raise ValueError(f"choices {choices.shape} and weights {weights.shape} differ in shape")
    answered = _answered(choices)
    index = _class_index(choices, answered, random_state)
    n = choices.shape[0]
    rows = np.repeat(np.arange(n), choices.shape[1])
    raw = np.zeros((n, len(CLASSES)))
    np.add.at(raw, (rows[answered.ravel()], index[answered]), weights[answered])
    support = softmax(raw / max(temperature, 1e-6), axis=1) if version == "softmax" else raw
    scores = np.take_along_axis(support, np.maximum(index, 0), axis=1)
    return np.where(answered, scores, np.nan)


def majority_agreement(choices: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Which models gave a majority answer, and the size of the majority (the paper's §5.3).

    The majority set of a query is every answer tied for the top count (missing answers are not
    answers). ``agreement = #(models whose answer is in the majority set) / M`` with ``M`` the
    number of models, so abstentions lower it. A query nobody answered has an empty majority set
    and agreement 0. Any non-missing value counts as an answer (no A–T check here).

    Parameters
    ----------
    choices : array of shape (n, m)
        Answer letters; None (or NaN) where a model gave no answer.

    Returns
    -------
    in_majority : array of shape (n, m), bool
        True where the model's answer is in the query's majority set.
    agreement : array of shape (n,), float
        Share of the ``m`` models in the majority set.
    """
    choices = _check_2d("choices", np.asarray(choices, dtype=object))
    n, m = choices.shape
    answered = _answered(choices)
    codes = np.full((n, m), -1, dtype=int)
    if answered.any():
        _, codes[answered] = np.unique(choices[answered].astype(str), return_inverse=True)
    counts = np.zeros((n, int(codes.max(initial=-1)) + 2), dtype=int)  # last column: unanswered
    np.add.at(counts, (np.repeat(np.arange(n), m), codes.ravel()), 1)
    counts[:, -1] = 0
    own_count = np.take_along_axis(counts, codes, axis=1)
    in_majority = answered & (own_count == counts.max(axis=1, keepdims=True))
    return in_majority, in_majority.sum(axis=1) / m


def consensus_from_confidence(
    choices: np.ndarray,
    confidence: np.ndarray,
    scaler: RobustZ,
    version: str = "softmax",
    random_state: int = 0,
) -> np.ndarray:
    """Consensus scores from raw confidences: z-scores → weights → :func:`consensus_scores`.

    Parameters
    ----------
    choices : array of shape (n, m)
        Answer letters; None where a model gave no answer.
    confidence : array of shape (n, m)
        Raw confidences; NaN where a model gave none.
    scaler : RobustZ
        Fitted on the train split's confidence (the same models).
    version : {"softmax", "sum"}, default "softmax"
        See :func:`consensus_scores`.
    random_state : int, default 0
        Seed for replacing answers outside A–T (see :func:`consensus_scores`).

    Returns
    -------
    array of shape (n, m)
        Consensus scores; NaN where the model gave no answer.
    """
    weights = confidence_weights(scaler.transform(confidence))
    return consensus_scores(choices, weights, version=version, random_state=random_state)
