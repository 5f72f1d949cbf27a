"""The committed specialists: trained apart from the study, served by llama.cpp as trained.

* Their training questions are disjoint from every study question, by id and by text (the
  study's real samples, with the ``cpu`` preset's split, and every generated item in the
  committed cache).
* They load through the registry and answer from the committed cache in replay mode.
* (slow) llama.cpp with the GGUF adapter scores as torch does with the same update merged into
  the same dequantised weights, and differently from the base model.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from rgd_utils.benchmarks import read_questions
from rgd_utils.config import get_paths, get_preset
from rgd_utils.llm.cache import LLMCache
from rgd_utils.llm.registry import load_model
from rgd_utils.llm_runs import real_questions
from rgd_utils.pool import select_questions
from rgd_utils.responses import Expert, answer_one, cloze_request
from rgd_utils.specialists import SPECIALISTS
from rgd_utils.specialists.build import study_questions_of
from rgd_utils.specialists.data import candidate_questions
from rgd_utils.specialists.guard import trained_on
from rgd_utils.specialists.store import ADAPTER, read_train_qids, specialist_dir, verified_adapter

PATHS = get_paths()
COMMITTED = [name for name in SPECIALISTS if (specialist_dir(name, PATHS.data) / ADAPTER).exists()]
pytestmark = pytest.mark.skipif(not COMMITTED, reason="no specialist adapter is committed yet")


@pytest.fixture(scope="module")
def questions():
    return read_questions(PATHS.questions, sources=["real"])


@pytest.fixture(scope="module")
def study():
    return study_questions_of(get_preset("cpu"), PATHS.data / "cache", PATHS.questions)


@pytest.mark.parametrize("name", COMMITTED)
def test_training_questions_are_disjoint_from_the_study(name: str, study) -> None:
    ids = read_train_qids(name, PATHS.data)
    assert len(ids) == len(set(ids)) > 0
    # every id is a real question of its sources
    assert set(ids) <= set(candidate_questions(SPECIALISTS[name].sources)["qid"])
    # The build's own screening redone on today's study: no training question is a study
    # question or a near-duplicate of one (the guard of `llm_runs answer`).
    assert trained_on(name, study, PATHS.data).empty


@pytest.mark.parametrize("name", COMMITTED)
def test_adapter_answers_from_the_cache_in_replay_mode(name: str) -> None:
    """On the study's engine, from the entries of the study's own test questions."""
    verified_adapter(name, PATHS.data)  # the committed file is the recorded one
    preset = get_preset("cpu-specialists")
    llm = load_model(name, LLMCache(PATHS.data / "cache", mode="replay"), engine=preset.engine)
    test = select_questions(real_questions(preset, PATHS.questions), list(preset.study_benchmarks),
                            "test", 5, 0)
    answers = [answer_one(llm, Expert(name, "cloze"), q, list(o))
               for q, o in zip(test["question"], test["options"])]
    assert len(answers) == 20 and all(choice in "ABCDE" for choice, _, _ in answers)
    assert llm.computed == 0 and llm.hits == 20 and llm._backend is None  # nothing loaded


def _torch_scores(name: str, items: list[tuple[list[int], list[list[int]]]]
                  ) -> tuple[list[float], list[float]]:
    """Sum log-probs of each continuation of each (prompt tokens, continuations' tokens) item
    in torch, by the base model, then with the GGUF adapter merged into its weights."""
    gguf = pytest.importorskip("gguf")
    torch = pytest.importorskip("torch")
    from rgd_utils.llm import packaged
    from rgd_utils.specialists.gguf_lora import PROJECTIONS
    from rgd_utils.specialists.train import load_base

    model, _ = load_base(packaged.assemble(SPECIALISTS[name].base), threads=2)

    def scores() -> list[float]:
        out = []
        for prompt_tokens, pieces in items:
            for piece in pieces:
                ids = torch.tensor([prompt_tokens + piece])
                logp = torch.log_softmax(model(input_ids=ids).logits[0].double(), dim=-1)
                start = len(prompt_tokens)
                out.append(float(sum(logp[start - 1 + j, t] for j, t in enumerate(piece))))
        return out

    with torch.no_grad():
        before = scores()
    reader = gguf.GGUFReader(specialist_dir(name, PATHS.data) / ADAPTER)
    field = reader.fields["adapter.lora.alpha"]
    alpha = float(field.parts[field.data[0]][0])
    tensors = {t.name: np.asarray(t.data, dtype=np.float32).reshape(tuple(reversed(t.shape)))
               for t in reader.tensors}
    by_gguf = {v: k for k, v in PROJECTIONS.items()}
    with torch.no_grad():
        for key, a in tensors.items():
            if not key.endswith(".lora_a"):
                continue
            _, block, projection = key.split(".")[:3]
            b = tensors[key[:-1] + "b"]
            module = model.get_submodule(f"model.layers.{block}.{by_gguf[projection]}")
            module.weight += torch.from_numpy(alpha / a.shape[0] * (b @ a))
        return before, scores()


@pytest.mark.slow
@pytest.mark.parametrize("name", COMMITTED)
def test_llama_cpp_serves_the_adapter_as_torch_computes_it(name: str, questions) -> None:
    pytest.importorskip("llama_cpp")
    from rgd_utils.llm import packaged
    from rgd_utils.llm.llamacpp import LlamaCppBackend
    from rgd_utils.llm.registry import packaged_identity

    base_path = packaged.assemble(SPECIALISTS[name].base)
    adapted = LlamaCppBackend(base_path, {}, chat_template=False, n_ctx=512,
                              lora_path=verified_adapter(name, PATHS.data)[0])
    base = LlamaCppBackend(base_path, packaged_identity(SPECIALISTS[name].base), chat_template=False,
                           n_ctx=512)
    rows = select_questions(questions, [SPECIALISTS[name].target], "train", 4, 0)
    llm = adapted.llm
    items, served, plain = [], [], []
    for question, options in zip(rows["question"], rows["options"]):
        prompt, continuations = cloze_request(question, list(options))
        items.append((adapted._tokens(llm, prompt),
                      [llm.tokenize(c.encode(), add_bos=False, special=False) for c in continuations]))
        served += [s.logprob for s in adapted.score(prompt, continuations)]
        plain += [s.logprob for s in base.score(prompt, continuations)]
    torch_base, torch_adapted = map(np.array, _torch_scores(name, items))
    # llama.cpp quantises activations and torch does not, so both backends' scores differ by a
    # few tenths of a nat with or without the adapter; the adapter's effect on each of the ~16
    # continuations must be the same: strongly correlated, with a slope near 1 (a wrong scale,
    # a transposed or misplaced tensor fails one of them)
    served_change, computed_change = np.array(served) - np.array(plain), torch_adapted - torch_base
    assert np.abs(computed_change).max() > 0.1, computed_change  # the adapter does something
    correlation = np.corrcoef(served_change, computed_change)[0, 1]
    slope = served_change @ computed_change / (computed_change @ computed_change)
    assert correlation > 0.8 and 0.7 < slope < 1.3, (served_change, computed_change)
    assert np.isfinite(served).all()


@pytest.mark.slow
def test_training_is_bit_for_bit_repeatable(tmp_path: Path, questions) -> None:
    """Two short trainings with the same recipe write the same adapter bytes (same CPU, same
    thread count: what `make specialists SPECIALISTS_ARGS=--check` relies on)."""
    pytest.importorskip("peft")
    from rgd_utils.llm import packaged
    from rgd_utils.specialists import Recipe
    from rgd_utils.specialists.gguf_lora import write_gguf_lora
    from rgd_utils.specialists.store import sha256_of
    from rgd_utils.specialists.train import train_adapter

    base = packaged.assemble("smollm2-135m")
    table = select_questions(questions, ["openbookqa"], "train", 16, 0)
    recipe = Recipe(batch_size=8, warmup_steps=1)
    digests = []
    for run in ("a", "b"):
        summary = train_adapter(base, table, recipe, tmp_path / run, log=lambda line: None)
        assert summary["steps"] == 2 and summary["examples"] == 16
        digests.append(sha256_of(write_gguf_lora(tmp_path / run, base, tmp_path / f"{run}.gguf")))
    assert digests[0] == digests[1]
    other = train_adapter(base, table, Recipe(batch_size=8, warmup_steps=1, seed=1), tmp_path / "c",
                          log=lambda line: None)
    assert other["first_loss"] > 0
    assert sha256_of(write_gguf_lora(tmp_path / "c", base, tmp_path / "c.gguf")) != digests[0]
