"""The one small interface every LLM backend implements: ``generate`` and ``score``.

A backend turns prompts into text (``generate``) or into log-probabilities of given
continuations (``score``). Backends know nothing of caching: :class:`rgd_utils.llm.cached.CachedLLM`
wraps any backend with the content-addressed cache, keyed by :attr:`Backend.identity` and
everything else that changes an output.

A prompt is either plain text (sent as it is) or a list of chat messages
(``[{"role": "user", "content": ...}]``), which the backend renders with the model's chat
template, ending with the assistant's turn opened.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Iterator, Mapping, Protocol, Sequence, Union, runtime_checkable

Message = Mapping[str, str]
#: Plain text, or chat messages rendered with the model's chat template.
Prompt = Union[str, Sequence[Message]]


@dataclass(frozen=True)
class GenerationParams:
    """Decoding parameters of :meth:`Backend.generate`; every field is part of the cache key.

    Attributes
    ----------
    max_tokens : int
        Most tokens to generate.
    temperature : float
        0 is greedy decoding.
    top_p : float
        Nucleus sampling mass.
    seed : int
        Sampling seed (a backend that cannot seed says so in its identity).
    stop : tuple of str
        Stop strings.
    logprobs : bool
        Also return each generated token's log-probability.
    """

    max_tokens: int = 512
    temperature: float = 0.0
    top_p: float = 1.0
    seed: int = 0
    stop: tuple[str, ...] = ()
    logprobs: bool = False

    def as_key(self) -> dict:
        """The parameters as a JSON-ready dict (for cache keys)."""
        return {**asdict(self), "stop": list(self.stop)}


@dataclass(frozen=True)
class Generation:
    """One generated text.

    Attributes
    ----------
    text : str
        The completion (without the prompt).
    n_tokens : int
        Number of generated tokens.
    finish_reason : str
        ``"stop"`` (stop string or end of turn) or ``"length"`` (hit ``max_tokens``).
    token_logprobs : tuple of float, optional
        Log-probability of each generated token, when asked for and available.
    """

    text: str
    n_tokens: int
    finish_reason: str
    token_logprobs: tuple[float, ...] | None = None

    @property
    def avg_logprob(self) -> float | None:
        """Mean token log-probability (the paper's confidence), or None without log-probs."""
        if not self.token_logprobs:
            return None
        return sum(self.token_logprobs) / len(self.token_logprobs)


@dataclass(frozen=True)
class ContinuationScore:
    """Log-probability of one continuation after a prompt.

    Attributes
    ----------
    logprob : float
        Sum of the continuation tokens' log-probabilities, given the prompt.
    n_tokens : int
        Number of continuation tokens (for per-token normalisation).
    """

    logprob: float
    n_tokens: int


@dataclass(frozen=True)
class LLMRequest:
    """One call, as a value: a generation (``params``) or a scoring (``continuations``).

    A list of them is what a backend with requests in flight works through
    (:meth:`StreamingBackend.stream`).
    """

    prompt: Prompt
    params: GenerationParams | None = None
    continuations: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if (self.params is None) == (not self.continuations):
            raise ValueError("an LLMRequest is a generation (params) or a scoring (continuations)")

    @property
    def op(self) -> str:
        """``"generate"`` or ``"score"``."""
        return "generate" if self.params is not None else "score"


#: What one request gives back: a generation, the continuations' scores, or the error it met.
Outcome = Union[Generation, list[ContinuationScore], BaseException]


@runtime_checkable
class Backend(Protocol):
    """What the study needs from an LLM.

    Attributes
    ----------
    identity : dict
        JSON-ready description of what fixes the model's outputs: for a local file its sha256,
        for an endpoint its base URL's model id, plus the backend's name and version where it
        matters. Part of every cache key.
    """

    identity: dict

    def generate(self, prompts: Sequence[Prompt], params: GenerationParams) -> list[Generation]:
        """Generate one completion per prompt."""
        ...

    def score(self, prompt: Prompt, continuations: Sequence[str]) -> list[ContinuationScore]:
        """Return the log-probability of each continuation right after the prompt."""
        ...


@runtime_checkable
class StreamingBackend(Backend, Protocol):
    """A backend that keeps several requests in flight (an HTTP endpoint, a cluster of them)."""

    def stream(self, requests: Sequence[LLMRequest]) -> Iterator[tuple[int, Outcome]]:
        """Run every request; yield ``(index, outcome)`` in completion order. Closing the
        iterator early cancels the requests still in flight."""
        ...


class BackendError(RuntimeError):
    """A backend could not do what was asked (dead endpoint, missing feature, bad model file)."""


class PromptTooLongError(BackendError):
    """One prompt does not fit the model's context: a property of that item, not of the run."""
