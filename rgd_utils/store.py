"""Tidy tables as parquet datasets: one file per ``(source, benchmark)``, rewritten whole.

The question table (:mod:`rgd_utils.benchmarks.store`) and the responses table
(:mod:`rgd_utils.responses`) are stored this way, so that the same table always gives the same
bytes and a stage can rewrite its own part of a dataset without touching the rest.
"""

from __future__ import annotations

from pathlib import Path
from typing import Callable, Sequence

import pandas as pd

from .atomic import atomic_path


def safe_name(name: str) -> str:
    """Return ``name`` with every character but letters, digits, ``-``, ``_`` and ``.`` as ``_``."""
    return "".join(c if c.isalnum() or c in "-_." else "_" for c in name)


def write_parts(table: pd.DataFrame, folder: Path, columns: Sequence[str], sort_by: Sequence[str]) -> list[Path]:
    """Write ``table`` to ``folder/<source>__<benchmark>.parquet``, one file per pair.

    Parameters
    ----------
    table : pandas.DataFrame
        Has ``source`` and ``benchmark`` columns besides ``columns``.
    folder : pathlib.Path
        Created if missing.
    columns : sequence of str
        The columns written, in this order.
    sort_by : sequence of str
        Row order inside each file.

    Returns
    -------
    list of pathlib.Path
        The files written (each through a temporary name of its own, then renamed: two
        processes writing one file never collide, and a reader sees the old or the new file).
    """
    folder.mkdir(parents=True, exist_ok=True)
    written = []
    for (source, benchmark), part in table.groupby(["source", "benchmark"], sort=True):
        path = folder / f"{safe_name(str(source))}__{safe_name(str(benchmark))}.parquet"
        part = part.sort_values(list(sort_by)).loc[:, list(columns)].reset_index(drop=True)
        with atomic_path(path) as tmp:
            part.to_parquet(tmp, index=False, engine="pyarrow", compression="zstd")
        written.append(path)
    return written


def read_parts(folder: Path, what: str, make: str,
               check: Callable[[pd.DataFrame, Path], None] | None = None) -> pd.DataFrame:
    """Read every file of a dataset written by :func:`write_parts`.

    Parameters
    ----------
    folder : pathlib.Path
        The dataset folder.
    what, make : str
        What the dataset holds and the ``make`` target that writes it (for the error message).
    check : callable, optional
        Called with each file's table and path; raises on a row that cannot be used.

    Raises
    ------
    FileNotFoundError
        When the folder has no parquet file.
    """
    files = sorted(Path(folder).glob("*.parquet"))
    if not files:
        raise FileNotFoundError(f"no {what} files in {folder}; run `make {make}` first")
    tables = [pd.read_parquet(f) for f in files]
    for table, path in zip(tables, files):
        if check is not None:
            check(table, path)
    return pd.concat(tables, ignore_index=True)
