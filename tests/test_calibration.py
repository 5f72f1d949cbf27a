"""The calibration table: accuracy with n, Wilson intervals, a binomial test against chance."""

from __future__ import annotations

import pandas as pd
import pytest

from rgd_utils.calibration import calibration_table, experts_above_chance, wilson_interval


def test_wilson_interval_known_values() -> None:
    low, high = wilson_interval(20, 40)
    assert low == pytest.approx(0.3520, abs=1e-4) and high == pytest.approx(0.6480, abs=1e-4)
    assert wilson_interval(0, 10)[0] == pytest.approx(0.0, abs=1e-12)


def test_table_counts_unanswered_as_wrong_and_tests_against_chance() -> None:
    questions = pd.DataFrame({
        "qid": [f"q{i}" for i in range(40)],
        "benchmark": ["b"] * 40,
        "options": [["w", "x", "y", "z"]] * 40,
    })
    strong = pd.DataFrame({"qid": questions["qid"], "model": "strong:letter",
                           "choice": ["A"] * 40, "correct": [True] * 24 + [False] * 16})
    guesser = pd.DataFrame({"qid": questions["qid"], "model": "guess:letter",
                            "choice": ["A"] * 30 + [None] * 10,
                            "correct": [True] * 10 + [False] * 20 + [None] * 10})
    table = calibration_table(pd.concat([strong, guesser]), questions).set_index("model")
    assert table.loc["strong:letter", "accuracy"] == pytest.approx(0.6)
    assert table.loc["strong:letter", "chance"] == pytest.approx(0.25)
    assert table.loc["strong:letter", "above_chance"]
    assert table.loc["strong:letter", "p_value"] < 1e-5
    assert table.loc["guess:letter", "accuracy"] == pytest.approx(0.25)  # 10 of 40, unanswered wrong
    assert table.loc["guess:letter", "answered"] == pytest.approx(0.75)
    assert not table.loc["guess:letter", "above_chance"]
    summary = experts_above_chance(table.reset_index())
    assert summary.loc["b", "above_chance"] == 1 and summary.loc["b", "which"] == "strong:letter"
