"""The closing "What this run shows" cell of the notebooks."""

from __future__ import annotations

from rgd_utils.summary import HEADING, run_summary, share


def test_run_summary_lists_the_sentences_given_and_skips_the_empty_ones() -> None:
    text = run_summary(["CASCAL  scored\n0.412.", None, "", "  ", "3 of 14 claims hold."]).data
    assert text == f"{HEADING}\n\n- CASCAL scored 0.412.\n- 3 of 14 claims hold.\n"


def test_run_summary_says_when_nothing_was_measured() -> None:
    assert run_summary([None]).data == f"{HEADING}\n\n- Nothing was measured in this run.\n"


def test_share_rounds_to_a_percentage_and_survives_an_empty_whole() -> None:
    assert share(1, 3) == "33%" and share(0.125, 1) == "12%" and share(2, 0) == "n/a"
