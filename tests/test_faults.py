"""Faults: a run killed with ``kill -9`` while generating or answering resumes and loses at most
the calls in flight; a real OpenAI-compatible server stopped mid-run gets bounded retries, then a
clear error, and every finished call stays in the cache."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from test_openai_backend import (  # the loopback fakes and the packaged-model server helpers
    PLAIN_SAMPLING,
    FakeServer,
    _free_port,
    _wait_ready,
    chat_reply,
    smollm2,  # noqa: F401  (a fixture, used by name)
)

from rgd_utils.llm.backend import BackendError
from rgd_utils.llm.cache import CacheMissError, LLMCache
from rgd_utils.llm.cached import CachedLLM
from rgd_utils.llm.openai_http import OpenAIBackend
from rgd_utils.responses import Expert, answer_one

ROOT = Path(__file__).resolve().parents[1]
MODEL = "Qwen3-32"  # a paper-preset model: served by an OpenAI-compatible endpoint
TOTAL = 60
IN_FLIGHT = 4

# The killed run: answers (or writes) TOTAL items through the cache against the fake endpoint.
CHILD = f"""
import sys
import pandas as pd
from rgd_utils.config import GeneratorSpec
from rgd_utils.generation.run import generate_records
from rgd_utils.llm.cache import LLMCache
from rgd_utils.llm.registry import load_model
from rgd_utils.responses import Expert, answer_questions

task, root = sys.argv[1], sys.argv[2]
llm = load_model({MODEL!r}, LLMCache(root, mode="readwrite"))
if task == "answer":
    questions = pd.DataFrame({{"qid": [f"q{{i}}" for i in range({TOTAL})], "source": "real",
                               "question": [f"What is {{i}} + 1?" for i in range({TOTAL})],
                               "options": [["0", "1", "2", "3"]] * {TOTAL}, "answer": "B"}})
    answer_questions(llm, Expert({MODEL!r}, "cot"), questions, progress=False)
else:
    spec = GeneratorSpec("g", {MODEL!r}, "strong", 0.8, {TOTAL})
    generate_records(llm, spec, {{"mmlu": ["math"]}}, seed=0, progress=False)
"""


def slow_reply(request: dict) -> tuple:
    time.sleep(0.02)
    return 200, chat_reply("[QUESTION] Q? [OPTION A] a [OPTION B] b [OPTION C] c [OPTION D] d "
                           "[ANSWER] B. The answer is (B)", logprobs=[-0.1, -0.2])


def run_child(task: str, root: Path) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-c", CHILD, task, str(root)], cwd=ROOT,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


@pytest.mark.parametrize("task", ["answer", "generate"])
def test_a_run_killed_with_sigkill_resumes_and_loses_at_most_the_call_in_flight(
        task, tmp_path, monkeypatch):
    server = FakeServer(slow_reply)
    monkeypatch.setenv("RGD_OPENAI_BASE_URL", server.url)
    monkeypatch.delenv("RGD_OPENAI_API_KEY", raising=False)
    monkeypatch.setenv("RGD_IN_FLIGHT", str(IN_FLIGHT))
    try:
        child = run_child(task, tmp_path / "cache")
        deadline = time.monotonic() + 120
        while len(server.requests) < 20:
            assert child.poll() is None, child.stderr.read()
            assert time.monotonic() < deadline, "the run made no progress"
            time.sleep(0.01)
        os.kill(child.pid, signal.SIGKILL)
        child.wait(timeout=30)
        answered = len(server.requests)  # requests sent; the last may have had no reply yet
        stats = LLMCache(tmp_path / "cache").stats()
        assert len(stats) == 1 and stats[0]["corrupt"] <= 1
        kept = stats[0]["entries"]
        assert server.max_in_flight == IN_FLIGHT  # the endpoint was kept busy...
        assert answered - IN_FLIGHT - 1 <= kept <= answered  # ...and at most those calls were lost

        resumed = run_child(task, tmp_path / "cache")
        assert resumed.wait(timeout=300) == 0, resumed.stderr.read()
        assert len(server.requests) - answered == TOTAL - kept  # finished calls are not repeated
        assert LLMCache(tmp_path / "cache").stats()[0]["entries"] == TOTAL
    finally:
        server.close()


QUESTIONS = [(f"What is {i} plus {i}?", [str(2 * i), str(2 * i + 1), str(i), str(3 * i + 2)])
             for i in range(1, 9)]


def test_a_server_stopped_mid_run_gives_bounded_retries_a_clear_error_and_keeps_finished_calls(
        smollm2, tmp_path, monkeypatch):  # noqa: F811 (the fixture)
    port, key = _free_port(), "rgd-test-" + os.urandom(8).hex()
    monkeypatch.setenv("RGD_OPENAI_API_KEY", key)
    url, log = f"http://127.0.0.1:{port}/v1", tmp_path / "server.log"
    command = [sys.executable, "-m", "llama_cpp.server", "--model", str(smollm2),
               "--model_alias", "smollm2-135m", "--host", "127.0.0.1", "--port", str(port),
               "--n_ctx", "2048", "--n_threads", "1", "--n_threads_batch", "1", "--seed", "0",
               "--api_key", key]
    with log.open("w") as sink:
        server = subprocess.Popen(command, stdout=sink, stderr=subprocess.STDOUT)
    try:
        _wait_ready(server, url, key, log, timeout=120)
        backend = OpenAIBackend(base_url=url, model="smollm2-135m", max_retries=2, backoff=0.05,
                                max_backoff=0.1, read_timeout=30, extra_body=PLAIN_SAMPLING)
        identity = {"endpoint_model": "smollm2-135m", "backend": "openai-compatible"}
        llm = CachedLLM("smollm2-http", identity, lambda: backend,
                        LLMCache(tmp_path / "cache", mode="readwrite"))
        expert, answered, error = Expert("smollm2-http", "letter"), [], None
        for i, (question, options) in enumerate(QUESTIONS):
            if i == 4:  # the server dies mid-run
                server.terminate()
                server.wait(timeout=30)
            try:
                answered.append(answer_one(llm, expert, question, options)[0])
            except BackendError as caught:
                error = caught
                break
    finally:
        if server.poll() is None:
            server.kill()
            server.wait(timeout=30)
    assert len(answered) == 4 and all(a in "ABCD" for a in answered)
    message = str(error)
    assert "failed after 3 attempts" in message and url in message
    assert "Connection" in message or "refused" in message.lower()
    # the four finished calls are kept: a replay answers them without any server
    replay = CachedLLM("smollm2-http", identity, lambda: pytest.fail("replay built a backend"),
                       LLMCache(tmp_path / "cache", mode="replay"))
    assert [answer_one(replay, expert, q, o)[0] for q, o in QUESTIONS[:4]] == answered
    with pytest.raises(CacheMissError):
        answer_one(replay, expert, *QUESTIONS[4])
