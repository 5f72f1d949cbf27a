"""Tests of rgd_utils.llm.openai_http.OpenAIBackend.

Unit tests talk to a tiny stdlib ``http.server`` fake on 127.0.0.1 (ephemeral port) that records
each request and answers from a script. The integration tests start llama-cpp-python's own
OpenAI-compatible server on loopback with the packaged SmolLM2-135M and check that the same
model answers the same questions identically through :class:`LlamaCppBackend` (in process) and
through the HTTP backend. Everything runs on one thread of the CPU (about 35 s in all).

The server needs llama-cpp-python's ``server`` extras, pinned as :data:`SERVER_PINS` (installed
with ``pip install`` next to the pinned llama-cpp-python); without them, or without llama-cpp-python
or the packaged model, the integration tests are skipped with the reason.
"""

from __future__ import annotations

import importlib.util
import json
import math
import os
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, Callable, Iterator

import pytest

from rgd_utils.llm.backend import (
    BackendError,
    ContinuationScore,
    GenerationParams,
    LLMRequest,
    PromptTooLongError,
)
from rgd_utils.llm.endpoints import Endpoint
from rgd_utils.llm.openai_http import OpenAIBackend
from rgd_utils.llm.openai_replies import continuation_logprob, lookup_top_logprob

KEY = "sk-test-0123456789abcdef"
CHAT = [{"role": "user", "content": "Pick one."}]


# -- the fake server -------------------------------------------------------------------------
Reply = tuple[int, Any]  # (status, JSON-able body or bytes)


class FakeServer:
    """An HTTP server on 127.0.0.1 that records POSTs and answers with ``respond(request)``.

    ``respond`` receives ``{"path", "body", "headers", "index"}`` and returns ``(status, body)``
    or ``(status, body, headers)``; it may sleep to simulate a slow server.
    """

    def __init__(self, respond: Callable[[dict], tuple]) -> None:
        self.respond = respond
        self.requests: list[dict] = []
        self.lock = threading.Lock()
        self.in_flight = 0
        self.max_in_flight = 0
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 (http.server's naming)
                raw = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                with fake.lock:
                    record = {"path": self.path, "raw": raw, "body": json.loads(raw),
                              "headers": self.headers, "index": len(fake.requests)}
                    fake.requests.append(record)
                    fake.in_flight += 1
                    fake.max_in_flight = max(fake.max_in_flight, fake.in_flight)
                try:
                    status, body, *extra = fake.respond(record)
                finally:
                    with fake.lock:
                        fake.in_flight -= 1
                payload = body if isinstance(body, bytes) else json.dumps(body).encode()
                try:
                    self.send_response(status)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(payload)))
                    for name, value in (extra[0] if extra else {}).items():
                        self.send_header(name, value)
                    self.end_headers()
                    self.wfile.write(payload)
                except OSError:
                    pass  # the client gave up (timeout tests)

            def log_message(self, *args: Any) -> None:
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.thread = threading.Thread(target=self.httpd.serve_forever, args=(0.05,), daemon=True)
        self.thread.start()
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/v1"

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def fake() -> Iterator[Callable[[Callable[[dict], tuple]], FakeServer]]:
    servers: list[FakeServer] = []

    def start(respond: Callable[[dict], tuple]) -> FakeServer:
        servers.append(FakeServer(respond))
        return servers[-1]

    yield start
    for server in servers:
        server.close()


@pytest.fixture
def no_key(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("RGD_OPENAI_API_KEY", raising=False)
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)


def backend(server: FakeServer, **kwargs: Any) -> OpenAIBackend:
    options = {"backoff": 0.01, "max_backoff": 0.05, "read_timeout": 5.0, **kwargs}
    return OpenAIBackend(base_url=server.url, model="org/model-7b", **options)


def chat_reply(text: str = "Hi", finish: str = "stop", logprobs: list[float] | None = None) -> dict:
    choice: dict[str, Any] = {"index": 0, "message": {"role": "assistant", "content": text},
                              "finish_reason": finish}
    if logprobs is not None:
        choice["logprobs"] = {"content": [{"token": "x", "logprob": v, "top_logprobs": []}
                                          for v in logprobs]}
    return {"choices": [choice], "usage": {"completion_tokens": len(logprobs or [1, 2])}}


def text_reply(text: str = " there", finish: str = "length", logprobs: list[float] | None = None) -> dict:
    choice: dict[str, Any] = {"index": 0, "text": text, "finish_reason": finish}
    if logprobs is not None:
        choice["logprobs"] = {"tokens": ["x"] * len(logprobs), "token_logprobs": logprobs,
                              "text_offset": list(range(len(logprobs))), "top_logprobs": None}
    return {"choices": [choice], "usage": {"completion_tokens": 3}}


# -- request bodies and headers ---------------------------------------------------------------
def test_chat_generate_body_and_bearer(fake, monkeypatch) -> None:
    monkeypatch.setenv("RGD_OPENAI_API_KEY", KEY)
    monkeypatch.setenv("OPENAI_API_KEY", "sk-other")
    server = fake(lambda r: (200, chat_reply("Hello", "length", [-0.5, -0.25])))
    llm = backend(server)
    params = GenerationParams(max_tokens=7, temperature=0.7, top_p=0.9, seed=42, stop=("\n",),
                              logprobs=True)
    [out] = llm.generate([CHAT], params)
    assert out.text == "Hello" and out.finish_reason == "length"
    assert out.token_logprobs == (-0.5, -0.25) and out.n_tokens == 2
    [request] = server.requests
    assert request["path"] == "/v1/chat/completions"
    body = request["body"]
    assert body["model"] == "org/model-7b" and body["messages"] == CHAT and "prompt" not in body
    assert (body["max_tokens"], body["temperature"], body["top_p"], body["seed"]) == (7, 0.7, 0.9, 42)
    assert body["stop"] == ["\n"] and body["logprobs"] is True and body["top_logprobs"] == 0
    assert request["headers"]["Authorization"] == f"Bearer {KEY}"  # RGD_ wins over OPENAI_
    assert KEY.encode() not in request["raw"]
    assert KEY not in json.dumps(llm.identity) and KEY not in repr(llm) and KEY not in str(vars(llm))
    assert llm.identity == {"endpoint_model": "org/model-7b", "backend": "openai-compatible"}


def test_text_generate_body(fake, monkeypatch, no_key) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", KEY)
    server = fake(lambda r: (200, text_reply(" there", "stop", [-1.0, -2.0, -3.0])))
    [out] = backend(server).generate(["Hello"], GenerationParams(max_tokens=3, logprobs=True))
    assert (out.text, out.finish_reason, out.n_tokens) == (" there", "stop", 3)
    assert out.token_logprobs == (-1.0, -2.0, -3.0)
    [request] = server.requests
    body = request["body"]
    assert request["path"] == "/v1/completions" and body["prompt"] == "Hello"
    assert "messages" not in body and "stop" not in body  # no stop strings: none sent
    assert body["logprobs"] == 1 and body["seed"] == 0 and body["temperature"] == 0.0
    assert request["headers"]["Authorization"] == f"Bearer {KEY}"  # OPENAI_API_KEY fallback


def test_no_key_no_header_and_no_logprobs_unless_asked(fake, no_key) -> None:
    server = fake(lambda r: (200, text_reply()))
    [out] = backend(server).generate(["Hello"], GenerationParams(max_tokens=3))
    assert out.token_logprobs is None and out.finish_reason == "length"
    request = server.requests[0]
    assert "Authorization" not in request["headers"] and "logprobs" not in request["body"]


def test_extra_body_adds_fields_but_never_overrides(fake, no_key) -> None:
    server = fake(lambda r: (200, text_reply()))
    llm = backend(server, extra_body={"top_k": -1, "temperature": 5.0})
    llm.generate(["x"], GenerationParams(temperature=0.0))
    body = server.requests[0]["body"]
    assert body["top_k"] == -1 and body["temperature"] == 0.0


def test_missing_generation_logprobs_is_an_error(fake, no_key) -> None:
    server = fake(lambda r: (200, chat_reply("Hi")))
    with pytest.raises(BackendError, match="logits_all"):
        backend(server).generate([CHAT], GenerationParams(logprobs=True))


# -- retries, give-up, refusal, timeouts --------------------------------------------------------
def test_retries_429_and_503_then_succeeds(fake, no_key) -> None:
    script = [(429, {"error": {"message": "slow down"}}, {"Retry-After": "0"}),
              (503, {"error": {"message": "warming up"}})]
    server = fake(lambda r: script[r["index"]] if r["index"] < len(script) else (200, text_reply("ok")))
    [out] = backend(server).generate(["x"], GenerationParams())
    assert out.text == "ok" and len(server.requests) == 3


def test_gives_up_after_max_retries_without_leaking_the_key(fake, monkeypatch) -> None:
    monkeypatch.setenv("RGD_OPENAI_API_KEY", KEY)

    def leaky(request: dict) -> tuple:  # a server that echoes the header in its error
        return 503, {"error": {"message": f"overloaded; got {request['headers']['Authorization']}"}}

    server = fake(leaky)
    with pytest.raises(BackendError) as caught:
        backend(server, max_retries=2).generate(["x"], GenerationParams())
    message = str(caught.value)
    assert len(server.requests) == 3
    assert f"{server.url}/completions" in message and "503" in message and "overloaded" in message
    assert KEY not in message and KEY not in repr(caught.value.args)


def test_400_is_not_retried_and_carries_the_server_message(fake, no_key) -> None:
    server = fake(lambda r: (400, {"error": {"message": "max_tokens is too large: 99999"}}))
    with pytest.raises(BackendError, match="HTTP 400.*max_tokens is too large"):
        backend(server).generate(["x"], GenerationParams(max_tokens=99999))
    assert len(server.requests) == 1


def test_context_overflow_is_prompt_too_long(fake, no_key) -> None:
    vllm = (400, {"object": "error", "type": "BadRequestError", "code": 400, "message":
                  "This model's maximum context length is 4096 tokens. However, you requested "
                  "5000 tokens (4488 in the messages, 512 in the completion)."})
    server = fake(lambda r: vllm)
    with pytest.raises(PromptTooLongError, match="maximum context length"):
        backend(server).generate([CHAT], GenerationParams())
    assert len(server.requests) == 1


def test_read_timeout_is_retried_then_reported(fake, no_key) -> None:
    server = fake(lambda r: (time.sleep(1.0), (200, text_reply()))[1])
    started = time.monotonic()
    with pytest.raises(BackendError, match="(?i)timed out"):
        backend(server, read_timeout=0.2, max_retries=1).generate(["x"], GenerationParams())
    assert len(server.requests) == 2 and time.monotonic() - started < 3


def test_connection_refused_is_retried_then_reported(no_key) -> None:
    with socket.socket() as probe:  # a port nobody listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    llm = OpenAIBackend(f"http://127.0.0.1:{port}/v1", "m", max_retries=2, backoff=0.01)
    with pytest.raises(BackendError, match=f"127.0.0.1:{port}/v1/completions failed after 3 attempts.*Connect"
                                           ".*nothing listens there: start the server"):
        llm.generate(["x"], GenerationParams())


def test_a_request_to_the_server_a_backend_started_quotes_why_it_died(tmp_path, no_key) -> None:
    from rgd_utils.llm.vllm_server import VLLMServer

    server = VLLMServer(tmp_path, ["m"], log=tmp_path / "server.log")
    with open(server.log, "wb") as log:  # a server process that failed after it started
        server.process = subprocess.Popen([sys.executable, "-c", "print('engine core died'); raise SystemExit(3)"],
                                          stdout=log)
    server.process.wait()
    llm = OpenAIBackend(server.url, "m", max_retries=0, server=server)
    with pytest.raises(BackendError, match=r"(?s)Connect.*server for m exited with code 3.*engine core died"):
        llm.generate(["x"], GenerationParams())


def test_bad_base_url_is_refused() -> None:
    with pytest.raises(ValueError):
        OpenAIBackend("ftp://example/v1", "m")
    with pytest.raises(ValueError, match="credentials"):
        OpenAIBackend("http://user:secret@127.0.0.1:1/v1", "m")


# -- concurrency ---------------------------------------------------------------------------------
def test_concurrency_keeps_prompt_order(fake, no_key) -> None:
    def slow_first(request: dict) -> tuple:
        i = int(request["body"]["prompt"][1:])
        time.sleep(0.05 * (6 - i))  # later prompts answer first
        return 200, text_reply(f"answer {i}")

    server = fake(slow_first)
    prompts = [f"p{i}" for i in range(6)]
    out = backend(server, in_flight=3).generate(prompts, GenerationParams())
    assert [g.text for g in out] == [f"answer {i}" for i in range(6)]
    assert server.max_in_flight == 3


def test_replicas_share_the_work_and_each_keeps_its_own_slots(fake, no_key) -> None:
    def slow(request: dict) -> tuple:
        time.sleep(0.05)
        return 200, text_reply("ok")

    first, second = fake(slow), fake(slow)
    llm = OpenAIBackend([Endpoint(first.url, 2), Endpoint(second.url, 3)], "m", backoff=0.01)
    out = llm.generate([f"p{i}" for i in range(20)], GenerationParams())
    assert [g.text for g in out] == ["ok"] * 20
    assert len(first.requests) + len(second.requests) == 20
    assert first.max_in_flight == 2 and second.max_in_flight == 3
    assert len(second.requests) >= 6 and len(first.requests) >= 4  # both answered a fair share


def test_stream_yields_each_request_as_it_completes(fake, no_key) -> None:
    def slow_first(request: dict) -> tuple:
        time.sleep(0.3 if request["body"]["prompt"] == "slow" else 0.0)
        return 200, text_reply(request["body"]["prompt"])

    server = fake(slow_first)
    requests = [LLMRequest("slow", params=GenerationParams()), LLMRequest("fast", params=GenerationParams())]
    order = [index for index, _ in backend(server, in_flight=2).stream(requests)]
    assert order == [1, 0]


def test_a_trickling_server_cannot_hold_a_call_past_its_deadline(no_key) -> None:
    """A server that sends one byte every 0.1 s never trips the read timeout; the overall
    deadline ends the call."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(4)
    stop = threading.Event()

    def trickle() -> None:
        connection, _ = listener.accept()
        connection.recv(65536)
        connection.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 100000\r\n\r\n")
        while not stop.is_set():
            try:
                connection.sendall(b" ")
            except OSError:
                break
            time.sleep(0.1)
        connection.close()

    thread = threading.Thread(target=trickle, daemon=True)
    thread.start()
    llm = OpenAIBackend(f"http://127.0.0.1:{listener.getsockname()[1]}/v1", "m", read_timeout=5.0,
                        deadline=1.0, max_retries=0)
    started = time.monotonic()
    try:
        with pytest.raises(BackendError, match="deadline of 1 s"):
            llm.generate(["x"], GenerationParams())
    finally:
        stop.set()
        listener.close()
    assert time.monotonic() - started < 4


# -- values checked where they enter ------------------------------------------------------------
@pytest.mark.parametrize("bad", ["NaN", "-Infinity"])
def test_non_finite_echo_logprobs_are_refused_and_never_returned(fake, no_key, bad) -> None:
    reply = echo_reply(["Q:", " Paris", "!"], [None, -7.5, -1.0])
    payload = json.dumps(reply).replace("-7.5", bad).encode()
    server = fake(lambda r: (200, payload))
    with pytest.raises(BackendError, match="non-finite"):
        backend(server).score("Q:", [" Paris"])


def test_non_finite_top_logprobs_are_refused(fake, no_key) -> None:
    reply = chat_reply("A", logprobs=[-0.1])
    reply["choices"][0]["logprobs"]["content"][0]["top_logprobs"] = [
        {"token": "A", "logprob": -0.1}, {"token": "B", "logprob": -1.0}]
    payload = json.dumps(reply).replace("-1.0", "NaN").encode()
    server = fake(lambda r: (200, payload))
    with pytest.raises(BackendError, match="non-finite"):
        backend(server).score(CHAT, ["A", "B"])


def test_null_message_content_is_an_error_not_an_empty_answer(fake, no_key) -> None:
    reply = chat_reply("x")
    reply["choices"][0]["message"]["content"] = None
    reply["choices"][0]["finish_reason"] = "length"
    server = fake(lambda r: (200, reply))
    with pytest.raises(BackendError, match="without content.*length"):
        backend(server).generate([CHAT], GenerationParams())


# -- secrets -------------------------------------------------------------------------------------
def test_a_key_with_a_trailing_newline_is_stripped(fake, monkeypatch) -> None:
    monkeypatch.setenv("RGD_OPENAI_API_KEY", KEY + "\n")
    server = fake(lambda r: (200, text_reply()))
    backend(server).generate(["x"], GenerationParams())
    assert server.requests[0]["headers"]["Authorization"] == f"Bearer {KEY}"


def test_a_key_with_white_space_inside_is_refused_without_quoting_it(fake, monkeypatch) -> None:
    monkeypatch.setenv("RGD_OPENAI_API_KEY", KEY[:8] + "\n" + KEY[8:])
    server = fake(lambda r: (200, text_reply()))
    with pytest.raises(BackendError, match="white space") as caught:
        backend(server).generate(["x"], GenerationParams())
    assert KEY[:8] not in str(caught.value) and not server.requests


def test_a_key_in_the_url_query_is_refused_without_quoting_it() -> None:
    with pytest.raises(ValueError, match="query string") as caught:
        OpenAIBackend("http://127.0.0.1:1/v1?api-key=sk-in-the-url", "m")
    assert "sk-in-the-url" not in str(caught.value)


# -- scoring ---------------------------------------------------------------------------------------
def echo_reply(tokens: list[str], logprobs: list[float | None], generated: int = 1) -> dict:
    offsets, position = [], 0
    for token in tokens:
        offsets.append(position)
        position += len(token)
    return {"choices": [{"index": 0, "text": "".join(tokens), "finish_reason": "length",
                         "logprobs": {"tokens": tokens, "token_logprobs": logprobs,
                                      "text_offset": offsets, "top_logprobs": None}}],
            "usage": {"prompt_tokens": len(tokens) - generated, "completion_tokens": generated}}


def test_echo_scoring_sums_only_the_continuation_tokens(fake, no_key) -> None:
    # vLLM's layout: a BOS string first, the prompt, the continuation, one generated token.
    replies = {
        "Question: 2+2?\nAnswer: four": echo_reply(
            ["<s>", "Question", ":", " 2", "+", "2", "?\n", "Answer", ":", " four", "."],
            [None, -5.0, -1.0, -2.0, -1.5, -0.5, -1.0, -3.0, -0.1, -0.75, -0.3]),
        "Question: 2+2?\nAnswer: twenty two": echo_reply(
            ["<s>", "Question", ":", " 2", "+", "2", "?\n", "Answer", ":", " twenty", " two", "\n"],
            [None, -5.0, -1.0, -2.0, -1.5, -0.5, -1.0, -3.0, -0.1, -4.0, -2.5, -0.3]),
    }
    server = fake(lambda r: (200, replies[r["body"]["prompt"]]))
    scores = backend(server).score("Question: 2+2?\nAnswer:", [" four", " twenty two"])
    assert scores == [ContinuationScore(-0.75, 1), ContinuationScore(-6.5, 2)]
    for request in server.requests:
        body = request["body"]
        assert body["echo"] is True and body["logprobs"] == 1 and body["max_tokens"] == 1
        assert body["temperature"] == 0.0 and request["path"] == "/v1/completions"


def test_echo_scoring_without_usage(fake, no_key) -> None:
    reply = echo_reply(["Q", ":", " yes", "\n"], [None, -1.0, -0.25, -2.0])
    del reply["usage"]
    server = fake(lambda r: (200, reply))
    assert backend(server).score("Q:", [" yes"]) == [ContinuationScore(-0.25, 1)]


def test_continuation_logprob_straddling_and_dropped_bos() -> None:
    # llama-cpp-python's layout: no BOS string; a token straddles prompt and continuation.
    score = continuation_logprob(["Say", ":", " yes", "!"], [None, -1.0, -2.0, -0.5], "es", 1)
    assert score == ContinuationScore(-2.0, 1)
    # no generated token (the server stopped at once)
    assert continuation_logprob(["A", " B"], [None, -0.5], " B", 0) == ContinuationScore(-0.5, 1)
    with pytest.raises(BackendError, match="no log-probability"):
        continuation_logprob(["Hi"], [None], "Hi", 0)


def test_continuation_with_characters_split_across_tokens() -> None:
    # vLLM 0.32's echo of Qwen2.5-Coder-0.5B's tokens for a generated option with invalid bytes
    # (2026-12-05): the pieces of " \ufffd" and of the final "\ufffd" come back as "".
    tokens = ["[", "OPTION", " A", "]", "", "e", "ants", "", " consuming"]
    logprobs = [None, -1.0, -2.0, -3.0, -4.0, -5.0, -6.0, -7.0, -0.5]
    assert continuation_logprob(tokens, logprobs, " \ufffdeants\ufffd", 1) == ContinuationScore(-22.0, 4)
    # " 太阳能" echoed as "", " 太", "阳", "能": the text matches exactly, so the characters are
    # counted back as always (the empty piece before stays out, as in every cached answer)
    tokens = ["Answer", ":", "", " \u592a", "\u9633", "\u80fd"]
    assert continuation_logprob(tokens, [None, -1.0, -2.0, -3.0, -4.0, -5.0], " \u592a\u9633\u80fd", 0) == \
        ContinuationScore(-12.0, 3)
    with pytest.raises(BackendError, match="do not end with the continuation"):
        continuation_logprob(["Q", ":", "", "y"], [None, -1.0, -2.0, -3.0], " \u592ax", 0)


def test_shifted_echo_is_refused(fake, no_key) -> None:
    # llama-cpp-python 0.3.36, model without BOS: the generated token's entry is missing.
    reply = echo_reply(["Q", ":", " A", ":", " yes"], [None, -1.0, -1.0, -1.0, -1.0], generated=1)
    server = fake(lambda r: (200, reply))
    with pytest.raises(BackendError, match="shifted by one token"):
        backend(server).score("Q: A:", [" yes"])


def test_missing_echo_logprobs_say_what_to_enable(fake, no_key) -> None:
    server = fake(lambda r: (200, text_reply()))
    with pytest.raises(BackendError, match="--logits_all true"):
        backend(server).score("Q:", [" yes"])


def test_chat_scoring_reads_the_top_list(fake, no_key) -> None:
    top = [{"token": "A", "logprob": -0.5}, {"token": " B", "logprob": -1.5},
           {"token": "B", "logprob": -2.5}, {"token": "\u2581C", "logprob": -3.0},
           {"token": "The", "logprob": -1.0}]
    reply = {"choices": [{"index": 0, "message": {"content": "A"}, "finish_reason": "length",
                          "logprobs": {"content": [{"token": "A", "logprob": -0.5,
                                                    "top_logprobs": top}]}}]}
    server = fake(lambda r: (200, reply))
    scores = backend(server).score(CHAT, ["A", "B", "C", "D"])
    assert [s.logprob for s in scores] == [-0.5, -2.5, -3.0, -math.inf]  # exact "B" beats " B"
    assert all(s.n_tokens == 1 for s in scores)
    [request] = server.requests
    body = request["body"]
    assert request["path"] == "/v1/chat/completions" and body["messages"] == CHAT
    assert (body["max_tokens"], body["logprobs"], body["top_logprobs"]) == (1, True, 20)


def test_lookup_top_logprob_normalises_leading_space() -> None:
    assert lookup_top_logprob([(" A", -1.0), ("\u0120A", -2.0)], "A") == -1.0
    assert lookup_top_logprob([("A", -1.0)], " A") == -1.0
    assert lookup_top_logprob([("a", -1.0)], "A") == -math.inf  # case matters


def test_chat_scoring_refuses_multi_token_continuations(fake, no_key) -> None:
    server = fake(lambda r: (200, {}))
    with pytest.raises(BackendError, match="plain text"):
        backend(server).score(CHAT, ["A", "Paris is nice"])
    assert server.requests == []


def test_chat_scoring_without_logprobs_says_what_to_enable(fake, no_key) -> None:
    server = fake(lambda r: (200, chat_reply("A")))
    with pytest.raises(BackendError, match="--logits_all true"):
        backend(server).score(CHAT, ["A", "B"])


def test_empty_continuation_is_refused(fake, no_key) -> None:
    server = fake(lambda r: (200, {}))
    with pytest.raises(BackendError, match="empty"):
        backend(server).score("Q:", [""])


# -- integration: llama-cpp-python's OpenAI-compatible server on loopback -----------------------
SERVER_MODULES = ("llama_cpp", "uvicorn", "fastapi", "sse_starlette", "starlette_context",
                  "pydantic_settings")
#: What ``llama_cpp.server`` 0.3.36 imports beyond llama-cpp-python, as tested (their own
#: dependencies resolved by pip: starlette 1.10.0, pydantic 2.14.4, pydantic-core 2.50.5, ...).
SERVER_PINS = ("uvicorn==0.54.0", "fastapi==0.165.0", "sse-starlette==3.7.0",
               "starlette-context==0.3.6", "pydantic-settings==2.16.3")
QUESTIONS = [
    ("What is the capital of France?", ["Berlin", "Paris", "Madrid", "Rome"]),
    ("How many legs does a spider have?", ["Six", "Four", "Eight", "Ten"]),
    ("Which planet is known as the Red Planet?", ["Venus", "Mars", "Jupiter", "Saturn"]),
]
#: Largest accepted |local - server| log-probability, in nats. Both sides run the same llama.cpp
#: build on the same token sequence with float32 logits; they differ only in batch splitting
#: (the server reuses the KV cache of a shared prefix) and float32 vs float64 log-softmax
#: (measured on these questions: at most 2e-7). 1e-3 leaves more than three orders of margin,
#: stays below the smallest best-vs-second gap here (0.024 nats, normalised cloze) and far below
#: what a token misalignment does (several nats), so it cannot hide a wrong token.
ATOL = 1e-3
#: llama-cpp-python's sampling defaults differ from the local backend's plain sampling.
PLAIN_SAMPLING = {"top_k": 0, "min_p": 0.0, "repeat_penalty": 1.0}


def _missing_server_modules() -> list[str]:
    return [m for m in SERVER_MODULES if importlib.util.find_spec(m) is None]


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _wait_ready(process: subprocess.Popen, url: str, key: str, log: Path, timeout: float) -> None:
    request = urllib.request.Request(f"{url}/models", headers={"Authorization": f"Bearer {key}"})
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f"llama_cpp.server exited with {process.returncode}:\n{log.read_text()[-3000:]}")
        try:
            with urllib.request.urlopen(request, timeout=2) as reply:
                if reply.status == 200:
                    return
        except (urllib.error.URLError, OSError):
            time.sleep(0.25)
    pytest.fail(f"llama_cpp.server not ready after {timeout:.0f} s:\n{log.read_text()[-3000:]}")


@pytest.fixture(scope="module")
def smollm2() -> Path:
    missing = _missing_server_modules()
    if missing:
        pytest.skip(f"llama-cpp-python's OpenAI-compatible server is not importable (missing "
                    f"{', '.join(missing)}): `make llm`, then `pip install {' '.join(SERVER_PINS)}`")
    from rgd_utils.llm import packaged

    try:
        return packaged.assemble("smollm2-135m")
    except Exception as error:  # noqa: BLE001 (any reason the packaged model is unavailable)
        pytest.skip(f"the packaged SmolLM2-135M model is not available: {error}")


@pytest.fixture(scope="module")
def llama_server(smollm2: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, str]]:
    """(base URL, API key) of ``python -m llama_cpp.server`` serving SmolLM2 on loopback."""
    port, key = _free_port(), "rgd-test-" + os.urandom(8).hex()
    log = tmp_path_factory.mktemp("llama_server") / "server.log"
    command = [sys.executable, "-m", "llama_cpp.server", "--model", str(smollm2),
               "--model_alias", "smollm2-135m", "--host", "127.0.0.1", "--port", str(port),
               "--n_ctx", "2048", "--logits_all", "true", "--n_threads", "1",
               "--n_threads_batch", "1", "--seed", "0", "--api_key", key]
    with log.open("w") as sink:
        process = subprocess.Popen(command, stdout=sink, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}/v1"
    try:
        _wait_ready(process, url, key, log, timeout=120)
        yield url, key
    finally:
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=15)


@pytest.fixture(scope="module")
def local(smollm2: Path) -> Any:
    from rgd_utils.llm.llamacpp import LlamaCppBackend

    return LlamaCppBackend(smollm2, {"test": "smollm2"}, n_ctx=2048, n_threads=1)


@pytest.fixture
def remote(llama_server: tuple[str, str], monkeypatch: pytest.MonkeyPatch) -> OpenAIBackend:
    url, key = llama_server
    monkeypatch.setenv("RGD_OPENAI_API_KEY", key)
    return OpenAIBackend(base_url=url, model="smollm2-135m", in_flight=2, backoff=0.2,
                         extra_body=PLAIN_SAMPLING)


def _argmax(values: list[float]) -> int:
    return max(range(len(values)), key=values.__getitem__)


def test_llama_server_letter_mode_agrees_with_local(local, remote) -> None:
    from rgd_utils.responses import letter_request

    for question, options in QUESTIONS:
        prompt, letters = letter_request(question, options, chat=True)
        here = [s.logprob for s in local.score(prompt, letters)]
        there = [s.logprob for s in remote.score(prompt, letters)]
        assert _argmax(here) == _argmax(there), (question, here, there)
        for a, b in zip(here, there):
            if math.isfinite(b):  # a letter outside the server's top 20 is -inf by design
                assert abs(a - b) <= ATOL, (question, here, there)
        assert math.isfinite(there[_argmax(there)])


def test_llama_server_cloze_mode_agrees_with_local(local, remote, smollm2) -> None:
    from rgd_utils.responses import cloze_request

    # SmolLM2 has no BOS token, and llama-cpp-python shifts echoed log-probabilities by one
    # token for such models: the backend must refuse rather than return wrong numbers ...
    prompt, continuations = cloze_request(*QUESTIONS[0])
    with pytest.raises(BackendError, match="shifted by one token"):
        remote.score(prompt, continuations)
    # ... and scores correctly once the prompt starts with the BOS token's text (which both
    # backends then tokenise to the same sequence).
    bos = local.llm._model.token_get_text(local.llm.token_bos())
    for question, options in QUESTIONS:
        prompt, continuations = cloze_request(question, options)
        here = local.score(bos + prompt, continuations)
        there = remote.score(bos + prompt, continuations)
        assert [s.n_tokens for s in here] == [s.n_tokens for s in there]
        normalised = [[s.logprob / len(c.strip()) for s, c in zip(scores, continuations)]
                      for scores in (here, there)]
        assert _argmax(normalised[0]) == _argmax(normalised[1]), (question, here, there)
        for a, b in zip(here, there):
            assert abs(a.logprob - b.logprob) <= ATOL, (question, here, there)


def test_llama_server_generate_matches_local_greedy(local, remote) -> None:
    params = GenerationParams(max_tokens=12, temperature=0.0, logprobs=True, stop=("\n",))
    prompts = [[{"role": "user", "content": "Name a colour."}], "The capital of France is"]
    there = remote.generate(prompts, params)
    assert all(g.text.strip() for g in there)
    here = local.generate(prompts, params)
    for a, b in zip(here, there):
        assert (a.text, a.finish_reason, a.n_tokens) == (b.text, b.finish_reason, b.n_tokens)
        assert max(abs(x - y) for x, y in zip(a.token_logprobs, b.token_logprobs)) <= ATOL


def test_llama_server_prompt_too_long(remote) -> None:
    with pytest.raises(PromptTooLongError):
        remote.score("word " * 2100, [" end"])


def test_llama_server_wrong_key_is_refused_without_retry(llama_server, monkeypatch) -> None:
    url, key = llama_server
    monkeypatch.setenv("RGD_OPENAI_API_KEY", "sk-wrong-key-for-this-test")
    llm = OpenAIBackend(base_url=url, model="smollm2-135m", backoff=5.0)
    started = time.monotonic()
    with pytest.raises(BackendError, match="HTTP 401") as caught:
        llm.generate(["Hi"], GenerationParams(max_tokens=2))
    assert time.monotonic() - started < 5  # not retried (a retry would sleep >= 2.5 s)
    assert "sk-wrong-key-for-this-test" not in str(caught.value) and key not in str(caught.value)
