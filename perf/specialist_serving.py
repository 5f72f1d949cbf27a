"""A specialist on vLLM two ways: its LoRA adapter applied beside the base model
(``--lora-modules``, the baseline) and merged into the base weights (what the registry serves).

Both answer the same real questions in cloze mode, one after the other in this process, each on
a fresh cache (nothing is replayed), after a few warm-up questions; the base model alone is timed
too. It prints the seconds per question, the ratio to the baseline and how often the two ways
pick the same answer, and writes them to ``perf/results/specialist_serving.csv``. Needs the vLLM
environment (``make vllm``) and the committed adapters.

    .venv/bin/python perf/specialist_serving.py --specialist gemma3-270m+knowledge --questions 60
"""

from __future__ import annotations

import tempfile
import time
from pathlib import Path

import pandas as pd

from rgd_utils.config import get_paths
from rgd_utils.llm.cache import LLMCache
from rgd_utils.llm.cached import CachedLLM
from rgd_utils.llm.registry import load_model, specialist_identity, vllm_backend
from rgd_utils.llm.vllm_server import packaged_server
from rgd_utils.responses import Expert, answer_questions
from rgd_utils.specialists import get_specialist
from rgd_utils.specialists.peft_export import peft_folder

from ratio_tables import show_and_write
from real_sample import question_parser, real_sample

RESULTS = Path(__file__).parent / "results" / "specialist_serving.csv"
WARM_UP = 5


def beside_the_base(name: str, data_dir: Path, cache: LLMCache) -> CachedLLM:
    """The specialist as vLLM's LoRA path serves it: the base model with the adapter beside it."""
    base = get_specialist(name).base
    identity = {**specialist_identity(name, data_dir, "vllm"), "lora_merged": "no (beside the base)"}
    server = lambda: packaged_server(base, lora_modules={name: peft_folder(name, data_dir)})  # noqa: E731
    return CachedLLM(name, identity, lambda: vllm_backend(name, identity, server), cache)


def timed(llm: CachedLLM, expert: Expert, questions: pd.DataFrame) -> tuple[float, pd.DataFrame]:
    """Seconds per question after the warm-up (server start included in it), and the answers."""
    answer_questions(llm, expert, questions.head(WARM_UP), progress=False)
    started = time.perf_counter()
    answers = answer_questions(llm, expert, questions.iloc[WARM_UP:], progress=False)
    return (time.perf_counter() - started) / (len(questions) - WARM_UP), answers.set_index("qid")


def main() -> None:
    parser = question_parser(__doc__.split("\n")[0], 60, RESULTS)
    parser.add_argument("--specialist", default="gemma3-270m+knowledge")
    args = parser.parse_args()
    paths = get_paths()
    questions = real_sample(args.benchmark, args.questions)
    base = get_specialist(args.specialist).base
    with tempfile.TemporaryDirectory() as folder:
        cache = LLMCache(Path(folder), mode="readwrite")
        specialist = Expert.parse(f"{args.specialist}:cloze")
        runs = {
            "adapter beside the base (baseline)": (beside_the_base(args.specialist, paths.data, cache), specialist),
            "adapter merged (served)": (load_model(args.specialist, cache, paths.data, "vllm"), specialist),
            "base model alone": (load_model(base, cache, paths.data, "vllm"), Expert.parse(f"{base}:cloze")),
        }
        answers, rows = {}, []
        for how, (llm, expert) in runs.items():
            seconds, answers[how] = timed(llm, expert, questions)
            rows.append({"serving": how, "questions": len(questions) - WARM_UP, "s_per_question": round(seconds, 3)})
    table = pd.DataFrame(rows)
    table["ratio_to_baseline"] = (table["s_per_question"] / table["s_per_question"].iloc[0]).round(2)
    baseline, merged, alone = (answers[how]["choice"] for how in runs)
    table["same_answer_as_baseline"] = [1.0, round(float((merged == baseline).mean()), 3),
                                        round(float((alone == baseline).mean()), 3)]
    show_and_write(table, args.out)


if __name__ == "__main__":
    main()
