"""Cost-aware routing on small hand-made pools."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from rgd_utils.cost import (
    DEFAULT_TRADE_OFFS,
    _operating_points,
    accuracy_cost_curve,
    area_with_interval,
    cost_aware_choice,
    curve_area,
    expert_sizes,
    prompt_tokens,
    query_costs,
    study_costs,
    trade_off_choices,
)
from rgd_utils.evaluation import evaluate_router
from rgd_utils.llm.registry import PAPER_MODELS
from rgd_utils.routers import BestSingleRouter, RoutingData


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


def test_prompt_tokens_sizes_and_relative_costs() -> None:
    questions = pd.DataFrame({"question": ["x" * 10, "y" * 38], "options": [["ab", "cd"], ["e", "f"]]})
    assert prompt_tokens(questions).tolist() == [4.0, 10.0]  # ceil(14 / 4), ceil(40 / 4)
    sizes = expert_sizes(["qwen2.5-coder-0.5b:letter", "gemma3-270m+medical:cloze",
                          "sim-large-1:cot", "sim-small-6:cot"])
    assert sizes.tolist() == [494_032_768, 268_098_176,  # a specialist counts as its base
                              PAPER_MODELS["Llama70"].n_params,
                              [m.n_params for m in PAPER_MODELS.values() if m.role == "pool-small"][5]]
    with pytest.raises(ValueError, match="no parameter count for model 'mystery'"):
        expert_sizes(["mystery:letter"])
    with pytest.raises(ValueError, match="no parameter count for model 'sim-large-7'.*paper counterpart"):
        expert_sizes(["sim-large-7:cot"])
    costs = study_costs(questions, ["gemma3-270m:cloze", "qwen2.5-coder-1.5b:cloze"])
    assert costs[:, 1].mean() == pytest.approx(1.0)  # the costliest model alone costs 1
    assert costs[1, 0] / costs[0, 0] == pytest.approx(10 / 4)  # longer prompts cost more
    assert costs[0, 0] / costs[0, 1] == pytest.approx(268_098_176 / 1_543_714_304)


def test_area_with_interval_of_a_single_model_and_a_router() -> None:
    rng = np.random.default_rng(1)
    correct = np.column_stack([rng.random(300) < 0.5, rng.random(300) < 0.8])
    costs = np.tile([0.2, 1.0], (300, 1))
    # the cheap model alone: accuracy 0.5-ish at every budget of [0.2, 1]
    aiq, low, high = area_with_interval(np.zeros((1, 300), int), correct, costs, (0.2, 1.0))
    assert aiq == pytest.approx(correct[:, 0].mean(), abs=1e-3) and low < aiq < high
    # the costly model alone: no budget below 1, so its area is 0
    assert area_with_interval(np.ones((1, 300), int), correct, costs, (0.2, 1.0))[0] == 0.0
    # an oracle router's curve dominates both models
    scores = correct.astype(float)
    choices = trade_off_choices(scores, costs)
    assert choices.shape == (len(DEFAULT_TRADE_OFFS), 300)
    aiq_router, low, high = area_with_interval(choices, correct, costs, (0.2, 1.0), random_state=3)
    assert aiq_router > aiq and low <= aiq_router <= high
    assert area_with_interval(choices, correct, costs, (0.2, 1.0), random_state=3) == \
        (aiq_router, low, high)  # seeded


def test_area_with_interval_resamples_the_operating_points_exactly() -> None:
    """Each resample's operating points, recomputed from the full arrays, give the same areas
    (the per-query counts are a speed-up, not an approximation: only the order of a float sum
    differs, as it does between two NumPy means of the same numbers at different alignments)."""
    rng = np.random.default_rng(5)
    correct, costs = rng.random((400, 5)) < 0.6, rng.random((400, 5))
    choices = rng.integers(5, size=(7, 400))
    replay = np.random.default_rng(11)
    areas = [curve_area(*_operating_points(choices, correct, costs, replay.integers(400, size=400))[::-1],
                        (0.2, 0.9)) for _ in range(50)]
    expected = np.percentile(areas, [2.5, 97.5])
    full = curve_area(*_operating_points(choices, correct, costs)[::-1], (0.2, 0.9))
    assert area_with_interval(choices, correct, costs, (0.2, 0.9), n_boot=50, random_state=11) == \
        pytest.approx((full, expected[0], expected[1]), rel=1e-12, abs=0)


def test_evaluate_router_reports_cost_and_area_by_hand() -> None:
    # two queries, two models; model 0 (cost 1) right on both, model 1 (cost 0.5) on the first
    data = RoutingData(["big", "small"], np.eye(2), np.array(["s", "s"]),
                       np.array([["A", "A"], ["B", "C"]], dtype=object), np.zeros((2, 2)),
                       np.array(["A", "B"], dtype=object))
    costs = np.array([[1.0, 0.5], [1.0, 0.5]])
    rows = evaluate_router(BestSingleRouter(), data, data, ks=(1, 2), costs=costs)
    top1, top2 = rows.iloc[0], rows.iloc[1]
    assert top1["accuracy"] == 1.0 and top1["cost"] == 1.0  # the best model, the costly one
    assert top2["cost"] == 1.5 and np.isnan(top2["aiq"])
    # its curve: (cost 1, accuracy 1) and, with a large trade-off, (0.5, 0.5); the envelope
    # over budgets [0.5, 1] is the chord from 0.5 to 1: mean 0.75
    assert top1["aiq"] == pytest.approx(0.75, abs=1e-3)
    assert "cost" not in evaluate_router(BestSingleRouter(), data, data, ks=(1,)).columns
