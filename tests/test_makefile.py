"""The Makefile: a stamp keyed on pyproject.toml, papermill with an explicit kernel and --cwd,
stage targets chained in order, and a failing cell that stops make and is named."""

from __future__ import annotations

import hashlib
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


def _copy_project(tmp_path: Path, notebooks: dict[str, list[str]], parameters: str = "") -> Path:
    """A copy of the project's build files with its own notebooks, sharing .venv and the package."""
    project = tmp_path / "project"
    (project / "notebooks").mkdir(parents=True)
    for name in ("Makefile", "pyproject.toml"):
        shutil.copy2(ROOT / name, project / name)  # keeps mtimes: the shared .venv stays current
    (project / ".venv").symlink_to(VENV)
    (project / "rgd_utils").symlink_to(ROOT / "rgd_utils")
    for name, sources in notebooks.items():
        notebook = nbformat.v4.new_notebook()
        params = nbformat.v4.new_code_cell('preset = "cpu"\ndata_dir = "data"\nfigures_dir = "figures"\n'
                                           + parameters)
        params.metadata["tags"] = ["parameters"]
        notebook.cells = [params] + [nbformat.v4.new_code_cell(s) for s in sources]
        notebook.metadata["kernelspec"] = {"name": "rgd", "display_name": "Python (rgd)", "language": "python"}
        nbformat.write(notebook, project / "notebooks" / name)
    return project


def test_the_makefile_is_thin_and_help_lists_every_target() -> None:
    assert len((ROOT / "Makefile").read_text()) < 6000
    result = _make(ROOT, "help")
    for target in ("make all", "make stale", "make test", "make test-slow", "make smoke", "make lab",
                   "make report", "make clean", "make llm", "make specialists-env", "make data;",
                   "make results;"):
        assert target in result.stdout
    pending = _make(ROOT, "help", "PENDING=notebooks/01_generation.ipynb").stdout
    assert "(run them with PENDING=): 01_generation.ipynb" in pending


def test_make_passes_its_variables_to_the_stage_runner() -> None:
    dry = " ".join(_make(ROOT, "-n", "all", "PRESET=sim", "NB_PARAMS=-p seed 1", "NB_JOBS=1").stdout.split())
    assert ("RGD_LLM_CACHE=replay .venv/bin/python -m rgd_utils.stages --preset sim --out runs/sim "
            "--data-dir data --figures-dir figures --results-dir results --nb-params '-p seed 1' "
            "--pending '' --jobs 1 run") in dry  # a fresh clone replays, never computes
    assert "--generators" not in dry  # unset: the preset's complete generators
    assert "--generators 'none'" in _make(ROOT, "-n", "all", "GENERATORS=none").stdout
    assert "--generators ''" in _make(ROOT, "-n", "all", "GENERATORS=").stdout
    assert "--with-sim runs/sim" in _make(ROOT, "-n", "all").stdout  # the default study: sim first
    assert "--with-sim runs/smoke/sim" in _make(ROOT, "-n", "all", "OUT=runs/smoke").stdout
    assert "--with-sim" not in _make(ROOT, "-n", "all", "WITH_SIM=").stdout
    assert "rgd_utils.stages" in _make(ROOT, "-n", "stale").stdout
    assert " run data" in _make(ROOT, "-n", "data").stdout


def test_report_builds_from_the_run_folders_that_exist(tmp_path) -> None:
    project = _copy_project(tmp_path, {"00_data.ipynb": ["x = 1"]})
    (project / "runs" / "sim").mkdir(parents=True)  # runs/cpu does not exist: left out
    dry_run = _make(project, "-n", "report", "RESULTS_DIR=out").stdout
    assert ("-m rgd_utils.report --executed runs/sim --figures figures --tables out/tables "
            "--out runs/report") in " ".join(dry_run.replace("\\\n", " ").split())
    (project / "runs" / "cpu").mkdir()
    dry_run = " ".join(_make(project, "-n", "report").stdout.replace("\\\n", " ").split())
    assert "--executed runs/cpu runs/sim --figures figures --tables results/tables" in dry_run
    (project / "runs" / "cpu-specialists").mkdir()  # the specialists' run, when there is one
    dry_run = " ".join(_make(project, "-n", "report").stdout.replace("\\\n", " ").split())
    assert "--executed runs/cpu runs/cpu-specialists runs/sim --figures" in dry_run
    assert "papermill" not in dry_run  # the report of whatever ran: it does not run the study


def test_environment_stamp_is_keyed_on_pyproject(tmp_path) -> None:
    project = tmp_path / "p"
    project.mkdir()
    shutil.copy(ROOT / "Makefile", project / "Makefile")
    shutil.copy(ROOT / "pyproject.toml", project / "pyproject.toml")
    dry_run = _make(project, "-n", "venv").stdout
    assert '-m pip install --quiet -e ".[dev]"' in dry_run and "-m rgd_utils.install base" in dry_run
    assert _make(project, "-q", "venv").returncode == 1  # no environment yet
    digest = hashlib.sha256((project / "pyproject.toml").read_bytes()).hexdigest()[:16]
    (project / ".venv").mkdir()
    (project / ".venv" / f".rgd-env-{digest}").touch()
    assert _make(project, "-q", "venv").returncode == 0  # current: reused as it is
    with (project / "pyproject.toml").open("a") as handle:
        handle.write("\n# a changed pin\n")
    assert _make(project, "-q", "venv").returncode == 1  # changed: reinstalled


@needs_venv
def test_stages_rerun_exactly_what_changed(tmp_path) -> None:
    project = _copy_project(tmp_path, {
        "00_first.ipynb": ["open(f'{data_dir}/first.txt', 'w').write(f'seed {seed}')"],
        "01_second.ipynb": ["open('data/second.txt', 'w').write(open('data/first.txt').read())"],
        "03_third.ipynb": ["open('data/third.txt', 'w').write(open('data/input.txt').read())"],
    }, parameters="seed = 0")
    (project / "data").mkdir()
    (project / "data" / "input.txt").write_text("committed input")
    assert _make(project, "-q", "venv").returncode == 0, "the copy must reuse .venv, not reinstall it"
    stale = _make(project, "stale", "WITH_SIM=").stdout.splitlines()
    assert [line.split(" ")[0] for line in stale] == [
        "notebooks/00_first.ipynb", "notebooks/01_second.ipynb", "notebooks/03_third.ipynb"]
    first = _make(project, "all", "WITH_SIM=")
    assert first.returncode == 0, first.stderr
    assert (project / "data" / "second.txt").read_text() == "seed 0"
    assert "all 3 notebooks are current" in _make(project, "all", "WITH_SIM=").stdout  # nothing ran
    assert _make(project, "stale", "WITH_SIM=").stdout == ""

    # a parameter: the notebooks that take it and those after them
    seed = _make(project, "stale", "WITH_SIM=", "NB_PARAMS=-p seed 1").stdout.splitlines()
    assert seed[0] == "notebooks/00_first.ipynb (preset cpu, runs/cpu/): parameter seed: 0 -> 1"
    assert seed[1] == "notebooks/01_second.ipynb (preset cpu, runs/cpu/): parameter seed: 0 -> 1"
    assert seed[2].startswith("notebooks/03_third.ipynb")
    # an input that one notebook read: that notebook only
    (project / "data" / "input.txt").write_text("a new input")
    assert _make(project, "stale", "WITH_SIM=").stdout == (
        "notebooks/03_third.ipynb (preset cpu, runs/cpu/): input data/input.txt changed\n")
    rerun = _make(project, "all", "WITH_SIM=")
    assert "=== notebooks/03_third.ipynb" in rerun.stdout and "00_first" not in rerun.stdout
    assert (project / "data" / "third.txt").read_text() == "a new input"
    # a deleted output is rebuilt by its stage target
    (project / "data" / "first.txt").unlink()
    assert "output data/first.txt is missing" in _make(project, "stale", "WITH_SIM=").stdout
    again = _make(project, "first", "WITH_SIM=")
    assert again.returncode == 0 and "=== notebooks/01_second" not in again.stdout
    assert (project / "data" / "first.txt").read_text() == "seed 0"


@needs_venv
def test_an_edited_module_makes_stale_only_the_notebooks_that_imported_it(tmp_path) -> None:
    project = _copy_project(tmp_path, {
        "00_first.ipynb": ["from rgd_utils.paired_stats import holm", "print(holm([0.01, 0.04]))"],
        "01_second.ipynb": ["print('no rgd_utils here')"],
    })
    (project / "rgd_utils").unlink()  # a copy of the package, to edit
    shutil.copytree(ROOT / "rgd_utils", project / "rgd_utils", ignore=shutil.ignore_patterns("__pycache__"))
    assert _make(project, "all", "WITH_SIM=").returncode == 0
    assert _make(project, "stale", "WITH_SIM=").stdout == ""
    with (project / "rgd_utils" / "report.py").open("a") as handle:  # imported by neither notebook
        handle.write("\n# an edit\n")
    assert _make(project, "stale", "WITH_SIM=").stdout == ""
    with (project / "rgd_utils" / "paired_stats.py").open("a") as handle:
        handle.write("\n# an edit\n")
    assert _make(project, "stale", "WITH_SIM=").stdout.splitlines() == [
        "notebooks/00_first.ipynb (preset cpu, runs/cpu/): module rgd_utils/paired_stats.py changed",
        "notebooks/01_second.ipynb (preset cpu, runs/cpu/): runs after cpu 00_first"]


@needs_venv
def test_a_failing_cell_stops_the_run_and_is_named(tmp_path) -> None:
    project = _copy_project(tmp_path, {
        "00_first.ipynb": ["x = 1", "raise ValueError('boom: planted failure')"],
        "01_second.ipynb": ["open('second.txt', 'w').write('ran')"]})
    result = _make(project, "all", "WITH_SIM=")
    assert result.returncode != 0 and not (project / "second.txt").exists()
    assert ("notebooks/00_first.ipynb: code cell 3 of 3 (`raise ValueError('boom: planted failure')`) "
            "failed: ValueError: boom: planted failure" in result.stderr)
    assert not (project / "runs" / "cpu" / "00_first.ipynb").exists()


@needs_venv
def test_the_analyses_run_two_at_a_time_on_one_thread_and_07_waits(tmp_path) -> None:
    record = ("import os, time; time.sleep(1); open(f'{results_dir}/NAME.txt', 'w')"
              ".write(f'{time.time()} ' + os.environ.get('OMP_NUM_THREADS', '-'))")
    project = _copy_project(tmp_path, {name: [record.replace("NAME", name[:2])] for name in (
        "03_self_consistency.ipynb", "04_performance_spread.ipynb", "07_results.ipynb")},
        parameters='results_dir = "results"')
    (project / "out").mkdir()
    result = _make(project, "all", "PRESET=sim", "RESULTS_DIR=out")
    assert result.returncode == 0, result.stderr
    times = {n: (project / "out" / f"{n}.txt").read_text().split() for n in ("03", "04", "07")}
    assert {t[1] for t in times.values()} == {"1"}  # one BLAS thread each
    assert float(times["07"][0]) > max(float(times["03"][0]), float(times["04"][0])) + 0.5
