"""Seeded train/test split, stratified by subject, decided by a hash of each question id.

The paper (the paper's §1.2) splits each subject 60/40 after an unseeded shuffle. Here the
order inside a (benchmark, subject) group is the order of ``sha256(f"{seed}:{qid}")``, so the
split does not depend on row order, the machine, or the Python version: the same ids and seed
always give the same sides.
"""

from __future__ import annotations

import hashlib

import numpy as np
import pandas as pd

DEFAULT_TRAIN_FRACTION = 0.6
DEFAULT_SEED = 0


def split_key(qid: str, seed: int) -> int:
    """Return the 64-bit sort key of a question id under a seed."""
    digest = hashlib.sha256(f"{seed}:{qid}".encode("utf-8")).digest()
    return int.from_bytes(digest[:8], "big")


def assign_split(
    table: pd.DataFrame,
    train_fraction: float = DEFAULT_TRAIN_FRACTION,
    seed: int = DEFAULT_SEED,
) -> pd.DataFrame:
    """Return a copy of a question table with its ``split`` column set to "train" or "test".

    Within each (benchmark, subject) group the questions are ordered by :func:`split_key`, and
    the first ``int(train_fraction * n)`` go to train, as the paper's ``train_test_split.py``
    does after its shuffle.

    Parameters
    ----------
    table : pandas.DataFrame
        A question table with unique ``qid``.
    train_fraction : float, default 0.6
        Share of each subject that goes to train, in [0, 1].
    seed : int, default 0
        Changes the order, hence the split.

    Returns
    -------
    pandas.DataFrame
        The same rows in the same order, with ``split`` filled.
    """
    if not 0.0 <= train_fraction <= 1.0:
        raise ValueError(f"train_fraction must be in [0, 1], got {train_fraction}")
    if table["qid"].duplicated().any():
        raise ValueError("question ids must be unique before splitting; validate the table first")
    keys = pd.Series([split_key(q, seed) for q in table["qid"]], index=table.index, dtype=object)
    split = pd.Series("test", index=table.index, dtype=object)
    for _, group in table.groupby(["benchmark", "subject"], sort=False):
        ordered = keys.loc[group.index].sort_values(kind="stable").index
        n_train = int(train_fraction * len(ordered))
        split.loc[ordered[:n_train]] = "train"
    result = table.copy()
    result["split"] = split
    return result


def split_counts(table: pd.DataFrame) -> pd.DataFrame:
    """Questions per benchmark, subject and side, as a wide table (train, test, train share)."""
    counts = table.groupby(["benchmark", "subject", "split"]).size().unstack("split", fill_value=0)
    counts = counts.reindex(columns=["train", "test"], fill_value=0)
    counts["train_share"] = np.round(counts["train"] / (counts["train"] + counts["test"]), 3)
    return counts


def subsample(table: pd.DataFrame, n_per_benchmark: int, seed: int = DEFAULT_SEED) -> pd.DataFrame:
    """Keep at most ``n_per_benchmark`` questions of each benchmark, chosen by :func:`split_key`.

    The choice depends only on the ids and the seed, so a smaller run (``make smoke``) sees a
    stable, repeatable slice of each benchmark. Row order is kept.
    """
    if n_per_benchmark < 1:
        raise ValueError(f"n_per_benchmark must be at least 1, got {n_per_benchmark}")
    keys = pd.Series([split_key(q, seed) for q in table["qid"]], index=table.index, dtype=object)
    keep = []
    for _, group in table.groupby("benchmark", sort=False):
        keep.extend(keys.loc[group.index].sort_values(kind="stable").index[:n_per_benchmark])
    return table.loc[sorted(keep)]
