"""rgd_utils.sweep: the generator-quality sweep on the simulated world."""

from __future__ import annotations

import numpy as np
import pytest

from rgd_utils.sweep import generator_quality_sweep, relabelled_study, sweep_name


def test_relabelling_keeps_the_items_and_corrupts_a_nested_share_of_labels():
    study, grid = relabelled_study((0.0, 0.5, 1.0), (0.8,), scale=0.02, seed=3)
    assert list(grid["train_source"]) == [sweep_name(n, 0.8) for n in (0.0, 0.5, 1.0)]
    assert study.sources == ["real", *grid["train_source"]]
    sets = {n: study.train_questions(sweep_name(n, 0.8)).set_index(
        study.train_questions(sweep_name(n, 0.8))["qid"].str.split("~").str[0])
        for n in (0.0, 0.5, 1.0)}
    assert (sets[0.0].index == sets[1.0].index).all()  # the same items at every noise level
    assert grid["measured_noise"].tolist()[0] == 0.0 and grid["measured_noise"].tolist()[2] == 1.0
    assert grid["measured_noise"].tolist()[1] == pytest.approx(0.5, abs=0.1)
    clean, half = sets[0.0]["answer"], sets[0.5]["answer"]
    # the pool's answers are the same; only `correct` follows the new labels
    responses = study.responses.set_index(["qid", "model"])
    some = study.train_questions(sweep_name(0.5, 0.8))["qid"].iloc[0]
    base = some.split("~")[0] + "~0.00"
    for model in study.experts[:2]:
        assert responses.loc[(some, model), "choice"] == responses.loc[(base, model), "choice"]
        assert responses.loc[(some, model), "correct"] == (
            responses.loc[(some, model), "choice"] == half[some.split("~")[0]])
    assert ((clean != half).mean()) == pytest.approx(grid["measured_noise"].iloc[1])
    vectors = study.embed([some, base])
    np.testing.assert_array_equal(vectors[0], vectors[1])


def test_query_only_routers_are_flat_along_label_noise_and_query_answer_ones_fall():
    sweep = generator_quality_sweep((0.0, 1.0), (0.8,), scale=0.05, seed=0)
    accuracy = sweep.pivot_table(index="router", columns="label_noise", values="accuracy")
    for router in ("consensus-kNN", "Smoothie-Train", "DS-kNN"):
        assert accuracy.loc[router, 0.0] == accuracy.loc[router, 1.0]
    for router in ("kNN", "classifier-logistic"):  # every label wrong: they route worse
        assert accuracy.loc[router, 1.0] < accuracy.loc[router, 0.0]
    assert set(sweep["family"]) == {"query-answer", "query-only"}
