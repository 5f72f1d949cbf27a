"""The paper's path for real: the reader's command of ``docs/paper_on_gpus.md``, run as it is
written, at tiny scale, against real vLLM servers on loopback.

What differs from a reader's GPU run is only what the command is given: the endpoints file (a
packaged model served under every chat model's name, its answers capped at a few dozen tokens,
and the packaged MiniLM served as the embedder), the
Hugging Face cache (:mod:`hub_fixture`, the Hub's real layout), the parameters of
``notebooks/smoke.yaml`` and temporary output folders. The servers (vLLM's CPU build, ``make
vllm``) start in a fixture and always stop. The small models' answers are mostly wrong or
missing: every notebook must get through them, as it must through a real server's output.
"""

from __future__ import annotations

import json
import os
import re
import shlex
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pandas as pd
import pytest

from hub_fixture import write_hub_cache
from rgd_utils.embeddings import MiniLMEncoder, OpenAIEmbeddingsEncoder
from rgd_utils.config import PRESETS
from rgd_utils.llm.backend import BackendError, GenerationParams
from rgd_utils.llm.endpoints import Endpoint, read_endpoints_file
from rgd_utils.llm.openai_http import OpenAIBackend
from rgd_utils.llm.registry import PAPER_MODELS
from rgd_utils.llm.vllm_server import VLLMServer, packaged_server, vllm_python

ROOT = Path(__file__).resolve().parents[1]
GUIDE = ROOT / "docs" / "paper_on_gpus.md"
MARKER = "<!-- the reader's command"
PRESET = PRESETS["paper"]
POOL = [expert.split(":")[0] for expert in PRESET.experts]
#: The generators outside the pool (Qwen3-32 is both: its calls are capped as a pool model's).
OTHER_GENERATORS = [g.model for g in PRESET.generators if g.model not in POOL]
#: New tokens per call: a pool answer, and a generated question (which needs about 150).
ANSWER_CAP, GENERATION_CAP = 48, 256
EMBEDDER = PRESET.embedder
#: Start-up matters more than speed here: no compilation (it takes minutes on 2 cores).
EAGER = ["--enforce-eager"]

needs_vllm = pytest.mark.skipif(not vllm_python().exists(), reason="no vLLM environment (make vllm)")


def reader_command() -> tuple[dict[str, str], list[str]]:
    """The guide's command: its environment assignments, then the ``make`` command line."""
    text = GUIDE.read_text(encoding="utf-8").split(MARKER, 1)[1]
    words = shlex.split(re.search(r"```bash\n(.*?)```", text, re.DOTALL).group(1))
    split = words.index("make")
    return dict(w.split("=", 1) for w in words[:split]), words[split:]


def test_the_guide_names_one_command_with_an_endpoints_file() -> None:
    env, make = reader_command()
    assert set(env) == {"RGD_ENDPOINTS"}
    assert make[:2] == ["make", "all"] and "PRESET=paper" in make and "LLM_CACHE=readwrite" in make
    assert " ".join(["RGD_ENDPOINTS=endpoints.toml", *make]) in (ROOT / "README.md").read_text(encoding="utf-8")


def test_the_example_endpoints_file_lists_every_model_of_both_pools() -> None:
    example = read_endpoints_file(ROOT / "docs" / "endpoints.example.toml")
    assert set(example) == set(PAPER_MODELS)
    assert all(e.in_flight > 1 for endpoints in example.values() for e in endpoints)


def _id(name: str) -> str:
    return PAPER_MODELS[name].model_id


@pytest.fixture(scope="module")
def servers(tmp_path_factory):
    """The chat models' server (SmolLM2-135M under every name) and the embedder's (the packaged
    all-MiniLM-L6-v2 as a pooling model), started side by side."""
    from rgd_utils.embeddings.minilm import packaged_model_dir

    logs = tmp_path_factory.mktemp("vllm")
    wanted = {
        "chat": packaged_server("smollm2-135m", [_id(m) for m in POOL + OTHER_GENERATORS],
                                log=logs / "chat.log", extra_args=EAGER),
        "embedder": VLLMServer(packaged_model_dir(), [_id(EMBEDDER)], kv_cache_gib=1,
                               max_model_len=256, extra_args=["--runner", "pooling", *EAGER],
                               log=logs / "embedder.log"),
    }
    try:
        with ThreadPoolExecutor(len(wanted)) as pool:
            for started in [pool.submit(server.start) for server in wanted.values()]:
                started.result()
        yield wanted
    finally:
        for server in wanted.values():
            server.stop()


def _endpoints_file(path: Path, servers: dict[str, VLLMServer]) -> Path:
    urls = {role: server.url for role, server in servers.items()}
    rows = [(name, urls["chat"], ANSWER_CAP) for name in POOL]
    rows += [(name, urls["chat"], GENERATION_CAP) for name in OTHER_GENERATORS]
    text = "".join(f'[models."{name}"]\nendpoints = [{{ url = "{url}", in_flight = 8, max_tokens = {cap} }}]\n\n'
                   for name, url, cap in rows)
    text += f'[models."{EMBEDDER}"]\nendpoints = [{{ url = "{urls["embedder"]}", in_flight = 2 }}]\n'
    path.write_text(text, encoding="utf-8")
    return path


def _cache_lines(shard: Path) -> list[dict]:
    return [json.loads(line) for line in shard.read_text(encoding="utf-8").splitlines()]


@pytest.mark.slow
@needs_vllm
def test_the_readers_command_runs_the_paper_preset_on_real_vllm(servers, tmp_path) -> None:
    env, make = reader_command()
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("RGD_ENDPOINT", "MAKE")) and k not in ("MFLAGS", "RGD_OPENAI_BASE_URL")}
    env |= write_hub_cache(tmp_path / "upstream")
    env["RGD_ENDPOINTS"] = str(_endpoints_file(tmp_path / "endpoints.toml", servers))
    make += [f"OUT={tmp_path / 'runs'}", f"DATA_DIR={tmp_path / 'data'}",
             f"FIGURES_DIR={tmp_path / 'figures'}", f"RESULTS_DIR={tmp_path / 'results'}",
             f"NB_PARAMS=-f notebooks/smoke.yaml -p cache_dir {tmp_path / 'cache'}",
             # The test runs inside the study's environment: make must not build one.
             f"PY={sys.executable}", "STAMP="]
    started = time.monotonic()
    done = subprocess.run(["nice", "-n", "10", *make], cwd=ROOT, env=env, capture_output=True,
                          text=True, timeout=3600)
    print(f"make all PRESET=paper on vLLM: {time.monotonic() - started:.0f} s")
    gone = "\n".join(filter(None, (server.exit_report() for server in servers.values())))
    assert done.returncode == 0, f"{done.stdout[-3000:]}\n{done.stderr[-5000:]}\n{gone}"
    assert "8 of 8 notebooks ran" in done.stdout

    responses = pd.concat(pd.read_parquet(p) for p in (tmp_path / "data" / "responses_paper").glob("*.parquet"))
    assert set(responses["model"]) == set(PRESET.experts)
    assert "real" in set(responses["source"])  # generated items too when the tiny generators' parse
    assert responses["raw"].str.len().gt(0).all()
    cache = tmp_path / "cache"
    for name in POOL + OTHER_GENERATORS:
        generations = [line["value"] for line in _cache_lines(cache / name / "generate.jsonl")]
        cap = GENERATION_CAP if name in OTHER_GENERATORS else ANSWER_CAP
        assert generations and max(g["n_tokens"] for g in generations) <= cap, name
    vectors = [line["value"] for line in _cache_lines(cache / EMBEDDER / "embed.jsonl")]
    assert vectors and {tuple(v["shape"]) for v in vectors} == {(384,)}  # MiniLM's, served by vLLM
    with pytest.raises(BackendError, match="cannot be greater than max_model_len.*cap the endpoint"):
        OpenAIBackend([Endpoint(servers["chat"].url)], _id("Llama70")).generate(  # no cap: the paper's budget
            [[{"role": "user", "content": "Which?"}]], GenerationParams(max_tokens=16_384))
    texts = ["What is frozen water called?", "Which planet is known as the Red Planet?"]
    served = OpenAIEmbeddingsEncoder(servers["embedder"].url, _id(EMBEDDER)).encode(texts)
    assert (served * MiniLMEncoder().encode(texts)).sum(axis=1).min() > 0.999  # the study's MiniLM (bf16)
    results = pd.read_parquet(tmp_path / "results" / "05_router_baselines_paper.parquet")
    assert set(results["benchmark"]) == set(PRESET.study_benchmarks)
    assert results["accuracy"].between(0, 1).all()
