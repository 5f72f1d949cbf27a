"""How a pool model answers a multiple-choice question, in three modes.

* ``letter``: one forward pass; the next-token log-probabilities of the option letters; the
  choice is the most likely letter, its log-probability the confidence. Chat models see the
  question as a user turn and answer with the assistant's first token (``"A"``); base models
  see plain text ending in ``Answer:`` and answer with ``" A"``.
* ``cloze`` (ranked classification, what small models need): each option's text is scored as
  the continuation of ``Question: ...\\nAnswer:``; the shared prefix is evaluated once; scores
  are normalised by the option's length in characters (lm-eval's ``acc_norm``); the choice is
  the best option and its normalised log-probability the confidence.
* ``cot`` (the paper's mode): the model reasons and ends with "The answer is
  (X)"; the letter is the one it concluded with (:func:`rgd_utils.extraction.extract_choice`,
  which also says where it departs from the paper's cascade) and the confidence is the mean
  token log-probability. An answer that cannot be extracted (or an output cut at the token
  limit before stating one) is recorded as null, never filled at random.

A pool **expert** is a (model, mode) pair, named ``"<model>:<mode>"`` in every table.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Sequence

import numpy as np
import pandas as pd

from .benchmarks.schema import LETTERS
from .extraction import extract_choice
from .llm.backend import GenerationParams, LLMRequest, Prompt, PromptTooLongError
from .llm.cached import Answer, CachedLLM
from .llm.decoding import PACKAGED, decoding_for
from .store import read_parts, write_parts

MODES = ("letter", "cloze", "cot")
RESPONSE_COLUMNS = ("qid", "source", "model", "choice", "confidence", "raw", "correct")

LETTER_INSTRUCTION = "Answer with the letter of the correct choice only."
COT_INSTRUCTION = (
    "Think step by step, then finish with a line of the form \"The answer is (X)\", where X is "
    "the letter of the correct choice."
)
#: The paper's decoding for pool answers: temperature 0.7, one sample. The length cap is each
#: model's (:func:`cot_params`); this one is the packaged CPU models'.
COT_PARAMS = GenerationParams(max_tokens=PACKAGED.answer_max_tokens, temperature=0.7, top_p=1.0,
                              seed=0, logprobs=True)


def cot_params(model: str) -> GenerationParams:
    """:data:`COT_PARAMS` with the model's own cap on new tokens
    (:func:`rgd_utils.llm.decoding.decoding_for`)."""
    return replace(COT_PARAMS, max_tokens=decoding_for(model).answer_max_tokens)


@dataclass(frozen=True)
class Expert:
    """A pool member: a model answering in one mode."""

    model: str
    mode: str

    def __post_init__(self) -> None:
        if self.mode not in MODES:
            raise ValueError(f"unknown answer mode {self.mode!r}; choose one of {MODES}")

    @property
    def name(self) -> str:
        """``"<model>:<mode>"``, the expert's name in every table."""
        return f"{self.model}:{self.mode}"

    @classmethod
    def parse(cls, name: str) -> "Expert":
        """Inverse of :attr:`name`."""
        model, _, mode = name.rpartition(":")
        return cls(model, mode)


def choices_block(options: Sequence[str]) -> str:
    """The options as the paper's pool prompt lists them: ``(A) text`` lines."""
    return "\n".join(f"({LETTERS[i]}) {option}" for i, option in enumerate(options))


def letter_request(question: str, options: Sequence[str], chat: bool) -> tuple[Prompt, list[str]]:
    """Prompt and candidate continuations of ``letter`` mode."""
    body = f"{question.strip()}\n\nChoices:\n{choices_block(options)}\n\n{LETTER_INSTRUCTION}"
    letters = list(LETTERS[: len(options)])
    if chat:
        return [{"role": "user", "content": body}], letters
    return f"{body}\nAnswer:", [f" {letter}" for letter in letters]


def cloze_request(question: str, options: Sequence[str]) -> tuple[str, list[str]]:
    """Prompt and continuations of ``cloze`` mode (plain text for every model)."""
    return f"Question: {question.strip()}\nAnswer:", [f" {option.strip()}" for option in options]


def cot_request(question: str, options: Sequence[str]) -> list[dict]:
    """The paper's pool prompt (§2.5), as one user turn."""
    return [{"role": "user", "content": f"{question.strip()}\n\nChoices:\n{choices_block(options)}\n\n{COT_INSTRUCTION}"}]


def answer_request(expert: Expert, question: str, options: Sequence[str], chat: bool) -> LLMRequest:
    """The call one expert makes to answer one question."""
    if expert.mode == "letter":
        prompt, continuations = letter_request(question, options, chat)
        return LLMRequest(prompt, continuations=tuple(continuations))
    if expert.mode == "cloze":
        prompt, continuations = cloze_request(question, options)
        return LLMRequest(prompt, continuations=tuple(continuations))
    return LLMRequest(cot_request(question, options), params=cot_params(expert.model))


def read_answer(expert: Expert, request: LLMRequest, outcome: Answer,
                n_options: int) -> tuple[str | None, float | None, str]:
    """The expert's answer from its call's outcome: (choice or None, confidence, raw record).

    A prompt too long for the model's context is no answer (null), with the reason in ``raw``.
    """
    if isinstance(outcome, PromptTooLongError):
        return None, None, f"not answered: {outcome}"
    if expert.mode == "letter":
        scores = [s.logprob for s in outcome]
        best = int(np.argmax(scores))
        if not np.isfinite(scores[best]):  # an endpoint listed none of the letters in its top-k
            return None, None, "not answered: no option letter among the top log-probs"
        return LETTERS[best], scores[best], json.dumps([round(s, 4) for s in scores])
    if expert.mode == "cloze":
        normalised = [s.logprob / max(len(c.strip()), 1)
                      for s, c in zip(outcome, request.continuations)]
        best = int(np.argmax(normalised))
        return LETTERS[best], normalised[best], json.dumps([round(s, 4) for s in normalised])
    truncated = outcome.finish_reason == "length"
    return extract_choice(outcome.text, n_options, truncated=truncated), outcome.avg_logprob, outcome.text


def answer_one(llm: CachedLLM, expert: Expert, question: str, options: Sequence[str]) -> tuple[str | None, float | None, str]:
    """One expert's answer to one question: (choice or None, confidence, raw record)."""
    request = answer_request(expert, question, options, llm.chat)
    return read_answer(expert, request, llm.run([request])[0], len(options))


def answer_questions(
    llm: CachedLLM, expert: Expert, questions: pd.DataFrame, progress: bool = True
) -> pd.DataFrame:
    """Every question answered by one expert, as a responses table.

    The calls go to the model as one stream (an endpoint keeps its requests in flight); each
    computed call is cached as soon as it completes.

    Parameters
    ----------
    llm : CachedLLM
        The expert's model (its calls go through the cache).
    expert : Expert
        Model and mode.
    questions : pandas.DataFrame
        Question table (``qid, source, question, options, answer``).
    progress : bool
        Show a progress bar (with rate and time left) over the calls not cached yet.

    Returns
    -------
    pandas.DataFrame
        Columns :data:`RESPONSE_COLUMNS`; ``correct`` is against the item's own label (the
        generator's label for generated items) and null when there is no label. A question too
        long for the model's context gets no choice (null) and its reason in ``raw``.
    """
    if llm.name != expert.model:
        raise ValueError(f"model {llm.name!r} cannot answer for expert {expert.name!r}")
    items = list(questions.itertuples(index=False))
    requests = [answer_request(expert, item.question, list(item.options), llm.chat) for item in items]
    outcomes = llm.run(requests, progress=expert.name if progress else None)
    rows = []
    for item, request, outcome in zip(items, requests, outcomes):
        choice, confidence, raw = read_answer(expert, request, outcome, len(item.options))
        gold = item.answer if isinstance(item.answer, str) else None
        rows.append({"qid": item.qid, "source": item.source, "model": expert.name,
                     "choice": choice, "confidence": confidence, "raw": raw,
                     "correct": None if gold is None else bool(choice == gold)})
    table = pd.DataFrame(rows, columns=list(RESPONSE_COLUMNS), dtype=object)  # None stays None
    table["confidence"] = table["confidence"].astype(float)
    return table


def write_responses(responses: pd.DataFrame, questions: pd.DataFrame, folder: Path) -> list[Path]:
    """Write a responses table to ``folder/<source>__<benchmark>.parquet``, one file per pair.

    Parameters
    ----------
    responses : pandas.DataFrame
        Columns :data:`RESPONSE_COLUMNS`.
    questions : pandas.DataFrame
        The questions answered (their ``benchmark`` names each row's file).
    folder : pathlib.Path
        Created if missing; rows are sorted by model, then question id.

    Returns
    -------
    list of pathlib.Path

    Raises
    ------
    ValueError
        When a response's question is not in ``questions``.
    """
    merged = responses.merge(questions[["qid", "benchmark"]], on="qid", how="left", validate="many_to_one")
    unknown = merged.loc[merged["benchmark"].isna(), "qid"]
    if len(unknown):
        raise ValueError(f"{len(unknown)} responses to unknown questions, e.g. {unknown.iloc[0]!r}")
    return write_parts(merged, folder, RESPONSE_COLUMNS, sort_by=["model", "qid"])


def read_responses(folder: Path, sources: list[str] | None = None) -> pd.DataFrame:
    """Read the responses dataset written by :func:`write_responses`.

    Parameters
    ----------
    folder : pathlib.Path
        The dataset folder.
    sources : list of str, optional
        Keep only the responses to questions of these sources.

    Returns
    -------
    pandas.DataFrame
        Columns :data:`RESPONSE_COLUMNS`; ``choice`` and ``correct`` are None where missing.
    """
    table = read_parts(folder, "response", "pool_responses")
    if sources is not None:
        table = table[table["source"].isin(sources)]
    table = table.astype({c: object for c in ("qid", "source", "model", "choice", "raw", "correct")})
    for column in ("choice", "correct", "raw"):
        table[column] = table[column].where(table[column].notna(), None)
    table["confidence"] = table["confidence"].astype(float)
    return table.sort_values(["source", "model", "qid"]).reset_index(drop=True)
