"""A vLLM CPU server with glibc's allocator (the baseline) and with tcmalloc preloaded (what
:func:`rgd_utils.llm.vllm_server.server_environment` does where the system has it).

Both serve the same packaged model, one after the other in this process, each answering the
same real questions in cloze mode on a fresh cache (nothing is replayed) after a few warm-up
questions (cloze scoring asks for every prompt token's log-probabilities: each step allocates
logits for the whole batch, and Gemma-3's vocabulary has 262,144 tokens). It prints the seconds per
question, the server's share of CPU time spent in the kernel, the ratio to the baseline and
whether the answers agree, and writes them to ``perf/results/server_allocator.csv``. Needs the
vLLM environment (``make vllm``) and, for the second leg, tcmalloc (Debian:
``libtcmalloc-minimal4``).

    .venv/bin/python perf/server_allocator.py --model gemma3-270m --questions 80
"""

from __future__ import annotations

import ctypes.util
import tempfile
import time
from pathlib import Path
from unittest import mock

import pandas as pd

from rgd_utils.llm.cache import LLMCache
from rgd_utils.llm.registry import load_model
from rgd_utils.responses import Expert, answer_questions

from ratio_tables import show_and_write
from real_sample import question_parser, real_sample

RESULTS = Path(__file__).parent / "results" / "server_allocator.csv"
WARM_UP = 5


def process_tree(pid: int) -> list[int]:
    """A process and its descendants (vLLM's engine core and worker are its grandchildren)."""
    children = [int(c) for task in Path(f"/proc/{pid}/task").iterdir()
                for c in (task / "children").read_text().split()]
    return [pid] + [p for child in children for p in process_tree(child)]


def kernel_share(pid: int) -> float:
    """System time over all CPU time of a server's processes, from ``/proc``."""
    fields = [Path(f"/proc/{p}/stat").read_text().rsplit(")", 1)[1].split() for p in process_tree(pid)]
    user, system = (sum(int(f[index]) for f in fields) for index in (11, 12))
    return system / max(user + system, 1)


def timed(model: str, questions: pd.DataFrame, tcmalloc: bool) -> dict:
    """One leg: a fresh server, the warm-up, then the timed questions."""
    found = ctypes.util.find_library
    with tempfile.TemporaryDirectory() as folder, \
            mock.patch.object(ctypes.util, "find_library", found if tcmalloc else (lambda name: None)):
        llm = load_model(model, LLMCache(Path(folder), mode="readwrite"), engine="vllm")
        expert = Expert(model, "cloze")
        try:
            answer_questions(llm, expert, questions.head(WARM_UP), progress=False)
            server = llm.backend.server
            started = time.perf_counter()
            answers = answer_questions(llm, expert, questions.iloc[WARM_UP:], progress=False)
            seconds = (time.perf_counter() - started) / (len(questions) - WARM_UP)
            preload = Path(f"/proc/{server.process.pid}/environ").read_bytes().split(b"\0")
            row = {"allocator": "tcmalloc" if any(b"tcmalloc" in v for v in preload) else "glibc",
                   "questions": len(questions) - WARM_UP, "s_per_question": round(seconds, 3),
                   "kernel_share_of_cpu": round(kernel_share(server.process.pid), 3)}
        finally:
            llm.close()
    return {**row, "choices": answers.set_index("qid")["choice"]}


def main() -> None:
    parser = question_parser(__doc__.split("\n")[0], 80, RESULTS)
    parser.add_argument("--model", default="gemma3-270m")
    args = parser.parse_args()
    questions = real_sample(args.benchmark, args.questions)
    legs = [timed(args.model, questions, tcmalloc) for tcmalloc in (False, True)]
    table = pd.DataFrame([{k: v for k, v in leg.items() if k != "choices"} for leg in legs])
    table.insert(0, "model", args.model)
    table["ratio_to_baseline"] = (table["s_per_question"] / table["s_per_question"].iloc[0]).round(2)
    table["same_answer_as_baseline"] = [round(float((leg["choices"] == legs[0]["choices"]).mean()), 3) for leg in legs]
    show_and_write(table, args.out)


if __name__ == "__main__":
    main()
