"""Reading and writing the question table as a parquet dataset (one file per source and benchmark)."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from .schema import QUESTION_COLUMNS


def _safe(name: str) -> str:
    return "".join(c if c.isalnum() or c in "-_." else "_" for c in name)


def write_questions(table: pd.DataFrame, folder: Path) -> list[Path]:
    """Write a question table to ``folder/<source>__<benchmark>.parquet``, one file per pair.

    Files are rewritten whole (written to a temporary name, then renamed), rows sorted by
    ``qid``, so that the same table always gives the same bytes.

    Parameters
    ----------
    table : pandas.DataFrame
        A question table with the columns of :data:`QUESTION_COLUMNS`.
    folder : pathlib.Path
        Created if missing.

    Returns
    -------
    list of pathlib.Path
        The files written.
    """
    folder.mkdir(parents=True, exist_ok=True)
    written = []
    for (source, benchmark), part in table.groupby(["source", "benchmark"], sort=True):
        path = folder / f"{_safe(source)}__{_safe(benchmark)}.parquet"
        tmp = path.with_suffix(".parquet.tmp")
        part = part.loc[:, list(QUESTION_COLUMNS)].sort_values("qid").reset_index(drop=True)
        part.to_parquet(tmp, index=False, engine="pyarrow", compression="zstd")
        tmp.replace(path)
        written.append(path)
    return written


def read_questions(
    folder: Path, benchmarks: list[str] | None = None, sources: list[str] | None = None
) -> pd.DataFrame:
    """Read the question dataset written by :func:`write_questions`.

    Parameters
    ----------
    folder : pathlib.Path
        The dataset folder.
    benchmarks, sources : list of str, optional
        Keep only these benchmarks / sources.

    Returns
    -------
    pandas.DataFrame
        Question table, options as Python lists, sorted by source, benchmark and qid.
    """
    files = sorted(Path(folder).glob("*.parquet"))
    if not files:
        raise FileNotFoundError(f"no question files in {folder}; run `make data` first")
    table = pd.concat([pd.read_parquet(f) for f in files], ignore_index=True)
    if benchmarks is not None:
        table = table[table["benchmark"].isin(benchmarks)]
    if sources is not None:
        table = table[table["source"].isin(sources)]
    table = table.astype({c: object for c in ("qid", "benchmark", "subject", "question", "answer", "split", "source")})
    table["options"] = [list(o) for o in table["options"]]
    return table.sort_values(["source", "benchmark", "qid"]).reset_index(drop=True)
