"""The Makefile: a stamp keyed on pyproject.toml, papermill with an explicit kernel and --cwd,
stage targets chained in order, and a failing cell that stops make and is named."""

from __future__ import annotations

import hashlib
import re
import shutil
import subprocess
from pathlib import Path

import nbformat
import pytest

ROOT = Path(__file__).resolve().parents[1]
VENV = ROOT / ".venv"
needs_venv = pytest.mark.skipif(
    not (VENV / "bin" / "papermill").exists(), reason="needs the project's .venv (run `make test`)"
)


def _make(folder: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        ["make", "--no-print-directory", "-C", str(folder), *args],
        capture_output=True, text=True, timeout=600,
    )


def _copy_project(tmp_path: Path, notebooks: dict[str, list[str]]) -> Path:
    """A copy of the project's build files with its own notebooks, sharing .venv and the package."""
    project = tmp_path / "project"
    (project / "notebooks").mkdir(parents=True)
    for name in ("Makefile", "pyproject.toml"):
        shutil.copy2(ROOT / name, project / name)  # keeps mtimes: the shared .venv stays current
    (project / ".venv").symlink_to(VENV)
    (project / "rgd_utils").symlink_to(ROOT / "rgd_utils")
    for name, sources in notebooks.items():
        notebook = nbformat.v4.new_notebook()
        params = nbformat.v4.new_code_cell('preset = "cpu"\ndata_dir = "data"\nfigures_dir = "figures"')
        params.metadata["tags"] = ["parameters"]
        notebook.cells = [params] + [nbformat.v4.new_code_cell(s) for s in sources]
        notebook.metadata["kernelspec"] = {"name": "rgd", "display_name": "Python (rgd)", "language": "python"}
        nbformat.write(notebook, project / "notebooks" / name)
    return project


def test_dry_run_runs_each_notebook_through_papermill_with_kernel_and_cwd() -> None:
    result = _make(ROOT, "-n", "-B", "all", "OUT=/tmp/rgd-dry-run", "PENDING=")
    assert result.returncode == 0, result.stderr
    notebooks = sorted(p.name for p in (ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb"))
    for name in notebooks:
        line = next(l for l in result.stdout.splitlines() if "papermill notebooks/" + name in l)
        assert f"-k rgd --cwd {ROOT}" in line
    assert "-p preset cpu -p data_dir data -p figures_dir figures" in result.stdout
    assert "RGD_LLM_CACHE=replay " in result.stdout  # a fresh clone replays, never computes


def test_pending_notebooks_are_left_out_of_all_and_named_in_help() -> None:
    pending = "PENDING=notebooks/01_generation.ipynb"
    result = _make(ROOT, "-n", "-B", "all", "OUT=/tmp/rgd-dry-run", pending)
    assert "papermill notebooks/00_data.ipynb" in result.stdout
    assert "papermill notebooks/01_generation.ipynb" not in result.stdout
    assert "(run them with PENDING=): 01_generation.ipynb" in _make(ROOT, "help", pending).stdout
    assert "run them with PENDING=" not in _make(ROOT, "help", "PENDING=").stdout


def test_generators_reach_the_notebooks_that_have_the_parameter(tmp_path) -> None:
    project = _copy_project(tmp_path, {"00_data.ipynb": ["x = 1"], "05_router_baselines.ipynb": ["x = 1"]})
    (project / "notebooks" / "05_router_baselines.ipynb").write_text(
        (project / "notebooks" / "05_router_baselines.ipynb").read_text().replace(
            'figures_dir = \\"figures\\"', 'figures_dir = \\"figures\\"\\ngenerators = None'))

    def option(*args: str) -> list[str]:
        dry = _make(project, "-n", "-B", "all", "WITH_SIM=", "PENDING=", *args).stdout
        return [line.strip() for line in dry.splitlines() if "-y " in line]

    # the packaged presets: the generators whose data are complete; the others: all of theirs
    done = re.findall(r"^GENERATORS_DONE_(\S+) +:= (.+)$", (ROOT / "Makefile").read_text(), re.M)
    assert [preset for preset, _ in done] == ["cpu", "cpu-specialists"]
    for preset, generators in done:
        names = ", ".join(f'"{g}"' for g in generators.split())
        assert option(f"PRESET={preset}") == [f"-y 'generators: [{names}]'  \\"]
    assert option() == option("PRESET=cpu")
    assert option("PRESET=paper") == []
    assert option("GENERATORS=none") == ["-y 'generators: []'  \\"]  # the real train data only
    assert option("GENERATORS=strong weak") == ["-y 'generators: [\"strong\", \"weak\"]'  \\"]
    assert option("GENERATORS=") == []  # every generator of the preset
    assert option("PRESET=sim") == []


def test_the_simulated_preset_skips_the_data_and_llm_stages(tmp_path) -> None:
    project = _copy_project(tmp_path, {name: ["x = 1"] for name in (
        "00_data.ipynb", "01_generation.ipynb", "02_pool_responses.ipynb", "03_self_consistency.ipynb")})
    sim = _make(project, "-n", "-B", "all", "PRESET=sim").stdout
    assert "papermill notebooks/03_self_consistency.ipynb" in sim and "-p preset sim" in sim
    assert "notebooks/00_data.ipynb" not in sim and "notebooks/02_pool_responses.ipynb" not in sim
    cpu = _make(project, "-n", "-B", "all", "WITH_SIM=").stdout
    assert "papermill notebooks/00_data.ipynb runs/cpu/" in cpu and "03_self_consistency.ipynb runs/cpu/" in cpu
    assert "03_self_consistency" not in _make(project, "-n", "-B", "all", "WITH_SIM=",
                                              "PENDING=notebooks/03_self_consistency.ipynb").stdout
    # by default the real study's `make all` runs the simulated world first, into runs/sim/
    both = _make(project, "-n", "-B", "all").stdout
    assert both.index("papermill notebooks/03_self_consistency.ipynb runs/sim/") < both.index(
        "papermill notebooks/00_data.ipynb runs/cpu/")
    smoke = _make(project, "-n", "-B", "all", "OUT=runs/smoke").stdout
    assert "notebooks/03_self_consistency.ipynb runs/smoke/sim/" in smoke
    assert "03_self_consistency" not in _make(project, "-n", "-B", "data").stdout


def test_help_lists_the_targets_and_one_per_notebook() -> None:
    result = _make(ROOT, "help")
    for target in ("make all", "make test", "make smoke", "make lab", "make report", "make clean", "make data"):
        assert target in result.stdout


def test_report_builds_from_the_run_folders_that_exist(tmp_path) -> None:
    project = _copy_project(tmp_path, {"00_data.ipynb": ["x = 1"]})
    (project / "runs" / "sim").mkdir(parents=True)  # runs/cpu does not exist: left out
    dry_run = _make(project, "-n", "report", "RESULTS_DIR=out").stdout
    assert ("-m rgd_utils.report --executed runs/sim --figures figures --tables out/tables "
            "--out runs/report") in " ".join(dry_run.replace("\\\n", " ").split())
    (project / "runs" / "cpu").mkdir()
    dry_run = " ".join(_make(project, "-n", "report").stdout.replace("\\\n", " ").split())
    assert "--executed runs/cpu runs/sim --figures figures --tables results/tables" in dry_run
    assert "papermill" not in dry_run  # the report of whatever ran: it does not run the study


def test_environment_stamp_is_keyed_on_pyproject(tmp_path) -> None:
    project = tmp_path / "p"
    project.mkdir()
    shutil.copy(ROOT / "Makefile", project / "Makefile")
    shutil.copy(ROOT / "pyproject.toml", project / "pyproject.toml")
    dry_run = _make(project, "-n", "venv").stdout
    assert '-m pip install --quiet -e ".[dev]"' in dry_run and "--no-deps" in dry_run
    assert _make(project, "-q", "venv").returncode == 1  # no environment yet
    digest = hashlib.sha256((project / "pyproject.toml").read_bytes()).hexdigest()[:16]
    (project / ".venv").mkdir()
    (project / ".venv" / f".rgd-env-{digest}").touch()
    assert _make(project, "-q", "venv").returncode == 0  # current: reused as it is
    with (project / "pyproject.toml").open("a") as handle:
        handle.write("\n# a changed pin\n")
    assert _make(project, "-q", "venv").returncode == 1  # changed: reinstalled


@needs_venv
def test_stages_run_in_order_and_a_failing_cell_stops_make_and_is_named(tmp_path) -> None:
    project = _copy_project(tmp_path, {
        "00_first.ipynb": ["open('first.txt', 'w').write(data_dir)"],
        "01_second.ipynb": ["x = 1", "raise ValueError('boom: planted failure')"],
        "02_third.ipynb": ["open('third.txt', 'w').write('ran')"],
    })
    assert _make(project, "-q", "venv").returncode == 0, "the copy must reuse .venv, not reinstall it"
    result = _make(project, "all", "PENDING=", "WITH_SIM=")
    assert result.returncode != 0
    assert (project / "first.txt").read_text() == "data"  # --cwd is the project root
    assert not (project / "third.txt").exists()  # make stopped at the failure
    assert (
        "notebooks/01_second.ipynb: code cell 3 of 3 (`raise ValueError('boom: planted failure')`) "
        "failed: ValueError: boom: planted failure" in result.stderr
    )
    assert (project / "runs" / "cpu" / "00_first.ipynb").exists()
    assert not (project / "runs" / "cpu" / "01_second.ipynb").exists()

    # Only the stage asked for, and what it depends on, runs.
    (project / "notebooks" / "01_second.ipynb").unlink()
    again = _make(project, "first", "PENDING=")
    assert again.returncode == 0 and "=== notebooks/00_first.ipynb" not in again.stdout


def test_the_analyses_run_two_at_a_time_on_one_thread_after_the_data_and_07_waits(tmp_path) -> None:
    project = _copy_project(tmp_path, {name: ["x = 1"] for name in (
        "00_data.ipynb", "01_generation.ipynb", "02_pool_responses.ipynb",
        "03_self_consistency.ipynb", "04_performance_spread.ipynb", "07_results.ipynb")})
    for preset, notebooks in (("sim", ("03_", "04_", "07_")),
                              ("cpu", ("00_", "01_", "02_", "03_", "04_", "07_"))):
        dry = _make(project, "-n", "-B", "all", f"PRESET={preset}", "WITH_SIM=").stdout
        assert "-j2 notebooks" in dry
        assert len([line for line in dry.splitlines() if line.startswith(
            "OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1 MKL_NUM_THREADS=1 RGD_LLM_CACHE=replay "
            ".venv/bin/papermill")]) == len(notebooks)
        starts = [dry.index(f"papermill notebooks/{nb}") for nb in notebooks]
        assert starts == sorted(starts)  # 00 -> 01 -> 02 -> (03, 04) -> 07
        assert "OMP_NUM_THREADS" not in _make(project, "-n", "-B", "all", f"PRESET={preset}",
                                              "WITH_SIM=", "NB_JOBS=1").stdout
    # a stage target runs that notebook after the data stages only (not the other analyses)
    alone = _make(project, "-n", "-B", "performance_spread", "PRESET=sim").stdout
    assert "notebooks/04_" in alone and "notebooks/03_" not in alone
    chained = _make(project, "-n", "-B", "performance_spread", "PENDING=", "WITH_SIM=").stdout
    assert "notebooks/02_" in chained and "notebooks/03_" not in chained
    assert "OMP_NUM_THREADS" not in chained
    # the default study's 07 reports the simulated world too: it waits for the whole sim study
    both = _make(project, "-n", "-B", "results").stdout
    assert both.index("papermill notebooks/04_performance_spread.ipynb runs/sim/") < both.index(
        "papermill notebooks/07_results.ipynb runs/cpu/")
