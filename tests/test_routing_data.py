"""RoutingData checks its shapes; rank_scores breaks ties at random but reproducibly."""

from __future__ import annotations

import numpy as np
import pytest

from rgd_utils.routers import RoutingData, rank_scores


def _data(labels=("A", "B", None)) -> RoutingData:
    return RoutingData(
        models=["m1", "m2"], embeddings=np.eye(3, 2), subjects=["s", "s", "t"],
        choices=[["A", None], ["B", "B"], ["C", "A"]], confidence=[[-0.1, np.nan], [-1.0, -0.5], [-2.0, -0.2]],
        labels=labels, qids=["q1", "q2", "q3"],
    )


def test_correctness_is_false_without_an_answer_or_a_label() -> None:
    np.testing.assert_array_equal(_data().correct(), [[True, False], [True, True], [False, False]])
    with pytest.raises(ValueError, match="no labels"):
        _data(labels=None).correct()


def test_subset_and_without_labels_keep_everything_else() -> None:
    data = _data()
    part = data.subset([2, 0])
    assert part.qids.tolist() == ["q3", "q1"] and part.labels.tolist() == [None, "A"]
    assert part.choices.tolist() == [["C", "A"], ["A", None]]
    blind = data.without_labels()
    assert blind.labels is None and blind.qids.tolist() == data.qids.tolist()
    assert data.subset(np.array([True, False, True])).n_queries == 2


@pytest.mark.parametrize(("change", "message"), [
    ({"choices": [["A", "B"]]}, "choices"),
    ({"confidence": np.zeros((3, 3))}, "confidence"),
    ({"labels": ["A"]}, "labels"),
    ({"embeddings": np.zeros(3)}, "2-D"),
    ({"models": ["m1", "m1"]}, "repeat"),
])
def test_wrong_shapes_are_named(change: dict, message: str) -> None:
    fields = {"models": ["m1", "m2"], "embeddings": np.eye(3, 2), "subjects": ["s", "s", "t"],
              "choices": [["A", None], ["B", "B"], ["C", "A"]], "confidence": np.zeros((3, 2)),
              "labels": ["A", "B", "C"]}
    with pytest.raises(ValueError, match=message):
        RoutingData(**{**fields, **change})


def test_rank_scores_orders_best_first_and_breaks_ties_by_seed() -> None:
    scores = np.array([[0.1, 0.9, 0.5], [0.2, 0.2, np.nan]])
    ranks = rank_scores(scores, random_state=0)
    assert ranks[0].tolist() == [1, 2, 0]
    assert ranks[1, 2] == 2  # NaN ranks last
    assert sorted(ranks[1, :2].tolist()) == [0, 1]
    np.testing.assert_array_equal(ranks, rank_scores(scores, random_state=0))
    tied = np.zeros((200, 2))
    first = rank_scores(tied, random_state=0)[:, 0]
    assert 70 < first.sum() < 130  # ties go either way, about half each


def test_from_tables_pivots_responses_in_the_given_order() -> None:
    import pandas as pd

    questions = pd.DataFrame({"qid": ["q2", "q1"], "subject": ["s", "t"], "answer": ["B", "A"]})
    responses = pd.DataFrame({
        "qid": ["q1", "q1", "q2", "q2", "q9"], "model": ["m1", "m2", "m1", "m2", "m1"],
        "choice": ["A", None, "B", "C", "D"], "confidence": [-0.1, np.nan, -0.2, -0.3, -9.0],
    })
    data = RoutingData.from_tables(questions, responses, {"q1": [1.0, 0.0], "q2": [0.0, 1.0]}, ["m2", "m1"])
    assert data.choices.tolist() == [["C", "B"], [None, "A"]]
    np.testing.assert_allclose(data.confidence, [[-0.3, -0.2], [np.nan, -0.1]])
    assert data.labels.tolist() == ["B", "A"] and data.embeddings.tolist() == [[0.0, 1.0], [1.0, 0.0]]
    assert RoutingData.from_tables(questions, responses, lambda q: np.ones((len(q), 3)), ["m1"], labels=False).labels is None
    with pytest.raises(ValueError, match="1 of 4 .* missing"):
        RoutingData.from_tables(questions, responses.iloc[1:], {"q1": [1, 0], "q2": [0, 1]}, ["m1", "m2"])
