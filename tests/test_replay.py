"""The committed LLM cache replays the study with no model and none of the LLM dependencies."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from rgd_utils.config import get_preset

ROOT = Path(__file__).resolve().parents[1]
#: Items kept by screening of each generator's committed calls over the four study benchmarks.
KEPT = {"qwen2.5-coder-1.5b": 2261, "qwen2.5-coder-0.5b": 3424, "qwen2.5-coder-0.5b-t1.0": 2271}
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

root, preset, generators = sys.argv[1], sys.argv[5], sys.argv[6]
n_train, n_test, attempts = (None if a == "preset" else int(a) for a in sys.argv[2:5])
study = get_preset(preset).with_generators(None if generators == "all" else
                                           [g for g in generators.split(",") if g != "none"])
n_train, n_test = n_train or study.n_train, n_test or study.n_test
cache = LLMCache(f"{root}/data/cache", mode="replay")
real = read_questions(f"{root}/data/questions", benchmarks=list(study.study_benchmarks), sources=["real"])
llms, records = {}, []
for spec in study.generators:  # attempts None: as the preset says
    llm = llms.setdefault(spec.model, load_model(spec.model, cache, engine=study.engine))
    records += generate_records(llm, spec, train_subjects(real, study.study_benchmarks), study.seed,
                                attempts=attempts, progress=False)
kept = validate_generated(records, real).kept
questions = study_questions(pd.concat([real, kept], ignore_index=True), study, n_train, n_test)
answers = 0
for name in study.experts:
    expert = Expert.parse(name)
    llm = llms.setdefault(expert.model, load_model(expert.model, cache, engine=study.engine))
    answers += len(answer_questions(llm, expert, questions, progress=False))
print(json.dumps({
    "calls": len(records), "answers": answers, "questions": len(questions),
    "hits": sum(l.hits for l in llms.values()), "computed": sum(l.computed for l in llms.values()),
    "backends_created": sum(l._backend is not None for l in llms.values()),
    "llm_modules": sorted(m for m in sys.modules if m.split(".")[0] in ("llama_cpp", "torch")),
}))
"""


def _replay(*args: object) -> dict:
    """Run :data:`REPLAY` with ``root n_train n_test attempts preset generators``; its counts
    (``generators``: names joined by commas, ``all`` or ``none``)."""
    run = subprocess.run([sys.executable, "-c", REPLAY, str(ROOT), *map(str, args)],
                         capture_output=True, text=True, cwd=ROOT, timeout=600)
    assert run.returncode == 0, run.stderr[-3000:]
    result = json.loads(run.stdout.strip().splitlines()[-1])
    assert result["computed"] == 0 and result["backends_created"] == 0 and result["llm_modules"] == []
    assert result["hits"] == result["calls"] + result["answers"]  # a 100% hit rate
    return result


def test_replay_hits_every_call_and_needs_no_llm_dependency() -> None:
    result = _replay(SMOKE["n_train"], SMOKE["n_test"], SMOKE["generation_attempts"], "cpu", "all")
    assert result["answers"] == 6 * result["questions"] and result["questions"] > 8 * SMOKE["n_train"]


@pytest.mark.parametrize("preset", ["cpu", "cpu-specialists"])
def test_the_real_study_that_make_all_runs_replays_whole(preset: str) -> None:
    # `make all` runs the packaged presets with every generator: every call and every answer of
    # every expert to the kept items, to the 300 real train questions and to the real test
    # questions (1,000 per benchmark; CommonsenseQA's 916 outside its train split) are committed.
    spec = get_preset(preset)
    generators = [g.name for g in spec.generators]
    result = _replay("preset", "preset", "preset", preset, ",".join(generators))
    assert result["calls"] == sum(4 * g.attempts for g in spec.generators)
    assert result["questions"] == 4 * 300 + 3 * 1000 + 916 + sum(KEPT[g] for g in generators)
    assert result["answers"] == 6 * result["questions"]
