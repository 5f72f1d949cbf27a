"""The stage runner's plan and stamps: which notebooks get which parameters, in what order, and
why one is stale (parameters, code, inputs, outputs, the notebooks before it)."""

from __future__ import annotations

import dataclasses
import os
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from rgd_utils.config import PRESETS, get_preset
from rgd_utils.stages import run
from rgd_utils.stages.plan import Job, Notebook, Settings, discover, needed, parse_overrides, plan
from rgd_utils.stages.run import Busy, take_lock
from rgd_utils.stages.stamps import Digests, Trace, read_trace, stale, write_stamp

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = discover(ROOT / "notebooks")


def _jobs(preset: str = "cpu", with_sim: bool = False, **settings) -> list[Job]:
    before = plan(NOTEBOOKS, Settings("sim", Path("runs/sim"), **settings)) if with_sim else []
    return before + plan(NOTEBOOKS, Settings(preset, Path(f"runs/{preset}"), **settings), before)


def test_each_notebook_gets_the_run_settings_and_overrides_it_declares(monkeypatch) -> None:
    by_name = {j.notebook.name: j.parameters for j in _jobs(overrides="-p seed 1 -p sim_scale 0.5")}
    assert by_name["00_data"] == {"preset": "cpu", "data_dir": "data", "figures_dir": "figures", "seed": 1}
    assert "seed" not in by_name["01_generation"] and "results_dir" not in by_name["01_generation"]
    assert by_name["05_router_baselines"]["sim_scale"] == 0.5
    assert by_name["07_results"]["results_dir"] == "results" and "generators" not in by_name["07_results"]
    # the packaged presets' data are complete: every generator runs
    assert "generators" not in _jobs("cpu-specialists")[1].parameters
    # a preset with generators whose data are not complete runs the complete ones only
    partial = dataclasses.replace(get_preset("cpu-specialists"), name="partial",
                                  complete_generators=("qwen2.5-coder-1.5b",))
    monkeypatch.setitem(PRESETS, "partial", partial)
    assert _jobs("partial")[1].parameters["generators"] == ["qwen2.5-coder-1.5b"]
    assert _jobs(generators="none")[1].parameters["generators"] == []  # the real train data only
    assert "generators" not in _jobs(generators="")[1].parameters  # every generator
    assert "generators" not in _jobs("sim")[0].parameters


def test_bad_settings_are_refused_before_anything_runs() -> None:
    with pytest.raises(ValueError, match="has no generator 'nosuchgen'"):
        _jobs(generators="nosuchgen")
    with pytest.raises(ValueError, match=r"no notebook takes the parameter\(s\) \['sede'\]"):
        _jobs(overrides="-p sede 1")
    with pytest.raises(ValueError, match="-p lacks its value"):
        parse_overrides("-p seed")


def test_overrides_are_typed_as_papermill_types_them(tmp_path) -> None:
    (tmp_path / "small.yaml").write_text("n_train: 20\nsim_scale: 0.05\n")
    assert parse_overrides(f"-p seed 1 -p x 0.5 -p flag True -p none None -r raw 1 -y 'k: [1, 2]' "
                           f"-f {tmp_path / 'small.yaml'}") == {
        "seed": 1, "x": 0.5, "flag": True, "none": None, "raw": "1", "k": [1, 2],
        "n_train": 20, "sim_scale": 0.05}


def test_order_data_stages_then_analyses_then_results_after_the_simulated_world() -> None:
    jobs = {j.key: j for j in _jobs(with_sim=True)}
    assert "sim:00_data" not in jobs  # the simulated world draws its data in 03 on
    assert jobs["cpu:00_data"].after == () and jobs["cpu:01_generation"].after == ("cpu:00_data",)
    assert jobs["cpu:04_performance_spread"].after == ("cpu:02_pool_responses",)
    assert set(jobs["cpu:07_results"].after) >= {"cpu:06_cascal", "sim:07_results", "sim:03_self_consistency"}
    # a stage target: that notebook and what it waits for, not the other analyses
    alone = [j.key for j in needed(list(jobs.values()), ["performance_spread"])]
    assert alone == ["cpu:00_data", "cpu:01_generation", "cpu:02_pool_responses", "cpu:04_performance_spread"]
    assert [j.key for j in needed(list(jobs.values()), ["data"])] == ["cpu:00_data"]
    with pytest.raises(ValueError, match="no stage 'nosuch'"):
        needed(list(jobs.values()), ["nosuch"])


def _project(tmp_path: Path) -> tuple[Path, list[Job]]:
    """Two notebooks of a project, as stamped after a run: 00 writes a file that 01 reads."""
    root = tmp_path
    (root / "notebooks").mkdir(parents=True)
    (root / "rgd_utils").mkdir()
    for module in ("a", "b", "unused"):
        (root / "rgd_utils" / f"{module}.py").write_text("x = 1\n")
    (root / "pyproject.toml").write_text("[project]\n")
    for name in ("00_first", "01_second"):
        (root / "notebooks" / f"{name}.ipynb").write_text("{}")
    (root / "data").mkdir()
    (root / "data" / "made.txt").write_text("made by 00")
    (root / "data" / "cache.jsonl").write_text("a cache shard")
    first = Job(Notebook(Path("notebooks/00_first.ipynb"), {"seed": "0"}), "cpu", root / "runs", {"seed": 0})
    second = Job(Notebook(Path("notebooks/01_second.ipynb"), {}), "cpu", root / "runs", {}, (first.key,))
    (root / "runs").mkdir()
    for job, traced in ((first, Trace(["data/cache.jsonl"], ["data/made.txt"], ["rgd_utils/a.py"])),
                        (second, Trace(["data/made.txt"], [], ["rgd_utils/a.py", "rgd_utils/b.py"]))):
        job.executed.write_text("{}")
        write_stamp(job, Digests(root), traced)
    return root, [first, second]


def _why(root: Path, jobs: list[Job]) -> dict[str, list[str]]:
    return stale(jobs, Digests(root))


def test_a_current_run_is_not_stale_and_each_change_names_why(tmp_path) -> None:
    root, (first, second) = _project(tmp_path)
    assert _why(root, [first, second]) == {}
    changed = Job(first.notebook, "cpu", first.out, {"seed": 1})
    assert _why(root, [changed, second]) == {
        first.key: ["parameter seed: 0 -> 1"], second.key: ["runs after cpu 00_first"]}
    (root / "data" / "cache.jsonl").write_text("a cache shard, one more line")
    assert _why(root, [first, second])[first.key] == ["input data/cache.jsonl changed"]


def test_a_deleted_output_or_edited_code_makes_its_notebook_stale(tmp_path) -> None:
    root, (first, second) = _project(tmp_path)
    (root / "data" / "made.txt").unlink()
    assert _why(root, [first, second]) == {first.key: ["output data/made.txt is missing"],
                                           second.key: ["input data/made.txt is missing"]}
    root, (first, second) = _project(tmp_path / "again")
    (root / "rgd_utils" / "unused.py").write_text("x = 2\n")  # imported by neither notebook
    assert _why(root, [first, second]) == {}
    (root / "rgd_utils" / "b.py").write_text("x = 2\n")
    assert _why(root, [first, second]) == {second.key: ["module rgd_utils/b.py changed"]}
    (root / "rgd_utils" / "a.py").unlink()
    assert _why(root, [first])[first.key] == ["module rgd_utils/a.py is missing"]
    (root / "notebooks" / "01_second.ipynb").write_text('{"cells": []}')
    assert _why(root, [second])[second.key] == ["the notebook changed", "module rgd_utils/a.py is missing",
                                                "module rgd_utils/b.py changed"]
    second.executed.unlink()
    assert _why(root, [second])[second.key] == [f"never ran into {second.out}/"]


def test_the_trace_keeps_existing_files_outside_the_code(tmp_path) -> None:
    for path in ("data/a.parquet", "data/b.csv", "runs/smoke/data/x.txt", "rgd_utils/m.py", "figures/f.png"):
        (tmp_path / path).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / path).write_text("x")
    log = tmp_path / "trace.log"
    log.write_text("r data/a.parquet\nr data/b.csv\nw data/b.csv\nr rgd_utils/__pycache__/m.cpython-311.pyc\n"
                   "r rgd_utils/m.py\nr rgd_utils/__pycache__/gone.cpython-311.pyc\n"
                   "w runs/smoke/data/x.txt\nw figures/f.png\nw data/gone.tmp\n")
    assert read_trace(log, tmp_path) == (["data/a.parquet"],
                                         ["data/b.csv", "figures/f.png", "runs/smoke/data/x.txt"],
                                         ["rgd_utils/m.py"])


TRACED = """
import importlib.util, sys
spec = importlib.util.spec_from_file_location("trace", {trace!r})
trace = importlib.util.module_from_spec(spec); spec.loader.exec_module(trace)
trace.install({log!r}, {folder!r})
sys.path.insert(0, {folder!r})
import rgd_utils.used
import pandas as pd
open("in.txt").read()
pd.read_parquet("in.parquet")
pd.DataFrame({{"a": [1]}}).to_parquet("out.parquet")
open("out.txt", "w").write("x")
"""


def test_the_trace_sees_opens_and_parquet_reads_and_writes(tmp_path) -> None:
    import pandas as pd
    (tmp_path / "in.txt").write_text("x")
    pd.DataFrame({"a": [1]}).to_parquet(tmp_path / "in.parquet")
    (tmp_path / "rgd_utils").mkdir()
    for module in ("__init__", "used", "unused"):
        (tmp_path / "rgd_utils" / f"{module}.py").write_text("x = 1\n")
    script = TRACED.format(trace=str(ROOT / "rgd_utils" / "stages" / "trace.py"),
                           log=str(tmp_path / "trace.log"), folder=str(tmp_path))
    subprocess.run([sys.executable, "-c", script], cwd=tmp_path, check=True)
    assert read_trace(tmp_path / "trace.log", tmp_path) == (
        ["in.parquet", "in.txt"], ["out.parquet", "out.txt"], ["rgd_utils/__init__.py", "rgd_utils/used.py"])


def test_a_second_run_in_one_checkout_stops_at_once_naming_the_first(tmp_path) -> None:
    lock = take_lock(tmp_path / "runs" / ".lock")
    child = subprocess.run(
        [sys.executable, "-c", "import sys; sys.path.insert(0, sys.argv[1]); from pathlib import Path; "
         "from rgd_utils.stages.run import take_lock; take_lock(Path(sys.argv[2]))",
         str(ROOT), str(tmp_path / "runs" / ".lock")], capture_output=True, text=True, timeout=60)
    assert child.returncode != 0
    assert f"another run of the study (pid {os.getpid()}) is running in this checkout" in child.stderr
    lock.close()
    take_lock(tmp_path / "runs" / ".lock").close()  # free again once the first run ends
    with pytest.raises(Busy):
        held = take_lock(tmp_path / "runs" / ".lock")
        take_lock(tmp_path / "runs" / ".lock")
    held.close()


def test_runs_start_in_order_analyses_side_by_side_and_a_failure_stops_the_rest(monkeypatch) -> None:
    events, lock = [], threading.Lock()

    def fake(job: Job, root: Path, one_thread: bool) -> bool:
        with lock:
            events.append(("start", job.key, one_thread))
        time.sleep(0.05)
        with lock:
            events.append(("end", job.key, one_thread))
        return job.key != "cpu:05_router_baselines"

    monkeypatch.setattr(run, "run_one", fake)
    assert run.run_jobs(_jobs(with_sim=True), ROOT, parallel=2) is False
    order = [(kind, key) for kind, key, _ in events]
    last_sim_end = max(i for i, (kind, key) in enumerate(order) if key.startswith("sim:"))
    first_cpu_start = min(i for i, (kind, key) in enumerate(order) if key.startswith("cpu:"))
    assert last_sim_end < first_cpu_start  # the simulated world first, as a whole
    starts = [key for kind, key in order if kind == "start"]
    assert order.index(("start", "sim:04_performance_spread")) < order.index(("end", "sim:03_self_consistency"))
    assert "cpu:07_results" not in starts  # 05 failed: what waits for it never starts
    assert {one for _, _, one in events} == {True}
