"""How each model decodes: the most new tokens per call, and the extra fields of its requests.

The paper's settings (its section on pool responses and on local generation):

* pool answers (chain of thought): ``max_tokens`` is the model's ``max_model_len``, 16,384 new
  tokens, except 4,096 for deepseek-math-7b and 8,192 for gemma-2-9b;
* generator calls: 4,096 new tokens;
* Qwen3 models think only when asked: thinking is turned off through the chat template
  (``chat_template_kwargs``), for answers and for generation alike;
* gpt-oss reasons with ``reasoning_effort: "low"``;
* Gemini 2.5 Flash keeps the API's default, dynamic thinking (``thinking_budget: -1``), and the
  model's own output limit (65,536 tokens), since the paper's calls set neither; the budget is
  sent explicitly so that the request says what it relies on.

Temperatures and top-p are the same for every model of a role and live with the calls
(:data:`rgd_utils.responses.COT_PARAMS`, :func:`rgd_utils.generation.generator_params`).

The extra fields change outputs, so the registry puts them in the model's identity (hence in
every cache key) and sends them with every request. The packaged CPU models keep the caps
their committed cache keys hold (:data:`PACKAGED`).

An OpenAI-compatible server refuses a request whose prompt plus ``max_tokens`` exceeds its
context, so the paper's pool models need a context a little longer than their ``max_tokens``
(e.g. ``vllm serve --max-model-len 20480`` for 16,384 new tokens).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any, Mapping


@dataclass(frozen=True)
class Decoding:
    """One model's decoding settings.

    Attributes
    ----------
    answer_max_tokens : int
        Most new tokens of a pool answer (chain-of-thought mode).
    generation_max_tokens : int
        Most new tokens of a generation call (one generated question).
    extra_body : mapping
        Fields added to every request body (server-specific switches such as thinking).
    """

    answer_max_tokens: int
    generation_max_tokens: int
    extra_body: Mapping[str, Any] = field(default_factory=lambda: MappingProxyType({}))


#: The packaged CPU models (and their specialists): short answers and generations, as their
#: committed cache keys hold them.
PACKAGED = Decoding(answer_max_tokens=512, generation_max_tokens=320)

#: The paper's new-token caps.
PAPER_ANSWER_MAX_TOKENS = 16_384
PAPER_GENERATION_MAX_TOKENS = 4_096
GEMINI_MAX_OUTPUT_TOKENS = 65_536

_THINKING_OFF = MappingProxyType({"chat_template_kwargs": {"enable_thinking": False}})


def _paper(answer_max_tokens: int = PAPER_ANSWER_MAX_TOKENS,
           extra_body: Mapping[str, Any] | None = None) -> Decoding:
    return Decoding(answer_max_tokens, PAPER_GENERATION_MAX_TOKENS,
                    MappingProxyType(dict(extra_body or {})))


#: The paper's models, by registry name (:data:`rgd_utils.llm.registry.PAPER_MODELS`).
PAPER_DECODING: Mapping[str, Decoding] = MappingProxyType({
    "Llama70": _paper(),
    "Qwen3-32": _paper(extra_body=_THINKING_OFF),
    "GLM4-32": _paper(),
    "Gemma3-27": _paper(),
    "Exaone4-32": _paper(),
    "OSS120": _paper(extra_body={"reasoning_effort": "low"}),
    "Gemma": _paper(answer_max_tokens=8_192),
    "Qwen3-8": _paper(extra_body=_THINKING_OFF),
    "Exaone": _paper(),
    "GLM4": _paper(),
    "DpskMath": _paper(answer_max_tokens=4_096),
    "Yi15": _paper(),
    # Through Gemini's OpenAI-compatible endpoint, Google's own options go in the body's
    # "extra_body.google" field.
    "gemini-2.5-flash": Decoding(
        GEMINI_MAX_OUTPUT_TOKENS, GEMINI_MAX_OUTPUT_TOKENS,
        MappingProxyType({"extra_body": {"google": {"thinking_config": {"thinking_budget": -1}}}}),
    ),
})


def decoding_for(model: str) -> Decoding:
    """The decoding settings of a registered model: the paper's for its models, else
    :data:`PACKAGED`."""
    return PAPER_DECODING.get(model, PACKAGED)


def request_fields(model: str) -> dict[str, Any]:
    """The extra request fields of a model, as a plain JSON-ready dict (empty for most)."""
    return _json_ready(decoding_for(model).extra_body)


def _json_ready(value: Any) -> Any:
    """A copy of nested mappings as plain dicts (for JSON bodies and cache keys)."""
    if isinstance(value, Mapping):
        return {key: _json_ready(item) for key, item in value.items()}
    return value
