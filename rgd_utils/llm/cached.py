"""Any backend behind the cache: :class:`CachedLLM` answers from the cache and computes only misses.

The backend is created lazily, on the first miss, so a run that is fully cached (``make all``
replaying the committed cache) never loads a model or imports an LLM library.
"""

from __future__ import annotations

from dataclasses import asdict
from typing import Callable, Sequence

from tqdm.auto import tqdm

from .backend import Backend, ContinuationScore, Generation, GenerationParams, Prompt
from .cache import LLMCache, cache_key


class CachedLLM:
    """A named model whose calls go through :class:`~rgd_utils.llm.cache.LLMCache`.

    Parameters
    ----------
    name : str
        Short model name (the cache shard folder), e.g. ``"qwen2.5-coder-1.5b"``.
    identity : dict
        What fixes the model's outputs (file sha256 or endpoint model id, backend and version);
        part of every key. Known without loading the model.
    make_backend : callable returning a Backend
        Called once, on the first cache miss.
    cache : LLMCache
        The cache.
    batch_size : int, default 1
        Misses sent to the backend per call; results are stored after each batch, so a killed
        run loses at most one batch (HTTP backends run a batch concurrently).
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
        batch_size: int = 1,
        chat: bool = True,
    ) -> None:
        self.name = name
        self.identity = identity
        self.make_backend = make_backend
        self.cache = cache
        self.batch_size = batch_size
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

    def _key(self, op: str, prompt: Prompt, extra: dict) -> str:
        return cache_key({"model": self.identity, "op": op, "prompt": _jsonable(prompt), **extra})

    def generate(
        self, prompts: Sequence[Prompt], params: GenerationParams, progress: str | None = None
    ) -> list[Generation]:
        """Generate one completion per prompt, from the cache where possible.

        Parameters
        ----------
        prompts : sequence of Prompt
            Plain texts or chat-message lists.
        params : GenerationParams
            Decoding parameters (all of them are in the key; vary ``seed`` for new samples).
        progress : str, optional
            Label of a progress bar over the misses; None shows none.

        Returns
        -------
        list of Generation
            In prompt order.
        """
        keys = [self._key("generate", p, {"params": params.as_key()}) for p in prompts]
        results: list[Generation | None] = []
        for key in keys:
            cached = self.cache.get(self.name, "generate", key)
            results.append(None if cached is None else _generation(cached))
        self.hits += sum(r is not None for r in results)
        missing = [i for i, r in enumerate(results) if r is None]
        bar = tqdm(total=len(missing), desc=progress, disable=progress is None or not missing)
        for start in range(0, len(missing), self.batch_size):
            batch = missing[start:start + self.batch_size]
            for i, generation in zip(batch, self.backend.generate([prompts[i] for i in batch], params)):
                self.cache.put(self.name, "generate", keys[i], asdict(generation))
                results[i] = generation
                self.computed += 1
            bar.update(len(batch))
        bar.close()
        return results  # type: ignore[return-value]

    def score(self, prompt: Prompt, continuations: Sequence[str]) -> list[ContinuationScore]:
        """Log-probability of each continuation after the prompt, from the cache where possible."""
        key = self._key("score", prompt, {"continuations": list(continuations)})
        cached = self.cache.get(self.name, "score", key)
        if cached is not None:
            self.hits += 1
            return [ContinuationScore(**c) for c in cached]
        scores = self.backend.score(prompt, continuations)
        self.cache.put(self.name, "score", key, [asdict(s) for s in scores])
        self.computed += 1
        return scores


def _jsonable(prompt: Prompt) -> str | list[dict]:
    return prompt if isinstance(prompt, str) else [dict(m) for m in prompt]


def _generation(value: dict) -> Generation:
    logprobs = value.get("token_logprobs")
    return Generation(
        text=value["text"], n_tokens=value["n_tokens"], finish_reason=value["finish_reason"],
        token_logprobs=None if logprobs is None else tuple(logprobs),
    )
