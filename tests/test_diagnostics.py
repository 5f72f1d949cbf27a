"""Self-consistency, performance spread, the §3.3 filters and ranking agreement, on hand-built
tables whose values are checked by hand."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from rgd_utils.benchmarks import make_question_table
from rgd_utils.diagnostics import (
    choice_matrix, correctness, dataset_diagnostics, filter_queries, filter_summary,
    performance_spread, pool_majority, query_diagnostics, ranking_agreement, self_consistency,
)

POOL = ["m1", "m2", "m3", "m4", "m5", "m6"]

# Each generated query: its label and the six pool answers (None: no answer).
POOL_ANSWERS = {
    "g1": ("A", ["A", "A", "A", "B", "B", "C"]),   # 3 right: spread 0.5; majority A
    "g2": ("B", ["B"] * 6),                         # all right: spread 0; majority B
    "g3": ("C", ["A", "A", "B", "B", "D", None]),   # none right; A/B tie: no majority
    "g4": ("D", ["D", "A", "A", "A", "D", "D"]),    # 3 right, but the A/D tie leaves no majority
    "g5": ("A", ["A", "B", "B", "B", "B", None]),   # 1 right: spread sqrt(5)/6; majority B
}
GENERATOR_ANSWERS = {"g1": "A", "g2": "C", "g3": "C", "g4": None, "g5": "A"}


def _questions() -> pd.DataFrame:
    rows = [{"qid": q, "benchmark": "bench", "subject": "s", "question": q, "options": list("abcd"),
             "answer": label, "split": "train", "source": "gen"}
            for q, (label, _) in POOL_ANSWERS.items()]
    rows.append({"qid": "r1", "benchmark": "bench", "subject": "s", "question": "real",
                 "options": list("abcd"), "answer": "B", "split": "train", "source": "real"})
    return make_question_table(rows)


def _responses() -> pd.DataFrame:
    rows = [(q, "gen", m, c) for q, (_, answers) in POOL_ANSWERS.items() for m, c in zip(POOL, answers)]
    rows += [(q, "gen", "G:cot", c) for q, c in GENERATOR_ANSWERS.items()]
    rows += [("r1", "real", m, c) for m, c in zip(POOL, ["B", "B", "A", "A", "A", "A"])]
    return pd.DataFrame(rows, columns=["qid", "source", "model", "choice"], dtype=object)


def test_self_consistency_compares_the_generators_own_answer_with_its_label() -> None:
    sc = self_consistency(_questions(), _responses(), "G:cot", POOL)
    assert sc["qid"].tolist() == ["g1", "g2", "g3", "g4", "g5"]  # the real query is not scored
    assert sc["sc"].tolist() == [1, 0, 1, 0, 1]  # g4: no answer is not agreement
    assert set(sc["method"]) == {"generator"}


def test_fallback_self_consistency_uses_the_pool_majority_and_a_tie_is_no_majority() -> None:
    sc = self_consistency(_questions(), _responses(), None, POOL)
    # g1 majority A == A; g2 B == B; g3 tie; g4 tie (A 3, D 3) although D is the label; g5 B != A
    assert sc["sc"].tolist() == [1, 1, 0, 0, 0]
    assert set(sc["method"]) == {"pool-majority"}


def test_pool_majority_ignores_missing_answers_and_returns_none_on_ties() -> None:
    choices = pd.DataFrame([["A", None, None], ["A", "B", None], [None, None, None], ["C", "C", "A"]],
                           index=["x", "y", "z", "w"], dtype=object)
    assert pool_majority(choices).tolist() == ["A", None, None, "C"]


def test_performance_spread_against_the_generated_label() -> None:
    spread = performance_spread(_questions(), _responses(), POOL)
    assert spread["n_right"].tolist() == [3, 6, 0, 3, 1, 2]
    assert set(spread["n_models"]) == {6}
    np.testing.assert_allclose(spread["spread"], [0.5, 0.0, 0.0, 0.5, np.sqrt(5) / 6, np.sqrt(2) / 3])


def test_label_free_spread_measures_against_the_majority_and_a_tie_makes_everyone_wrong() -> None:
    spread = performance_spread(_questions(), _responses(), POOL, label="consensus")
    assert spread["label"].tolist() == ["A", "B", None, None, "B", "A"]
    assert spread["n_right"].tolist() == [3, 6, 0, 0, 4, 4]


def test_correctness_columns_are_the_pool_in_order_and_rows_the_questions() -> None:
    correct = correctness(_questions(), _responses(), POOL)
    assert list(correct.columns) == POOL and list(correct.index) == ["g1", "g2", "g3", "g4", "g5", "r1"]
    np.testing.assert_allclose(correct.mean(), [5 / 6, 3 / 6, 2 / 6, 1 / 6, 2 / 6, 2 / 6])


def test_a_missing_response_row_is_an_error_not_a_zero() -> None:
    responses = _responses()
    responses = responses[~((responses["qid"] == "g2") & (responses["model"] == "m4"))]
    with pytest.raises(ValueError, match=r"1 \(query, model\) pairs have no response, e.g. model 'm4' on 'g2'"):
        choice_matrix(responses, ["g1", "g2"], POOL)


def test_one_generator_expert_cannot_score_two_generators() -> None:
    questions = _questions()
    questions.loc[0, "source"] = "other"
    with pytest.raises(ValueError, match="several generators"):
        self_consistency(questions, _responses(), "G:cot", POOL)


def test_filters_keep_self_consistent_and_separating_queries() -> None:
    per_query = query_diagnostics(_questions(), _responses(), POOL, {"gen": "G:cot"})
    assert per_query["qid"].tolist() == ["g1", "g2", "g3", "g4", "g5", "r1"]
    assert per_query["sc"].iloc[:5].tolist() == [1, 0, 1, 0, 1] and np.isnan(per_query["sc"].iloc[5])
    assert filter_queries(per_query, "sc").tolist() == [True, False, True, False, True, False]
    assert filter_queries(per_query, "spread").tolist() == [True, False, False, True, True, True]
    assert filter_queries(per_query, "both").tolist() == [True, False, False, False, True, False]
    with pytest.raises(ValueError, match="unknown filter"):
        filter_queries(per_query, "neither")
    with pytest.raises(ValueError, match=r"needs columns \['sc'\]"):
        filter_queries(per_query.drop(columns="sc"), "both")


def test_filter_summary_reports_kept_fractions_per_source_and_benchmark() -> None:
    per_query = query_diagnostics(_questions(), _responses(), POOL, {"gen": "G:cot"})
    summary = filter_summary(per_query).set_index("source")
    assert summary.loc["gen", "n"] == 5 and summary.loc["real", "n"] == 1
    assert summary.loc["gen", ["kept_sc", "kept_spread", "kept_both"]].tolist() == [0.6, 0.6, 0.4]
    assert summary.loc["real", ["kept_sc", "kept_spread", "kept_both"]].tolist() == [0.0, 1.0, 0.0]


def test_dataset_diagnostics_per_source_and_benchmark() -> None:
    table = dataset_diagnostics(_questions(), _responses(), POOL).set_index("source")
    gen, real = table.loc["gen"], table.loc["real"]
    assert gen["n"] == 5 and gen["sc_method"] == "pool-majority" and gen["sc_rate"] == pytest.approx(0.4)
    assert gen["mean_spread"] == pytest.approx((1 + np.sqrt(5) / 6) / 5)
    accuracy = np.array([4, 2, 2, 1, 2, 2]) / 5  # per model on the five generated queries
    assert gen["accuracy_std"] == pytest.approx(accuracy.std())
    assert gen["mean_accuracy"] == pytest.approx(accuracy.mean())
    assert np.isnan(real["sc_rate"]) and real["sc_method"] is None
    assert real["accuracy_std"] == pytest.approx(np.std([1, 1, 0, 0, 0, 0]))


def test_ranking_agreement_is_kendall_tau_b_aligned_by_model_name() -> None:
    real = pd.Series({"a": 0.9, "b": 0.8, "c": 0.7, "d": 0.6})
    same_order = pd.Series({"d": 0.1, "c": 0.2, "b": 0.3, "a": 0.4})  # same ranking, other index order
    assert ranking_agreement(same_order, real)[0] == pytest.approx(1.0)
    one_swap = pd.Series({"a": 0.9, "b": 0.7, "c": 0.8, "d": 0.6})  # 5 concordant, 1 discordant pair
    tau, p_value = ranking_agreement(one_swap, real)
    assert tau == pytest.approx(4 / 6)
    # exact test: 4 of the 24 orders of 4 models have at most one discordant pair; two-sided 2 * 4/24
    assert p_value == pytest.approx(1 / 3)
    with pytest.raises(ValueError, match="different models"):
        ranking_agreement(real.drop("a"), real)
