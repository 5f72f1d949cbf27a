"""When does consensus routing pay? A map of SIMULATED worlds, with the real pools placed on it.

Each cell of the map is one simulated world (:mod:`rgd_utils.simulate`: one benchmark, the
six-model pool, one generator) drawn with some knobs; the routers are trained on the generator's
items and scored on the world's real test split, with per-query correctness so that every
comparison has a paired bootstrap interval. The contenders: CASCAL, the best query-answer
router (kNN, logistic classifier or CASCAL-GT, picked on the test split, which favours it),
consensus-kNN, Dawid–Skene kNN, the bloc-aware vote router, the best single model (chosen on the
real train split) and the whole-pool vote. A cell's winner is decided when its paired interval
against the runner-up is above 0.

Grids (each axis is also measured on every world with :func:`rgd_utils.world_knobs.measure_knobs`,
the function that measures the real pools):

* ``niche x blocs``: niche strength against the error correlation of a bloc of 4 of the 6
  models (weaker by ``BLOC_GAP``), at the paper-like generator;
* ``generator``: the generator's key accuracy against its items' difficulty spread, at the
  paper-like pool;
* ``calibration``: the confidence's AUROC for correctness, at the paper-like point.

Paper-like point (:data:`PAPER_LIKE`): six models of six different families, so no bloc
(the paper's Pool-Large and Pool-Small); its weak generator's key accuracy 0.71 and its
"low"-quality generator row (the one-page summary's table: 92/84/71); niche strength and
calibration chosen so that routing has room (the paper reports CASCAL above its single-model
and query-answer baselines) [OURS].

Run ``python -m rgd_utils.sim_map`` (about 5 minutes on two cores); it writes
``figures/sim_map_*.png|pdf`` and ``results/tables/sim_map*.csv`` (the grids; the real pools'
placement; claims 1 and 2; the bloc-aware router on the real pools).
"""

from __future__ import annotations

import argparse
import itertools
from collections.abc import Iterable
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
import pandas as pd

from .config import find_root
from .consensus import RobustZ
from .evaluation import (
    best_single,
    bootstrap_difference,
    bootstrap_interval,
    pool_vote_correct,
    routed_correct,
)
from .experiments import router_family
from .routers import (
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
from .simulate import SIM_BENCHMARKS, SIM_POOLS, SimConfig, SimGenerator, with_confidence_auroc
from .study import simulated_study
from .world_knobs import measure_knobs

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


#: The real pools placed on the map: preset -> label.
REAL_POOLS: dict[str, str] = {"cpu": "default pool", "cpu-specialists": "specialists' pool"}


def real_pool_knobs(preset: str, data_dir: str | Path = "data",
                    results_dir: str | Path = "results") -> dict[str, float]:
    """The map's knobs measured on a real pool: its answers on the real train split
    (:func:`~rgd_utils.world_knobs.measure_knobs`), and its generators' key accuracy
    (self-consistency, the generator's own answer) and items' mean performance spread, averaged
    over generators and benchmarks from the diagnostics of notebooks 03 and 04."""
    from .study import load_study

    study = load_study(preset, data_dir=data_dir)
    questions = study.questions[(study.questions["source"] == "real")
                                & (study.questions["split"] == "train")]
    knobs = measure_knobs(study.routing_data(questions), questions["options"].map(len).to_numpy())
    folder = _root_relative(results_dir) / "diagnostics"
    sc = pd.read_parquet(folder / f"03_self_consistency_{preset}.parquet")
    spread = pd.read_parquet(folder / f"04_performance_spread_{preset}.parquet")
    knobs["key_accuracy"] = float(sc.loc[sc["method"] == "generator", "sc_rate"].mean())
    knobs["spread"] = float(spread.loc[spread["source"] != "real", "mean_spread"].mean())
    return knobs


def _root_relative(path: str | Path) -> Path:
    path = Path(path)
    return path if path.is_absolute() else find_root() / path


def real_study_winners(results: pd.DataFrame, preset: str) -> pd.DataFrame:
    """What the real study measured for the map's contenders, per generated train source.

    Parameters
    ----------
    results : pandas.DataFrame
        The study's results table (``results/results.parquet``).
    preset : str

    Returns
    -------
    pandas.DataFrame
        One row per train source: each contender's benchmark-averaged top-1 accuracy (``bloc-vote``
        NaN until the study has run it), ``winner`` and ``cascal_minus_best_single``.
    """
    from .results import with_averages

    rows = results[(results["preset"] == preset) & (results["k"] == 1)
                   & (results["filter"] == "none")]
    average = with_averages(rows)
    average = average[average["benchmark"] == "average"].set_index(["train_source", "router"])
    accuracy = average["accuracy"]
    references = {r: accuracy.get(("real", r), np.nan) for r in ("best-single", "pool-vote")}
    out = []
    for source in sorted(set(average.index.get_level_values(0)) - {"real"}):
        found = {r: accuracy.get((source, r), np.nan)
                 for r in ("CASCAL", "consensus-kNN", "DS-kNN", "bloc-vote")}
        found["best QA"] = max(accuracy.get((source, r), np.nan) for r in QUERY_ANSWER)
        found.update(references)
        measured = {k: v for k, v in found.items() if not np.isnan(v)}
        out.append({"preset": preset, "train_source": source, **found,
                    "winner": max(measured, key=measured.get),
                    "cascal_minus_best_single": found["CASCAL"] - found["best-single"]})
    return pd.DataFrame(out)


def nearest_cell(table: pd.DataFrame, knobs: dict[str, float]) -> pd.Series:
    """The ``niche x blocs`` cell nearest to a pool's measured niche strength and error
    correlation (each axis scaled by its range over the grid)."""
    cells = table[table["grid"] == "niche x blocs"].drop_duplicates("cell")
    x, y = cells["measured_niche_strength"], cells["measured_error_correlation"]
    distance = (((x - knobs["niche_strength"]) / np.ptp(x)) ** 2
                + ((y - knobs["error_correlation"]) / np.ptp(y)) ** 2)
    return cells.loc[distance.idxmin()]


def real_pool_rows(table: pd.DataFrame, results: pd.DataFrame,
                   knobs: dict[str, dict[str, float]]) -> pd.DataFrame:
    """Each real pool's measured knobs, the map's prediction at its nearest cell, and what the
    real study measured (per generated train source)."""
    rows = []
    for preset, measured in knobs.items():
        cell = nearest_cell(table, measured)
        predicted = table[(table["grid"] == "niche x blocs") & (table["cell"] == cell["cell"])]
        cascal = predicted.set_index("router").loc["CASCAL"]
        for _, real in real_study_winners(results, preset).iterrows():
            rows.append({
                "pool": REAL_POOLS[preset], "preset": preset,
                **{f"measured_{k}": v for k, v in measured.items()},
                "nearest_cell": int(cell["cell"]), "cell_niche": cell["set_niche"],
                "cell_bloc_correlation": cell["set_bloc_correlation"],
                "predicted_winner": cell["winner"], "predicted_decided": bool(cell["decided"]),
                "predicted_cascal_minus_best_single": cascal["vs_best_single"],
                "train_source": real["train_source"], "measured_winner": real["winner"],
                "measured_cascal_minus_best_single": real["cascal_minus_best_single"],
                "winner_agrees": real["winner"] == cell["winner"],
                "sign_agrees": (np.sign(real["cascal_minus_best_single"])
                                == np.sign(cascal["vs_best_single"])),
            })
    return pd.DataFrame(rows)


def real_bloc_vote(preset: str, seed: int = 0, data_dir: str | Path = "data") -> pd.DataFrame:
    """The bloc-aware vote router on a real pool, beside CASCAL and the best single model, with
    paired bootstrap intervals over the test queries of every benchmark (pooled).

    Returns
    -------
    pandas.DataFrame
        One row per train source the pool answered: ``bloc_vote, cascal, best_single``
        (accuracies over the pooled test queries) and the paired differences ``vs_best_single`` and ``vs_cascal`` with their
        95% intervals (``*_low``, ``*_high``).
    """
    from .study import load_study

    study = load_study(preset, data_dir=data_dir)
    answered = set(study.responses["source"])
    rows = []
    for source in [s for s in study.sources if s in answered]:
        found: dict[str, list[np.ndarray]] = {"bloc-vote": [], "CASCAL": [], "best-single": []}
        for benchmark in study.preset.study_benchmarks:
            real = study.routing_data(study.train_questions("real", benchmark))
            train = study.routing_data(study.train_questions(source, benchmark))
            test = study.routing_data(study.test_questions(benchmark))
            routers = (("bloc-vote", BlocVoteRouter()), ("CASCAL", CASCAL(random_state=seed)))
            for name, router in routers:
                router.fit(train.without_labels())
                scaler = getattr(router, "scaler_", None) or RobustZ().fit(train.confidence)
                found[name].append(routed_correct(router.scores(test), test, 1, scaler, seed))
            found["best-single"].append(test.correct()[:, best_single(real, test)[0]])
        pooled = {name: np.concatenate(values) for name, values in found.items()}
        row = {"pool": REAL_POOLS[preset], "preset": preset, "train_source": source,
               "n": pooled["bloc-vote"].size, "bloc_vote": pooled["bloc-vote"].mean(),
               "cascal": pooled["CASCAL"].mean(), "best_single": pooled["best-single"].mean()}
        for other, key in (("best-single", "vs_best_single"), ("CASCAL", "vs_cascal")):
            diff, low, high = bootstrap_difference(pooled["bloc-vote"], pooled[other],
                                                   random_state=seed)
            row.update({key: diff, f"{key}_low": low, f"{key}_high": high})
        rows.append(row)
    return pd.DataFrame(rows)


# --- figures ------------------------------------------------------------------------------------

def _palette() -> dict[str, object]:
    import seaborn as sns

    return dict(zip(CONTENDERS, sns.color_palette("colorblind", len(CONTENDERS))))


def phase_figure(table: pd.DataFrame, real: pd.DataFrame):
    """Two phase diagrams: who wins where (filled: decided; hollow: the lead's interval
    reaches 0), with the real pools as stars."""
    import matplotlib.pyplot as plt

    colours = _palette()
    fig, axes = plt.subplots(1, 2, figsize=(13, 5.2))
    panels = (("niche x blocs", "measured_niche_strength", "measured_error_correlation",
               "niche strength (SD of model x subject logit accuracy)",
               "error correlation (wrong answers alike, chance-corrected)"),
              ("generator", "measured_key_accuracy", "measured_spread",
               "generator's key accuracy (self-consistency)",
               "generated items' mean performance spread"))
    pools = real.drop_duplicates("preset")
    for ax, (name, x, y, xlabel, ylabel) in zip(axes, panels):
        cells = table[table["grid"] == name].drop_duplicates("cell")
        if x == "measured_key_accuracy":
            cells = cells.assign(measured_key_accuracy=cells["set_key_accuracy"])
        for winner, group in cells.groupby("winner"):
            decided = group["decided"].astype(bool)
            ax.scatter(group.loc[decided, x], group.loc[decided, y], s=150, color=colours[winner],
                       label=winner, edgecolor="black")
            ax.scatter(group.loc[~decided, x], group.loc[~decided, y], s=150, facecolor="white",
                       edgecolor=colours[winner], linewidth=2.5, label=f"{winner} (undecided)")
        for _, cell in cells.iterrows():
            cascal = table[(table["grid"] == name) & (table["cell"] == cell["cell"])
                           & (table["router"] == "CASCAL")]["vs_best_single"].iloc[0]
            ax.annotate(f"{100 * cascal:+.0f}", (cell[x], cell[y]), fontsize=7, ha="center",
                        va="center")
        for _, pool in pools.iterrows():
            px, py = pool[x], pool[y]
            ax.scatter([px], [py], marker="*", s=350, color="black", zorder=5)
            ax.annotate(f"{pool['pool']} (real)", (px, py), xytext=(6, 6),
                        textcoords="offset points", fontsize=9)
        ax.set(xlabel=xlabel, ylabel=ylabel, title=f"SIMULATED map: {name}")
    handles, labels = [], []
    for ax in axes:
        for h, lab in zip(*ax.get_legend_handles_labels()):
            if lab not in labels and len(h.get_offsets()):
                handles.append(h)
                labels.append(lab)
    fig.legend(handles, labels, loc="lower center", ncol=min(len(labels), 6), frameon=False)
    fig.suptitle("SIMULATED: the winner among CASCAL, best query-answer router, consensus-kNN, "
                 "DS-kNN, bloc-vote, best single model and pool vote\n(numbers: CASCAL minus best "
                 f"single, points; hollow: undecided at 95%; stars: real pools)   [{COMMAND}]",
                 fontsize=10)
    fig.tight_layout(rect=(0, 0.07, 1, 0.93))
    return fig


#: The 1-D slices of the sweep figure: (grid, fixed set knobs, x column, label, real knob).
SLICES = (
    ("niche x blocs", {"set_bloc_correlation": 0.0}, "measured_niche_strength",
     "niche strength (no bloc)", "niche_strength"),
    ("niche x blocs", {"set_niche": PAPER_LIKE.niche}, "measured_error_correlation",
     f"error correlation (bloc of {BLOC_SIZE}, niche {PAPER_LIKE.niche})", "error_correlation"),
    ("generator", {"set_spread": PAPER_LIKE.spread}, "set_key_accuracy",
     f"generator's key accuracy (spread {PAPER_LIKE.spread})", "key_accuracy"),
    ("generator", {"set_key_accuracy": PAPER_LIKE.key_accuracy}, "measured_spread",
     f"items' performance spread (key accuracy {PAPER_LIKE.key_accuracy})", "spread"),
    ("calibration", {}, "measured_confidence_auroc", "confidence AUROC", "confidence_auroc"),
)


#: Line styles of the references in the sweep figure.
REFERENCE_LINES: dict[str, dict[str, object]] = {
    "best-single": {"color": "black", "linestyle": "--", "linewidth": 2},
    "pool-vote": {"color": "grey", "linestyle": ":", "linewidth": 2},
}


def sweep_figure(table: pd.DataFrame, real: pd.DataFrame):
    """Each router's accuracy along one knob at a time (paper-like elsewhere), coloured by
    family, with the best single model (dashed) and the pool vote (dotted) as lines and the
    real pools' measured values as vertical lines."""
    import matplotlib.pyplot as plt
    import seaborn as sns

    routers = list(map_routers())
    family_colours = {"query-answer": sns.color_palette("Blues", 5)[2:],
                      "query-only": sns.color_palette("Oranges", 6)[1:]}
    styles, counts = {}, {"query-answer": 0, "query-only": 0}
    for name in routers:
        family = router_family(name)
        styles[name] = family_colours[family][counts[family]]
        counts[family] += 1
    fig, axes = plt.subplots(1, len(SLICES), figsize=(4.2 * len(SLICES), 4.4), sharey=True)
    pools = real.drop_duplicates("preset")
    for ax, (name, fixed, x, label, knob) in zip(axes, SLICES):
        rows = table[table["grid"] == name]
        for column, value in fixed.items():
            rows = rows[np.isclose(rows[column], value)]
        for router in [*routers, "best-single", "pool-vote"]:
            line = rows[rows["router"] == router].sort_values(x)
            kwargs = REFERENCE_LINES.get(router, {
                "color": styles.get(router), "marker": "o",
                "linewidth": 2.5 if router in ("CASCAL", "bloc-vote") else 1.5})
            ax.plot(line[x], line["accuracy"], label=f"{router} ({router_family(router)})",
                    **kwargs)
            if router not in REFERENCE_LINES:
                ax.fill_between(line[x], line["low"], line["high"], color=kwargs["color"],
                                alpha=0.1)
        for _, pool in pools.iterrows():
            value = pool[f"measured_{knob}"]
            ax.axvline(value, color="black", linewidth=0.8)
            ax.annotate(pool["pool"], (value, 0.02), xycoords=("data", "axes fraction"),
                        rotation=90, fontsize=8, ha="right", va="bottom")
        ax.set(xlabel=label, title="SIMULATED")
    axes[0].set_ylabel("top-1 accuracy on the real test split")
    handles, labels = axes[0].get_legend_handles_labels()
    fig.legend(handles, labels, loc="lower center", ncol=5, frameon=False, fontsize=9)
    fig.suptitle("SIMULATED: router accuracy along each knob (paper-like elsewhere; routers "
                 "trained on generated items); vertical lines: the real pools' measured values "
                 f"[{COMMAND}]", fontsize=10)
    fig.tight_layout(rect=(0, 0.12, 1, 0.94))
    return fig


# --- the command ---------------------------------------------------------------------------------

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


def main(argv: list[str] | None = None) -> None:
    """Run the grids, the claims and the real pools' placement; write figures and tables."""
    from .plots import save_figure, use_style

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--n-real", type=int, default=5000)
    parser.add_argument("--n-generated", type=int, default=3000)
    parser.add_argument("--grids", nargs="*", default=list(GRIDS), choices=list(GRIDS))
    parser.add_argument("--out", default=".", help="folder of figures/ and results/tables/")
    args = parser.parse_args(argv)
    out = _root_relative(args.out)
    table = pd.concat([run_grid(g, args.seed, args.n_real, args.n_generated) for g in args.grids],
                      ignore_index=True)
    knobs = {preset: real_pool_knobs(preset) for preset in REAL_POOLS}
    real = real_pool_rows(table, pd.read_parquet(_root_relative("results/results.parquet")), knobs)
    tables = out / "results" / "tables"
    write_table(table, tables / "sim_map.csv")
    write_table(real, tables / "sim_map_real.csv")
    write_table(paper_claims(args.seed), tables / "sim_map_claims.csv")
    write_table(pd.concat([real_bloc_vote(p, args.seed) for p in REAL_POOLS], ignore_index=True),
                tables / "sim_map_bloc_vote_real.csv")
    use_style()
    save_figure(phase_figure(table, real), "sim_map_phase", out / "figures",
                caption="SIMULATED map: which router wins in each region of the simulated pool and generator knobs, "
                        "with CASCAL's margin over the best single model; stars: the real pools.")
    save_figure(sweep_figure(table, real), "sim_map_sweeps", out / "figures",
                caption="SIMULATED map: top-1 accuracy of each router along one knob at a time, the others paper-like; "
                        "vertical lines: the real pools' measured values.")


if __name__ == "__main__":
    main()
