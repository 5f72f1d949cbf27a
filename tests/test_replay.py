"""The committed LLM cache replays the study with no model and none of the LLM dependencies."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
SMOKE = yaml.safe_load((ROOT / "notebooks" / "smoke.yaml").read_text(encoding="utf-8"))

#: Runs in a fresh interpreter in which importing llama.cpp, torch or transformers fails.
REPLAY = """
import importlib.abc, json, sys

import pandas as pd

class Blocked(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path, target=None):
        if name.split(".")[0] in ("llama_cpp", "torch", "transformers"):
            raise ImportError(f"{name} is blocked in this test")

sys.meta_path.insert(0, Blocked())

from rgd_utils.benchmarks import read_questions
from rgd_utils.config import get_preset
from rgd_utils.generation import validate_generated
from rgd_utils.generation.run import generate_records, train_subjects
from rgd_utils.llm.cache import LLMCache
from rgd_utils.llm.registry import load_model
from rgd_utils.pool import study_questions
from rgd_utils.responses import Expert, answer_questions

root, n_train, n_test, attempts = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
study = get_preset("cpu")
cache = LLMCache(f"{root}/data/cache", mode="replay")
real = read_questions(f"{root}/data/questions", benchmarks=list(study.study_benchmarks), sources=["real"])
llms, records = {}, []
for spec in study.generators:
    llm = llms.setdefault(spec.model, load_model(spec.model, cache))
    records += generate_records(llm, spec, train_subjects(real, study.study_benchmarks), study.seed,
                                attempts=attempts, progress=False)
kept = validate_generated(records, real).kept
questions = study_questions(pd.concat([real, kept], ignore_index=True), study, n_train, n_test)
answers = 0
for name in study.experts:
    expert = Expert.parse(name)
    llm = llms.setdefault(expert.model, load_model(expert.model, cache))
    answers += len(answer_questions(llm, expert, questions, progress=False))
print(json.dumps({
    "calls": len(records), "answers": answers, "questions": len(questions),
    "hits": sum(l.hits for l in llms.values()), "computed": sum(l.computed for l in llms.values()),
    "backends_created": sum(l._backend is not None for l in llms.values()),
    "llm_modules": sorted(m for m in sys.modules if m.split(".")[0] in ("llama_cpp", "torch")),
}))
"""


def test_replay_hits_every_call_and_needs_no_llm_dependency() -> None:
    run = subprocess.run(
        [sys.executable, "-c", REPLAY, str(ROOT), str(SMOKE["n_train"]), str(SMOKE["n_test"]),
         str(SMOKE["generation_attempts"])],
        capture_output=True, text=True, cwd=ROOT, timeout=600,
    )
    assert run.returncode == 0, run.stderr[-3000:]
    result = json.loads(run.stdout.strip().splitlines()[-1])
    assert result["computed"] == 0 and result["backends_created"] == 0 and result["llm_modules"] == []
    assert result["hits"] == result["calls"] + result["answers"]  # a 100% hit rate
    assert result["answers"] == 6 * result["questions"] and result["questions"] > 8 * SMOKE["n_train"]
