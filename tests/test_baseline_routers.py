"""Reference, query-answer and query-only baseline routers."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from sklearn.exceptions import ConvergenceWarning

from rgd_utils.evaluation import oracle_accuracy, routed_accuracy
from rgd_utils.routers.base import RoutingData
from rgd_utils.routers.query_answer import (
    ClusterRouter,
    CorrectnessClassifierRouter,
    KNNRouter,
)
from rgd_utils.routers.bloc import BlocVoteRouter
from rgd_utils.routers.query_only import ConsensusKNNRouter, SmoothieRouter, triplet_errors
from rgd_utils.routers.references import (
    BestPerSubjectRouter,
    BestSingleRouter,
    OracleRouter,
    RandomRouter,
)

LETTERS = np.array(list("ABCD"), dtype=object)


def world(n: int, seed: int, accuracy=((0.9, 0.3, 0.5), (0.3, 0.9, 0.5))) -> RoutingData:
    """A planted world: query ``i`` lies near axis ``cluster_i`` of R^8 (noise 0.3); model ``j``
    answers right with probability ``accuracy[cluster][j]``, else a uniform wrong letter of A–D.
    Subjects name the cluster (``s0``, ``s1``, ...); confidence is N(0, 1) + 1 if right."""
    rng = np.random.default_rng(seed)
    accuracy = np.asarray(accuracy)
    n_clusters, m = accuracy.shape
    cluster = rng.integers(n_clusters, size=n)
    embeddings = np.eye(8)[cluster] + 0.3 * rng.normal(size=(n, 8))
    label = rng.integers(4, size=n)
    right = rng.random((n, m)) < accuracy[cluster]
    wrong = (label[:, None] + rng.integers(1, 4, size=(n, m))) % 4
    return RoutingData(
        models=[f"m{j}" for j in range(m)], embeddings=embeddings,
        subjects=np.array([f"s{c}" for c in cluster], dtype=object),
        choices=LETTERS[np.where(right, label[:, None], wrong)],
        confidence=rng.normal(size=(n, m)) + right, labels=LETTERS[label],
    )


def planted_best(data: RoutingData, accuracy=((0.9, 0.3, 0.5), (0.3, 0.9, 0.5))) -> np.ndarray:
    """``(n,)`` index of the best model of each query's cluster."""
    cluster = np.array([int(s[1:]) for s in data.subjects])
    return np.asarray(accuracy).argmax(axis=1)[cluster]


def tiny(choices, labels, subjects=None, embeddings=None) -> RoutingData:
    choices = np.asarray(choices, dtype=object)
    n, m = choices.shape
    return RoutingData(
        models=[f"m{j}" for j in range(m)],
        embeddings=np.zeros((n, 2)) if embeddings is None else embeddings,
        subjects=np.array(["s"] * n if subjects is None else subjects, dtype=object),
        choices=choices, confidence=np.zeros((n, m)), labels=np.asarray(labels, dtype=object))


TRAIN, TEST = world(200, seed=0), world(100, seed=1)


# --- references -------------------------------------------------------------------------------

def test_random_router_is_seeded_uniform_and_label_blind():
    router = RandomRouter(random_state=3).fit(TRAIN.without_labels())
    scores = router.scores(TEST)
    assert scores.shape == (100, 3) and scores.min() >= 0 and scores.max() < 1
    assert np.array_equal(scores, RandomRouter(random_state=3).fit(TRAIN).scores(TEST))
    assert not np.array_equal(scores, RandomRouter(random_state=4).fit(TRAIN).scores(TEST))
    assert not RandomRouter.uses_labels


def test_best_single_router_sends_everything_to_the_best_train_model():
    # Train accuracies 1/2, 3/4, 3/4: m1 and m2 tie, m1 wins by model order.
    train = tiny([["A", "A", "A"], ["B", "B", "B"], ["C", "C", "D"], ["A", "D", "A"]],
                 ["A", "B", "D", "D"])
    router = BestSingleRouter().fit(train)
    assert router.accuracy_ == pytest.approx([0.5, 0.75, 0.75])
    assert router.scores(train)[0] == pytest.approx([-2, 0, -1])
    assert np.array_equal(router.route(train, k=2), np.tile([1, 2], (4, 1)))


def test_best_per_subject_router_uses_subject_accuracy_and_falls_back_to_overall():
    # Subject x: m0 right twice, m1 once; subject y: m1 right once, m0 never.
    train = tiny([["A", "A"], ["B", "C"], ["D", "C"]], ["A", "B", "C"],
                 subjects=["x", "x", "y"])
    test = tiny([["A", "A"]] * 3, ["A"] * 3, subjects=["y", "x", "z"])
    scores = BestPerSubjectRouter().fit(train).scores(test)
    assert scores == pytest.approx(np.array([[0, 1], [1, 0.5], [2 / 3, 2 / 3]]))


def test_oracle_router_is_the_test_answer_key():
    router = OracleRouter().fit(TRAIN)
    assert np.array_equal(router.scores(TEST), TEST.correct().astype(float))
    assert routed_accuracy(router.scores(TEST), TEST) == pytest.approx(oracle_accuracy(TEST))


def test_a_router_refuses_data_about_other_models():
    other = tiny([["A", "A", "A"]], ["A"])
    other = RoutingData(["x", "y", "z"], other.embeddings, other.subjects, other.choices,
                        other.confidence, other.labels)
    with pytest.raises(ValueError, match="fitted on models"):
        KNNRouter().fit(TRAIN).scores(other)


# --- query-answer routers ---------------------------------------------------------------------

@pytest.mark.parametrize("router", [
    KNNRouter(), ClusterRouter(n_clusters=8), CorrectnessClassifierRouter("logistic"),
    CorrectnessClassifierRouter("mlp"),
], ids=["knn", "cluster", "logistic", "mlp"])
def test_query_answer_routers_find_each_clusters_planted_best_model(router):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        top = router.fit(TRAIN).route(TEST)[:, 0]
    assert np.mean(top == planted_best(TEST)) >= 0.9


def test_knn_scores_are_the_neighbours_mean_correctness():
    embeddings = np.array([[1, 0], [1, 0.1], [0, 1], [0.1, 1]], dtype=float)
    train = tiny([["A", "B"], ["A", "A"], ["A", "B"], ["C", "B"]], ["A", "A", "B", "B"],
                 embeddings=embeddings)
    test = tiny([["A", "A"], ["A", "A"]], ["A", "A"], embeddings=np.array([[1, 0.05], [0, 1.]]))
    # Correctness: q0 1 0, q1 1 1, q2 0 1, q3 0 1 -> near axis x: 1, 0.5; near axis y: 0, 1.
    assert KNNRouter(n_neighbors=2).fit(train).scores(test) == pytest.approx(
        np.array([[1, 0.5], [0, 1]]))


def test_cluster_router_shrinks_small_clusters_toward_global_accuracy():
    embeddings = np.array([[1, 0], [1, 0.01], [1, -0.01], [0, 1]], dtype=float)
    # m0 right on the three x-queries, m1 on the y-query only. Global: 3/4, 1/4.
    train = tiny([["A", "B"], ["A", "B"], ["A", "B"], ["A", "B"]], ["A", "A", "A", "B"],
                 embeddings=embeddings)
    router = ClusterRouter(n_clusters=2, prior=1.0).fit(train)
    x_cluster = router.kmeans_.labels_[0]
    assert sorted(router.sizes_) == [1, 3]
    assert router.accuracy_[x_cluster] == pytest.approx([(3 + 0.75) / 4, (0 + 0.25) / 4])
    assert router.accuracy_[1 - x_cluster] == pytest.approx([(0 + 0.75) / 2, (1 + 0.25) / 2])
    raw = ClusterRouter(n_clusters=2, prior=0.0).fit(train)
    test = tiny([["A", "A"]], ["A"], embeddings=np.array([[0.1, 2.0]]))
    assert raw.scores(test) == pytest.approx(np.array([[0, 1]]))
    # More clusters than distinct train embeddings: capped at 2 (two repeated points).
    repeated = tiny([["A", "B"]] * 4, ["A"] * 4, embeddings=np.array([[1, 0], [2, 0], [0, 1.],
                                                                      [0, 3]]))
    assert ClusterRouter(n_clusters=64).fit(repeated).kmeans_.n_clusters == 2


def test_classifier_router_gives_constant_scores_to_always_right_or_wrong_models():
    train = tiny([["A", "B", "A"], ["B", "A", "B"], ["C", "A", "A"], ["D", "A", "D"]],
                 ["A", "B", "C", "D"], embeddings=np.eye(4)[:, :2] + 0.1)
    router = CorrectnessClassifierRouter().fit(train)
    # m0 is always right, m1 always wrong, m2 right three times of four.
    scores = router.scores(tiny([["A"] * 3] * 3, ["A"] * 3, embeddings=np.ones((3, 2))))
    assert scores[:, 0] == pytest.approx([1.0] * 3)
    assert scores[:, 1] == pytest.approx([0.0] * 3)
    assert np.all((scores[:, 2] > 0) & (scores[:, 2] < 1))
    with pytest.raises(ValueError, match="model must be one of"):
        CorrectnessClassifierRouter(model="forest").fit(train)


# --- query-only routers -----------------------------------------------------------------------

@pytest.mark.parametrize("router_class", [ConsensusKNNRouter, SmoothieRouter, RandomRouter,
                                          BlocVoteRouter])
def test_query_only_routers_never_read_labels(router_class):
    assert router_class.uses_labels is False
    shuffled = RoutingData(TRAIN.models, TRAIN.embeddings, TRAIN.subjects, TRAIN.choices,
                           TRAIN.confidence,
                           labels=np.random.default_rng(5).permutation(TRAIN.labels))
    reference = router_class().fit(TRAIN).scores(TEST)
    assert np.array_equal(router_class().fit(shuffled).scores(TEST), reference)
    assert np.array_equal(router_class().fit(TRAIN.without_labels()).scores(TEST), reference)


def test_consensus_knn_fits_its_scaler_on_train_and_finds_the_planted_best():
    router = ConsensusKNNRouter(n_neighbors=20).fit(TRAIN.without_labels())
    assert router.scaler_.median_ == pytest.approx(np.median(TRAIN.confidence, axis=0))
    assert np.mean(router.route(TEST)[:, 0] == planted_best(TEST)) >= 0.9


def test_triplet_errors_by_hand():
    choices = np.array([["A", "A", "B"], ["A", "B", "C"], ["A", None, "A"], [None, None, "A"]],
                       dtype=object)
    # A,A,B: D01=0, D02=D12=2 -> (0+2-2)/2, (0+2-2)/2, (2+2-0)/2. All differ -> 1 each.
    # A,-,A: the missing answer disagrees with both. -,-,A: two missing answers disagree too.
    assert triplet_errors(choices) == pytest.approx(
        np.array([[0, 0, 2], [1, 1, 1], [0, 2, 0], [1, 1, 1]]))
    # Four models A,A,A,B: model 3 disagrees with every agreeing pair -> 2; the others 0.
    four = np.array([["A", "A", "A", "B"]], dtype=object)
    assert triplet_errors(four) == pytest.approx(np.array([[0, 0, 0, 2]]))
    with pytest.raises(ValueError, match="at least 3 models"):
        triplet_errors(np.array([["A", "B"]], dtype=object))


def test_smoothie_matches_the_closed_form_in_a_large_world():
    # Accuracies 0.9, 0.4, 0.4, wrong letters collide with probability 1/3:
    # P(a != b) = 1 - p_a p_b - (1 - p_a)(1 - p_b)/3 -> 0.62 (m0 vs m1 or m2), 0.72 (m1 vs m2);
    # delta_0 = 0.62 + 0.62 - 0.72 = 0.52, delta_1 = delta_2 = 0.72; scores 1 - delta/2.
    accuracy = ((0.9, 0.4, 0.4),)
    train = world(4000, seed=2, accuracy=accuracy)
    router = SmoothieRouter(n_neighbors=4000).fit(train.without_labels())
    assert router.scores(world(3, seed=3, accuracy=accuracy))[0] == pytest.approx(
        [0.74, 0.64, 0.64], abs=0.02)


def test_smoothie_recovers_the_model_that_agrees_with_the_truth_more_often():
    # One model right 90% of the time, three right 50%: no labels, only agreement.
    accuracy = ((0.9, 0.5, 0.5, 0.5),)
    router = SmoothieRouter(n_neighbors=50).fit(world(300, 4, accuracy).without_labels())
    assert np.mean(router.route(world(100, 5, accuracy))[:, 0] == 0) >= 0.9
    # Two clusters with a different 90% model each (the other is 30% there).
    accuracy = ((0.9, 0.3, 0.5, 0.5), (0.3, 0.9, 0.5, 0.5))
    router = SmoothieRouter(n_neighbors=40).fit(world(400, 6, accuracy).without_labels())
    test = world(100, 7, accuracy)
    assert np.mean(router.route(test)[:, 0] == planted_best(test, accuracy)) >= 0.9
