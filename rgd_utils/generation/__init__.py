"""Generated data: subject descriptions, generator prompts, parsing, screening, scheduling.

>>> from rgd_utils.generation import (description_for, generator_messages, generator_params,
...     parse_generation, schedule, GenerationRecord, validate_generated, generation_report)
>>> calls = schedule({"arc_easy": ["arc_easy"]}, n_per_benchmark=3, seed=0)
>>> messages = generator_messages(description_for(*calls[0][:2]))
>>> parse_generation("[QUESTION] 2+2?\\n[A] 3\\n[B] 4\\n[C] 5\\n[D] 22\\n[ANSWER] B").item.answer
'B'

Modules: :mod:`.descriptions` (one paragraph per subject), :mod:`.prompt` (messages and
decoding), :mod:`.parse` (tolerant parser, answer normalisation), :mod:`.validate` (screening,
test-overlap measurement, report), :mod:`.schedule` (balanced, extendable call schedule).
"""

from __future__ import annotations

from .descriptions import DESCRIPTIONS, description_for
from .parse import (
    PARSE_REASONS,
    GeneratedItem,
    ParseResult,
    item_problem,
    normalise_answer,
    parse_generation,
)
from .prompt import (
    EXAMPLE_ITEM,
    SYSTEM_PROMPT,
    TAGS,
    format_item,
    generator_messages,
    generator_params,
)
from .schedule import ScheduledCall, schedule, subject_cycle
from .validate import (
    DIAGNOSTIC_COLUMNS,
    REJECTION_REASONS,
    SCREEN_REASONS,
    GenerationRecord,
    GenerationValidation,
    generated_qid,
    generation_report,
    subject_balance,
    validate_generated,
)

__all__ = [
    "DESCRIPTIONS", "DIAGNOSTIC_COLUMNS", "EXAMPLE_ITEM", "GeneratedItem", "GenerationRecord",
    "GenerationValidation", "PARSE_REASONS", "ParseResult", "REJECTION_REASONS",
    "SCREEN_REASONS", "SYSTEM_PROMPT", "ScheduledCall", "TAGS", "description_for",
    "format_item", "generated_qid", "generation_report", "generator_messages",
    "generator_params", "item_problem", "normalise_answer", "parse_generation", "schedule",
    "subject_balance", "subject_cycle", "validate_generated",
]
