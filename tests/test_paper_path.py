"""The paper's setting end to end at tiny scale: the Hub cache fixture, then every notebook of the
``paper`` preset against a loopback OpenAI-compatible stub (no real LLM: it checks the plumbing,
the requests' decoding fields and that every stage runs, not any model's answers)."""

from __future__ import annotations

import hashlib
import random
import re
from pathlib import Path

import pandas as pd
import papermill
import pytest
import yaml

from hub_fixture import write_hub_cache
from test_openai_backend import FakeServer

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb"))
SMOKE = yaml.safe_load((ROOT / "notebooks" / "smoke.yaml").read_text(encoding="utf-8"))


def _seeded(*parts: object) -> random.Random:
    return random.Random(hashlib.sha256("|".join(map(str, parts)).encode()).hexdigest())


def stub_reply(request: dict) -> tuple[int, dict]:
    """Embeddings: seeded vectors. Chat: a tagged question for a generation call (it has a system
    message), else a short chain of thought ending in a seeded letter among the options."""
    body = request["body"]
    if request["path"].endswith("/embeddings"):
        return 200, {"data": [{"index": i, "embedding": [_seeded(t).gauss(0, 1) for _ in range(16)]}
                              for i, t in enumerate(body["input"])]}
    messages = body["messages"]
    rng = _seeded(body["model"], messages[-1]["content"], body.get("seed"))
    if messages[0]["role"] == "system":
        a, b = rng.randint(1, 90), rng.randint(1, 90)
        text = (f"[QUESTION] What is {a} plus {b}?\n[OPTION A] {a + b}\n[OPTION B] {a + b + 1}\n"
                f"[OPTION C] {a + b + 2}\n[OPTION D] {a + b - 1}\n[ANSWER] A")
    else:
        n = len(re.findall(r"^\([A-J]\) ", messages[-1]["content"], re.MULTILINE))
        text = f"Step by step. The answer is ({'ABCDEFGHIJ'[rng.randrange(n)]})."
    tokens = [{"token": t, "logprob": -rng.random(), "top_logprobs": []} for t in text.split()]
    return 200, {"choices": [{"index": 0, "message": {"role": "assistant", "content": text},
                              "finish_reason": "stop", "logprobs": {"content": tokens}}],
                 "usage": {"prompt_tokens": 50, "completion_tokens": len(tokens)}}


@pytest.mark.slow
def test_the_paper_preset_runs_end_to_end_on_the_hub_fixture(tmp_path, monkeypatch) -> None:
    for name, value in write_hub_cache(tmp_path / "upstream").items():
        monkeypatch.setenv(name, value)
    server = FakeServer(stub_reply)
    monkeypatch.setenv("RGD_OPENAI_BASE_URL", server.url)
    monkeypatch.setenv("RGD_LLM_CACHE", "readwrite")
    try:
        for notebook in NOTEBOOKS:
            declared = notebook.read_text(encoding="utf-8")
            papermill.execute_notebook(
                str(notebook), str(tmp_path / notebook.name), kernel_name="python3", cwd=str(ROOT),
                progress_bar=False,
                parameters={**{k: v for k, v in SMOKE.items() if f"{k} = " in declared},
                            "preset": "paper", "data_dir": str(tmp_path / "data"),
                            "figures_dir": str(tmp_path / "figures"),
                            **{k: str(tmp_path / k) for k in ("results_dir", "cache_dir")
                               if f"{k} = " in declared}},
            )
    finally:
        server.close()
    sent = pd.DataFrame([r["body"] for r in server.requests if r["path"].endswith("/chat/completions")])
    qwen = sent[sent["model"] == "Qwen/Qwen3-32B"]
    assert set(qwen["max_tokens"]) == {16_384, 4_096}  # answers and generated questions
    assert all(k == {"enable_thinking": False} for k in qwen["chat_template_kwargs"])
    assert set(sent.loc[sent["model"] == "openai/gpt-oss-120b", "reasoning_effort"]) == {"low"}
    gemini = sent[sent["model"] == "gemini-2.5-flash"]
    assert len(gemini) and all(b["google"]["thinking_config"] == {"thinking_budget": -1}
                               for b in gemini["extra_body"])
    responses = pd.concat(pd.read_parquet(p) for p in (tmp_path / "data" / "responses_paper").glob("*.parquet"))
    assert set(responses["model"]) == {f"{m}:cot" for m in (
        "Llama70", "Qwen3-32", "GLM4-32", "Gemma3-27", "Exaone4-32", "OSS120")}
    assert responses["choice"].notna().all()
    assert set(responses["source"]) == {"real", "gemini-2.5-flash", "Qwen3-32", "Exaone"}
    results = pd.read_parquet(tmp_path / "results_dir" / "05_router_baselines_paper.parquet")
    assert set(results["benchmark"]) == {"mmlu_pro", "supergpqa", "medmcqa_hub", "bbeh"}
    assert set(results["pool"]) == {"paper-large"}
