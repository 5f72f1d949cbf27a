"""The background-run commands: generation schedule through the cache, answers, replay."""

from __future__ import annotations

import pandas as pd
import pytest

from rgd_utils import llm_runs
from rgd_utils.benchmarks import make_question_table
from rgd_utils.llm.backend import ContinuationScore, Generation
from rgd_utils.llm.cache import LLMCache
from rgd_utils.llm.cached import CachedLLM
from rgd_utils.responses import Expert

ITEM = "[QUESTION] What is 2+2?\n[OPTION A] 3\n[OPTION B] 4\n[OPTION C] 5\n[OPTION D] 22\n[ANSWER] B"


class Scripted:
    identity = {"scripted": 1}

    def __init__(self) -> None:
        self.calls = 0

    def generate(self, prompts, params):
        self.calls += len(prompts)
        text = ITEM if params.seed % 2 == 0 else "I cannot write that."
        return [Generation(text=text, n_tokens=30, finish_reason="stop") for _ in prompts]

    def score(self, prompt, continuations):
        self.calls += 1
        return [ContinuationScore(logprob=-1.0 if i == 0 else -3.0, n_tokens=1) for i, _ in enumerate(continuations)]


@pytest.fixture
def scripted(monkeypatch):
    backend = Scripted()
    monkeypatch.setattr(llm_runs, "load_model",
                        lambda name, cache: CachedLLM(name, {"scripted": name}, lambda: backend, cache))
    return backend


def _questions() -> pd.DataFrame:
    return make_question_table(
        {"qid": f"q{i}", "benchmark": b, "subject": "s", "question": f"Q{i}?", "options": ["a", "b", "c", "d"],
         "answer": "A" if i % 2 else "B", "split": "train"}
        for i, b in enumerate(["x", "x", "y", "y"])
    )


def test_generation_follows_the_schedule_and_resumes_from_the_cache(tmp_path, scripted, capsys) -> None:
    subjects = {"sciq": ["sciq"], "arc_easy": ["arc_easy"]}
    calls = llm_runs.run_generation("gen", subjects, 10, seed=0, cache=LLMCache(tmp_path))
    assert len(calls) == 20 and scripted.calls == 20
    assert set(calls["benchmark"]) == {"sciq", "arc_easy"}
    assert calls["parsed"].tolist() == [a % 2 == 0 for a in calls["attempt"]]
    assert "gen: 20 calls" in capsys.readouterr().out
    more = llm_runs.run_generation("gen", subjects, 12, seed=0, cache=LLMCache(tmp_path))
    assert len(more) == 24 and scripted.calls == 24  # the first 20 came from the cache


def test_answers_then_replay_and_missing_experts(tmp_path, scripted, capsys) -> None:
    questions = _questions()
    answered = llm_runs.run_answers(questions, [Expert("m1", "letter")], LLMCache(tmp_path))
    assert answered["choice"].tolist() == ["A"] * 4 and answered["correct"].tolist() == [False, True, False, True]
    assert "x               accuracy 0.500  n=2" in capsys.readouterr().out
    replayed, missing = llm_runs.replay_answers(questions, [Expert("m1", "letter"), Expert("m2", "cloze")], tmp_path)
    assert missing == ["m2:cloze"]
    assert replayed.equals(answered)


def test_select_questions_takes_a_stable_slice_of_one_split() -> None:
    questions = _questions()
    chosen = llm_runs.select_questions(questions, ["x"], "train", 1, seed=0)
    assert len(chosen) == 1 and chosen["benchmark"].tolist() == ["x"]
    assert chosen.equals(llm_runs.select_questions(questions.iloc[::-1], ["x"], "train", 1, seed=0))
