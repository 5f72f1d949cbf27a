"""Is the label-free consensus score a signal of correctness? Notebook 06's views of it.

Every score is computed without labels; the labels of the data are read only to evaluate it:
:func:`consensus_calibration` pairs each answer's score with its correctness,
:func:`reliability_curve` and :func:`consensus_auroc` summarise them, and
:func:`estimator_quality` compares the consensus with the label-free correctness estimators.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from sklearn.metrics import roc_auc_score

from .consensus import RobustZ, consensus_from_confidence
from .evaluation import bootstrap_interval
from .label_free import ESTIMATORS, correctness_quality, estimate_correctness
from .routers import RoutingData


def consensus_calibration(data: RoutingData, version: str = "softmax",
                          random_state: int = 0) -> pd.DataFrame:
    """Each answer's label-free consensus score beside its correctness against the labels.

    The consensus scores are CASCAL's (:func:`rgd_utils.consensus.consensus_from_confidence`,
    z-scaler fitted on ``data.confidence`` as CASCAL's fit does); the labels are read only to
    evaluate them.

    Parameters
    ----------
    data : RoutingData
        Labelled queries (e.g. the real train split).
    version : {"softmax", "sum"}, default "softmax"
        Consensus version.
    random_state : int, default 0
        Seed of the replacement of answers outside A–T.

    Returns
    -------
    pandas.DataFrame
        One row per answered (query, model): ``qid, subject, model, consensus, correct``.
    """
    consensus = consensus_from_confidence(data.choices, data.confidence,
                                          RobustZ().fit(data.confidence), version, random_state)
    rows, cols = np.nonzero(~np.isnan(consensus))
    qids = data.qids if data.qids is not None else np.arange(data.n_queries)
    return pd.DataFrame({
        "qid": np.asarray(qids, dtype=object)[rows], "subject": data.subjects[rows],
        "model": np.asarray(data.models, dtype=object)[cols],
        "consensus": consensus[rows, cols], "correct": data.correct()[rows, cols],
    })


def reliability_curve(calibration: pd.DataFrame, n_bins: int = 10) -> pd.DataFrame:
    """Accuracy of the answers per consensus-score bin (equal-count bins).

    The consensus score is compressed (paper §5.2), so the bins are quantiles rather than
    equal widths; tied quantiles merge, so there may be fewer than ``n_bins`` bins. Scores with at
    most ``n_bins`` distinct values get one bin per value.

    Parameters
    ----------
    calibration : pandas.DataFrame
        :func:`consensus_calibration` rows (at least one).
    n_bins : int, default 10
        Most bins.

    Returns
    -------
    pandas.DataFrame
        One row per bin: ``bin, consensus`` (mean score), ``accuracy, n, low, high`` (95%
        bootstrap interval of the accuracy).
    """
    values = calibration["consensus"].to_numpy(float)
    if len(np.unique(values)) <= n_bins:
        bins = values
    else:
        edges = np.unique(np.quantile(values, np.linspace(0, 1, n_bins + 1)))
        bins = np.clip(np.searchsorted(edges, values, side="right") - 1, 0, len(edges) - 2)
    bins = np.unique(bins, return_inverse=True)[1]  # consecutive numbers, in score order
    rows = []
    for b in range(bins.max() + 1):
        correct = calibration["correct"].to_numpy(bool)[bins == b]
        low, high = bootstrap_interval(correct)
        rows.append({"bin": b, "consensus": float(values[bins == b].mean()),
                     "accuracy": float(correct.mean()), "n": int(correct.size),
                     "low": low, "high": high})
    return pd.DataFrame(rows)


#: The label-free correctness estimates compared by :func:`estimator_quality`: CASCAL's
#: consensus score first (the reference), then :data:`rgd_utils.label_free.ESTIMATORS`.
CONSENSUS_ESTIMATE = "consensus (CASCAL)"


def estimator_quality(data: RoutingData, n_boot: int = 200, random_state: int = 0) -> pd.DataFrame:
    """How well each label-free estimate predicts correctness, against CASCAL's consensus.

    Every estimate is computed without labels (CASCAL's consensus score, and each estimator of
    :data:`rgd_utils.label_free.ESTIMATORS` fitted per subject); the labels of ``data`` are read
    only to score them.

    Parameters
    ----------
    data : RoutingData
        Labelled queries (e.g. the real train split).
    n_boot : int, default 200
        Bootstrap resamples of the queries for the AUROC difference.
    random_state : int, default 0
        Seed of the consensus and of the bootstrap.

    Returns
    -------
    pandas.DataFrame
        One row per estimate: ``estimate, auroc, ece, brier, n`` (answered pairs), and
        ``auroc_gain, gain_low, gain_high``: its AUROC minus the consensus score's, with a 95%
        paired bootstrap interval over queries (0 for the consensus row itself). ECE and Brier
        treat the consensus score as a probability, which it is not (softmax over 20 letters).
    """
    correct = data.correct()
    estimates = {CONSENSUS_ESTIMATE: consensus_from_confidence(
        data.choices, data.confidence, RobustZ().fit(data.confidence), "softmax", random_state)}
    estimates.update({name: estimate_correctness(data.choices, data.subjects, name)[0]
                      for name in ESTIMATORS})
    rng = np.random.default_rng(random_state)
    samples = [rng.integers(data.n_queries, size=data.n_queries) for _ in range(n_boot)]

    def auroc(estimate: np.ndarray, rows: np.ndarray) -> float:
        p, y = estimate[rows].ravel(), correct[rows].ravel()
        keep = ~np.isnan(p)
        return float(roc_auc_score(y[keep], p[keep])) if 0 < y[keep].sum() < keep.sum() else np.nan

    reference = [auroc(estimates[CONSENSUS_ESTIMATE], rows) for rows in samples]
    base = correctness_quality(estimates[CONSENSUS_ESTIMATE], correct)["auroc"]
    out = []
    for name, estimate in estimates.items():
        quality = correctness_quality(estimate, correct)
        gains = np.array([auroc(estimate, rows) - ref for rows, ref in zip(samples, reference)])
        low, high = np.nanpercentile(gains, [2.5, 97.5]) if np.isfinite(gains).any() else (np.nan, np.nan)
        out.append({"estimate": name, **quality, "auroc_gain": quality["auroc"] - base,
                    "gain_low": float(low), "gain_high": float(high)})
    return pd.DataFrame(out)


def consensus_auroc(calibration: pd.DataFrame) -> float:
    """AUROC of the consensus score as a predictor of correctness (0.5: no signal).

    Returns
    -------
    float
        :func:`sklearn.metrics.roc_auc_score`; NaN when every answer is right or every one
        wrong (undefined).
    """
    correct = calibration["correct"].to_numpy(bool)
    if correct.all() or not correct.any():
        return float("nan")
    return float(roc_auc_score(correct, calibration["consensus"].to_numpy(float)))
