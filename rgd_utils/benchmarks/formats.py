"""The benchmarks' upstream rows turned into the common question table (pure, no network).

Every row is kept: validation happens afterwards, in one place, with reasons
(:mod:`rgd_utils.benchmarks.schema`).
"""

from __future__ import annotations

import logging
import re
from typing import Mapping

import pandas as pd

from .schema import gold_letter, index_of, letter_of, make_question_table

logger = logging.getLogger(__name__)

#: The paper keeps only the first 30,000 rows of MedMCQA's train split.
MEDMCQA_ROWS = 30_000

#: Tasks with a fixed answer set: the options, in the order the paper lists them.
BBEH_FIXED_OPTIONS: dict[str, list[str]] = {
    "bbeh_boardgame_qa": ["proved", "disproved", "unknown"],
    "bbeh_causal_understanding": ["Yes", "No", "Ambiguous"],
}
#: The 9 BBEH tasks with a discrete answer, in the order of the paper's formatter
#: (``BigBench_ExtraHard_format.py``), which fixes the global running question id. The
#: other 14 tasks have free-form answers and are not used.
BBEH_TASKS: tuple[str, ...] = (
    "bbeh_boardgame_qa",
    "bbeh_boolean_expressions",
    "bbeh_causal_understanding",
    "bbeh_disambiguation_qa",
    "bbeh_geometric_shapes",
    "bbeh_hyperbaton",
    "bbeh_movie_recommendation",
    "bbeh_shuffled_objects",
    "bbeh_nycc",
)

#: MMLU-Pro pads some option lists with this placeholder (TIGER-AI-Lab/MMLU-Pro issue #24).
MMLU_PRO_PADDING = "N/A"

#: An option line of a BBEH multiple-choice input: "(A) text" at the start of a line.
_OPTION_LINE = re.compile(r"^\(([A-Z])\)[ \t]*(.*)$", re.MULTILINE)
#: A BBEH multiple-choice target: "(C)" or a bare "C".
_TARGET_LETTER = re.compile(r"^\(?([A-Z])\)?$")



def _drop_padding(options: list[str], answer: object) -> tuple[list[str], object]:
    """Remove "N/A" options and move the gold letter with its option.

    A gold letter that names a padding option becomes None; a gold value that is not a
    letter of the original list is returned unchanged, for validation to report.
    """
    kept = [i for i, option in enumerate(options) if option.strip() != MMLU_PRO_PADDING]
    trimmed = [options[i] for i in kept]
    try:
        position = index_of(str(answer))
    except ValueError:
        return trimmed, answer
    if position >= len(options):
        return trimmed, answer
    return trimmed, (letter_of(kept.index(position)) if position in kept else None)


def format_mmlu_pro(frame: pd.DataFrame, drop_na: bool = True) -> pd.DataFrame:
    """Turn MMLU-Pro rows into the question table.

    Parameters
    ----------
    frame : pandas.DataFrame
        Upstream columns ``question_id, question, options, answer, answer_index,
        cot_content, category, src``; ``answer_index`` and ``cot_content`` are not used.
    drop_na : bool, default True
        Remove the ``"N/A"`` entries that pad some option lists, as MMLU-Pro's own
        evaluation code does (``preprocess`` in TIGER-AI-Lab/MMLU-Pro
        ``evaluate_from_local.py``), and move the gold letter with its option. The
        paper's formatter (``MMLU_Pro_format.py``) keeps them; pass False for its lists.
        The number of changed rows is logged as a warning; a row whose gold option is
        itself ``"N/A"`` gets answer None, which validation reports.

    Returns
    -------
    pandas.DataFrame
        Question table; ``qid`` is ``mmlu_pro/<question_id>``, ``subject`` the category.
    """
    rows, trimmed, gold_dropped = [], 0, 0
    for record in frame.itertuples(index=False):
        options = [str(o) for o in (record.options if record.options is not None else [])]
        answer: object = record.answer
        if drop_na:
            kept, answer = _drop_padding(options, record.answer)
            trimmed += int(len(kept) < len(options))
            gold_dropped += int(answer is None and record.answer is not None)
            options = kept
        rows.append({
            "qid": f"mmlu_pro/{record.question_id}",
            "benchmark": "mmlu_pro",
            "subject": record.category,
            "question": record.question,
            "options": options,
            "answer": answer,
        })
    if trimmed:
        logger.warning(
            "MMLU-Pro: removed %r padding options from %d of %d rows (%d had the padding "
            "as gold answer and now have no answer)", MMLU_PRO_PADDING, trimmed, len(rows),
            gold_dropped,
        )
    return make_question_table(rows)


def format_supergpqa(frame: pd.DataFrame) -> pd.DataFrame:
    """Turn SuperGPQA rows into the question table.

    Parameters
    ----------
    frame : pandas.DataFrame
        Upstream fields ``uuid, question, options, answer (text), answer_letter,
        discipline, field, subfield, difficulty, is_calculation``, in file order.

    Returns
    -------
    pandas.DataFrame
        Question table; ``qid`` is ``supergpqa/<row index>`` (the paper numbers rows, it
        does not use ``uuid``), ``subject`` the discipline, ``answer`` the answer letter.
    """
    rows = [
        {
            "qid": f"supergpqa/{i}",
            "benchmark": "supergpqa",
            "subject": record.discipline,
            "question": record.question,
            "options": list(record.options) if record.options is not None else [],
            "answer": record.answer_letter,
        }
        for i, record in enumerate(frame.itertuples(index=False))
    ]
    return make_question_table(rows)


def format_medmcqa(frame: pd.DataFrame, n_rows: int | None = MEDMCQA_ROWS) -> pd.DataFrame:
    """Turn the first ``n_rows`` MedMCQA train rows into the question table.

    Parameters
    ----------
    frame : pandas.DataFrame
        Upstream columns ``id, question, opa, opb, opc, opd, cop, choice_type, exp,
        subject_name, topic_name``, in the split's order.
    n_rows : int or None, default 30000
        Keep the first rows only, like the paper's ``select(range(30000))``; None keeps
        all. Like ``select``, asking for more rows than there are is an error.

    Returns
    -------
    pandas.DataFrame
        Question table; ``qid`` is ``medmcqa_hub/<row index>``, ``subject`` the
        ``subject_name``, ``answer`` the letter of ``cop`` (0-3 -> A-D).

    Raises
    ------
    ValueError
        If ``frame`` has fewer than ``n_rows`` rows.
    """
    if n_rows is not None and n_rows > len(frame):
        raise ValueError(f"asked for the first {n_rows} MedMCQA rows but there are {len(frame)}")
    head = frame if n_rows is None else frame.iloc[:n_rows]
    rows = [
        {
            "qid": f"medmcqa_hub/{i}",
            "benchmark": "medmcqa_hub",
            "subject": record.subject_name,
            "question": record.question,
            "options": [record.opa, record.opb, record.opc, record.opd],
            "answer": gold_letter(record.cop),
        }
        for i, record in enumerate(head.itertuples(index=False))
    ]
    return make_question_table(rows)


def parse_lettered_options(text: str) -> tuple[str, list[str], list[str]]:
    """Split a BBEH multiple-choice input into question, option labels and option texts.

    An option starts with ``(X)`` at the beginning of a line. Lines between two options
    belong to the first (captions of bbeh_nycc can span two lines); text after the last
    option line (e.g. geometric_shapes' note on rounding, hyperbaton's answer-format
    instruction) is dropped, as the paper's formatter does. The question is the text
    before the first option.

    Parameters
    ----------
    text : str
        The example's ``input``.

    Returns
    -------
    tuple of (str, list of str, list of str)
        Question, labels in order of appearance (``"A"``, ``"B"``, ...), option texts.
    """
    matches = list(_OPTION_LINE.finditer(text))
    if not matches:
        return text.strip(), [], []
    labels, options = [], []
    for match, following in zip(matches, [*matches[1:], None]):
        lines = [match.group(2).strip()]
        if following is not None:
            between = text[match.end():following.start()].splitlines()
            lines += [line.strip() for line in between if line.strip()]
        labels.append(match.group(1))
        options.append("\n".join(lines))
    return text[: matches[0].start()].strip(), labels, options


def _fixed_options_row(example: Mapping[str, object], options: list[str]) -> dict:
    """Row of a task with a fixed answer set; the target is matched case-insensitively."""
    target = str(example.get("target", "")).strip().lower()
    lowered = [o.lower() for o in options]
    answer = letter_of(lowered.index(target)) if target in lowered else None
    return {"question": example.get("input"), "options": list(options), "answer": answer}


def _multiple_choice_row(example: Mapping[str, object]) -> dict:
    """Row of a lettered multiple-choice task; a target naming no parsed option -> None."""
    question, labels, options = parse_lettered_options(str(example.get("input") or ""))
    match = _TARGET_LETTER.match(str(example.get("target", "")).strip())
    label = match.group(1) if match else None
    answer = letter_of(labels.index(label)) if label in labels else None
    return {"question": question, "options": options, "answer": answer}


def format_bbeh(tasks: Mapping[str, Mapping[str, object]]) -> pd.DataFrame:
    """Turn parsed BBEH ``task.json`` files into the question table.

    Parameters
    ----------
    tasks : mapping of str to dict
        ``{task name: parsed task.json}``; each task.json is ``{"examples": [{"input":
        ..., "target": ...}, ...]}``. Only the tasks of :data:`BBEH_TASKS` are used (the
        others have no discrete answer), in that order.

    Returns
    -------
    pandas.DataFrame
        Question table; ``qid`` is ``bbeh/<global running index>`` over the used tasks
        (it equals the paper's ``question_id`` when all 9 tasks are given), ``subject``
        the task name. bbeh_boardgame_qa and bbeh_causal_understanding get their fixed
        options (:data:`BBEH_FIXED_OPTIONS`); the other tasks' options are parsed from
        the input (:func:`parse_lettered_options`). A target that names no option is
        kept with answer None, which validation reports.
    """
    rows = []
    for task in (t for t in BBEH_TASKS if t in tasks):
        for example in tasks[task].get("examples", []):
            if task in BBEH_FIXED_OPTIONS:
                row = _fixed_options_row(example, BBEH_FIXED_OPTIONS[task])
            else:
                row = _multiple_choice_row(example)
            row.update(qid=f"bbeh/{len(rows)}", benchmark="bbeh", subject=task)
            rows.append(row)
    return make_question_table(rows)
