"""The specialists' training questions stay apart from the study's, by id and by text."""

from __future__ import annotations

import pandas as pd
import pytest

from rgd_utils.benchmarks import make_question_table
from rgd_utils.specialists import SPECIALISTS
from rgd_utils.specialists.data import (
    candidate_questions,
    choose_training,
    screen_candidates,
    screening_counts,
)


def _table(rows: list[tuple[str, str, str, list[str]]], source: str = "real") -> pd.DataFrame:
    return make_question_table(
        {"qid": qid, "benchmark": bench, "subject": "s", "question": q, "options": opts,
         "answer": "A", "split": "train", "source": source}
        for qid, bench, q, opts in rows)


OPTIONS = ["the mitochondrion", "the ribosome", "the nucleus", "the cell membrane"]
CANDIDATES = _table([
    ("med/1", "medmcqa", "Which organelle makes most of the cell's ATP?", OPTIONS),
    ("med/2", "medmcqa", "Which organelle makes most of the cells ATP?", OPTIONS),  # edited copy
    ("med/3", "medmcqa", "Which vitamin deficiency causes scurvy?",
     ["vitamin C", "vitamin D", "vitamin K", "vitamin B12"]),
    ("med/4", "medmcqa", "What is the normal adult resting heart rate?",
     ["60-100 beats per minute", "20-40", "120-160", "180-200"]),
])
STUDY = pd.concat([
    _table([("med/1", "medmcqa", "Which organelle makes most of the cell's ATP?", OPTIONS),
            ("med/9", "medmcqa", "Which organelle makes most of the cell's ATP?", OPTIONS)]),
    _table([("gen/g/medmcqa/0", "medmcqa", "What is the normal adult resting heart rate?",
             ["60-100 beats per minute", "20-40", "120-160", "180-200"])], source="g"),
], ignore_index=True)


def test_study_ids_and_near_copies_are_dropped_with_their_reason() -> None:
    screened = screen_candidates(CANDIDATES, STUDY).set_index("qid")
    assert screened.loc["med/1", "reason"] == "a study question"
    assert screened.loc["med/2", "reason"] == "near-duplicate of a study question"
    assert screened.loc["med/2", "nearest_study_qid"] in {"med/1", "med/9"}
    assert screened.loc["med/2", "max_study_similarity"] >= 0.9
    # a copy of a generated study item counts too
    assert screened.loc["med/4", "reason"] == "near-duplicate of a study question"
    assert screened.loc["med/4", "nearest_study_qid"] == "gen/g/medmcqa/0"
    assert pd.isna(screened.loc["med/3", "reason"])
    assert screened.loc["med/3", "max_study_similarity"] < 0.5


def test_counts_per_benchmark_and_reason() -> None:
    counts = screening_counts(screen_candidates(CANDIDATES, STUDY))
    assert counts.loc["medmcqa"].to_dict() == {
        "candidates": 4, "a study question": 1, "near-duplicate of a study question": 2, "usable": 1}


def test_choice_is_seeded_and_capped() -> None:
    many = _table([(f"q/{i}", "mmlu", f"Question number {i} about topic {i * 7}?",
                    [f"a{i}", f"b{i}", f"c{i}", f"d{i}"]) for i in range(30)])
    screened = screen_candidates(many, STUDY)
    first = choose_training(screened, 10, seed=0)
    assert len(first) == 10 and first["qid"].is_monotonic_increasing
    assert first["qid"].tolist() == choose_training(screened, 10, seed=0)["qid"].tolist()
    assert first["qid"].tolist() != choose_training(screened, 10, seed=1)["qid"].tolist()
    assert len(choose_training(screened, 100, seed=0)) == 30


def test_candidates_are_the_valid_real_questions_of_the_sources() -> None:
    """Loaded, so that a source outside the study's data (SocialIQA) counts too; MedMCQA's one
    invalid row is left out."""
    candidates = candidate_questions(["openbookqa", "socialiqa", "medmcqa"])
    assert candidates["benchmark"].value_counts().to_dict() == {
        "medmcqa": 4_182, "socialiqa": 1_954, "openbookqa": 500}
    assert set(candidates["source"]) == {"real"} and candidates["qid"].is_unique


def test_every_specialist_has_a_domain_of_the_study() -> None:
    targets = [spec.target for spec in SPECIALISTS.values()]
    assert sorted(targets) == ["arc_easy", "commonsenseqa", "medmcqa", "mmlu"]
    for spec in SPECIALISTS.values():
        assert spec.target in spec.sources and spec.name == f"{spec.base}+{spec.domain}"
        assert not {"q_proj", "k_proj"} & set(spec.recipe.targets)


@pytest.mark.parametrize("empty", ["study", "candidates"])
def test_empty_inputs(empty: str) -> None:
    candidates = CANDIDATES.iloc[:0] if empty == "candidates" else CANDIDATES
    study = STUDY.iloc[:0] if empty == "study" else STUDY
    screened = screen_candidates(candidates, study)
    assert len(screened) == len(candidates)
    if empty == "study":
        assert screened["reason"].isna().all()


def test_domain_assignment_needs_one_specialist_per_benchmark() -> None:
    from rgd_utils.specialists import domain_assignment

    pool = [f"{name}:cloze" for name in SPECIALISTS] + ["gemma3-270m:cloze"]
    benchmarks = ["mmlu", "medmcqa", "arc_easy", "commonsenseqa"]
    assert domain_assignment(pool, benchmarks) == {
        "mmlu": "gemma3-270m+knowledge:cloze", "medmcqa": "gemma3-270m+medical:cloze",
        "arc_easy": "gemma3-270m+science:cloze", "commonsenseqa": "gemma3-270m+commonsense:cloze"}
    assert domain_assignment(pool[1:], benchmarks) is None  # no knowledge specialist
    assert domain_assignment(pool + ["gemma3-270m+medical:letter"], benchmarks) is None  # two
