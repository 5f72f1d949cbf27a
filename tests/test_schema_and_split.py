"""Validation of question rows, and the seeded, stratified, order-independent split."""

from __future__ import annotations

import pandas as pd
import pytest

from rgd_utils import benchmarks as bm


def _table(rows):
    return bm.make_question_table(
        {"benchmark": "toy", "subject": "s", **row} for row in rows
    )


def test_letters_and_indices_round_trip() -> None:
    assert bm.letter_of(0) == "A" and bm.letter_of(19) == "T"
    assert bm.index_of("c") == 2 and bm.index_of(" J ") == 9
    with pytest.raises(ValueError):
        bm.letter_of(20)
    with pytest.raises(ValueError, match="not an option letter"):
        bm.index_of("AB")


def test_every_bad_row_is_kept_aside_with_its_reason() -> None:
    table = _table([
        {"qid": "ok", "question": "Q?", "options": ["a", "b"], "answer": "b"},
        {"qid": "no-options", "question": "Q?", "options": [], "answer": "A"},
        {"qid": "one-distinct", "question": "Q?", "options": ["x", " x", ""], "answer": "A"},
        {"qid": "out-of-range", "question": "Q?", "options": ["a", "b", "c"], "answer": "D"},
        {"qid": "not-a-letter", "question": "Q?", "options": ["a", "b"], "answer": "7"},
        {"qid": "empty-question", "question": "  ", "options": ["a", "b"], "answer": "A"},
        {"qid": "no-answer", "question": "Q?", "options": ["a", "b"], "answer": None},
        {"qid": "empty-gold", "question": "Q?", "options": ["a", "", "c"], "answer": "B"},
        {"qid": "ok", "question": "again", "options": ["a", "b"], "answer": "A"},
    ])
    result = bm.validate_questions(table)
    assert list(result.valid["qid"]) == ["ok"]
    assert result.valid.iloc[0]["answer"] == "B"
    assert dict(zip(result.rejected["qid"] + "#" + result.rejected["question"], result.rejected["reason"])) == {
        "no-options#Q?": "fewer than two distinct non-empty options",
        "one-distinct#Q?": "fewer than two distinct non-empty options",
        "out-of-range#Q?": "answer letter out of range",
        "not-a-letter#Q?": "answer letter out of range",
        "empty-question#  ": "empty question",
        "no-answer#Q?": "missing answer",
        "empty-gold#Q?": "answer points at an empty option",
        "ok#again": "duplicate qid",
    }
    assert set(result.rejected["reason"]) <= set(bm.REASONS)
    counts = result.counts().set_index("reason")["n"].to_dict()
    assert counts["fewer than two distinct non-empty options"] == 2
    assert result.summary() == (
        "toy: kept 1, rejected 8 (2 answer letter out of range, 1 answer points at an empty "
        "option, 1 duplicate qid, 1 empty question, 2 fewer than two distinct non-empty "
        "options, 1 missing answer)"
    )


def test_unlabelled_rows_are_allowed_when_asked() -> None:
    table = _table([
        {"qid": "a", "question": "Q?", "options": ["a", "b"], "answer": None},
        {"qid": "b", "question": "Q?", "options": ["a", "b"], "answer": "C"},
    ])
    result = bm.validate_questions(table, require_answer=False)
    assert list(result.valid["qid"]) == ["a"] and result.valid.iloc[0]["answer"] is None
    assert list(result.rejected["reason"]) == ["answer letter out of range"]


def _many(n_per_subject: dict[str, int]) -> pd.DataFrame:
    rows = [
        {"qid": f"{subject}-{i}", "subject": subject, "question": "Q?", "options": ["a", "b"], "answer": "A"}
        for subject, n in n_per_subject.items() for i in range(n)
    ]
    return bm.make_question_table({"benchmark": "toy", **r} for r in rows)


def test_split_is_60_40_in_every_subject() -> None:
    table = bm.assign_split(_many({"a": 10, "b": 7, "c": 1}))
    counts = bm.split_counts(table)
    assert counts.loc[("toy", "a"), "train"] == 6 and counts.loc[("toy", "a"), "test"] == 4
    assert counts.loc[("toy", "b"), "train"] == 4  # int(0.6 * 7), as the paper's script
    assert counts.loc[("toy", "c"), "train"] == 0


def test_split_is_the_same_whatever_the_row_order_and_changes_with_the_seed() -> None:
    table = _many({"a": 50, "b": 30})
    first = bm.assign_split(table, seed=0).set_index("qid")["split"]
    shuffled = bm.assign_split(table.sample(frac=1.0, random_state=3), seed=0).set_index("qid")["split"]
    assert first.equals(shuffled.loc[first.index])
    other_seed = bm.assign_split(table, seed=1).set_index("qid")["split"]
    assert not first.equals(other_seed)


PINNED_KEY = 16645722155616295542
PINNED_SIDES = {
    "a-0": "train", "a-1": "test", "a-2": "train", "a-3": "train", "a-4": "train",
    "a-5": "train", "a-6": "test", "a-7": "test", "a-8": "test", "a-9": "train",
}


def test_split_pins_known_ids_to_their_side() -> None:
    """Pinned values: a change here changes every split of the study."""
    assert bm.split_key("mmlu/abstract_algebra/test/0", 0) == PINNED_KEY
    table = _many({"a": 10})
    sides = bm.assign_split(table, seed=0).set_index("qid")["split"].to_dict()
    assert sides == PINNED_SIDES


def test_split_rejects_duplicate_ids() -> None:
    table = _many({"a": 3})
    table.loc[2, "qid"] = "a-0"
    with pytest.raises(ValueError, match="unique"):
        bm.assign_split(table)


def test_subsample_is_stable_and_bounded() -> None:
    table = _many({"a": 30, "b": 30})
    one = bm.subsample(table, 12, seed=0)
    two = bm.subsample(table.iloc[::-1], 12, seed=0)
    assert len(one) == 12 and set(one["qid"]) == set(two["qid"])


def test_write_and_read_round_trip(tmp_path) -> None:
    table = bm.assign_split(_many({"a": 5, "b": 4}))
    files = bm.write_questions(table, tmp_path)
    assert [f.name for f in files] == ["real__toy.parquet"]
    first_bytes = files[0].read_bytes()
    bm.write_questions(table.iloc[::-1], tmp_path)
    assert files[0].read_bytes() == first_bytes
    back = bm.read_questions(tmp_path)
    assert back["options"].iloc[0] == ["a", "b"]
    assert sorted(back["qid"]) == sorted(table["qid"])
    assert back.set_index("qid")["split"].to_dict() == table.set_index("qid")["split"].to_dict()
