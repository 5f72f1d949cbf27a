"""Tolerant parsing of one generator output into a four-option question (the paper's §2.4).

Small generators follow the requested format loosely, so three layouts are read, in order:

1. **tagged** (the requested one): ``[QUESTION]``, ``[OPTION A]``..``[OPTION D]`` (or ``[A]``..
   ``[D]`` at the start of a line), ``[ANSWER]``; tags in any case, optionally in markdown bold
   or followed by a colon, with any text before or after. Closing tags (``[/QUESTION]``) end a
   block. A tag that repeats after its block was filled starts another question block.
2. **json**: a ``{"question": ..., "options": [...] or {"A": ...}, "answer": ...}`` object,
   bare or inside a fenced block, with common key variants (``choices``, ``correct_answer``...).
3. **plain**: a ``Question:`` line, option lines ``A)``/``A.``/``(A)``, and an ``Answer:`` line.

A generator that writes a fifth option anyway (small models often do) gets it dropped, as the
paper's tag parser does (it reads each tag's text up to the next tag and knows no ``[OPTION E]``),
when its answer is one of A-D; when its answer is a dropped option the item is rejected
("more than 4 options"). How many options were dropped is reported.

One question is kept per call: the first usable block, trying the layouts in this order. When
none is usable, the reason is that of the first block of the first layout recognised, so that a
broken tagged output is reported as what is wrong with it. :func:`parse_generation` never
raises.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from itertools import islice
from typing import Callable, Iterable, Iterator, Sequence

N_OPTIONS = 4
#: The letters a generated item may use.
OPTION_LETTERS = "ABCD"
#: Letters recognised in option tags, so that a fifth option is reported, not swallowed.
_TAG_LETTERS = "ABCDEFGHIJ"

#: Why an output gave no item, in the order the checks run.
PARSE_REASONS: tuple[str, ...] = (
    "no text",
    "no question",
    "fewer than 4 options",
    "more than 4 options",
    "empty option",
    "duplicate options",
    "no answer",
    "answer not one of A-D",
)


@dataclass(frozen=True)
class GeneratedItem:
    """One generated multiple-choice question.

    Attributes
    ----------
    question : str
        The question stem.
    options : tuple of str
        Exactly four option texts, for A-D.
    answer : str
        The generator's answer letter, one of A-D.
    """

    question: str
    options: tuple[str, ...]
    answer: str


@dataclass(frozen=True)
class ParseResult:
    """Outcome of :func:`parse_generation`.

    Attributes
    ----------
    item : GeneratedItem or None
        The parsed question, or None when the output is unusable.
    reason : str or None
        One of :data:`PARSE_REASONS` when ``item`` is None, else None.
    layout : str or None
        ``"tagged"``, ``"json"`` or ``"plain"``: the layout the item (or the reason) came from;
        None when no layout was recognised.
    dropped_options : int
        Options after D that the generator wrote anyway and the parser dropped (the item is
        kept when its answer is one of A-D, as the paper's tag parser does).
    """

    item: GeneratedItem | None
    reason: str | None = None
    layout: str | None = None
    dropped_options: int = 0


@dataclass(frozen=True)
class _Fields:
    """Raw fields found in one layout, before checking."""

    question: str
    options: dict[str, str]
    answer: str


# --------------------------------------------------------------------------- answers

_BARE = re.compile(r"[(\[]?([A-Za-z])[)\]]?[.:]?")
_ENCLOSED = re.compile(r"[(\[]([A-Za-z])[)\]]|([A-Za-z])\)")
_LABELLED = re.compile(r"([A-Z])(?:\s*[.:\-\u2013]\s+\S|\s+is\s+(?:the\s+)?(?:correct|right)\b)")
_ANSWER_PREFIX = re.compile(
    r"(?:the\s+)?(?:correct\s+|right\s+|final\s+)?(?:answer|option|choice)\s*(?:is\b)?\s*[:=\-]?\s*"
    r"(?:option\s+|choice\s+)?",
    re.IGNORECASE,
)


def _squash(text: str) -> str:
    """Case-folded text with runs of whitespace collapsed and edge punctuation removed."""
    return " ".join(text.split()).strip(" .").casefold()


def _letter_of_reply(reply: str, options: Sequence[str]) -> str | None:
    """Letter of a reply without a leading "answer is" phrase, or None."""
    bare = _BARE.fullmatch(reply)
    if bare:
        return bare.group(1).upper()
    wanted = _squash(reply)
    matching = [i for i, option in enumerate(options) if option and _squash(option) == wanted]
    if len(matching) == 1:
        return OPTION_LETTERS[matching[0]] if matching[0] < len(OPTION_LETTERS) else None
    enclosed = _ENCLOSED.match(reply)
    if enclosed:
        return (enclosed.group(1) or enclosed.group(2)).upper()
    labelled = _LABELLED.match(reply)
    return labelled.group(1) if labelled else None


def normalise_answer(answer: str, options: Sequence[str] = ()) -> str | None:
    """Return the upper-case letter an answer field names, or None if it names none.

    Read from the answer's first non-empty line: ``"B"``, ``"b"``, ``"(B)"``, ``"[B]"``,
    ``"B)"``, ``"B."``, ``"B. text"``, ``"B: text"``, ``"Option B"``, ``"Answer: (B)"``,
    ``"The correct answer is B because ..."``, and the text of exactly one option (case and
    spacing ignored) all give ``"B"``. A bare letter wins over an option whose text is that
    letter. Letters outside A-D are returned as they are, for the caller to reject.

    Parameters
    ----------
    answer : str
        The raw answer field.
    options : sequence of str, optional
        The option texts, in letter order, to recognise an answer given as text.

    Returns
    -------
    str or None
        A single upper-case letter, or None.
    """
    lines = [line.strip(" \t*`\"'$") for line in str(answer).splitlines()]
    first = next((line for line in lines if line), "")
    if not first:
        return None
    letter = _letter_of_reply(first, options)
    if letter is not None:
        return letter
    prefix = _ANSWER_PREFIX.match(first)
    if prefix:
        return _letter_of_reply(first[prefix.end():].strip(" \t*`\"'$"), options)
    return None


# --------------------------------------------------------------------------- checks

def item_problem(
    question: str | None, options: Sequence[str | None], answer: str | None
) -> str | None:
    """Return why a question, its options and its answer letter are unusable, or None.

    Parameters
    ----------
    question : str or None
        The stem.
    options : sequence of str or None
        Option texts in letter order.
    answer : str or None
        An answer letter (already normalised).

    Returns
    -------
    str or None
        The first reason of :data:`PARSE_REASONS` that applies (from ``"no question"`` on).
    """
    if not question or not question.strip():
        return "no question"
    if len(options) < N_OPTIONS:
        return "fewer than 4 options"
    if len(options) > N_OPTIONS:
        return "more than 4 options"
    if any(not option or not option.strip() for option in options):
        return "empty option"
    if len({_squash(option) for option in options}) < N_OPTIONS:  # type: ignore[arg-type]
        return "duplicate options"
    if not answer or not answer.strip():
        return "no answer"
    if answer not in tuple(OPTION_LETTERS):
        return "answer not one of A-D"
    return None


def _item_from(fields: _Fields) -> tuple[GeneratedItem | None, str | None, int]:
    """Check raw fields and build the item, or return the reason it is unusable; the last value
    is the number of options after D that were dropped."""
    if set(OPTION_LETTERS) <= set(fields.options):
        options = [fields.options[k] for k in _TAG_LETTERS if k in fields.options]
    else:
        options = [fields.options[k] for k in OPTION_LETTERS if k in fields.options]
    letter = normalise_answer(fields.answer, options)
    dropped = max(len(options) - N_OPTIONS, 0)
    if dropped and letter in tuple(OPTION_LETTERS):
        options = options[:N_OPTIONS]  # as the paper's parser: text after [OPTION D]'s block is ignored
    reason = item_problem(fields.question, options, letter or fields.answer)
    if reason is not None or letter is None:
        return None, reason or "answer not one of A-D", 0
    return GeneratedItem(fields.question, tuple(options), letter), None, dropped


# --------------------------------------------------------------------------- cleaning

_FENCE_LINE = re.compile(r"^[ \t]*(?:`{3,}\w*|#{3,}|-{3,})[ \t]*$", re.MULTILINE)


def _strip_edges(text: str) -> str:
    """Strip whitespace and markdown bold stars from both ends (str methods: linear time)."""
    previous = None
    while previous != text:
        previous, text = text, text.strip().strip("*")
    return text


def _clean(text: str) -> str:
    """Strip fence and separator lines, edge whitespace, bold markers and stray brackets."""
    text = _strip_edges(_FENCE_LINE.sub("", text))
    return _strip_edges(text.lstrip("]:").rstrip("["))


def _strip_label(letter: str, text: str) -> str:
    """Drop a leading ``A)``/``A.``/``(A)`` label of the option's own letter."""
    return re.sub(rf"^\(?{letter}\s*[).:]\s+", "", text, flags=re.IGNORECASE) if text else text


# --------------------------------------------------------------------------- tagged layout

_TAG = re.compile(
    r"(?:\[\s*(?:(/)\s*)?(question|answer|option[\s_-]*([a-j]))\s*\]"
    r"|^[ \t*#>-]*\[\s*(?:(/)\s*)?([a-j])\s*\])(?:[ \t]*[:*])*",
    re.IGNORECASE | re.MULTILINE,
)


def _tags(text: str) -> Iterator[tuple[int, int, str | None]]:
    """Yield ``(start, end, field)`` per tag; field is None for a closing tag.

    Fields are ``"question"``, ``"answer"`` or an option letter. A bare ``[A]`` counts only at
    the start of a line (after whitespace or markdown markers), so that ``k[A][B]`` in a rate
    law stays part of the text.
    """
    for match in _TAG.finditer(text):
        closing, name, option_letter, bare_closing, bare_letter = match.groups()
        letter = option_letter or bare_letter
        field = letter.upper() if letter else name.lower()
        yield match.start(), match.end(), None if closing or bare_closing else field


def _fields_of_block(found: dict[str, str]) -> _Fields:
    options = {k: _strip_label(k, v) for k, v in found.items() if len(k) == 1}
    return _Fields(found.get("question", ""), options, found.get("answer", ""))


def _tagged_blocks(text: str) -> Iterator[_Fields]:
    """Yield the fields of each tagged question in ``text``, in order; none if it has no tag.

    A new block starts when a tag repeats after its field was filled.
    """
    tags = list(_tags(text))
    found: dict[str, str] = {}
    for (_, end, field), following in zip(tags, [*tags[1:], (len(text), len(text), None)]):
        if field is None:
            continue
        if found.get(field):
            yield _fields_of_block(found)
            found = {}
        found[field] = _clean(text[end:following[0]])
    if found:
        yield _fields_of_block(found)


# --------------------------------------------------------------------------- json layout

_JSON_FENCE = re.compile(r"```(?:json)?(.*?)```", re.IGNORECASE | re.DOTALL)
_MAX_JSON_STARTS = 20
_QUESTION_KEYS = ("question", "question_text", "stem", "prompt")
_OPTION_KEYS = ("options", "choices", "answer_options", "answer_choices", "answers")
_ANSWER_KEYS = (
    "answer", "correct_answer", "correct_option", "correct_choice", "correct", "answer_key",
    "label",
)
_LETTER_KEY = re.compile(r"(?:option[\s_-]*)?\(?([a-j])\)?", re.IGNORECASE)


def _key(name: object) -> str:
    return re.sub(r"[\s-]+", "_", str(name).strip().lower())


def _json_dicts(text: str) -> Iterator[dict]:
    """Yield JSON objects found in fenced blocks, then in the text, first ones first."""
    decoder = json.JSONDecoder()
    for chunk in [*_JSON_FENCE.findall(text), text]:
        for match in islice(re.finditer(r"\{", chunk), _MAX_JSON_STARTS):
            try:
                value, _ = decoder.raw_decode(chunk, match.start())
            except (ValueError, RecursionError):
                continue
            if isinstance(value, dict):
                yield value


def _option_text(value: object) -> str:
    if isinstance(value, dict):
        value = next((value[k] for k in ("text", "option", "content", "value") if k in value), "")
    return "" if value is None else str(value)


def _json_options(record: dict[str, object]) -> dict[str, str]:
    """Options of a JSON record, by letter: a list, a letter-keyed dict, or top-level A-D keys."""
    raw = next((record[k] for k in _OPTION_KEYS if k in record), None)
    if isinstance(raw, list):
        return {_TAG_LETTERS[i]: _strip_label(_TAG_LETTERS[i], _clean(_option_text(v)))
                for i, v in enumerate(raw[: len(_TAG_LETTERS)])}
    source = raw if isinstance(raw, dict) else record
    options = {}
    for name, value in source.items():
        letter = _LETTER_KEY.fullmatch(str(name).strip())
        if letter:
            options[letter.group(1).upper()] = _clean(_option_text(value))
    return options


def _json_blocks(text: str) -> Iterator[_Fields]:
    """Yield the fields of each JSON object with a question key, in order of appearance."""
    for value in _json_dicts(text):
        record = {_key(k): v for k, v in value.items()}
        question = next((record[k] for k in _QUESTION_KEYS if k in record), None)
        if question is None:
            continue
        answer = next((record[k] for k in _ANSWER_KEYS if k in record), "")
        answer_text = "" if answer is None else str(answer)
        yield _Fields(_clean(str(question)), _json_options(record), answer_text)


# --------------------------------------------------------------------------- plain layout

_PLAIN_QUESTION = re.compile(
    r"^[ \t*#]*question(?:[ \t]*\d+)?[ \t*]*[:.][ \t*]*", re.IGNORECASE | re.MULTILINE
)
_PLAIN_OPTION = re.compile(r"^[ \t*]*\(?([A-J])[).:][ \t*]+(\S.*)", re.MULTILINE)
_PLAIN_ANSWER = re.compile(
    r"^[ \t*#]*(?:correct[ \t]+)?answer[ \t*]*[:\-][ \t*]*(.*)$", re.IGNORECASE | re.MULTILINE
)


def _plain_blocks(text: str) -> list[_Fields]:
    """Fields of a ``Question:`` / ``A) ...`` / ``Answer:`` layout (one block), or none."""
    label = _PLAIN_QUESTION.search(text)
    if label is None:
        return []
    options: dict[str, str] = {}
    body_end = len(text)
    for match in _PLAIN_OPTION.finditer(text, label.end()):
        if match.group(1) in options:
            break
        if not options:
            body_end = match.start()
        options[match.group(1)] = _clean(match.group(2))
    answer = _PLAIN_ANSWER.search(text, label.end())
    if answer and answer.start() < body_end:
        body_end = answer.start()
    return [_Fields(_clean(text[label.end():body_end]), options, answer.group(1) if answer else "")]


# --------------------------------------------------------------------------- entry point

#: Question blocks tried per layout: one call asks for one question.
_MAX_BLOCKS = 10

_LAYOUTS: tuple[tuple[str, Callable[[str], Iterable[_Fields]]], ...] = (
    ("tagged", _tagged_blocks),
    ("json", _json_blocks),
    ("plain", _plain_blocks),
)


def parse_generation(text: str) -> ParseResult:
    """Parse one generator output into a four-option question; never raises.

    Parameters
    ----------
    text : str
        The raw completion.

    Returns
    -------
    ParseResult
        The first usable question found, or None with the reason (one of
        :data:`PARSE_REASONS`) of the first question block of the first recognised layout.
    """
    if not isinstance(text, str) or not text.strip():
        return ParseResult(None, "no text")
    first_failure: ParseResult | None = None
    for layout, blocks in _LAYOUTS:
        for fields in islice(blocks(text), _MAX_BLOCKS):
            item, reason, dropped = _item_from(fields)
            if item is not None:
                return ParseResult(item, None, layout, dropped)
            first_failure = first_failure or ParseResult(None, reason, layout)
    return first_failure or ParseResult(None, "no question")
