"""Models behind OpenAI-compatible HTTP endpoints (vLLM, SGLang, llama.cpp servers, hosted APIs).

The transport is the ``openai`` package's async client; :func:`~rgd_utils.llm.inflight.run_in_flight`
keeps each endpoint's ``in_flight`` requests pending, so a vLLM server always has a batch to work
on, and several endpoints (replicas) of one model share the work. Semantics match the local
backend (:class:`rgd_utils.llm.llamacpp.LlamaCppBackend`):

* ``generate``: chat-message prompts go to ``/chat/completions``, plain text to ``/completions``.
* ``score`` of a **text** prompt: one ``/completions`` request per continuation with
  ``prompt + continuation``, ``echo: true``, ``logprobs: 1`` and ``max_tokens: 1`` (vLLM accepts 0,
  but llama-cpp-python reads 0 as "unlimited"; the one generated token is ignored). The server
  returns the log-probability of every prompt token; the continuation's tokens are the trailing
  tokens of the echoed prompt that cover its characters, found by character offsets counted
  from the end of the echo (see :func:`continuation_logprob`), so a BOS string that one server
  echoes and another drops does not shift anything.
* ``score`` of a **chat** prompt (``letter`` mode): the server cannot echo a chat-rendered prompt,
  so only single-token continuations can be scored: one ``/chat/completions`` request with
  ``max_tokens: 1, logprobs: true, top_logprobs: 20``; each continuation is looked up in the first
  position's top list (see :func:`lookup_top_logprob`). A continuation absent from that list gets
  ``-inf``: its probability is below the 20th token's, so the argmax over the letters that are
  present is unchanged. If *no* continuation is in the list, every score is ``-inf``.

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

Known server gaps (checked where a client can check them):

* llama-cpp-python's server must run with ``--logits_all true`` for any log-probability;
  without it every logprob request fails with HTTP 500 and the error says what to enable.
* llama-cpp-python (0.3.36, the pinned release) returns echo log-probabilities shifted by one
  token for models whose GGUF has ``add_bos_token = false`` (SmolLM2, for one): each prompt token
  gets the log-probability of *itself* as the next token, and the generated token's entry is
  dropped. That missing entry is detected and refused (undetectable only when the generated
  token is end-of-sequence); prompts that start with the BOS token's text are scored correctly.
* llama.cpp's own ``llama-server`` does not echo prompt log-probabilities on
  ``/v1/completions`` (it refuses ``echo``, or lists only the generated token, by version): text
  scoring there fails with a BackendError; chat (``letter``) scoring works.
"""

from __future__ import annotations

import asyncio
import json
import logging
import math
import os
import random
import re
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
from .endpoints import DEFAULT_IN_FLIGHT, Endpoint, safe_url
from .inflight import DeadlineExceeded, run_in_flight

logger = logging.getLogger(__name__)

#: Environment variables searched for the API key, in order.
API_KEY_VARIABLES = ("RGD_OPENAI_API_KEY", "OPENAI_API_KEY")
#: What to enable on the known servers when log-probabilities are missing.
LOGPROBS_HINT = (
    "the server must return log-probabilities: start llama-cpp-python's server with "
    "`--logits_all true`; for vLLM keep `--max-logprobs` at least the number requested "
    "(default 20); llama.cpp's llama-server returns them for chat completions but cannot echo "
    "prompt log-probabilities on /completions (score with a chat prompt, or use vLLM)"
)
#: How servers say that a prompt (plus max_tokens) does not fit the context: OpenAI's and
#: llama-cpp-python's error code, vLLM's and llama.cpp's messages.
_CONTEXT_OVERFLOW = re.compile(
    r"context_length_exceeded|exceed_context_size|maximum context length|maximum model length"
    r"|exceeds the available context size", re.IGNORECASE)
#: Leading characters ignored when matching a top-list token to a continuation (whitespace and
#: the space markers of SentencePiece "▁" and byte-level BPE "Ġ", in case a server returns raw
#: vocabulary strings).
_SPACE_MARKERS = " \t\r\n\u2581\u0120"


def _api_key() -> str | None:
    """The API key from ``RGD_OPENAI_API_KEY``, else ``OPENAI_API_KEY``, stripped; None when
    neither is set. A key with white space or control characters inside is refused (a header
    cannot carry it, and the error the HTTP library raises would quote it)."""
    for name in API_KEY_VARIABLES:
        value = (os.environ.get(name) or "").strip()
        if value:
            if any(c.isspace() or not c.isprintable() for c in value):
                raise BackendError(f"{name} holds white space or control characters inside the "
                                   "key; set it to the key alone")
            return value
    return None


def _redact(text: str, key: str | None) -> str:
    """``text`` with the API key (if any) replaced, for error messages built from server replies."""
    return text.replace(key, "[redacted]") if key else text


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
    server : object with ``stop()``, optional
        A server this backend owns (started for it); :meth:`close` stops it.
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
            _check_request(request)
        key = _api_key()
        atoms = [(i, j) for i, request in enumerate(requests)
                 for j in range(len(request.continuations) if _is_text_score(request) else 1)]
        parts: dict[int, dict[int, Any]] = {}
        failed: set[int] = set()
        session = _Session(self, key)

        async def call(endpoint: Endpoint, atom: tuple[int, int]) -> Any:
            client, request = session.client(endpoint), requests[atom[0]]
            if request.params is not None:
                return await self._generate_one(client, endpoint, request.prompt, request.params, key)
            if _is_text_score(request):
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
            if not _is_text_score(request):
                yield i, outcome
                continue
            parts.setdefault(i, {})[j] = outcome
            if len(parts[i]) == len(request.continuations):
                done = parts.pop(i)
                yield i, [done[k] for k in range(len(request.continuations))]

    def post_all(self, path: str, bodies: Sequence[Mapping[str, Any]]) -> list[dict]:
        """POST every body to ``path`` (e.g. ``/embeddings``) with the slots busy; the replies
        as JSON data, in order. The first failure is raised, the others cancelled."""
        key = _api_key()
        session = _Session(self, key)

        async def call(endpoint: Endpoint, body: Mapping[str, Any]) -> dict:
            return _as_dict(await self._post(session.client(endpoint), endpoint, path, dict(body), key))

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
                status, message = error.status_code, _redact(_status_message(error), key)
                retry_after = error.response.headers.get("Retry-After")
                if status != 429 and status < 500:
                    refused = f"POST {url} was refused with HTTP {status}: {message}"
                    if _CONTEXT_OVERFLOW.search(message):
                        raise PromptTooLongError(refused) from None
                    raise BackendError(refused + _hint(message)) from None
                last = f"HTTP {status}: {message}"
            except (openai.APIConnectionError, openai.APITimeoutError) as error:
                cause = _root_cause(error)
                last, retry_after = _redact(f"{type(cause).__name__}: {cause}", key), None
                if isinstance(error, openai.APITimeoutError) and "timed out" not in last.lower():
                    last += " (timed out)"
            logger.warning("POST %s: %s (attempt %d of %d)", url, last, attempt + 1, attempts)
        raise BackendError(f"POST {url} failed after {attempts} attempts; last error: {last}"
                           + _hint(last))

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
        reply = _as_dict(await self._post(client, endpoint, path, _generation_body(prompt, params), key))
        choice, usage = _first_choice(reply, url)
        finish = _finish_reason(choice.get("finish_reason"), url)
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
        logprobs = _generated_logprobs(choice, chat, url) if params.logprobs else None
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
        choice, usage = _first_choice(_as_dict(await self._post(client, endpoint, "/completions", body, key)), url)
        logprobs = choice.get("logprobs") or {}
        tokens, values = logprobs.get("tokens"), logprobs.get("token_logprobs")
        if not tokens or not values or len(tokens) != len(values):
            raise BackendError(
                f"{url} returned no echoed prompt log-probabilities: {LOGPROBS_HINT}")
        n_generated = usage.get("completion_tokens")
        try:
            if isinstance(n_generated, int):
                return _finite(continuation_logprob(tokens, values, continuation, n_generated), url)
            try:  # no usage: one generated token, or none (the server stopped at once)
                return _finite(continuation_logprob(tokens, values, continuation, 1), url)
            except BackendError:
                return _finite(continuation_logprob(tokens, values, continuation, 0), url)
        except BackendError as error:
            raise BackendError(f"{url}: {error}") from None

    async def _score_chat(self, client: Any, endpoint: Endpoint, prompt: Prompt,
                          continuations: Sequence[str], key: str | None) -> list[ContinuationScore]:
        body = {"messages": _messages(prompt), "max_tokens": 1, "temperature": 0.0,
                "logprobs": True, "top_logprobs": self.top_logprobs}
        url = safe_url(endpoint.base_url + "/chat/completions")
        choice, _ = _first_choice(_as_dict(await self._post(client, endpoint, "/chat/completions", body, key)), url)
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


def _check_request(request: LLMRequest) -> None:
    if request.params is not None:
        return
    if any(not c for c in request.continuations):
        raise BackendError("an empty continuation cannot be scored")
    if not isinstance(request.prompt, str):
        unscorable = [c for c in request.continuations if not _is_single_word(c)]
        if unscorable:
            raise BackendError(
                f"an OpenAI-compatible server cannot score multi-token continuations "
                f"{unscorable[:3]!r} after a chat prompt (it only reports the first token's "
                "top log-probabilities); give the prompt as plain text instead (cloze mode), "
                "which is scored with echoed prompt log-probabilities"
            )


def _is_text_score(request: LLMRequest) -> bool:
    return request.params is None and isinstance(request.prompt, str)


def _as_dict(reply: Any) -> dict:
    """The client's parsed reply as plain JSON data (servers add fields the types do not know)."""
    return reply.model_dump() if hasattr(reply, "model_dump") else dict(reply)


def _finite(score: ContinuationScore, url: str) -> ContinuationScore:
    if not math.isfinite(score.logprob):
        raise BackendError(f"{url} returned a non-finite log-probability ({score.logprob}) for a "
                           "prompt token: the server's numbers are broken; nothing was cached")
    return score


def _status_message(error: Any) -> str:
    """The server's message of an error reply (OpenAI's ``{"error": {"message"}}``, vLLM's
    ``{"message"}`` or FastAPI's ``{"detail"}``), else the start of the body."""
    try:
        return _server_message(error.response.content)
    except Exception:  # a reply that cannot be read: the client's own summary
        return str(error)[:500]


def _root_cause(error: BaseException) -> BaseException:
    """The innermost cause of a transport error (``ConnectionRefusedError`` rather than the
    client's "All connection attempts failed")."""
    seen = {id(error)}
    while (inner := error.__cause__ or error.__context__) is not None and id(inner) not in seen:
        seen.add(id(inner))
        error = inner
    return error


def _as_backend_error(error: BaseException, key: str | None) -> BaseException:
    """Errors as the interface raises them, the key never in their text."""
    if isinstance(error, BackendError):
        return error
    if isinstance(error, DeadlineExceeded):
        return BackendError(f"{error}; the server is too slow or stalled (raise the deadline "
                            "for long generations)")
    return BackendError(_redact(f"{type(error).__name__}: {error}", key))


# -- reply parsing (module functions, tested directly) ---------------------------------------
def continuation_logprob(
    tokens: Sequence[str], logprobs: Sequence[float | None], continuation: str, n_generated: int
) -> ContinuationScore:
    """Sum the echoed log-probabilities of the tokens that hold ``continuation``.

    The echo lists the prompt's tokens (``prompt + continuation``), then the ``n_generated``
    generated ones. Character offsets are counted back from the end of the prompt's tokens:
    the continuation occupies its last ``len(continuation)`` characters, and every token that
    overlaps them is a continuation token (a token straddling the boundary counts, as the
    continuation's characters cannot be split off it). Counting from the end is what makes a
    leading BOS string irrelevant: vLLM echoes it (its ``text_offset`` starts after it),
    llama-cpp-python drops it.

    Parameters
    ----------
    tokens : sequence of str
        The echoed token strings (``logprobs.tokens``).
    logprobs : sequence of float or None
        Their log-probabilities (``logprobs.token_logprobs``; the first is None).
    continuation : str
        The scored continuation (the end of the sent prompt).
    n_generated : int
        Generated tokens at the end of the echo (``usage.completion_tokens``).

    Returns
    -------
    ContinuationScore

    Raises
    ------
    BackendError
        If the echoed prompt tokens do not end with the continuation (a server that did not
        echo the prompt, or whose log-probabilities are shifted, see the module docstring), or
        a continuation token has no log-probability.
    """
    end = len(tokens) - n_generated
    echoed = "".join(tokens[:end]) if end > 0 else ""
    if end <= 0 or not echoed.endswith(continuation):
        raise BackendError(
            "the echoed prompt tokens do not end with the continuation "
            f"({continuation!r}); the server did not echo the prompt with its log-probabilities, "
            "or returned them shifted by one token (llama-cpp-python does so for models without a "
            "BOS token: start the prompt with the BOS token's text, or use vLLM)"
        )
    start_char = len(echoed) - len(continuation)
    position, first = len(echoed), end
    while first > 0 and position > start_char:
        first -= 1
        position -= len(tokens[first])
    selected = logprobs[first:end]
    if any(v is None for v in selected):
        raise BackendError("a continuation token has no log-probability (is the prompt empty?)")
    return ContinuationScore(logprob=float(sum(selected)), n_tokens=end - first)


def normalise_token(token: str) -> str:
    """A top-list token or a continuation without surrounding whitespace or space markers."""
    return token.lstrip(_SPACE_MARKERS).rstrip()


def lookup_top_logprob(top: Sequence[tuple[str, float]], continuation: str) -> float:
    """The log-probability of a one-token continuation in a top list, or ``-inf``.

    An exact match wins (``"A"`` is the token the local backend scores); otherwise tokens equal
    after :func:`normalise_token` are accepted (``" A"``, ``"▁A"``, ``"A\\n"``), the most likely
    of them. Not in the list: ``-inf`` (less likely than every listed token).

    Parameters
    ----------
    top : sequence of (str, float)
        (token, log-probability) pairs.
    continuation : str

    Returns
    -------
    float
    """
    exact = [value for token, value in top if token == continuation]
    if exact:
        return max(exact)
    key = normalise_token(continuation)
    loose = [value for token, value in top if normalise_token(token) == key]
    return max(loose) if loose else -math.inf


def _is_single_word(continuation: str) -> bool:
    """Whether a continuation can be one token: non-empty, no whitespace inside once trimmed."""
    word = normalise_token(continuation)
    return bool(word) and not re.search(r"\s", word)


def _generation_body(prompt: Prompt, params: GenerationParams) -> dict[str, Any]:
    """The request body of one generation (without ``model``)."""
    body: dict[str, Any] = {"max_tokens": params.max_tokens, "temperature": params.temperature,
                            "top_p": params.top_p, "seed": params.seed}
    if params.stop:
        body["stop"] = list(params.stop)
    if isinstance(prompt, str):
        body["prompt"] = prompt
        if params.logprobs:
            body["logprobs"] = 1
    else:
        body["messages"] = _messages(prompt)
        if params.logprobs:  # top_logprobs 0: llama-cpp-python returns none without it
            body.update(logprobs=True, top_logprobs=0)
    return body


def _messages(prompt: Prompt) -> list[dict]:
    return [dict(message) for message in prompt]  # type: ignore[union-attr]


def _first_choice(reply: dict, url: str) -> tuple[dict, dict]:
    """The reply's first choice and its usage (empty dict when absent)."""
    choices = reply.get("choices")
    if not choices or not isinstance(choices[0], dict):
        raise BackendError(f"{url} returned no choices: {json.dumps(reply)[:300]}")
    usage = reply.get("usage")
    return choices[0], usage if isinstance(usage, dict) else {}


def _generated_logprobs(choice: dict, chat: bool, url: str) -> tuple[float, ...]:
    logprobs = choice.get("logprobs") or {}
    if chat:
        values = [entry.get("logprob") for entry in logprobs.get("content") or []]
    else:
        values = list(logprobs.get("token_logprobs") or [])
    if not logprobs or any(v is None for v in values):
        raise BackendError(f"{url} returned no token log-probabilities: {LOGPROBS_HINT}")
    if not all(math.isfinite(float(v)) for v in values):
        raise BackendError(f"{url} returned a non-finite token log-probability: the server's "
                           "numbers are broken; nothing was cached")
    return tuple(float(v) for v in values)


def _finish_reason(reason: Any, url: str) -> str:
    """OpenAI's finish reasons as the interface's two: ``"length"`` or ``"stop"``."""
    if reason in ("length", "max_tokens"):
        return "length"
    if reason in ("abort", "error"):
        raise BackendError(f"{url} ended the generation with finish_reason={reason!r}")
    return "stop"  # stop string, end of turn, tool call, content filter


def _server_message(payload: bytes) -> str:
    """The error message of an error reply (OpenAI's ``{"error": {"message"}}`` or FastAPI's
    ``{"detail"}``), else the start of the body."""
    try:
        value = json.loads(payload)
    except (ValueError, UnicodeDecodeError):
        return payload[:500].decode("utf-8", errors="replace")
    if isinstance(value, dict):
        error = value.get("error")
        if isinstance(error, dict) and error.get("message"):
            return str(error["message"])[:500]
        for field in ("message", "detail", "error"):
            if value.get(field):
                return str(value[field])[:500]
    return json.dumps(value)[:500]


def _hint(message: str) -> str:
    """What to enable, when a server's error is about a missing log-probability feature."""
    lowered = message.lower()
    if "logits_all" in lowered:
        return " (start llama-cpp-python's server with `--logits_all true`)"
    if "logprob" in lowered or "echo" in lowered:
        return f" ({LOGPROBS_HINT})"
    return ""
