"""rgd_utils.results (the tidy table, its tables) and notebook 07 on results files the tests
write (the claims: tests/test_claims.py)."""

from __future__ import annotations

from pathlib import Path

import nbformat
import numpy as np
import pandas as pd
import papermill
import pytest

from rgd_utils.result_schema import RESULT_COLUMNS
from rgd_utils.results import (
    TIDY_COLUMNS,
    ablation_table,
    collect_results,
    cost_points,
    cost_table,
    filtering_table,
    main_table,
    markdown,
    read_diagnostics,
    within_concordance,
    write_diagnostics,
    write_named,
    write_table,
    write_tidy_results,
)

ROOT = Path(__file__).resolve().parents[1]
Z = 1.959964
GENERATORS = ["sim-strong", "sim-medium", "sim-weak"]


def row(benchmark, source, router, accuracy, k=1, half=0.01, filter_="none", n=100, cost=None,
        aiq=None):
    """One results row (sim pool) with a symmetric 95% interval of half-width ``half`` (also
    around ``aiq`` when given)."""
    found = {"benchmark": benchmark, "pool": "sim-large", "train_source": source,
             "filter": filter_, "router": router, "k": k, "seed": 0, "accuracy": accuracy, "n": n,
             "low": accuracy - half, "high": accuracy + half, "cost": cost}
    if aiq is not None:
        found.update(aiq=aiq, aiq_low=aiq - half, aiq_high=aiq + half)
    return found


def frame(rows) -> pd.DataFrame:
    return pd.DataFrame(rows, columns=list(RESULT_COLUMNS))


def tidy(rows, preset="sim") -> pd.DataFrame:
    return frame(rows).assign(preset=preset)[list(TIDY_COLUMNS)]


def degrading_world(qa_drop: float, qo_drop: float, half: float = 0.005) -> list[dict]:
    """Two benchmarks; kNN (query-answer) and CASCAL (query-only) trained on strong, medium and
    weak data, losing ``qa_drop`` and ``qo_drop`` from strong to weak."""
    rows = []
    for benchmark in ("b1", "b2"):
        for i, source in enumerate(GENERATORS):
            rows.append(row(benchmark, source, "kNN", 0.7 - qa_drop * i / 2, half=half))
            rows.append(row(benchmark, source, "CASCAL", 0.6 - qo_drop * i / 2, half=half))
        rows.append(row(benchmark, "real", "kNN", 0.72, half=half))
        rows.append(row(benchmark, "real", "random", 0.5, half=half))
    return rows


# ----- collecting -----

def test_collect_results_merges_notebooks_and_drops_shared_rows(tmp_path):
    shared = row("b1", "real", "CASCAL", 0.6)
    frame([shared, row("b1", "real", "kNN", 0.7)]).to_parquet(tmp_path / "05_router_baselines_sim.parquet")
    frame([shared, row("b1", "real", "CASCAL-GT", 0.65)]).to_parquet(tmp_path / "06_cascal_sim.parquet")
    frame([row("b1", "real", "kNN", 0.4)]).to_parquet(tmp_path / "05_router_baselines_cpu.parquet")
    results = collect_results(tmp_path)
    assert list(results.columns) == list(TIDY_COLUMNS)
    assert sorted(zip(results["preset"], results["router"], results["accuracy"])) == [
        ("cpu", "kNN", 0.4), ("sim", "CASCAL", 0.6), ("sim", "CASCAL-GT", 0.65), ("sim", "kNN", 0.7)]
    paths = write_tidy_results(results, tmp_path)
    assert pd.read_parquet(paths[0]).equals(results)
    assert paths[1].read_text().splitlines()[0] == ",".join(TIDY_COLUMNS)
    # the tidy files themselves are not read back as notebook results
    assert len(collect_results(tmp_path)) == 4


def test_collect_results_refuses_disagreeing_notebooks_and_empty_folders(tmp_path):
    with pytest.raises(FileNotFoundError, match="run notebooks 04-06"):
        collect_results(tmp_path)
    frame([row("b1", "real", "CASCAL", 0.6)]).to_parquet(tmp_path / "05_a_sim.parquet")
    frame([row("b1", "real", "CASCAL", 0.61)]).to_parquet(tmp_path / "06_b_sim.parquet")
    with pytest.raises(ValueError, match="disagree"):
        collect_results(tmp_path)


def test_a_result_without_costs_takes_them_from_the_notebook_that_measured_them(tmp_path):
    frame([row("b1", "real", "CASCAL", 0.6)]).to_parquet(tmp_path / "04_a_sim.parquet")
    frame([row("b1", "real", "CASCAL", 0.6, cost=0.4, aiq=0.55)]).to_parquet(tmp_path / "06_b_sim.parquet")
    results = collect_results(tmp_path)
    assert len(results) == 1
    assert results.loc[0, ["accuracy", "cost", "aiq", "aiq_low"]].tolist() == [0.6, 0.4, 0.55, 0.54]
    frame([row("b1", "real", "CASCAL", 0.6, cost=0.5)]).to_parquet(tmp_path / "05_c_sim.parquet")
    with pytest.raises(ValueError, match="disagree"):
        collect_results(tmp_path)


def test_diagnostics_round_trip_with_preset(tmp_path):
    table = pd.DataFrame({"benchmark": ["b1"], "source": ["sim-weak"], "sc_rate": [0.7]})
    path = write_diagnostics(table, tmp_path, "03_self_consistency", "sim")
    assert path == tmp_path / "diagnostics" / "03_self_consistency_sim.parquet"
    back = read_diagnostics(tmp_path)
    assert back.to_dict("records") == [{"benchmark": "b1", "source": "sim-weak", "sc_rate": 0.7,
                                        "preset": "sim"}]
    assert read_diagnostics(tmp_path / "nowhere").empty


# ----- tables -----

def test_main_table_orders_families_and_sources_and_averages_benchmarks():
    results = tidy(degrading_world(0.2, 0.0))
    table = main_table(results, "sim", k=1)
    assert list(table.columns) == ["b1", "b2", "average"]
    assert list(table.index) == [
        ("reference", "random", "real"),
        ("query-answer", "kNN", "real"), ("query-answer", "kNN", "sim-strong"),
        ("query-answer", "kNN", "sim-medium"), ("query-answer", "kNN", "sim-weak"),
        ("query-only", "CASCAL", "sim-strong"), ("query-only", "CASCAL", "sim-medium"),
        ("query-only", "CASCAL", "sim-weak")]
    # the average of two equal benchmarks is their value; its interval shrinks by sqrt(2)
    assert table.loc[("query-answer", "kNN", "sim-weak"), "average"] == "0.500 [0.496, 0.504]"
    assert table.loc[("query-answer", "kNN", "sim-weak"), "b1"] == "0.500 [0.495, 0.505]"


def test_filtering_and_ablation_tables():
    rows = degrading_world(0.2, 0.0)
    for benchmark in ("b1", "b2"):
        rows += [row(benchmark, "sim-weak", "kNN", 0.55, filter_="both"),
                 row(benchmark, "sim-weak", "CASCAL[no-prune]", 0.58),
                 row(benchmark, "real", "CASCAL[no-prune]", 0.62),
                 row(benchmark, "real", "CASCAL", 0.61)]
    results = tidy(rows)
    filtering = filtering_table(results, "sim")
    assert list(filtering.columns) == ["none", "both"]
    assert filtering.loc[("kNN", 1, "sim-weak")].tolist() == ["0.500 [0.496, 0.504]",
                                                              "0.550 [0.543, 0.557]"]
    ablations = ablation_table(results, "sim")
    assert list(ablations.index) == ["CASCAL", "CASCAL[no-prune]"]
    assert ablations.loc["CASCAL[no-prune]", ("sim-weak", 1)] == "0.580 [0.573, 0.587]"
    assert ablations.loc["CASCAL", ("real", 1)] == "0.610 [0.603, 0.617]"
    assert filtering_table(tidy(degrading_world(0.2, 0)), "sim").empty


def test_write_table_writes_csv_markdown_and_latex(tmp_path):
    table = pd.DataFrame({"acc": ["0.5 [0.4, 0.6]"], "note": ["a|b"]},
                         index=pd.Index(["kNN"], name="router"))
    csv, md, tex = write_table(table, tmp_path / "t", "main")
    assert md.read_text() == "| router | acc | note |\n|---|---|---|\n| kNN | 0.5 [0.4, 0.6] | a\\|b |\n"
    assert csv.read_text().splitlines() == ["router,acc,note", "kNN,\"0.5 [0.4, 0.6]\",a|b"]
    assert "\\begin{tabular}" in tex.read_text()
    assert markdown(pd.DataFrame({("a", 1): [1]})).startswith("| index | a / 1 |")


# ----- concordance and costs -----

def test_within_concordance_is_exact():
    perfect = [(np.array([3.0, 2.0, 1.0]), np.array([0.9, 0.8, 0.7]))] * 2
    tau, p = within_concordance(perfect)
    assert tau == 1.0 and p == pytest.approx(1 / 36)  # one of 3! x 3! permutations
    tau, p = within_concordance([(np.array([1.0, 2.0]), np.array([2.0, 1.0]))])
    assert tau == -1.0 and p == 1.0


def test_cost_points_and_table():
    rows = degrading_world(0.2, 0.0)
    for b in ("b1", "b2"):
        rows += [row(b, "real", "model:small", 0.55, cost=0.2, aiq=0.55),
                 row(b, "real", "model:big", 0.65, cost=1.0, aiq=0.0),
                 row(b, "real", "pool-vote", 0.7, cost=1.2),
                 # the models alone, the best affordable one per budget (from train accuracies)
                 row(b, "real", "best-single", 0.65, cost=1.0, aiq=0.57),
                 row(b, "sim-weak", "CASCAL[correctness=dawid-skene]", 0.66, cost=0.4, aiq=0.64)]
    table = tidy(rows)
    table.loc[table["router"] == "CASCAL", ["cost", "aiq", "aiq_low", "aiq_high"]] = \
        [0.3, 0.62, 0.61, 0.63]
    table.loc[(table["router"] == "CASCAL") & (table["benchmark"] == "b2"), "aiq"] = 0.60
    points = cost_points(table, "sim").set_index(["router", "train_source"])
    # averaged over the benchmarks; no cost measured for kNN: not a point
    assert points.loc[("CASCAL", "sim-weak"), "aiq"] == pytest.approx(0.61)
    assert points.loc[("pool-vote", "real"), "cost"] == pytest.approx(1.2)
    assert ("kNN", "real") not in points.index
    costs = cost_table(table, "sim")
    assert costs.loc["model:small", ("real", "AIQ")] == "0.550 [0.543, 0.557]"  # two benchmarks: half-width 0.01 / sqrt(2)
    assert costs.loc["CASCAL", ("sim-weak", "cost")] == "0.300"
    assert "pool-vote" not in costs.index  # a vote has no top-1 curve


# ----- notebook 07 -----

@pytest.mark.slow
def test_notebook_07_writes_tidy_results_tables_figures_and_verdicts(tmp_path):
    results_dir, figures_dir = tmp_path / "results", tmp_path / "figures"
    results_dir.mkdir()
    rows = degrading_world(0.2, 0.0)
    rows += [row(b, s, "kNN", 0.52, filter_="both") for b in ("b1", "b2") for s in GENERATORS]
    rows += [row(b, s, "CASCAL[no-prune]", 0.59) for b in ("b1", "b2") for s in ("real", "sim-weak")]
    rows += [row(b, "real", f"model:{m}", a, cost=c, aiq=q) for b in ("b1", "b2")
             for m, a, c, q in (("small", 0.55, 0.2, 0.55), ("big", 0.65, 1.0, 0.0))]
    frame(rows).to_parquet(results_dir / "05_router_baselines_sim.parquet")
    curves = pd.DataFrame([{"benchmark": b, "train_source": s, "router": "kNN", "trade_off": t,
                            "accuracy": 0.7 - t / 10, "cost": 1 - t / 2}
                           for b in ("b1", "b2") for s in ("real", "sim-weak") for t in (0, 1)])
    write_named(curves, results_dir, "curves", "05_router_baselines", "sim")
    write_named(pd.DataFrame({"benchmark": ["b1", "b1"], "estimate": ["consensus (CASCAL)", "majority"],
                              "auroc_gain": [0.0, -0.1], "gain_low": [0.0, -0.15],
                              "gain_high": [0.0, -0.05]}),
                results_dir, "label_free", "06_cascal", "sim")
    write_diagnostics(pd.DataFrame({"benchmark": ["b1", "b1", "b1"], "source": GENERATORS,
                                    "sc_rate": [0.9, 0.8, 0.7]}),
                      results_dir, "03_self_consistency", "sim")
    # the per-query runs of the claims: question i is right when i / 100 < the accuracy
    queries = [{"benchmark": b, "pool": "sim-large", "train_source": s, "filter": f, "router": r,
                "k": 1, "seed": seed, "qid": f"{b}{i}", "correct": i / 100 < a}
               for b in ("b1", "b2") for seed in range(5) for i in range(100)
               for s, f, r, a in [(s, "none", "kNN", 0.7 - 0.1 * j) for j, s in enumerate(GENERATORS)]
               + [(s, "none", "CASCAL", 0.6) for s in GENERATORS]
               + [(s, "both", "kNN", 0.52) for s in GENERATORS]]
    write_named(pd.DataFrame(queries), results_dir, "per_query", "05_router_baselines", "sim")
    out = tmp_path / "07.ipynb"
    papermill.execute_notebook(
        str(ROOT / "notebooks" / "07_results.ipynb"), str(out), kernel_name="python3",
        cwd=str(ROOT), progress_bar=False,
        parameters={"preset": "sim", "results_dir": str(results_dir),
                    "figures_dir": str(figures_dir), "sim_scale": 0.02})
    text = "\n".join(str(o.get("text", "")) + str(o.get("data", {}).get("text/plain", ""))
                     for c in nbformat.read(out, as_version=4).cells for o in c.get("outputs", []))
    assert "SIMULATED" in text
    assert len(pd.read_parquet(results_dir / "results.parquet")) == len(rows)
    tables = sorted(p.name for p in (results_dir / "tables").glob("*.md"))
    assert tables == ["ablations_sim.md", "claims_sim.md", "cost_sim.md", "filtering_sim.md",
                      "main_sim_k1.md", "paper_seed_table.md"]  # no k=3 results: no k=3 table
    claims = pd.read_csv(results_dir / "tables" / "claims_sim.csv")
    average = claims[claims["benchmark"] == "average"].set_index("claim")
    assert average["verdict"].iloc[:3].tolist() == ["holds", "holds", "does not hold"]  # 1, 2, 3
    assert average["estimate"].iloc[:3].tolist() == pytest.approx([0.2, 0.1, (-0.18 - 0.08 + 0.02) / 3])
    assert (claims["seeds"] == 5).all()
    assert sorted(p.name for p in figures_dir.glob("*.png")) == [
        "07_cost_accuracy_sim.png", "07_diagnostics_vs_accuracy_sim.png",
        "07_generator_strength_sim.png", "07_generator_sweep_sim.png", "07_label_free_sim.png"]
    assert "does not hold" in text  # the majority's AUROC verdict against the consensus
    sweep = pd.read_parquet(results_dir / "sweep_sim.parquet")
    assert sorted(set(sweep["label_noise"])) == [0.0, 0.15, 0.3, 0.45, 0.6, 0.75]


def test_cost_points_keep_the_measured_policies_of_the_real_and_weakest_sources():
    rows = degrading_world(0.2, 0.0)
    for benchmark in ("b1", "b2"):
        rows += [row(benchmark, "real", "model:m0", 0.4, cost=0.1, aiq=0.4),
                 row(benchmark, "real", "model:m1", 0.6, cost=1.0, aiq=0.0),
                 row(benchmark, "real", "pool-vote", 0.65, cost=1.1),
                 row(benchmark, "real", "oracle", 0.9),
                 row(benchmark, "sim-medium", "kNN", 0.55, cost=0.5, aiq=0.5),
                 row(benchmark, "sim-weak", "kNN", 0.55, k=3, cost=1.05),
                 row(benchmark, "sim-weak", "CASCAL[no-prune]", 0.5, cost=0.4, aiq=0.45)]
    points = cost_points(tidy(rows), "sim").set_index(["router", "train_source", "k"])
    # the oracle is not a policy, the medium generator and ablations are not shown, rows
    # without a cost were not measured
    assert points["cost"].to_dict() == {
        ("model:m0", "real", 1): 0.1, ("model:m1", "real", 1): 1.0, ("pool-vote", "real", 1): 1.1,
        ("kNN", "sim-weak", 3): 1.05}
    assert points.loc[("model:m1", "real", 1), "accuracy"] == pytest.approx(0.6)
    assert points.loc[("pool-vote", "real", 1), "family"] == "reference"
    assert np.isnan(points.loc[("pool-vote", "real", 1), "aiq"])
    assert cost_points(tidy(rows), "cpu").empty


def test_results_folders_resolve_from_the_root_whatever_the_working_directory(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # a notebook run from notebooks/ (make lab) must write where make all writes
    from rgd_utils.config import find_root, get_paths
    from rgd_utils.results import results_folder

    root = Path(__file__).resolve().parents[1]
    monkeypatch.chdir(root / "notebooks")
    paths = get_paths(results_dir="results")
    assert find_root() == root
    assert results_folder("results") == paths.results == root / "results"
    assert paths.cache == root / "data" / "cache" and paths.runs == root / "runs"
    assert get_paths(cache_dir=tmp_path / "c").cache == tmp_path / "c"
    assert results_folder(tmp_path) == tmp_path
