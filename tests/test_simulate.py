"""The simulated world: its tables follow the study's schemas, it is deterministic, and the
truth planted in it is visible in the data it writes."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pandas as pd
import pytest

from rgd_utils.benchmarks.schema import QUESTION_COLUMNS, make_question_table, validate_questions
from rgd_utils.config import get_preset
from rgd_utils.diagnostics import performance_spread, pool_majority
from rgd_utils.responses import RESPONSE_COLUMNS
from rgd_utils.sim_config import SIM_BENCHMARKS, SIM_GENERATORS, SIM_POOLS, SimConfig, SimGenerator
from rgd_utils.simulate import simulate_world

SMALL = SimConfig(scale=0.01)
LARGE_POOL = list(SIM_POOLS[0].models)


@pytest.fixture(scope="module")
def small():
    return simulate_world(SMALL)


@pytest.fixture(scope="module")
def medium():
    """Real questions only, about 14,000 of them (~80 per cluster)."""
    return simulate_world(SimConfig(scale=0.2, generators=()))


def _wide(world, values: str, questions: pd.DataFrame, models: list[str]) -> pd.DataFrame:
    """``(n, m)`` table of one response column, rows in the order of ``questions``."""
    chosen = world.responses[world.responses["model"].isin(models)]
    return chosen.pivot(index="qid", columns="model", values=values).loc[questions["qid"], models]


def test_tables_follow_the_study_schemas(small) -> None:
    q, r, truth = small.questions, small.responses, small.truth
    n, models = len(q), SMALL.models
    assert list(q.columns) == list(QUESTION_COLUMNS) and list(r.columns) == list(RESPONSE_COLUMNS)
    assert make_question_table(q.to_dict("records")).equals(q)
    assert validate_questions(q).rejected.empty and q["qid"].is_unique
    assert len(models) == 12 and len(r) == 12 * n
    assert r.groupby(["qid", "model"]).size().eq(1).all() and set(r["model"]) == set(models)
    assert set(r["choice"]) == set("ABCD") and r["raw"].isna().all() and (r["confidence"] < 0).all()
    merged = r.merge(q[["qid", "answer"]], on="qid")
    assert (merged["correct"] == (merged["choice"] == merged["answer"])).all()
    assert small.embeddings.shape == (n, 32) and small.embeddings.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(small.embeddings, axis=1), 1.0, rtol=1e-5)
    assert truth["qid"].tolist() == q["qid"].tolist() and (truth["label"] == q["answer"]).all()
    real = truth["source"] == "real"
    assert (truth.loc[real, "true_answer"] == truth.loc[real, "label"]).all()
    assert set(small.skills.columns) == set(models) and set(truth["cluster"]) <= set(small.skills.index)


def test_sizes_subjects_and_splits(small) -> None:
    q = small.questions
    generated = q[q["source"] != "real"].groupby(["source", "benchmark"]).size()
    assert len(generated) == 12 and (generated == 50).all()  # 5,000 x 0.01 per benchmark and generator
    assert set(q.loc[q["source"] != "real", "split"]) == {"train"}
    real = q[q["source"] == "real"]
    for bench in SIM_BENCHMARKS:
        mine = real[real["benchmark"] == bench.name]
        assert sorted(set(mine["subject"])) == sorted(bench.subjects)
        assert abs(len(mine) - round(bench.n_real * 0.01)) <= 2 * len(bench.subjects)
        sizes = mine.groupby("subject").size()
        n_train = mine.groupby("subject")["split"].agg(lambda s: (s == "train").sum())
        assert (sizes >= 2).all() and (n_train == (0.6 * sizes).astype(int)).all()  # paper §1.2
    assert [len(b.subjects) for b in SIM_BENCHMARKS] == [14, 13, 21, 9]  # the paper's §1.1


def test_everything_it_writes_says_it_is_simulated(small) -> None:
    q = small.questions
    assert q["benchmark"].str.startswith("sim_").all() and q["question"].str.startswith("[simulated").all()
    assert small.responses["model"].str.startswith("sim-").all()
    assert set(q["source"]) == {"real", "sim-strong", "sim-medium", "sim-weak"}
    assert "SIMULATED" in small.description


def test_the_same_seed_gives_identical_tables_and_another_seed_does_not(small) -> None:
    again = simulate_world(SMALL, random_state=0)
    for name in ("questions", "responses", "truth", "skills"):
        assert getattr(again, name).equals(getattr(small, name)), name
    assert np.array_equal(again.embeddings, small.embeddings)
    other = simulate_world(SMALL, random_state=1)
    assert not other.responses.equals(small.responses)


def test_embedding_lookups_by_qid(small) -> None:
    qids = small.questions["qid"].iloc[[5, 2]].tolist()
    np.testing.assert_array_equal(small.vectors(qids), small.embeddings[[5, 2]])
    np.testing.assert_array_equal(small.embedding_dict()[qids[0]], small.embeddings[5])


def test_clusters_are_separated_but_not_trivially(medium) -> None:
    truth = medium.truth
    centres = pd.DataFrame(medium.embeddings).groupby(truth["cluster"].to_numpy()).mean()
    nearest = centres.index.to_numpy()[np.argmax(medium.embeddings @ centres.to_numpy().T, axis=1)]
    accuracy = (nearest == truth["cluster"].to_numpy()).mean()
    assert 0.8 < accuracy < 0.98


def test_the_planted_best_model_leads_its_clusters(medium) -> None:
    truth = medium.truth
    choices = _wide(medium, "choice", medium.questions, LARGE_POOL).to_numpy()
    right = choices == truth["true_answer"].to_numpy()[:, None]
    accuracy = pd.DataFrame(right, columns=LARGE_POOL).groupby(truth["cluster"].to_numpy()).mean()
    planted = truth.groupby("cluster")["best_large"].first().loc[accuracy.index]
    assert (accuracy.idxmax(axis=1) == planted).mean() > 0.6  # ~80 questions per cluster; chance 1/6
    assert planted.nunique() == 6  # every model leads some clusters
    for model in LARGE_POOL:  # on the clusters it leads, taken together, it beats every other model
        led = (truth["best_large"] == model).to_numpy()
        pooled = right[led].mean(axis=0)
        assert pooled.argmax() == LARGE_POOL.index(model)


def test_with_a_wide_margin_the_planted_best_wins_every_cluster() -> None:
    world = simulate_world(SimConfig(scale=0.2, generators=(), niche_sd=0.4, niche_margin=1.5))
    right = _wide(world, "correct", world.questions, LARGE_POOL).astype(bool)
    accuracy = right.groupby(world.truth["cluster"].to_numpy()).mean()
    planted = world.truth.groupby("cluster")["best_large"].first().loc[accuracy.index]
    sizes = world.truth["cluster"].value_counts().loc[accuracy.index]
    big = (sizes >= 50).to_numpy()
    assert big.sum() > 50 and (accuracy.idxmax(axis=1)[big] == planted[big]).all()


def test_wrong_answers_are_correlated_and_majority_is_informative_but_not_perfect(medium) -> None:
    truth, q = medium.truth, medium.questions
    choices = _wide(medium, "choice", q, LARGE_POOL)
    true = truth["true_answer"].to_numpy()
    right = choices.to_numpy() == true[:, None]
    majority = pool_majority(choices).to_numpy()
    assert right.mean() + 0.05 < (majority == true).mean() < 0.95
    # two models that are both wrong pick the same letter more often than chance (1/3)
    values = choices.to_numpy()
    same = [(values[:, i] == values[:, j])[~right[:, i] & ~right[:, j]].mean()
            for i in range(6) for j in range(i + 1, 6)]
    assert 0.4 < np.mean(same) < 0.8


def test_confidence_is_higher_when_the_model_is_right(medium) -> None:
    by = medium.responses.groupby(["model", "correct"])["confidence"].median().unstack()
    assert (by[True] > by[False]).all()


@pytest.mark.parametrize("noise", [0.0, 0.1, 0.4])
def test_label_noise_sets_the_measured_self_consistency(noise: float) -> None:
    config = SimConfig(
        n_generated=1000, benchmarks=tuple(replace(b, n_real=40) for b in SIM_BENCHMARKS),
        generators=(SimGenerator("sim-g", "strong", label_noise=noise, difficulty_spread=1.0),),
    )
    truth = simulate_world(config).truth
    generated = truth[truth["source"] == "sim-g"]
    assert len(generated) == 4000
    assert (generated["label"] == generated["true_answer"]).mean() == pytest.approx(1 - noise, abs=0.03)


def test_strong_generators_are_more_self_consistent_and_spread_the_pool_more() -> None:
    world = simulate_world(SimConfig(scale=0.1))
    generated = world.questions["source"] != "real"
    truth = world.truth[generated]
    sc = (truth["label"] == truth["true_answer"]).groupby(truth["source"]).mean()
    spread = performance_spread(world.questions[generated], world.responses, LARGE_POOL)
    mean_spread = spread.groupby("source")["spread"].mean()
    order = ["sim-strong", "sim-medium", "sim-weak"]
    assert sc[order].is_monotonic_decreasing and sc[order].is_unique
    assert mean_spread[order].is_monotonic_decreasing and mean_spread[order].is_unique


def test_the_sim_preset_names_the_simulated_world() -> None:
    preset = get_preset("sim")
    assert preset.benchmarks == preset.study_benchmarks == tuple(b.name for b in SIM_BENCHMARKS)
    assert preset.experts == SIM_POOLS[0].models
    assert [(g.name, g.model, g.strength) for g in preset.generators] == \
        [(g.name, g.name, g.strength) for g in SIM_GENERATORS]
    assert "SIMULATED" in preset.description


@pytest.mark.slow
def test_the_default_world_at_the_papers_scale() -> None:
    world = simulate_world()
    assert len(world.questions) == 70281 + 3 * 4 * 5000  # paper §1.1 sizes + 5,000 per generator
    assert len(world.responses) == 12 * len(world.questions)


def test_a_study_on_some_generators_keeps_their_data_and_the_same_real_data() -> None:
    from rgd_utils.study import load_study

    every = load_study("sim", sim_scale=0.02)
    weak = load_study("sim", sim_scale=0.02, generators=["sim-weak"])
    real = load_study("sim", sim_scale=0.02, generators=[])
    assert weak.sources == ["real", "sim-weak"] and real.sources == ["real"]
    assert set(weak.questions["source"]) == {"real", "sim-weak"}
    assert set(real.questions["source"]) == {"real"}
    assert set(real.responses["qid"]) == set(real.questions["qid"])
    assert real.questions.equals(every.questions[every.questions["source"] == "real"].reset_index(drop=True))
    assert weak.train_questions("sim-weak").reset_index(drop=True).equals(
        every.train_questions("sim-weak").reset_index(drop=True))
