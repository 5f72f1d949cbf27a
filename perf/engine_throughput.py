"""The two engines on the same prompts: llama.cpp in process (one call at a time) against vLLM on
loopback (requests in flight), through the study's own path (``CachedLLM.run``, cache off).

Modes: ``letter`` (real MMLU test questions, the option letters' log-probabilities),
``cloze`` (each option's text scored after the question) and ``generation`` (the strong
generator's question-writing prompts, 120 new tokens at temperature 0.8). Items per second are
questions for the scoring modes and completions for generation. The vLLM server is started here
(or ``--endpoint`` names one already serving the model) and stopped at the end.

    .venv/bin/python perf/engine_throughput.py --model qwen2.5-coder-1.5b

Writes ``perf/results/engine_throughput.csv`` (engine, mode, model, in_flight,
items_per_s) and prints vLLM's best rate over llama.cpp's per mode, and how often the two
engines choose the same letter.
"""

from __future__ import annotations

import argparse
import sys
import time
from dataclasses import replace
from pathlib import Path

import pandas as pd

from rgd_utils.benchmarks import read_questions
from rgd_utils.config import find_root
from rgd_utils.config import get_preset
from rgd_utils.generation.run import generation_request
from rgd_utils.generation.schedule import ScheduledCall
from rgd_utils.llm.backend import LLMRequest
from rgd_utils.llm.cache import LLMCache
from rgd_utils.llm.cached import CachedLLM
from rgd_utils.llm.endpoints import Endpoint
from rgd_utils.llm.registry import VLLM_PLAIN_SAMPLING, load_model, packaged_identity
from rgd_utils.llm.openai_http import OpenAIBackend
from rgd_utils.llm.vllm_server import packaged_server
from rgd_utils.pool import select_questions
from rgd_utils.responses import Expert, answer_request, read_answer

RESULTS = Path(__file__).resolve().parent / "results" / "engine_throughput.csv"
COLUMNS = ["engine", "mode", "model", "in_flight", "items_per_s"]
#: The default study's strong generator (temperature 0.8), whose calls the generation mode times.
STRONG = get_preset("cpu").generators[0]
GENERATION_TOKENS = 120


def requests_of(model: str, n: int, chat: bool) -> dict[str, list]:
    """The benchmark's requests per mode (the same for both engines)."""
    questions = select_questions(read_questions(find_root() / "data" / "questions", sources=["real"]),
                                 ["mmlu"], "test", n, 0)
    scoring = {mode: [answer_request(Expert(model, mode), q, list(o), chat)
                      for q, o in zip(questions["question"], questions["options"])]
               for mode in ("letter", "cloze")}
    subjects = sorted(questions["subject"].unique())
    calls = [ScheduledCall("mmlu", subjects[i % len(subjects)], i) for i in range(n // 3)]
    return {**scoring, "generation": [capped(generation_request(STRONG, call)) for call in calls]}


def capped(request: LLMRequest) -> LLMRequest:
    """A question-writing call capped at :data:`GENERATION_TOKENS` new tokens."""
    return replace(request, params=replace(request.params, max_tokens=GENERATION_TOKENS))


def rate(llm: CachedLLM, requests: list) -> tuple[float, list]:
    """Items per second of one pass over the requests, and their outcomes."""
    start = time.perf_counter()
    outcomes = llm.run(requests)
    return len(requests) / (time.perf_counter() - start), outcomes


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--model", default="qwen2.5-coder-1.5b")
    parser.add_argument("--n", type=int, default=48, help="questions per scoring mode")
    parser.add_argument("--in-flight", type=int, nargs="+", default=[1, 8, 16])
    parser.add_argument("--endpoint", default=None, help="a vLLM server already serving the model")
    parser.add_argument("--out", type=Path, default=RESULTS)
    args = parser.parse_args()
    off = LLMCache(Path("."), mode="off")
    local = load_model(args.model, off, engine="llama.cpp")
    work = requests_of(args.model, args.n, local.chat)
    rows, letters = [], {}
    for mode, requests in work.items():
        value, outcomes = rate(local, requests)
        rows.append({"engine": "llama.cpp", "mode": mode, "model": args.model, "in_flight": 1,
                     "items_per_s": round(value, 3)})
        if mode == "letter":
            letters["llama.cpp"] = [read_answer(Expert(args.model, mode), r, o, 4)[0]
                                    for r, o in zip(requests, outcomes)]
        print(rows[-1], flush=True)
    local.close()
    server = None if args.endpoint else packaged_server(args.model).start()
    url = args.endpoint or server.url
    try:
        for in_flight in args.in_flight:
            backend = OpenAIBackend([Endpoint(url, in_flight)], args.model,
                                    identity=packaged_identity(args.model, "vllm"),
                                    extra_body=VLLM_PLAIN_SAMPLING)
            served = CachedLLM(args.model, backend.identity, lambda: backend, off, chat=local.chat)
            for mode, requests in work.items():
                value, outcomes = rate(served, requests)
                rows.append({"engine": "vllm", "mode": mode, "model": args.model,
                             "in_flight": in_flight, "items_per_s": round(value, 3)})
                if mode == "letter":
                    letters["vllm"] = [read_answer(Expert(args.model, mode), r, o, 4)[0]
                                       for r, o in zip(requests, outcomes)]
                print(rows[-1], flush=True)
    finally:
        if server is not None:
            server.stop()
    args.out.parent.mkdir(parents=True, exist_ok=True)
    pd.DataFrame(rows, columns=COLUMNS).to_csv(args.out, index=False)
    for mode in work:
        base = next(r["items_per_s"] for r in rows if r["engine"] == "llama.cpp" and r["mode"] == mode)
        best = max(r["items_per_s"] for r in rows if r["engine"] == "vllm" and r["mode"] == mode)
        print(f"{mode}: vLLM's best {best:.2f} items/s = {best / base:.1f}x llama.cpp's {base:.2f}")
    same = sum(a == b for a, b in zip(letters["llama.cpp"], letters["vllm"]))
    print(f"letter answers: the engines agree on {same} of {len(letters['vllm'])} questions")
    print(f"wrote {args.out}")


if __name__ == "__main__":
    sys.exit(main())
