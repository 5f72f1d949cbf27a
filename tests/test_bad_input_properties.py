"""Property-based tests (hypothesis): the generation parser and the answer extractor read any
text without crashing, and what they return is always well formed."""

from __future__ import annotations

import json

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from rgd_utils.benchmarks.schema import LETTERS
from rgd_utils.generation.parse import (
    N_OPTIONS,
    OPTION_LETTERS,
    PARSE_REASONS,
    normalise_answer,
    parse_generation,
)
from rgd_utils.responses import extract_choice

PROFILE = settings(max_examples=150, deadline=None,
                   suppress_health_check=[HealthCheck.too_slow])

# Pieces of the layouts the parser knows, so that random text reaches its deeper branches.
FRAGMENTS = st.sampled_from([
    "[QUESTION]", "[/QUESTION]", "**[QUESTION]**:", "[OPTION A]", "[OPTION B]", "[OPTION C]",
    "[OPTION D]", "[OPTION E]", "[A]", "[D]", "[ANSWER]", "[answer]:", "Question:", "A)", "B.",
    "(C)", "D)", "E)", "Answer:", "Answer: B", "The answer is (C)", "```json", "```", "{", "}",
    '"question":', '"options":', '"answer":', "[", "]", ",", "\n", " ", "A", "B", "C", "D",
    "option", "What is 2+2?", "4", "5", "six", "",
])
TEXT = st.one_of(
    st.text(),
    st.lists(st.one_of(FRAGMENTS, st.text(max_size=12)), max_size=40).map("".join),
)


def _json_item(question, options, answer) -> str:
    return json.dumps({"question": question, "options": options, "answer": answer})


JSON_TEXT = st.builds(_json_item, st.text(max_size=30),
                      st.one_of(st.lists(st.text(max_size=10), max_size=6),
                                st.dictionaries(st.sampled_from(list("ABCDEF")), st.text(max_size=10))),
                      st.one_of(st.text(max_size=5), st.integers(-2, 8), st.none()))


def _check_result(result) -> None:
    if result.item is None:
        assert result.reason in PARSE_REASONS
        return
    item = result.item
    assert result.reason is None
    assert item.question.strip()
    assert len(item.options) == N_OPTIONS
    assert all(o.strip() for o in item.options)
    assert len({o.strip().casefold() for o in item.options}) == N_OPTIONS
    assert item.answer in OPTION_LETTERS
    assert result.layout in ("tagged", "json", "plain")
    assert result.dropped_options >= 0


@PROFILE
@given(TEXT)
def test_parse_generation_never_raises_and_returns_a_valid_item_or_a_known_reason(text):
    _check_result(parse_generation(text))


@PROFILE
@given(JSON_TEXT)
def test_parse_generation_reads_arbitrary_json_safely(text):
    _check_result(parse_generation(text))


@PROFILE
@given(st.one_of(st.none(), st.integers(), st.binary(max_size=20), st.lists(st.text(), max_size=3)))
def test_parse_generation_refuses_non_text_with_a_reason(value):
    assert parse_generation(value).reason == "no text"


@PROFILE
@given(TEXT, st.integers(min_value=0, max_value=len(LETTERS) + 3))
def test_extract_choice_returns_none_or_a_letter_in_range(text, n_options):
    choice = extract_choice(text, n_options)
    assert choice is None or choice in LETTERS[:n_options]


@PROFILE
@given(st.text(max_size=40), st.lists(st.text(max_size=15), max_size=6))
def test_normalise_answer_returns_none_or_a_letter_among_the_options(answer, options):
    letter = normalise_answer(answer, options)
    assert letter is None or (len(letter) == 1 and letter.isalpha() and letter.isupper())


def test_a_well_formed_item_survives_noise_around_it():
    item = ("[QUESTION] What is 2+2? [OPTION A] 3 [OPTION B] 4 [OPTION C] 5 [OPTION D] 6 "
            "[ANSWER] B")

    @PROFILE
    @given(st.text(alphabet=st.characters(blacklist_characters="[]{}"), max_size=30),
           st.text(alphabet=st.characters(blacklist_characters="[]{}"), max_size=30))
    def check(before, after):
        result = parse_generation(f"{before}\n{item}\n{after}")
        assert result.item is not None
        assert result.item.answer == "B" and result.item.options[1] == "4"

    check()
