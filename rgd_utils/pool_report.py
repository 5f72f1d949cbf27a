"""A pool's measured strength as tables: each expert's real test accuracy per benchmark, the gain
of choosing an expert per benchmark over the best single one, the routing headroom, and each
specialist against its base and the strongest other expert."""

from __future__ import annotations

import pandas as pd

from .calibration import calibration_table
from .config import Preset
from .pool import domain_choice_gain, routing_headroom
from .specialists import SPECIALISTS, domain_assignment
from .specialists.compare import specialist_comparison


def pool_strength_tables(preset: Preset, real: pd.DataFrame, responses: pd.DataFrame,
                         test_only: bool = False) -> dict[str, pd.DataFrame]:
    """The tables of :func:`rgd_utils.llm_runs.pool_tables` from the pool's ``responses`` to the
    ``real`` questions (train and test, or test only with ``test_only``)."""
    test = real[real["split"] == "test"]
    table = calibration_table(responses, test)
    table["cell"] = [f"{a:.3f} [{lo:.2f}, {hi:.2f}]" for a, lo, hi in
                     zip(table["accuracy"], table["low"], table["high"])]
    tables = {"accuracy": table.pivot(index="model", columns="benchmark", values="cell")}
    gains = {}
    if not test_only:
        tables["headroom"] = routing_headroom(responses, real).round(3)
        gains["chosen on train"] = domain_choice_gain(responses, real, random_state=preset.seed)
    names = sorted(set(responses["model"]))
    design = domain_assignment(names, list(preset.study_benchmarks))
    if design:
        gains["specialist per domain, single expert in hindsight"] = domain_choice_gain(
            responses, real, design, "test", preset.seed)
    if gains:
        tables["domain_choice"] = pd.DataFrame([
            {"choice": label, "best single expert": g["best_single"], "its accuracy": g["best_single_test"],
             "expert per benchmark": ", ".join(f"{b}: {e}" for b, e in g["per_benchmark"].items()),
             "accuracy": g["per_benchmark_test"], "gain": g["gain"], "low": g["low"],
             "high": g["high"], "n": g["n_test"]} for label, g in gains.items()]).set_index("choice").round(3)
    bases = {spec.base for spec in SPECIALISTS.values()}
    generalists = [n for n in names if n.rpartition(":")[0] not in {*SPECIALISTS, *bases}]
    if generalists and any(n.rpartition(":")[0] in SPECIALISTS for n in names):
        on_test = responses[responses["qid"].isin(test["qid"])]
        overall = on_test["correct"].fillna(False).astype(bool).groupby(on_test["model"]).mean()
        strongest = overall[generalists].idxmax()
        tables["specialists"] = (specialist_comparison(responses, test, strongest, preset.seed)
                                 .rename(columns=lambda c: c.replace("reference", strongest))
                                 .set_index(["specialist", "benchmark"]).round(3))
    return tables


