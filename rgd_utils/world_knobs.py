"""The knobs of the consensus-routing map, measured on any pool's labelled answers.

The same function measures a simulated world and a real pool, so that both can be placed on one
map (:mod:`rgd_utils.sim_map`). Labels are read here (this is evaluation, not routing):

* ``niche_strength``: how much each model's accuracy varies across subjects beyond the pool's
  and the subject's overall levels, in logits: the standard deviation of the model × subject
  interaction of the logit accuracies, less the binomial noise of each cell;
* ``error_correlation``: how often two models that are both wrong pick the same wrong answer,
  beyond chance (``(P(same | both wrong) - 1/(K - 1)) / (1 - 1/(K - 1))``, over the model pairs);
* ``bloc_share``: share of the pool in its largest bloc of models that agree beyond their skills
  (:func:`rgd_utils.pool_structure.find_blocs`, label-free);
* ``confidence_auroc``: within each model, how well its confidence separates its right answers
  from its wrong ones (mean over models);
* ``skill_rank_agreement``: Kendall's tau between the models' accuracies and the skills the
  one-coin model reads from their agreement alone (what any majority-based, label-free estimate
  believes): near 1 when agreement reveals skill, negative when a correlated majority looks
  skilled;
* ``best_accuracy`` and ``mean_accuracy`` of the pool's models.
"""

from __future__ import annotations

import numpy as np
from scipy.stats import kendalltau
from sklearn.metrics import roc_auc_score

from .pool_structure import agreement_beyond_chance, answered_mask, find_blocs, rank_one_skills
from .routers.base import RoutingData

#: Fewest queries of a subject for it to count in the niche strength.
MIN_SUBJECT_QUERIES = 20


def niche_strength(correct: np.ndarray, subjects: np.ndarray,
                   min_queries: int = MIN_SUBJECT_QUERIES) -> float:
    """SD of the model × subject interaction of logit accuracy, net of binomial noise.

    Parameters
    ----------
    correct : bool array of shape (n, m)
    subjects : array of shape (n,)
    min_queries : int
        Subjects with fewer queries are left out.

    Returns
    -------
    float
        0 when the noise explains the whole variation; NaN with fewer than two subjects.
    """
    names, counts = np.unique(subjects, return_counts=True)
    kept = names[counts >= min_queries]
    if len(kept) < 2:
        return float("nan")
    n = np.array([np.sum(subjects == s) for s in kept], dtype=float)[:, None]
    accuracy = np.array([correct[subjects == s].mean(axis=0) for s in kept])
    p = (accuracy * n + 0.5) / (n + 1)  # keeps the logit finite
    logit = np.log(p / (1 - p))
    interaction = logit - logit.mean(axis=0) - logit.mean(axis=1, keepdims=True) + logit.mean()
    s, m = logit.shape
    noise = np.mean(1 / (n * p * (1 - p)))
    variance = interaction.var() * s * m / ((s - 1) * (m - 1)) - noise
    return float(np.sqrt(max(variance, 0.0)))


def error_correlation(choices: np.ndarray, labels: np.ndarray,
                      n_options: np.ndarray | int) -> float:
    """Chance-corrected agreement of wrong answers, pooled over every pair of models."""
    choices = np.asarray(choices, dtype=object)
    n, m = choices.shape
    chance = 1.0 / (np.broadcast_to(np.asarray(n_options, dtype=float), (n,)) - 1)
    wrong = answered_mask(choices) & (choices != np.asarray(labels, dtype=object)[:, None])
    same, expected, count = 0.0, 0.0, 0
    for i in range(m):
        for j in range(i + 1, m):
            both = wrong[:, i] & wrong[:, j]
            same += np.sum(choices[both, i] == choices[both, j])
            expected += chance[both].sum()
            count += both.sum()
    if count == 0:
        return float("nan")
    agree, c = same / count, expected / count
    return float((agree - c) / (1 - c))


def confidence_auroc(confidence: np.ndarray, correct: np.ndarray) -> float:
    """Mean over models of the AUROC of the confidence for correctness (0.5: no signal), each over
    the queries the model answered (a query it left unanswered has a NaN confidence)."""
    values = []
    for j in range(correct.shape[1]):
        answered = np.isfinite(confidence[:, j])
        right = correct[answered, j]
        if 0 < right.sum() < len(right):
            values.append(roc_auc_score(right, confidence[answered, j]))
    return float(np.mean(values)) if values else float("nan")


def measure_knobs(data: RoutingData, n_options: np.ndarray | int,
                  min_queries: int = MIN_SUBJECT_QUERIES) -> dict[str, float]:
    """The map's pool knobs measured on labelled answers (module docstring).

    Parameters
    ----------
    data : RoutingData
        Labelled queries (e.g. a real train split).
    n_options : int or array of shape (n,)
        Options of each query.
    min_queries : int
        Fewest queries per subject for the niche strength.

    Returns
    -------
    dict
        ``niche_strength, error_correlation, bloc_share, confidence_auroc,
        skill_rank_agreement, best_accuracy, mean_accuracy``.
    """
    if data.labels is None:
        raise ValueError("measure_knobs needs labelled data (it measures, it does not route)")
    correct = data.correct()
    answered = answered_mask(data.choices)
    confidence = np.where(answered, np.nan_to_num(data.confidence, nan=-np.inf), -np.inf)
    agreement = agreement_beyond_chance(data.choices, n_options)
    blocs = find_blocs(agreement)
    accuracy = correct.mean(axis=0)
    return {
        "niche_strength": niche_strength(correct, data.subjects, min_queries),
        "error_correlation": error_correlation(data.choices, data.labels, n_options),
        "bloc_share": float(np.bincount(blocs).max() / data.n_models),
        "confidence_auroc": confidence_auroc(confidence, correct),
        "skill_rank_agreement": float(kendalltau(rank_one_skills(agreement), accuracy).statistic),
        "best_accuracy": float(accuracy.max()),
        "mean_accuracy": float(correct.mean()),
    }
