"""Any backend behind the cache: :class:`CachedLLM` answers from the cache and computes only misses.

Misses are computed as one stream: a backend with requests in flight (an HTTP endpoint) keeps
its slots busy, and every completed request is appended to the cache at once by this thread,
the only writer; a killed run loses at most the requests in flight.

The backend is created lazily, on the first miss, so a run that is fully cached (``make all``
replaying the committed cache) never loads a model or imports an LLM library.
"""

from __future__ import annotations

import math
from dataclasses import asdict
from typing import Any, Callable, Iterator, Sequence, Union

from tqdm.auto import tqdm

from .backend import (
    Backend,
    BackendError,
    ContinuationScore,
    Generation,
    GenerationParams,
    LLMRequest,
    Outcome,
    Prompt,
    PromptTooLongError,
    StreamingBackend,
)
from .cache import CacheMissError, LLMCache, cache_key


class CachedLLM:
    """A named model whose calls go through :class:`~rgd_utils.llm.cache.LLMCache`.

    Parameters
    ----------
    name : str
        Short model name (the cache shard folder), e.g. ``"qwen2.5-coder-1.5b"``.
    identity : dict
        What fixes the model's outputs (file sha256 or endpoint model id, engine and version);
        part of every key. Known without loading the model.
    make_backend : callable returning a Backend
        Called once, on the first cache miss.
    cache : LLMCache
        The cache.
    chat : bool, default True
        Whether the model renders chat messages with a chat template (False for a base model,
        which then needs plain-text prompts that end where its answer starts).
    """

    def __init__(
        self,
        name: str,
        identity: dict,
        make_backend: Callable[[], Backend],
        cache: LLMCache,
        chat: bool = True,
    ) -> None:
        self.name = name
        self.identity = identity
        self.make_backend = make_backend
        self.cache = cache
        self.chat = chat
        self._backend: Backend | None = None
        self.computed = 0
        self.hits = 0

    @property
    def backend(self) -> Backend:
        """The backend, created on first use."""
        if self._backend is None:
            self._backend = self.make_backend()
        return self._backend

    def close(self) -> None:
        """Release the backend (a served model's server started for it stops); the next miss
        creates it again."""
        close = getattr(self._backend, "close", None)
        if close is not None:
            close()
        self._backend = None

    def key(self, request: LLMRequest) -> str:
        """The cache key of a request: the model's identity, the operation, the prompt and the
        decoding parameters or continuations."""
        extra = ({"params": request.params.as_key()} if request.params is not None
                 else {"continuations": list(request.continuations)})
        return cache_key({"model": self.identity, "op": request.op,
                          "prompt": _jsonable(request.prompt), **extra})

    def lookup(self, request: LLMRequest) -> Generation | list[ContinuationScore] | None:
        """The cached outcome of a request, or None (in any cache mode; nothing is computed)."""
        try:
            value = self.cache.get(self.name, request.op, self.key(request))
        except CacheMissError:
            return None
        return None if value is None else _decoded(request, value)

    def run(self, requests: Sequence[LLMRequest], progress: str | None = None) -> list[Answer]:
        """Every request's outcome, from the cache where possible; the misses are computed with
        the backend's requests in flight and each is cached as soon as it completes.

        Parameters
        ----------
        requests : sequence of LLMRequest
            Generations and scorings, in any mix.
        progress : str, optional
            Label of a progress bar (rate and time left) over the misses; None shows none.

        Returns
        -------
        list
            In request order: a Generation, a list of ContinuationScore, or the
            :class:`PromptTooLongError` of a prompt that does not fit the model (an outcome of
            the item, not cached).

        Raises
        ------
        CacheMissError
            In replay mode, at the first request that is not cached.
        BackendError
            At the first failed request; the requests still in flight are cancelled and every
            request completed before is kept in the cache.
        """
        keys = [self.key(r) for r in requests]
        results: list[Answer | None] = []
        for request, key in zip(requests, keys):
            value = self.cache.get(self.name, request.op, key)
            results.append(None if value is None else _decoded(request, value))
        self.hits += sum(r is not None for r in results)
        # Each distinct key is computed once (two questions may share a text): a second
        # computation could give another value (batch numerics), a conflict in the cache.
        first: dict[str, int] = {}
        for i, result in enumerate(results):
            if result is None:
                first.setdefault(keys[i], i)
        missing = list(first.values())
        if not missing:
            return results  # type: ignore[return-value]
        backend = self.backend
        todo = [requests[i] for i in missing]
        stream = (backend.stream(todo) if isinstance(backend, StreamingBackend)
                  else _one_at_a_time(backend, todo))
        with tqdm(total=len(missing), desc=progress, unit="call", disable=progress is None) as bar:
            try:
                for j, outcome in stream:
                    i = missing[j]
                    if isinstance(outcome, PromptTooLongError):
                        results[i] = outcome
                    elif isinstance(outcome, BaseException):
                        raise outcome
                    else:
                        value = _encoded(outcome, self.name)
                        self.cache.put(self.name, requests[i].op, keys[i], value,
                                       engine=self.identity.get("backend"))
                        results[i] = outcome
                        self.computed += 1
                    bar.update(1)
            finally:
                close = getattr(stream, "close", None)
                if close is not None:
                    close()  # cancels what is still in flight
        for i, result in enumerate(results):
            if result is None:
                results[i] = results[first[keys[i]]]
        return results  # type: ignore[return-value]

    def generate(
        self, prompts: Sequence[Prompt], params: GenerationParams, progress: str | None = None
    ) -> list[Generation]:
        """One completion per prompt, from the cache where possible (see :meth:`run`); a prompt
        too long for the model raises its PromptTooLongError."""
        return [_raised(r) for r in self.run([LLMRequest(p, params=params) for p in prompts], progress)]

    def score(self, prompt: Prompt, continuations: Sequence[str]) -> list[ContinuationScore]:
        """Log-probability of each continuation after the prompt, from the cache where possible."""
        return _raised(self.run([LLMRequest(prompt, continuations=tuple(continuations))])[0])


#: What :meth:`CachedLLM.run` gives back for one request.
Answer = Union[Generation, list[ContinuationScore], PromptTooLongError]


def _one_at_a_time(backend: Backend, requests: Sequence[LLMRequest]) -> Iterator[tuple[int, Outcome]]:
    """The stream of a backend that runs one call at a time (llama.cpp in process)."""
    for index, request in enumerate(requests):
        try:
            if request.params is not None:
                outcome: Outcome = backend.generate([request.prompt], request.params)[0]
            else:
                outcome = backend.score(request.prompt, request.continuations)
        except BackendError as error:
            outcome = error
        yield index, outcome


def _encoded(outcome: Generation | list[ContinuationScore], model: str) -> Any:
    """The cached form of an outcome; a NaN anywhere is refused (never cached, never argmax'd)."""
    if isinstance(outcome, Generation):
        value: Any = asdict(outcome)
        numbers = list(outcome.token_logprobs or ())
    else:
        value = [asdict(s) for s in outcome]
        numbers = [s.logprob for s in outcome]
    if any(math.isnan(x) or x == math.inf for x in numbers):
        raise BackendError(f"{model} returned a NaN or +inf log-probability; nothing was cached")
    return value


def _decoded(request: LLMRequest, value: Any) -> Generation | list[ContinuationScore]:
    return _generation(value) if request.op == "generate" else [ContinuationScore(**c) for c in value]


def _raised(result: Answer) -> Any:
    if isinstance(result, PromptTooLongError):
        raise result
    return result


def _jsonable(prompt: Prompt) -> str | list[dict]:
    return prompt if isinstance(prompt, str) else [dict(m) for m in prompt]


def _generation(value: dict) -> Generation:
    logprobs = value.get("token_logprobs")
    return Generation(
        text=value["text"], n_tokens=value["n_tokens"], finish_reason=value["finish_reason"],
        token_logprobs=None if logprobs is None else tuple(logprobs),
    )
