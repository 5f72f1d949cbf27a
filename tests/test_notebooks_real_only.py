"""`GENERATORS=none`: the study on the real train data only runs end to end (notebooks 01-07).

The committed real questions are copied to a scratch folder, the LLM cache is replayed, and every
notebook after 00 runs with ``generators = []`` and the small sizes of notebooks/smoke.yaml.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import nbformat
import pandas as pd
import papermill
import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = sorted((ROOT / "notebooks").glob("0[1-7]_*.ipynb"))
SMOKE = yaml.safe_load((ROOT / "notebooks" / "smoke.yaml").read_text(encoding="utf-8"))


@pytest.mark.slow
def test_the_default_study_runs_on_real_train_data_only(tmp_path, monkeypatch) -> None:
    monkeypatch.setenv("RGD_LLM_CACHE", "replay")
    shutil.copytree(ROOT / "data" / "questions", tmp_path / "data" / "questions")
    outputs = {}
    for notebook in NOTEBOOKS:
        out = tmp_path / notebook.name
        papermill.execute_notebook(
            str(notebook), str(out), kernel_name="python3", cwd=str(ROOT), progress_bar=False,
            parameters={**SMOKE, "generators": [], "data_dir": str(tmp_path / "data"),
                        "figures_dir": str(tmp_path / "figures"), "results_dir": str(tmp_path / "results")},
        )
        outputs[notebook.stem] = nbformat.read(out, as_version=4)

    def text(stem: str) -> str:
        return "\n".join(o.get("text", "") for c in outputs[stem].cells for o in c.get("outputs", []))

    assert "No generator in this run: the study uses the real train data only." in text("01_generation")
    assert "No generated train data in this run: nothing to filter" in text("04_performance_spread")
    assert pd.read_parquet(tmp_path / "results" / "04_performance_spread_cpu.parquet").empty
    baselines = pd.read_parquet(tmp_path / "results" / "05_router_baselines_cpu.parquet")
    assert set(baselines["train_source"]) == {"real"} and len(baselines) > 0
    assert set(baselines["benchmark"]) == {"mmlu", "medmcqa", "arc_easy", "commonsenseqa"}
    responses = pd.concat(pd.read_parquet(p) for p in (tmp_path / "data" / "responses").glob("*.parquet"))
    assert set(responses["source"]) == {"real"}
