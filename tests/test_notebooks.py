"""Every notebook runs end to end with the small parameters of notebooks/smoke.yaml."""

from __future__ import annotations

from pathlib import Path

import nbformat
import pandas as pd
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
    """Run the notebooks in order, as `make smoke` does, into one scratch folder, replaying the
    committed LLM cache (a missing call fails the notebook; no model is ever loaded)."""
    scratch = tmp_path_factory.mktemp("smoke")
    results = {}
    patch = pytest.MonkeyPatch()
    patch.setenv("RGD_LLM_CACHE", "replay")
    for notebook in NOTEBOOKS:
        out = scratch / notebook.name
        papermill.execute_notebook(
            str(notebook), str(out), kernel_name="python3", cwd=str(ROOT), progress_bar=False,
            parameters={**SMOKE, "data_dir": str(scratch / "data"), "figures_dir": str(scratch / "figures"),
                        **({"results_dir": str(scratch / "results")} if "results_dir = " in notebook.read_text() else {})},
        )
        results[notebook.stem] = (nbformat.read(out, as_version=4), scratch)
    patch.undo()
    return results


def test_every_notebook_has_a_parameters_cell() -> None:
    assert NOTEBOOKS, "no notebook found"
    declared = set()
    for path in NOTEBOOKS:
        notebook = nbformat.read(path, as_version=4)
        tagged = [c for c in notebook.cells if "parameters" in c.metadata.get("tags", [])]
        assert len(tagged) == 1, f"{path.name} needs exactly one cell tagged 'parameters'"
        for name in ("preset", "data_dir", "figures_dir"):
            assert f"{name} =" in tagged[0].source, f"{path.name} lacks parameter {name}"
        declared |= {name for name in SMOKE if f"{name} =" in tagged[0].source}
    assert declared == set(SMOKE), f"smoke.yaml sets parameters no notebook has: {set(SMOKE) - declared}"


def test_00_data_writes_the_question_dataset_and_reports_bad_rows(executed) -> None:
    from rgd_utils.benchmarks import read_questions

    notebook, scratch = executed["00_data"]
    text = _text_of(notebook)
    assert "medmcqa: kept 4182, rejected 1 (1 fewer than two distinct non-empty options)" in text
    assert "mmlu: kept 14042, rejected 0 (none)" in text
    questions = read_questions(scratch / "data" / "questions", sources=["real"])
    committed = read_questions(ROOT / "data" / "questions", sources=["real"])
    assert questions.equals(committed)  # the smoke run keeps every question: the study's own split
    rejected = (scratch / "data" / "reports" / "rejected_questions.csv").read_text(encoding="utf-8")
    assert "fewer than two distinct non-empty options" in rejected
    assert (scratch / "figures" / "00_questions.png").stat().st_size > 10_000
    assert (scratch / "figures" / "00_questions.pdf").exists()


def test_01_generation_writes_screened_items_of_every_generator(executed) -> None:
    from rgd_utils.benchmarks import read_questions
    from rgd_utils.config import get_preset

    notebook, scratch = executed["01_generation"]
    study = get_preset("cpu")
    text = _text_of(notebook)
    n_calls = len(study.generators) * len(study.study_benchmarks) * SMOKE["generation_attempts"]
    assert f"{n_calls:,} generation calls" in text
    audit = pd.read_parquet(scratch / "data" / "reports" / "generation_audit.parquet")
    assert len(audit) == n_calls and set(audit["source"]) == {g.name for g in study.generators}
    assert audit.loc[~audit["kept"], "reason"].notna().all()
    generated = read_questions(scratch / "data" / "questions", sources=[g.name for g in study.generators])
    assert len(generated) == int(audit["kept"].sum()) > 0
    assert set(generated["answer"]) <= set("ABCD") and (generated["options"].map(len) == 4).all()
    assert (scratch / "figures" / "01_generation.png").stat().st_size > 10_000


def test_02_pool_responses_answers_every_study_question(executed) -> None:
    from rgd_utils.benchmarks import read_questions
    from rgd_utils.config import get_preset
    from rgd_utils.responses import read_responses

    notebook, scratch = executed["02_pool_responses"]
    study = get_preset("cpu")
    responses = read_responses(scratch / "data" / "responses")
    questions = read_questions(scratch / "data" / "questions")
    generated = questions[questions["source"] != "real"]
    n_real = (SMOKE["n_train"] + SMOKE["n_test"]) * len(study.study_benchmarks)
    assert len(responses) == len(study.experts) * (n_real + len(generated))
    assert set(responses["model"]) == set(study.experts)
    real = responses[responses["source"] == "real"]
    assert real["correct"].notna().all()  # real questions all have a gold letter
    text = _text_of(notebook)
    assert "Real TEST questions: accuracy [95% interval]" in text
    assert (scratch / "figures" / "02_agreement.png").stat().st_size > 10_000


def test_every_notebook_ends_with_what_its_run_shows_and_cites_nothing_outside_the_project() -> None:
    # Files outside the repository: tests/test_readme_numbers.py scans every file for them.
    tags = ("[OURS]", "[SEC]", "[P-abs]")  # the spec's source tags, undefined here
    for path in NOTEBOOKS:
        notebook = nbformat.read(path, as_version=4)
        last = notebook.cells[-1]
        assert last.cell_type == "code" and "display(run_summary(" in last.source, \
            f"{path.name} must end with a cell that shows run_summary(...)"
        text = "\n".join(cell.source for cell in notebook.cells)
        assert not [tag for tag in tags if tag in text], f"{path.name} uses one of {tags}"


def test_executed_notebooks_end_on_their_summary_without_warnings(executed) -> None:
    from rgd_utils.summary import HEADING

    for name, (notebook, _) in executed.items():
        outputs = notebook.cells[-1].outputs
        markdown = [o["data"]["text/markdown"] for o in outputs if "text/markdown" in o.get("data", {})]
        assert len(markdown) == 1 and markdown[0].startswith(HEADING), f"{name}: no summary at the end"
        bullets = [line for line in markdown[0].splitlines() if line.startswith("- ")]
        assert bullets and any(ch.isdigit() for ch in markdown[0]), f"{name}: a summary without a number"
        noise = [o.get("text", "") for cell in notebook.cells for o in cell.get("outputs", [])
                 if o.get("name") == "stderr" and "Warning" in o.get("text", "")]
        assert not noise, f"{name} prints warnings: {noise[:2]}"
