"""The router experiments of notebooks 05 and 06 (running, router sets, aggregation), and the
two notebooks run end to end on the simulated preset."""

from __future__ import annotations

import re
from pathlib import Path

import nbformat
import numpy as np
import pandas as pd
import papermill
import pytest
from sklearn.base import clone

from rgd_utils.config import GeneratorSpec, Preset
from rgd_utils.aggregate import interval_table, macro_average
from rgd_utils.consensus_quality import consensus_auroc, consensus_calibration, reliability_curve
from rgd_utils.cost import DEFAULT_TRADE_OFFS
from rgd_utils.experiments import (
    pool_without_generator,
    reference_rows,
    run_routers,
    seeded_runs,
    train_draw,
)
from rgd_utils.result_schema import RESULT_COLUMNS, pool_name
from rgd_utils.results import read_named, write_results
from rgd_utils.router_sets import (
    CASCAL_ABLATIONS,
    CASCAL_VARIANTS,
    INFERENCE_PARAMS,
    ROUTER_NAMES,
    SINGLE_MODEL,
    SharedFit,
    ablation_name,
    ablation_routers,
    capped_clusters,
    router_family,
    single_model,
    with_router_columns,
)
from rgd_utils.routers import (
    CASCAL,
    CASCALGT,
    KNNRouter,
    BestSingleRouter,
    RandomRouter,
    RoutingData,
    centroid_projection,
)
from rgd_utils.study import Study

ROOT = Path(__file__).resolve().parents[1]
LETTERS = np.array(list("ABCD"), dtype=object)

# ----- a hand-made study: 3 models, 2 benchmarks, a strong and a weak generator -----
#
# b1 real train (label: m0 m1 m2; subject)    b1 test (label: m0 m1 m2; subject; confidence)
#   r1 A: A B A  x   -> m0 m2 right             t1 A: A A B  x   -> m0 m1 right
#   r2 B: B B C  x   -> m0 m1                   t2 B: C B B  x   -> m1 m2
#   r3 C: C A D  x   -> m0                      t3 C: D A C  y   -> m2 (m0 most confident)
#   r4 D: A B D  y   -> m2                      train accuracy m0 3/4, m1 1/4, m2 2/4 -> m0
# b1 strong: g1 A: B B A, g2 B: C A B -> m2 always right; b1 weak: no item (skipped)
# b2 real train A: A B B -> m0; test B: A B C -> m1 right; strong C: C A B -> m0; weak B: A B C -> m1
ROWS = [  # qid, benchmark, subject, answer, split, source, choices, confidences
    ("r1", "b1", "x", "A", "train", "real", "ABA", (0, 0, 0)),
    ("r2", "b1", "x", "B", "train", "real", "BBC", (0, 0, 0)),
    ("r3", "b1", "x", "C", "train", "real", "CAD", (0, 0, 0)),
    ("r4", "b1", "y", "D", "train", "real", "ABD", (0, 0, 0)),
    ("t1", "b1", "x", "A", "test", "real", "AAB", (0, 0, 0)),
    ("t2", "b1", "x", "B", "test", "real", "CBB", (0, 0, 0)),
    ("t3", "b1", "y", "C", "test", "real", "DAC", (1, 0, 0)),
    ("g1", "b1", "x", "A", "train", "g-strong", "BBA", (0, 0, 0)),
    ("g2", "b1", "y", "B", "train", "g-strong", "CAB", (0, 0, 0)),
    ("s1", "b2", "z", "A", "train", "real", "ABB", (0, 0, 0)),
    ("s2", "b2", "z", "B", "test", "real", "ABC", (0, 0, 0)),
    ("s3", "b2", "z", "C", "train", "g-strong", "CAB", (0, 0, 0)),
    ("s4", "b2", "z", "B", "train", "g-weak", "ABC", (0, 0, 0)),
]
MODELS = ["m0", "m1", "m2"]


@pytest.fixture(scope="module")
def tiny_study() -> Study:
    preset = Preset(
        name="tiny", benchmarks=("b1", "b2"), study_benchmarks=("b1", "b2"),
        experts=tuple(MODELS),
        generators=(GeneratorSpec("g-strong", "g-strong", "strong", 0.8, 1),
                    GeneratorSpec("g-weak", "g-weak", "weak", 0.8, 1)),
    )
    questions = pd.DataFrame([r[:6] for r in ROWS],
                             columns=["qid", "benchmark", "subject", "answer", "split", "source"])
    responses = pd.DataFrame([
        {"qid": r[0], "source": r[5], "model": m, "choice": r[6][j], "confidence": float(r[7][j])}
        for r in ROWS for j, m in enumerate(MODELS)])
    vectors = {r[0]: np.array([i, 1.0]) for i, r in enumerate(ROWS)}
    return Study(preset, questions, responses, lambda qids: np.stack([vectors[q] for q in qids]),
                 False, "tiny hand-made study")


def _accuracy(table: pd.DataFrame, **keys) -> float:
    chosen = table
    for column, value in keys.items():
        chosen = chosen[chosen[column] == value]
    assert len(chosen) == 1, keys
    return float(chosen["accuracy"].iloc[0])


def test_run_routers_fits_each_source_scores_real_test_and_skips_empty(tiny_study):
    # the hand-made models have no parameter counts: no costs
    runs = run_routers(tiny_study, lambda train: {"best": BestSingleRouter()}, ks=(1,), seed=7,
                       data_filter="sc", costs=False)
    results = runs.results
    assert list(results.columns) == list(RESULT_COLUMNS)
    assert set(results["pool"]) == {"tiny-pool"} and set(results["filter"]) == {"sc"}
    assert set(results["seed"]) == {7}
    # b1: real train picks m0 (test 1/3); strong items pick m2 (test 2/3); b2 as in the table
    assert _accuracy(results, benchmark="b1", train_source="real") == pytest.approx(1 / 3)
    assert _accuracy(results, benchmark="b1", train_source="g-strong") == pytest.approx(2 / 3)
    assert _accuracy(results, benchmark="b2", train_source="real") == 0.0
    assert _accuracy(results, benchmark="b2", train_source="g-strong") == 0.0
    assert _accuracy(results, benchmark="b2", train_source="g-weak") == 1.0
    assert runs.skipped.to_dict("records") == [
        {"benchmark": "b1", "train_source": "g-weak", "reason": "no train questions"}]
    shares = runs.shares[(runs.shares["benchmark"] == "b1") & (runs.shares["train_source"] == "g-strong")]
    assert shares["share"].tolist() == [0.0, 0.0, 1.0] and set(shares["n"]) == {3}
    # the average keeps only sources measured on both benchmarks
    average = macro_average(results).set_index("train_source")
    assert sorted(average.index) == ["g-strong", "real"]
    assert average.loc["real", "accuracy"] == pytest.approx(1 / 6)
    assert average.loc["g-strong", "accuracy"] == pytest.approx(1 / 3)
    assert average.loc["real", "n"] == 4
    # the per-query rows give the same accuracies, one row per test query and k
    per_query = runs.per_query
    assert len(per_query) == 3 + 3 + 1 + 1 + 1  # b1: real, strong; b2: real, strong, weak
    mean = per_query.groupby(["benchmark", "train_source"])["correct"].mean()
    assert mean[("b1", "g-strong")] == pytest.approx(2 / 3) and mean[("b2", "g-weak")] == 1.0
    assert set(per_query["seed"]) == {7} and set(per_query["filter"]) == {"sc"}
    assert sorted(per_query.loc[per_query["benchmark"] == "b1", "qid"].unique()) == ["t1", "t2", "t3"]


def test_train_draw_keeps_seed_zero_and_resamples_the_items_for_the_others(tiny_study):
    train = tiny_study.routing_data(tiny_study.train_questions("real", "b1"))
    assert train_draw(train, 0) is train
    drawn = train_draw(train, 3)
    expected = np.random.default_rng(3).integers(4, size=4)
    assert drawn.qids.tolist() == [f"r{i + 1}" for i in expected]
    # seeded runs: a run per seed, every row and query tagged with its seed
    results, queries = seeded_runs(tiny_study, lambda s: lambda t: {"random": RandomRouter(random_state=s)},
                                   [1, 2], sources=["real"], ks=(1,), costs=False)
    assert set(results["seed"]) == {1, 2} and set(queries["seed"]) == {1, 2}
    assert len(queries) == 2 * (3 + 1)


def test_pool_without_generator_leaves_out_every_mode_of_its_model():
    preset = Preset(name="p", benchmarks=("b",), study_benchmarks=("b",),
                    experts=("gen:letter", "gen:cloze", "other:cloze"),
                    generators=(GeneratorSpec("gen-t1", "gen", "weak", 1.0, 1),))
    study = Study(preset, pd.DataFrame(), pd.DataFrame(), lambda qids: np.zeros((len(qids), 2)),
                  False, "")
    assert pool_without_generator(study, "gen-t1") == ["other:cloze"]
    with pytest.raises(ValueError, match="not a generator"):
        pool_without_generator(study, "nobody")


def test_reference_rows_by_hand(tiny_study):
    refs = reference_rows(tiny_study, ["b1"], seed=0, costs=False)
    assert list(refs.columns) == list(RESULT_COLUMNS)
    assert set(refs["train_source"]) == {"real"}
    expected = {("random", 1): 5 / 9, ("oracle", 1): 1.0, ("best-single", 1): 1 / 3,
                # t3's three-way tie goes to the most confident voter, m0 (wrong)
                ("pool-vote", 1): 2 / 3, ("best-single", 3): 2 / 3,
                # subject x -> m0 (t1 right, t2 wrong); subject y -> m2 (t3 right)
                ("best-per-subject", 1): 2 / 3,
                # each model alone: t1 m0 m1, t2 m1 m2, t3 m2 right
                ("model:m0", 1): 1 / 3, ("model:m1", 1): 2 / 3, ("model:m2", 1): 2 / 3}
    got = {(r.router, r.k): r.accuracy for r in refs.itertuples()}
    assert got == pytest.approx(expected)
    assert (refs["n"] == 3).all()
    assert ((refs["low"] <= refs["accuracy"]) & (refs["accuracy"] <= refs["high"])).all()


def test_macro_average_combines_intervals_as_independent_normals():
    rows = pd.DataFrame({"benchmark": ["a", "b"], "pool": "p", "train_source": "real",
                         "filter": "none", "router": "r", "k": 1, "seed": 0,
                         "accuracy": [0.5, 0.7], "n": [10, 30], "low": [0.4, 0.6],
                         "high": [0.6, 0.8]})
    average = macro_average(rows).iloc[0]
    half = 0.1 * np.sqrt(2) / 2  # each se = 0.1 / z; sqrt(2 se^2) / 2 * z
    assert average["benchmark"] == "average" and average["n"] == 40
    assert average["accuracy"] == pytest.approx(0.6)
    assert (average["low"], average["high"]) == pytest.approx((0.6 - half, 0.6 + half))


def test_names_families_and_cluster_cap():
    assert pool_name("cpu") == "cpu-pool" and pool_name("sim") == "sim-large"
    assert router_family("CASCAL[no-prune]") == "query-only"
    assert router_family("CASCAL-GT") == "query-answer"
    assert router_family("oracle") == "reference"
    assert router_family("model:m0") == "reference"
    assert [capped_clusters(n) for n in (0, 5, 100, 639, 5000)] == [1, 1, 10, 63, 64]


def test_result_names_carry_family_router_and_variant_as_columns():
    table = with_router_columns(pd.DataFrame({"router": [
        "kNN", "CASCAL", "CASCAL[no-prune]", "pool-vote", single_model("m0")]}))
    assert list(table["family"]) == ["query-answer", "query-only", "query-only", "reference",
                                     "reference"]
    assert list(table["base_router"]) == ["kNN", "CASCAL", "CASCAL", "pool-vote", SINGLE_MODEL]
    assert list(table["variant"]) == ["", "", "no-prune", "", ""]
    # every family comes from the router's class: one place to declare it
    assert ROUTER_NAMES["kNN"].family == KNNRouter.family == "query-answer"
    assert ROUTER_NAMES["CASCAL-GT"].family == CASCALGT.family == "query-answer"
    assert {ablation_name(v) for v in CASCAL_VARIANTS} == set(CASCAL_ABLATIONS) - {"CASCAL"}


def test_routers_are_estimators_copied_by_clone():
    router = CASCAL(prune=False, random_state=3)
    copy = clone(router).set_params(k_nearest=1)
    assert copy.get_params()["prune"] is False and copy.random_state == 3
    assert copy.k_nearest == 1 and router.k_nearest == 3


PLANTED_MODELS = ["p0", "p1", "p2", "p3"]


def _planted(n: int, seed: int, noise: float = 0.2) -> RoutingData:
    """Two subjects, two skill clusters each (axes of R^6, plus ``noise``). In cluster c model c+1
    (mod 4) is the best (0.9), model c the worst (0.15), the others 0.6: every cluster has its own
    top-3 set."""
    rng = np.random.default_rng(seed)
    cluster = rng.integers(4, size=n)
    accuracy = np.full((4, 4), 0.6)
    accuracy[np.arange(4), (np.arange(4) + 1) % 4] = 0.9
    accuracy[np.arange(4), np.arange(4)] = 0.15
    label = rng.integers(4, size=n)
    right = rng.random((n, 4)) < accuracy[cluster]
    wrong = (label[:, None] + rng.integers(1, 4, size=(n, 4))) % 4
    return RoutingData(
        models=PLANTED_MODELS, embeddings=np.eye(6)[cluster] + noise * rng.normal(size=(n, 6)),
        subjects=np.array([f"s{c // 2}" for c in cluster], dtype=object),
        choices=LETTERS[np.where(right, label[:, None], wrong)],
        confidence=rng.normal(size=(n, 4)) + right, labels=LETTERS[label],
        qids=np.array([f"q{i}" for i in range(n)], dtype=object),
    )


def test_ablations_share_a_fit_only_across_inference_parameters():
    train, test = _planted(120, 0), _planted(40, 1, noise=1.0)  # noisy: far and ambiguous queries
    routers = ablation_routers(CASCAL_ABLATIONS, seed=3)(train)
    assert list(routers) == list(CASCAL_ABLATIONS)
    shared = {name for name, r in routers.items() if isinstance(r, SharedFit)}
    assert shared == {name for name, params in CASCAL_ABLATIONS.items()
                      if params and set(params) <= INFERENCE_PARAMS}
    assert len(shared) == 5
    for router in routers.values():
        router.fit(train.without_labels())
    default = routers["CASCAL"].scores(test)
    for name in shared:
        fresh = CASCAL(**CASCAL_ABLATIONS[name], random_state=3).fit(train.without_labels())
        np.testing.assert_allclose(routers[name].scores(test), fresh.scores(test))
        assert routers[name].random_state == 3
    # each variant changes the scores (so the check above can fail), except 5 nearest centroids:
    # with two centroids per subject it mixes the same ones as the default 3
    for name in shared - {"CASCAL[k_nearest=5]"}:
        assert not np.allclose(routers[name].scores(test), default), name


def test_shared_fit_refuses_an_unfitted_or_foreign_router():
    with pytest.raises(RuntimeError, match="not fitted"):
        SharedFit(CASCAL(k_nearest=1), CASCAL()).fit(_planted(20, 0))
    with pytest.raises(TypeError, match="cannot share"):
        SharedFit(CASCAL(), BestSingleRouter().fit(_planted(20, 0))).fit(_planted(20, 0))


def test_consensus_calibration_auroc_and_reliability_by_hand():
    # equal confidences -> every weight 0.5; "sum" consensus = 0.5 x (models giving that answer)
    data = RoutingData(models=MODELS, embeddings=np.zeros((3, 2)),
                       subjects=np.array(["s"] * 3, dtype=object),
                       choices=np.array([["A", "A", "B"], ["C", "D", "D"], ["B", "B", None]],
                                        dtype=object),
                       confidence=np.array([[0, 0, 0], [0, 0, 0], [0, 0, np.nan]], dtype=float),
                       labels=np.array(["A", "D", "C"], dtype=object),
                       qids=np.array(["q0", "q1", "q2"], dtype=object))
    table = consensus_calibration(data, version="sum")
    assert len(table) == 8  # the missing answer has no score
    assert table["consensus"].tolist() == [1.0, 1.0, 0.5, 0.5, 1.0, 1.0, 1.0, 1.0]
    assert table["correct"].tolist() == [True, True, False, False, True, True, False, False]
    # right answers all score 1.0; wrong ones 0.5, 0.5, 1.0, 1.0 -> (8 wins + 8 ties / 2) / 16
    assert consensus_auroc(table) == pytest.approx(0.75)
    curve = reliability_curve(table, n_bins=10)
    assert curve[["consensus", "accuracy", "n"]].to_dict("list") == {
        "consensus": [0.5, 1.0], "accuracy": [0.0, pytest.approx(4 / 6)], "n": [2, 6]}
    assert np.isnan(consensus_auroc(table[table["correct"]]))
    softmax = consensus_calibration(data)  # the code version keeps the order within a query
    assert softmax["consensus"].iloc[0] > softmax["consensus"].iloc[2]


def test_reliability_curve_uses_quantile_bins_for_many_values():
    table = pd.DataFrame({"consensus": np.linspace(0, 1, 100), "correct": np.arange(100) >= 50})
    curve = reliability_curve(table, n_bins=4)
    assert curve["n"].tolist() == [25, 25, 25, 25]
    assert curve["accuracy"].tolist() == [0.0, 0.0, 1.0, 1.0]


def test_centroid_projection_places_queries_and_centroids_in_one_plane():
    train = _planted(80, 0)
    router = CASCAL().fit(train.without_labels())
    points, centroids = centroid_projection(router, train, random_state=0)
    assert len(points) == 80 and points["qid"].tolist()[:2] == ["q0", "q1"]
    assert abs(points["pc1"].mean()) < 1e-9  # PCA centres the fitted points
    assert len(centroids) == len(router.centroids_)
    table = router.centroid_table()
    assert len(centroids) == 4  # the four planted niches
    assert centroids["top_model"].tolist() == [PLANTED_MODELS[i] for i in
                                               np.argmax(table[PLANTED_MODELS].to_numpy(), axis=1)]


def test_interval_table_and_write_results_are_stable(tmp_path):
    rows = pd.DataFrame({"benchmark": ["b", "a"], "pool": "p", "train_source": "real",
                         "filter": "none", "router": ["r", "q"], "k": 1, "seed": 0,
                         "accuracy": [0.5, 0.25], "n": [10, 4], "low": [0.4, 0.0],
                         "high": [0.6, 0.5], "extra": 1})
    table = interval_table(rows, index="router", columns="benchmark")
    assert table.loc["r", "b"] == "0.500 [0.400, 0.600]" and table.loc["r", "a"] == ""
    first = write_results(rows, tmp_path / "out", "05_x", "sim")
    assert first == tmp_path / "out" / "05_x_sim.parquet"
    written = pd.read_parquet(first)
    assert list(written.columns) == list(RESULT_COLUMNS) and written["benchmark"].tolist() == ["a", "b"]
    data = first.read_bytes()
    assert write_results(rows.iloc[::-1], tmp_path / "out", "05_x", "sim").read_bytes() == data


# ----- the notebooks, on the simulated preset -----

def _outputs(notebook: nbformat.NotebookNode) -> str:
    return "\n".join(str(o.get("text", "")) + str(o.get("data", {}).get("text/plain", ""))
                     for cell in notebook.cells for o in cell.get("outputs", []))


@pytest.fixture(scope="module")
def sim_runs(tmp_path_factory) -> dict[str, tuple[str, pd.DataFrame]]:
    scratch = tmp_path_factory.mktemp("routers_sim")
    done = {}
    for stem in ("05_router_baselines", "06_cascal"):
        out = scratch / f"{stem}.ipynb"
        papermill.execute_notebook(
            str(ROOT / "notebooks" / f"{stem}.ipynb"), str(out), kernel_name="python3",
            cwd=str(ROOT), progress_bar=False,
            parameters={"preset": "sim", "sim_scale": 0.02, "figures_dir": str(scratch / "figures"),
                        "results_dir": str(scratch / "results")})
        done[stem] = (_outputs(nbformat.read(out, as_version=4)),
                      pd.read_parquet(scratch / "results" / f"{stem}_sim.parquet"))
    done["figures"] = sorted(p.name for p in (scratch / "figures").glob("*.png"))
    done["curves"] = read_named(scratch / "results", "curves")
    done["label_free"] = read_named(scratch / "results", "label_free")
    done["per_query"] = read_named(scratch / "results", "per_query")
    return done


BENCHMARKS = {"sim_mmlu_pro", "sim_supergpqa", "sim_medmcqa", "sim_bbeh"}
SOURCES = {"real", "sim-strong", "sim-medium", "sim-weak"}
ROUTERS = {"kNN", "Avengers-cluster", "classifier-logistic", "CASCAL-GT", "LLMRank",
           "consensus-kNN", "Smoothie-Train", "DS-kNN", "bloc-vote", "CASCAL"}


@pytest.mark.slow
def test_05_writes_every_router_source_and_k_below_the_oracle(sim_runs):
    text, table = sim_runs["05_router_baselines"]
    assert "SIMULATED" in text
    assert list(table.columns) == list(RESULT_COLUMNS) and set(table["pool"]) == {"sim-large"}
    routers = table[table["router"].isin(ROUTERS)]
    keys = set(zip(routers["benchmark"], routers["train_source"], routers["router"], routers["k"]))
    assert keys == {(b, s, r, k) for b in BENCHMARKS for s in SOURCES for r in ROUTERS for k in (1, 3)}
    assert len(routers) == len(keys)
    refs = table[~table["router"].isin(ROUTERS)]
    assert set(refs["train_source"]) == {"real"}
    assert set(zip(refs["router"], refs["k"])) == {
        ("random", 1), ("best-single", 1), ("best-single", 3), ("pool-vote", 1),
        ("best-per-subject", 1), ("oracle", 1), *((f"model:sim-large-{i}:cot", 1) for i in range(1, 7))}
    assert table["accuracy"].between(0, 1).all()
    assert ((table["low"] <= table["accuracy"]) & (table["accuracy"] <= table["high"])).all()
    oracle = refs[refs["router"] == "oracle"].set_index("benchmark")["accuracy"]
    assert (routers["accuracy"] <= routers["benchmark"].map(oracle) + 1e-12).all()
    random = refs[refs["router"] == "random"]["accuracy"].mean()
    strong = routers[(routers["router"] == "CASCAL") & (routers["train_source"] == "sim-strong")
                     & (routers["k"] == 1)]["accuracy"].mean()
    assert strong > random + 0.02
    assert {"05_accuracy_by_source_sim.png", "05_routing_shares_sim.png"} <= set(sim_runs["figures"])
    # costs: each policy's cost is measured, top-1 policies have an AIQ within [0, 1] and its
    # interval; the costliest model alone costs 1 and has an area of 0 (no budget below it)
    measured = table[table["router"] != "oracle"]
    assert measured["cost"].notna().all() and table.loc[table["router"] == "oracle", "cost"].isna().all()
    top1 = table[table["router"].isin(ROUTERS | {"best-single", "best-per-subject"}) & (table["k"] == 1)]
    assert top1["aiq"].between(0, 1).all()
    assert ((top1["aiq_low"] <= top1["aiq"] + 1e-12) & (top1["aiq"] <= top1["aiq_high"] + 1e-12)).all()
    assert table.loc[table["k"] == 3, "aiq"].isna().all()
    singles = table[table["router"].str.startswith("model:")]
    costliest = singles.loc[singles.groupby("benchmark")["cost"].idxmax()]
    assert np.allclose(costliest["cost"], 1.0) and np.allclose(costliest["aiq"], 0.0)
    curves = sim_runs["curves"]
    assert set(curves["router"]) == ROUTERS and set(curves["preset"]) == {"sim"}
    assert len(curves) == len(top1[top1["router"].isin(ROUTERS)]) * len(DEFAULT_TRADE_OFFS)
    # every router on every source for every seed of the claims, one row per test query
    queries = sim_runs["per_query"]
    assert set(queries["seed"]) == {0, 1, 2, 3, 4} and ROUTERS <= set(queries["router"])
    first = queries[(queries["seed"] == 0) & (queries["router"] == "LLMRank") & (queries["k"] == 1)]
    accuracy = first.groupby(["benchmark", "train_source"])["correct"].mean()
    measured = routers[(routers["router"] == "LLMRank") & (routers["k"] == 1)].set_index(
        ["benchmark", "train_source"])["accuracy"]
    assert accuracy.sort_index().to_numpy() == pytest.approx(measured.sort_index().to_numpy())


@pytest.mark.slow
def test_06_writes_cascal_and_every_ablation_and_consensus_signals_correctness(sim_runs):
    text, table = sim_runs["06_cascal"]
    assert "SIMULATED" in text
    ablations = set(CASCAL_ABLATIONS) - {"CASCAL"}
    main = table[table["router"].isin({"CASCAL", "CASCAL-GT"})]
    assert set(zip(main["benchmark"], main["train_source"], main["router"], main["k"])) == {
        (b, s, r, k) for b in BENCHMARKS for s in SOURCES for r in ("CASCAL", "CASCAL-GT")
        for k in (1, 3)}
    grid = table[table["router"].isin(ablations)]
    assert set(zip(grid["benchmark"], grid["train_source"], grid["router"], grid["k"])) == {
        (b, s, r, k) for b in BENCHMARKS for s in ("sim-weak", "real") for r in ablations
        for k in (1, 3)}
    assert len(table) == len(main) + len(grid)
    assert table["accuracy"].between(0, 1).all()
    # notebook 05 fitted the same routers with the same seeds: identical rows
    baselines = sim_runs["05_router_baselines"][1]
    same = baselines[baselines["router"].isin({"CASCAL", "CASCAL-GT"})].reset_index(drop=True)
    pd.testing.assert_frame_equal(same, main.reset_index(drop=True))
    line = text.split("AUROC of the consensus score (softmax), by benchmark:")[1].splitlines()[0]
    aurocs = [float(v) for v in re.findall(r"sim_\w+ (\d\.\d{3})", line)]
    assert len(aurocs) == 4 and min(aurocs) > 0.6
    label_free = sim_runs["label_free"]
    assert set(label_free["benchmark"]) == BENCHMARKS
    assert label_free.groupby("benchmark")["estimate"].first().eq("consensus (CASCAL)").all()
    assert {"06_cascal_by_source_sim.png", "06_skill_niches_sim.png", "06_clusters_pca_sim.png",
            "06_consensus_calibration_sim.png", "06_ablations_sim.png"} <= set(sim_runs["figures"])
