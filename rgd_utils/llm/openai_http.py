"""Models behind OpenAI-compatible HTTP endpoints (vLLM, SGLang, llama.cpp servers, hosted APIs).

The transport is the ``openai`` package's async client; :func:`~rgd_utils.llm.inflight.run_in_flight`
keeps each endpoint's ``in_flight`` requests pending, so a vLLM server always has a batch to work
on, and several endpoints (replicas) of one model share the work. Semantics match the local
backend (:class:`rgd_utils.llm.llamacpp.LlamaCppBackend`):

* ``generate``: chat-message prompts go to ``/chat/completions``, plain text to ``/completions``.
* ``score``: see :mod:`rgd_utils.llm.openai_replies` (text prompts by echoed prompt
  log-probabilities, chat prompts by the first position's top list).

Values are checked where they enter: a non-finite log-probability from the server, or a chat
message without content, is an error (nothing is cached), never a number or an empty answer.

Transport: separate connect and read timeouts and an overall deadline per call (retries
included); connection errors, timeouts, HTTP 429 and 5xx are retried (``max_retries`` times,
exponential backoff with jitter, ``Retry-After`` honoured up to ``max_backoff``); other 4xx fail
at once with the server's message, as a :class:`~rgd_utils.llm.backend.PromptTooLongError` when it
says the prompt exceeds the context (OpenAI's ``context_length_exceeded``, vLLM's and llama.cpp's
messages). The API key is read from the environment when a batch starts (``RGD_OPENAI_API_KEY``,
else ``OPENAI_API_KEY``), stripped of surrounding white space (a key with white space inside is
refused), sent as a Bearer header, and never stored on the object, put in ``identity``, logged or
included in an error; URLs in messages carry no user info or query. HTTP(S) proxies from the
environment are not used.

The known server gaps are listed in :mod:`rgd_utils.llm.openai_replies`.
"""

from __future__ import annotations

import asyncio
import logging
import math
import random
from contextlib import closing
from typing import Any, Iterator, Mapping, Sequence

from .backend import (
    BackendError,
    ContinuationScore,
    Generation,
    GenerationParams,
    LLMRequest,
    Outcome,
    Prompt,
    PromptTooLongError,
)
from .api_key import api_key, redact
from .endpoints import DEFAULT_IN_FLIGHT, Endpoint, safe_url
from .inflight import DeadlineExceeded, run_in_flight
from .openai_replies import (
    CONTEXT_OVERFLOW,
    LOGPROBS_HINT,
    as_dict,
    check_request,
    continuation_logprob,
    finish_reason,
    finite,
    first_choice,
    generated_logprobs,
    generation_body,
    hint,
    is_text_score,
    lookup_top_logprob,
    messages,
    root_cause,
    status_message,
)

logger = logging.getLogger(__name__)



class OpenAIBackend:
    """A model served by one or more OpenAI-compatible endpoints, many requests in flight.

    Parameters
    ----------
    base_url : str or sequence of Endpoint
        The API root, e.g. ``http://127.0.0.1:8000/v1`` (paths ``/completions`` and
        ``/chat/completions`` are appended), or the model's endpoints (replicas share the work).
    model : str
        The id the server serves the model under (``vllm serve <id>``).
    identity : dict, optional
        What fixes the model's outputs (see :class:`~rgd_utils.llm.backend.Backend`); default
        ``{"endpoint_model": model, "backend": "openai-compatible"}``. It never holds the key.
    in_flight : int, default 8
        Requests kept pending on a ``base_url`` given as a string (an :class:`Endpoint` carries
        its own).
    connect_timeout : float, default 10
        Seconds to open the TCP (and TLS) connection.
    read_timeout : float, default 600
        Seconds to wait for each read of the reply.
    deadline : float, default 1800
        Seconds one call may take in all, retries included (a server that trickles bytes cannot
        hold a call longer).
    max_retries : int, default 4
        Retries after the first attempt, on connection errors, timeouts, HTTP 429 and 5xx.
    backoff : float, default 1
        First retry delay in seconds; doubled at each retry, times a random factor in [0.5, 1].
    max_backoff : float, default 30
        Longest delay, also the cap on a server's ``Retry-After``.
    top_logprobs : int, default 20
        Size of the top list requested when scoring a chat prompt (OpenAI's maximum; vLLM's
        default ``--max-logprobs``).
    extra_body : mapping, optional
        Fields added to every request body, for server-specific options (vLLM: ``top_k``,
        ``chat_template_kwargs``; a reasoning model's ``reasoning_effort``). They change
        outputs: put them in ``identity`` too. They never override the request's own fields.
    server : object with ``stop()`` and ``exit_report()``, optional
        A server this backend owns (started for it); :meth:`close` stops it, and a request that
        fails for good quotes why it exited, if it did.
    """

    def __init__(
        self,
        base_url: str | Sequence[Endpoint],
        model: str,
        identity: dict | None = None,
        in_flight: int = DEFAULT_IN_FLIGHT,
        connect_timeout: float = 10.0,
        read_timeout: float = 600.0,
        deadline: float = 1800.0,
        max_retries: int = 4,
        backoff: float = 1.0,
        max_backoff: float = 30.0,
        top_logprobs: int = 20,
        extra_body: Mapping[str, Any] | None = None,
        server: Any = None,
    ) -> None:
        endpoints = ((Endpoint(base_url.rstrip("/"), in_flight),) if isinstance(base_url, str)
                     else tuple(base_url))
        if not endpoints:
            raise ValueError("an OpenAIBackend needs at least one endpoint")
        if max_retries < 0 or top_logprobs < 1 or deadline <= 0:
            raise ValueError("max_retries must be >= 0, top_logprobs >= 1, deadline > 0")
        self.endpoints = endpoints
        self.model = model
        self.identity = dict(identity) if identity is not None else {
            "endpoint_model": model, "backend": "openai-compatible"}
        self.connect_timeout = connect_timeout
        self.read_timeout = read_timeout
        self.deadline = deadline
        self.max_retries = max_retries
        self.backoff = backoff
        self.max_backoff = max_backoff
        self.top_logprobs = top_logprobs
        self.extra_body = dict(extra_body or {})
        self.server = server
        self._random = random.Random()

    def close(self) -> None:
        """Stop the server this backend owns, if any (endpoints run by others stay up)."""
        if self.server is not None:
            self.server.stop()
            self.server = None

    @property
    def base_url(self) -> str:
        """The first endpoint's API root (the only one, outside a cluster)."""
        return self.endpoints[0].base_url.rstrip("/")

    def __repr__(self) -> str:
        urls = ", ".join(safe_url(e.base_url) for e in self.endpoints)
        return f"OpenAIBackend(endpoints=[{urls}], model={self.model!r})"

    # -- the synchronous interface -------------------------------------------------------------
    def generate(self, prompts: Sequence[Prompt], params: GenerationParams) -> list[Generation]:
        """One completion per prompt (chat messages to ``/chat/completions``, text to
        ``/completions``), the endpoints' slots kept busy; in prompt order."""
        return self._all([LLMRequest(prompt, params=params) for prompt in prompts])

    def score(self, prompt: Prompt, continuations: Sequence[str]) -> list[ContinuationScore]:
        """Log-probability of each continuation right after the prompt.

        A text prompt scores any continuation (one echo request each, see the module
        docstring); a chat prompt only single-token ones, from the top-``top_logprobs`` list of
        the assistant's first token (an absent continuation scores ``-inf``).

        Raises
        ------
        BackendError
            On an empty continuation, a multi-word continuation after a chat prompt, missing,
            misaligned or non-finite log-probabilities, or a failed request.
        """
        return self._all([LLMRequest(prompt, continuations=tuple(continuations))])[0]

    def _all(self, requests: list[LLMRequest]) -> list:
        """Every outcome in request order; the first error is raised and the requests still in
        flight are cancelled (the stream is closed at once, not when it is collected)."""
        results: list = [None] * len(requests)
        with closing(self.stream(requests)) as stream:
            for index, outcome in stream:
                if isinstance(outcome, BaseException):
                    raise outcome
                results[index] = outcome
        return results

    # -- requests in flight ----------------------------------------------------------------------
    def stream(self, requests: Sequence[LLMRequest]) -> Iterator[tuple[int, Outcome]]:
        """Run every request with each endpoint's ``in_flight`` slots busy; yield
        ``(index, outcome)`` as each request completes (its generation, its scores, or the error
        it met). A text prompt's continuations are separate HTTP requests, scheduled like any
        other; the request completes with its last continuation."""
        for request in requests:
            check_request(request)
        key = api_key()
        atoms = [(i, j) for i, request in enumerate(requests)
                 for j in range(len(request.continuations) if is_text_score(request) else 1)]
        parts: dict[int, dict[int, Any]] = {}
        failed: set[int] = set()
        session = _Session(self, key)

        async def call(endpoint: Endpoint, atom: tuple[int, int]) -> Any:
            client, request = session.client(endpoint), requests[atom[0]]
            if request.params is not None:
                return await self._generate_one(client, endpoint, request.prompt, request.params, key)
            if is_text_score(request):
                return await self._score_text(client, endpoint, request.prompt,
                                              request.continuations[atom[1]], key)
            return await self._score_chat(client, endpoint, request.prompt, request.continuations, key)

        for index, outcome in run_in_flight(atoms, call, self._slots(), self.deadline, cleanup=session.close):
            i, j = atoms[index]
            if i in failed:
                continue
            if isinstance(outcome, BaseException):
                failed.add(i)
                yield i, _as_backend_error(outcome, key)
                continue
            request = requests[i]
            if not is_text_score(request):
                yield i, outcome
                continue
            parts.setdefault(i, {})[j] = outcome
            if len(parts[i]) == len(request.continuations):
                done = parts.pop(i)
                yield i, [done[k] for k in range(len(request.continuations))]

    def post_all(self, path: str, bodies: Sequence[Mapping[str, Any]]) -> list[dict]:
        """POST every body to ``path`` (e.g. ``/embeddings``) with the slots busy; the replies
        as JSON data, in order. The first failure is raised, the others cancelled."""
        key = api_key()
        session = _Session(self, key)

        async def call(endpoint: Endpoint, body: Mapping[str, Any]) -> dict:
            return as_dict(await self._post(session.client(endpoint), endpoint, path, dict(body), key))

        replies: list[dict] = [{}] * len(bodies)
        for index, outcome in run_in_flight(list(bodies), call, self._slots(), self.deadline,
                                            cleanup=session.close):
            if isinstance(outcome, BaseException):
                raise _as_backend_error(outcome, key)
            replies[index] = outcome
        return replies

    def _slots(self) -> list[tuple[Endpoint, int]]:
        return [(endpoint, endpoint.in_flight) for endpoint in self.endpoints]

    def _client(self, endpoint: Endpoint, key: str | None) -> Any:
        """An async OpenAI client for one endpoint (retries are ours: see :meth:`_post`)."""
        import httpx2
        import openai

        return openai.AsyncOpenAI(
            base_url=endpoint.base_url, api_key=key or "unused", max_retries=0,
            timeout=httpx2.Timeout(self.read_timeout, connect=self.connect_timeout),
            http_client=httpx2.AsyncClient(
                trust_env=False,  # HTTP(S) proxies from the environment are not used
                limits=httpx2.Limits(max_connections=endpoint.in_flight + 4,
                                     max_keepalive_connections=endpoint.in_flight + 4),
                timeout=httpx2.Timeout(self.read_timeout, connect=self.connect_timeout)),
        )

    async def _post(self, client: Any, endpoint: Endpoint, path: str, body: dict,
                    key: str | None) -> Any:
        """One request with bounded retries (connection errors, timeouts, 429, 5xx); other
        4xx fail at once with the server's message. The reply is the client's parsed object."""
        import openai

        url = safe_url(endpoint.base_url.rstrip("/") + path)
        create = {"/chat/completions": client.chat.completions.create,
                  "/completions": client.completions.create,
                  "/embeddings": client.embeddings.create}[path]
        fields = {k: v for k, v in body.items() if k in _TYPED_FIELDS}
        extra = {**{k: v for k, v in self.extra_body.items() if k not in body},
                 **{k: v for k, v in body.items() if k not in _TYPED_FIELDS}}
        headers = None if key else {"Authorization": openai.Omit()}
        attempts = self.max_retries + 1
        last, retry_after = "", None
        for attempt in range(attempts):
            if attempt:
                await asyncio.sleep(self._delay(attempt, retry_after))
            try:
                return await create(model=self.model, **fields, extra_body=extra or None,
                                    extra_headers=headers)
            except openai.APIStatusError as error:
                status, message = error.status_code, redact(status_message(error), key)
                retry_after = error.response.headers.get("Retry-After")
                if status != 429 and status < 500:
                    refused = f"POST {url} was refused with HTTP {status}: {message}"
                    if CONTEXT_OVERFLOW.search(message):
                        raise PromptTooLongError(refused) from None
                    raise BackendError(refused + hint(message)) from None
                last = f"HTTP {status}: {message}"
            except (openai.APIConnectionError, openai.APITimeoutError) as error:
                cause = root_cause(error)
                last, retry_after = redact(f"{type(cause).__name__}: {cause}", key), None
                if isinstance(error, openai.APITimeoutError) and "timed out" not in last.lower():
                    last += " (timed out)"
            logger.warning("POST %s: %s (attempt %d of %d)", url, last, attempt + 1, attempts)
        exited = getattr(self.server, "exit_report", lambda: None)()
        raise BackendError(f"POST {url} failed after {attempts} attempts; last error: {last}"
                           + hint(last) + (f"\n{exited}" if exited else ""))

    def _delay(self, attempt: int, retry_after: str | None) -> float:
        """Seconds before retry ``attempt`` (1-based): exponential with jitter, or Retry-After."""
        delay = self.backoff * 2 ** (attempt - 1) * (0.5 + 0.5 * self._random.random())
        if retry_after:
            try:
                delay = max(delay, float(retry_after))
            except ValueError:
                pass  # an HTTP date: keep the exponential delay
        return min(delay, self.max_backoff)

    # -- one request of each kind ------------------------------------------------------------------
    async def _generate_one(self, client: Any, endpoint: Endpoint, prompt: Prompt,
                            params: GenerationParams, key: str | None) -> Generation:
        chat = not isinstance(prompt, str)
        path = "/chat/completions" if chat else "/completions"
        url = safe_url(endpoint.base_url + path)
        body = generation_body(prompt, params, endpoint.cap(params.max_tokens))
        reply = as_dict(await self._post(client, endpoint, path, body, key))
        choice, usage = first_choice(reply, url)
        finish = finish_reason(choice.get("finish_reason"), url)
        if chat:
            text = (choice.get("message") or {}).get("content")
            if text is None:
                raise BackendError(
                    f"{url} returned a message without content (finish_reason={finish!r}); a "
                    "reasoning model may have spent max_tokens thinking: raise max_tokens or turn "
                    "thinking off for this model")
        else:
            text = choice.get("text")
            if text is None:
                raise BackendError(f"{url} returned a choice without text")
        logprobs = generated_logprobs(choice, chat, url) if params.logprobs else None
        n_tokens = usage.get("completion_tokens")
        if not isinstance(n_tokens, int):
            if logprobs is None:
                raise BackendError(f"{url} returned no usage.completion_tokens")
            n_tokens = len(logprobs)
        return Generation(text=text, n_tokens=n_tokens, finish_reason=finish,
                          token_logprobs=logprobs)

    async def _score_text(self, client: Any, endpoint: Endpoint, prompt: str, continuation: str,
                          key: str | None) -> ContinuationScore:
        body = {"prompt": prompt + continuation, "max_tokens": 1, "temperature": 0.0,
                "echo": True, "logprobs": 1}
        url = safe_url(endpoint.base_url + "/completions")
        choice, usage = first_choice(as_dict(await self._post(client, endpoint, "/completions", body, key)), url)
        logprobs = choice.get("logprobs") or {}
        tokens, values = logprobs.get("tokens"), logprobs.get("token_logprobs")
        if not tokens or not values or len(tokens) != len(values):
            raise BackendError(
                f"{url} returned no echoed prompt log-probabilities: {LOGPROBS_HINT}")
        n_generated = usage.get("completion_tokens")
        try:
            if isinstance(n_generated, int):
                return finite(continuation_logprob(tokens, values, continuation, n_generated), url)
            try:  # no usage: one generated token, or none (the server stopped at once)
                return finite(continuation_logprob(tokens, values, continuation, 1), url)
            except BackendError:
                return finite(continuation_logprob(tokens, values, continuation, 0), url)
        except BackendError as error:
            raise BackendError(f"{url}: {error}") from None

    async def _score_chat(self, client: Any, endpoint: Endpoint, prompt: Prompt,
                          continuations: Sequence[str], key: str | None) -> list[ContinuationScore]:
        body = {"messages": messages(prompt), "max_tokens": 1, "temperature": 0.0,
                "logprobs": True, "top_logprobs": self.top_logprobs}
        url = safe_url(endpoint.base_url + "/chat/completions")
        choice, _ = first_choice(as_dict(await self._post(client, endpoint, "/chat/completions", body, key)), url)
        content = (choice.get("logprobs") or {}).get("content") or []
        top = content[0].get("top_logprobs") if content and isinstance(content[0], dict) else None
        if not top:
            raise BackendError(f"{url} returned no top log-probabilities: {LOGPROBS_HINT}")
        pairs = [(str(t.get("token", "")), float(t.get("logprob"))) for t in top
                 if isinstance(t, dict) and t.get("logprob") is not None]
        if any(not math.isfinite(value) for _, value in pairs):
            raise BackendError(f"{url} returned a non-finite log-probability in its top list: "
                               "the server's numbers are broken; nothing was cached")
        return [ContinuationScore(logprob=lookup_top_logprob(pairs, c), n_tokens=1)
                for c in continuations]


#: Request fields the openai client types; every other field goes in its ``extra_body``.
_TYPED_FIELDS = frozenset({"prompt", "messages", "max_tokens", "temperature", "top_p", "seed",
                           "stop", "logprobs", "top_logprobs", "echo", "input", "encoding_format"})


class _Session:
    """One batch's async clients, one per endpoint, made on the batch's event loop."""

    def __init__(self, backend: OpenAIBackend, key: str | None) -> None:
        self.backend, self.key = backend, key
        self.clients: dict[Endpoint, Any] = {}

    def client(self, endpoint: Endpoint) -> Any:
        if endpoint not in self.clients:
            self.clients[endpoint] = self.backend._client(endpoint, self.key)
        return self.clients[endpoint]

    async def close(self) -> None:
        for client in self.clients.values():
            await client.close()


def _as_backend_error(error: BaseException, key: str | None) -> BaseException:
    """Errors as the interface raises them, the key never in their text."""
    if isinstance(error, BackendError):
        return error
    if isinstance(error, DeadlineExceeded):
        return BackendError(f"{error}; the server is too slow or stalled (raise the deadline "
                            "for long generations)")
    return BackendError(redact(f"{type(error).__name__}: {error}", key))
