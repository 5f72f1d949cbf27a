"""The knobs of the simulated world, each measured back by the function that measures the real
pools (:func:`rgd_utils.world_knobs.measure_knobs`)."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

from rgd_utils.routers import RoutingData
from rgd_utils.sim_config import SIM_BENCHMARKS, SIM_POOLS, SimConfig, with_confidence_auroc
from rgd_utils.simulate import simulate_world
from rgd_utils.world_knobs import confidence_auroc, error_correlation, measure_knobs, niche_strength

POOL = list(SIM_POOLS[0].models)


def one_benchmark(n_real: int = 6000, **knobs) -> SimConfig:
    """Real questions of one benchmark, the large pool, no generator."""
    return SimConfig(benchmarks=(replace(SIM_BENCHMARKS[0], n_real=n_real),), generators=(),
                     pools=(SIM_POOLS[0],), **knobs)


def answers(config: SimConfig, seed: int = 0) -> RoutingData:
    world = simulate_world(config, random_state=seed)
    wide = world.responses.pivot(index="qid", columns="model", values="choice")
    confidence = world.responses.pivot(index="qid", columns="model", values="confidence")
    order = world.questions["qid"]
    return RoutingData(POOL, world.embeddings, world.questions["subject"].to_numpy(),
                       wide.loc[order, POOL].to_numpy(), confidence.loc[order, POOL].to_numpy(float),
                       labels=world.truth["true_answer"].to_numpy())


@pytest.mark.parametrize("pull", [0.0, 0.5, 0.8])
def test_the_distractor_pull_sets_the_error_correlation(pull: float) -> None:
    data = answers(one_benchmark(distractor_pull=pull))
    assert error_correlation(data.choices, data.labels, 4) == pytest.approx(pull ** 2, abs=0.04)


def test_a_bloc_errs_together_and_alike() -> None:
    def within_and_outside(rho: float) -> tuple[float, float]:
        data = answers(one_benchmark(bloc_size=3, bloc_correlation=rho, distractor_pull=0.0))
        inside = error_correlation(data.choices[:, :3], data.labels, 4)
        outside = error_correlation(data.choices[:, 3:], data.labels, 4)
        return inside, outside

    free, full, half = within_and_outside(0.0), within_and_outside(1.0), within_and_outside(0.5)
    assert free[0] == pytest.approx(0.0, abs=0.04) and full[0] == pytest.approx(1.0)
    assert 0.3 < half[0] < 0.9
    for _, outside in (free, full, half):  # the models outside the bloc stay independent
        assert outside == pytest.approx(0.0, abs=0.04)


def test_the_bloc_agrees_in_correctness_and_sits_below_the_others() -> None:
    data = answers(one_benchmark(bloc_size=3, bloc_correlation=1.0, bloc_gap=1.0))
    right = data.correct().astype(float)
    phi = np.corrcoef(right.T)
    assert phi[0, 1] > 0.6 and phi[0, 2] > 0.6 and phi[1, 2] > 0.6  # one shared draw decides
    assert phi[3, 4] < 0.3 and phi[0, 4] < 0.3  # item difficulty alone
    assert right[:, :3].mean() + 0.05 < right[:, 3:].mean()  # bloc_gap (blurred by the niches)


@pytest.mark.parametrize("auroc", [0.55, 0.7, 0.9])
def test_the_confidence_auroc_is_what_was_set(auroc: float) -> None:
    config = with_confidence_auroc(one_benchmark(), auroc)
    assert config.confidence_auroc == pytest.approx(auroc)
    knobs = measure_knobs(answers(config), 4)
    assert knobs["confidence_auroc"] == pytest.approx(auroc, abs=0.03)


def test_niche_strength_grows_with_the_niches_and_is_near_zero_without() -> None:
    measured = [niche_strength(answers(one_benchmark(n_real=12000, niche_sd=sd, niche_margin=0.0,
                                                     clusters_per_subject=(1, 1))).correct(),
                               answers(one_benchmark(n_real=12000, niche_sd=sd, niche_margin=0.0,
                                                     clusters_per_subject=(1, 1))).subjects)
                for sd in (0.0, 0.5, 1.0)]
    assert measured[0] < 0.1 < measured[1] < measured[2]
    # logit accuracy averages over item difficulty, which shrinks the skill's spread
    assert 0.5 < measured[2] < 1.0


def test_bad_knobs_are_refused() -> None:
    with pytest.raises(ValueError, match="bloc_size"):
        one_benchmark(bloc_size=7)
    with pytest.raises(ValueError, match="bloc_correlation"):
        one_benchmark(bloc_correlation=1.5)
    with pytest.raises(ValueError, match="auroc"):
        with_confidence_auroc(one_benchmark(), 1.0)


def test_the_confidence_auroc_skips_unanswered_queries() -> None:
    correct = np.array([[1, 1], [0, 0], [1, 0], [0, 1]], dtype=bool)
    confidence = np.array([[0.9, 0.8], [0.1, np.nan], [0.8, 0.2], [0.2, 0.7]])
    # model 0 ranks its answers perfectly (AUROC 1); model 1 answered three queries and ranks its
    # two right ones above its wrong one (AUROC 1), its unanswered query left out
    assert confidence_auroc(confidence, correct) == 1.0
    confidence[0, 1] = 0.1  # now its right answer at 0.1 is below its wrong one at 0.2: 0.5
    assert confidence_auroc(confidence, correct) == 0.75
