"""Specialists against their base and the strongest generalist, and the pool tables built on it."""

from __future__ import annotations

import dataclasses

import numpy as np
import pandas as pd
import pytest

from rgd_utils import llm_runs
from rgd_utils.benchmarks import make_question_table
from rgd_utils.config import get_preset
from rgd_utils.specialists.compare import specialist_comparison

BENCHMARKS = ("mmlu", "medmcqa", "arc_easy", "commonsenseqa")
SPECIALIST_OF = {"mmlu": "knowledge", "medmcqa": "medical", "arc_easy": "science",
                 "commonsenseqa": "commonsense"}
BASE, QWEN = "gemma3-270m:cloze", "qwen2.5-coder-1.5b:cloze"


def _responses(rows: dict[str, dict[str, list[int]]]) -> tuple[pd.DataFrame, pd.DataFrame]:
    """expert -> benchmark -> per-question correctness; the responses and their questions."""
    questions = pd.DataFrame([{"qid": f"{b}{i}", "benchmark": b}
                              for b, hits in next(iter(rows.values())).items() for i in range(len(hits))])
    responses = pd.DataFrame([{"qid": f"{b}{i}", "model": expert, "choice": "A" if h else "B",
                               "correct": bool(h)}
                              for expert, per in rows.items() for b, hits in per.items()
                              for i, h in enumerate(hits)])
    return responses, questions


def test_each_specialist_is_compared_with_its_base_and_the_reference_by_hand() -> None:
    responses, questions = _responses({
        "gemma3-270m+science:cloze": {"arc_easy": [1, 1, 1, 0], "mmlu": [0, 0, 1, 0]},
        BASE: {"arc_easy": [1, 0, 0, 0], "mmlu": [0, 1, 1, 0]},
        QWEN: {"arc_easy": [1, 1, 0, 0], "mmlu": [1, 1, 1, 1]},
    })
    table = specialist_comparison(responses, questions, QWEN).set_index("benchmark")
    assert list(table.index) == ["arc_easy", "mmlu"]
    assert table.loc["arc_easy", "own domain"] and not table.loc["mmlu", "own domain"]
    assert table["specialist"].eq("gemma3-270m+science:cloze").all()
    assert table["domain"].eq("science").all()
    np.testing.assert_allclose(table["accuracy"], [0.75, 0.25])
    np.testing.assert_allclose(table["vs base"], [0.5, -0.25])
    np.testing.assert_allclose(table["vs reference"], [0.25, -0.75])
    assert (table["vs base low"] <= table["vs base"]).all() and (table["vs base"] <= table["vs base high"]).all()
    # Every question of arc_easy: the specialist is never worse than its base, so the paired
    # interval of the gain cannot go below 0.
    assert table.loc["arc_easy", "vs base low"] >= 0.0
    assert table["n"].eq(4).all()


def test_a_missing_base_is_a_clear_error() -> None:
    responses, questions = _responses({
        "gemma3-270m+medical:cloze": {"medmcqa": [1, 0]},
        QWEN: {"medmcqa": [0, 0]},
    })
    with pytest.raises(ValueError, match="gemma3-270m:cloze, which has no answers.*llm_runs answer"):
        specialist_comparison(responses, questions, QWEN)


def test_pool_tables_of_a_specialist_pool(monkeypatch, tmp_path, capsys) -> None:
    """Each specialist right on its own domain only, Qwen right on half of everything: choosing
    the specialist per domain beats the best single expert, and the tables say so."""
    preset = dataclasses.replace(get_preset("cpu-specialists"), n_test=4)
    questions = make_question_table(
        {"qid": f"{b}{i}", "benchmark": b, "subject": "s", "question": f"{b} question {i}?",
         "options": ["a", "b", "c", "d"], "answer": "A", "split": "test"}
        for b in BENCHMARKS for i in range(4))
    rows = {f"gemma3-270m+{SPECIALIST_OF[t]}:cloze": {b: [int(b == t)] * 4 for b in BENCHMARKS}
            for t in BENCHMARKS}
    rows[BASE] = {b: [0, 0, 0, 0] for b in BENCHMARKS}
    rows[QWEN] = {b: [1, 1, 0, 0] for b in BENCHMARKS}
    responses, _ = _responses(rows)

    def replay(real, experts, cache_root, engine=None):
        return responses[responses["qid"].isin(real["qid"])], ["smollm2-135m:cloze"]

    monkeypatch.setattr(llm_runs, "replay_answers", replay)
    tables, missing = llm_runs.pool_tables(preset, questions, [], tmp_path, test_only=True)
    assert missing == ["smollm2-135m:cloze"]
    assert set(tables) == {"accuracy", "domain_choice", "specialists"}
    assert tables["accuracy"].loc[QWEN, "mmlu"].startswith("0.500 [")
    choice = tables["domain_choice"].loc["specialist per domain, single expert in hindsight"]
    assert choice["best single expert"] == QWEN
    assert choice["its accuracy"] == 0.5 and choice["accuracy"] == 1.0 and choice["gain"] == 0.5
    assert choice["low"] > 0
    specialists = tables["specialists"]
    assert f"vs {QWEN}" in specialists.columns
    own = specialists[specialists["own domain"]]
    assert len(own) == 4 and own["vs base"].eq(1.0).all() and own[f"vs {QWEN}"].eq(0.5).all()

    assert llm_runs.print_pool(preset, questions, [], tmp_path, True, tmp_path / "tables") == 0
    written = sorted(p.name for p in (tmp_path / "tables").iterdir())
    assert "pool_specialists_cpu-specialists.md" in written and len(written) == 9
    assert "left out: smollm2-135m:cloze" in capsys.readouterr().out
