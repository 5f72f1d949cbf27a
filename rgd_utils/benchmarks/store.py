"""Reading and writing the question table as a parquet dataset (one file per source and benchmark)."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from rgd_utils.store import read_parts, write_parts

from .schema import QUESTION_COLUMNS, check_stored_questions


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
    return write_parts(table, folder, QUESTION_COLUMNS, sort_by=["qid"])


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

    Raises
    ------
    ValueError
        Naming the file and row of a row that validation rejects (a damaged or edited file).
    """
    table = read_parts(folder, "question", "data", check=check_stored_questions)
    if benchmarks is not None:
        table = table[table["benchmark"].isin(benchmarks)]
    if sources is not None:
        table = table[table["source"].isin(sources)]
    table = table.astype({c: object for c in ("qid", "benchmark", "subject", "question", "answer", "split", "source")})
    table["options"] = [list(o) for o in table["options"]]
    return table.sort_values(["source", "benchmark", "qid"]).reset_index(drop=True)
