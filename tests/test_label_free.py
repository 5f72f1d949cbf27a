"""Label-free correctness estimators against planted truth."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.metrics import roc_auc_score

from rgd_utils.label_free import (
    ESTIMATORS,
    DawidSkene,
    MajorityVote,
    SpectralOneCoin,
    estimate_correctness,
)

LETTERS = np.array(list("ABCD"), dtype=object)


def _pool(n: int, accuracies: list[float], seed: int = 0, always_a: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Independent models of the given accuracies (errors spread evenly), plus ``always_a``
    models that answer "A" whatever the question. Returns choices (n, m) and the truth (n,)."""
    rng = np.random.default_rng(seed)
    truth = rng.integers(4, size=n)
    columns = []
    for p in accuracies:
        right = rng.random(n) < p
        wrong = (truth + rng.integers(1, 4, size=n)) % 4
        columns.append(np.where(right, truth, wrong))
    columns += [np.zeros(n, dtype=int)] * always_a
    return LETTERS[np.stack(columns, axis=1)], LETTERS[truth]


def _auroc(estimate: np.ndarray, choices: np.ndarray, truth: np.ndarray) -> float:
    correct = choices == truth[:, None]
    keep = ~np.isnan(estimate)
    return roc_auc_score(correct[keep], estimate[keep])


ACCURACIES = [0.85, 0.7, 0.55, 0.4, 0.35, 0.3]


@pytest.mark.parametrize("estimator", [DawidSkene("full"), DawidSkene("one-coin"), SpectralOneCoin()])
def test_accuracies_are_recovered_without_labels(estimator) -> None:
    choices, _ = _pool(4000, ACCURACIES)
    fitted = estimator.fit(choices)
    assert np.allclose(fitted.accuracy_, ACCURACIES, atol=0.05), fitted.accuracy_


def test_weighting_models_by_skill_beats_the_majority() -> None:
    choices, truth = _pool(4000, ACCURACIES)
    majority = _auroc(MajorityVote().fit(choices).correctness(), choices, truth)
    for estimator in (DawidSkene("full"), DawidSkene("one-coin"), SpectralOneCoin()):
        assert _auroc(estimator.fit(choices).correctness(), choices, truth) > majority + 0.01
    right_letter = DawidSkene("one-coin").fit(choices).posterior_.argmax(axis=1)
    votes = MajorityVote().fit(choices).posterior_.argmax(axis=1)
    truth_codes = np.searchsorted(LETTERS, truth)
    assert (right_letter == truth_codes).mean() > (votes == truth_codes).mean() + 0.02


def test_full_confusion_sees_through_a_letter_bias() -> None:
    # three weak honest models and three that always answer "A": the majority is often "A"
    choices, truth = _pool(4000, [0.8, 0.6, 0.5], always_a=3)
    full = DawidSkene("full").fit(choices)
    assert full.confusion_[3:, :, 0].min() > 0.95  # they answer A whatever is right
    assert np.allclose(full.accuracy_[:3], [0.8, 0.6, 0.5], atol=0.05)
    majority = _auroc(MajorityVote().fit(choices).correctness(), choices, truth)
    assert _auroc(full.correctness(), choices, truth) > majority + 0.05


def test_missing_answers_are_nan_and_do_not_vote() -> None:
    choices, _ = _pool(500, ACCURACIES)
    choices[::3, 0] = None
    for name in ESTIMATORS:
        estimate = ESTIMATORS[name]().fit(choices).correctness()
        assert np.isnan(estimate[::3, 0]).all() and not np.isnan(estimate[1::3]).any()
        assert ((estimate[1::3] >= 0) & (estimate[1::3] <= 1)).all()


def test_groups_are_fitted_separately() -> None:
    # the same two models; in group x model 0 is the good one, in group y model 1
    a, truth_a = _pool(1500, [0.9, 0.3, 0.6], seed=1)
    b, truth_b = _pool(1500, [0.3, 0.9, 0.6], seed=2)
    choices = np.concatenate([a, b])
    groups = np.array(["x"] * 1500 + ["y"] * 1500)
    estimate, confidence = estimate_correctness(choices, groups, "one-coin")
    assert np.nanmean(estimate[:1500, 0]) > np.nanmean(estimate[:1500, 1]) + 0.3
    assert np.nanmean(estimate[1500:, 1]) > np.nanmean(estimate[1500:, 0]) + 0.3
    assert confidence.shape == (3000,) and ((confidence > 0.25) & (confidence <= 1)).all()
    pooled, _ = estimate_correctness(choices, np.zeros(3000), "one-coin")
    assert not np.allclose(pooled, estimate, equal_nan=True)


def test_bad_input_is_refused() -> None:
    with pytest.raises(ValueError, match="unknown estimator"):
        estimate_correctness(np.array([["A"]], dtype=object), np.array([0]), "magic")
    with pytest.raises(ValueError, match="2-D"):
        MajorityVote().fit(np.array(["A", "B"], dtype=object))
    with pytest.raises(ValueError, match="model must be"):
        DawidSkene("two-coin").fit(np.array([["A"]], dtype=object))


def test_nobody_answered() -> None:
    choices = np.full((3, 2), None, dtype=object)
    for name in ESTIMATORS:
        assert np.isnan(ESTIMATORS[name]().fit(choices).correctness()).all()


def test_quality_of_an_estimate() -> None:
    from rgd_utils.label_free import correctness_quality

    correct = np.array([[True, False], [True, True], [False, False], [True, False]])
    perfect = correctness_quality(correct.astype(float), correct)
    assert perfect == {"auroc": 1.0, "ece": 0.0, "brier": 0.0, "n": 8}
    flat = correctness_quality(np.full(correct.shape, 0.5), correct)
    assert flat["auroc"] == 0.5 and flat["ece"] == pytest.approx(0.0) and flat["brier"] == 0.25
    overconfident = correctness_quality(np.full(correct.shape, 0.9), correct)
    assert overconfident["ece"] == pytest.approx(0.4)
    missing = np.where(correct, 0.8, 0.3)
    missing[0, 0] = np.nan
    assert correctness_quality(missing, correct)["n"] == 7
    assert np.isnan(correctness_quality(np.full((2, 2), np.nan), correct[:2])["auroc"])
