"""The background-run commands: generation schedule through the cache, answers, replay."""

from __future__ import annotations

import dataclasses

import pandas as pd
import pytest

from rgd_utils import llm_progress, llm_runs
from rgd_utils.config import GeneratorSpec, get_preset
from rgd_utils.pool import select_questions
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
    def load(name, cache, engine=None):
        return CachedLLM(name, {"scripted": name}, lambda: backend, cache)

    monkeypatch.setattr(llm_runs, "load_model", load)
    monkeypatch.setattr(llm_progress, "load_model", load)
    return backend


def _questions() -> pd.DataFrame:
    return make_question_table(
        {"qid": f"q{i}", "benchmark": b, "subject": "s", "question": f"Q{i}?", "options": ["a", "b", "c", "d"],
         "answer": "A" if i % 2 else "B", "split": "train"}
        for i, b in enumerate(["x", "x", "y", "y"])
    )


def test_generation_follows_the_schedule_and_resumes_from_the_cache(tmp_path, scripted) -> None:
    questions = make_question_table(
        {"qid": f"{b}{i}", "benchmark": b, "subject": b, "question": f"Q{i}?", "options": ["a", "b", "c", "d"],
         "answer": "A", "split": "train"}
        for b in ("sciq", "arc_easy") for i in range(2)
    )
    spec = GeneratorSpec("gen", "m", "strong", 0.8, attempts=10)
    report = llm_runs.run_generation(spec, questions, ["sciq", "arc_easy"], 10, seed=0, cache=LLMCache(tmp_path))
    assert scripted.calls == 20
    assert report["attempts"].tolist() == [10, 10]
    assert report["parsed"].tolist() == [5, 5]  # even attempt numbers (the seed) parse
    assert report["kept"].tolist() == [1, 1]  # the other four are the same item again
    assert report["near-duplicate of an earlier item"].tolist() == [4, 4]
    more = llm_runs.run_generation(spec, questions, ["sciq", "arc_easy"], 12, seed=0, cache=LLMCache(tmp_path))
    assert more["attempts"].tolist() == [12, 12] and scripted.calls == 24  # the first 20 came from the cache


def test_answers_then_replay_and_missing_experts(tmp_path, scripted, capsys) -> None:
    questions = _questions()
    answered = llm_runs.run_answers(questions, [Expert("m1", "letter")], LLMCache(tmp_path))
    assert answered["choice"].tolist() == ["A"] * 4 and answered["correct"].tolist() == [False, True, False, True]
    assert "x               accuracy 0.500  n=2" in capsys.readouterr().out
    replayed, missing = llm_runs.replay_answers(questions, [Expert("m1", "letter"), Expert("m2", "cloze")], tmp_path)
    assert missing == ["m2:cloze"]
    assert replayed.equals(answered)


def test_parts_of_one_answer_command_cover_its_questions_once(tmp_path, scripted, capsys) -> None:
    command = ["answer", "--preset", "cpu", "--benchmarks", "mmlu", "arc_easy", "--split", "test",
               "--per-benchmark", "3", "--experts", "m1:letter", "--cache", str(tmp_path)]
    for part in ("0/2", "1/2"):
        assert llm_runs.main([*command, "--part", part]) == 0
    assert [line.split(" questions")[0] for line in capsys.readouterr().out.splitlines()
            if " questions x " in line] == ["3", "3"]
    assert scripted.calls == 6  # each of the six questions once
    assert llm_runs.main(command) == 0 and scripted.calls == 6  # the whole command: all cached
    for bad in ("2/2", "1", "a/b"):
        with pytest.raises(SystemExit):
            llm_runs.main([*command, "--part", bad])


def test_select_questions_takes_a_stable_slice_of_one_split() -> None:
    questions = _questions()
    chosen = select_questions(questions, ["x"], "train", 1, seed=0)
    assert len(chosen) == 1 and chosen["benchmark"].tolist() == ["x"]
    assert chosen.equals(select_questions(questions.iloc[::-1], ["x"], "train", 1, seed=0))


def test_progress_counts_cached_calls_without_computing(tmp_path, scripted) -> None:
    from rgd_utils.config import Preset

    questions = make_question_table(
        {"qid": f"{b}{split}{i}", "benchmark": b, "subject": b, "question": f"{b} {split} Q{i}?",
         "options": ["a", "b", "c", "d"], "answer": "A", "split": split}
        for b in ("sciq", "arc_easy") for split in ("train", "test") for i in range(3)
    )
    spec = GeneratorSpec("gen", "g", "strong", 0.8, attempts=4)
    preset = Preset("tiny", ("sciq", "arc_easy"), study_benchmarks=("sciq", "arc_easy"), n_train=2, n_test=3,
                    experts=("m:letter",), generators=(spec,))
    llm_runs.run_generation(spec, questions, ["sciq"], 4, seed=0, cache=LLMCache(tmp_path))  # sciq only
    llm_runs.run_answers(select_questions(questions, ["sciq", "arc_easy"], "test", 3, 0),
                         [Expert("m", "letter")], LLMCache(tmp_path))
    calls = scripted.calls
    table = llm_runs.study_progress(preset, questions, tmp_path).set_index(["part", "who"])
    assert scripted.calls == calls  # replay: nothing computed
    assert table.loc[("generation calls", "gen")].tolist() == [4, 8]
    assert table.loc[("real train", "m:letter")].tolist() == [0, 4]
    assert table.loc[("real test", "m:letter")].tolist() == [6, 6]
    assert table.loc[("generated answers", "m:letter")].tolist() == [0, 1]  # one item kept, not yet answered
    assert table.loc[("embeddings", "all-minilm-l6-v2")].tolist() == [0, 4 + 6 + 1]


def test_embed_covers_real_samples_and_generated_items_and_replays(tmp_path, scripted, monkeypatch) -> None:
    import rgd_utils.embeddings as embeddings
    from rgd_utils.config import Preset
    from rgd_utils.embeddings import TfidfSvdEncoder, embed_questions

    questions = make_question_table(
        {"qid": f"{b}{split}{i}", "benchmark": b, "subject": b, "question": f"{b} {split} question {i}?",
         "options": ["a", "b", "c", "d"], "answer": "A", "split": split}
        for b in ("sciq", "arc_easy") for split in ("train", "test") for i in range(3)
    )
    encoder = TfidfSvdEncoder(n_components=2).fit(["sciq arc_easy train test question", "What is 2+2?"])
    monkeypatch.setattr(embeddings, "encoder_for", lambda name, engine=None: encoder)
    monkeypatch.setattr(llm_progress, "encoder_for", lambda name, engine=None: encoder)
    spec = GeneratorSpec("gen", "g", "strong", 0.8, attempts=2)
    preset = Preset("tiny", ("sciq", "arc_easy"), study_benchmarks=("sciq", "arc_easy"), n_train=2, n_test=1,
                    experts=("m:letter",), generators=(spec,))
    llm_runs.run_generation(spec, questions, ["sciq", "arc_easy"], 2, seed=0, cache=LLMCache(tmp_path))
    progress = llm_runs.study_progress(preset, questions, tmp_path)
    assert progress.iloc[-1].tolist() == ["embeddings", "all-minilm-l6-v2", 0, 8]
    assert llm_runs.todo_commands(preset, progress.assign(cached=progress["needed"]).iloc[:-1].pipe(
        lambda done: pd.concat([done, progress.iloc[-1:]])), "py") == ["py -m rgd_utils.llm_runs embed --preset tiny"]
    n = llm_runs.run_embeddings(preset, questions, tmp_path)
    assert n == 2 * (2 + 1) + 2  # real samples, plus one kept item per benchmark (odd attempts do not parse)
    assert llm_runs.study_progress(preset, questions, tmp_path).iloc[-1].tolist() == ["embeddings", "all-minilm-l6-v2", 8, 8]
    real = select_questions(questions, ["sciq"], "test", 1, 0)
    replayed = embed_questions(real, encoder, LLMCache(tmp_path, mode="replay"))
    assert list(replayed) == real["qid"].tolist()


def test_todo_lists_the_commands_of_what_is_missing_in_order() -> None:
    preset = dataclasses.replace(get_preset("cpu"), experts=("a:cloze", "b:letter", "b:cloze"),
                                 study_benchmarks=("x", "y"), n_train=3, n_test=2)
    progress = pd.DataFrame(
        [("generation calls", "qwen2.5-coder-1.5b", 4, 4), ("generation calls", "qwen2.5-coder-0.5b", 1, 4),
         ("generation calls", "qwen2.5-coder-0.5b-t1.0", 0, 4),
         ("real train", "a:cloze", 6, 6), ("real train", "b:letter", 5, 6),
         ("real test", "a:cloze", 0, 4), ("real test", "b:letter", 4, 4),
         ("real test", "b:cloze", 3, 4), ("generated answers", "a:cloze", 3, 3),
         ("generated answers", "b:letter", 2, 3), ("generated answers", "b:cloze", 3, 3)],
        columns=["part", "who", "cached", "needed"])
    run = "py -m rgd_utils.llm_runs"
    assert llm_runs.todo_commands(preset, progress, "py") == [
        # one command per model (a served model starts once), train and test together
        f"{run} answer --preset cpu --real --experts b:letter b:cloze",
        f"{run} answer --preset cpu --real --experts a:cloze",
        f"{run} generate --preset cpu --generator qwen2.5-coder-0.5b",
        f"{run} generate --preset cpu --generator qwen2.5-coder-0.5b-t1.0",
        # the items still to come need every expert's answers, not only b's missing one
        f"{run} answer --preset cpu --generated --experts a:cloze",
        f"{run} answer --preset cpu --generated --experts b:letter b:cloze",
        f"{run} embed --preset cpu",
    ]
    done = progress.assign(cached=progress["needed"])
    assert llm_runs.todo_commands(preset, done, "py") == []
    # every call made, one expert's answers to generated items missing: only those, then embed
    answers = done.copy()
    answers.loc[9, "cached"] = 1
    assert llm_runs.todo_commands(preset, answers, "py") == [
        f"{run} answer --preset cpu --generated --experts b:letter", f"{run} embed --preset cpu"]


def test_command_units_name_the_work_whatever_the_grouping_or_preset() -> None:
    run = ".venv/bin/python -m rgd_utils.llm_runs"
    units = llm_runs.command_units
    assert units(f"{run} answer --preset cpu --generated --experts q:letter q:cloze") == [
        "answer generated q:letter", "answer generated q:cloze"]
    # a list made later groups differently, another preset shares the expert: the same unit
    assert units(f"{run} answer --preset cpu-specialists --generated --experts q:cloze") == [
        "answer generated q:cloze"]
    assert units(f"{run} answer --preset paper --real --experts q:cloze") == ["answer real q:cloze"]
    assert units(f"{run} generate --preset cpu --generator g-t1.0") == ["generate g-t1.0"]
    assert units(f"{run} embed --preset cpu") == ["embed"]
    assert units("echo hello") == ["echo hello"]


def test_todo_from_the_command_line(tmp_path, scripted, capsys) -> None:
    assert llm_runs.main(["todo", "--preset", "cpu", "--cache", str(tmp_path), "--python", "py"]) == 0
    lines = capsys.readouterr().out.strip().splitlines()
    assert lines[0].startswith("py -m rgd_utils.llm_runs answer --preset cpu --real --experts ")
    assert lines[-1] == "py -m rgd_utils.llm_runs embed --preset cpu"
    assert sum(" generate " in line for line in lines) == 3
