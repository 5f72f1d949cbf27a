"""The paper's claims (and two of ours) measured on one preset's runs, with verdicts a reviewer
can check: :func:`claims_table`.

What each claim measures is written in :mod:`rgd_utils.preregistration`. Claims 1, 2, 3 and 5
are contrasts of routed correctness on the same test questions: they read the per-query
tables of notebooks 04-06 (``results/per_query/``), for every seed, and
:func:`rgd_utils.paired_stats.paired_bootstrap` resamples questions within benchmark jointly for
both sides, and the seeds. Claim 4 is an exact permutation test over generators; claim 6 an
area under the accuracy-cost curve, which is not a mean over questions, so its interval is a
normal one from the two sides' bootstraps (seed-0 rows) plus the seeds' spread.

Every claim has a row per (benchmark and the average) x k. The p-values are Holm-adjusted
within the two families of :mod:`rgd_utils.preregistration` and the verdict reads the adjusted
p-value and the interval.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
import pandas as pd
from scipy.stats import norm

from .paired_stats import (
    PAIRED_INTERVAL,
    holm,
    minimum_detectable_effect,
    paired_bootstrap,
)
from .preregistration import (
    ALPHA,
    CONFIRMATORY,
    EXPLORATORY,
    KS,
    N_BOOT,
    POWER,
    claim_name,
    claim_spec,
)
from .result_schema import pool_name
from .results import DAWID_SKENE_CASCAL, concordance_null, source_order, with_averages
from .router_sets import SINGLE_MODEL, router_name

#: Columns of :func:`claims_table`.
CLAIM_COLUMNS: tuple[str, ...] = (
    "claim", "benchmark", "k", "estimate", "low", "high", "interval", "seeds", "p", "p_adjusted",
    "mde", "se_questions", "sd_seeds", "n", "family", "verdict", "evidence")
#: Interval names of the claims that are not paired contrasts.
PERMUTATION_INTERVAL = "none: exact permutation test over generators within benchmark"
AIQ_INTERVAL = ("95% normal: the two sides' question bootstraps treated as independent (AIQ is "
                "not a mean over questions) plus the seeds' variance")
TOP1_ONLY = "none: the accuracy-cost area is defined for top-1 routing only"
#: Conditions of a contrast: (pool, train_source, filter, router).
Condition = tuple[str, str, str, str]
#: The per-query columns a :data:`Condition` names, in its order.
CONDITION_COLUMNS: tuple[str, ...] = ("pool", "train_source", "filter", "router")


def verdict(estimate: float, low: float, high: float, p_adjusted: float) -> str:
    """The decision rule of :data:`rgd_utils.preregistration.DECISION_RULE`: the adjusted
    p-value decides whether there is a difference, the interval (or, without one, the
    estimate's sign) which way."""
    if not np.isfinite(p_adjusted) or not np.isfinite(estimate):
        return "not measured"
    if p_adjusted >= ALPHA:
        return "inconclusive at our n"
    above = low > 0 if np.isfinite(low) else estimate > 0
    below = high < 0 if np.isfinite(high) else estimate < 0
    return "holds" if above else "does not hold" if below else "inconclusive at our n"


def _differences(per_query: pd.DataFrame, terms: Sequence[tuple[Condition, Condition, str]],
                 weights: dict[str, float], k: int) -> dict[str, np.ndarray]:
    """Per benchmark, the ``(seeds, questions)`` array of ``Σ_group weight · mean over the
    group's pairs of (plus − minus)`` correctness.

    A benchmark enters when every group has at least one pair measured on it; the seeds are
    those every used condition has on every benchmark (the same rows for all benchmarks).
    """
    # the rows of the few conditions the terms name, first by column (each test is vectorised;
    # the table has millions of rows of a few hundred conditions), then exactly, by one name per
    # distinct condition spread to the rows by code
    conditions = {c for plus, minus, _ in terms for c in (plus, minus)}
    mask = (per_query["k"] == k).to_numpy(copy=True)
    for column, values in zip(CONDITION_COLUMNS, zip(*conditions)):
        mask &= per_query[column].isin(set(values)).to_numpy(bool)
    rows = per_query[mask]
    if not conditions or rows.empty:
        return {}
    codes, distinct = pd.MultiIndex.from_frame(rows[list(CONDITION_COLUMNS)]).factorize()
    key = np.array(["|".join(c) for c in distinct], dtype=object)[codes]
    terms = [("|".join(p), "|".join(m), g) for p, m, g in terms]
    needed = {"|".join(c) for c in conditions}
    rows = rows.assign(condition=key)
    rows = rows[rows["condition"].isin(needed)]
    if rows.empty:
        return {}
    wide = (rows.drop_duplicates(["benchmark", "condition", "seed", "qid"])
            .pivot_table(index=["benchmark", "seed", "qid"], columns="condition",
                         values="correct", aggfunc="first", observed=True))
    pieces = {}
    for benchmark, table in wide.groupby(level="benchmark", sort=True):
        table = table.droplevel("benchmark").dropna(axis=1, how="all")
        available = [(p, m, g) for p, m, g in terms if p in table.columns and m in table.columns]
        if {g for *_, g in available} != set(weights):
            continue
        pieces[benchmark] = (table, available)
    if not pieces:
        return {}
    used = {c for _, available in pieces.values() for p, m, _ in available for c in (p, m)}
    seeds = sorted(set.intersection(*(
        {s for s in table.index.get_level_values("seed").unique()
         if table.loc[s, [c for c in used if c in table.columns]].notna().all().all()}
        for table, _ in pieces.values())))
    out = {}
    for benchmark, (table, available) in pieces.items():
        total = 0.0
        for group, weight in weights.items():
            pairs = [(p, m) for p, m, g in available if g == group]
            total = total + weight * sum(table[p].astype(float) - table[m].astype(float)
                                         for p, m in pairs) / len(pairs)
        out[benchmark] = np.stack([total.loc[s].to_numpy(float) for s in seeds]) if seeds \
            else np.empty((0, 0))
    return {b: d for b, d in out.items() if d.size}


def _contrast_rows(number: str, per_query: pd.DataFrame,
                   terms: Sequence[tuple[Condition, Condition, str]], weights: dict[str, float],
                   k: int, evidence: str) -> list[dict]:
    """The rows of a paired contrast at ``k``: one per benchmark and the average."""
    differences = _differences(per_query, terms, weights, k)
    if not differences:
        return []
    contrasts = paired_bootstrap(differences, N_BOOT)
    return [{"claim": claim_name(number), "number": number, "benchmark": benchmark, "k": k,
             "estimate": c.estimate, "low": c.low, "high": c.high, "interval": PAIRED_INTERVAL,
             "seeds": c.seeds, "p": c.p, "se_questions": c.se_questions, "sd_seeds": c.sd_seeds,
             "paired_se": c.paired_se, "n": c.n, "evidence": evidence}
            for benchmark, c in contrasts.items()]


def _routers_on(per_query: pd.DataFrame, pool: str, source: str, family: str) -> list[str]:
    """The unfiltered non-ablation routers of ``family`` with per-query rows on ``source``."""
    rows = per_query[(per_query["pool"] == pool) & (per_query["train_source"] == source)
                     & (per_query["filter"] == "none")]
    names = [router_name(r) for r in rows["router"].unique()]
    return sorted(n.router for n in names
                  if n.family == family and not n.variant and n.router != SINGLE_MODEL)


def _weakest_note(preset: str, weakest_run: str) -> str:
    """A note for evidence measured on ``weakest_run`` when the run leaves out the preset's
    weakest generator: empty otherwise."""
    weakest = source_order(preset)[-1]
    return "" if weakest_run == weakest else (
        f" (the weakest generator of this run; the preset's weakest, {weakest}, is not in it)")


def _paired_claims(per_query: pd.DataFrame, preset: str, k: int) -> list[dict]:
    """Claims 1, 2, 3 and 5 at ``k``."""
    pool = pool_name(preset)
    main = per_query[per_query["pool"] == pool]
    sources = set(main["train_source"].unique())
    generators = [s for s in source_order(preset)[1:] if s in sources]
    source = generators[-1] if generators else "real"
    note = _weakest_note(preset, source) if generators else ""
    rows = []
    if len(generators) >= 2:
        strong = generators[0]
        terms, weights = [], {}
        for family, sign in (("query-answer", 1.0), ("query-only", -1.0)):
            names = sorted(set(_routers_on(main, pool, strong, family))
                           & set(_routers_on(main, pool, source, family)))
            terms += [((pool, strong, "none", r), (pool, source, "none", r), family) for r in names]
            weights[family] = sign
        rows += _contrast_rows("1", main, terms, weights, k,
                               f"{strong} -> {source}{note}; query-answer: "
                               f"{', '.join(t[0][3] for t in terms if t[2] == 'query-answer')}; "
                               f"query-only: "
                               f"{', '.join(t[0][3] for t in terms if t[2] == 'query-only')}")
    if generators:
        qa = _routers_on(main, pool, source, "query-answer")
        on_source = main[(main["train_source"] == source) & (main["filter"] == "none")
                         & (main["k"] == k)]
        if qa and "CASCAL" in set(on_source["router"]):
            accuracy = (on_source[on_source["router"].isin(qa)]
                        .groupby(["router", "benchmark"])["correct"].mean()
                        .groupby("router").mean())
            best = str(accuracy.idxmax())
            rows += _contrast_rows(
                "2", main, [((pool, source, "none", "CASCAL"), (pool, source, "none", best), "")],
                {"": 1.0}, k,
                f"{source}{note}: best query-answer router {best} (average accuracy "
                f"{accuracy[best]:.3f}, chosen on the test split); paper abstract: +4.6 points")
    filtered = per_query[(per_query["filter"] == "both")
                         & per_query["router"].isin(["kNN", "CASCAL"])]
    terms = [((p, g, "both", r), (p, g, "none", r), "")
             for p, g, r in filtered[["pool", "train_source", "router"]].drop_duplicates()
             .itertuples(index=False)]
    if terms:
        pools = sorted({t[0][0] for t in terms})
        rows += _contrast_rows(
            "3", per_query, terms, {"": 1.0}, k,
            f"{len(terms)} (generator, router) pairs per benchmark at most; "
            f"pools {', '.join(pools)}")
    rows += _contrast_rows(
        "5", main, [((pool, source, "none", DAWID_SKENE_CASCAL),
                     (pool, source, "none", "CASCAL"), "")], {"": 1.0}, k, f"{source}{note}")
    return rows


def _one_sc_method(diagnostics: pd.DataFrame) -> tuple[pd.DataFrame, str | None]:
    """The self-consistency rows of one method for every generator, so that generators are
    compared on one measure: ``"generator"`` (its own answers) when every generator with a rate
    has it (it is in the pool), else ``"pool-majority"``; the other rows unchanged. Returns the
    rows and the method (None when neither covers every generator: no rate is kept)."""
    rated = diagnostics.dropna(subset=["sc_rate"]) if "sc_rate" in diagnostics else diagnostics[:0]
    sources = set(rated["source"])
    method = next((m for m in ("generator", "pool-majority")
                   if set(rated.loc[rated["method"] == m, "source"]) == sources), None)
    return diagnostics[diagnostics["method"].isna() | (diagnostics["method"] == method)], method


def _permutation_row(name: str, benchmark: str, k: int,
                     groups: list[tuple[np.ndarray, np.ndarray]], seeds: int,
                     evidence: str) -> dict:
    """A claim-4 row: concordance, two-sided exact p and, as its minimum detectable effect, the
    smallest |tau| whose two-sided exact p would be below the level (inf when none can be)."""
    tau, permuted = concordance_null(groups)
    def two_sided(t: float) -> float:
        return min(1.0, 2 * min(np.mean(permuted >= t - 1e-12), np.mean(permuted <= t + 1e-12)))
    reachable = [abs(t) for t in np.unique(permuted) if two_sided(t) < ALPHA]
    orders = int(np.prod([math.factorial(len(x)) for x, _ in groups]))
    return {"claim": name, "number": "4", "benchmark": benchmark, "k": k, "estimate": tau,
            "low": np.nan,
            "high": np.nan, "interval": PERMUTATION_INTERVAL, "seeds": seeds,
            "p": two_sided(tau), "se_questions": np.nan, "sd_seeds": np.nan,
            "mde": min(reachable) if reachable else np.inf,
            "n": sum(len(x) for x, _ in groups),
            "evidence": f"{len(groups)} benchmark(s) x {len(groups[0][0])} generators; the exact "
                        f"p cannot go below 2/{orders}; {evidence}"}


def _explains_claims(per_query: pd.DataFrame, diagnostics: pd.DataFrame, preset: str,
                     k: int) -> list[dict]:
    """Claim 4 for each diagnostic measure present, per benchmark and pooled."""
    pool = pool_name(preset)
    rows = per_query[(per_query["pool"] == pool) & (per_query["filter"] == "none")
                     & (per_query["k"] == k) & (per_query["train_source"] != "real")]
    routers = {r for r in rows["router"].unique()
               if not (n := router_name(r)).variant and n.family != "reference"}
    rows = rows[rows["router"].isin(routers)]
    if rows.empty:
        return []
    quality = rows.groupby(["benchmark", "train_source"])["correct"].mean()
    seeds = int(rows["seed"].nunique())
    out, method = [], None
    if "method" in diagnostics.columns:
        diagnostics, method = _one_sc_method(diagnostics)
    for measure in ("sc_rate", "mean_spread"):
        if measure not in diagnostics.columns:
            continue
        values = diagnostics.dropna(subset=[measure]).drop_duplicates(
            ["benchmark", "source"]).set_index(["benchmark", "source"])[measure]
        groups = {}
        for benchmark in sorted(set(quality.index.get_level_values(0))):
            sources = [s for s in quality.loc[benchmark].index if (benchmark, s) in values.index]
            if len(sources) >= 2:
                groups[benchmark] = (values.loc[[(benchmark, s) for s in sources]].to_numpy(),
                                     quality.loc[benchmark].loc[sources].to_numpy())
        if not groups:
            continue
        name = f"4. {measure} explains generator quality"
        note = (f"quality = mean top-{k} accuracy over seeds of the claim-1 routers"
                + (f"; sc_rate by the {method} method" if measure == "sc_rate" and method else ""))
        out += [_permutation_row(name, b, k, [g], seeds, note) for b, g in groups.items()]
        out.append(_permutation_row(name, "average", k, list(groups.values()), seeds, note))
    return out


def _area_claims(results: pd.DataFrame, seed_results: pd.DataFrame, preset: str) -> list[dict]:
    """Claim 6: CASCAL's AIQ on the weakest source minus the best-single curve's (k = 1; the
    k = 3 rows say it is not measured there)."""
    runs = pd.concat([results, seed_results], ignore_index=True) if len(seed_results) else results
    runs = runs[(runs["preset"] == preset) & (runs["filter"] == "none") & (runs["k"] == 1)]
    generators = [s for s in source_order(preset)[1:] if s in set(runs["train_source"])]
    source = generators[-1] if generators else "real"
    cascal = runs[(runs["router"] == "CASCAL") & (runs["train_source"] == source)
                  & runs["aiq"].notna()].drop_duplicates(["benchmark", "seed"])
    zero = runs[(runs["router"] == "best-single") & (runs["train_source"] == "real")
                & (runs["seed"] == 0) & runs["aiq"].notna()].set_index("benchmark")
    benchmarks = sorted(set(cascal["benchmark"]) & set(zero.index))
    if not benchmarks:
        return []
    seeds = sorted(set.intersection(*(set(cascal.loc[cascal["benchmark"] == b, "seed"])
                                      for b in benchmarks)))
    cascal = cascal[cascal["seed"].isin(seeds)].set_index(["benchmark", "seed"])
    z = norm.ppf(1 - ALPHA / 2)
    parts = {}
    for b in benchmarks:
        per_seed = cascal.loc[b, "aiq"].to_numpy(float) - zero.loc[b, "aiq"]
        first = cascal.loc[(b, seeds[0])]
        se_sides = math.hypot((first["aiq_high"] - first["aiq_low"]) / (2 * z),
                              (zero.loc[b, "aiq_high"] - zero.loc[b, "aiq_low"]) / (2 * z))
        parts[b] = (per_seed, se_sides, int(first["n"]))
    out = []
    for name in [*benchmarks, "average"]:
        chosen = list(parts.values()) if name == "average" else [parts[name]]
        per_seed = np.mean([p[0] for p in chosen], axis=0)
        se_questions = math.sqrt(sum(p[1] ** 2 for p in chosen)) / len(chosen)
        sd_seeds = float(per_seed.std(ddof=1)) if len(seeds) > 1 else 0.0
        se = math.sqrt(se_questions ** 2 + sd_seeds ** 2 / len(seeds))
        estimate = float(per_seed.mean())
        out.append({"claim": claim_name("6"), "number": "6", "benchmark": name, "k": 1,
                    "estimate": estimate,
                    "low": estimate - z * se, "high": estimate + z * se,
                    "interval": AIQ_INTERVAL, "seeds": len(seeds),
                    "p": float(2 * norm.sf(abs(estimate) / se)) if se > 0 else np.nan,
                    "se_questions": se_questions, "sd_seeds": sd_seeds, "paired_se": se,
                    "n": sum(p[2] for p in chosen),
                    "evidence": f"{source}: CASCAL's AIQ minus the best-single curve's "
                                f"(RouterBench's zero router, chosen on real train data)"})
        out.append({"claim": claim_name("6"), "number": "6", "benchmark": name, "k": 3,
                    "interval": TOP1_ONLY,
                    "seeds": len(seeds), "p": np.nan, "evidence": "not measured at k = 3"})
    return out


def claims_table(results: pd.DataFrame, per_query: pd.DataFrame, preset: str,
                 diagnostics: pd.DataFrame | None = None,
                 seed_results: pd.DataFrame | None = None) -> pd.DataFrame:
    """Every claim of :data:`rgd_utils.preregistration.CLAIMS` on one preset, per benchmark and
    on the average, at each k of :data:`~rgd_utils.preregistration.KS`.

    Parameters
    ----------
    results : pandas.DataFrame
        :func:`rgd_utils.results.collect_results` (claim 6 reads its AIQ).
    per_query : pandas.DataFrame
        :func:`rgd_utils.results.read_named` of ``"per_query"``: routed correctness per test
        question of every seed (claims 1-5).
    preset : str
    diagnostics : pandas.DataFrame, optional
        :func:`rgd_utils.results.read_diagnostics` (claim 4 needs it).
    seed_results : pandas.DataFrame, optional
        :func:`~rgd_utils.results.read_named` of ``"seeds"``: the results rows of seeds > 0
        (claim 6's seeds).

    Returns
    -------
    pandas.DataFrame
        :data:`CLAIM_COLUMNS`. ``mde``: the minimum detectable effect at 80% power and a
        two-sided level of ``ALPHA / m`` (m: the family's size, Holm's first step), from the
        paired standard error; ``se_questions`` and ``sd_seeds``: the two sources of variance
        (test questions; training draws and router seeds); ``family``: confirmatory (the
        paper's claims on the average) or exploratory; ``verdict``: :func:`verdict` of the
        Holm-adjusted p-value and the interval. Claims without the runs they need are absent.
    """
    per_query = per_query[per_query["preset"] == preset] if len(per_query) else per_query
    seed_results = (seed_results[seed_results["preset"] == preset]
                    if seed_results is not None and len(seed_results)
                    else pd.DataFrame(columns=results.columns))
    rows = []
    for k in KS:
        if len(per_query):
            rows += _paired_claims(per_query, preset, k)
            if diagnostics is not None and len(diagnostics):
                rows += _explains_claims(per_query, diagnostics[diagnostics["preset"] == preset],
                                         preset, k)
    rows += _area_claims(with_averages(results[results["preset"] == preset])
                         .query("benchmark != 'average'"), seed_results, preset)
    table = pd.DataFrame(rows).reindex(columns=[*CLAIM_COLUMNS, "paired_se", "number"])
    if table.empty:
        return table[list(CLAIM_COLUMNS)]
    paper = table["number"].map(lambda number: claim_spec(number).origin == "paper")
    table["family"] = np.where(paper & (table["benchmark"] == "average"), CONFIRMATORY,
                               EXPLORATORY)
    for family, members in table.groupby("family"):
        table.loc[members.index, "p_adjusted"] = holm(members["p"].to_numpy(float))
        level = ALPHA / members["p"].notna().sum()
        paired = members["paired_se"].notna()
        table.loc[members.index[paired], "mde"] = [
            minimum_detectable_effect(se, level, POWER) for se in members.loc[paired, "paired_se"]]
    table["verdict"] = [verdict(*row) for row in
                        table[["estimate", "low", "high", "p_adjusted"]].itertuples(index=False)]
    order = {b: i for i, b in enumerate(sorted(set(table["benchmark"]) - {"average"}))}
    table = table.assign(_b=table["benchmark"].map(lambda b: order.get(b, len(order))))
    table = table.sort_values(["claim", "k", "_b"], kind="stable")
    return table[list(CLAIM_COLUMNS)].reset_index(drop=True)
