"""LLMRank: a neural ranker trained on a pointwise plus listwise loss, on a planted world."""

from __future__ import annotations

import numpy as np
import pytest

from rgd_utils.evaluation import routed_accuracy
from rgd_utils.routers import LLMRankRouter, RoutingData

LETTERS = np.array(list("ABCD"), dtype=object)
ACCURACY = np.array([(0.95, 0.2, 0.5), (0.2, 0.95, 0.5)])  # cluster x model


def world(n: int, seed: int, one_subject: bool = False) -> RoutingData:
    """Query ``i`` lies near axis ``cluster_i`` of R^6; model ``j`` is right with probability
    ``ACCURACY[cluster, j]``, else a wrong letter. ``one_subject`` hides the cluster from the
    subject, so only the embedding tells it."""
    rng = np.random.default_rng(seed)
    cluster = rng.integers(2, size=n)
    label = rng.integers(4, size=n)
    right = rng.random((n, 3)) < ACCURACY[cluster]
    wrong = (label[:, None] + rng.integers(1, 4, size=(n, 3))) % 4
    return RoutingData(
        models=["m0", "m1", "m2"], embeddings=np.eye(6)[cluster] + 0.3 * rng.normal(size=(n, 6)),
        subjects=np.array(["s"] * n if one_subject else [f"s{c}" for c in cluster], dtype=object),
        choices=LETTERS[np.where(right, label[:, None], wrong)],
        confidence=np.zeros((n, 3)), labels=LETTERS[label], qids=np.arange(n))


@pytest.mark.parametrize("one_subject", [False, True])
def test_llmrank_routes_each_cluster_to_its_planted_best_model(one_subject):
    train, test = world(300, 0, one_subject), world(200, 1, one_subject)
    router = LLMRankRouter(epochs=60, random_state=0).fit(train)
    top = router.route(test, 1)[:, 0]
    cluster = test.embeddings[:, :2].argmax(axis=1)
    assert (top == cluster).mean() >= 0.95  # model 0 on cluster 0, model 1 on cluster 1
    # the planted best's accuracy is 0.95; routing reaches it (a single model: about 0.575)
    assert routed_accuracy(router.scores(test), test) == pytest.approx(0.95, abs=0.04)
    assert router.losses_[-1] < 0.8 * router.losses_[0]  # the noise leaves a floor


def test_llmrank_is_seeded():
    train, test = world(120, 0), world(50, 1)
    one = LLMRankRouter(epochs=5, random_state=1).fit(train).scores(test)
    assert np.array_equal(one, LLMRankRouter(epochs=5, random_state=1).fit(train).scores(test))
    assert not np.allclose(one, LLMRankRouter(epochs=5, random_state=2).fit(train).scores(test))


def test_llmrank_listwise_term_alone_orders_and_pointwise_alone_regresses():
    train, test = world(300, 0), world(200, 1)
    listwise = LLMRankRouter(alpha=0.0, epochs=40).fit(train)
    pointwise = LLMRankRouter(alpha=1.0, epochs=40).fit(train)
    cluster = test.embeddings[:, :2].argmax(axis=1)
    assert (listwise.route(test, 1)[:, 0] == cluster).mean() >= 0.95
    # the pointwise head estimates each model's accuracy on the cluster
    predicted = pointwise.scores(test)[cluster == 0].mean(axis=0)
    assert predicted == pytest.approx(ACCURACY[0], abs=0.1)


def test_llmrank_refuses_bad_parameters_and_cost_weight_without_costs():
    with pytest.raises(ValueError, match="alpha"):
        LLMRankRouter(alpha=2.0).fit(world(20, 0))
    with pytest.raises(ValueError, match="costs"):
        LLMRankRouter(cost_weight=0.5).fit(world(20, 0))
