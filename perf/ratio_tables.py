"""What the speed benchmarks share: the table of each implementation's best time against the
baseline's, and how a result table is shown and written."""

from __future__ import annotations

from pathlib import Path

import pandas as pd


def best_of_table(times: dict[str, list[float]], count: int, unit: str,
                  ratio_column: str = "ratio_to_baseline", digits: int = 2) -> pd.DataFrame:
    """One row per implementation: ``count`` units (``<unit>s``), its best run in milliseconds
    per unit, and that run's ratio to the baseline's best (the first implementation of ``times``,
    the seconds of each repeat by name)."""
    base = min(next(iter(times.values())))
    return pd.DataFrame([{"implementation": name, f"{unit}s": count,
                          f"ms_per_{unit}": round(1000 * min(runs) / count, digits),
                          ratio_column: round(min(runs) / base, 2)} for name, runs in times.items()])


def show_and_write(table: pd.DataFrame, out: Path, note: str | None = None) -> None:
    """Print the table (and a note under it), then write it as CSV to ``out``."""
    print(table.to_string(index=False))
    if note:
        print(note)
    table.to_csv(out, index=False)
    print(f"-> {out}")
