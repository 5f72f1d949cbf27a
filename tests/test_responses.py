"""Pool prompts, and answering through a (fake) cached model."""

from __future__ import annotations

import pandas as pd
import pytest

from rgd_utils.benchmarks import make_question_table
from rgd_utils.llm.backend import ContinuationScore, Generation
from rgd_utils.llm.cache import LLMCache
from rgd_utils.llm.cached import CachedLLM
from rgd_utils.responses import (
    Expert,
    answer_questions,
    cloze_request,
    cot_request,
    letter_request,
)


def test_letter_prompts_for_chat_and_base_models() -> None:
    prompt, continuations = letter_request("What is 2+2?", ["3", "4", "5"], chat=True)
    assert prompt == [{"role": "user", "content": "What is 2+2?\n\nChoices:\n(A) 3\n(B) 4\n(C) 5\n\n"
                                                  "Answer with the letter of the correct choice only."}]
    assert continuations == ["A", "B", "C"]
    prompt, continuations = letter_request("What is 2+2?", ["3", "4"], chat=False)
    assert prompt.endswith("only.\nAnswer:") and continuations == [" A", " B"]


def test_cloze_and_cot_prompts() -> None:
    prompt, continuations = cloze_request(" Why? ", [" because ", "no"])
    assert prompt == "Question: Why?\nAnswer:" and continuations == [" because", " no"]
    assert "The answer is (X)" in cot_request("Why?", ["a", "b"])[0]["content"]


class ScriptedBackend:
    """Scores favour a fixed option; generations say a fixed sentence."""

    identity = {"scripted": 1}

    def score(self, prompt, continuations):
        best = 1 if len(continuations) > 1 else 0
        return [ContinuationScore(logprob=-1.0 if i == best else -5.0 - len(c), n_tokens=1)
                for i, c in enumerate(continuations)]

    def generate(self, prompts, params):
        return [Generation(text="Hmm. The answer is (C).", n_tokens=6, finish_reason="stop",
                           token_logprobs=(-0.1, -0.3)) for _ in prompts]


def _questions() -> pd.DataFrame:
    return make_question_table([
        {"qid": "q1", "benchmark": "toy", "subject": "s", "question": "Q1?", "options": ["a", "bb", "c"], "answer": "B"},
        {"qid": "q2", "benchmark": "toy", "subject": "s", "question": "Q2?", "options": ["a", "bb", "c"], "answer": "A"},
        {"qid": "g1", "benchmark": "toy", "subject": "s", "question": "G?", "options": ["a", "bb", "c", "d"], "answer": None, "source": "gen"},
    ])


@pytest.mark.parametrize(("mode", "choices", "confidence"), [
    ("letter", ["B", "B", "B"], -1.0),
    ("cloze", ["B", "B", "B"], -0.5),  # -1.0 over the 2 characters of "bb"
    ("cot", ["C", "C", "C"], -0.2),
])
def test_answer_questions_builds_the_responses_table(tmp_path, mode, choices, confidence) -> None:
    llm = CachedLLM("scripted", {"scripted": 1}, ScriptedBackend, LLMCache(tmp_path))
    table = answer_questions(llm, Expert("scripted", mode), _questions(), progress=False)
    assert list(table.columns) == ["qid", "source", "model", "choice", "confidence", "raw", "correct"]
    assert list(table["choice"]) == choices
    assert table["confidence"].iloc[0] == pytest.approx(confidence)
    assert list(table["model"].unique()) == [f"scripted:{mode}"]
    assert table["correct"].tolist()[:2] == [choices[0] == "B", choices[1] == "A"]
    assert table["correct"].iloc[2] is None  # no label, no correctness


def test_expert_names_round_trip_and_bad_modes_fail() -> None:
    assert Expert.parse("qwen2.5-coder-1.5b:cloze") == Expert("qwen2.5-coder-1.5b", "cloze")
    with pytest.raises(ValueError, match="unknown answer mode"):
        Expert("m", "guess")


class TooLongBackend(ScriptedBackend):
    def score(self, prompt, continuations):
        from rgd_utils.llm.backend import PromptTooLongError

        text = prompt if isinstance(prompt, str) else prompt[0]["content"]
        if "Q2?" in text:
            raise PromptTooLongError("prompt (5000 tokens) plus continuation (1) exceeds the context")
        return super().score(prompt, continuations)


def test_a_question_too_long_for_the_model_is_recorded_unanswered(tmp_path) -> None:
    llm = CachedLLM("scripted", {"scripted": 1}, TooLongBackend, LLMCache(tmp_path))
    table = answer_questions(llm, Expert("scripted", "letter"), _questions(), progress=False)
    row = table.set_index("qid").loc["q2"]
    assert row["choice"] is None and pd.isna(row["confidence"]) and not row["correct"]
    assert row["raw"].startswith("not answered: prompt (5000 tokens)")
    assert table.set_index("qid").loc["q1", "choice"] == "B"


class NoLettersBackend(ScriptedBackend):
    """An endpoint whose top log-probs named none of the letters (all -inf)."""

    def score(self, prompt, continuations):
        return [ContinuationScore(logprob=float("-inf"), n_tokens=1) for _ in continuations]


def test_no_letter_in_the_top_logprobs_is_no_answer_not_a(tmp_path) -> None:
    llm = CachedLLM("nol", {"nol": 1}, NoLettersBackend, LLMCache(tmp_path))
    table = answer_questions(llm, Expert("nol", "letter"), _questions(), progress=False)
    assert table["choice"].isna().all() and table["raw"].str.startswith("not answered").all()


class TruncatedBackend(ScriptedBackend):
    """Cut at the token limit mid-sentence, after naming an option."""

    def generate(self, prompts, params):
        return [Generation(text="Option (A) looks wrong because I", n_tokens=params.max_tokens,
                           finish_reason="length", token_logprobs=(-0.5,)) for _ in prompts]


def test_a_cot_answer_cut_at_the_token_limit_is_no_answer(tmp_path) -> None:
    llm = CachedLLM("scripted", {"scripted": 1}, TruncatedBackend, LLMCache(tmp_path))
    table = answer_questions(llm, Expert("scripted", "cot"), _questions(), progress=False)
    assert table["choice"].tolist() == [None, None, None]
    assert table["correct"].tolist()[:2] == [False, False]
