"""Cost-aware routing on small hand-made pools."""

from __future__ import annotations

import numpy as np
import pytest

from rgd_utils.cost import accuracy_cost_curve, cost_aware_choice, curve_area, query_costs


def test_costs_are_params_times_tokens() -> None:
    costs = query_costs([1e9, 5e8], [100, 10])
    assert costs.tolist() == [[1e11, 5e10], [1e10, 5e9]]
    with pytest.raises(ValueError, match="positive"):
        query_costs([0, 1], [1])


def test_the_trade_off_moves_queries_to_the_cheap_model() -> None:
    scores = np.array([[0.9, 0.1], [0.6, 0.5], [0.2, 0.8]])
    costs = np.array([[10.0, 1.0]] * 3)
    assert cost_aware_choice(scores, costs, 0.0).tolist() == [0, 0, 1]
    # rescaled per query to [0, 1], the big model wins by 1 where it wins: a trade-off above
    # 1 / 0.9 (relative cost gap) sends everything to the cheap model
    assert cost_aware_choice(scores, costs, 1.2).tolist() == [1, 1, 1]
    assert cost_aware_choice(np.ones((1, 2)), np.array([[5.0, 2.0]]), 0.0).tolist() == [1]  # tie
    with pytest.raises(ValueError, match="non-negative"):
        cost_aware_choice(scores, costs, -1)


def test_curve_and_its_area() -> None:
    rng = np.random.default_rng(0)
    correct = np.column_stack([rng.random(400) < 0.8, rng.random(400) < 0.5])
    scores = correct.astype(float) + rng.normal(0, 0.01, correct.shape)  # an oracle router
    costs = np.tile([10.0, 1.0], (400, 1))
    curve = accuracy_cost_curve(scores, correct, costs)
    assert curve["trade_off"].iloc[0] == 0 and curve["cost"].is_monotonic_decreasing
    top, bottom = curve.iloc[0], curve.iloc[-1]
    assert top["accuracy"] == pytest.approx((correct[:, 0] | correct[:, 1]).mean())
    assert bottom["cost"] == 1.0 and bottom["accuracy"] == pytest.approx(correct[:, 1].mean())
    area = curve_area(curve["cost"], curve["accuracy"], (1.0, 10.0))
    assert bottom["accuracy"] < area <= top["accuracy"]
    # a single operating point in the middle of the range: 0 below it, flat above it
    assert curve_area([5.5], [0.6], (1.0, 10.0)) == pytest.approx(0.3, abs=1e-3)
    # the envelope is concave and non-decreasing: a dominated point changes nothing
    assert curve_area([1, 10, 5], [0.5, 0.8, 0.4], (1, 10)) == pytest.approx(0.65, abs=1e-3)
    with pytest.raises(ValueError, match="increasing"):
        curve_area([1], [1], (2, 2))
