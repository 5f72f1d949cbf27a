"""The map's worlds: the knobs of a cell, the routers scored in it, the grids and claims 1-2 at
the paper-like point, and the SIMULATED tables they are written to."""

from __future__ import annotations

import itertools
from collections.abc import Iterable
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
import pandas as pd

from ..config import get_paths
from ..consensus import RobustZ
from ..evaluation import (
    best_single,
    bootstrap_difference,
    bootstrap_interval,
    pool_vote_correct,
    routed_correct,
)
from ..router_sets import router_family
from ..routers import (
    CASCAL,
    CASCALGT,
    BlocVoteRouter,
    ConsensusKNNRouter,
    CorrectnessClassifierRouter,
    KNNRouter,
    LabelFreeKNNRouter,
    Router,
    RoutingData,
)
from ..sim_config import (
    SIM_BENCHMARKS,
    SIM_POOLS,
    SimConfig,
    SimGenerator,
    with_confidence_auroc,
)
from ..study import simulated_study
from ..world_knobs import measure_knobs


#: The command that writes the map (in every output).
COMMAND = "python -m rgd_utils.sim_map"
#: Logit ability of the bloc's members below the others'.
BLOC_GAP = 0.5
#: Mean logit difficulty of the map's benchmark: the pool's accuracies near the paper's averages.
DIFFICULTY = 1.0
#: Models in the bloc of the ``niche x blocs`` grid (of 6).
BLOC_SIZE = 4
#: The contenders, in the order of the figures' legends; "best QA" is the best query-answer router.
CONTENDERS: tuple[str, ...] = ("CASCAL", "best QA", "consensus-kNN", "DS-kNN", "bloc-vote",
                               "best-single", "pool-vote")
QUERY_ANSWER = ("kNN", "classifier-logistic", "CASCAL-GT")


@dataclass(frozen=True)
class Knobs:
    """One point of the map.

    Attributes
    ----------
    niche : float
        Niche strength: ``niche_sd`` of the world (the planted leader's margin is half of it).
    bloc_correlation : float
        Error correlation of the bloc (0: no bloc).
    auroc : float
        Within-model AUROC of the confidence for correctness.
    key_accuracy : float
        Share of the generator's labels that are right (its self-consistency).
    spread : float
        SD of the generated items' logit difficulty (wider: less performance spread).
    """

    niche: float = 2.0
    bloc_correlation: float = 0.0
    auroc: float = 0.75
    key_accuracy: float = 0.71
    spread: float = 1.6


#: The paper-like point (module docstring).
PAPER_LIKE = Knobs()
#: The paper's strong and weak generators for claims 1 and 2 (key accuracy, spread).
STRONG, WEAK = (0.92, 0.8), (0.71, 2.5)


def map_config(knobs: Knobs, n_real: int = 5000, n_generated: int = 3000,
               generators: Iterable[tuple[float, float]] | None = None) -> SimConfig:
    """The world of one map point: the first simulated benchmark, the large pool.

    Parameters
    ----------
    knobs : Knobs
    n_real : int, default 5000
        Real questions (60% train, 40% test).
    n_generated : int, default 3000
        Items per generator.
    generators : iterable of (key accuracy, spread), optional
        Default: the one generator of ``knobs``; they are named ``sim-g0``, ``sim-g1``, ...
    """
    pairs = [(knobs.key_accuracy, knobs.spread)] if generators is None else list(generators)
    config = SimConfig(
        n_generated=n_generated,
        benchmarks=(replace(SIM_BENCHMARKS[0], n_real=n_real, difficulty=DIFFICULTY),),
        generators=tuple(SimGenerator(f"sim-g{i}", "map", 1 - key, spread)
                         for i, (key, spread) in enumerate(pairs)),
        pools=(SIM_POOLS[0],), niche_sd=knobs.niche, niche_margin=knobs.niche / 2,
        bloc_size=BLOC_SIZE if knobs.bloc_correlation > 0 else 1,
        bloc_correlation=knobs.bloc_correlation, bloc_gap=BLOC_GAP,
    )
    return with_confidence_auroc(config, knobs.auroc)


def map_routers(seed: int = 0) -> dict[str, Router]:
    """The routers of a map cell (query-answer ones first)."""
    return {
        "kNN": KNNRouter(),
        "classifier-logistic": CorrectnessClassifierRouter("logistic", random_state=seed),
        "CASCAL-GT": CASCALGT(random_state=seed),
        "consensus-kNN": ConsensusKNNRouter(),
        "DS-kNN": LabelFreeKNNRouter("dawid-skene"),
        "bloc-vote": BlocVoteRouter(),
        "CASCAL": CASCAL(random_state=seed),
    }


def per_query_correct(train: RoutingData, test: RoutingData, real: RoutingData,
                      seed: int = 0) -> dict[str, np.ndarray]:
    """Per-query top-1 correctness on ``test`` of every map router fitted on ``train``, of the
    best single model (chosen on ``real``) and of the whole-pool vote."""
    found = {}
    for name, router in map_routers(seed).items():
        router.fit(train if router.uses_labels else train.without_labels())
        scaler = getattr(router, "scaler_", None) or RobustZ().fit(train.confidence)
        found[name] = routed_correct(router.scores(test), test, 1, scaler, seed)
    found["best-single"] = test.correct()[:, best_single(real, test)[0]]
    found["pool-vote"] = pool_vote_correct(test, RobustZ().fit(real.confidence))
    return found


def _cell_rows(correct: dict[str, np.ndarray], seed: int) -> pd.DataFrame:
    """One row per router and contender: accuracy with its interval, and the paired difference
    with the best single model; the cell's winner and whether its lead is decided."""
    qa = max(QUERY_ANSWER, key=lambda name: correct[name].mean())
    named = {**correct, "best QA": correct[qa]}
    rows = []
    for name, values in named.items():
        low, high = bootstrap_interval(values, random_state=seed)
        diff, diff_low, diff_high = bootstrap_difference(values, correct["best-single"],
                                                         random_state=seed)
        family = "query-answer" if name == "best QA" else router_family(name)
        rows.append({"router": name, "family": family, "accuracy": float(values.mean()),
                     "low": low, "high": high, "vs_best_single": diff,
                     "vs_low": diff_low, "vs_high": diff_high, "best_qa": qa})
    table = pd.DataFrame(rows)
    ranked = sorted(CONTENDERS, key=lambda name: -named[name].mean())
    lead = bootstrap_difference(named[ranked[0]], named[ranked[1]], random_state=seed)
    return table.assign(winner=ranked[0], runner_up=ranked[1], lead=lead[0], lead_low=lead[1],
                        lead_high=lead[2], decided=lead[1] > 0)


def evaluate_cell(knobs: Knobs, seed: int = 0, n_real: int = 5000,
                  n_generated: int = 3000) -> pd.DataFrame:
    """Draw one map world, run every router, measure its knobs.

    Returns
    -------
    pandas.DataFrame
        :func:`_cell_rows` with the set knobs (``set_*``), the measured ones (``measured_*``,
        on the real train split, and ``measured_spread``: the generated items' mean performance
        spread against their labels; the key accuracy is planted, see the simulator's tests)
        and ``seed``.
    """
    study = simulated_study(map_config(knobs, n_real, n_generated), random_state=seed)
    benchmark = SIM_BENCHMARKS[0].name
    real = study.routing_data(study.train_questions("real", benchmark))
    train = study.routing_data(study.train_questions("sim-g0", benchmark))
    test = study.routing_data(study.test_questions(benchmark))
    measured = measure_knobs(real, 4)
    measured["spread"] = float(train.correct().std(axis=1).mean())
    table = _cell_rows(per_query_correct(train, test, real, seed), seed)
    return table.assign(**{f"set_{k}": v for k, v in vars(knobs).items()},
                        **{f"measured_{k}": v for k, v in measured.items()}, seed=seed)


def grid(name: str) -> list[Knobs]:
    """The knobs of one named grid (module docstring)."""
    if name == "niche x blocs":
        return [replace(PAPER_LIKE, niche=n, bloc_correlation=b)
                for b, n in itertools.product((0.0, 0.3, 0.6, 0.9), (0.0, 1.0, 2.0, 3.0, 4.0))]
    if name == "generator":
        return [replace(PAPER_LIKE, key_accuracy=k, spread=s)
                for s, k in itertools.product((0.8, 1.6, 2.5, 3.5), (0.4, 0.55, 0.71, 0.85, 1.0))]
    if name == "calibration":
        return [replace(PAPER_LIKE, auroc=a) for a in (0.5, 0.6, 0.7, 0.8, 0.9)]
    raise ValueError(f"unknown grid {name!r}; choose one of {GRIDS}")


GRIDS: tuple[str, ...] = ("niche x blocs", "generator", "calibration")


def run_grid(name: str, seed: int = 0, n_real: int = 5000, n_generated: int = 3000) -> pd.DataFrame:
    """Every cell of one grid (:func:`evaluate_cell`), with ``grid`` and ``cell`` columns."""
    return pd.concat([evaluate_cell(knobs, seed, n_real, n_generated).assign(grid=name, cell=i)
                      for i, knobs in enumerate(grid(name))], ignore_index=True)


def family_correct(correct: dict[str, np.ndarray], family: str) -> np.ndarray:
    """Per-query mean correctness of one family's routers (the family's mean accuracy)."""
    names = [n for n in map_routers() if router_family(n) == family]
    return np.mean([correct[n] for n in names], axis=0)


def paper_claims(seed: int = 0, n_real: int = 20000, n_generated: int = 5000) -> pd.DataFrame:
    """Claims 1 and 2 of the paper on one paper-like world with the strong and the weak
    generator, with paired bootstrap intervals over the test queries.

    1. query-answer routers degrade faster than query-only ones: drop of the query-answer
       family's mean accuracy from the strong to the weak generator, minus the query-only one's;
    2. CASCAL beats the best query-answer router on the weak generator's data.
    Also CASCAL-GT and CASCAL against the best single model on each generator's data.

    Returns
    -------
    pandas.DataFrame
        ``claim, estimate, low, high, verdict, evidence`` (verdict: "holds" when the interval
        is above 0, "does not hold" below, "inconclusive" otherwise).
    """
    study = simulated_study(map_config(PAPER_LIKE, n_real, n_generated, (STRONG, WEAK)), seed)
    benchmark = SIM_BENCHMARKS[0].name
    real = study.routing_data(study.train_questions("real", benchmark))
    test = study.routing_data(study.test_questions(benchmark))
    runs = {g: per_query_correct(study.routing_data(study.train_questions(g, benchmark)),
                                 test, real, seed) for g in ("sim-g0", "sim-g1")}
    strong, weak = runs["sim-g0"], runs["sim-g1"]
    drop = {f: family_correct(strong, f) - family_correct(weak, f)
            for f in ("query-answer", "query-only")}
    qa = max(QUERY_ANSWER, key=lambda name: weak[name].mean())
    rows = [("1. query-answer routers degrade faster than query-only ones (drop QA - drop QO)",
             drop["query-answer"], drop["query-only"],
             f"QA {family_correct(strong, 'query-answer').mean():.3f} -> "
             f"{family_correct(weak, 'query-answer').mean():.3f}; QO "
             f"{family_correct(strong, 'query-only').mean():.3f} -> "
             f"{family_correct(weak, 'query-only').mean():.3f}"),
            ("2. CASCAL beats the best query-answer router on weak-generator data",
             weak["CASCAL"], weak[qa], f"CASCAL {weak['CASCAL'].mean():.3f}, {qa} "
             f"{weak[qa].mean():.3f}")]
    for label, run in (("strong", strong), ("weak", weak)):
        for router in ("CASCAL-GT", "CASCAL"):
            rows.append((f"{router} beats the best single model ({label} generator's data)",
                         run[router], run["best-single"],
                         f"{router} {run[router].mean():.3f}, best single "
                         f"{run['best-single'].mean():.3f}, pool vote "
                         f"{run['pool-vote'].mean():.3f}"))
    out = []
    for claim, a, b, evidence in rows:
        estimate, low, high = bootstrap_difference(a, b, random_state=seed)
        verdict = "holds" if low > 0 else "does not hold" if high < 0 else "inconclusive"
        out.append({"claim": claim, "estimate": estimate, "low": low, "high": high,
                    "verdict": verdict, "evidence": f"SIMULATED, n={test.n_queries}: {evidence}"})
    return pd.DataFrame(out)


def write_table(table: pd.DataFrame, path: Path) -> Path:
    """A CSV whose first line says SIMULATED and the command that wrote it."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w") as handle:
        handle.write(f"# SIMULATED (rgd_utils.sim_map); written by: {COMMAND}\n")
        table.to_csv(handle, index=False, float_format="%.4f")
    return path


def read_table(path: str | Path) -> pd.DataFrame:
    """A table written by :func:`write_table`."""
    return pd.read_csv(path, comment="#")


def root_relative(path: str | Path) -> Path:
    """``path``, taken from the repository root when relative."""
    return get_paths().resolve(path)
