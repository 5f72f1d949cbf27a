"""The claims table: paired resampling over questions and seeds, Holm, power, verdicts, on
planted per-query worlds."""

from __future__ import annotations

import zlib

import numpy as np
import pandas as pd
import pytest

from rgd_utils.claims import CLAIM_COLUMNS, claims_table, verdict
from rgd_utils.result_schema import PER_QUERY_COLUMNS, RESULT_COLUMNS
from rgd_utils.paired_stats import holm, minimum_detectable_effect, paired_bootstrap
from rgd_utils.preregistration import CHANGELOG, CLAIMS, SEEDS
from rgd_utils.results import TIDY_COLUMNS

GENERATORS = ["sim-strong", "sim-medium", "sim-weak"]
N = 400


def per_query(accuracy: dict, seeds=SEEDS, benchmarks=("b1", "b2"), pool="sim-large",
              filter_="none", noise=0.05) -> pd.DataFrame:
    """Per-query rows: condition ``(source, router) -> accuracy`` (a number, or per k a dict).
    Every condition reads the same question difficulty ``u_q`` (right when ``u_q < accuracy``),
    so two conditions' differences are paired; a share ``noise`` of answers flips per seed."""
    parts = []
    for b, benchmark in enumerate(benchmarks):
        u = np.random.default_rng(b).random(N)
        for (source, router), acc in accuracy.items():
            for k in (1, 3):
                a = acc[k] if isinstance(acc, dict) else acc
                for seed in seeds:
                    rng = np.random.default_rng([b, seed, k, zlib.crc32(router.encode())])
                    correct = (u < a) ^ (rng.random(N) < noise)
                    parts.append(pd.DataFrame({
                        "benchmark": benchmark, "pool": pool, "train_source": source,
                        "filter": filter_, "router": router, "k": k, "seed": seed,
                        "qid": [f"{benchmark}-{i}" for i in range(N)], "correct": correct}))
    return pd.concat(parts, ignore_index=True)[list(PER_QUERY_COLUMNS)].assign(preset="sim")


def degrading(qa_drop: float, qo_drop: float) -> dict:
    """kNN (query-answer) and CASCAL (query-only) on three generators."""
    return {**{(s, "kNN"): 0.7 - qa_drop * i / 2 for i, s in enumerate(GENERATORS)},
            **{(s, "CASCAL"): 0.6 - qo_drop * i / 2 for i, s in enumerate(GENERATORS)}}


NO_RESULTS = pd.DataFrame(columns=list(TIDY_COLUMNS))


def test_paired_bootstrap_of_a_constant_difference_is_exact_and_separates_the_variances():
    constant = paired_bootstrap({"b": np.full((5, 50), 0.2)})
    assert constant["b"].estimate == pytest.approx(0.2)
    assert constant["b"].low == pytest.approx(0.2) and constant["b"].high == pytest.approx(0.2)
    assert constant["average"].p == pytest.approx(1 / 2000)  # every replicate above 0
    # seeds that differ by a constant shift: all the variance is the seeds'
    shifted = paired_bootstrap({"b": np.arange(5)[:, None] * 0.1 + np.zeros((5, 50))})["b"]
    assert shifted.se_questions == pytest.approx(0.0, abs=1e-12)
    assert shifted.sd_seeds == pytest.approx(np.std([0, 0.1, 0.2, 0.3, 0.4], ddof=1))
    assert shifted.estimate == pytest.approx(0.2) and shifted.seeds == 5
    with pytest.raises(ValueError, match="same seeds"):
        paired_bootstrap({"a": np.zeros((2, 3)), "b": np.zeros((3, 3))})


def test_paired_bootstrap_matches_the_paired_standard_error():
    rng = np.random.default_rng(0)
    d = rng.choice([-1.0, 0.0, 1.0], p=[0.1, 0.75, 0.15], size=(1, 2000))
    result = paired_bootstrap({"b": d}, n_boot=4000)["b"]
    se = d.std(ddof=1) / np.sqrt(d.size)
    assert result.paired_se == pytest.approx(se)
    assert (result.high - result.low) / (2 * 1.96) == pytest.approx(se, rel=0.08)
    assert result.estimate == pytest.approx(d.mean())


def test_paired_bootstrap_p_counts_exact_zero_replicates_as_zero():
    """Differences in {-1, 0, 1} on 10 questions: many replicates are exactly 0, which the
    weighted float sums give as +-1e-17. The p-value must be the one of exact (integer) sums."""
    seeds, n, n_boot = 3, 10, 2000
    d = np.random.default_rng(1).choice([-1, 0, 0, 1], size=(seeds, n))
    rng = np.random.default_rng(0)  # the draws paired_bootstrap makes, in its order
    seed_counts = rng.multinomial(seeds, np.full(seeds, 1 / seeds), size=n_boot)
    question_counts = rng.multinomial(n, np.full(n, 1 / n), size=n_boot)
    exact = ((question_counts @ d.T) * seed_counts).sum(axis=1)  # integer numerators
    assert (exact == 0).mean() > 0.02
    expected = 2 * min((exact <= 0).mean(), (exact >= 0).mean())
    assert paired_bootstrap({"b": d.astype(float)}, n_boot=n_boot)["b"].p == pytest.approx(expected)


def test_holm_by_hand_and_the_minimum_detectable_effect():
    assert holm(np.array([0.01, 0.04, 0.03])) == pytest.approx([0.03, 0.06, 0.06])
    adjusted = holm(np.array([0.2, np.nan, 0.001]))
    assert adjusted[0] == pytest.approx(0.2) and np.isnan(adjusted[1])
    assert adjusted[2] == pytest.approx(0.002)
    assert minimum_detectable_effect(0.01) == pytest.approx((1.959964 + 0.841621) * 0.01, rel=1e-5)


def test_verdict_reads_the_adjusted_p_value_and_the_interval():
    assert verdict(0.03, 0.01, 0.05, 0.01) == "holds"
    assert verdict(0.03, 0.01, 0.05, 0.2) == "inconclusive at our n"  # adjusted away
    assert verdict(-0.03, -0.05, -0.01, 0.01) == "does not hold"
    assert verdict(0.3, np.nan, np.nan, 0.01) == "holds"  # a permutation test: the sign
    assert verdict(np.nan, np.nan, np.nan, np.nan) == "not measured"


def test_claim_one_and_two_on_a_planted_world_per_benchmark_k_and_seeds():
    accuracy = degrading(qa_drop=0.2, qo_drop=0.0)
    accuracy[("sim-weak", "CASCAL")] = 0.62  # beats kNN's 0.5 on the weakest data
    table = claims_table(NO_RESULTS, per_query(accuracy), "sim")
    assert list(table.columns) == list(CLAIM_COLUMNS)
    first = table[table["claim"].str.startswith("1.")].set_index(["benchmark", "k"])
    assert sorted(first.index) == [(b, k) for b in ("average", "b1", "b2") for k in (1, 3)]
    # kNN drops 0.2, CASCAL gains 0.02: 0.22, shrunk to 0.9 x 0.22 by the 5% flips of each seed
    assert first.loc[("average", 1), "estimate"] == pytest.approx(0.198, abs=0.015)
    assert (first["seeds"] == 5).all() and (first["verdict"] == "holds").all()
    assert first.loc[("average", 1), "family"] == "confirmatory"
    assert first.loc[("b1", 1), "family"] == "exploratory"
    assert first.loc[("average", 1), "n"] == 2 * N
    assert (first["mde"] > 0).all() and (first["mde"] < 0.1).all()
    second = table[table["claim"].str.startswith("2.")].set_index(["benchmark", "k"])
    assert second.loc[("average", 1), "estimate"] == pytest.approx(0.9 * 0.12, abs=0.015)
    assert "best query-answer router kNN" in second.loc[("average", 1), "evidence"]
    # paired: the shared question difficulty cancels, the interval (0.076 here, seeds' spread
    # included) is well below an unpaired one (two independent means of N questions: width
    # 2 x 1.96 x sqrt(2 x 0.25 / N) = 0.139)
    assert second.loc[("b1", 1), "high"] - second.loc[("b1", 1), "low"] < 0.09


def test_the_seeds_spread_enters_the_interval():
    accuracy = {("sim-weak", "CASCAL"): 0.6, ("sim-weak", "kNN"): 0.6}
    calm = per_query(accuracy, noise=0.0)
    # CASCAL's seeds disagree: seed s adds s * 3% of right answers
    noisy = calm.copy()
    cascal = noisy["router"] == "CASCAL"
    u = noisy.loc[cascal, "qid"].str.split("-").str[1].astype(int) / N
    noisy.loc[cascal, "correct"] |= u < 0.03 * noisy.loc[cascal, "seed"]
    quiet = claims_table(NO_RESULTS, calm, "sim").set_index(["claim", "benchmark", "k"])
    loud = claims_table(NO_RESULTS, noisy, "sim").set_index(["claim", "benchmark", "k"])
    key = (loud.index[0][0], "average", 1)
    assert quiet.loc[key, "estimate"] == 0 and quiet.loc[key, "sd_seeds"] == 0
    assert loud.loc[key, "sd_seeds"] > 0.01
    assert loud.loc[key, "high"] - loud.loc[key, "low"] > 0.02


def test_claim_three_reads_the_pool_without_the_generator():
    both = per_query({(g, r): 0.55 for g in GENERATORS for r in ("kNN", "CASCAL")},
                     pool="sim-large-without-x", filter_="both")
    none = per_query({(g, r): 0.5 for g in GENERATORS for r in ("kNN", "CASCAL")},
                     pool="sim-large-without-x")
    # the full pool's unfiltered rows (a larger gain if read) must not enter claim 3
    full = per_query({(g, r): 0.3 for g in GENERATORS for r in ("kNN", "CASCAL")})
    table = claims_table(NO_RESULTS, pd.concat([both, none, full]), "sim")
    third = table[table["claim"].str.startswith("3.")].set_index(["benchmark", "k"])
    # 0.05, shrunk to 0.9 x 0.05 by the flips
    assert third.loc[("average", 1), "estimate"] == pytest.approx(0.045, abs=0.01)
    assert third.loc[("average", 1), "verdict"] == "holds"
    assert "pools sim-large-without-x" in third.loc[("average", 1), "evidence"]


def test_claim_four_is_a_two_sided_permutation_test_with_its_smallest_detectable_tau():
    rows = per_query(degrading(0.2, 0.1))
    diagnostics = pd.DataFrame(
        [{"preset": "sim", "benchmark": b, "source": s, "method": "generator", "sc_rate": 0.9 - 0.1 * i}
         for b in ("b1", "b2") for i, s in enumerate(GENERATORS)])
    table = claims_table(NO_RESULTS, rows, "sim", diagnostics)
    fourth = table[table["claim"] == "4. sc_rate explains generator quality"].set_index(["benchmark", "k"])
    average = fourth.loc[("average", 1)]
    assert average["estimate"] == 1.0 and average["p"] == pytest.approx(2 / 36)
    # two-sided 2/36 > 0.05: even a perfect concordance over 2 x 3 generators is not enough
    assert average["mde"] == np.inf and average["verdict"] == "inconclusive at our n"
    assert fourth.loc[("b1", 1), "p"] == pytest.approx(1 / 3)
    assert "sc_rate by the generator method" in average["evidence"]


def test_claim_six_averages_the_seeds_areas_against_the_best_single_curve():
    def result(benchmark, source, router, seed, aiq):
        return {"preset": "sim", "benchmark": benchmark, "pool": "sim-large", "train_source": source,
                "filter": "none", "router": router, "k": 1, "seed": seed, "accuracy": 0.6,
                "n": 100, "low": 0.55, "high": 0.65, "aiq": aiq, "aiq_low": aiq - 0.01,
                "aiq_high": aiq + 0.01}
    rows = [result(b, "real", "best-single", 0, 0.5) for b in ("b1", "b2")]
    rows += [result(b, "sim-weak", "CASCAL", 0, 0.6) for b in ("b1", "b2")]
    seeds = [result(b, "sim-weak", "CASCAL", s, 0.6 + 0.01 * s) for b in ("b1", "b2") for s in (1, 2)]
    frame = lambda r: pd.DataFrame(r).reindex(columns=list(TIDY_COLUMNS))  # noqa: E731
    table = claims_table(frame(rows), pd.DataFrame(columns=[*PER_QUERY_COLUMNS, "preset"]), "sim",
                         seed_results=frame(seeds))
    assert table.loc[table["k"] == 3, "verdict"].eq("not measured").all()  # a top-1 measure
    sixth = table[table["k"] == 1].set_index("benchmark")
    assert sixth.loc["average", "estimate"] == pytest.approx(0.11)  # mean of 0.6, 0.61, 0.62 - 0.5
    assert sixth.loc["average", "seeds"] == 3 and sixth.loc["average", "k"] == 1
    assert sixth.loc["average", "sd_seeds"] == pytest.approx(0.01)
    assert sixth.loc["average", "verdict"] == "holds"
    assert sixth.loc["average", "family"] == "exploratory"


def test_the_preregistration_names_every_claim_and_dates_every_change():
    assert [c.number for c in CLAIMS] == ["1", "2", "3", "4", "5", "6"]
    assert any(claim == "6" and "estimand" in change for _, claim, change, _ in CHANGELOG)
    assert all(len(date) == 10 and date.startswith("2026-") for date, *_ in CHANGELOG)
    assert len(SEEDS) >= 5
    assert set(RESULT_COLUMNS) <= set(TIDY_COLUMNS)
