"""What an OpenAI-compatible server is sent and what its replies mean: request bodies, the
log-probability of a scored continuation, finish reasons and error messages (pure functions).

``score`` of a **text** prompt: one ``/completions`` request per continuation with
  ``prompt + continuation``, ``echo: true``, ``logprobs: 1`` and ``max_tokens: 1`` (vLLM accepts 0,
  but llama-cpp-python reads 0 as "unlimited"; the one generated token is ignored). The server
  returns the log-probability of every prompt token; the continuation's tokens are the trailing
  tokens of the echoed prompt that cover its characters, found by character offsets counted
  from the end of the echo (see :func:`continuation_logprob`), so a BOS string that one server
  echoes and another drops does not shift anything.
``score`` of a **chat** prompt (``letter`` mode): the server cannot echo a chat-rendered prompt,
  so only single-token continuations can be scored: one ``/chat/completions`` request with
  ``max_tokens: 1, logprobs: true, top_logprobs: 20``; each continuation is looked up in the first
  position's top list (see :func:`lookup_top_logprob`). A continuation absent from that list gets
  ``-inf``: its probability is below the 20th token's, so the argmax over the letters that are
  present is unchanged. If *no* continuation is in the list, every score is ``-inf``.

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

import json
import math
import re
from typing import Any, Sequence

from .backend import BackendError, ContinuationScore, GenerationParams, LLMRequest, Prompt

#: What to enable on the known servers when log-probabilities are missing.
LOGPROBS_HINT = (
    "the server must return log-probabilities: start llama-cpp-python's server with "
    "`--logits_all true`; for vLLM keep `--max-logprobs` at least the number requested "
    "(default 20); llama.cpp's llama-server returns them for chat completions but cannot echo "
    "prompt log-probabilities on /completions (score with a chat prompt, or use vLLM)"
)
#: Leading characters ignored when matching a top-list token to a continuation (whitespace and
#: the space markers of SentencePiece "▁" and byte-level BPE "Ġ", in case a server returns raw
#: vocabulary strings).
_SPACE_MARKERS = " \t\r\n\u2581\u0120"
_VANISHING = re.compile(r"[\s\ufffd]+")  # see continuation_logprob
#: How servers say that a prompt (plus max_tokens) does not fit the context: OpenAI's and
#: llama-cpp-python's error code, vLLM's and llama.cpp's messages.
CONTEXT_OVERFLOW = re.compile(
    r"context_length_exceeded|exceed_context_size|maximum context length|maximum model length"
    r"|exceeds the available context size", re.IGNORECASE)


def check_request(request: LLMRequest) -> None:
    if request.params is not None:
        return
    if any(not c for c in request.continuations):
        raise BackendError("an empty continuation cannot be scored")
    if not isinstance(request.prompt, str):
        unscorable = [c for c in request.continuations if not is_single_word(c)]
        if unscorable:
            raise BackendError(
                f"an OpenAI-compatible server cannot score multi-token continuations "
                f"{unscorable[:3]!r} after a chat prompt (it only reports the first token's "
                "top log-probabilities); give the prompt as plain text instead (cloze mode), "
                "which is scored with echoed prompt log-probabilities"
            )


def is_text_score(request: LLMRequest) -> bool:
    return request.params is None and isinstance(request.prompt, str)


def as_dict(reply: Any) -> dict:
    """The client's parsed reply as plain JSON data (servers add fields the types do not know)."""
    return reply.model_dump() if hasattr(reply, "model_dump") else dict(reply)


def finite(score: ContinuationScore, url: str) -> ContinuationScore:
    if not math.isfinite(score.logprob):
        raise BackendError(f"{url} returned a non-finite log-probability ({score.logprob}) for a "
                           "prompt token: the server's numbers are broken; nothing was cached")
    return score


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
    if end > 0 and echoed.endswith(continuation):
        start_char = len(echoed) - len(continuation)
        position, first = len(echoed), end
        while first > 0 and position > start_char:
            first -= 1
            position -= len(tokens[first])
    elif end > 0 and _visible(echoed).endswith(_visible(continuation)):
        # vLLM echoes a token holding only part of a character's bytes as "" (its text comes
        # with a later token, or never: invalid bytes in a generated option, " \ufffdeants\ufffd"
        # echoed as "", "e", "ants", ""), so compare without whitespace and U+FFFD, then take
        # the empty pieces just before as the start of the continuation's first character.
        wanted, covered, first = len(_visible(continuation)), 0, end
        while first > 0 and covered < wanted:
            first -= 1
            covered += len(_visible(tokens[first]))
        while first > 0 and tokens[first - 1] == "":
            first -= 1
        if first == end:
            raise BackendError(f"no echoed token holds the continuation {continuation!r}")
    else:
        raise BackendError(
            "the echoed prompt tokens do not end with the continuation "
            f"({continuation!r}); the server did not echo the prompt with its log-probabilities, "
            "or returned them shifted by one token (llama-cpp-python does so for models without a "
            "BOS token: start the prompt with the BOS token's text, or use vLLM)"
        )
    selected = logprobs[first:end]
    if any(v is None for v in selected):
        raise BackendError("a continuation token has no log-probability (is the prompt empty?)")
    return ContinuationScore(logprob=float(sum(selected)), n_tokens=end - first)


def _visible(text: str) -> str:
    """``text`` without whitespace and U+FFFD (what an echo may drop or split differently)."""
    return _VANISHING.sub("", text)


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


def is_single_word(continuation: str) -> bool:
    """Whether a continuation can be one token: non-empty, no whitespace inside once trimmed."""
    word = normalise_token(continuation)
    return bool(word) and not re.search(r"\s", word)


def generation_body(prompt: Prompt, params: GenerationParams, max_tokens: int) -> dict[str, Any]:
    """The request body of one generation (without ``model``), asking for ``max_tokens`` new
    tokens (``params.max_tokens`` lowered to the endpoint's cap)."""
    body: dict[str, Any] = {"max_tokens": max_tokens, "temperature": params.temperature,
                            "top_p": params.top_p, "seed": params.seed}
    if params.stop:
        body["stop"] = list(params.stop)
    if isinstance(prompt, str):
        body["prompt"] = prompt
        if params.logprobs:
            body["logprobs"] = 1
    else:
        body["messages"] = messages(prompt)
        if params.logprobs:  # top_logprobs 0: llama-cpp-python returns none without it
            body.update(logprobs=True, top_logprobs=0)
    return body


def messages(prompt: Prompt) -> list[dict]:
    return [dict(message) for message in prompt]  # type: ignore[union-attr]


def first_choice(reply: dict, url: str) -> tuple[dict, dict]:
    """The reply's first choice and its usage (empty dict when absent)."""
    choices = reply.get("choices")
    if not choices or not isinstance(choices[0], dict):
        raise BackendError(f"{url} returned no choices: {json.dumps(reply)[:300]}")
    usage = reply.get("usage")
    return choices[0], usage if isinstance(usage, dict) else {}


def generated_logprobs(choice: dict, chat: bool, url: str) -> tuple[float, ...]:
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


def finish_reason(reason: Any, url: str) -> str:
    """OpenAI's finish reasons as the interface's two: ``"length"`` or ``"stop"``."""
    if reason in ("length", "max_tokens"):
        return "length"
    if reason in ("abort", "error"):
        raise BackendError(f"{url} ended the generation with finish_reason={reason!r}")
    return "stop"  # stop string, end of turn, tool call, content filter


def server_message(payload: bytes) -> str:
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


def hint(message: str) -> str:
    """What to do, when a server's error is about a missing log-probability feature, a
    ``max_tokens`` longer than its context, or a refused connection."""
    lowered = message.lower()
    if "max_tokens" in lowered and ("max_model_len" in lowered or "context" in lowered):
        return (" (the server's context is shorter than the new tokens the call asks for: start it "
                "with a longer --max-model-len, or cap the endpoint's max_tokens in the endpoints "
                "file, RGD_ENDPOINTS)")
    if "logits_all" in lowered:
        return " (start llama-cpp-python's server with `--logits_all true`)"
    if "logprob" in lowered or "echo" in lowered:
        return f" ({LOGPROBS_HINT})"
    if "connectionrefused" in lowered:
        return (" (nothing listens there: start the server, or correct its URL in the endpoints "
                "file, RGD_ENDPOINTS)")
    return ""


def status_message(error: Any) -> str:
    """The server's message of an error reply (OpenAI's ``{"error": {"message"}}``, vLLM's
    ``{"message"}`` or FastAPI's ``{"detail"}``), else the start of the body."""
    try:
        return server_message(error.response.content)
    except Exception:  # a reply that cannot be read: the client's own summary
        return str(error)[:500]


def root_cause(error: BaseException) -> BaseException:
    """The innermost cause of a transport error (``ConnectionRefusedError`` rather than the
    client's "All connection attempts failed")."""
    seen = {id(error)}
    while (inner := error.__cause__ or error.__context__) is not None and id(inner) not in seen:
        seen.add(id(inner))
        error = inner
    return error
