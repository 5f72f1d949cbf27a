"""Each model's decoding: the paper's caps and request fields, sent and in the cache key."""

from __future__ import annotations

import pytest

from rgd_utils.config import get_preset
from rgd_utils.generation.prompt import generator_params
from rgd_utils.llm.backend import LLMRequest
from rgd_utils.llm.cache import LLMCache
from rgd_utils.llm.decoding import PACKAGED, PAPER_DECODING, decoding_for, request_fields
from rgd_utils.llm.registry import PAPER_MODELS, load_model, packaged_identity
from rgd_utils.responses import COT_PARAMS, Expert, cot_params


def test_the_paper_caps_new_tokens_per_model() -> None:
    answer_caps = {name: decoding_for(name).answer_max_tokens
                   for name in ("Llama70", "OSS120", "Gemma", "DpskMath", "Yi15", "Qwen3-8")}
    assert answer_caps == {"Llama70": 16_384, "OSS120": 16_384, "Gemma": 8_192,
                           "DpskMath": 4_096, "Yi15": 16_384, "Qwen3-8": 16_384}
    assert {decoding_for(g).generation_max_tokens for g in ("Qwen3-32", "Exaone")} == {4_096}
    assert cot_params("DpskMath").max_tokens == 4_096
    assert cot_params("DpskMath").temperature == 0.7 and cot_params("DpskMath").logprobs


def test_every_paper_model_that_answers_or_generates_has_settings() -> None:
    for name in ("paper", "paper-small"):
        study = get_preset(name)
        used = {Expert.parse(e).model for e in study.experts} | {g.model for g in study.generators}
        assert used <= set(PAPER_DECODING)
    assert set(PAPER_DECODING) == {n for n, m in PAPER_MODELS.items() if m.role != "embedder"}


@pytest.mark.parametrize("model", ["qwen2.5-coder-0.5b", "smollm2-135m", "gemma3-270m+medical"])
def test_packaged_models_keep_the_caps_of_their_committed_cache_keys(model) -> None:
    assert decoding_for(model) == PACKAGED and request_fields(model) == {}
    assert cot_params(model) == COT_PARAMS and COT_PARAMS.max_tokens == 512
    assert generator_params(3).max_tokens == 320


def test_request_fields_switch_thinking_and_reasoning() -> None:
    assert request_fields("Qwen3-32") == {"chat_template_kwargs": {"enable_thinking": False}}
    assert request_fields("Qwen3-8") == request_fields("Qwen3-32")
    assert request_fields("OSS120") == {"reasoning_effort": "low"}
    budget = request_fields("gemini-2.5-flash")["extra_body"]["google"]["thinking_config"]
    assert budget == {"thinking_budget": -1}
    assert request_fields("Llama70") == {}
    request_fields("Qwen3-32")["chat_template_kwargs"]["enable_thinking"] = True  # a copy
    assert request_fields("Qwen3-32") == {"chat_template_kwargs": {"enable_thinking": False}}


def test_request_fields_are_sent_and_are_part_of_the_identity(tmp_path, monkeypatch) -> None:
    monkeypatch.setenv("RGD_OPENAI_BASE_URL", "http://127.0.0.1:9/v1")
    cache = LLMCache(tmp_path)
    qwen, llama = load_model("Qwen3-32", cache), load_model("Llama70", cache)
    assert qwen.identity == {"endpoint_model": "Qwen/Qwen3-32B", "backend": "openai-compatible",
                             "extra_body": {"chat_template_kwargs": {"enable_thinking": False}}}
    assert llama.identity == {"endpoint_model": "meta-llama/Llama-3.3-70B-Instruct",
                              "backend": "openai-compatible"}
    assert qwen.backend.extra_body == {"chat_template_kwargs": {"enable_thinking": False}}
    assert llama.backend.extra_body == {}
    request = LLMRequest([{"role": "user", "content": "Hi"}], params=cot_params("Qwen3-32"))
    without = load_model("Qwen3-32", cache)
    without.identity = {k: v for k, v in qwen.identity.items() if k != "extra_body"}
    assert qwen.key(request) != without.key(request)


def test_packaged_identity_is_unchanged(tmp_path) -> None:
    llm = load_model("qwen2.5-coder-0.5b", LLMCache(tmp_path))
    assert llm.identity == packaged_identity("qwen2.5-coder-0.5b")
    assert "extra_body" not in llm.identity
