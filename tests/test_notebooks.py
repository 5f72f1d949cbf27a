"""Every notebook runs end to end with the small parameters of notebooks/smoke.yaml."""

from __future__ import annotations

from pathlib import Path

import nbformat
import papermill
import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb"))
SMOKE = yaml.safe_load((ROOT / "notebooks" / "smoke.yaml").read_text(encoding="utf-8"))


def _text_of(notebook: nbformat.NotebookNode) -> str:
    parts = []
    for cell in notebook.cells:
        for output in cell.get("outputs", []):
            parts.append(output.get("text", ""))
            parts.append(str(output.get("data", {}).get("text/plain", "")))
    return "\n".join(parts)


@pytest.fixture(scope="module")
def executed(tmp_path_factory) -> dict[str, tuple[nbformat.NotebookNode, Path]]:
    """Run the notebooks in order, as `make smoke` does, into one scratch folder."""
    scratch = tmp_path_factory.mktemp("smoke")
    results = {}
    for notebook in NOTEBOOKS:
        out = scratch / notebook.name
        papermill.execute_notebook(
            str(notebook), str(out), kernel_name="python3", cwd=str(ROOT), progress_bar=False,
            parameters={**SMOKE, "data_dir": str(scratch / "data"), "figures_dir": str(scratch / "figures")},
        )
        results[notebook.stem] = (nbformat.read(out, as_version=4), scratch)
    return results


def test_every_notebook_has_a_parameters_cell() -> None:
    assert NOTEBOOKS, "no notebook found"
    for path in NOTEBOOKS:
        notebook = nbformat.read(path, as_version=4)
        tagged = [c for c in notebook.cells if "parameters" in c.metadata.get("tags", [])]
        assert len(tagged) == 1, f"{path.name} needs exactly one cell tagged 'parameters'"
        for name in ("preset", "data_dir", "figures_dir", *SMOKE):
            assert f"{name} =" in tagged[0].source, f"{path.name} lacks parameter {name}"


def test_00_data_writes_the_question_dataset_and_reports_bad_rows(executed) -> None:
    from rgd_utils.benchmarks import read_questions

    notebook, scratch = executed["00_data"]
    text = _text_of(notebook)
    assert "medmcqa: kept 4182, rejected 1 (1 fewer than two distinct non-empty options)" in text
    assert "mmlu: kept 14042, rejected 0 (none)" in text
    questions = read_questions(scratch / "data" / "questions")
    n = SMOKE["max_per_benchmark"]
    assert questions.groupby("benchmark").size().max() == n
    assert set(questions["split"]) == {"train", "test"}
    rejected = (scratch / "data" / "reports" / "rejected_questions.csv").read_text(encoding="utf-8")
    assert "fewer than two distinct non-empty options" in rejected
    assert (scratch / "figures" / "00_questions.png").stat().st_size > 10_000
    assert (scratch / "figures" / "00_questions.pdf").exists()
