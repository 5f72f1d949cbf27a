"""Every router on degenerate data: empty subject names, a single model, NaN confidences,
all-None choices, no labels, no train queries. Each either raises a ValueError that says what
is wrong, or returns finite ``(n, m)`` scores (the documented degradation)."""

from __future__ import annotations

import numpy as np
import pytest

from rgd_utils.routers import (
    CASCAL,
    CASCALGT,
    BestPerSubjectRouter,
    BestSingleRouter,
    ClusterRouter,
    ConsensusKNNRouter,
    CorrectnessClassifierRouter,
    KNNRouter,
    OracleRouter,
    RandomRouter,
    RoutingData,
    SmoothieRouter,
)

LETTERS = np.array(list("ABCD"), dtype=object)
ROUTERS = {
    "random": RandomRouter, "best-single": BestSingleRouter,
    "best-per-subject": BestPerSubjectRouter, "oracle": OracleRouter, "kNN": KNNRouter,
    "cluster": lambda: ClusterRouter(n_clusters=3),
    "classifier": lambda: CorrectnessClassifierRouter("logistic"), "CASCAL-GT": CASCALGT,
    "consensus-kNN": ConsensusKNNRouter, "Smoothie": SmoothieRouter, "CASCAL": CASCAL,
}
LEARN_FROM_LABELS = {"best-single", "best-per-subject", "oracle", "kNN", "cluster", "classifier",
                     "CASCAL-GT"}


def data(n=40, m=3, seed=0, subjects=None, nan_confidence=False, all_none=False, labels=True):
    rng = np.random.default_rng(seed)
    choices = LETTERS[rng.integers(0, 4, (n, m))].astype(object)
    if all_none:
        choices[:] = None
    confidence = np.full((n, m), np.nan) if nan_confidence else rng.normal(size=(n, m))
    return RoutingData(
        [f"m{j}" for j in range(m)], rng.normal(size=(n, 8)),
        np.array(rng.choice(["x", "y"], n) if subjects is None else subjects, dtype=object),
        choices, confidence, LETTERS[rng.integers(0, 4, n)].astype(object) if labels else None)


# case -> (train data, test data, {router: error message it must raise})
CASES = {
    "empty subject names": (dict(subjects=[""] * 40), {}, {}),
    "a single model": (dict(m=1), dict(m=1), {"Smoothie": "at least 3 models"}),
    "NaN confidences": (dict(nan_confidence=True), dict(nan_confidence=True), {}),
    "all choices None": (dict(all_none=True), {}, {"CASCAL": "no model answered",
                                                   "CASCAL-GT": "no model answered"}),
    "no labels": (dict(labels=False), {}, {name: "no labels" for name in LEARN_FROM_LABELS
                                           if name != "oracle"}),
    "no train queries": (dict(n=0, subjects=[]), {}, {
        name: "zero train queries" for name in ROUTERS if name not in ("random", "oracle")}),
}


@pytest.mark.parametrize("case", CASES)
@pytest.mark.parametrize("name", ROUTERS)
def test_router_raises_a_clear_error_or_gives_finite_scores(case, name):
    train_args, test_args, errors = CASES[case]
    train, test = data(**train_args), data(seed=1, **test_args)
    router = ROUTERS[name]()
    if name in errors:
        with pytest.raises(ValueError, match=errors[name]):
            router.fit(train).scores(test)
        return
    scores = router.fit(train).scores(test)
    assert scores.shape == (test.n_queries, test.n_models)
    assert np.isfinite(scores).all()
    routed = router.route(test, 1)
    assert routed.shape == (test.n_queries, 1) and ((0 <= routed) & (routed < test.n_models)).all()


def test_all_none_choices_make_every_model_wrong_for_the_label_routers():
    # nobody answered: every model's train accuracy is 0, so the ranking is the seeded tie-break
    scores = BestSingleRouter().fit(data(all_none=True)).scores(data(seed=1))
    assert sorted(scores[0]) == [-2, -1, 0] and (scores == scores[0]).all()
    assert np.array_equal(KNNRouter().fit(data(all_none=True)).scores(data(seed=1)),
                          np.zeros((40, 3)))
