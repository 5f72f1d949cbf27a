"""The bloc-aware vote router on a planted world with a correlated minority, and its place in
the study's router registry."""

from __future__ import annotations

import numpy as np
import pytest

from rgd_utils.evaluation import routed_accuracy
from rgd_utils.router_sets import baseline_routers, router_family
from rgd_utils.routers import BlocVoteRouter, ConsensusKNNRouter, RoutingData
from rgd_utils.routers.bloc import bloc_vote_posterior

LETTERS = np.array(list("ABCD"), dtype=object)


def bloc_world(n: int, seed: int) -> tuple[RoutingData, np.ndarray]:
    """Six models on 4-option questions in two clusters: models 0-1 copy one weak base
    (accuracy 0.45, shared wrong letters) and model 2 half-copies it; model 3 is right 0.85 on
    cluster 0 and 0.5 on cluster 1, model 4 the reverse, model 5 is right 0.5 everywhere.
    Returns the data and each query's cluster."""
    rng = np.random.default_rng(seed)
    cluster = rng.integers(2, size=n)
    truth = rng.integers(4, size=n)
    accuracy = np.array([[0.45, 0.45, 0.45, 0.85, 0.5, 0.5], [0.45, 0.45, 0.45, 0.5, 0.85, 0.5]])
    right = rng.random((n, 6)) < accuracy[cluster]
    codes = np.where(right, truth[:, None], (truth[:, None] + rng.integers(1, 4, (n, 6))) % 4)
    codes[:, 1] = codes[:, 0]
    half = rng.random(n) < 0.5
    codes[half, 2] = codes[half, 0]
    embeddings = np.eye(4)[cluster] + 0.3 * rng.normal(size=(n, 4))
    data = RoutingData([f"m{j}" for j in range(6)], embeddings,
                       np.array(["s"] * n, dtype=object), LETTERS[codes],
                       rng.normal(size=(n, 6)), labels=LETTERS[truth])
    return data, cluster


(TRAIN, _), (TEST, TEST_CLUSTER) = bloc_world(3000, 0), bloc_world(1000, 1)


def test_it_finds_the_bloc_and_routes_to_each_clusters_expert() -> None:
    router = BlocVoteRouter().fit(TRAIN.without_labels())
    assert router.blocs_[0] == router.blocs_[1] == router.blocs_[2]
    assert len(set(router.blocs_[3:])) == 3 and router.blocs_[3] != router.blocs_[0]
    assert np.mean(router.route(TEST)[:, 0] == 3 + TEST_CLUSTER) > 0.8
    ours = routed_accuracy(router.scores(TEST), TEST)
    consensus = routed_accuracy(ConsensusKNNRouter().fit(TRAIN.without_labels()).scores(TEST), TEST)
    assert ours > 0.75 and ours > consensus + 0.2  # consensus follows the bloc


def test_it_declares_its_family() -> None:
    # label blindness: tests/test_baseline_routers.py::test_query_only_routers_never_read_labels
    assert BlocVoteRouter.uses_labels is False and BlocVoteRouter.family == "query-only"


def test_one_vote_per_bloc_by_hand() -> None:
    # three models: 0 and 1 a bloc saying A, model 2 alone saying B; equal accuracies
    codes = np.array([[0, 0, 1]])
    posterior = bloc_vote_posterior(codes, 4, np.full(3, 0.7), np.array([0, 0, 1]))
    assert posterior[0, 0] == pytest.approx(posterior[0, 2])  # the bloc counts once
    assert posterior[0, 0] == posterior[0, 1] < 0.5
    alone = bloc_vote_posterior(codes, 4, np.full(3, 0.7), np.array([0, 0, 1]), exclude_own_bloc=True)
    assert alone[0, 0] == pytest.approx(0.1) and alone[0, 2] == pytest.approx(0.1)


def test_it_is_a_query_only_router_of_the_study() -> None:
    routers = baseline_routers()(TRAIN)
    assert isinstance(routers["bloc-vote"], BlocVoteRouter)
    assert router_family("bloc-vote") == "query-only"
