"""CASCAL-DS and the label-free kNN router: where most models err alike, estimators that weigh
models by their learned reliability route better than the majority's consensus."""

from __future__ import annotations

import numpy as np
import pytest

from rgd_utils.evaluation import routed_accuracy
from rgd_utils.routers import CASCAL, ConsensusKNNRouter, LabelFreeKNNRouter, RoutingData

LETTERS = np.array(list("ABCD"), dtype=object)


def biased_pool(n_per_subject: int = 300, seed: int = 0) -> RoutingData:
    """Two subjects in separate regions of a 8-D space. Models 0 and 1 are honest specialists
    (right 85% of the time on their own subject, 40% on the other), model 2 is honest and
    weak (40%); models 3-5 answer "A" whatever the question, so "A" is the most frequent
    answer on most queries. (Three informative models: with two, no label-free estimator can
    tell which of them is right when they disagree.)"""
    rng = np.random.default_rng(seed)
    n = 2 * n_per_subject
    subject = np.repeat([0, 1], n_per_subject)
    embeddings = np.eye(8)[subject * 4] + rng.normal(0, 0.2, (n, 8))
    truth = rng.integers(4, size=n)
    p_right = np.where(subject[:, None] == np.arange(3)[None, :], 0.85, 0.4)
    right = rng.random((n, 3)) < p_right
    wrong = (truth[:, None] + rng.integers(1, 4, (n, 3))) % 4
    honest = np.where(right, truth[:, None], wrong)
    codes = np.concatenate([honest, np.zeros((n, 3), dtype=int)], axis=1)
    confidence = rng.normal(-1.0, 0.2, codes.shape)
    return RoutingData([f"m{j}" for j in range(6)], embeddings, np.array(["s0", "s1"])[subject],
                       LETTERS[codes], confidence, labels=LETTERS[truth])


def test_cascal_ds_routes_to_the_specialists_where_consensus_follows_the_biased_majority() -> None:
    train, test = biased_pool(seed=1).without_labels(), biased_pool(seed=2)
    consensus = routed_accuracy(CASCAL().fit(train).scores(test), test, k=1)
    ds = CASCAL(correctness="dawid-skene").fit(train)
    accuracy = routed_accuracy(ds.scores(test), test, k=1)
    assert accuracy > 0.75 and accuracy > consensus + 0.2, (accuracy, consensus)
    # its clusters rank the subject's specialist first
    for centroid in ds.centroids_:
        assert int(np.argmax(centroid.scores)) == int(centroid.subject[-1])


def test_label_free_knn_against_consensus_knn() -> None:
    train, test = biased_pool(seed=1).without_labels(), biased_pool(seed=2)
    consensus = routed_accuracy(ConsensusKNNRouter().fit(train).scores(test), test, k=1)
    accuracy = routed_accuracy(LabelFreeKNNRouter("dawid-skene").fit(train).scores(test), test, k=1)
    assert accuracy > 0.55 and accuracy > consensus + 0.2, (accuracy, consensus)  # 0.64 vs 0.26


def test_estimators_are_named_and_checked() -> None:
    train = biased_pool(50).without_labels()
    with pytest.raises(ValueError, match="correctness must be"):
        CASCAL(correctness="oracle").fit(train)
    with pytest.raises(ValueError, match="unknown estimator"):
        LabelFreeKNNRouter("oracle").fit(train)
    for name in ("majority", "one-coin", "spectral"):
        scores = CASCAL(correctness=name).fit(train).scores(train)
        assert scores.shape == (100, 6) and np.isfinite(scores).all()


def test_the_default_is_unchanged() -> None:
    train, test = biased_pool(seed=1).without_labels(), biased_pool(seed=2)
    assert np.array_equal(CASCAL().fit(train).scores(test),
                          CASCAL(correctness="consensus").fit(train).scores(test))


def test_estimator_quality_table_against_the_consensus() -> None:
    from rgd_utils.consensus_quality import CONSENSUS_ESTIMATE, estimator_quality

    table = estimator_quality(biased_pool(seed=3), n_boot=50).set_index("estimate")
    assert list(table.index) == [CONSENSUS_ESTIMATE, "majority", "dawid-skene", "one-coin", "spectral"]
    assert table.loc[CONSENSUS_ESTIMATE, "auroc_gain"] == 0
    assert (table["n"] == 600 * 6).all()
    ds = table.loc["dawid-skene"]
    assert ds["auroc"] > table.loc[CONSENSUS_ESTIMATE, "auroc"] + 0.1 and ds["gain_low"] > 0
    assert table.loc["spectral", "gain_high"] < 0.05  # fooled by the three "A" models, like the majority
