"""The llama.cpp backend on the smallest real packaged model (SmolLM2-135M-Instruct)."""

from __future__ import annotations

import math

import pytest

llama_cpp = pytest.importorskip("llama_cpp", reason="needs the LLM test extra (`make test` installs it)")

from rgd_utils.llm import packaged  # noqa: E402
from rgd_utils.llm.backend import BackendError, GenerationParams  # noqa: E402
from rgd_utils.llm.cache import LLMCache  # noqa: E402
from rgd_utils.llm.llamacpp import LlamaCppBackend  # noqa: E402
from rgd_utils.llm.registry import load_model, packaged_identity  # noqa: E402
from rgd_utils.responses import Expert, answer_one, letter_request  # noqa: E402

MODEL = "smollm2-135m"


@pytest.fixture(scope="module")
def backend() -> LlamaCppBackend:
    try:
        path = packaged.assemble(MODEL)
    except packaged.ModelPackageMissingError as error:
        pytest.skip(str(error))
    return LlamaCppBackend(path, packaged_identity(MODEL), chat_template=True, n_ctx=1024, n_threads=1)


def test_letter_scores_are_a_distribution_over_real_tokens(backend) -> None:
    prompt, letters = letter_request("Which planet is known as the Red Planet?",
                                     ["Venus", "Mars", "Jupiter", "Saturn"], chat=True)
    scores = backend.score(prompt, letters)
    assert [s.n_tokens for s in scores] == [1, 1, 1, 1]
    assert all(s.logprob < 0 for s in scores)
    assert 0.05 < sum(math.exp(s.logprob) for s in scores) <= 1.0
    assert len({round(s.logprob, 6) for s in scores}) == 4  # not the all-zero-logits trap


def test_multi_token_continuation_is_the_sum_of_its_tokens(backend) -> None:
    prompt = "Question: What colour is the sky on a clear day?\nAnswer:"
    whole = backend.score(prompt, [" light blue"])[0]
    first = backend.score(prompt, [" light"])[0]
    second = backend.score(prompt + " light", [" blue"])[0]
    assert whole.n_tokens == 2
    assert whole.logprob == pytest.approx(first.logprob + second.logprob, abs=1e-3)


def test_results_do_not_depend_on_the_previous_call(backend) -> None:
    prompt = [{"role": "user", "content": "Name one prime number."}]
    params = GenerationParams(max_tokens=24, temperature=0.8, top_p=0.95, seed=5, logprobs=True)
    first = backend.generate([prompt], params)[0]
    backend.generate([[{"role": "user", "content": "Something else entirely, please."}]], params)
    backend.score("Question: 2+2?\nAnswer:", [" 4", " 5"])
    again = backend.generate([prompt], params)[0]
    assert first == again and first.n_tokens > 0
    assert len(first.token_logprobs) == first.n_tokens and first.avg_logprob < 0
    other_seed = backend.generate([prompt], GenerationParams(max_tokens=24, temperature=0.8, seed=6))[0]
    assert other_seed.text != first.text
    cold = LlamaCppBackend(backend.model_path, backend.identity, n_ctx=1024, n_threads=1)
    assert cold.score("Question: 2+2?\nAnswer:", [" 4", " 5"]) == backend.score("Question: 2+2?\nAnswer:", [" 4", " 5"])


def test_too_long_and_empty_inputs_are_clear_errors(backend) -> None:
    with pytest.raises(BackendError, match="exceeds the context"):
        backend.score("word " * 2000, [" A"])
    with pytest.raises(BackendError, match="empty continuation"):
        backend.score("Question?", [""])


def test_registry_model_answers_through_the_cache(tmp_path) -> None:
    cache = LLMCache(tmp_path)
    llm = load_model(MODEL, cache)
    assert llm.identity["gguf"] == packaged.get_model(MODEL).sha256
    choice, confidence, raw = answer_one(llm, Expert(MODEL, "cloze"), "What do bees make?", ["honey", "steel"])
    assert choice in {"A", "B"} and confidence < 0 and llm.computed == 1
    replay = load_model(MODEL, LLMCache(tmp_path, mode="replay"))
    assert answer_one(replay, Expert(MODEL, "cloze"), "What do bees make?", ["honey", "steel"]) == (choice, confidence, raw)
    assert replay._backend is None  # replay never loaded the model


def test_long_continuations_are_scored_in_chunks(backend) -> None:
    """A cloze option longer than one evaluation chunk (512 tokens) is scored, and scored as the
    sum of its parts."""
    option = " " + " ".join(f"word{i}" for i in range(250))
    prompt = "Question: List some words.\nAnswer:"
    whole = backend.score(prompt, [option, " short"])
    assert whole[0].n_tokens > 512
    half = option[: len(option) // 2]
    head = backend.score(prompt, [half])[0]
    tail = backend.score(prompt + half, [option[len(half):]])[0]
    assert whole[0].logprob == pytest.approx(head.logprob + tail.logprob, rel=1e-3)
