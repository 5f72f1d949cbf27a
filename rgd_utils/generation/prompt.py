"""The generator prompt, local-generator variant (the paper's §2.2): one question per call.

The system message casts the model as a teaching assistant who writes one multiple-choice
question from a category description, in the tagged-block format that
:func:`rgd_utils.generation.parse_generation` reads, with one short worked example. The user
message is the description and a reminder to use all six tags. No real question is shown.

The wording is ours (the paper paraphrases its prompt rather than quoting it) and short,
because the generators here are 0.135B-1.5B models with 2k-4k token contexts. The paper's
prompt asks for "advanced graduate-level" questions; here the level comes from each
description instead, since several offline benchmarks are grade-school science.
"""

from __future__ import annotations

from rgd_utils.llm.backend import GenerationParams
from rgd_utils.llm.decoding import PACKAGED

from .parse import OPTION_LETTERS, GeneratedItem

#: The worked example shown in the system message (also used to spot generators that copy it).
EXAMPLE_ITEM = GeneratedItem(
    question=r"What is the value of $\lim_{x \to 0} \frac{\sin(3x)}{x}$?",
    options=("$0$", "$1$", "$3$", "The limit does not exist"),
    answer="C",
)

#: The six tags every answer must contain.
TAGS: tuple[str, ...] = ("[QUESTION]", *(f"[OPTION {k}]" for k in OPTION_LETTERS), "[ANSWER]")

#: Decoding of the paper's local generators (temperature 0.8, top_p 0.95). The paper allows
#: 4096 new tokens (each model's cap: rgd_utils.llm.decoding); one tagged question needs about
#: 200, and the packaged models' contexts are 2k-4k, hence their default cap.
GENERATOR_TEMPERATURE = 0.8
GENERATOR_TOP_P = 0.95
GENERATOR_MAX_TOKENS = PACKAGED.generation_max_tokens


def format_item(item: GeneratedItem) -> str:
    """Write a question in the tagged-block format, one tag per line.

    Parameters
    ----------
    item : GeneratedItem
        A four-option question.

    Returns
    -------
    str
        The ``[QUESTION]``, ``[OPTION A]``..``[OPTION D]``, ``[ANSWER]`` block.
    """
    lines = [f"[QUESTION] {item.question}"]
    lines += [f"[OPTION {letter}] {text}" for letter, text in zip(OPTION_LETTERS, item.options)]
    lines.append(f"[ANSWER] {item.answer}")
    return "\n".join(lines)


SYSTEM_PROMPT = f"""You are a teaching assistant who writes multiple-choice exam questions.
You are given a description of a category of questions. Write one new question of that \
kind, at the level the description gives, and say which option is correct.

Rules:
- Give exactly four options, A, B, C and D. Exactly one of them is correct.
- Use the tags below, each at the start of a line. Do not write JSON. Do not use code fences.
- Write any mathematics in LaTeX between dollar signs, for example $x^2$.
- After [ANSWER] write only the letter of the correct option.

Example:
{format_item(EXAMPLE_ITEM)}"""


def user_prompt(description: str) -> str:
    """Return the user message: the category description and the reminder about the tags."""
    return (
        f"{description.strip()}\n\nWrite one new question of this kind, with exactly four options "
        f"(A, B, C and D; no option E). Include all six tags: {', '.join(TAGS[:-1])} and {TAGS[-1]}."
    )


def generator_messages(description: str) -> list[dict[str, str]]:
    """Return the chat messages that ask a generator for one question of a category.

    Parameters
    ----------
    description : str
        A subject description (see :func:`rgd_utils.generation.description_for`).

    Returns
    -------
    list of dict
        A system message (role, format rules, worked example) and a user message (the
        description and the six-tag reminder).
    """
    return [
        {"role": "system", "content": SYSTEM_PROMPT},
        {"role": "user", "content": user_prompt(description)},
    ]


def generator_params(
    attempt: int, max_tokens: int = GENERATOR_MAX_TOKENS, temperature: float = GENERATOR_TEMPERATURE
) -> GenerationParams:
    """Return the decoding parameters of one generation call, seeded by its attempt number.

    Parameters
    ----------
    attempt : int
        The call's attempt number from :func:`rgd_utils.generation.schedule` (its sampling seed).
    max_tokens : int, default 320
        Most new tokens.
    temperature : float, default 0.8
        Sampling temperature (the paper's local generators use 0.8).

    Returns
    -------
    GenerationParams
        The temperature and top_p 0.95, as the paper's local generators.
    """
    return GenerationParams(
        max_tokens=max_tokens,
        temperature=temperature,
        top_p=GENERATOR_TOP_P,
        seed=attempt,
    )
