"""Generated data: descriptions, prompt, tolerant parser, schedule, screening and report."""

from __future__ import annotations

import math
from collections import Counter
from pathlib import Path

import pandas as pd
import pytest

from rgd_utils import benchmarks as bm
from rgd_utils import generation as gen
from rgd_utils.benchmarks.formats import BBEH_TASKS
from rgd_utils.generation.schedule import ATTEMPT_BLOCK, attempt_offset

MEDMCQA_SUBJECTS = {
    "Pathology", "Ophthalmology", "Gynaecology & Obstetrics", "Anaesthesia", "Forensic Medicine",
    "Psychiatry", "Unknown", "Microbiology", "Medicine", "Radiology", "Biochemistry", "Dental",
    "Pediatrics", "Physiology", "Skin", "Pharmacology", "Social & Preventive Medicine", "ENT",
    "Surgery", "Orthopaedics", "Anatomy",
}
#: SuperGPQA's 13 disciplines, as its ``discipline`` column spells them.
SUPERGPQA_DISCIPLINES = {
    "Management", "Literature and Arts", "Military Science", "Agronomy", "Science", "Economics",
    "Philosophy", "Law", "Sociology", "History", "Education", "Medicine", "Engineering",
}
SINGLE_SUBJECT = ("arc_challenge", "arc_easy", "sciq", "openbookqa", "commonsenseqa")


# --------------------------------------------------------------------------- descriptions

def test_one_description_per_subject_of_every_benchmark_with_generated_data() -> None:
    expected = {
        "mmlu": set(bm.MMLU_TO_MMLU_PRO.values()),
        "medmcqa": MEDMCQA_SUBJECTS,
        "medqa": {"step1", "step2&3"},
        **{name: {name} for name in SINGLE_SUBJECT},
        "mmlu_pro": set(bm.MMLU_TO_MMLU_PRO.values()),
        "supergpqa": SUPERGPQA_DISCIPLINES,
        "medmcqa_hub": MEDMCQA_SUBJECTS,
        "bbeh": set(BBEH_TASKS),
    }
    assert {b: set(s) for b, s in gen.DESCRIPTIONS.items()} == expected
    assert len(expected["mmlu_pro"]) == 14 and len(expected["bbeh"]) == 9
    assert gen.DESCRIPTIONS["medmcqa_hub"] is gen.DESCRIPTIONS["medmcqa"]  # the same 21 subjects
    paragraphs = [text for name, subjects in gen.DESCRIPTIONS.items() if name != "medmcqa_hub"
                  for text in subjects.values()]
    assert len(paragraphs) == 42 + 14 + 13 + 9 and len(set(paragraphs)) == len(paragraphs)
    for text in paragraphs:
        assert text.startswith("These questions ")
        assert 45 <= len(text.split()) <= 110, text
        assert "\n" not in text and "[" not in text


def test_description_for_names_what_it_knows() -> None:
    assert gen.description_for("medqa", "step2&3") == gen.DESCRIPTIONS["medqa"]["step2&3"]
    with pytest.raises(KeyError, match=r"'step3'.*known subjects: \['step1', 'step2&3'\]"):
        gen.description_for("medqa", "step3")
    with pytest.raises(KeyError, match=r"known benchmarks: \['arc_challenge'"):
        gen.description_for("gsm8k", "math")


# --------------------------------------------------------------------------- prompt

def test_generator_messages_carry_rules_example_description_and_reminder() -> None:
    description = gen.description_for("arc_easy", "arc_easy")
    system, user = gen.generator_messages(description)
    assert system["role"] == "system" and user["role"] == "user"
    for tag in gen.TAGS:
        assert tag in system["content"] and tag in user["content"]
    assert "exactly four options" in system["content"]
    assert "Do not write JSON" in system["content"] and "code fences" in system["content"]
    assert "$x^2$" in system["content"]
    assert user["content"].startswith(description)
    assert "Include all six tags" in user["content"]
    # Short enough for a 2k-token context (about four characters a token).
    assert len(system["content"]) + len(user["content"]) < 2000


def test_the_worked_example_is_in_the_format_the_parser_reads() -> None:
    assert gen.format_item(gen.EXAMPLE_ITEM) in gen.SYSTEM_PROMPT
    assert gen.parse_generation(gen.format_item(gen.EXAMPLE_ITEM)).item == gen.EXAMPLE_ITEM


def test_generator_params_are_the_papers_and_seeded_by_attempt() -> None:
    params = gen.generator_params(1234)
    assert (params.temperature, params.top_p, params.seed) == (0.8, 0.95, 1234)
    assert params.max_tokens == 320


# --------------------------------------------------------------------------- parser

STEM = "Which gas do plants take in for photosynthesis?"
GOOD = gen.GeneratedItem(STEM, ("Oxygen", "Carbon dioxide", "Nitrogen", "Helium"), "B")
TAGGED = gen.format_item(GOOD)
OPTION_LINES = (
    "[OPTION A] Oxygen\n[OPTION B] Carbon dioxide\n[OPTION C] Nitrogen\n[OPTION D] Helium\n"
)
KINETICS = gen.GeneratedItem(
    "For rate $= k[A][B]^2$, what is the overall order?", ("1", "2", "3", "4"), "C"
)

REALISTIC_OUTPUTS = [
    # (name, output, expected item or reason, layout)
    ("as asked", TAGGED, GOOD, "tagged"),
    ("chatty preamble and explanation",
     f"Sure! Here is a question for you:\n\n[QUESTION] {STEM}\n{OPTION_LINES}[ANSWER] B\n\n"
     "Explanation: plants fix carbon dioxide in the Calvin cycle.",
     GOOD, "tagged"),
    ("markdown bold, colons, lower case, labels repeated",
     f"**[Question]:** {STEM}\n\n**[option a]:** A) Oxygen\n**[option b]:** B) Carbon dioxide\n"
     "**[option c]:** C) Nitrogen\n**[option d]:** D) Helium\n\n**[Answer]:** **B**",
     GOOD, "tagged"),
    ("bare letter tags, answer as phrase",
     f"[QUESTION]\n{STEM}\n[A] Oxygen\n[B] Carbon dioxide\n[C] Nitrogen\n[D] Helium\n"
     "[ANSWER] The correct answer is (B) because plants need it.",
     GOOD, "tagged"),
    ("wrapped in a code fence, closing tags",
     f"```\n[QUESTION] {STEM} [/QUESTION]\n{OPTION_LINES}[ANSWER] B\n```", GOOD, "tagged"),
    ("echoes the template, then writes its question",
     "[QUESTION] question text\n[OPTION A] first option\n[OPTION B] second option\n"
     "[OPTION C] third option\n[OPTION D] fourth option\n[ANSWER] one letter\n\n" + TAGGED,
     GOOD, "tagged"),
    ("answer given as the option text",
     TAGGED.replace("[ANSWER] B", "[ANSWER] carbon dioxide."), GOOD, "tagged"),
    ("json in a fence despite the rules",
     f'```json\n{{"question": "{STEM}", "choices": ["A) Oxygen", "B) Carbon dioxide", '
     '"C) Nitrogen", "D) Helium"], "correct_answer": "B) Carbon dioxide"}\n```',
     GOOD, "json"),
    ("bare json, options keyed by letter",
     f'Here you go: {{"Question": "{STEM}", "options": {{"A": "Oxygen", "B": "Carbon dioxide", '
     '"C": "Nitrogen", "D": "Helium"}, "answer": "Option B"} Good luck!',
     GOOD, "json"),
    ("plain exam layout",
     f"Question 1: {STEM}\nA. Oxygen\nB. Carbon dioxide\nC. Nitrogen\nD. Helium\nAnswer: B",
     GOOD, "plain"),
    ("chemistry brackets in the stem", gen.format_item(KINETICS), KINETICS, "tagged"),
    ("cut off by max_tokens", TAGGED.split("[OPTION D]")[0], "fewer than 4 options", "tagged"),
    ("five options, answer among A-D: the fifth is dropped",
     TAGGED.replace("[ANSWER]", "[OPTION E] Argon\n[ANSWER]"), GOOD, "tagged"),
    ("five options, the answer is the fifth",
     TAGGED.replace("[ANSWER] B", "[OPTION E] Argon\n[ANSWER] E"), "more than 4 options", "tagged"),
    ("answer out of range", TAGGED.replace("[ANSWER] B", "[ANSWER] E"),
     "answer not one of A-D", "tagged"),
    ("answer that names no option", TAGGED.replace("[ANSWER] B", "[ANSWER] photosynthesis"),
     "answer not one of A-D", "tagged"),
    ("stops after the answer tag", TAGGED.replace("[ANSWER] B", "[ANSWER]"), "no answer", "tagged"),
    ("same option twice", TAGGED.replace("Helium", "oxygen"), "duplicate options", "tagged"),
    ("empty option", TAGGED.replace("Nitrogen", ""), "empty option", "tagged"),
    ("options but no question tag", TAGGED.split("\n", 1)[1], "no question", "tagged"),
    ("degenerate repetition", "The the the the the the " * 40, "no question", None),
]


@pytest.mark.parametrize(("output", "expected", "layout"), [c[1:] for c in REALISTIC_OUTPUTS],
                         ids=[c[0] for c in REALISTIC_OUTPUTS])
def test_parser_on_realistic_small_model_outputs(
    output: str, expected: object, layout: str | None
) -> None:
    result = gen.parse_generation(output)
    if isinstance(expected, gen.GeneratedItem):
        assert (result.item, result.reason) == (expected, None)
    else:
        assert (result.item, result.reason) == (None, expected)
        assert expected in gen.PARSE_REASONS
    assert result.layout == layout


@pytest.mark.parametrize(("answer", "letter"), [
    ("B", "B"), ("b", "B"), ("(B)", "B"), ("[B]", "B"), ("B)", "B"), ("B.", "B"),
    ("B. Carbon dioxide", "B"), ("B: Carbon dioxide", "B"), ("Option B", "B"), ("option b", "B"),
    ("Answer: (B)", "B"), ("The correct answer is B.", "B"), ("The answer is: **B**", "B"),
    ("B is correct", "B"), ("Carbon dioxide", "B"), ("  carbon   DIOXIDE. ", "B"), ("$B$", "B"),
    ("B\nbecause plants fix CO2", "B"), ("E", "E"), ("Answer: E", "E"),
    ("photosynthesis", None), ("", None), ("AB", None), ("42", None), ("Boron", None),
])
def test_answer_normalisation(answer: str, letter: str | None) -> None:
    assert gen.normalise_answer(answer, GOOD.options) == letter


def test_dropped_fifth_options_are_counted() -> None:
    six = TAGGED.replace("[ANSWER]", "[OPTION E] Argon\n[OPTION F] Neon\n[ANSWER]")
    assert gen.parse_generation(six).dropped_options == 2
    assert gen.parse_generation(TAGGED).dropped_options == 0
    assert gen.item_problem(STEM, ["a", "b", "c", "d", "e"], "A") == "more than 4 options"


def test_a_bare_letter_wins_over_an_option_that_is_that_letter() -> None:
    assert gen.normalise_answer("A", ["B", "A", "O", "AB"]) == "A"
    assert gen.normalise_answer("type AB", ["type B", "type A", "type O", "type AB"]) == "D"


@pytest.mark.parametrize("text", [
    "", " ", "\n\n", "[QUESTION]", "[ANSWER]", "[/QUESTION]", "[[[[QUESTION]]]]",
    "[QUESTION][OPTION A][OPTION B][OPTION C][OPTION D][ANSWER]",
    "[" * 50_000 + "]" * 50_000, "{" * 50_000, '{"question": ' * 2_000,
    '{"question": null, "options": null, "answer": null}',
    '{"question": "q", "options": 7, "answer": [1]}',
    '{"question": "q", "options": [{"text": "a"}, null, 3, ["x"]], "answer": {"x": 1}}',
    bytes(range(256)).decode("latin-1") * 40, "\x00" * 10_000, "\ud800\udfff",
    TAGGED * 2_000, "[A]" * 30_000, "Question:" * 10_000, "A) x\n" * 10_000,
    "```json\n```", "```" * 1_000, "[OPTION Z] x [ANSWER] (((((B)))))", "Answer: " + "(" * 10_000,
    # Long runs of spaces: slow (quadratic) regular expressions would hang here.
    "[QUESTION] a" + " " * 50_000 + "b", "Question: q\nA) x" + " " * 50_000 + "y",
    "[" + " " * 50_000 + "x", "```json" + " " * 50_000, "[ANSWER] B" + " " * 50_000 + "x",
])
def test_parser_never_raises(text: str) -> None:
    result = gen.parse_generation(text)
    assert (result.item is None) == (result.reason is not None)
    assert result.reason is None or result.reason in gen.PARSE_REASONS


def test_parser_tolerates_non_text() -> None:
    assert gen.parse_generation(None).reason == "no text"  # type: ignore[arg-type]


def test_json_option_variants() -> None:
    flat = '{"question": "Q?", "A": "w", "B": "x", "C": "y", "D": "z", "answer": "d"}'
    assert gen.parse_generation(flat).item == gen.GeneratedItem("Q?", ("w", "x", "y", "z"), "D")
    as_objects = ('{"question": "Q?", "options": [{"text": "wolf"}, {"text": "fox"}, '
                  '{"text": "yak"}, {"text": "zebu"}], "answer": "Fox"}')
    animals = gen.GeneratedItem("Q?", ("wolf", "fox", "yak", "zebu"), "B")
    assert gen.parse_generation(as_objects).item == animals
    zero_based_index = '{"question": "Q?", "options": ["w", "x", "y", "z"], "answer": 1}'
    assert gen.parse_generation(zero_based_index).reason == "answer not one of A-D"


# --------------------------------------------------------------------------- schedule

SUBJECTS = {
    "mmlu": sorted(set(bm.MMLU_TO_MMLU_PRO.values())),
    "medqa": ["step1", "step2&3"],
    "sciq": ["sciq"],
}


def test_schedule_balances_subjects_at_every_length() -> None:
    calls = gen.schedule(SUBJECTS, 100, seed=0)
    assert len(calls) == 300
    for benchmark, subjects in SUBJECTS.items():
        mine = [c.subject for c in calls if c.benchmark == benchmark]
        for n in range(1, len(mine) + 1):
            counts = Counter(mine[:n])
            assert max(counts.values()) - min(counts.get(s, 0) for s in subjects) <= 1
    assert Counter(c.subject for c in calls if c.benchmark == "mmlu").most_common()[-1][1] == 7


def test_schedule_is_stable_and_attempts_are_distinct() -> None:
    calls = gen.schedule({"toy": ["a", "b", "c"], "one": ["x"]}, 4, seed=0)
    assert calls[:4] == [
        ("toy", "b", 1292894208), ("one", "x", 1513095168),
        ("toy", "a", 1292894209), ("one", "x", 1513095169),
    ]
    assert [c.subject for c in calls if c.benchmark == "toy"] == ["b", "a", "c", "b"]
    shuffled_input = gen.schedule({"toy": ["c", "a", "b", "a"], "one": ["x"]}, 4, seed=0)
    assert shuffled_input == calls
    big = gen.schedule(SUBJECTS, 1000, seed=0)
    assert len({c.attempt for c in big}) == len(big)
    assert all(0 <= c.attempt < 2**31 for c in big)
    other_seed = gen.schedule(SUBJECTS, 1000, seed=1)
    assert not {c.attempt for c in big} & {c.attempt for c in other_seed}


def test_schedule_extends_without_changing_earlier_calls() -> None:
    first = gen.schedule(SUBJECTS, 30, seed=3)
    longer = gen.schedule(SUBJECTS, 75, seed=3)
    assert longer[: len(first)] == first
    assert first + gen.schedule(SUBJECTS, 75, seed=3, start=30) == longer
    alone = gen.schedule({"medqa": SUBJECTS["medqa"]}, 75, seed=3)
    assert alone == [c for c in longer if c.benchmark == "medqa"]


def test_schedule_rejects_bad_requests() -> None:
    with pytest.raises(ValueError, match="without subjects: \\['empty'\\]"):
        gen.schedule({"empty": []}, 5, seed=0)
    with pytest.raises(ValueError, match="start <= n_per_benchmark"):
        gen.schedule(SUBJECTS, 5, seed=0, start=6)
    with pytest.raises(ValueError, match="start <= n_per_benchmark"):
        gen.schedule(SUBJECTS, ATTEMPT_BLOCK + 1, seed=0)
    assert attempt_offset("b55", 0) == attempt_offset("b59", 0)
    with pytest.raises(ValueError, match="'b55' and 'b59' share attempt numbers under seed 0"):
        gen.schedule({"b55": ["s"], "b59": ["s"]}, 1, seed=0)


def test_default_seed_gives_every_known_benchmark_its_own_attempts() -> None:
    names = [*bm.LOADERS]
    assert len({attempt_offset(name, 0) for name in names}) == len(names)


# --------------------------------------------------------------------------- validation

RESPIRATION = gen.GeneratedItem(
    "Which organelle is the site of aerobic respiration in eukaryotic cells?",
    ("Mitochondrion", "Ribosome", "Golgi apparatus", "Lysosome"), "A",
)
RESPIRATION_EDITED = gen.GeneratedItem(
    "Which organelle is the main site of aerobic respiration in eukaryotic cells?",
    RESPIRATION.options, "A",
)
PHOTOSYNTHESIS = gen.GeneratedItem(
    "Which organelle is the site of photosynthesis in plant cells?",
    ("Chloroplast", "Ribosome", "Golgi apparatus", "Lysosome"), "A",
)
DERIVATIVE = gen.GeneratedItem(
    "What is the derivative of $x^3$ with respect to $x$?",
    ("$3x^2$", "$x^2$", "$3x$", "$x^3/3$"), "A",
)


def _record(
    item: gen.GeneratedItem | str, attempt: int, generator: str = "tiny", benchmark: str = "sciq"
) -> gen.GenerationRecord:
    """A call whose output is ``item`` (raw text to parse, or an item built by hand)."""
    if isinstance(item, str):
        parsed = gen.parse_generation(item)
    else:
        parsed = gen.ParseResult(item, None, "tagged")
    return gen.GenerationRecord(generator, benchmark, benchmark, attempt, parsed)


def _real_questions() -> pd.DataFrame:
    return bm.make_question_table([
        {"qid": "sciq/test-1", "benchmark": "sciq", "subject": "sciq", "split": "test",
         "question": PHOTOSYNTHESIS.question, "options": list(PHOTOSYNTHESIS.options),
         "answer": "A"},
        {"qid": "sciq/train-1", "benchmark": "sciq", "subject": "sciq", "split": "train",
         "question": DERIVATIVE.question, "options": list(DERIVATIVE.options), "answer": "A"},
        {"qid": "arc/test-1", "benchmark": "arc_easy", "subject": "arc_easy", "split": "test",
         "question": RESPIRATION.question, "options": list(RESPIRATION.options), "answer": "A"},
    ])


def _validation() -> gen.GenerationValidation:
    records = [
        _record(RESPIRATION_EDITED, 7),         # near-duplicate of attempt 2 (listed first)
        _record(RESPIRATION, 2),
        _record(PHOTOSYNTHESIS, 3),             # copies the real test question sciq/test-1
        _record(DERIVATIVE, 4),                 # like a *train* question: fine
        _record("[QUESTION] Q\n[OPTION A] a\n[ANSWER] A", 5),
        _record(gen.format_item(gen.EXAMPLE_ITEM), 6),
        _record(gen.GeneratedItem("Q?", ("a", "b", "c"), "A"), 8),
        _record(RESPIRATION, 2, generator="other"),   # other generator: screened apart
        _record(RESPIRATION, 2, benchmark="arc_easy"),  # copies arc/test-1
    ]
    return gen.validate_generated(records, real_questions=_real_questions())


def test_validation_keeps_usable_items_in_the_question_schema(tmp_path: Path) -> None:
    kept = _validation().kept
    assert list(kept.columns) == list(bm.QUESTION_COLUMNS)
    assert list(kept["qid"]) == ["gen/other/sciq/2", "gen/tiny/sciq/2", "gen/tiny/sciq/4"]
    assert set(kept["split"]) == {"train"} and list(kept["source"]) == ["other", "tiny", "tiny"]
    assert kept.iloc[1]["options"] == list(RESPIRATION.options) and kept.iloc[1]["answer"] == "A"
    assert bm.validate_questions(kept).rejected.empty
    bm.write_questions(kept, tmp_path)
    expected = kept.sort_values(["source", "benchmark", "qid"]).reset_index(drop=True)
    assert bm.read_questions(tmp_path).equals(expected)


def test_validation_rejects_with_reasons_and_diagnostics() -> None:
    validation = _validation()
    rejected = validation.rejected.set_index("qid")
    assert rejected["reason"].to_dict() == {
        "gen/tiny/arc_easy/2": "copies a real test question",
        "gen/tiny/sciq/3": "copies a real test question",
        "gen/tiny/sciq/5": "fewer than 4 options",
        "gen/tiny/sciq/6": "copies the prompt example",
        "gen/tiny/sciq/7": "near-duplicate of an earlier item",
        "gen/tiny/sciq/8": "fewer than 4 options",
    }
    assert rejected.loc["gen/tiny/sciq/7", "duplicate_of"] == "gen/tiny/sciq/2"
    assert rejected.loc["gen/tiny/sciq/7", "max_generated_similarity"] > 0.95
    assert rejected.loc["gen/tiny/sciq/3", "nearest_test_qid"] == "sciq/test-1"
    assert rejected.loc["gen/tiny/sciq/3", "max_test_similarity"] == 1.0
    assert rejected.loc["gen/tiny/arc_easy/2", "nearest_test_qid"] == "arc/test-1"
    assert not rejected.loc["gen/tiny/sciq/5", "parsed"]
    assert rejected.loc["gen/tiny/sciq/8", "parsed"]
    assert set(validation.audit.columns) == {*bm.QUESTION_COLUMNS, *gen.DIAGNOSTIC_COLUMNS}
    kept, rejected_again = validation
    assert kept is validation.kept and rejected_again.equals(validation.rejected)


def test_overlap_is_measured_for_kept_items_too() -> None:
    audit = _validation().audit.set_index("qid")
    derivative = audit.loc["gen/tiny/sciq/4"]
    assert derivative["kept"] and 0 < derivative["max_test_similarity"] < 0.5
    assert derivative["nearest_test_qid"] == "sciq/test-1"  # only test rows are compared
    assert math.isnan(audit.loc["gen/tiny/sciq/5", "max_test_similarity"])
    without_real = gen.validate_generated([_record(RESPIRATION, 1)])
    assert math.isnan(without_real.audit.loc[0, "max_test_similarity"])
    assert without_real.audit.loc[0, "nearest_test_qid"] is None and len(without_real.kept) == 1


def test_near_duplicate_threshold_is_a_parameter() -> None:
    records = [_record(RESPIRATION, 1), _record(RESPIRATION_EDITED, 2), _record(PHOTOSYNTHESIS, 3)]
    assert len(gen.validate_generated(records).kept) == 2
    assert len(gen.validate_generated(records, near_duplicate=0.99).kept) == 3
    assert len(gen.validate_generated(records, near_duplicate=0.4).kept) == 1
    with pytest.raises(ValueError, match="near_duplicate must be in"):
        gen.validate_generated(records, near_duplicate=0)


def test_repeated_calls_are_an_error() -> None:
    with pytest.raises(ValueError, match="repeated generation calls: \\['gen/tiny/sciq/1'\\]"):
        gen.validate_generated([_record(RESPIRATION, 1), _record(DERIVATIVE, 1)])


def test_generation_report_counts() -> None:
    report = gen.generation_report(_validation()).set_index(["generator", "benchmark"])
    tiny = report.loc[("tiny", "sciq")]
    assert (tiny["attempts"], tiny["parsed"], tiny["kept"]) == (7, 6, 2)
    assert tiny["parse_rate"] == pytest.approx(6 / 7) and tiny["kept_rate"] == pytest.approx(2 / 7)
    assert tiny["fewer than 4 options"] == 2 and tiny["copies a real test question"] == 1
    assert tiny["copies the prompt example"] == 1 and tiny["near-duplicate of an earlier item"] == 1
    assert tiny["no answer"] == 0
    assert 0 < tiny["max_test_similarity"] < 0.5
    arc = report.loc[("tiny", "arc_easy")]
    assert (arc["attempts"], arc["kept"], arc["copies a real test question"]) == (1, 0, 1)
    assert math.isnan(arc["max_test_similarity"])
    assert list(report.columns[-len(gen.REJECTION_REASONS):]) == list(gen.REJECTION_REASONS)
    assert report.loc[("other", "sciq"), "kept_rate"] == 1.0


def test_empty_and_unparsable_batches_give_empty_tables_not_errors() -> None:
    empty = gen.validate_generated([])
    assert list(empty.kept.columns) == list(bm.QUESTION_COLUMNS) and empty.kept.empty
    assert gen.generation_report(empty).empty
    junk = gen.validate_generated([_record("no tags here", 1), _record("", 2)])
    assert junk.kept.empty
    assert list(junk.rejected["reason"]) == ["no question", "no text"]
    row = gen.generation_report(junk).iloc[0]
    assert (row["attempts"], row["parsed"], row["parse_rate"]) == (2, 0, 0.0)
    assert (row["no question"], row["no text"]) == (1, 1)


def test_subject_balance_counts_subjects_without_items() -> None:
    kept = pd.DataFrame({"source": ["g", "g", "g"], "benchmark": ["b", "b", "b"], "subject": ["x", "x", "y"]})
    row = gen.subject_balance(kept, {"b": ["x", "y", "z"]}).loc[("g", "b")]
    assert row.to_dict() == {"subjects": 3, "min": 0, "median": 1.0, "max": 2, "empty": 1}
