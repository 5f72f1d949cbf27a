"""LLMRank (Agrawal & Gupta 2025, "LLMRank: Understanding LLM Strengths for Model Routing",
arXiv 2510.01234), the paper's feature-based query-answer baseline (its list of routers compared).

The published method has three parts: prompt features, a neural ranking network that scores
every pool model's utility from them, and a hybrid training objective that adds a pointwise
utility regression to a listwise ranking term (the KL divergence between the softmax of the
true utilities and that of the predicted ones). Its utility is correctness minus ``λ`` times
cost; routing takes the model of highest predicted utility.

What this implementation keeps and what it cannot (the authors' code and feature prompts are
not published; the method is taken from the paper's abstract and summary):

* **kept**: one shared network (one hidden ReLU layer) mapping a query's features to a utility
  per model; the hybrid loss ``α · MSE + (1 − α) · KL(softmax(u / τ) ‖ softmax(s))``; the
  utility as correctness (against the train label, so generated answers on generated data)
  minus ``cost_weight`` times a cost, ``cost_weight = 0`` by default (the performance variant,
  as the study compares accuracy and draws cost curves separately); seeded initialisation and
  mini-batches (Adam).
* **differs**: the human-readable features (task type, reasoning patterns, complexity,
  syntactic cues) are extracted by an LLM in the paper; here the features are those every
  router of the study reads: the query's L2-normalised embedding and its subject (the task
  type) one-hot. The proxy-solver signal (a small model's answer to the prompt) is left out:
  it would make routing pay for a model call, which no other router of the study does.
"""

from __future__ import annotations

import numpy as np

from .base import Router, RoutingData, unit_norm
from .kmeans import one_thread


def _softmax(x: np.ndarray) -> np.ndarray:
    """Row-wise softmax."""
    shifted = np.exp(x - x.max(axis=1, keepdims=True))
    return shifted / shifted.sum(axis=1, keepdims=True)


class LLMRankRouter(Router):
    """A neural ranker of the pool models per query trained on a pointwise plus listwise loss.

    Parameters
    ----------
    hidden : int, default 64
        Width of the hidden layer.
    alpha : float, default 0.5
        Weight of the pointwise regression (``1 − alpha``: the listwise KL term).
    temperature : float, default 0.1
        Temperature of the target distribution ``softmax(u / temperature)``.
    cost_weight : float, default 0.0
        ``λ`` of the utility ``correct − λ · cost``; with costs absent (the study), 0.
    epochs : int, default 100
        Passes over the train queries.
    batch_size : int, default 64
    learning_rate : float, default 0.01
        Adam's step size.
    l2 : float, default 1e-4
        Weight decay of the weights.
    random_state : int, default 0
        Seed of the initialisation, the mini-batch order and the rank tie-break.

    Attributes
    ----------
    models_ : list of str
    subjects_ : list of str
        The train subjects, in feature order (an unseen subject has an all-zero one-hot).
    weights_ : tuple of arrays
        ``(W1, b1, W2, b2)`` of the network.
    losses_ : array of shape (epochs,)
        Mean training loss per epoch.
    """

    family = "query-answer"
    uses_labels = True

    def __init__(self, hidden: int = 64, alpha: float = 0.5, temperature: float = 0.1,
                 cost_weight: float = 0.0, epochs: int = 100, batch_size: int = 64,
                 learning_rate: float = 0.01, l2: float = 1e-4, random_state: int = 0) -> None:
        self.hidden = hidden
        self.alpha = alpha
        self.temperature = temperature
        self.cost_weight = cost_weight
        self.epochs = epochs
        self.batch_size = batch_size
        self.learning_rate = learning_rate
        self.l2 = l2
        self.random_state = random_state

    def _features(self, data: RoutingData) -> np.ndarray:
        """``(n, d + S)``: the unit-norm embedding and the subject one-hot."""
        one_hot = (np.asarray(data.subjects, dtype=object)[:, None]
                   == np.asarray(self.subjects_, dtype=object)[None, :]).astype(float)
        return np.hstack([unit_norm(data.embeddings), one_hot])

    def _forward(self, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        w1, b1, w2, b2 = self.weights_
        hidden = np.maximum(x @ w1 + b1, 0.0)
        return hidden, hidden @ w2 + b2

    def fit(self, train: RoutingData, costs: np.ndarray | None = None) -> LLMRankRouter:
        """Train the network on the train utilities; return ``self``.

        Parameters
        ----------
        train : RoutingData
            Labelled train queries.
        costs : array of shape (n, m), optional
            Cost of each (query, model); only read when ``cost_weight`` is not 0.
        """
        self._check_train(train)
        if not 0 <= self.alpha <= 1 or self.temperature <= 0 or self.hidden < 1:
            raise ValueError(f"need 0 <= alpha <= 1, temperature > 0 and hidden >= 1, got "
                             f"{self.alpha}, {self.temperature}, {self.hidden}")
        utility = train.correct().astype(float)
        if self.cost_weight:
            if costs is None:
                raise ValueError("cost_weight is not 0: pass the train costs to fit")
            utility = utility - self.cost_weight * np.asarray(costs, dtype=float)
        self.models_ = list(train.models)
        self.subjects_ = sorted(set(train.subjects))
        x = self._features(train)
        rng = np.random.default_rng(self.random_state)
        n, d = x.shape
        m = train.n_models
        self.weights_ = (rng.normal(0, np.sqrt(2 / d), (d, self.hidden)), np.zeros(self.hidden),
                         rng.normal(0, np.sqrt(1 / self.hidden), (self.hidden, m)),
                         np.full(m, utility.mean()))
        target = _softmax(utility / self.temperature)
        moments = [(np.zeros_like(w), np.zeros_like(w)) for w in self.weights_]
        losses, step = [], 0
        # thousands of products of a batch by a small layer: BLAS threads only wait on each other
        # (and on other processes for a core; perf/router_threads.py)
        with one_thread("blas"):
            for _ in range(self.epochs):
                order, total = rng.permutation(n), 0.0
                for start in range(0, n, self.batch_size):
                    rows = order[start:start + self.batch_size]
                    grads, loss = self._gradients(x[rows], utility[rows], target[rows])
                    total += loss * len(rows)
                    step += 1
                    self.weights_, moments = self._adam(grads, moments, step)
                losses.append(total / n)
        self.losses_ = np.asarray(losses)
        return self

    def _gradients(self, x: np.ndarray, utility: np.ndarray, target: np.ndarray
                   ) -> tuple[list[np.ndarray], float]:
        """Gradients of the hybrid loss (mean over the batch) and the loss itself."""
        w1, _, w2, _ = self.weights_
        hidden, scores = self._forward(x)
        predicted = _softmax(scores)
        b, m = scores.shape
        mse = ((scores - utility) ** 2).mean()
        kl = (target * (np.log(np.clip(target, 1e-12, None))
                        - np.log(np.clip(predicted, 1e-12, None)))).sum(axis=1).mean()
        d_scores = (self.alpha * 2 * (scores - utility) / m
                    + (1 - self.alpha) * (predicted - target)) / b
        d_hidden = (d_scores @ w2.T) * (hidden > 0)
        grads = [x.T @ d_hidden + self.l2 * w1, d_hidden.sum(axis=0),
                 hidden.T @ d_scores + self.l2 * w2, d_scores.sum(axis=0)]
        return grads, float(self.alpha * mse + (1 - self.alpha) * kl)

    def _adam(self, grads: list[np.ndarray], moments: list[tuple[np.ndarray, np.ndarray]],
              step: int, beta1: float = 0.9, beta2: float = 0.999
              ) -> tuple[tuple[np.ndarray, ...], list[tuple[np.ndarray, np.ndarray]]]:
        """One Adam update of every weight."""
        weights, updated = [], []
        for w, g, (mean, var) in zip(self.weights_, grads, moments):
            mean = beta1 * mean + (1 - beta1) * g
            var = beta2 * var + (1 - beta2) * g ** 2
            corrected = (mean / (1 - beta1 ** step)) / (np.sqrt(var / (1 - beta2 ** step)) + 1e-8)
            weights.append(w - self.learning_rate * corrected)
            updated.append((mean, var))
        return tuple(weights), updated

    def scores(self, data: RoutingData) -> np.ndarray:
        """``(n, m)`` predicted utility of each model."""
        self._check_models(data)
        return self._forward(self._features(data))[1]
