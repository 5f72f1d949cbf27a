"""``python -m rgd_utils.sim_map``: run the grids, the claims and the real pools' placement;
write the figures and tables."""

from __future__ import annotations

import argparse

import pandas as pd

from .cells import GRIDS, paper_claims, root_relative, run_grid, write_table
from .figures import phase_figure, sweep_figure
from .real_pools import REAL_POOLS, real_bloc_vote, real_pool_knobs, real_pool_rows


def main(argv: list[str] | None = None) -> None:
    """Run the grids, the claims and the real pools' placement; write figures and tables."""
    from ..plots import save_figure, use_style

    parser = argparse.ArgumentParser(description="Run the map of simulated worlds; write its figures and tables.")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--n-real", type=int, default=5000)
    parser.add_argument("--n-generated", type=int, default=3000)
    parser.add_argument("--grids", nargs="*", default=list(GRIDS), choices=list(GRIDS))
    parser.add_argument("--out", default=".", help="folder of figures/ and results/tables/")
    args = parser.parse_args(argv)
    out = root_relative(args.out)
    table = pd.concat([run_grid(g, args.seed, args.n_real, args.n_generated) for g in args.grids],
                      ignore_index=True)
    knobs = {preset: real_pool_knobs(preset) for preset in REAL_POOLS}
    real = real_pool_rows(table, pd.read_parquet(root_relative("results/results.parquet")), knobs)
    tables = out / "results" / "tables"
    write_table(table, tables / "sim_map.csv")
    write_table(real, tables / "sim_map_real.csv")
    write_table(paper_claims(args.seed), tables / "sim_map_claims.csv")
    write_table(pd.concat([real_bloc_vote(p, args.seed) for p in REAL_POOLS], ignore_index=True),
                tables / "sim_map_bloc_vote_real.csv")
    use_style()
    save_figure(phase_figure(table, real), "sim_map_phase", out / "figures",
                caption="SIMULATED map: which router wins in each region of the simulated pool "
                        "and generator knobs, with CASCAL's margin over the best single model; "
                        "stars: the real pools.")
    save_figure(sweep_figure(table, real), "sim_map_sweeps", out / "figures",
                caption="SIMULATED map: top-1 accuracy of each router along one knob at a time, "
                        "the others paper-like; vertical lines: the real pools' measured values.")


if __name__ == "__main__":
    main()
