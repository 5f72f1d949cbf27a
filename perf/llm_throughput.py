"""Questions per second per model: our stack (CachedLLM -> LlamaCppBackend) against a bare
llama-cpp-python loop over the same prompts, measured in the same run.

Both answer the same real questions in ``letter`` mode (one prompt evaluation, then the option
letters' log-probabilities). Ours runs with the cache off, so the ratio is the cost of our
layers (prompt rendering, chunked evaluation, log-softmax, result objects), not of disk I/O.
The two are timed in alternating blocks so that a busy machine slows both alike.

    .venv/bin/python perf/llm_throughput.py --models smollm2-135m qwen2.5-coder-0.5b --n 40

Target: our throughput at least 90% of the bare loop's (overhead at most 10%).
"""

from __future__ import annotations

import argparse
import statistics
import time
from pathlib import Path

import numpy as np

from rgd_utils.benchmarks import read_questions, subsample
from rgd_utils.config import find_root
from rgd_utils.llm import packaged
from rgd_utils.llm.cache import LLMCache
from rgd_utils.llm.registry import load_model
from rgd_utils.responses import letter_request


def bare_loop(llm, prompts: list[tuple[str, list[str]]]) -> list[str]:
    """The straightforward llama-cpp-python way: tokenize, reset, eval, read the last logits."""
    answers = []
    for text, letters in prompts:
        ids = [llm.tokenize(l.encode(), add_bos=False, special=False)[0] for l in letters]
        llm.reset()
        llm.eval(llm.tokenize(text.encode(), add_bos=True, special=True))
        logits = np.ctypeslib.as_array(llm._ctx.get_logits(), shape=(llm.n_vocab(),))
        answers.append("ABCDEFGHIJ"[int(np.argmax(logits[ids]))])
    return answers


def ours(model, prompts: list[tuple[object, list[str]]]) -> list[str]:
    """Our stack: CachedLLM (cache off) -> LlamaCppBackend.score."""
    answers = []
    for prompt, letters in prompts:
        scores = [s.logprob for s in model.score(prompt, letters)]
        answers.append("ABCDEFGHIJ"[int(np.argmax(scores))])
    return answers


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--models", nargs="+", default=["smollm2-135m"])
    parser.add_argument("--n", type=int, default=40, help="questions per block")
    parser.add_argument("--blocks", type=int, default=3)
    args = parser.parse_args()
    import llama_cpp

    questions = read_questions(find_root() / "data" / "questions", benchmarks=["mmlu"])
    sample = subsample(questions[questions["split"] == "train"], args.n, seed=1)
    print(f"{'model':<22} {'bare q/s':>9} {'ours q/s':>9} {'ours/bare':>9}  answers agree")
    for name in args.models:
        model = load_model(name, LLMCache(Path("/nonexistent"), mode="off"))
        backend = model.backend
        ours_prompts = [letter_request(q, list(o), model.chat) for q, o in zip(sample["question"], sample["options"])]
        bare_prompts = [(backend.render(p), c) for p, c in ours_prompts]
        bare = llama_cpp.Llama(str(packaged.assemble(name)), n_ctx=4096, n_threads=backend.n_threads,
                               n_threads_batch=backend.n_threads, n_batch=512, logits_all=False, verbose=False)
        bare_loop(bare, bare_prompts[:2]), ours(model, ours_prompts[:2])  # warm both
        times = {"bare": [], "ours": []}
        for _ in range(args.blocks):
            start = time.perf_counter(); bare_answers = bare_loop(bare, bare_prompts); times["bare"].append(time.perf_counter() - start)
            start = time.perf_counter(); our_answers = ours(model, ours_prompts); times["ours"].append(time.perf_counter() - start)
        bare_qps = args.n / statistics.median(times["bare"])
        our_qps = args.n / statistics.median(times["ours"])
        agree = sum(a == b for a, b in zip(bare_answers, our_answers))
        print(f"{name:<22} {bare_qps:>9.2f} {our_qps:>9.2f} {our_qps / bare_qps:>9.2f}  {agree}/{args.n}")


if __name__ == "__main__":
    main()
