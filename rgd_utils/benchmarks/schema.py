"""The study's common question table, and the validation every row goes through.

One row per question::

    qid, benchmark, subject, question, options (list[str]), answer (letter or None),
    split ("train" | "test" | None before splitting), source ("real" | generator name)

Rows that cannot be used are never dropped silently: :func:`validate_questions` returns
them with the reason, so that every loader and notebook can count and report them.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Iterable, Mapping

import pandas as pd

QUESTION_COLUMNS: tuple[str, ...] = (
    "qid",
    "benchmark",
    "subject",
    "question",
    "options",
    "answer",
    "split",
    "source",
)

#: Option letters, in order. The paper's consensus step uses the 20 letters A-T.
LETTERS: str = "ABCDEFGHIJKLMNOPQRST"

#: Rejection reasons, in the order they are checked (the first that applies is reported).
REASONS: tuple[str, ...] = (
    "missing qid",
    "options not a list of strings",
    "duplicate qid",
    "empty question",
    "fewer than two distinct non-empty options",
    "too many options",
    "missing answer",
    "answer letter out of range",
    "answer points at an empty option",
)


def letter_of(index: int) -> str:
    """Return the option letter of a 0-based option index (0 -> "A").

    Parameters
    ----------
    index : int
        0-based option index, ``0 <= index < 20``.

    Returns
    -------
    str
        The letter.
    """
    if not 0 <= int(index) < len(LETTERS):
        raise ValueError(f"option index {index} is outside 0..{len(LETTERS) - 1}")
    return LETTERS[int(index)]


def index_of(letter: str) -> int:
    """Return the 0-based option index of a letter ("C" -> 2); raise ValueError if not a letter."""
    if not isinstance(letter, str) or len(letter.strip()) != 1 or letter.strip().upper() not in LETTERS:
        raise ValueError(f"{letter!r} is not an option letter A-{LETTERS[-1]}")
    return LETTERS.index(letter.strip().upper())


def gold_letter(index: object) -> str | None:
    """Letter of a 0-based gold index, keeping bad values for validation to report.

    Parameters
    ----------
    index : object
        The source's gold index (an int, or something that should have been one).

    Returns
    -------
    str or None
        The letter for 0..19; None when ``index`` is not an integer ("missing answer"); the
        integer's digits when it is outside A-T ("answer letter out of range").
    """
    try:
        position = int(index)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return None
    return LETTERS[position] if 0 <= position < len(LETTERS) else str(position)


def make_question_table(rows: Iterable[Mapping[str, object]]) -> pd.DataFrame:
    """Build a question table with exactly the columns of :data:`QUESTION_COLUMNS`.

    Parameters
    ----------
    rows : iterable of mappings
        Each row needs ``qid, benchmark, subject, question, options, answer``; ``split``
        defaults to None and ``source`` to ``"real"``.

    Returns
    -------
    pandas.DataFrame
        One row per question, columns in the documented order, options as Python lists.
    """
    records = []
    for row in rows:
        record = {column: row.get(column) for column in QUESTION_COLUMNS}
        record["source"] = record["source"] or "real"
        options = record["options"]
        if not isinstance(options, str):  # a string is not a list of options: validation says so
            record["options"] = [("" if o is None else str(o)) for o in (options or [])]
        records.append(record)
    table = pd.DataFrame.from_records(records, columns=list(QUESTION_COLUMNS)).astype(object)
    return table.where(table.notna(), None)


def _is_missing(answer: object) -> bool:
    """True for None, NaN and the empty string."""
    return answer is None or (isinstance(answer, float) and pd.isna(answer)) or answer == ""


def _is_option_list(options: object) -> bool:
    """True for a list-like of strings (a string itself, or a None inside, is not one)."""
    return (not isinstance(options, (str, bytes)) and hasattr(options, "__iter__")
            and all(isinstance(o, str) for o in options))


def _rejection_reason(
    question: object, options: list[str], answer: object, require_answer: bool
) -> str | None:
    """Return the first reason a row is unusable, or None if it is valid."""
    if not isinstance(question, str) or not question.strip():
        return "empty question"
    stripped = [o.strip() for o in options]
    if len({o for o in stripped if o}) < 2:
        return "fewer than two distinct non-empty options"
    if len(options) > len(LETTERS):
        return "too many options"
    if _is_missing(answer):
        return "missing answer" if require_answer else None
    try:
        position = index_of(str(answer))
    except ValueError:
        return "answer letter out of range"
    if position >= len(options):
        return "answer letter out of range"
    if not stripped[position]:
        return "answer points at an empty option"
    return None


def _row_reasons(table: pd.DataFrame, require_answer: bool) -> list[str | None]:
    """The first rejection reason of each row (None for a usable row), in row order."""
    reasons: list[str | None] = []
    seen: set[object] = set()
    for qid, question, options, answer in zip(
        table["qid"], table["question"], table["options"], table["answer"]
    ):
        options = options if options is not None else []
        if not isinstance(qid, str) or not qid:
            reason = "missing qid"
        elif not _is_option_list(options):
            reason = "options not a list of strings"
        elif qid in seen:
            reason = "duplicate qid"
        else:
            reason = _rejection_reason(question, list(options), answer, require_answer)
        seen.add(qid)
        reasons.append(reason)
    return reasons


@dataclass(frozen=True)
class ValidationResult:
    """Outcome of :func:`validate_questions`.

    Attributes
    ----------
    valid : pandas.DataFrame
        The usable rows, in input order, with the answer normalised to an upper-case letter.
    rejected : pandas.DataFrame
        The unusable rows, with an extra ``reason`` column (one of :data:`REASONS`).
    """

    valid: pd.DataFrame
    rejected: pd.DataFrame

    def counts(self) -> pd.DataFrame:
        """Rejected rows per benchmark and reason, as a tidy table (benchmark, reason, n)."""
        if self.rejected.empty:
            return pd.DataFrame({"benchmark": [], "reason": [], "n": []}).astype({"n": int})
        grouped = self.rejected.groupby(["benchmark", "reason"], sort=True).size()
        return grouped.rename("n").reset_index()

    def summary(self) -> str:
        """One line per benchmark: kept and rejected rows, and why."""
        lines = []
        benchmarks = sorted(set(self.valid["benchmark"]) | set(self.rejected["benchmark"]))
        counts = self.counts()
        for name in benchmarks:
            kept = int((self.valid["benchmark"] == name).sum())
            mine = counts[counts["benchmark"] == name]
            why = ", ".join(f"{r.n} {r.reason}" for r in mine.itertuples()) or "none"
            lines.append(f"{name}: kept {kept}, rejected {int(mine['n'].sum())} ({why})")
        return "\n".join(lines)


def validate_questions(table: pd.DataFrame, require_answer: bool = True) -> ValidationResult:
    """Check every row of a question table and split it into usable and rejected rows.

    A usable row has a qid (a non-empty string), options given as a list of strings, a
    non-empty question, at least two distinct non-empty options, at most
    20 options, and (when ``require_answer``) a gold letter that names a non-empty option.
    A repeated ``qid`` rejects every occurrence after the first.

    Parameters
    ----------
    table : pandas.DataFrame
        A question table (see :func:`make_question_table`).
    require_answer : bool, default True
        If False, a missing answer is allowed (unlabelled questions); a present answer is
        still checked.

    Returns
    -------
    ValidationResult
        ``valid`` and ``rejected`` tables; nothing is dropped without a reason.
    """
    reasons = _row_reasons(table, require_answer)
    answers = [None if reason or _is_missing(answer) else str(answer).strip().upper()
               for reason, answer in zip(reasons, table["answer"])]
    reason_series = pd.Series(reasons, index=table.index, dtype=object)
    ok = reason_series.isna()
    valid = table.loc[ok].copy()
    valid["answer"] = pd.Series(answers, index=table.index, dtype=object).loc[ok]
    rejected = table.loc[~ok].copy()
    rejected["reason"] = reason_series.loc[~ok]
    return ValidationResult(valid=valid.reset_index(drop=True), rejected=rejected.reset_index(drop=True))


def check_stored_questions(table: pd.DataFrame, path: object) -> None:
    """Refuse a stored question file with a row that validation would reject.

    Files are written from validated tables, so such a row means that the file was damaged or
    edited; reading on would silently score every expert wrong on it (a gold letter out of
    range) or fail later with a bare error.

    Raises
    ------
    ValueError
        Naming the file, the row (0-based, in the file), its qid and the reason.
    """
    bad = [(row, reason) for row, reason in enumerate(_row_reasons(table, False)) if reason]
    if bad:
        row, reason = bad[0]
        more = f" (and {len(bad) - 1} more rows)" if len(bad) > 1 else ""
        raise ValueError(
            f"{path}, row {row} (qid {table['qid'].iloc[row]!r}): {reason}{more}. The file is "
            "damaged or was edited by hand: restore it (`git checkout -- <file>`) or rebuild it "
            "(`make data` for real questions, `make generation` for generated ones).")
