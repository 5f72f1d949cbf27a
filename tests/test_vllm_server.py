"""rgd_utils.llm.vllm_server: start, wait, stop; clear errors; and, marked slow, the real vLLM
CPU build serving a packaged model that answers like llama.cpp does.

The fast tests replace the vLLM environment's Python by a small script that serves
``GET /v1/models`` for the names it is given (or dies at once), so the manager's own logic is
tested without vLLM. The slow test needs ``make vllm`` (CI runs it)."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from rgd_utils.llm.backend import BackendError
from rgd_utils.llm.vllm_server import VLLMServer, endpoints_or_local_server, vllm_python

STUB = textwrap.dedent('''
    import json, sys
    from http.server import BaseHTTPRequestHandler, HTTPServer
    args = sys.argv[1:]
    port = int(args[args.index("--port") + 1])
    names = args[args.index("--served-model-name") + 1:args.index("--host")]
    if "die" in names:
        print("loading failed: no such model", flush=True)
        sys.exit(3)

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self):
            body = json.dumps({"data": [{"id": n} for n in names]}).encode()
            self.send_response(200)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *a):
            pass

    HTTPServer(("127.0.0.1", port), Handler).serve_forever()
''')


@pytest.fixture
def fake_python(tmp_path: Path) -> Path:
    """An executable that takes vLLM's command line and runs the stub instead."""
    (tmp_path / "stub.py").write_text(STUB)
    script = tmp_path / "python"
    script.write_text(f"#!/bin/sh\nshift 2\nexec {sys.executable} {tmp_path / 'stub.py'} \"$@\"\n")
    script.chmod(script.stat().st_mode | stat.S_IXUSR)
    return script


def test_the_server_starts_answers_and_its_process_group_stops(fake_python, tmp_path) -> None:
    server = VLLMServer(tmp_path, ["m", "alias"], python=fake_python, log=tmp_path / "log")
    with server:
        assert set(server.served()) == {"m", "alias"}
        pid = server.process.pid
    assert server.process.poll() is not None
    with pytest.raises(ProcessLookupError):
        os.killpg(pid, 0)


def test_a_server_that_dies_while_starting_says_so_with_its_log(fake_python, tmp_path) -> None:
    started = time.monotonic()
    with pytest.raises(BackendError, match="(?s)exited with code 3.*no such model"):
        VLLMServer(tmp_path, ["die"], python=fake_python, log=tmp_path / "log").start()
    assert time.monotonic() - started < 30


def test_a_configured_endpoint_is_used_else_a_local_server_is_started(fake_python, tmp_path,
                                                                      monkeypatch) -> None:
    for name in ("RGD_ENDPOINTS", "RGD_OPENAI_BASE_URL", "RGD_ENDPOINT_M"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("RGD_ENDPOINT_M", "http://10.0.0.1:8000/v1")
    never = lambda: pytest.fail("a server was started although an endpoint is configured")  # noqa: E731
    endpoints, server = endpoints_or_local_server("m", never)
    assert [e.base_url for e in endpoints] == ["http://10.0.0.1:8000/v1"] and server is None

    monkeypatch.delenv("RGD_ENDPOINT_M")
    endpoints, server = endpoints_or_local_server(
        "m", lambda: VLLMServer(tmp_path, ["m"], python=fake_python, log=tmp_path / "log"))
    try:
        assert [e.base_url for e in endpoints] == [server.url] and server.served() == ["m"]
    finally:
        server.stop()


def test_the_server_preloads_tcmalloc_where_the_system_has_it(monkeypatch) -> None:
    import ctypes.util

    from rgd_utils.llm.vllm_server import server_environment

    found = {"tcmalloc_minimal": "libtcmalloc_minimal.so.4"}
    monkeypatch.setattr(ctypes.util, "find_library", found.get)
    env = server_environment(2, {"LD_PRELOAD": "libfoo.so", "PATH": "/bin"})
    assert env["LD_PRELOAD"] == "libtcmalloc_minimal.so.4:libfoo.so" and env["PATH"] == "/bin"
    assert env["VLLM_CPU_KVCACHE_SPACE"] == "2" and env["HF_HUB_OFFLINE"] == "1"
    assert server_environment(2, {"LD_PRELOAD": "/opt/libtcmalloc.so"})["LD_PRELOAD"] == "/opt/libtcmalloc.so"
    found.clear()  # none on the system: glibc's allocator, nothing preloaded
    assert "LD_PRELOAD" not in server_environment(2, {})


def test_a_missing_vllm_environment_says_what_to_run(tmp_path) -> None:
    with pytest.raises(BackendError, match="make vllm"):
        VLLMServer(tmp_path, ["m"], python=tmp_path / "nowhere" / "python").start()


def test_the_command_line_serves_every_name_on_loopback_with_the_adapters(tmp_path) -> None:
    server = VLLMServer(tmp_path, ["base", "alias"], port=8123, python=Path("py"),
                        lora_modules={"base+x": tmp_path / "x"})
    command = server.command()
    assert command[:3] == ["py", "-m", "vllm.entrypoints.openai.api_server"]
    assert command[command.index("--served-model-name") + 1:command.index("--host")] == ["base", "alias"]
    assert command[command.index("--host") + 1] == "127.0.0.1" and "--enable-lora" in command
    assert f"base+x={tmp_path / 'x'}" in command and server.url == "http://127.0.0.1:8123/v1"
    assert command[command.index("--max-model-len") + 1] == "2048"
    assert "--no-enable-chunked-prefill" in command and command[command.index("--max-num-batched-tokens") + 1] == "2048"
    longer = VLLMServer(tmp_path, ["m"], python=Path("py"), max_model_len=8192).command()
    assert longer[longer.index("--max-num-batched-tokens") + 1] == "8192"  # a whole prompt fits a step
    pooling = VLLMServer(tmp_path, ["embedder"], python=Path("py"), max_model_len=256,
                         extra_args=["--runner", "pooling"]).command()
    assert pooling[-2:] == ["--runner", "pooling"] and pooling[pooling.index("--max-model-len") + 1] == "256"


# -- the real engine ---------------------------------------------------------------------------
QUESTIONS = [
    ("What is the capital of France?", ["Berlin", "Paris", "Madrid", "Rome"]),
    ("How many legs does a spider have?", ["Six", "Four", "Eight", "Ten"]),
    ("Which planet is known as the Red Planet?", ["Venus", "Mars", "Jupiter", "Saturn"]),
    ("What do bees make?", ["Milk", "Silk", "Honey", "Wax paper"]),
    ("Which gas do plants take in for photosynthesis?", ["Oxygen", "Carbon dioxide", "Helium", "Neon"]),
    ("What is frozen water called?", ["Steam", "Ice", "Sand", "Glass"]),
]


def question_table():
    """:data:`QUESTIONS` as the study's question table, with their right answers."""
    import pandas as pd

    return pd.DataFrame({"qid": [f"q{i}" for i in range(len(QUESTIONS))], "source": "real",
                         "question": [q for q, _ in QUESTIONS], "options": [o for _, o in QUESTIONS],
                         "answer": ["B", "C", "B", "C", "B", "B"]})


@pytest.mark.slow
@pytest.mark.skipif(not vllm_python().exists(), reason="no vLLM environment (make vllm)")
def test_vllm_serves_a_packaged_model_that_answers_like_llama_cpp(tmp_path, monkeypatch) -> None:
    from rgd_utils.llm.backend import GenerationParams
    from rgd_utils.llm.cache import LLMCache
    from rgd_utils.llm.registry import load_model
    from rgd_utils.responses import Expert, answer_questions

    for name in ("RGD_ENDPOINTS", "RGD_OPENAI_BASE_URL", "RGD_ENDPOINT_SMOLLM2_135M"):
        monkeypatch.delenv(name, raising=False)
    questions = question_table()
    served = load_model("smollm2-135m", LLMCache(tmp_path / "cache", "readwrite"), engine="vllm")
    local = load_model("smollm2-135m", LLMCache(tmp_path / "local", "readwrite"), engine="llama.cpp")
    try:
        for mode in ("letter", "cloze"):
            ours = answer_questions(served, Expert("smollm2-135m", mode), questions, progress=False)
            theirs = answer_questions(local, Expert("smollm2-135m", mode), questions, progress=False)
            assert ours["choice"].notna().all()
            assert (ours["choice"] == theirs["choice"]).sum() >= 5  # bf16 against Q4_1: near, not equal
        [text] = served.generate([[{"role": "user", "content": "Say hello."}]],
                                 GenerationParams(max_tokens=8, temperature=0.0))
        assert text.text.strip() and text.finish_reason in ("stop", "length")
        server = served.backend.server
        assert server is not None and server.process.poll() is None
    finally:
        served.close()
    assert server.process.poll() is not None  # closing the model stopped the server it started
    stats = subprocess.run([sys.executable, "-m", "rgd_utils.llm.cache", "stats", "--root",
                            str(tmp_path / "cache")], capture_output=True, text=True)
    assert "smollm2-135m" in stats.stdout


@pytest.mark.slow
@pytest.mark.skipif(not vllm_python().exists(), reason="no vLLM environment (make vllm)")
def test_seeded_sampling_beside_long_prompts_leaves_the_cpu_server_up() -> None:
    """Six seeded generations of 900-word prompts at once: their prefills (about 5,400 tokens)
    exceed a step's 2,048, which with chunked prefill killed vLLM 0.32's CPU engine."""
    from rgd_utils.llm.backend import GenerationParams
    from rgd_utils.llm.endpoints import Endpoint
    from rgd_utils.llm.openai_http import OpenAIBackend
    from rgd_utils.llm.vllm_server import packaged_server

    server = packaged_server("smollm2-135m", extra_args=["--enforce-eager"]).start()
    try:
        llm = OpenAIBackend([Endpoint(server.url, in_flight=6)], "smollm2-135m", max_retries=0, server=server)
        prompts = [f"Story {i}: " + " ".join(["word"] * 900) for i in range(6)]
        replies = llm.generate(prompts, GenerationParams(max_tokens=4, temperature=0.8, seed=1))
        assert len(replies) == 6 and all(r.finish_reason in ("stop", "length") for r in replies)
        assert server.exit_report() is None
    finally:
        server.stop()


@pytest.mark.slow
@pytest.mark.skipif(not vllm_python().exists(), reason="no vLLM environment (make vllm)")
def test_vllm_serves_a_specialist_merged_that_answers_like_its_adapter_on_llama_cpp(tmp_path, monkeypatch) -> None:
    """The committed medical adapter, merged into Gemma-3-270M on vLLM, against the same adapter
    applied by llama.cpp, in cloze mode: near, not equal (bfloat16 against quantised)."""
    from rgd_utils.config import get_paths
    from rgd_utils.llm.cache import LLMCache
    from rgd_utils.llm.registry import load_model
    from rgd_utils.responses import Expert, answer_questions

    for name in ("RGD_ENDPOINTS", "RGD_OPENAI_BASE_URL"):
        monkeypatch.delenv(name, raising=False)
    questions = question_table()
    data = get_paths().data
    expert = Expert("gemma3-270m+medical", "cloze")
    served = load_model(expert.model, LLMCache(tmp_path / "cache", "readwrite"), data, engine="vllm")
    local = load_model(expert.model, LLMCache(tmp_path / "local", "readwrite"), data, engine="llama.cpp")
    try:
        ours = answer_questions(served, expert, questions, progress=False)
        theirs = answer_questions(local, expert, questions, progress=False)
        assert "merged" in str(served.backend.server.model_dir)
    finally:
        served.close()
    assert ours["choice"].notna().all()
    assert (ours["choice"] == theirs["choice"]).sum() >= 4  # chance: 1.5 of 6
    assert served.identity["lora_merged"] == "bfloat16"


@pytest.mark.slow
@pytest.mark.skipif(not vllm_python().exists(), reason="no vLLM environment (make vllm)")
def test_vllm_serves_minilm_with_the_numpy_encoders_vectors_long_texts_cut_alike(monkeypatch) -> None:
    from rgd_utils.embeddings import MiniLMEncoder, VLLMMiniLMEncoder

    for name in ("RGD_ENDPOINTS", "RGD_OPENAI_BASE_URL", "RGD_ENDPOINT_ALL_MINILM_L6_V2"):
        monkeypatch.delenv(name, raising=False)
    texts = [q for q, _ in QUESTIONS] + [" ".join(f"word{i}" for i in range(600))]  # far past 256 tokens
    served = VLLMMiniLMEncoder(batch_size=4)
    try:
        cosine = (served.encode(texts) * MiniLMEncoder().encode(texts)).sum(axis=1)
    finally:
        served.server.stop()
    assert cosine.min() > 0.999  # bfloat16 on vLLM against float32 numpy; cut at the same token
    assert served.server.process.poll() is not None
