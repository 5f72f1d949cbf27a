"""The default study, on vLLM, replays its own cache entries: notebooks 00-02 of ``cpu`` run on
a slice, with no model and no miss."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pandas as pd
import papermill
import pytest
import yaml

from rgd_utils.config import get_preset
from rgd_utils.llm_runs import cached_generation, real_questions

ROOT = Path(__file__).resolve().parents[1]
SMOKE = yaml.safe_load((ROOT / "notebooks" / "smoke.yaml").read_text(encoding="utf-8"))


def test_the_vllm_preset_replays_its_generation_calls_and_real_answers(tmp_path, monkeypatch) -> None:
    monkeypatch.setenv("RGD_LLM_CACHE", "replay")
    strong = "qwen2.5-coder-1.5b"
    for stem, generators in (("00_data", []), ("01_generation", [strong]), ("02_pool_responses", [])):
        papermill.execute_notebook(
            str(ROOT / "notebooks" / f"{stem}.ipynb"), str(tmp_path / f"{stem}.ipynb"), kernel_name="python3",
            cwd=str(ROOT), progress_bar=False,
            parameters={**SMOKE, "preset": "cpu", "generators": generators,
                        "data_dir": str(tmp_path / "data"), "figures_dir": str(tmp_path / "figures")})
    generated = pd.concat(pd.read_parquet(p) for p in (tmp_path / "data" / "questions").glob(f"{strong}__*.parquet"))
    assert set(generated["benchmark"]) == {"mmlu", "medmcqa", "arc_easy", "commonsenseqa"}
    # the preset's own vLLM calls
    preset = get_preset("cpu")
    preset = dataclasses.replace(preset, generators=(preset.generator(strong),))
    vllm_items = cached_generation(preset, real_questions(preset, ROOT / "data" / "questions"),
                                   ROOT / "data" / "cache")[1]
    assert set(generated["question"]) <= set(vllm_items["question"])
    responses = pd.concat(pd.read_parquet(p) for p in (tmp_path / "data" / "responses").glob("*.parquet"))
    experts = {"qwen2.5-coder-1.5b:letter", "qwen2.5-coder-1.5b:cloze", "qwen2.5-coder-0.5b:letter",
               "qwen2.5-coder-0.5b:cloze", "gemma3-270m:cloze", "smollm2-135m:cloze"}
    assert set(responses["model"]) == experts
    assert len(responses) == len(experts) * 4 * (SMOKE["n_train"] + SMOKE["n_test"])
    assert responses["choice"].notna().mean() > 0.95
