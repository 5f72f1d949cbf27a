"""Running the router experiments of notebooks 04-06 into the results schema.

Every router is fitted on one **train source** of a benchmark (``"real"``: the real train split;
else a generator's items) and scored on that benchmark's **real test split** with
:func:`rgd_utils.evaluation.evaluate_router`, the best single model being chosen on the real
train split (:mod:`rgd_utils.result_schema` has the columns). :func:`run_routers` runs a router
set (:mod:`rgd_utils.router_sets`) over benchmarks and train sources, :func:`seeded_runs` over
seeds (each fitting a :func:`train_draw`), :func:`filter_runs` on filtered generated items with
the generator's own model out of the pool, and :func:`reference_rows` gives the reference points.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Sequence

import numpy as np
import pandas as pd

from .consensus import RobustZ
from .cost import accuracy_cost_curve, area_with_interval, study_costs
from .evaluation import (
    bootstrap_interval,
    evaluate_router,
    fitted_router_correct,
    oracle_accuracy,
    pool_vote_correct,
    random_expected_accuracy,
    routing_shares,
)
from .filtering import filtered_questions
from .responses import Expert
from .result_schema import (
    CURVE_COLUMNS,
    PER_QUERY_COLUMNS,
    RESULT_COLUMNS,
    concat_queries,
    pool_name,
    query_rows,
    results_frame,
)
from .router_sets import RouterSet, single_model
from .routers import BestPerSubjectRouter, BestSingleRouter, RoutingData
from .study import Study


@dataclass(frozen=True)
class RouterRuns:
    """What :func:`run_routers` measured.

    Attributes
    ----------
    results : pandas.DataFrame
        :data:`RESULT_COLUMNS`, one row per (benchmark, train source, router, k).
    shares : pandas.DataFrame
        ``benchmark, train_source, router, model, share, n``: share of the ``n`` test queries
        whose top-1 model is ``model``.
    skipped : pandas.DataFrame
        ``benchmark, train_source, reason``: conditions with nothing to fit or score.
    curves : pandas.DataFrame
        :data:`CURVE_COLUMNS`: each router's top-1 accuracy–cost curve
        (:func:`rgd_utils.cost.accuracy_cost_curve`), empty when costs were not asked for.
    per_query : pandas.DataFrame
        :data:`PER_QUERY_COLUMNS`: each test query's routed correctness, what the claims'
        paired resampling reads (:mod:`rgd_utils.claims`).
    """

    results: pd.DataFrame
    shares: pd.DataFrame
    skipped: pd.DataFrame
    curves: pd.DataFrame
    per_query: pd.DataFrame



def run_routers(
    study: Study,
    routers: RouterSet,
    benchmarks: Sequence[str] | None = None,
    sources: Sequence[str] | None = None,
    ks: tuple[int, ...] = (1, 3),
    seed: int = 0,
    data_filter: str = "none",
    costs: bool = True,
    resample_train: bool = False,
) -> RouterRuns:
    """Fit every router on every train source of every benchmark; score on the real test split.

    Parameters
    ----------
    study : Study
        The study (:func:`rgd_utils.study.load_study`).
    routers : RouterSet
        Builds the named routers for one train set (:func:`baseline_routers`, ...).
    benchmarks : sequence of str, optional
        Default: ``study.preset.study_benchmarks``.
    sources : sequence of str, optional
        Train sources (``"real"`` or generator names); default ``study.sources``.
    ks : tuple of int, default (1, 3)
        Routed models per query (``k > 1``: their vote).
    seed : int, default 0
        The ``seed`` column (seed the routers through ``routers``).
    data_filter : str, default "none"
        The ``filter`` column (the filter applied to the train data, if any).
    costs : bool, default True
        Measure cost, AIQ and the accuracy–cost curves (:func:`rgd_utils.cost.study_costs`);
        False leaves the cost columns NaN.
    resample_train : bool, default False
        Fit on :func:`train_draw` of each train set (a bootstrap resample of its items for
        ``seed > 0``), so that runs over seeds carry the training data's variance.

    Returns
    -------
    RouterRuns
        A benchmark without real train or test queries, or a source without train queries of a
        benchmark, is skipped and listed in ``skipped``.
    """
    benchmarks = list(study.preset.study_benchmarks if benchmarks is None else benchmarks)
    sources = list(study.sources if sources is None else sources)
    rows, shares, skipped, curves, per_query = [], [], [], [], []
    pool = pool_name(study.preset.name)
    for benchmark in benchmarks:
        test_questions = study.test_questions(benchmark)
        real_questions = study.train_questions("real", benchmark)
        if test_questions.empty or real_questions.empty:
            skipped += [{"benchmark": benchmark, "train_source": s,
                         "reason": "no real test or train questions"} for s in sources]
            continue
        test = study.routing_data(test_questions)
        real = study.routing_data(real_questions)
        test_costs = study_costs(test_questions, study.experts) if costs else None
        for source in sources:
            questions = (real_questions if source == "real"
                         else study.train_questions(source, benchmark))
            if questions.empty:
                skipped.append({"benchmark": benchmark, "train_source": source,
                                "reason": "no train questions"})
                continue
            train = study.routing_data(questions)
            train = train_draw(train, seed) if resample_train else train
            for name, router in routers(train).items():
                scored = evaluate_router(router, train, test, ks, reference_train=real,
                                         costs=test_costs)
                rows += [{**row, "benchmark": benchmark, "train_source": source, "router": name}
                         for row in scored.to_dict("records")]
                per_query += [query_rows(fitted_router_correct(router, train, test, k), test,
                                         benchmark=benchmark, pool=pool, train_source=source,
                                         filter=data_filter, router=name, k=k, seed=seed)
                              for k in ks]
                if test_costs is not None:
                    curve = accuracy_cost_curve(router.scores(test), test.correct(), test_costs)
                    curves.append(curve.assign(benchmark=benchmark, train_source=source,
                                               router=name))
                share = routing_shares(router.route(test, 1), test.n_models)
                shares += [{"benchmark": benchmark, "train_source": source, "router": name,
                            "model": model, "share": float(s), "n": test.n_queries}
                           for model, s in zip(test.models, share)]
    return RouterRuns(
        results_frame(rows, pool, data_filter, seed),
        pd.DataFrame(shares, columns=["benchmark", "train_source", "router", "model", "share",
                                      "n"]),
        pd.DataFrame(skipped, columns=["benchmark", "train_source", "reason"]),
        pd.concat(curves, ignore_index=True)[list(CURVE_COLUMNS)] if curves
        else pd.DataFrame(columns=list(CURVE_COLUMNS)),
        concat_queries(per_query),
    )


def seeded_runs(study: Study, routers: Callable[[int], RouterSet], seeds: Sequence[int],
                benchmarks: Sequence[str] | None = None, sources: Sequence[str] | None = None,
                ks: tuple[int, ...] = (1, 3), costs: bool = True
                ) -> tuple[pd.DataFrame, pd.DataFrame]:
    """:func:`run_routers` once per seed, each on its :func:`train_draw` with routers seeded by
    it (``routers(seed)``, e.g. :func:`baseline_routers`); ``costs`` as there.

    Returns
    -------
    results, per_query : pandas.DataFrame
        The seeds' :data:`RESULT_COLUMNS` rows and :data:`PER_QUERY_COLUMNS` rows.
    """
    runs = [run_routers(study, routers(seed), benchmarks, sources, ks, seed=seed, costs=costs,
                        resample_train=True) for seed in seeds]
    if not runs:
        return (pd.DataFrame(columns=list(RESULT_COLUMNS)),
                pd.DataFrame(columns=list(PER_QUERY_COLUMNS)))
    return (pd.concat([r.results for r in runs], ignore_index=True),
            concat_queries([r.per_query for r in runs]))


def train_draw(train: RoutingData, seed: int) -> RoutingData:
    """The train set a run of ``seed`` fits on: ``train`` itself for seed 0 (the study's
    headline run), else a bootstrap resample of its items (as many, drawn with replacement,
    seeded by ``seed``), one draw of the training data's variance per seed."""
    if seed == 0:
        return train
    return train.subset(np.random.default_rng(seed).integers(train.n_queries,
                                                             size=train.n_queries))


def pool_without_generator(study: Study, generator: str) -> list[str]:
    """The study's pool without the experts of ``generator``'s model (any prompt mode), so that
    a router trained on its items cannot favour the model that wrote them."""
    spec = next((g for g in study.preset.generators if g.name == generator), None)
    if spec is None:
        raise ValueError(f"{generator!r} is not a generator of preset {study.preset.name!r}")
    return [e for e in study.experts if Expert.parse(e).model != spec.model]


def filter_runs(study: Study, per_query: pd.DataFrame, routers: Callable[[int], RouterSet],
                filters: Sequence[str] = ("none", "both"), seeds: Sequence[int] = (0,),
                benchmarks: Sequence[str] | None = None, ks: tuple[int, ...] = (1, 3),
                without_generator: bool = True) -> pd.DataFrame:
    """Per-query correctness of routers trained on filtered generated data, over seeds.

    For each benchmark, generator, filter (:func:`rgd_utils.filtering.filtered_questions`) and
    seed, the routers are fitted on :func:`train_draw` of the kept items and scored on the real
    test split. With ``without_generator`` the pool (train and test) leaves out the generator's
    own model (:func:`pool_without_generator`): the self-consistency filter keeps the items on
    which that model agrees with the key, so with it in the pool a router trained on the kept
    items learns to pick the model that wrote them, a gain (or loss) true by construction.

    Parameters
    ----------
    study : Study
    per_query : pandas.DataFrame
        :func:`rgd_utils.diagnostics.query_diagnostics` rows of the generated items.
    routers : callable
        ``seed -> RouterSet`` (e.g. :func:`baseline_routers`): the routers of one seed.
    filters : sequence of str, default ("none", "both")
    seeds : sequence of int, default (0,)
        Each seed seeds the routers and the train draw.
    benchmarks : sequence of str, optional
        Default: the preset's study benchmarks.
    ks : tuple of int, default (1, 3)
    without_generator : bool, default True

    Returns
    -------
    pandas.DataFrame
        :data:`PER_QUERY_COLUMNS`; ``pool`` names the reduced pool
        (``"<pool>-without-<model>"``). A filter that keeps no item has no rows.
    """
    parts = []
    for benchmark in study.preset.study_benchmarks if benchmarks is None else benchmarks:
        test_questions = study.test_questions(benchmark)
        if test_questions.empty:
            continue
        for generator in study.sources[1:]:
            items = study.train_questions(generator, benchmark)
            if items.empty:
                continue
            models = (pool_without_generator(study, generator) if without_generator
                      else study.experts)
            removed = sorted({Expert.parse(e).model for e in study.experts} -
                             {Expert.parse(e).model for e in models})
            pool = pool_name(study.preset.name) + "".join(f"-without-{m}" for m in removed)
            test = study.routing_data(test_questions).select_models(models)
            for how in filters:
                kept = filtered_questions(items, per_query, how)
                if kept.empty:
                    continue
                for seed in seeds:
                    train = train_draw(study.routing_data(kept).select_models(models), seed)
                    for name, router in routers(seed)(train).items():
                        router.fit(train if router.uses_labels else train.without_labels())
                        parts += [query_rows(fitted_router_correct(router, train, test, k), test,
                                             benchmark=benchmark, pool=pool,
                                             train_source=generator, filter=how, router=name,
                                             k=k, seed=seed) for k in ks]
    return concat_queries(parts)


def _reference(name: str, k: int, correct: np.ndarray, accuracy: float | None = None,
               cost: float = np.nan) -> dict:
    """One reference row from per-query values (0/1, or expected correctness)."""
    values = np.asarray(correct, dtype=float)
    low, high = bootstrap_interval(values)
    return {"router": name, "k": k, "accuracy": float(values.mean()) if accuracy is None
            else accuracy, "n": values.size, "low": low, "high": high, "cost": cost}


def _single_model(name: str, j: int, test: RoutingData, costs: np.ndarray) -> dict:
    """The reference row of pool model ``j`` alone: its accuracy, cost and AIQ (a point)."""
    single = costs.mean(axis=0)
    aiq, low, high = area_with_interval(np.full((1, test.n_queries), j), test.correct(), costs,
                                        (single.min(), single.max()))
    return {**_reference(name, 1, test.correct()[:, j], cost=float(single[j])),
            "aiq": aiq, "aiq_low": low, "aiq_high": high}


def reference_rows(study: Study, benchmarks: Sequence[str] | None = None,
                   seed: int = 0, costs: bool = True) -> pd.DataFrame:
    """The reference points of each benchmark's real test split (paper §4 and §7).

    * ``random``: expected accuracy of a uniformly random model per query
      (:func:`~rgd_utils.evaluation.random_expected_accuracy`; interval over the per-query
      share of right models);
    * ``best-single``: the best model on the real train split (k=1), and the vote of the three
      best (k=3: the paper's "Top-3 vote" reference);
    * ``pool-vote``: the whole pool's vote (tie-break scaler fitted on real train confidences);
    * ``best-per-subject``: the best real-train model of the query's subject;
    * ``oracle``: any pool model right;
    * ``model:<name>``: each pool model alone.

    Each policy's ``cost`` is its mean cost per query (the random model's expected one, the
    pool vote's all models'); single models and the best-single and best-per-subject routers
    also have an ``aiq`` (:func:`rgd_utils.cost.area_with_interval`).

    Parameters
    ----------
    study : Study
    benchmarks : sequence of str, optional
        Default: ``study.preset.study_benchmarks``; those without real train or test queries
        are left out.
    seed : int, default 0
        The ``seed`` column and the seed of the best-per-subject tie-break.
    costs : bool, default True
        Measure cost and AIQ (:func:`rgd_utils.cost.study_costs`); False leaves them NaN.

    Returns
    -------
    pandas.DataFrame
        :data:`RESULT_COLUMNS` rows, ``train_source="real"``, ``k=1`` (and k=3 for
        ``best-single``).
    """
    rows = []
    for benchmark in study.preset.study_benchmarks if benchmarks is None else benchmarks:
        test_questions = study.test_questions(benchmark)
        real_questions = study.train_questions("real", benchmark)
        if test_questions.empty or real_questions.empty:
            continue
        test = study.routing_data(test_questions)
        real = study.routing_data(real_questions)
        correct = test.correct()
        test_costs = study_costs(test_questions, study.experts) if costs else None
        found = [
            _reference("random", 1, correct.mean(axis=1), random_expected_accuracy(test),
                       cost=np.nan if test_costs is None else float(test_costs.mean())),
            _reference("pool-vote", 1, pool_vote_correct(test, RobustZ().fit(real.confidence)),
                       cost=np.nan if test_costs is None else float(test_costs.sum(axis=1).mean())),
            _reference("oracle", 1, correct.any(axis=1), oracle_accuracy(test)),
            *(_reference(single_model(model), 1, correct[:, j]) if test_costs is None
              else _single_model(single_model(model), j, test, test_costs)
              for j, model in enumerate(test.models)),
        ]
        for name, router, ks in (("best-single", BestSingleRouter(), (1, 3)),
                                 ("best-per-subject", BestPerSubjectRouter(seed), (1,))):
            scored = evaluate_router(router, real, test, ks, reference_train=real,
                                     costs=test_costs)
            found += [{**row, "router": name} for row in scored.to_dict("records")]
        rows += [{**row, "benchmark": benchmark, "train_source": "real"} for row in found]
    return results_frame(rows, pool_name(study.preset.name), "none", seed)
