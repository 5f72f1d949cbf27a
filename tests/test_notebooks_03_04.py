"""Notebooks 03 (self-consistency) and 04 (performance spread, filtering gains) on the simulated
world, and the helpers of :mod:`rgd_utils.filtering` on small hand-built tables."""

from __future__ import annotations

import re
from pathlib import Path

import nbformat
import numpy as np
import pandas as pd
import papermill
import pytest
from bs4 import BeautifulSoup

from rgd_utils.benchmarks import make_question_table
from rgd_utils.calibration import wilson_interval
from rgd_utils.evaluation import evaluate_router
from rgd_utils.result_schema import RESULT_COLUMNS
from rgd_utils.filtering import (
    FILTER_CHOICES, evaluate_filters, filtered_questions, keep_mask, ranking_agreement_table,
    self_consistency_rates, spread_summary,
)
from rgd_utils.routers import BestSingleRouter, RoutingData

ROOT = Path(__file__).resolve().parents[1]
SIM = ["sim_mmlu_pro", "sim_supergpqa", "sim_medmcqa", "sim_bbeh"]
GENERATORS = ["sim-strong", "sim-medium", "sim-weak"]

# ----- hand-built tables -----------------------------------------------------------------------

POOL = ["m1", "m2", "m3"]
# Generated query: label, the generator's own answer, the pool's answers.
GENERATED = {
    "g1": ("A", "B", ["A", "B", "C"]),   # G disagrees (sc 0); pool majority: none (tie)
    "g2": ("A", "B", ["A", "C", "C"]),   # sc 0; majority C
    "g3": ("B", "B", ["B", "B", "B"]),   # sc 1; everybody right
    "g4": ("C", "C", ["A", "C", "A"]),   # sc 1; majority A
    "g5": ("D", "D", ["A", "D", "D"]),   # sc 1; majority D
}
# Real train queries: gold and the pool's answers (m1 best, then m2, then m3).
REAL = {"r1": ("A", ["A", "A", "B"]), "r2": ("B", ["B", "C", "C"])}


def _questions() -> pd.DataFrame:
    rows = [{"qid": q, "benchmark": "bench", "subject": "s", "question": q, "options": list("abcd"),
             "answer": label, "split": "train", "source": "gen"} for q, (label, _, _) in GENERATED.items()]
    rows += [{"qid": q, "benchmark": "bench", "subject": "s", "question": q, "options": list("abcd"),
              "answer": label, "split": "train", "source": "real"} for q, (label, _) in REAL.items()]
    return make_question_table(rows)


def _responses() -> pd.DataFrame:
    rows = [(q, "gen", m, c) for q, (_, _, answers) in GENERATED.items() for m, c in zip(POOL, answers)]
    rows += [(q, "gen", "G:letter", own) for q, (_, own, _) in GENERATED.items()]
    rows += [(q, "real", m, c) for q, (_, answers) in REAL.items() for m, c in zip(POOL, answers)]
    return pd.DataFrame(rows, columns=["qid", "source", "model", "choice"], dtype=object)


def test_self_consistency_rates_give_both_methods_with_wilson_intervals() -> None:
    rates = self_consistency_rates(_questions(), _responses(), POOL, {"gen": "G:letter"})
    assert rates["method"].tolist() == ["generator", "pool-majority"]
    assert rates["n"].tolist() == [5, 5]
    # generator: g3, g4, g5 agree with their labels; fallback: g3 (B) and g5 (D) only
    assert rates["consistent"].tolist() == [3, 2]
    np.testing.assert_allclose(rates["sc_rate"], [0.6, 0.4])
    np.testing.assert_allclose(rates[["low", "high"]].to_numpy(), [wilson_interval(3, 5), wilson_interval(2, 5)])
    fallback_only = self_consistency_rates(_questions(), _responses(), POOL)
    assert fallback_only["method"].tolist() == ["pool-majority"]


def test_ranking_agreement_table_compares_generated_with_real_train_accuracy() -> None:
    table = ranking_agreement_table(_questions(), _responses(), POOL)
    # real: m1 2/2 > m2 1/2 > m3 0/2; generated: m1 3/5 (g1 g2 g3) = m2 3/5 (g3 g4 g5) > m3 2/5
    # (g3 g5): two concordant pairs, one tie on the generated side -> tau-b = 2 / sqrt(2 * 3)
    assert table[["benchmark", "source", "n", "n_real"]].values.tolist() == [["bench", "gen", 5, 2]]
    assert table["tau"].iloc[0] == pytest.approx(2 / np.sqrt(6))


def test_spread_summary_counts_the_queries_the_whole_pool_gets_right_or_wrong() -> None:
    summary = spread_summary(_questions(), _responses(), POOL).set_index("source")
    # generated n_right: g1 1, g2 1, g3 3, g4 1, g5 2 -> one all-right query, none all-wrong
    assert summary.loc["gen", "n"] == 5
    assert summary.loc["gen", "all_right"] == pytest.approx(0.2)
    assert summary.loc["gen", "all_wrong"] == 0.0
    one, two = np.std([1, 0, 0]), np.std([1, 1, 0])
    assert summary.loc["gen", "mean_spread"] == pytest.approx((3 * one + 0 + two) / 5)
    assert summary.loc["gen", "spread_low"] <= summary.loc["gen", "mean_spread"] <= summary.loc["gen", "spread_high"]
    # real: r1 two right, r2 one right; per-model accuracy 1, 0.5, 0 -> std sqrt(1/6)
    assert summary.loc["real", "accuracy_std"] == pytest.approx(np.sqrt(1 / 6))


def test_keep_mask_and_filtered_questions_follow_the_filters_in_question_order() -> None:
    per_query = pd.DataFrame({"qid": ["q1", "q2", "q3"], "sc": [1, 0, 1], "n_right": [2, 1, 3],
                              "n_models": [3, 3, 3]})
    assert keep_mask(per_query, "none").tolist() == [True, True, True]
    assert keep_mask(per_query, "both").tolist() == [True, False, False]
    questions = pd.DataFrame({"qid": ["q3", "q2", "q1"], "x": [30, 20, 10]})
    assert filtered_questions(questions, per_query, "sc")["qid"].tolist() == ["q3", "q1"]
    assert filtered_questions(questions, per_query, "spread")["qid"].tolist() == ["q2", "q1"]
    with pytest.raises(ValueError, match="no diagnostics"):
        filtered_questions(pd.DataFrame({"qid": ["q4"]}), per_query, "none")
    with pytest.raises(ValueError, match="unknown filter"):
        keep_mask(per_query, "strict")


def _routing(choices: dict[str, list[str]], labels: dict[str, str]) -> RoutingData:
    qids = list(choices)
    return RoutingData(POOL, np.ones((len(qids), 2)), ["s"] * len(qids),
                       [choices[q] for q in qids], np.zeros((len(qids), len(POOL))),
                       labels=[labels[q] for q in qids], qids=qids)


def test_evaluate_filters_trains_on_the_kept_queries_and_pairs_the_difference() -> None:
    # Generated train: on g1-g4 the label is wrong (sc 0) and m1 repeats it; on g5-g6 it is
    # right (sc 1) and only m2 has it. Unfiltered, m1 looks best; after the sc filter, m2 does.
    train_choices = {f"g{i}": ["A", "B", "C"] for i in range(1, 5)} | {"g5": ["C", "B", "D"], "g6": ["C", "B", "D"]}
    train_labels = {f"g{i}": "A" for i in range(1, 5)} | {"g5": "B", "g6": "B"}
    train_questions = pd.DataFrame({"qid": list(train_choices)})
    per_query = pd.DataFrame({"qid": list(train_choices), "sc": [0, 0, 0, 0, 1, 1],
                              "n_right": [0] * 6, "n_models": [3] * 6})  # spread keeps nothing
    # Real test: m2 right on all four, m1 on one.
    test = _routing({"t1": ["A", "A", "C"], "t2": ["B", "A", "C"], "t3": ["B", "A", "C"], "t4": ["B", "A", "C"]},
                    {q: "A" for q in ("t1", "t2", "t3", "t4")})
    data = _routing(train_choices, train_labels)
    routing_data = lambda questions: data.subset(np.isin(data.qids, questions["qid"].to_numpy()))
    accuracy, gains = evaluate_filters(train_questions, per_query, routing_data, test, test,
                                       {"best": BestSingleRouter()}, FILTER_CHOICES, ks=(1,))
    table = accuracy.set_index("filter")
    assert table["n_train"].to_dict() == {"none": 6, "sc": 2, "spread": 0, "both": 0}
    assert table.loc["sc", "kept"] == pytest.approx(1 / 3)
    assert table.loc["none", "accuracy"] == 0.25 and table.loc["sc", "accuracy"] == 1.0
    assert table.loc[["spread", "both"], "accuracy"].isna().all()
    # the "none" row is what evaluate_router gives on the whole set
    direct = evaluate_router(BestSingleRouter(), data, test, (1,), reference_train=test)
    assert direct["accuracy"].iloc[0] == table.loc["none", "accuracy"]
    # one paired difference: sc - none (filters that kept nothing have none)
    assert gains[["filter", "router", "k"]].values.tolist() == [["sc", "best", 1]]
    assert gains["difference"].iloc[0] == pytest.approx(0.75)
    assert gains["low"].iloc[0] <= 0.75 <= gains["high"].iloc[0]


# ----- the notebooks on the simulated world ------------------------------------------------------


@pytest.fixture(scope="module")
def executed(tmp_path_factory) -> dict[str, tuple[nbformat.NotebookNode, Path]]:
    """Run notebooks 03 and 04 on the sim preset (scale 0.02) into one scratch folder."""
    scratch = tmp_path_factory.mktemp("nb0304")
    runs = {}
    for stem in ("03_self_consistency", "04_performance_spread"):
        out = scratch / f"{stem}.ipynb"
        papermill.execute_notebook(
            str(ROOT / "notebooks" / f"{stem}.ipynb"), str(out), kernel_name="python3", cwd=str(ROOT),
            progress_bar=False,
            parameters={"preset": "sim", "sim_scale": 0.02, "figures_dir": str(scratch / "figures"),
                        "results_dir": str(scratch / "results")},
        )
        runs[stem] = (nbformat.read(out, as_version=4), scratch)
    return runs


def _html_tables(notebook: nbformat.NotebookNode, tag: str) -> list[pd.DataFrame]:
    """The DataFrames displayed by the cell with ``tag``, read back from their HTML (one header
    row: the first header cell names the index column; cells stay text)."""
    cell = next(c for c in notebook.cells if tag in c.metadata.get("tags", []))
    tables = []
    for output in cell.get("outputs", []):
        html = output.get("data", {}).get("text/html")
        if not html:
            continue
        table = BeautifulSoup(html, "html.parser").find("table")
        header = [th.get_text(strip=True) for th in table.thead.find("tr").find_all("th")]
        rows = [[c.get_text(strip=True) for c in tr.find_all(["th", "td"])] for tr in table.tbody.find_all("tr")]
        tables.append(pd.DataFrame(rows, columns=["index", *header[1:]]).set_index("index"))
    return tables


def _text(notebook: nbformat.NotebookNode) -> str:
    return "\n".join(o.get("text", "") for c in notebook.cells for o in c.get("outputs", []))


def test_03_self_consistency_orders_the_simulated_generators(executed) -> None:
    notebook, scratch = executed["03_self_consistency"]
    assert "Every number in this notebook is SIMULATED" in _text(notebook)
    rates = _html_tables(notebook, "sc-rates")[0]  # the pool-majority fallback (sim has no other)
    assert list(rates.index) == GENERATORS and list(rates.columns) == SIM
    value = rates.map(lambda cell: float(cell.split(" ")[0]))
    n = rates.map(lambda cell: int(re.search(r"\((\d+)\)$", cell).group(1)))
    assert (n == 100).all().all()  # 5,000 generated queries per benchmark at scale 0.02
    # Planted label noise 5% / 15% / 30%: the strong generator agrees with the pool more often
    # than the weak one on most benchmarks, and on average the order is strict. (On the hardest
    # benchmark, sim_bbeh, the pool majority is mostly wrong and the fallback cannot tell.)
    assert (value.loc["sim-strong"] > value.loc["sim-weak"]).sum() >= 3
    mean = value.mean(axis=1)
    assert mean["sim-strong"] > mean["sim-medium"] > mean["sim-weak"]
    kept = _html_tables(notebook, "kept-sc")[0][SIM].astype(float)
    assert ((kept >= 0) & (kept <= 1)).all().all()
    np.testing.assert_allclose(kept.to_numpy(), value.to_numpy(), atol=0.006)  # kept = sc rate
    tau = _html_tables(notebook, "tau")[0].map(lambda cell: float(cell.split(" ")[0]))
    assert tau.shape == (3, 4) and ((tau >= -1) & (tau <= 1)).all().all()
    assert (scratch / "figures" / "03_self_consistency_sim.png").stat().st_size > 10_000


def test_04_writes_a_results_row_for_every_generator_filter_router_and_k(executed) -> None:
    notebook, scratch = executed["04_performance_spread"]
    assert "Every number in this notebook is SIMULATED" in _text(notebook)
    results = pd.read_parquet(scratch / "results" / "04_performance_spread_sim.parquet")
    assert list(results.columns) == list(RESULT_COLUMNS)
    # the filter grid measures accuracy only; notebooks 05 and 06 measure the costs
    assert results[["cost", "aiq", "aiq_low", "aiq_high"]].isna().all().all()
    keys = results[["benchmark", "train_source", "filter", "router", "k"]]
    assert not keys.duplicated().any()
    expected = {(b, g, f, r, k) for b in SIM for g in GENERATORS for f in FILTER_CHOICES
                for r in ("CASCAL", "kNN") for k in (1, 3)}
    assert set(map(tuple, keys.values.tolist())) == expected
    assert set(results["pool"]) == {"sim-large"} and set(results["seed"]) == {0}
    assert results["accuracy"].between(0, 1).all()
    assert ((results["low"] <= results["accuracy"]) & (results["accuracy"] <= results["high"])).all()
    assert (results.groupby("benchmark")["n"].nunique() == 1).all()  # every router, same test split
    assert results.equals(results.sort_values(list(RESULT_COLUMNS[:7])).reset_index(drop=True))
    for name in ("spread_distributions", "filter_gains"):
        assert (scratch / "figures" / f"04_{name}_sim.png").stat().st_size > 10_000


def test_04_spread_and_kept_fractions_follow_the_planted_generators(executed) -> None:
    notebook, _ = executed["04_performance_spread"]
    kept = _html_tables(notebook, "kept")[0]
    fractions = kept[["kept_sc", "kept_spread", "kept_both"]].astype(float)
    assert len(kept) == 12 and ((fractions >= 0) & (fractions <= 1)).all().all()
    assert (fractions["kept_both"] <= fractions[["kept_sc", "kept_spread"]].min(axis=1) + 1e-9).all()
    spread = _html_tables(notebook, "spread-summary")[0].astype({"mean_spread": float})
    by = spread.set_index(["source", "benchmark"])["mean_spread"]
    # the weak generator's wider difficulties and noisier labels leave more unanimous queries
    assert sum(by[("sim-strong", b)] > by[("sim-weak", b)] for b in SIM) >= 3
    # one paired difference per benchmark x generator x filter x router x k
    assert re.search(r"\b\d+ of 144 paired differences exclude 0", _text(notebook))
