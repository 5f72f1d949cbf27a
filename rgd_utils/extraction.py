"""Which option letter a chain-of-thought answer chose: the paper's rule and this project's.

The paper's rule (its section on pool responses) is a cascade in which the first rule that
matches wins: "The answer is (X)", then ``\\boxed{X}``, then the last "(X)", then the last
isolated capital letter, else no answer. It reads "Option (A) is wrong ... **Answer:** B" as A,
a tentative letter inside a ``<think>`` block as the answer, and the pronoun "I" of a
truncated output as option I.

This project's rule (:func:`extract_choice`) reads what the model concluded:

1. only the text after the last ``</think>`` counts (an unclosed ``<think>`` is no answer);
2. the **last** explicit answer statement wins: "answer is / answer: / correct option is" in
   any case and markdown (``**Answer:** B``, ``The answer is: **B**``, ``(b)``), or
   ``\\boxed{X}``;
3. without one, and only for an output that ended by itself (not cut at ``max_tokens``): a
   reply that is just a letter ("B", "(B) Paris", "**C.**"), or the last "(X)" of the last line;
4. otherwise no answer (None), never a guess.

:func:`compare_rules` runs both on labelled outputs; ``python -m rgd_utils.extraction
FIXTURES OUT.md`` writes the comparison table.
"""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path

import pandas as pd

from .benchmarks.schema import LETTERS

#: A stated answer, in any case: "answer is", "Answer:", "correct option is", "final choice
#: would be", ...
_STATEMENT = (
    r"(?i:(?:\banswer(?:\s+(?:choice|option|letter))?"
    r"|\b(?:correct|right|best|final)\s+(?:option|choice))"
    r"\s*\**\s*(?:is|would\s+be|should\s+be|must\s+be|will\s+be|:|=|-)\s*[:\-]?)"
)
#: Markup that may wrap a stated letter: bold, italics, LaTeX, brackets, "option"/"choice".
_OPEN = r"(?i:\s|\*|_|\$|\\\(|\\text(?:bf)?\{|\[|\{|\boption\b|\bchoice\b|\bletter\b)*"
#: What may follow a bare stated letter: punctuation, markup or the end of the line.
_CLOSE = r"(?=\s*(?:$|[.,;:!?)\]}*$\\]))"
#: A stated letter followed by a word, unless it is the pronoun "I" ("the answer is I think").
_LETTER_THEN_WORD = r"(?=\s)(?!(?<=I)\s+(?:think|believe|am|would|will|guess|need|must|can)\b)"


def _statement_pattern(valid: str) -> re.Pattern[str]:
    upper, lower = valid, valid.lower()
    letter = (
        rf"\(\s*(?P<paren>[{upper}{lower}])\s*\)"                # (B) or (b)
        rf"|\*\*\s*(?P<bold>[{upper}{lower}])\s*[.):]?\s*\*\*"     # **B** or **b)**
        rf"|(?P<bare>[{upper}]){_CLOSE}"                        # B. / B) / B** / end of line
        rf"|(?P<word>[{upper}]){_LETTER_THEN_WORD}"             # B because ... (not "I think")
        rf"|(?P<lower>[{lower}]){_CLOSE}"                       # b.
    )
    return re.compile(rf"{_STATEMENT}{_OPEN}(?:{letter})", re.MULTILINE)


def _boxed_pattern(valid: str) -> re.Pattern[str]:
    upper, lower = valid, valid.lower()
    return re.compile(
        rf"\\boxed\{{\s*(?:\\text(?:bf)?\{{)?\s*\(?\s*(?P<x>[{upper}{lower}])\s*\)?\s*\}}?\s*\}}")


def _final_text(text: str) -> str | None:
    """The text after the last ``</think>``; None when a ``<think>`` block never closes."""
    closed = text.rfind("</think>")
    if closed >= 0:
        return text[closed + len("</think>"):]
    if "<think>" in text:
        return None
    return text


def extract_choice(text: str, n_options: int, truncated: bool = False) -> str | None:
    """The option letter an answer concluded with (this project's rule, module docstring).

    Parameters
    ----------
    text : str
        The model's output.
    n_options : int
        Number of options; only the first ``n_options`` letters count.
    truncated : bool, default False
        The output was cut at ``max_tokens`` (finish reason ``"length"``): only an explicit
        answer statement counts, never a letter found elsewhere.

    Returns
    -------
    str or None
        An upper-case letter among the first ``n_options``, or None.
    """
    valid = LETTERS[:max(n_options, 0)]
    final = _final_text(text or "") if valid else None
    if final is None:
        return None
    found = [(m.start(), next(g for g in m.groups() if g)) for m in _statement_pattern(valid).finditer(final)]
    found += [(m.start(), m.group("x")) for m in _boxed_pattern(valid).finditer(final)]
    if found:
        return max(found)[1].upper()
    if truncated:
        return None
    lines = [line.strip() for line in final.splitlines() if line.strip()]
    if not lines:
        return None
    lower = valid.lower()
    alone = rf"[*_$\s]*\(?([{valid}{lower}])\)?[.:]?[*_$\s]*"   # "B", "(b)", "**C.**"
    labelled = rf"\(?([{valid}])[).:]\s+[^()\n]*"                  # "(C) Pulmonary embolism"
    for pattern, text in ((alone, final), (labelled, final.strip()), (alone, lines[-1])):
        found = re.fullmatch(pattern, text)
        if found:
            return found.group(1).upper()
    named = set(re.findall(rf"\(([{valid}])\)", lines[-1]))  # "So: (D)", not "(A) ... (D) ..."
    return named.pop() if len(named) == 1 else None


def extract_choice_paper(text: str, n_options: int) -> str | None:
    """The paper's extraction cascade; the first rule that matches wins.

    1. "The answer is (X)", X among the first ``n_options`` letters (the first such match);
    2. LaTeX ``\\boxed{X}`` (the first);
    3. the last "(X)";
    4. the last isolated capital letter X;
    5. otherwise None (the paper writes "N/A").
    """
    valid = LETTERS[:max(n_options, 0)]
    if not valid:
        return None
    letter = f"([{valid}])"
    patterns = (
        rf"[Tt]he answer is \({letter}\)",
        rf"\\boxed\{{\s*{letter}\s*\}}",
        rf"\({letter}\)",
        rf"(?<![A-Za-z]){letter}(?![A-Za-z])",
    )
    for i, pattern in enumerate(patterns):
        found = re.findall(pattern, text or "")
        if found:
            return found[0] if i < 2 else found[-1]
    return None


def read_fixtures(path: str | Path) -> pd.DataFrame:
    """Labelled outputs, one JSON object per line: ``id, model_style, n_options,
    finish_reason, text, expected`` (``expected`` null when no answer can be read)."""
    with open(path, encoding="utf-8") as handle:
        rows = [json.loads(line) for line in handle if line.strip()]
    return pd.DataFrame(rows)


def compare_rules(fixtures: pd.DataFrame) -> pd.DataFrame:
    """Both rules on each labelled output.

    Parameters
    ----------
    fixtures : pandas.DataFrame
        As :func:`read_fixtures` returns.

    Returns
    -------
    pandas.DataFrame
        ``id, what, n_options, finish_reason, expected, ours, paper`` (None for no answer).
    """
    rows = []
    for item in fixtures.itertuples(index=False):
        truncated = item.finish_reason == "length"
        rows.append({"id": item.id, "what": item.what, "n_options": item.n_options,
                     "finish_reason": item.finish_reason, "expected": item.expected,
                     "ours": extract_choice(item.text, item.n_options, truncated=truncated),
                     "paper": extract_choice_paper(item.text, item.n_options)})
    return pd.DataFrame(rows, dtype=object)


def comparison_markdown(table: pd.DataFrame) -> str:
    """The comparison as a short markdown page: totals, then every output where a rule errs."""
    def cell(value: object) -> str:
        return "none" if value is None or value != value else str(value)

    n = len(table)
    ours = int((table["ours"].map(cell) == table["expected"].map(cell)).sum())
    paper = int((table["paper"].map(cell) == table["expected"].map(cell)).sum())
    lines = [
        "# Answer extraction: the paper's rule and ours",
        "",
        "Generated by `python -m rgd_utils.extraction tests/fixtures/cot_outputs.jsonl "
        "docs/answer_extraction.md` from the labelled chain-of-thought outputs in "
        "`tests/fixtures/cot_outputs.jsonl` (rules: `rgd_utils/extraction.py`).",
        "",
        f"Correct on {n} outputs: ours {ours}, the paper's {paper}.",
        "",
        "Outputs where the rules differ (\"none\": no answer):",
        "",
        "| id | what | options | finish | expected | ours | paper |",
        "|---|---|---|---|---|---|---|",
    ]
    differ = table[table["ours"].map(cell) != table["paper"].map(cell)]
    for row in differ.itertuples(index=False):
        lines.append(f"| {row.id} | {row.what} | {row.n_options} | {row.finish_reason} | "
                     f"{cell(row.expected)} | {cell(row.ours)} | {cell(row.paper)} |")
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    if len(sys.argv) != 3:
        sys.exit("usage: python -m rgd_utils.extraction FIXTURES.jsonl OUT.md")
    Path(sys.argv[2]).write_text(comparison_markdown(compare_rules(read_fixtures(sys.argv[1]))),
                                 encoding="utf-8")
