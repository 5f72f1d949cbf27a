"""rgd_utils.llm.endpoints: the endpoints file (replicas, in-flight counts, a server's new-token
cap), the cap applied to the requests sent to that server, and the cap in the model's identity."""

from __future__ import annotations

from pathlib import Path

import pytest

from rgd_utils.llm.backend import BackendError, GenerationParams, LLMRequest
from rgd_utils.llm.cache import LLMCache
from rgd_utils.llm.endpoints import Endpoint, endpoints_for, identity_with_cap, read_endpoints_file
from rgd_utils.llm.openai_http import OpenAIBackend
from rgd_utils.llm.registry import load_model
from test_openai_backend import FakeServer, chat_reply

FILE = """
[models."Qwen3-32"]
endpoints = [
  { url = "http://gpu-1:8000/v1", in_flight = 64 },
  { url = "http://gpu-2:8000/v1", in_flight = 32 },
]

[models.Llama70]
endpoints = [{ url = "http://127.0.0.1:8001/v1", in_flight = 4, max_tokens = 48 }]
"""


def _file(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "endpoints.toml"
    path.write_text(text, encoding="utf-8")
    return path


def test_the_file_lists_each_models_replicas_in_flight_counts_and_cap(tmp_path, monkeypatch) -> None:
    monkeypatch.setenv("RGD_IN_FLIGHT", "3")
    found = read_endpoints_file(_file(tmp_path, FILE + '[models.GLM4]\nendpoints = [{ url = "http://h:1/v1" }]\n'))
    assert found == {
        "Qwen3-32": (Endpoint("http://gpu-1:8000/v1", 64), Endpoint("http://gpu-2:8000/v1", 32)),
        "Llama70": (Endpoint("http://127.0.0.1:8001/v1", 4, max_tokens=48),),
        "GLM4": (Endpoint("http://h:1/v1", 3),),  # in_flight from RGD_IN_FLIGHT, no cap
    }


def test_the_file_comes_before_the_per_model_and_global_urls(tmp_path, monkeypatch) -> None:
    monkeypatch.setenv("RGD_ENDPOINTS", str(_file(tmp_path, FILE)))
    monkeypatch.setenv("RGD_OPENAI_BASE_URL", "http://everyone:9/v1")
    monkeypatch.setenv("RGD_ENDPOINT_LLAMA70", "http://llama:9/v1")
    assert endpoints_for("Llama70")[0].base_url == "http://127.0.0.1:8001/v1"
    monkeypatch.setenv("RGD_ENDPOINT_GEMMA", "http://gemma:9/v1")
    assert endpoints_for("Gemma") == (Endpoint("http://gemma:9/v1"),)
    assert endpoints_for("Yi15") == (Endpoint("http://everyone:9/v1"),)


@pytest.mark.parametrize("rows, message", [
    ('{ url = "http://a:1/v1", max_tokens = 64 }, { url = "http://b:1/v1" }',
     r"model 'Llama70': its endpoints set different max_tokens \(\[64, None\]\)"),
    ('{ url = "http://a:1/v1", max_tokens = 0 }', r"model 'Llama70': max_tokens must be >= 1, got 0"),
    ('{ url = "http://a:1/v1", max_tokens = "short" }', "max_tokens must be a whole number, got 'short'"),
    ('{ url = "http://a:1/v1", max_tokens = 1.5 }', "max_tokens must be a whole number, got 1.5"),
    ('{ in_flight = 2 }', r"model 'Llama70': each endpoint needs a url"),
])
def test_a_bad_endpoint_entry_is_named_with_its_file_and_model(tmp_path, rows, message) -> None:
    path = _file(tmp_path, f"[models.Llama70]\nendpoints = [{rows}]\n")
    with pytest.raises(ValueError, match=message) as error:
        read_endpoints_file(path)
    assert str(path) in str(error.value)


def test_the_cap_lowers_a_longer_request_and_keeps_a_shorter_one() -> None:
    capped = Endpoint("http://a:1/v1", max_tokens=48)
    assert (capped.cap(16_384), capped.cap(20), Endpoint("http://a:1/v1").cap(16_384)) == (48, 20, 16_384)
    with pytest.raises(ValueError, match="max_tokens must be >= 1"):
        Endpoint("http://a:1/v1", max_tokens=-5)


def test_the_client_sends_at_most_the_endpoints_cap() -> None:
    server = FakeServer(lambda request: (200, chat_reply("(B)", finish="length")))
    try:
        prompt = [[{"role": "user", "content": "Which?"}]]
        OpenAIBackend([Endpoint(server.url, 2, max_tokens=48)], "m").generate(
            prompt, GenerationParams(max_tokens=16_384))
        OpenAIBackend([Endpoint(server.url, 2, max_tokens=48)], "m").generate(
            prompt, GenerationParams(max_tokens=12))
        OpenAIBackend([Endpoint(server.url, 2)], "m").generate(prompt, GenerationParams(max_tokens=4_096))
    finally:
        server.close()
    assert [r["body"]["max_tokens"] for r in server.requests] == [48, 12, 4_096]


def test_a_budget_longer_than_the_servers_context_says_to_cap_the_endpoint() -> None:
    refusal = {"error": {"message": "max_tokens=16384 cannot be greater than max_model_len=2048. Please "
                         "request fewer output tokens. (parameter=max_tokens, value=16384)",
                         "type": "BadRequestError", "param": "max_tokens", "code": 400}}  # vLLM 0.32's
    server = FakeServer(lambda request: (400, refusal))
    try:
        with pytest.raises(BackendError, match="(?s)HTTP 400: max_tokens=16384 cannot.*cap the endpoint's max_tokens"):
            OpenAIBackend([Endpoint(server.url)], "m", backoff=0.01).generate(
                [[{"role": "user", "content": "Which?"}]], GenerationParams(max_tokens=16_384))
    finally:
        server.close()
    assert len(server.requests) == 1  # a refusal is not retried


def test_a_cap_is_part_of_the_served_models_identity_and_cache_keys(tmp_path, monkeypatch) -> None:
    for name in ("RGD_ENDPOINTS", "RGD_OPENAI_BASE_URL"):
        monkeypatch.delenv(name, raising=False)
    cache = LLMCache(tmp_path / "cache", "readwrite")
    request = LLMRequest([{"role": "user", "content": "Which?"}], params=GenerationParams(max_tokens=16_384))
    uncapped = load_model("Llama70", cache)
    assert "max_tokens_cap" not in uncapped.identity
    monkeypatch.setenv("RGD_ENDPOINTS", str(_file(tmp_path, FILE)))
    capped = load_model("Llama70", cache)
    assert capped.identity == {**uncapped.identity, "max_tokens_cap": 48}
    assert capped.key(request) != uncapped.key(request)
    assert load_model("Qwen3-32", cache).identity["endpoint_model"] == "Qwen/Qwen3-32B"
    assert "max_tokens_cap" not in load_model("Qwen3-32", cache).identity  # its endpoints set none
    # A packaged model takes its endpoints' cap when vLLM serves it, never on llama.cpp.
    _file(tmp_path, '[models."smollm2-135m"]\nendpoints = [{ url = "http://a:1/v1", max_tokens = 32 }]\n')
    assert load_model("smollm2-135m", cache, engine="vllm").identity["max_tokens_cap"] == 32
    assert "max_tokens_cap" not in load_model("smollm2-135m", cache, engine="llama.cpp").identity
    assert identity_with_cap("smollm2-135m", {"a": 1}) == {"a": 1, "max_tokens_cap": 32}
