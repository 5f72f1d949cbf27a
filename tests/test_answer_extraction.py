"""Reading the letter a chain-of-thought answer chose: both rules on labelled realistic outputs."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from rgd_utils.extraction import (
    compare_rules, comparison_markdown, extract_choice, extract_choice_paper, read_fixtures,
)

ROOT = Path(__file__).resolve().parents[1]
FIXTURES = ROOT / "tests" / "fixtures" / "cot_outputs.jsonl"
DOC = ROOT / "docs" / "answer_extraction.md"


@pytest.fixture(scope="module")
def table() -> pd.DataFrame:
    return compare_rules(read_fixtures(FIXTURES))


def _letters(column: pd.Series) -> list:
    return [None if v is None or v != v else v for v in column]


def test_the_fixtures_are_many_varied_and_labelled() -> None:
    fixtures = read_fixtures(FIXTURES)
    assert len(fixtures) >= 60 and fixtures["id"].is_unique
    assert set(fixtures["finish_reason"]) == {"stop", "length"}
    assert (fixtures["n_options"] == 10).sum() >= 8
    assert fixtures["text"].str.contains("<think>").sum() >= 6
    assert fixtures["text"].str.contains(r"\*\*").sum() >= 10
    assert fixtures["expected"].isna().sum() >= 15  # outputs with no readable answer
    for row in fixtures.itertuples():
        assert row.expected is None or row.expected != row.expected or row.expected in "ABCDEFGHIJ"[:row.n_options]


def test_our_rule_reads_every_fixture(table) -> None:
    wrong = table[[a != b for a, b in zip(_letters(table["ours"]), _letters(table["expected"]))]]
    assert wrong.empty, wrong[["id", "expected", "ours"]].to_string()


def test_where_the_papers_rule_differs_from_ours(table) -> None:
    differ = table[[a != b for a, b in zip(_letters(table["ours"]), _letters(table["paper"]))]]
    assert dict(zip(differ["id"], _letters(differ["paper"]))) == {
        "plain-06": "B", "md-01": "D", "md-02": "C", "md-07": "B", "md-09": "A", "md-10": None,
        "md-11": "A", "md-13": "D", "md-17": "B", "think-01": "A", "think-03": "A", "think-05": "D",
        "cut-01": "I", "cut-02": "F", "cut-03": "B", "cut-04": "A", "cut-05": "A", "cut-07": "B",
        "cut-08": "G", "short-04": None, "hard-01": "A", "hard-02": "D", "hard-18": None,
    }
    # Where they agree, both are right: ours is never worse on these outputs.
    agree = table.drop(differ.index)
    assert _letters(agree["paper"]) == _letters(agree["expected"])


def test_truncated_outputs_give_no_stray_letter() -> None:
    cut = "Let me compare the options. The first is plausible, but I"
    assert extract_choice(cut, 10, truncated=True) is None
    assert extract_choice_paper(cut, 10) == "I"
    assert extract_choice("**Answer:** (B)\n\nExplanation: option (A) is", 4, truncated=True) == "B"


@pytest.mark.parametrize(("text", "n", "expected"), [
    ("Let me think. The answer is (B).", 4, "B"),
    ("The answer is (E)", 4, None),  # E is not among the first 4 letters; no other letter
    ("So we get \\boxed{D} in the end", 4, "D"),
    ("Options (A) and (C) look right, but (C) wins", 4, "C"),
    ("I pick A", 4, "A"),  # the last isolated capital
    ("The answer is (B). Actually (D).", 4, "B"),  # rule 1 beats rule 3
    ("the answer is C because ...", 4, "C"),  # rule 4: "the answer is" needs "(C)"
    ("no letter here at all", 4, None),
    ("", 4, None),
    ("The answer is (J)", 10, "J"),
    ("The answer is (B)", 0, None),
])
def test_the_papers_cascade(text, n, expected) -> None:
    assert extract_choice_paper(text, n) == expected


@pytest.mark.parametrize(("text", "n", "expected"), [
    ("The answer is (B).", 0, None),
    ("Answer: K", 10, None),
    ("The answer is I think (B)", 10, "B"),  # the pronoun "I" is not a stated letter
    ("The answer is a prime number, so (C)", 4, "C"),  # the article "a" either
])
def test_our_rule_on_edge_cases(text, n, expected) -> None:
    assert extract_choice(text, n) == expected


def test_the_committed_comparison_page_is_up_to_date(table, tmp_path) -> None:
    assert DOC.read_text(encoding="utf-8") == comparison_markdown(table)
    out = tmp_path / "page.md"
    subprocess.run([sys.executable, "-m", "rgd_utils.extraction", str(FIXTURES), str(out)], check=True,
                   cwd=ROOT)
    assert out.read_text(encoding="utf-8") == DOC.read_text(encoding="utf-8")
