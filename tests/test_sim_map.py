"""The consensus-routing map on a tiny grid: every contender has a row, the winner and its
interval are consistent, the real pools find their nearest cell, and the outputs say SIMULATED."""

from __future__ import annotations

from dataclasses import replace

import matplotlib

matplotlib.use("Agg")

import numpy as np
import pandas as pd
import pytest

from rgd_utils import sim_map
from rgd_utils.sim_map import CONTENDERS, PAPER_LIKE, evaluate_cell, map_config, nearest_cell

TINY = {"n_real": 800, "n_generated": 400}


@pytest.fixture(scope="module")
def tiny_map() -> pd.DataFrame:
    points = {
        "niche x blocs": [replace(PAPER_LIKE, niche=0.0), replace(PAPER_LIKE, bloc_correlation=0.9)],
        "generator": [replace(PAPER_LIKE, key_accuracy=0.4), PAPER_LIKE],
        "calibration": [replace(PAPER_LIKE, auroc=0.6)],
    }
    return pd.concat([evaluate_cell(knobs, **TINY).assign(grid=name, cell=i)
                      for name, cells in points.items() for i, knobs in enumerate(cells)],
                     ignore_index=True)


def test_the_map_world_has_the_knobs_it_was_given() -> None:
    config = map_config(replace(PAPER_LIKE, bloc_correlation=0.6, auroc=0.8), **TINY)
    assert config.bloc_size == sim_map.BLOC_SIZE and config.bloc_correlation == 0.6
    assert config.confidence_auroc == pytest.approx(0.8)
    assert [g.label_noise for g in config.generators] == [pytest.approx(1 - PAPER_LIKE.key_accuracy)]
    assert map_config(PAPER_LIKE).bloc_size == 1  # the paper-like pool has no bloc


def test_each_cell_ranks_every_contender(tiny_map: pd.DataFrame) -> None:
    for _, cell in tiny_map.groupby(["grid", "cell"]):
        assert set(CONTENDERS) <= set(cell["router"])
        by = cell.set_index("router")
        assert (by["low"] <= by["accuracy"]).all() and (by["accuracy"] <= by["high"]).all()
        assert by.loc["best-single", "vs_best_single"] == 0.0
        winner = cell["winner"].iloc[0]
        assert by.loc[winner, "accuracy"] == by.loc[list(CONTENDERS), "accuracy"].max()
        assert cell["decided"].iloc[0] == (cell["lead_low"].iloc[0] > 0)
        assert by.loc["best QA", "accuracy"] == by.loc[list(sim_map.QUERY_ANSWER), "accuracy"].max()
    niche = tiny_map[tiny_map["grid"] == "niche x blocs"].drop_duplicates("cell")
    assert niche["measured_niche_strength"].iloc[0] < niche["measured_niche_strength"].iloc[1]
    assert niche["measured_error_correlation"].iloc[0] < niche["measured_error_correlation"].iloc[1]


def test_a_real_pool_finds_its_nearest_cell(tiny_map: pd.DataFrame) -> None:
    cells = tiny_map[tiny_map["grid"] == "niche x blocs"].drop_duplicates("cell")
    second = cells.iloc[1]
    knobs = {"niche_strength": second["measured_niche_strength"] + 0.01,
             "error_correlation": second["measured_error_correlation"] - 0.01}
    assert nearest_cell(tiny_map, knobs)["cell"] == second["cell"]


def test_the_outputs_say_simulated(tiny_map: pd.DataFrame, tmp_path) -> None:
    path = sim_map.write_table(tiny_map, tmp_path / "map.csv")
    assert path.read_text().startswith("# SIMULATED") and sim_map.COMMAND in path.read_text()
    back = sim_map.read_table(path)
    assert len(back) == len(tiny_map) and set(back["router"]) == set(tiny_map["router"])
    real = pd.DataFrame({"preset": ["cpu"], "pool": ["default pool"],
                         **{f"measured_{k}": [v] for k, v in {
                             "niche_strength": 0.1, "error_correlation": 0.3, "key_accuracy": 0.35,
                             "spread": 0.27, "confidence_auroc": 0.6}.items()}})
    for figure in (sim_map.phase_figure(tiny_map, real), sim_map.sweep_figure(tiny_map, real)):
        titles = [figure._suptitle.get_text()] + [ax.get_title() for ax in figure.axes]
        assert all("SIMULATED" in t for t in titles if t)
        assert np.isfinite([ax.get_xlim() for ax in figure.axes]).all()
