"""A generator's calls, through the LLM cache: what notebook 01 replays and ``llm_runs generate``
computes.

Each call of :func:`rgd_utils.generation.schedule` sends one subject description (the paper's
local-generator variant: one question per call) and is sampled with its own seed, the call's
attempt number. The outputs are parsed here and screened by
:func:`rgd_utils.generation.validate_generated`.
"""

from __future__ import annotations

from typing import Mapping, Sequence

import pandas as pd
from tqdm.auto import tqdm

from rgd_utils.config import GeneratorSpec
from rgd_utils.llm.cached import CachedLLM
from rgd_utils.llm.decoding import decoding_for

from .descriptions import description_for
from .parse import parse_generation
from .prompt import generator_messages, generator_params
from .schedule import schedule
from .validate import GenerationRecord


def train_subjects(questions: pd.DataFrame, benchmarks: Sequence[str]) -> dict[str, list[str]]:
    """Each benchmark's subjects, as they appear in its real train split (sorted).

    Parameters
    ----------
    questions : pandas.DataFrame
        A question table with real questions of the benchmarks.
    benchmarks : sequence of str
        The benchmarks to generate for, in the order the schedule should visit them.

    Returns
    -------
    dict of str to list of str

    Raises
    ------
    ValueError
        When a benchmark has no real train questions (its subjects are unknown).
    """
    train = questions[(questions["split"] == "train") & (questions["source"] == "real")]
    subjects = {b: sorted(train.loc[train["benchmark"] == b, "subject"].unique()) for b in benchmarks}
    empty = [b for b, s in subjects.items() if not s]
    if empty:
        raise ValueError(f"no real train questions for {empty}: run notebook 00 (make data) first")
    return subjects


def generate_records(
    llm: CachedLLM,
    spec: GeneratorSpec,
    subjects: Mapping[str, Sequence[str]],
    seed: int,
    attempts: int | None = None,
    progress: bool = True,
) -> list[GenerationRecord]:
    """Run (or replay) a generator's scheduled calls and parse each output.

    Parameters
    ----------
    llm : CachedLLM
        The generator's model behind the cache.
    spec : GeneratorSpec
        Its name (the records' ``generator``), temperature and number of calls per benchmark.
    subjects : mapping of str to sequence of str
        Each benchmark's subjects (:func:`train_subjects`).
    seed : int
        Schedule seed.
    attempts : int, optional
        Calls per benchmark instead of ``spec.attempts`` (a smaller number replays a prefix of
        the same calls).
    progress : bool, default True
        Show a progress bar over the calls.

    Returns
    -------
    list of GenerationRecord
        One per call, in schedule order, with the raw output and its parse.
    """
    calls = schedule(subjects, spec.attempts if attempts is None else attempts, seed)
    max_tokens = decoding_for(spec.model).generation_max_tokens
    records = []
    for call in tqdm(calls, desc=f"{spec.name} writes questions", disable=not progress):
        messages = generator_messages(description_for(call.benchmark, call.subject))
        params = generator_params(call.attempt, max_tokens=max_tokens, temperature=spec.temperature)
        text = llm.generate([messages], params)[0].text
        records.append(GenerationRecord(spec.name, call.benchmark, call.subject, call.attempt,
                                        parse_generation(text), text))
    return records
