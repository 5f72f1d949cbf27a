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
the function that measures the real pools): ``niche x blocs`` (niche strength against the error
correlation of a bloc of 4 of the 6 models), ``generator`` (the generator's key accuracy against
its items' difficulty spread) and ``calibration`` (the confidence's AUROC for correctness).

:mod:`.cells` holds the worlds, grids and claims, :mod:`.real_pools` the real pools' placement,
:mod:`.figures` the figures; ``python -m rgd_utils.sim_map`` (about 5 minutes on two cores)
writes ``figures/sim_map_*.png|pdf`` and ``results/tables/sim_map*.csv``.
"""

from .cells import (
    BLOC_GAP,
    BLOC_SIZE,
    COMMAND,
    CONTENDERS,
    GRIDS,
    PAPER_LIKE,
    QUERY_ANSWER,
    Knobs,
    evaluate_cell,
    grid,
    map_config,
    map_routers,
    paper_claims,
    read_table,
    run_grid,
    write_table,
)
from .figures import phase_figure, sweep_figure
from .real_pools import (
    REAL_POOLS,
    nearest_cell,
    real_bloc_vote,
    real_pool_knobs,
    real_pool_rows,
    real_study_winners,
)

__all__ = [
    "BLOC_GAP", "BLOC_SIZE", "COMMAND", "CONTENDERS", "GRIDS", "PAPER_LIKE", "QUERY_ANSWER",
    "REAL_POOLS", "Knobs", "evaluate_cell", "grid", "map_config", "map_routers", "nearest_cell",
    "paper_claims", "phase_figure", "read_table", "real_bloc_vote", "real_pool_knobs",
    "real_pool_rows", "real_study_winners", "run_grid", "sweep_figure", "write_table",
]
