"""Question files are checked on read as on write, and written under unique temporary names."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import pandas as pd
import pytest

from rgd_utils.benchmarks import make_question_table, read_questions, validate_questions, write_questions

ROOT = Path(__file__).resolve().parents[1]


def _table() -> pd.DataFrame:
    return make_question_table([
        {"qid": f"mmlu#{i}", "benchmark": "mmlu", "subject": "math", "question": f"{i} + 1?",
         "options": [str(i), str(i + 1), str(i + 2)], "answer": "B", "split": "test"}
        for i in range(3)])


def _damaged(tmp_path: Path, column: str, values: list) -> Path:
    """A question file written by write_questions, then one column edited by hand."""
    path = write_questions(_table(), tmp_path)[0]
    table = pd.read_parquet(path)
    table[column] = pd.Series(values, dtype=object)
    table.to_parquet(path, index=False)
    return path


@pytest.mark.parametrize(("column", "values", "row", "reason"), [
    ("answer", ["B", "Z", "B"], 1, "answer letter out of range"),
    ("options", ["0|1|2", "1|2|3", "2|3|4"], 0, "options not a list of strings"),
    ("qid", ["mmlu#0", float("nan"), "mmlu#2"], 1, "missing qid"),
    ("options", [["0", "1"], ["1", None, "3"], ["2", "3"]], 1, "options not a list of strings"),
])
def test_a_damaged_row_is_an_error_naming_the_file_and_row(tmp_path, column, values, row, reason) -> None:
    path = _damaged(tmp_path, column, values)
    with pytest.raises(ValueError, match=rf"{path}, row {row} \(qid .*\): {reason}.*The file is damaged"):
        read_questions(tmp_path)


def test_options_given_as_a_string_are_rejected_on_write_too() -> None:
    table = make_question_table([{"qid": "q1", "benchmark": "b", "subject": "s", "question": "Q?",
                                  "options": "ABCD", "answer": "A"}])
    assert list(validate_questions(table).rejected["reason"]) == ["options not a list of strings"]


WRITER = textwrap.dedent("""
    import sys
    sys.path.insert(0, {root!r})
    import pandas as pd
    from rgd_utils.benchmarks import make_question_table, write_questions
    table = make_question_table([{{"qid": f"mmlu#{{i}}", "benchmark": "mmlu", "subject": "s",
                                  "question": "Q?", "options": ["a", "b"], "answer": "A"}}
                                 for i in range(200)])
    for _ in range(40):
        write_questions(table, __import__("pathlib").Path({folder!r}))
""")


def test_two_processes_writing_one_questions_file_never_collide(tmp_path) -> None:
    script = WRITER.format(root=str(ROOT), folder=str(tmp_path / "questions"))
    writers = [subprocess.Popen([sys.executable, "-c", script], stderr=subprocess.PIPE, text=True)
               for _ in range(2)]
    errors = [w.communicate(timeout=300)[1] for w in writers]
    assert [w.returncode for w in writers] == [0, 0], errors
    assert len(read_questions(tmp_path / "questions")) == 200
    assert [p.name for p in (tmp_path / "questions").iterdir()] == ["real__mmlu.parquet"]  # no leftovers
