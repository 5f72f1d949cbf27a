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
from rgd_utils.config import GeneratorSpec
from rgd_utils.llm.backend import LLMRequest, PromptTooLongError
from rgd_utils.llm.cached import Answer, CachedLLM
from rgd_utils.llm.decoding import decoding_for

from .descriptions import description_for
from .parse import parse_generation
from .prompt import generator_messages, generator_params
from .schedule import ScheduledCall, schedule
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
    outcomes = llm.run([generation_request(spec, call) for call in calls],
                       progress=f"{spec.name} writes questions" if progress else None)
    return [record(spec, call, outcome) for call, outcome in zip(calls, outcomes)]


def generation_request(spec: GeneratorSpec, call: ScheduledCall) -> LLMRequest:
    """The request of one scheduled call: its subject's description, sampled with the call's
    own seed (its attempt number)."""
    return LLMRequest(generator_messages(description_for(call.benchmark, call.subject)),
                      params=generator_params(call.attempt, temperature=spec.temperature,
                                              max_tokens=decoding_for(spec.model).generation_max_tokens))


def record(spec: GeneratorSpec, call: ScheduledCall, outcome: Answer) -> GenerationRecord:
    """One call's output, parsed (a generator prompt never exceeds a context: re-raised)."""
    if isinstance(outcome, PromptTooLongError):
        raise outcome
    return GenerationRecord(spec.name, call.benchmark, call.subject, call.attempt,
                            parse_generation(outcome.text), outcome.text)
