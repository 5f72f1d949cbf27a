"""The real pools placed on the map: their knobs measured, what the real study measured for the
map's contenders, and the bloc-aware vote router on them."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from ..consensus import RobustZ
from ..evaluation import best_single, bootstrap_difference, routed_correct
from ..results import with_averages
from ..routers import CASCAL, BlocVoteRouter
from ..study import load_study
from ..world_knobs import measure_knobs
from .cells import QUERY_ANSWER, root_relative

#: The real pools placed on the map: preset -> label.
REAL_POOLS: dict[str, str] = {"cpu": "default pool", "cpu-specialists": "specialists' pool"}


def real_pool_knobs(preset: str, data_dir: str | Path = "data",
                    results_dir: str | Path = "results") -> dict[str, float]:
    """The map's knobs measured on a real pool: its answers on the real train split
    (:func:`~rgd_utils.world_knobs.measure_knobs`), and its generators' key accuracy
    (self-consistency, the generator's own answer) and items' mean performance spread, averaged
    over generators and benchmarks from the diagnostics of notebooks 03 and 04."""
    study = load_study(preset, data_dir=data_dir)
    questions = study.questions[(study.questions["source"] == "real")
                                & (study.questions["split"] == "train")]
    knobs = measure_knobs(study.routing_data(questions), questions["options"].map(len).to_numpy())
    folder = root_relative(results_dir) / "diagnostics"
    sc = pd.read_parquet(folder / f"03_self_consistency_{preset}.parquet")
    spread = pd.read_parquet(folder / f"04_performance_spread_{preset}.parquet")
    knobs["key_accuracy"] = float(sc.loc[sc["method"] == "generator", "sc_rate"].mean())
    knobs["spread"] = float(spread.loc[spread["source"] != "real", "mean_spread"].mean())
    return knobs


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
