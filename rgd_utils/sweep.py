"""A generator-quality sweep on the simulated world: router accuracy as a generator's label noise
and difficulty spread vary, query-answer against query-only routers (SIMULATED; no LLM).

The world has one generator per difficulty spread (the spread of its items' difficulty: wider
means more items the whole pool gets right or wrong, i.e. less performance spread), written with
correct answers. Each grid point then relabels the *same* items: a share ``label_noise`` of them
(``1 -`` the generator's self-consistency) gets a wrong letter, drawn uniformly among the other
three. The corruption is nested (an item wrong at one noise level stays wrong at every higher
one), so along the noise axis only the labels change: a query-only router, which never reads a
label, scores exactly the same at every noise level, and what a query-answer router loses is
what the wrong labels cost it. Routers are trained on each grid point's items and scored on the
world's real test split.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace

import numpy as np
import pandas as pd

from .aggregate import macro_average
from .config import GeneratorSpec
from .experiments import run_routers
from .router_sets import RouterSet, router_family
from .routers import (
    ConsensusKNNRouter,
    CorrectnessClassifierRouter,
    KNNRouter,
    LabelFreeKNNRouter,
    SmoothieRouter,
)
from .sim_config import OPTION_LETTERS, SimConfig, SimGenerator
from .study import Study, simulated_study

#: Label noise of the grid (0: every generated answer right; 0.75: as good as random letters).
LABEL_NOISES: tuple[float, ...] = (0.0, 0.15, 0.3, 0.45, 0.6, 0.75)
#: Difficulty spread of the grid (the ``sim`` preset's strong, medium and weak generators).
DIFFICULTY_SPREADS: tuple[float, ...] = (0.8, 1.6, 2.5)


def sweep_name(label_noise: float, difficulty_spread: float) -> str:
    """Source name of one grid point, e.g. ``"sim-noise0.30-spread1.6"``."""
    return f"sim-noise{label_noise:.2f}-spread{difficulty_spread:.1f}"


def relabelled_study(label_noises: Sequence[float] = LABEL_NOISES,
                     difficulty_spreads: Sequence[float] = DIFFICULTY_SPREADS,
                     scale: float = 0.1, seed: int = 0) -> tuple[Study, pd.DataFrame]:
    """The simulated study of the sweep: one train source per grid point (module docstring).

    Returns
    -------
    study : Study
        Real train and test queries and, per grid point, the relabelled items (qids
        ``<item qid>~<noise>``, embedded as the item) with the pool's answers to them.
    grid : pandas.DataFrame
        ``train_source, label_noise, difficulty_spread, measured_noise`` (the share of labels
        actually wrong).
    """
    writers = tuple(SimGenerator(f"sim-spread{spread:.1f}", "sweep", 0.0, spread)
                    for spread in difficulty_spreads)
    base = simulated_study(SimConfig(scale=scale, generators=writers), random_state=seed)
    questions, responses = base.questions, base.responses
    real = questions[questions["source"] == "real"]
    rng = np.random.default_rng(seed)
    parts, answered, grid = [real], [responses[responses["source"] == "real"]], []
    for writer, spread in zip(writers, difficulty_spreads):
        items = questions[questions["source"] == writer.name]
        draw, shift = rng.random(len(items)), rng.integers(1, len(OPTION_LETTERS), len(items))
        truth = items["answer"].to_numpy()
        index = np.searchsorted(OPTION_LETTERS.astype(str), truth.astype(str))
        wrong = OPTION_LETTERS[(index + shift) % len(OPTION_LETTERS)]
        their = responses[responses["qid"].isin(set(items["qid"]))]
        for noise in label_noises:
            source, suffix = sweep_name(noise, spread), f"~{noise:.2f}"
            labels = np.where(draw < noise, wrong, truth)
            parts.append(items.assign(qid=items["qid"] + suffix, source=source, answer=labels))
            relabel = dict(zip(items["qid"], labels))
            answered.append(their.assign(
                qid=their["qid"] + suffix, source=source,
                correct=their["choice"].to_numpy() == their["qid"].map(relabel).to_numpy()))
            grid.append({"train_source": source, "label_noise": noise,
                         "difficulty_spread": spread, "measured_noise": float((labels != truth).mean())})
    spec = replace(base.preset, generators=tuple(
        GeneratorSpec(g["train_source"], g["train_source"], "sweep", 0.0, len(parts[1]))
        for g in grid))
    study = Study(spec, pd.concat(parts, ignore_index=True), pd.concat(answered, ignore_index=True),
                  lambda qids: base.embed([q.split("~", 1)[0] for q in qids]), True,
                  base.description + "; generator-quality sweep (relabelled items)", {})
    return study, pd.DataFrame(grid)


def sweep_routers(seed: int = 0) -> RouterSet:
    """The sweep's routers: kNN and the logistic correctness classifier (query-answer), consensus
    kNN, Smoothie-Train and Dawid–Skene kNN (query-only); the clustering routers are left out
    for time."""
    return lambda train: {
        "kNN": KNNRouter(random_state=seed),
        "classifier-logistic": CorrectnessClassifierRouter("logistic", random_state=seed),
        "consensus-kNN": ConsensusKNNRouter(random_state=seed),
        "Smoothie-Train": SmoothieRouter(random_state=seed),
        "DS-kNN": LabelFreeKNNRouter("dawid-skene", random_state=seed),
    }


def generator_quality_sweep(label_noises: Sequence[float] = LABEL_NOISES,
                            difficulty_spreads: Sequence[float] = DIFFICULTY_SPREADS,
                            scale: float = 0.1, routers: RouterSet | None = None,
                            ks: tuple[int, ...] = (1,), seed: int = 0) -> pd.DataFrame:
    """Train routers on each grid generator's items of a simulated world; score them on its real
    test split.

    Parameters
    ----------
    label_noises, difficulty_spreads : sequences of float
        The grid.
    scale : float, default 0.1
        Size of the world (:class:`~rgd_utils.sim_config.SimConfig`).
    routers : RouterSet, optional
        Default :func:`sweep_routers`.
    ks : tuple of int, default (1,)
        Routed models per query.
    seed : int, default 0
        Seed of the world and of the routers.

    Returns
    -------
    pandas.DataFrame
        One row per (generator, router, k), averaged over the benchmarks
        (:func:`~rgd_utils.aggregate.macro_average`): the results columns plus
        ``label_noise``, ``difficulty_spread``, ``measured_noise`` and ``family``.
    """
    study, grid = relabelled_study(label_noises, difficulty_spreads, scale, seed)
    runs = run_routers(study, routers or sweep_routers(seed), sources=list(grid["train_source"]),
                       ks=ks, seed=seed, costs=False)
    table = macro_average(runs.results).merge(grid, on="train_source")
    table = table.assign(family=table["router"].map(router_family))
    return table.sort_values(["difficulty_spread", "label_noise", "router", "k"],
                             kind="stable").reset_index(drop=True)
