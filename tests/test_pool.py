"""The study's questions, the experts' agreement and the routing headroom; the presets' pools."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from rgd_utils.benchmarks import make_question_table
from rgd_utils.config import PRESETS, get_preset
from rgd_utils.llm.registry import model_names
from rgd_utils.pool import agreement_matrix, domain_choice_gain, routing_headroom, study_questions
from rgd_utils.responses import MODES, Expert


def _responses(rows: list[tuple[str, str, str | None, bool | None]]) -> pd.DataFrame:
    return pd.DataFrame(rows, columns=["qid", "model", "choice", "correct"], dtype=object)


def test_agreement_counts_equal_choices_and_treats_no_answer_as_disagreement() -> None:
    responses = _responses([
        ("q1", "a", "A", True), ("q1", "b", "A", True), ("q1", "c", None, None),
        ("q2", "a", "B", False), ("q2", "b", "C", True), ("q2", "c", "B", False),
    ])
    matrix = agreement_matrix(responses, ["a", "b", "c"])
    expected = np.array([[1.0, 0.5, 0.5], [0.5, 1.0, 0.0], [0.5, 0.0, 0.5]])
    np.testing.assert_allclose(matrix.to_numpy(), expected)
    assert list(matrix.index) == ["a", "b", "c"]


def test_headroom_picks_the_best_expert_on_train_and_scores_it_on_test() -> None:
    real = pd.DataFrame({"qid": ["t1", "t2", "s1", "s2", "s3"], "benchmark": "x",
                         "split": ["train", "train", "test", "test", "test"]})
    responses = _responses([
        # train: a is right twice, b once -> a is the best expert
        ("t1", "a", "A", True), ("t2", "a", "A", True), ("t1", "b", "A", True), ("t2", "b", "B", False),
        # test: a right once, b right twice, and on different questions
        ("s1", "a", "A", True), ("s2", "a", "B", False), ("s3", "a", "B", False),
        ("s1", "b", "B", False), ("s2", "b", "A", True), ("s3", "b", "A", True),
    ])
    row = routing_headroom(responses, real).loc["x"]
    assert row["best_expert"] == "a" and row["n_test"] == 3
    assert row["best_expert_test"] == pytest.approx(1 / 3)
    assert row["best_in_hindsight"] == pytest.approx(2 / 3)
    assert row["oracle"] == pytest.approx(1.0) and row["headroom"] == pytest.approx(2 / 3)


def test_domain_choice_against_the_best_single_expert() -> None:
    # two benchmarks, 40 questions per split each: a is right on all of x and half of y, b on
    # all of y and half of x (train and test alike), c never
    rows, answers = [], []
    for split in ("train", "test"):
        for bench, good in (("x", "a"), ("y", "b")):
            for i in range(40):
                qid = f"{bench}/{split}/{i}"
                rows.append({"qid": qid, "benchmark": bench, "split": split})
                other = "b" if good == "a" else "a"
                answers += [(qid, good, "A", True), (qid, other, "A", i % 2 == 0),
                            (qid, "c", "B", False)]
    result = domain_choice_gain(_responses(answers), pd.DataFrame(rows))
    assert result["best_single"] == "a"  # a tie on train (0.75 each), broken by name
    assert result["per_benchmark"] == {"x": "a", "y": "b"}
    assert result["best_single_test"] == pytest.approx(0.75)
    assert result["per_benchmark_test"] == pytest.approx(1.0)
    assert result["gain"] == pytest.approx(0.25) and result["n_test"] == 80
    assert 0.1 < result["low"] < 0.25 < result["high"] <= 0.4
    # by design (b for both) and the single expert in hindsight on test
    fixed = domain_choice_gain(_responses(answers), pd.DataFrame(rows), assignment={"x": "b", "y": "b"},
                               single_chosen_on="test")
    assert fixed["per_benchmark_test"] == pytest.approx(0.75) and fixed["gain"] == pytest.approx(0.0)
    with pytest.raises(ValueError, match="single_chosen_on"):
        domain_choice_gain(_responses(answers), pd.DataFrame(rows), single_chosen_on="both")


def test_study_questions_takes_samples_of_real_splits_and_every_generated_item() -> None:
    study = get_preset("cpu")
    rows = [{"qid": f"{b}/{split}/{i}", "benchmark": b, "subject": "s", "question": f"Q{i}", "options": ["a", "b"],
             "answer": "A", "split": split} for b in ("mmlu", "sciq") for split in ("train", "test") for i in range(5)]
    rows += [{"qid": f"gen/{g}/mmlu/{i}", "benchmark": "mmlu", "subject": "s", "question": f"G{i}",
              "options": ["a", "b", "c", "d"], "answer": "B", "split": "train", "source": g}
             for g in (study.generators[0].name, "not-a-generator") for i in range(3)]
    questions = make_question_table(rows)
    chosen = study_questions(questions, study, n_train=2, n_test=3)
    real = chosen[chosen["source"] == "real"]
    assert set(real["benchmark"]) == {"mmlu"}  # sciq is not a study benchmark
    assert real.groupby("split").size().to_dict() == {"test": 3, "train": 2}
    assert set(chosen.loc[chosen["source"] != "real", "source"]) == {study.generators[0].name}
    assert (chosen["source"] != "real").sum() == 3
    larger = study_questions(questions, study, n_train=4, n_test=3)
    assert set(real["qid"]) <= set(larger["qid"])  # a smaller sample is part of a larger one

    names = [g.name for g in study.generators]
    real_only = study_questions(questions, study.with_generators([]), n_train=2, n_test=3)
    assert real_only.equals(real.reset_index(drop=True))
    assert study.with_generators(None) is study
    assert [g.name for g in study.with_generators(names[::-1][:2]).generators] == names[1:]  # preset order
    with pytest.raises(ValueError, match="has no generator 'not-a-generator'"):
        study.with_generators(["not-a-generator"])


@pytest.mark.parametrize("name", sorted(PRESETS))
def test_every_preset_names_a_consistent_study(name: str) -> None:
    study = get_preset(name)
    assert set(study.study_benchmarks) <= set(study.benchmarks) and len(study.study_benchmarks) == 4
    assert len(study.experts) >= 4 and len(set(study.experts)) == len(study.experts)
    simulated = name == "sim"  # its models and generators live in rgd_utils.simulate, not the registry
    for expert in map(Expert.parse, study.experts):
        assert expert.mode in MODES and (simulated or expert.model in model_names())
    assert [g.strength for g in study.generators] == ["strong", "medium", "weak"]
    assert len({g.name for g in study.generators}) == 3
    for spec in study.generators:
        assert (simulated or spec.model in model_names()) and spec.attempts >= study.min_generated
        assert study.generator(spec.name) is spec
    with pytest.raises(ValueError, match="has no generator 'nope'"):
        study.generator("nope")
