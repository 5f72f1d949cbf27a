"""rgd_utils.evaluation: routed accuracy (top-1 and the top-k vote), references, bootstrap."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from rgd_utils.consensus import RobustZ
from rgd_utils.evaluation import (
    best_single,
    bootstrap_difference,
    bootstrap_interval,
    evaluate_router,
    oracle_accuracy,
    pool_vote_accuracy,
    pool_vote_correct,
    random_expected_accuracy,
    routed_accuracy,
    routed_choices,
    routed_correct,
    routing_shares,
)
from rgd_utils.routers.base import RoutingData
from rgd_utils.routers.references import BestSingleRouter

MODELS = ["a", "b", "c", "d"]
NAN = np.nan

# Five test queries, four models. Correctness per model:
#   q0 A,B,A,B  label A  -> 1 0 1 0      q3 -,-,D,A  label D  -> 0 0 1 0
#   q1 B,-,C,B  label C  -> 0 0 1 0      q4 -,-,-,A  label B  -> 0 0 0 0
#   q2 A,B,C,D  label A  -> 1 0 0 0
TEST = RoutingData(
    models=MODELS,
    embeddings=np.zeros((5, 2)),
    subjects=np.array(["s"] * 5, dtype=object),
    choices=np.array([["A", "B", "A", "B"], ["B", None, "C", "B"], ["A", "B", "C", "D"],
                      [None, None, "D", "A"], [None, None, None, "A"]], dtype=object),
    confidence=np.array([[-1, -1, -1, -1], [-2.5, NAN, -0.2, 0], [-1.5, -0.5, -0.6, 5],
                         [NAN, NAN, -1, 0], [NAN, NAN, NAN, 0]], dtype=float),
    labels=np.array(["A", "C", "A", "D", "B"], dtype=object),
)
# Model a ranks first except on q2, where the order is b, a, c, d; d is always last.
SCORES = np.array([[4, 3, 2, 1], [4, 3, 2, 1], [3, 4, 2, 1], [4, 3, 2, 1], [4, 3, 2, 1]], float)
# Train-fitted scaler: model a has median -2, the others 0; every scale is 1.4826 * MAD(=1).
SCALER = RobustZ().fit(np.array([[-3, -1, -1, -1], [-2, 0, 0, 0], [-1, 1, 1, 1]], dtype=float))


def _data(choices, labels) -> RoutingData:
    choices = np.asarray(choices, dtype=object)
    n, m = choices.shape
    return RoutingData(models=MODELS[:m], embeddings=np.zeros((n, 2)),
                       subjects=np.array(["s"] * n, dtype=object), choices=choices,
                       confidence=np.zeros((n, m)), labels=np.asarray(labels, dtype=object))


def test_scaler_fixture_has_the_hand_statistics():
    assert SCALER.median_ == pytest.approx([-2, 0, 0, 0])
    assert SCALER.scale_ == pytest.approx([1.4826] * 4)


def test_top1_takes_the_top_models_answer_and_none_is_wrong():
    assert list(routed_choices(SCORES, TEST, k=1)) == ["A", "B", "B", None, None]
    assert list(routed_correct(SCORES, TEST, k=1)) == [True, False, False, False, False]
    assert routed_accuracy(SCORES, TEST, k=1) == pytest.approx(0.2)


def test_top3_vote_majority_confidence_tie_break_and_missing_answers():
    # q0: A,B,A -> A (d's B would tie it). q1: B,-,C tie -> z(a)=-0.34 < z(c)=-0.13 -> C.
    # q2: b,a,c = B,A,C all differ -> z: b -0.34, a +0.34, c -0.40 -> A (raw confidence would
    # pick b, and d, most confident, is not in the top 3). q3: -,-,D -> D. q4: nobody -> None.
    choices = routed_choices(SCORES, TEST, k=3, scaler=SCALER)
    assert list(choices) == ["A", "C", "A", "D", None]
    assert routed_accuracy(SCORES, TEST, k=3, scaler=SCALER) == pytest.approx(0.8)


def test_vote_without_scaler_uses_z_scores_fitted_on_the_test_confidences():
    fitted = RobustZ().fit(TEST.confidence)
    assert list(routed_choices(SCORES, TEST, k=3)) == list(
        routed_choices(SCORES, TEST, k=3, scaler=fitted))


def test_whole_pool_vote_equals_routing_to_every_model():
    # q0 A,B,A,B tie -> z(a)=+0.67 beats -0.67 -> A. q1 -> B. q2 -> d (z 3.4) -> D.
    # q3 D (z -0.67) vs A (z 0) -> A. q4 -> A (label B).
    assert list(pool_vote_correct(TEST, SCALER)) == [True, False, False, False, False]
    assert pool_vote_accuracy(TEST, SCALER) == pytest.approx(0.2)
    assert list(routed_correct(SCORES, TEST, k=4, scaler=SCALER)) == list(
        pool_vote_correct(TEST, SCALER))


def test_a_voter_without_confidence_still_beats_non_voters():
    data = _data([["A", "B", "C"]], ["B"])
    confidence = np.array([[0.0, NAN, 9.0]])
    data = RoutingData(data.models, data.embeddings, data.subjects, data.choices, confidence,
                       data.labels)
    # All three differ; b has no confidence; the top-2 vote (a, b) must still pick a voter.
    assert list(routed_choices(np.array([[2.0, 1.0, 0.0]]), data, k=2)) == ["A"]


def test_references_by_hand():
    assert oracle_accuracy(TEST) == pytest.approx(0.8)
    assert random_expected_accuracy(TEST) == pytest.approx((0.5 + 0.25 + 0.25 + 0.25 + 0) / 5)
    # Train: b and c tie at 3/3 (a 1/3, d 0) -> b (model order); its test accuracy is 0.
    train = _data([["A", "A", "A", "B"], ["C", "B", "B", "C"], ["C", "D", "D", "A"]],
                  ["A", "B", "D"])
    assert best_single(train, TEST) == (1, 0.0)
    # Train where c is best -> its test accuracy is 3/5.
    train = _data([["B", "B", "A", "B"], ["B", "B", "C", "C"]], ["A", "C"])
    assert best_single(train, TEST) == (2, pytest.approx(0.6))


def test_bad_inputs_are_refused():
    with pytest.raises(ValueError, match="k must be between"):
        routed_accuracy(SCORES, TEST, k=5)
    with pytest.raises(ValueError, match="shape"):
        routed_accuracy(SCORES[:, :3], TEST)
    with pytest.raises(ValueError, match="no labels"):
        routed_accuracy(SCORES, TEST.without_labels())


def test_bootstrap_interval_contains_the_mean_and_narrows_with_n():
    small = np.array([1] * 30 + [0] * 70)
    large = np.tile(small, 10)
    low, high = bootstrap_interval(small)
    assert low < 0.3 < high
    assert high - low == pytest.approx(2 * 1.96 * np.sqrt(0.3 * 0.7 / 100), abs=0.03)
    low_l, high_l = bootstrap_interval(large)
    assert low_l < 0.3 < high_l
    assert high_l - low_l < 0.5 * (high - low)
    assert bootstrap_interval(small, random_state=3) == bootstrap_interval(small, random_state=3)
    assert bootstrap_interval(np.ones(7)) == (1.0, 1.0)
    with pytest.raises(ValueError, match="empty"):
        bootstrap_interval(np.array([]))


def test_paired_bootstrap_difference():
    rng = np.random.default_rng(0)
    b = rng.random(400) < 0.5
    a = b.copy()
    a[np.flatnonzero(~b)[:40]] = True  # A fixes 40 of B's misses, breaks nothing: +0.1
    mean, low, high = bootstrap_difference(a, b)
    assert mean == pytest.approx(0.1)
    assert 0 < low < 0.1 < high
    assert bootstrap_difference(b, b) == (0.0, 0.0, 0.0)
    with pytest.raises(ValueError, match="shape"):
        bootstrap_difference(a, b[:-1])


def test_routing_shares():
    ranks = np.array([[0, 1], [2, 0], [0, 2], [1, 0]])
    assert routing_shares(ranks, 4) == pytest.approx([0.5, 0.25, 0.25, 0.0])
    assert routing_shares(ranks[:, 0], 4) == pytest.approx([0.5, 0.25, 0.25, 0.0])


def test_evaluate_router_reports_gains_against_the_references():
    train = _data([["B", "B", "A", "B"], ["B", "B", "C", "C"]], ["A", "C"])
    table = evaluate_router(BestSingleRouter(), train, TEST, ks=(1, 3))
    assert list(table.columns) == ["router", "k", "accuracy", "n", "low", "high",
                                   "gain_best_single", "gain_random", "gap_oracle"]
    top1 = table.iloc[0]
    # Best single on train is c: test accuracy 3/5; it is also the top-1 route.
    assert (top1["router"], top1["k"], top1["n"]) == ("BestSingleRouter", 1, 5)
    assert top1["accuracy"] == pytest.approx(0.6)
    assert top1["gain_best_single"] == pytest.approx(0.0)
    assert top1["gain_random"] == pytest.approx(0.6 - 0.25)
    assert top1["gap_oracle"] == pytest.approx(0.8 - 0.6)
    assert top1["low"] <= 0.6 <= top1["high"]
    # Train accuracies a 0, b 0, c 1, d 1/2 -> top-3 = c, d, a. The train confidences are all
    # 0 -> scale 1, so z = raw confidence. q0 A,B,A -> A ✓; q1 C,B,B -> B ✗; q2 C,D,A all
    # differ -> d (z 5) -> D ✗; q3 D,A,- tie -> z(d)=0 > z(c)=-1 -> A ✗; q4 -,A,- -> A ✗.
    assert table.iloc[1]["accuracy"] == pytest.approx(0.2)
    assert isinstance(table, pd.DataFrame) and len(table) == 2


def test_evaluate_router_can_choose_the_best_single_model_on_other_data():
    generated = _data([["B", "B", "A", "B"], ["B", "B", "C", "C"]], ["A", "C"])  # c is best here
    real = _data([["A", "A", "A", "A"], ["B", "B", "B", "B"]], ["A", "B"])  # all tie: a (first) is chosen
    table = evaluate_router(BestSingleRouter(), generated, TEST, ks=(1,), reference_train=real)
    single_a = best_single(real, TEST)[1]
    assert table.iloc[0]["gain_best_single"] == pytest.approx(0.6 - single_a)


def test_evaluate_router_seeds_its_bootstrap_with_the_routers_seed():
    rng = np.random.default_rng(0)
    n = 401  # fine enough that two seeds give different percentile ends
    labels = np.array(["A"] * n, dtype=object)
    choices = np.where(rng.random((n, 2)) < [0.6, 0.3], "A", "B").astype(object)
    data = RoutingData(["m0", "m1"], rng.normal(size=(n, 3)), np.array(["s"] * n, dtype=object),
                       choices, np.zeros((n, 2)), labels)
    seeded = BestSingleRouter()
    seeded.random_state = 7  # the run's seed
    first, again = (evaluate_router(r, data, data, ks=(1,)).iloc[0]
                    for r in (BestSingleRouter(), seeded))
    correct = (choices[:, 0] == "A").astype(float)  # m0 is the best single model
    assert first["accuracy"] == again["accuracy"] == pytest.approx(correct.mean())
    assert (first["low"], first["high"]) == bootstrap_interval(correct, random_state=0)
    assert (again["low"], again["high"]) == bootstrap_interval(correct, random_state=7)
    assert (first["low"], first["high"]) != (again["low"], again["high"])
