"""The bootstrap interval of a router's cost-curve area: one resample at a time against all at once.

``rgd_utils.cost.area_with_interval`` resamples the test queries 200 times and rebuilds the
accuracy-cost curve of each resample. The baseline (the earlier implementation, kept here)
gathers each resample's rows and averages them, then builds each curve's envelope on NumPy
scalars; ours counts how often each resample draws each query, gets every resample's operating
points from one matrix product, and scans the envelope on Python floats. Both run in this process
on the same routers (random scores of ``--queries`` queries, 6 models, the default 42 trade-offs);
the areas and intervals must agree to 1e-12.

    .venv/bin/python perf/area_bootstrap.py --routers 20 --repeats 3   # writes perf/results/area_bootstrap.csv
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np

from rgd_utils.cost import area_with_interval, trade_off_choices

from ratio_tables import best_of_table, show_and_write

RESULTS = Path(__file__).parent / "results" / "area_bootstrap.csv"


def _baseline_hull(points: np.ndarray) -> np.ndarray:
    order = np.lexsort((-points[:, 1], points[:, 0]))
    hull: list[np.ndarray] = []
    for point in points[order]:
        if hull and point[1] <= hull[-1][1]:
            continue
        while len(hull) >= 2:
            (x1, y1), (x2, y2) = hull[-2], hull[-1]
            if (x2 - x1) * (point[1] - y1) - (y2 - y1) * (point[0] - x1) >= 0:
                hull.pop()
            else:
                break
        hull.append(point)
    return np.array(hull)


def _baseline_area(cost: np.ndarray, accuracy: np.ndarray, cost_range: tuple[float, float]) -> float:
    low, high = cost_range
    hull = _baseline_hull(np.column_stack([cost, accuracy]))
    start = max(low, hull[0, 0])
    if start >= high:
        return 0.0
    corners = np.unique(np.concatenate([[start, high], hull[:, 0]]))
    corners = corners[(corners >= start) & (corners <= high)]
    values = np.interp(corners, hull[:, 0], hull[:, 1], right=hull[-1, 1])
    return float(np.trapezoid(values, corners) / (high - low))


def baseline(choices: np.ndarray, correct: np.ndarray, costs: np.ndarray,
             cost_range: tuple[float, float], n_boot: int = 200) -> tuple[float, float, float]:
    """The earlier ``area_with_interval``: one gather, mean and envelope per resample."""
    n = choices.shape[1]
    queries = np.arange(n)
    hit, paid = correct.astype(float)[queries, choices], costs[queries, choices]

    def area_of(rows: np.ndarray) -> float:
        return _baseline_area(paid[:, rows].mean(axis=1), hit[:, rows].mean(axis=1), cost_range)

    rng = np.random.default_rng(0)
    areas = [area_of(rng.integers(n, size=n)) for _ in range(n_boot)]
    low, high = np.percentile(areas, [2.5, 97.5])
    return area_of(queries), float(low), float(high)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--routers", type=int, default=20)
    parser.add_argument("--queries", type=int, default=1000)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--out", type=Path, default=RESULTS)
    args = parser.parse_args()
    rng = np.random.default_rng(0)
    correct = rng.random((args.queries, 6)) < np.linspace(0.3, 0.7, 6)
    costs = np.outer(rng.uniform(0.5, 1.5, args.queries), np.linspace(0.1, 1.0, 6))
    cost_range = (float(costs[:, 0].mean()), float(costs[:, -1].mean()))
    routers = [trade_off_choices(correct + rng.normal(scale=s, size=correct.shape), costs)
               for s in np.linspace(0.2, 2.0, args.routers)]
    runs = {"one resample at a time (baseline)": lambda c: baseline(c, correct, costs, cost_range),
            "all resamples at once (rgd)": lambda c: area_with_interval(c, correct, costs, cost_range)}
    times: dict[str, list[float]] = {name: [] for name in runs}
    for _ in range(args.repeats):
        results = {}
        for name, run in runs.items():
            started = time.process_time()
            results[name] = [run(choices) for choices in routers]
            times[name].append(time.process_time() - started)
        expected, ours = results.values()
        assert np.allclose(expected, ours, rtol=1e-12, atol=0), "areas or intervals differ"
    show_and_write(best_of_table(times, len(routers), "interval"), args.out,
                   f"areas and intervals equal to 1e-12; process time, best of {args.repeats} runs")


if __name__ == "__main__":
    main()
