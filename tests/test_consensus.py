"""Robust z-scores, confidence weights, consensus scores and majority agreement
(the paper's §5.1–5.3), checked on small hand-computed examples."""

from __future__ import annotations

import math

import numpy as np
import pytest

from rgd_utils.consensus import (
    CLASSES,
    RobustZ,
    confidence_weights,
    consensus_from_confidence,
    consensus_scores,
    majority_agreement,
)


def obj(rows):
    return np.array(rows, dtype=object)


def test_robust_z_median_mad_and_fallbacks():
    confidence = np.array([
        [1.0, 5.0, 1.0, np.nan],
        [2.0, 5.0, 1.0, np.nan],
        [4.0, np.nan, 1.0, np.nan],
        [10.0, 5.0, 4.0, np.nan],
    ])
    scaler = RobustZ().fit(confidence)
    # column 0: median 3, |x - 3| = 2, 1, 1, 7 -> MAD 1.5 -> scale 1.4826 * 1.5
    # column 1: constant (NaN ignored): MAD 0, std 0 -> scale 1
    # column 2: MAD 0, std of (1, 1, 1, 4) = sqrt(6.75 / 4)
    # column 3: no answer at all -> median NaN
    np.testing.assert_allclose(scaler.median_[:3], [3.0, 5.0, 1.0])
    np.testing.assert_allclose(scaler.scale_[:3], [2.2239, 1.0, math.sqrt(1.6875)])
    assert np.isnan(scaler.median_[3])
    z = scaler.transform(confidence)
    np.testing.assert_allclose(z[:, 0], [-2 / 2.2239, -1 / 2.2239, 1 / 2.2239, 7 / 2.2239])
    assert np.isnan(z[2, 1]) and np.isnan(z[:, 3]).all()


def test_robust_z_reuses_train_statistics_on_new_data():
    scaler = RobustZ().fit(np.array([[-1.0], [0.0], [1.0]]))  # median 0, MAD 1
    np.testing.assert_allclose(scaler.transform(np.array([[1.4826], [-2.9652]])), [[1.0], [-2.0]])
    with pytest.raises(ValueError, match="fitted on 1 models"):
        scaler.transform(np.zeros((2, 3)))
    with pytest.raises(RuntimeError, match="not fitted"):
        RobustZ().transform(np.zeros((1, 1)))


def test_confidence_weights_sigmoid_clip_and_missing():
    z = np.array([[0.0, 1.0, 10.0, -10.0, np.nan]])
    np.testing.assert_allclose(confidence_weights(z),
                               [[0.5, 1 / (1 + math.exp(-1)), 0.99, 0.01, 0.0]])
    np.testing.assert_allclose(confidence_weights(np.array([[1.0]]), scale=2.0),
                               [[1 / (1 + math.exp(-2))]])
    np.testing.assert_allclose(confidence_weights(np.array([[3.0]]), clip=(0.2, 0.8)), [[0.8]])


def test_consensus_sum_version_is_the_papers_figure_2a():
    choices = obj([["A", "B", "C", "A"]])
    weights = np.array([[0.86, 0.64, 0.71, 0.82]])
    np.testing.assert_allclose(consensus_scores(choices, weights, version="sum"),
                               [[1.68, 0.64, 0.71, 1.68]])


def test_consensus_softmax_version_over_twenty_letters():
    assert CLASSES == tuple("ABCDEFGHIJKLMNOPQRST")
    choices = obj([["A", "B", "C", "A"]])
    weights = np.array([[0.86, 0.64, 0.71, 0.82]])
    denominator = math.exp(1.68) + math.exp(0.64) + math.exp(0.71) + 17  # 17 unused letters
    expected = np.array([math.exp(1.68), math.exp(0.64), math.exp(0.71), math.exp(1.68)])
    np.testing.assert_allclose(consensus_scores(choices, weights), [expected / denominator])
    # temperature 0.5 doubles the raw sums
    denominator = math.exp(3.36) + math.exp(1.28) + math.exp(1.42) + 17
    np.testing.assert_allclose(consensus_scores(choices, weights, temperature=0.5)[0, 1],
                               math.exp(1.28) / denominator)


def test_consensus_softmax_compression_example():
    scores = consensus_scores(obj([["D"] * 6]), np.full((1, 6), 0.5))
    np.testing.assert_allclose(scores, np.full((1, 6), math.exp(3) / (math.exp(3) + 19)))
    assert scores[0, 0] == pytest.approx(0.514, abs=5e-4)


def test_missing_answer_gets_nan_and_casts_no_vote():
    choices = obj([["A", "B", None], ["A", float("nan"), "A"]])
    weights = np.array([[0.5, 0.5, 0.9], [0.3, 0.9, np.nan]])
    np.testing.assert_allclose(consensus_scores(choices, weights, version="sum"),
                               [[0.5, 0.5, np.nan], [0.3, np.nan, 0.3]])


def test_answers_outside_a_to_t_become_a_seeded_random_letter():
    choices = obj([["A", "Z", "A"]])
    weights = np.array([[0.9, 0.8, 0.7]])
    with pytest.warns(UserWarning, match="1 answers outside A–T"):
        first = consensus_scores(choices, weights, version="sum", random_state=3)
    letter = CLASSES[np.random.default_rng(3).integers(20, size=1)[0]]
    expected = consensus_scores(obj([["A", letter, "A"]]), weights, version="sum")
    np.testing.assert_allclose(first, expected)
    with pytest.warns(UserWarning):
        assert np.array_equal(consensus_scores(choices, weights, version="sum", random_state=3),
                              first)


def test_consensus_rejects_unknown_version_and_bad_shapes():
    with pytest.raises(ValueError, match="version"):
        consensus_scores(obj([["A"]]), np.ones((1, 1)), version="mean")
    with pytest.raises(ValueError, match="differ in shape"):
        consensus_scores(obj([["A", "B"]]), np.ones((1, 3)))


def test_majority_agreement_ties_abstentions_and_empty_queries():
    choices = obj([
        ["A", "A", "B", "C"],    # majority {A}: 2/4
        ["A", "A", "B", "B"],    # tie {A, B}: 4/4
        ["A", "B", None, "C"],   # tie {A, B, C}, None is no answer: 3/4
        [None, None, None, None],
        ["B", "B", "B", None],   # 3/4
    ])
    in_majority, agreement = majority_agreement(choices)
    np.testing.assert_array_equal(in_majority, [
        [True, True, False, False],
        [True, True, True, True],
        [True, True, False, True],
        [False, False, False, False],
        [True, True, True, False],
    ])
    np.testing.assert_allclose(agreement, [0.5, 1.0, 0.75, 0.0, 0.75])


def test_consensus_from_confidence_chains_z_weights_and_scores():
    scaler = RobustZ().fit(np.array([[-1.0, -1.0], [0.0, 0.0], [1.0, 1.0]]))  # scale 1.4826
    choices = obj([["A", "A"], ["A", "B"]])
    confidence = np.array([[1.4826, -1.4826], [1.4826, np.nan]])  # z = +1, -1; +1, NaN
    scores = consensus_from_confidence(choices, confidence, scaler, version="sum")
    w = 1 / (1 + math.exp(-1))
    # sigmoid(1) + sigmoid(-1) = 1; the NaN-confidence model still has its own answer
    np.testing.assert_allclose(scores, [[1.0, 1.0], [w, 0.0]])
