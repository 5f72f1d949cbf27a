"""Models behind an OpenAI-compatible HTTP endpoint (vLLM, SGLang, llama.cpp servers, hosted APIs).

Standard library only (:mod:`http.client`); same semantics as the local backend
(:class:`rgd_utils.llm.llamacpp.LlamaCppBackend`):

* ``generate``: chat-message prompts go to ``/chat/completions``, plain text to ``/completions``;
  a batch runs ``concurrency`` requests at a time (a vLLM server batches them) and comes back in
  prompt order.
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

Transport: separate connect and read timeouts; connection errors, timeouts, HTTP 429 and 5xx are
retried (``max_retries`` times, exponential backoff with jitter, ``Retry-After`` honoured up to
``max_backoff``); other 4xx fail at once with the server's message, as a
:class:`~rgd_utils.llm.backend.PromptTooLongError` when it says the prompt exceeds the context
(OpenAI's ``context_length_exceeded``, vLLM's and llama.cpp's messages). The API key is read
from the environment at each request (``RGD_OPENAI_API_KEY``, else ``OPENAI_API_KEY``), sent as a
Bearer header, and never stored on the object, put in ``identity``, logged, or included in an
error.
HTTP(S) proxies from the environment are not used.

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

import http.client
import json
import logging
import math
import os
import random
import re
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Callable, Mapping, Sequence, TypeVar
from urllib.parse import urlsplit

from .backend import (
    BackendError,
    ContinuationScore,
    Generation,
    GenerationParams,
    Prompt,
    PromptTooLongError,
)

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

T = TypeVar("T")
R = TypeVar("R")


def api_key() -> str | None:
    """The API key from ``RGD_OPENAI_API_KEY``, else ``OPENAI_API_KEY``; None when neither is set."""
    for name in API_KEY_VARIABLES:
        value = os.environ.get(name)
        if value:
            return value
    return None


def _redact(text: str, key: str | None) -> str:
    """``text`` with the API key (if any) replaced, for error messages built from server replies."""
    return text.replace(key, "[redacted]") if key else text


class OpenAIBackend:
    """A model served by an OpenAI-compatible endpoint.

    Parameters
    ----------
    base_url : str
        The API root, e.g. ``http://127.0.0.1:8000/v1`` (paths ``/completions`` and
        ``/chat/completions`` are appended).
    model : str
        The id the server serves the model under (``vllm serve <id>``).
    identity : dict, optional
        What fixes the model's outputs (see :class:`~rgd_utils.llm.backend.Backend`); default
        ``{"endpoint_model": model, "backend": "openai-compatible"}``. It never holds the key.
    concurrency : int, default 8
        Requests in flight at once for a batch of prompts (or a text prompt's continuations).
    connect_timeout : float, default 10
        Seconds to open the TCP (and TLS) connection.
    read_timeout : float, default 600
        Seconds to wait for each read of the reply (a long generation on a busy server).
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
        Fields added to every request body, for server-specific sampling options (vLLM:
        ``{"top_k": -1, "min_p": 0.0, "repetition_penalty": 1.0}`` overrides the model's
        generation_config defaults; llama-cpp-python: ``{"top_k": 0, "min_p": 0.0,
        "repeat_penalty": 1.0}``). They change outputs: put them in ``identity`` too.
    """

    def __init__(
        self,
        base_url: str,
        model: str,
        identity: dict | None = None,
        concurrency: int = 8,
        connect_timeout: float = 10.0,
        read_timeout: float = 600.0,
        max_retries: int = 4,
        backoff: float = 1.0,
        max_backoff: float = 30.0,
        top_logprobs: int = 20,
        extra_body: Mapping[str, Any] | None = None,
    ) -> None:
        parts = urlsplit(base_url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError(f"base_url must be an http(s) URL, got {base_url!r}")
        if parts.username or parts.password:
            raise ValueError("base_url must not carry credentials; set RGD_OPENAI_API_KEY instead")
        if concurrency < 1 or max_retries < 0 or top_logprobs < 1:
            raise ValueError("concurrency and top_logprobs must be >= 1, max_retries >= 0")
        self.base_url = base_url.rstrip("/")
        self.model = model
        self.identity = dict(identity) if identity is not None else {
            "endpoint_model": model, "backend": "openai-compatible"}
        self.concurrency = concurrency
        self.connect_timeout = connect_timeout
        self.read_timeout = read_timeout
        self.max_retries = max_retries
        self.backoff = backoff
        self.max_backoff = max_backoff
        self.top_logprobs = top_logprobs
        self.extra_body = dict(extra_body or {})
        self._https = parts.scheme == "https"
        self._host = parts.hostname
        self._port = parts.port
        self._path = parts.path.rstrip("/")
        self._random = random.Random()
        self._random_lock = threading.Lock()

    def __repr__(self) -> str:
        return f"OpenAIBackend(base_url={self.base_url!r}, model={self.model!r})"

    # -- generate ----------------------------------------------------------------------------
    def generate(self, prompts: Sequence[Prompt], params: GenerationParams) -> list[Generation]:
        """Generate one completion per prompt, ``concurrency`` requests at a time.

        Parameters
        ----------
        prompts : sequence of Prompt
            Chat messages (sent to ``/chat/completions``) or plain text (``/completions``).
        params : GenerationParams
            ``max_tokens``, ``temperature``, ``top_p``, ``seed`` and ``stop`` are sent as they
            are; ``logprobs`` asks for each generated token's log-probability.

        Returns
        -------
        list of Generation
            In prompt order.
        """
        return self._map(lambda prompt: self._generate_one(prompt, params), list(prompts))

    def _generate_one(self, prompt: Prompt, params: GenerationParams) -> Generation:
        chat = not isinstance(prompt, str)
        path = "/chat/completions" if chat else "/completions"
        url = self._url(path)
        choice, usage = _first_choice(self.post(path, _generation_body(prompt, params)), url)
        text = (choice.get("message") or {}).get("content") if chat else choice.get("text")
        logprobs = _generated_logprobs(choice, chat, url) if params.logprobs else None
        n_tokens = usage.get("completion_tokens")
        if not isinstance(n_tokens, int):
            if logprobs is None:
                raise BackendError(f"{url} returned no usage.completion_tokens")
            n_tokens = len(logprobs)
        return Generation(text=text or "", n_tokens=n_tokens,
                          finish_reason=_finish_reason(choice.get("finish_reason"), url),
                          token_logprobs=logprobs)

    # -- score -------------------------------------------------------------------------------
    def score(self, prompt: Prompt, continuations: Sequence[str]) -> list[ContinuationScore]:
        """Log-probability of each continuation right after the prompt.

        Parameters
        ----------
        prompt : Prompt
            Plain text (any continuation, scored with echoed prompt log-probabilities) or chat
            messages (single-token continuations only, read from the top-``top_logprobs`` list
            of the assistant's first token; an absent continuation scores ``-inf``).
        continuations : sequence of str
            Non-empty strings.

        Returns
        -------
        list of ContinuationScore
            In continuation order.

        Raises
        ------
        BackendError
            On an empty continuation, a chat prompt with a continuation that is not a single
            word (hence possibly several tokens), missing or misaligned log-probabilities, or a
            failed request.
        """
        if any(not c for c in continuations):
            raise BackendError("an empty continuation cannot be scored")
        if isinstance(prompt, str):
            return self._map(lambda c: self._score_text(prompt, c), list(continuations))
        return self._score_chat(prompt, continuations)

    def _score_text(self, prompt: str, continuation: str) -> ContinuationScore:
        body = {"prompt": prompt + continuation, "max_tokens": 1, "temperature": 0.0,
                "echo": True, "logprobs": 1}
        url = self._url("/completions")
        choice, usage = _first_choice(self.post("/completions", body), url)
        logprobs = choice.get("logprobs") or {}
        tokens, values = logprobs.get("tokens"), logprobs.get("token_logprobs")
        if not tokens or not values or len(tokens) != len(values):
            raise BackendError(
                f"{url} returned no echoed prompt log-probabilities: {LOGPROBS_HINT}")
        n_generated = usage.get("completion_tokens")
        try:
            if isinstance(n_generated, int):
                return continuation_logprob(tokens, values, continuation, n_generated)
            try:  # no usage: one generated token, or none (the server stopped at once)
                return continuation_logprob(tokens, values, continuation, 1)
            except BackendError:
                return continuation_logprob(tokens, values, continuation, 0)
        except BackendError as error:
            raise BackendError(f"{url}: {error}") from None

    def _score_chat(self, prompt: Prompt, continuations: Sequence[str]) -> list[ContinuationScore]:
        unscorable = [c for c in continuations if not _is_single_word(c)]
        if unscorable:
            raise BackendError(
                f"an OpenAI-compatible server cannot score multi-token continuations "
                f"{unscorable[:3]!r} after a chat prompt (it only reports the first token's "
                "top log-probabilities); give the prompt as plain text instead (cloze mode), "
                "which is scored with echoed prompt log-probabilities"
            )
        body = {"messages": _messages(prompt), "max_tokens": 1, "temperature": 0.0,
                "logprobs": True, "top_logprobs": self.top_logprobs}
        url = self._url("/chat/completions")
        choice, _ = _first_choice(self.post("/chat/completions", body), url)
        content = (choice.get("logprobs") or {}).get("content") or []
        top = content[0].get("top_logprobs") if content and isinstance(content[0], dict) else None
        if not top:
            raise BackendError(f"{url} returned no top log-probabilities: {LOGPROBS_HINT}")
        pairs = [(str(t.get("token", "")), float(t.get("logprob"))) for t in top
                 if isinstance(t, dict) and t.get("logprob") is not None]
        return [ContinuationScore(logprob=lookup_top_logprob(pairs, c), n_tokens=1)
                for c in continuations]

    # -- transport ---------------------------------------------------------------------------
    def _url(self, path: str) -> str:
        return self.base_url + path

    def _map(self, fn: Callable[[T], R], items: list[T]) -> list[R]:
        """``fn`` over ``items``, ``concurrency`` at a time, results in order; the first error
        (in item order) is raised after the requests already running have ended."""
        if len(items) <= 1 or self.concurrency == 1:
            return [fn(item) for item in items]
        with ThreadPoolExecutor(max_workers=min(self.concurrency, len(items))) as pool:
            futures = [pool.submit(fn, item) for item in items]
            try:
                return [future.result() for future in futures]
            except BaseException:
                for future in futures:
                    future.cancel()
                raise

    def post(self, path: str, body: Mapping[str, Any]) -> dict:
        """POST a JSON body (plus ``model`` and ``extra_body``, which never overrides the body);
        the decoded reply, with retries.

        Raises
        ------
        PromptTooLongError
            For a 4xx saying that the prompt (plus ``max_tokens``) exceeds the context.
        BackendError
            At once for other HTTP 4xx except 429 (with the server's message); after
            ``max_retries`` retries for connection errors, timeouts, 429 and 5xx.
        """
        url = self._url(path)
        data = json.dumps({"model": self.model, **self.extra_body, **body}).encode("utf-8")
        attempts = self.max_retries + 1
        last, retry_after = "", None
        for attempt in range(attempts):
            if attempt:
                time.sleep(self._delay(attempt, retry_after))
            key = api_key()
            try:
                status, payload, retry_after = self._send(path, data, key)
            except (OSError, http.client.HTTPException) as error:
                last, retry_after = _redact(f"{type(error).__name__}: {error}", key), None
                logger.warning("POST %s: %s (attempt %d of %d)", url, last, attempt + 1, attempts)
                continue
            if 200 <= status < 300:
                return _decode(payload, url)
            message = _redact(_server_message(payload), key)
            if status != 429 and status < 500:
                refused = f"POST {url} was refused with HTTP {status}: {message}"
                if _CONTEXT_OVERFLOW.search(payload.decode("utf-8", errors="replace")):
                    raise PromptTooLongError(refused)
                raise BackendError(refused + _hint(message))
            last = f"HTTP {status}: {message}"
            logger.warning("POST %s: HTTP %d (attempt %d of %d)", url, status, attempt + 1,
                           attempts)
        raise BackendError(f"POST {url} failed after {attempts} attempts; last error: {last}"
                           + _hint(last))

    def _send(self, path: str, data: bytes, key: str | None) -> tuple[int, bytes, str | None]:
        """One POST on a fresh connection: (status, body, Retry-After header)."""
        headers = {"Content-Type": "application/json", "Accept": "application/json"}
        if key:
            headers["Authorization"] = f"Bearer {key}"
        factory = http.client.HTTPSConnection if self._https else http.client.HTTPConnection
        connection = factory(self._host, self._port, timeout=self.connect_timeout)
        try:
            connection.connect()
            connection.sock.settimeout(self.read_timeout)
            connection.request("POST", self._path + path, body=data, headers=headers)
            response = connection.getresponse()
            return response.status, response.read(), response.getheader("Retry-After")
        finally:
            connection.close()

    def _delay(self, attempt: int, retry_after: str | None) -> float:
        """Seconds before retry ``attempt`` (1-based): exponential with jitter, or Retry-After."""
        with self._random_lock:
            jitter = 0.5 + 0.5 * self._random.random()
        delay = self.backoff * 2 ** (attempt - 1) * jitter
        if retry_after:
            try:
                delay = max(delay, float(retry_after))
            except ValueError:
                pass  # an HTTP date: keep the exponential delay
        return min(delay, self.max_backoff)


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


def _decode(payload: bytes, url: str) -> dict:
    try:
        value = json.loads(payload)
    except (ValueError, UnicodeDecodeError) as error:
        raise BackendError(f"{url} did not return JSON ({error}): {payload[:200]!r}") from None
    if not isinstance(value, dict):
        raise BackendError(f"{url} returned {type(value).__name__}, not a JSON object")
    return value


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
