"""Screening a batch of generated items, measuring their overlap with real test questions.

Every generation call becomes one row of an audit table, kept or rejected with a reason:

1. the parse reason, for outputs that gave no item (:data:`PARSE_REASONS`); an item built by
   hand is checked the same way (four distinct non-empty options, answer A-D);
2. ``"copies the prompt example"``: similar to the worked example of the system prompt;
3. ``"copies a real test question"``: similar to a real test question of its benchmark;
4. ``"near-duplicate of an earlier item"``: similar to an earlier kept item (lower attempt
   number) of the same generator and benchmark.

"Similar" means a cosine similarity at or above ``near_duplicate`` (default 0.9) between
TF-IDF vectors of character 4-grams (within word boundaries, lower-cased, sub-linear term
frequency) of the stem followed by the options. Options are part of the text because stems such
as "Which of the following is true?" are shared by unrelated questions. The n-grams are hashed
(2**20 buckets), and the inverse document frequencies are fitted on the generated items of one
(generator, benchmark) only: nothing is fitted on test questions, test-only n-grams keep the
largest weight instead of being dropped, and one group's numbers do not change when another
group is added. At 0.9 this catches verbatim and lightly edited copies (a word or a number
changed, options reordered), not paraphrases. 4-grams give nearly the same similarities as
3-5-grams at a fifth of the cost (about 15 s for 5,000 items against 5,600 test questions).

The overlap with the test set is reported for every item that passes step 1, kept or not, in
``max_test_similarity`` (with the closest test question in ``nearest_test_qid``), so that the
notebook can show the whole distribution, not only the rejections.
"""

from __future__ import annotations

from dataclasses import dataclass
from itertools import groupby
from typing import Iterable, Iterator, Mapping, NamedTuple, Sequence

import numpy as np
import pandas as pd
from scipy import sparse

from rgd_utils.benchmarks.schema import QUESTION_COLUMNS, make_question_table
from rgd_utils.text_similarity import DECIMALS, TextSimilarity, best_matches, item_text

from .parse import PARSE_REASONS, ParseResult, item_problem
from .prompt import EXAMPLE_ITEM

#: Reasons added by :func:`validate_generated`, in the order they are checked.
SCREEN_REASONS: tuple[str, ...] = (
    "copies the prompt example",
    "copies a real test question",
    "near-duplicate of an earlier item",
)
#: Every reason a generation call can be rejected for.
REJECTION_REASONS: tuple[str, ...] = PARSE_REASONS + SCREEN_REASONS
#: Columns the audit table adds to the question schema.
DIAGNOSTIC_COLUMNS: tuple[str, ...] = (
    "attempt",
    "layout",
    "dropped_options",
    "parsed",
    "kept",
    "reason",
    "max_test_similarity",
    "nearest_test_qid",
    "max_generated_similarity",
    "duplicate_of",
    "raw",
)

_BLOCK_ROWS = 256


@dataclass(frozen=True)
class GenerationRecord:
    """One generation call and what its output parsed into.

    Attributes
    ----------
    generator : str
        Generator name (the ``source`` of its questions).
    benchmark, subject : str
        What the call was about (from :func:`rgd_utils.generation.schedule`).
    attempt : int
        The call's attempt number.
    parsed : ParseResult
        The output of :func:`rgd_utils.generation.parse_generation`.
    text : str, default ""
        The generator's raw output (the audit's ``raw`` column, for showing rejected calls).
    """

    generator: str
    benchmark: str
    subject: str
    attempt: int
    parsed: ParseResult
    text: str = ""


@dataclass(frozen=True)
class GenerationValidation:
    """Outcome of :func:`validate_generated`.

    Attributes
    ----------
    kept : pandas.DataFrame
        The usable items, exactly in the question schema (``split`` "train", ``source`` the
        generator), ready for :func:`rgd_utils.benchmarks.write_questions`.
    audit : pandas.DataFrame
        One row per generation call: the question columns plus :data:`DIAGNOSTIC_COLUMNS`.

    It unpacks as ``(kept, rejected)``.
    """

    kept: pd.DataFrame
    audit: pd.DataFrame

    @property
    def rejected(self) -> pd.DataFrame:
        """The audit rows of rejected calls, each with its ``reason``."""
        return self.audit.loc[~self.audit["kept"].astype(bool)].reset_index(drop=True)

    def __iter__(self) -> Iterator[pd.DataFrame]:
        """Unpack as ``kept, rejected = validate_generated(...)``."""
        return iter((self.kept, self.rejected))


def generated_qid(generator: str, benchmark: str, attempt: int) -> str:
    """Return the question id of a generated item: ``gen/<generator>/<benchmark>/<attempt>``."""
    return f"gen/{generator}/{benchmark}/{attempt}"


def _earlier_kept_matches(
    vectors: sparse.csr_matrix, usable: np.ndarray, threshold: float
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Greedy screen of items in order against the earlier items that were kept.

    Returns the kept mask, each item's maximum similarity to an earlier kept item (NaN when
    there is none) and the index of that item (-1 when there is none).
    """
    n = vectors.shape[0]
    kept = np.zeros(n, dtype=bool)
    best = np.full(n, np.nan)
    where = np.full(n, -1)
    for start in range(0, n, _BLOCK_ROWS):
        stop = min(start + _BLOCK_ROWS, n)
        block = np.round((vectors[start:stop] @ vectors[:stop].T).toarray(), DECIMALS)
        for i in range(start, stop):
            earlier = np.flatnonzero(kept[:i])
            if earlier.size:
                j = earlier[np.argmax(block[i - start, earlier])]
                best[i], where[i] = block[i - start, j], j
            kept[i] = usable[i] and not best[i] >= threshold
    return kept, best, where


class _TestSet(NamedTuple):
    """The real test questions of one benchmark."""

    texts: list[str]
    qids: list[str]


def _test_sets(real_questions: pd.DataFrame | None) -> dict[str, _TestSet]:
    """The real test questions (``split == "test"``), by benchmark."""
    if real_questions is None:
        return {}
    test = real_questions.loc[real_questions["split"] == "test"]
    return {
        str(benchmark): _TestSet(
            [item_text(q, o) for q, o in zip(part["question"], part["options"])], list(part["qid"])
        )
        for benchmark, part in test.groupby("benchmark", sort=True)
    }


def _call_row(record: GenerationRecord) -> dict[str, object]:
    """The audit row of one call before screening: the item's fields and its parse outcome."""
    item = record.parsed.item
    if item is None:
        reason = record.parsed.reason or "no question"
    else:
        reason = item_problem(item.question, item.options, item.answer)
    return {
        "qid": generated_qid(record.generator, record.benchmark, record.attempt),
        "benchmark": record.benchmark,
        "subject": record.subject,
        "question": item.question if item else None,
        "options": list(item.options) if item else [],
        "answer": item.answer if item else None,
        "split": "train",
        "source": record.generator,
        "attempt": int(record.attempt),
        "layout": record.parsed.layout,
        "dropped_options": int(record.parsed.dropped_options),
        "parsed": item is not None,
        "kept": False,
        "reason": reason,
        "max_test_similarity": np.nan,
        "nearest_test_qid": None,
        "max_generated_similarity": np.nan,
        "duplicate_of": None,
        "raw": record.text,
    }


def _screen_group(rows: list[dict], test: _TestSet | None, threshold: float) -> None:
    """Fill the similarity columns of one (generator, benchmark) group and decide what is kept."""
    candidates = [row for row in rows if row["reason"] is None]
    if not candidates:
        return
    texts = [item_text(row["question"], row["options"]) for row in candidates]
    similarity = TextSimilarity(texts)
    vectors = similarity.fitted
    example = similarity.vectors([item_text(EXAMPLE_ITEM.question, EXAMPLE_ITEM.options)])
    example_best, _ = best_matches(vectors, example)
    if test is None:
        test_best, test_where = np.full(len(texts), np.nan), np.full(len(texts), -1)
    else:
        test_best, test_where = best_matches(vectors, similarity.vectors(test.texts))
    for row, example_similarity, test_similarity in zip(candidates, example_best, test_best):
        if example_similarity >= threshold:
            row["reason"] = SCREEN_REASONS[0]
        elif test_similarity >= threshold:
            row["reason"] = SCREEN_REASONS[1]
    usable = np.array([row["reason"] is None for row in candidates])
    kept, generated_best, generated_where = _earlier_kept_matches(vectors, usable, threshold)
    for i, row in enumerate(candidates):
        row["max_test_similarity"] = float(test_best[i])
        row["nearest_test_qid"] = test.qids[test_where[i]] if test is not None else None
        row["max_generated_similarity"] = float(generated_best[i])
        if generated_where[i] >= 0:
            row["duplicate_of"] = candidates[generated_where[i]]["qid"]
        if usable[i] and not kept[i]:
            row["reason"] = SCREEN_REASONS[2]
        row["kept"] = bool(kept[i])


def validate_generated(
    records: Iterable[GenerationRecord],
    real_questions: pd.DataFrame | None = None,
    near_duplicate: float = 0.9,
) -> GenerationValidation:
    """Keep the usable generated items; record every call's outcome and test-set overlap.

    Parameters
    ----------
    records : iterable of GenerationRecord
        One per generation call, parsed or not; ``(generator, benchmark, attempt)`` unique.
    real_questions : pandas.DataFrame, optional
        A real question table; its ``split == "test"`` rows of each benchmark are what the
        generated items of that benchmark are compared with. Without it, overlap is not
        measured (``max_test_similarity`` is NaN) and nothing is rejected for it.
    near_duplicate : float, default 0.9
        Cosine similarity at or above which an item copies the prompt example, a test question
        or an earlier kept item (see the module docstring for the text representation).

    Returns
    -------
    GenerationValidation
        ``kept`` (question schema), ``audit`` (every call, with diagnostics) and ``rejected``.

    Raises
    ------
    ValueError
        For a threshold outside (0, 1] or a repeated ``(generator, benchmark, attempt)``.
    """
    if not 0 < near_duplicate <= 1:
        raise ValueError(f"near_duplicate must be in (0, 1], got {near_duplicate}")
    ordered = sorted(records, key=lambda r: (r.generator, r.benchmark, r.attempt))
    rows = [_call_row(record) for record in ordered]
    qids = pd.Series([row["qid"] for row in rows], dtype=object)
    if qids.duplicated().any():
        raise ValueError(f"repeated generation calls: {sorted(set(qids[qids.duplicated()]))}")
    tests = _test_sets(real_questions)
    for (_, benchmark), group in groupby(rows, key=lambda row: (row["source"], row["benchmark"])):
        _screen_group(list(group), tests.get(str(benchmark)), near_duplicate)
    audit = pd.DataFrame.from_records(rows, columns=[*QUESTION_COLUMNS, *DIAGNOSTIC_COLUMNS])
    audit = audit.astype({"parsed": bool, "kept": bool})  # also when there is no call
    kept = make_question_table(row for row in rows if row["kept"])
    return GenerationValidation(kept=kept, audit=audit)


def generation_report(validation: GenerationValidation) -> pd.DataFrame:
    """Summarise a validation per generator and benchmark.

    Parameters
    ----------
    validation : GenerationValidation
        The output of :func:`validate_generated`.

    Returns
    -------
    pandas.DataFrame
        One row per (generator, benchmark): ``attempts``, ``parsed``, ``kept``, ``parse_rate``
        and ``kept_rate`` (both over attempts), ``max_test_similarity`` (the largest among
        kept items; NaN when not measured), ``kept_fifth_dropped`` (kept items whose extra
        options after D were dropped), and one count column per reason of
        :data:`REJECTION_REASONS`.
    """
    audit = validation.audit.rename(columns={"source": "generator"})
    keys = ["generator", "benchmark"]
    grouped = audit.groupby(keys, sort=True)
    report = pd.DataFrame({
        "attempts": grouped.size(),
        "parsed": grouped["parsed"].sum().astype(int),
        "kept": grouped["kept"].sum().astype(int),
    })
    report["parse_rate"] = report["parsed"] / report["attempts"]
    report["kept_rate"] = report["kept"] / report["attempts"]
    kept = audit.loc[audit["kept"].astype(bool)]
    report["max_test_similarity"] = kept.groupby(keys)["max_test_similarity"].max().astype(float)
    report["kept_fifth_dropped"] = (kept["dropped_options"] > 0).groupby([kept["generator"], kept["benchmark"]]).sum()
    report["kept_fifth_dropped"] = report["kept_fifth_dropped"].fillna(0).astype(int)
    reasons = pd.crosstab([audit["generator"], audit["benchmark"]], audit["reason"])
    reasons = reasons.reindex(index=report.index, columns=list(REJECTION_REASONS), fill_value=0)
    return pd.concat([report, reasons.fillna(0).astype(int)], axis=1).reset_index()


def subject_balance(kept: pd.DataFrame, subjects: Mapping[str, Sequence[str]]) -> pd.DataFrame:
    """How evenly the kept items of each generator cover each benchmark's subjects.

    Parameters
    ----------
    kept : pandas.DataFrame
        Kept generated items (question schema: ``source``, ``benchmark``, ``subject``).
    subjects : mapping of str to sequence of str
        Every subject of each benchmark (those with no kept item count as 0).

    Returns
    -------
    pandas.DataFrame
        One row per (generator, benchmark) present in ``kept``: ``subjects``, ``min``,
        ``median`` and ``max`` kept items per subject, and ``empty`` (subjects with none).
    """
    rows = []
    for (generator, benchmark), part in kept.groupby(["source", "benchmark"], sort=True):
        counts = part["subject"].value_counts().reindex(list(subjects[benchmark]), fill_value=0)
        rows.append({"generator": generator, "benchmark": benchmark, "subjects": len(counts),
                     "min": int(counts.min()), "median": float(counts.median()),
                     "max": int(counts.max()), "empty": int((counts == 0).sum())})
    columns = ["generator", "benchmark", "subjects", "min", "median", "max", "empty"]
    return pd.DataFrame(rows, columns=columns).set_index(["generator", "benchmark"])
