"""The router experiments of notebooks 05 and 06, in DESIGN.md's results schema.

Every router is fitted on one **train source** of a benchmark (``"real"``: the real train split;
else a generator's items) and scored on that benchmark's **real test split** with
:func:`rgd_utils.evaluation.evaluate_router`, the best single model being chosen on the real
train split. One row per (benchmark, train source, router, k):

``benchmark, pool, train_source, filter, router, k, seed, accuracy, n, low, high, cost, aiq,
aiq_low, aiq_high``

(``low``/``high``: 95% percentile bootstrap over the test queries; ``cost``: mean cost per
query relative to the costliest pool model, :func:`rgd_utils.cost.study_costs`; ``aiq``: area
of the top-1 accuracy–cost curve between the cheapest and the costliest single model, with its
bootstrap interval, :func:`rgd_utils.cost.area_with_interval`; NaN where it does not apply).

* :func:`run_routers` runs a set of routers (:func:`baseline_routers`, :func:`cascal_routers`,
  :func:`ablation_routers`) over benchmarks and train sources, with each test query's routed
  correctness (:data:`PER_QUERY_COLUMNS`, what the claims' paired resampling reads);
  :func:`seeded_runs` repeats it over seeds, each fitting a :func:`train_draw` (a bootstrap
  resample of the train items for seeds above 0); :func:`filter_runs` trains on filtered
  generated items with the generator's own model out of the pool (claim 3);
  :func:`reference_rows` gives the
  reference points (random, best single model, whole-pool vote, best model per subject, oracle);
  :func:`macro_average` averages over benchmarks; :func:`write_results` writes a sorted table.
* CASCAL's ablation grid (PAPER.md §5.8) is :data:`CASCAL_ABLATIONS`; variants that differ from
  one already fitted only in inference-time parameters (:data:`INFERENCE_PARAMS`) reuse its fit
  (:class:`SharedFit`), which gives the same scores as a fresh fit at a fraction of the cost.
* Notebook 06's views of CASCAL: :func:`consensus_calibration`, :func:`reliability_curve` and
  :func:`consensus_auroc` (is the label-free consensus score a signal of correctness?), and
  :func:`centroid_projection` (the skill clusters in two dimensions).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Mapping, Sequence

import numpy as np
import pandas as pd
from sklearn.decomposition import PCA
from sklearn.metrics import roc_auc_score

from .config import find_root
from .consensus import RobustZ, consensus_from_confidence
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
from .routers import (
    CASCAL,
    CASCALGT,
    BestPerSubjectRouter,
    BestSingleRouter,
    BlocVoteRouter,
    ClusterRouter,
    ConsensusKNNRouter,
    CorrectnessClassifierRouter,
    KNNRouter,
    LabelFreeKNNRouter,
    LLMRankRouter,
    Router,
    RoutingData,
    SmoothieRouter,
    unit_norm,
)
from .responses import Expert
from .study import Study

#: DESIGN.md's results schema, in column order.
RESULT_COLUMNS: tuple[str, ...] = ("benchmark", "pool", "train_source", "filter", "router", "k",
                                   "seed", "accuracy", "n", "low", "high", "cost", "aiq",
                                   "aiq_low", "aiq_high")
#: The columns of :attr:`RouterRuns.curves`.
CURVE_COLUMNS: tuple[str, ...] = ("benchmark", "train_source", "router", "trade_off", "accuracy",
                                  "cost")
#: The columns of :attr:`RouterRuns.per_query`: one row per routed test query.
PER_QUERY_COLUMNS: tuple[str, ...] = ("benchmark", "pool", "train_source", "filter", "router", "k",
                                      "seed", "qid", "correct")
#: The ``pool`` value of each preset's results.
POOLS: dict[str, str] = {"cpu": "cpu-pool", "sim": "sim-large", "paper": "paper-large",
                         "paper-small": "paper-small"}
#: Each router's family (ablation variants ``"CASCAL[...]"`` are CASCAL's).
FAMILIES: dict[str, str] = {
    "kNN": "query-answer", "Avengers-cluster": "query-answer",
    "classifier-logistic": "query-answer", "CASCAL-GT": "query-answer", "LLMRank": "query-answer",
    "consensus-kNN": "query-only", "Smoothie-Train": "query-only", "CASCAL": "query-only",
    "DS-kNN": "query-only", "bloc-vote": BlocVoteRouter.family,
    "random": "reference", "best-single": "reference", "pool-vote": "reference",
    "best-per-subject": "reference", "oracle": "reference",
}
#: Router name prefix of one pool model answering every query (``"model:<name>"``).
MODEL_PREFIX = "model:"
#: CASCAL parameters used only at inference: variants differing only in these share a fit.
INFERENCE_PARAMS: frozenset[str] = frozenset({
    "k_nearest", "distance_temp", "sharp_scoring", "scoring_temp", "two_stage", "fallback",
    "distance_threshold", "fallback_ramp",
})
#: CASCAL's ablations (PAPER.md §5.8): result name -> parameters changed from the defaults.
CASCAL_ABLATIONS: dict[str, dict[str, object]] = {
    "CASCAL": {},
    "CASCAL[no-weighted]": {"weighted": False},
    "CASCAL[no-prune]": {"prune": False},
    "CASCAL[no-two-stage]": {"two_stage": False},
    "CASCAL[no-fallback]": {"fallback": False},
    "CASCAL[no-sharp-scoring]": {"sharp_scoring": False},
    "CASCAL[k_nearest=1]": {"k_nearest": 1},
    "CASCAL[k_nearest=5]": {"k_nearest": 5},
    "CASCAL[merge_threshold=0]": {"merge_threshold": 0.0},
    "CASCAL[merge_threshold=0.3]": {"merge_threshold": 0.3},
    "CASCAL[min_consensus=0.3]": {"min_consensus": 0.3},
    "CASCAL[min_consensus=0.7]": {"min_consensus": 0.7},
    "CASCAL[agglomerative]": {"clustering": "agglomerative"},
    "CASCAL[consensus=sum]": {"consensus_version": "sum"},
    # CASCAL-DS [OURS]: a label-free estimator in place of the majority's consensus
    "CASCAL[correctness=dawid-skene]": {"correctness": "dawid-skene"},
    "CASCAL[correctness=one-coin]": {"correctness": "one-coin"},
    "CASCAL[correctness=spectral]": {"correctness": "spectral"},
}

#: Given the train data of one (benchmark, source), the named unfitted routers to evaluate, in
#: order (a :class:`SharedFit` must come after the router it shares the fit of).
RouterSet = Callable[[RoutingData], dict[str, Router]]


def pool_name(preset: str) -> str:
    """The ``pool`` column of a preset's results (:data:`POOLS`; ``"<preset>-pool"`` otherwise)."""
    return POOLS.get(preset, f"{preset}-pool")


def router_family(name: str) -> str:
    """``"query-answer"``, ``"query-only"`` or ``"reference"`` for a result's router name
    (``"CASCAL[no-prune]"`` is CASCAL's family).

    Raises
    ------
    KeyError
        For a name outside :data:`FAMILIES` (``"model:<name>"``, one pool model alone, is a
        reference).
    """
    if name.startswith(MODEL_PREFIX):
        return "reference"
    return FAMILIES[name.split("[", 1)[0]]


def capped_clusters(n_queries: int, n_clusters: int = 64, min_per_cluster: int = 10) -> int:
    """Number of clusters of the Avengers-style router for a train set of ``n_queries``.

    The paper's 64 clusters were fitted on about 5,000 generated queries (~80 per cluster); a
    small train set gets at most one cluster per ``min_per_cluster`` queries, and at least one.

    Parameters
    ----------
    n_queries : int
        Train queries.
    n_clusters : int, default 64
        The uncapped number.
    min_per_cluster : int, default 10
        Fewest train queries per cluster on average.

    Returns
    -------
    int
        ``max(1, min(n_clusters, n_queries // min_per_cluster))``.
    """
    return max(1, min(n_clusters, n_queries // min_per_cluster))


def baseline_routers(seed: int = 0) -> RouterSet:
    """The routers of notebook 05: query-answer (kNN, Avengers-style clusters, logistic
    correctness classifier, CASCAL-GT, LLMRank) then query-only (consensus kNN, Smoothie-Train,
    Dawid–Skene kNN, the bloc-aware vote, CASCAL), with default parameters and
    ``random_state=seed`` (every one has randomness: at least the rank tie-break).

    Returns
    -------
    RouterSet
        The Avengers router's ``n_clusters`` is :func:`capped_clusters` of the train size.
    """
    def build(train: RoutingData) -> dict[str, Router]:
        return {
            "kNN": KNNRouter(random_state=seed),
            "Avengers-cluster": ClusterRouter(n_clusters=capped_clusters(train.n_queries),
                                              random_state=seed),
            "classifier-logistic": CorrectnessClassifierRouter("logistic", random_state=seed),
            "CASCAL-GT": CASCALGT(random_state=seed),
            "LLMRank": LLMRankRouter(random_state=seed),
            "consensus-kNN": ConsensusKNNRouter(random_state=seed),
            "Smoothie-Train": SmoothieRouter(random_state=seed),
            "DS-kNN": LabelFreeKNNRouter("dawid-skene", random_state=seed),
            "bloc-vote": BlocVoteRouter(),
            "CASCAL": CASCAL(random_state=seed),
        }
    return build


def cascal_routers(seed: int = 0) -> RouterSet:
    """CASCAL and CASCAL-GT with default parameters (notebook 06)."""
    return lambda train: {"CASCAL": CASCAL(random_state=seed),
                          "CASCAL-GT": CASCALGT(random_state=seed)}


class SharedFit(Router):
    """``router`` scored with the learned state of ``fitted``, an already fitted router of the
    same class whose parameters differ from ``router``'s only in :data:`INFERENCE_PARAMS`.

    ``fit`` copies every learned attribute (name ending in ``_``) of ``fitted`` onto ``router``;
    it ignores its train data, so ``fitted`` must have been fitted on the same data first (in a
    :data:`RouterSet`, it comes earlier).

    Parameters
    ----------
    router : Router
        The unfitted variant (its own inference parameters are used).
    fitted : Router
        The router whose fit it shares.
    """

    def __init__(self, router: Router, fitted: Router) -> None:
        self.router = router
        self.fitted = fitted

    @property
    def uses_labels(self) -> bool:  # type: ignore[override]
        """The variant's own (label use does not change at inference)."""
        return self.router.uses_labels

    @property
    def random_state(self) -> int:  # type: ignore[override]
        """The variant's seed (its rank tie-break)."""
        return self.router.random_state

    def fit(self, train: RoutingData) -> SharedFit:
        """Copy ``fitted``'s learned state onto ``router``; return ``self``.

        Raises
        ------
        RuntimeError
            When ``fitted`` is not fitted yet.
        """
        if type(self.router) is not type(self.fitted):
            raise TypeError(f"cannot share a {type(self.fitted).__name__} fit with a "
                            f"{type(self.router).__name__}")
        self.fitted._check_fitted()
        learned = {name: value for name, value in vars(self.fitted).items() if name.endswith("_")}
        vars(self.router).update(learned)
        vars(self).update(learned)  # models_ (checks) and scaler_ (the vote's tie-break)
        return self

    def scores(self, data: RoutingData) -> np.ndarray:
        """``router``'s ``(n, m)`` scores."""
        return self.router.scores(data)


def ablation_routers(ablations: Mapping[str, Mapping[str, object]] = CASCAL_ABLATIONS,
                     seed: int = 0) -> RouterSet:
    """CASCAL variants, one per ablation, sharing fits where only inference parameters differ.

    Parameters
    ----------
    ablations : mapping of str to mapping, default :data:`CASCAL_ABLATIONS`
        Result name -> CASCAL parameters changed from the defaults.
    seed : int, default 0
        ``random_state`` of every variant.

    Returns
    -------
    RouterSet
        A CASCAL per ablation; the first variant with given fit parameters (those outside
        :data:`INFERENCE_PARAMS`) is fitted, the later ones are :class:`SharedFit` of it.
    """
    def build(train: RoutingData) -> dict[str, Router]:
        routers: dict[str, Router] = {}
        first: dict[tuple, Router] = {}
        for name, params in ablations.items():
            router = CASCAL(**{**params, "random_state": seed})
            key = tuple(sorted((k, v) for k, v in params.items() if k not in INFERENCE_PARAMS))
            routers[name] = SharedFit(router, first[key]) if key in first else router
            first.setdefault(key, router)
        return routers
    return build


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


def _schema(rows: list[dict], pool: str, data_filter: str, seed: int) -> pd.DataFrame:
    """Rows with ``pool``, ``filter`` and ``seed`` added, in :data:`RESULT_COLUMNS` order."""
    table = pd.DataFrame(rows, columns=[c for c in RESULT_COLUMNS
                                        if c not in ("pool", "filter", "seed")])
    return table.assign(pool=pool, filter=data_filter, seed=seed)[list(RESULT_COLUMNS)]


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
        _schema(rows, pool, data_filter, seed),
        pd.DataFrame(shares, columns=["benchmark", "train_source", "router", "model", "share",
                                      "n"]),
        pd.DataFrame(skipped, columns=["benchmark", "train_source", "reason"]),
        pd.concat(curves, ignore_index=True)[list(CURVE_COLUMNS)] if curves
        else pd.DataFrame(columns=list(CURVE_COLUMNS)),
        _concat_queries(per_query),
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
            _concat_queries([r.per_query for r in runs]))


def train_draw(train: RoutingData, seed: int) -> RoutingData:
    """The train set a run of ``seed`` fits on: ``train`` itself for seed 0 (the study's
    headline run), else a bootstrap resample of its items (as many, drawn with replacement,
    seeded by ``seed``), one draw of the training data's variance per seed."""
    if seed == 0:
        return train
    return train.subset(np.random.default_rng(seed).integers(train.n_queries,
                                                             size=train.n_queries))


def query_rows(correct: np.ndarray, test: RoutingData, **condition: object) -> pd.DataFrame:
    """:data:`PER_QUERY_COLUMNS` rows of one condition: ``correct`` per test query."""
    qids = test.qids if test.qids is not None else np.arange(test.n_queries)
    table = pd.DataFrame({"qid": np.asarray(qids).astype(str),
                          "correct": np.asarray(correct, bool)})
    return table.assign(**condition)[list(PER_QUERY_COLUMNS)]


def _concat_queries(parts: list[pd.DataFrame]) -> pd.DataFrame:
    """The per-query parts as one table (empty with :data:`PER_QUERY_COLUMNS` when none)."""
    if not parts:
        return pd.DataFrame(columns=list(PER_QUERY_COLUMNS))
    return pd.concat(parts, ignore_index=True).astype({"k": int, "seed": int})


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
    return _concat_queries(parts)


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
    """The reference points of each benchmark's real test split (PAPER.md §4, §7).

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
            *(_reference(f"{MODEL_PREFIX}{model}", 1, correct[:, j]) if test_costs is None
              else _single_model(f"{MODEL_PREFIX}{model}", j, test, test_costs)
              for j, model in enumerate(test.models)),
        ]
        for name, router, ks in (("best-single", BestSingleRouter(), (1, 3)),
                                 ("best-per-subject", BestPerSubjectRouter(seed), (1,))):
            scored = evaluate_router(router, real, test, ks, reference_train=real,
                                     costs=test_costs)
            found += [{**row, "router": name} for row in scored.to_dict("records")]
        rows += [{**row, "benchmark": benchmark, "train_source": "real"} for row in found]
    return _schema(rows, pool_name(study.preset.name), "none", seed)


def macro_average(results: pd.DataFrame, z: float = 1.959964) -> pd.DataFrame:
    """Average of the benchmarks' accuracies per (pool, train source, filter, router, k, seed).

    The interval treats the benchmarks' estimates as independent and normal: each benchmark's
    standard error is its bootstrap interval's width / (2 z), and the average's is
    ``sqrt(Σ se²) / B``. Only conditions measured on every benchmark of ``results`` are kept.

    Parameters
    ----------
    results : pandas.DataFrame
        :data:`RESULT_COLUMNS` rows.
    z : float, default 1.959964
        Normal quantile of the intervals (95%).

    Returns
    -------
    pandas.DataFrame
        :data:`RESULT_COLUMNS` rows with ``benchmark="average"``, ``n`` the total test queries,
        ``low``/``high`` clipped to [0, 1]; ``cost`` and ``aiq`` (interval as the accuracy's)
        where every benchmark has them.
    """
    keys = ["pool", "train_source", "filter", "router", "k", "seed"]
    results = results.reindex(columns=list(RESULT_COLUMNS))  # rows measured without costs: NaN
    n_benchmarks = results["benchmark"].nunique()
    se = (results["high"] - results["low"]) / (2 * z)
    aiq_se = (results["aiq_high"] - results["aiq_low"]) / (2 * z)
    grouped = results.assign(var=se ** 2, aiq_var=aiq_se ** 2).groupby(keys, sort=True)
    table = grouped.agg(accuracy=("accuracy", "mean"), n=("n", "sum"), var=("var", "sum"),
                        count=("benchmark", "size")).reset_index()
    # cost and AIQ average only where every benchmark has them (NaN otherwise)
    table = table.join(grouped[["cost", "aiq", "aiq_var"]].agg(
        lambda v: v.sum(min_count=len(v))).reset_index(drop=True))
    table = table[table["count"] == n_benchmarks]
    half = z * np.sqrt(table["var"]) / n_benchmarks
    aiq_half = z * np.sqrt(table["aiq_var"]) / n_benchmarks
    table = table.assign(benchmark="average", low=(table["accuracy"] - half).clip(0, 1),
                         high=(table["accuracy"] + half).clip(0, 1),
                         cost=table["cost"] / n_benchmarks, aiq=table["aiq"] / n_benchmarks)
    table = table.assign(aiq_low=(table["aiq"] - aiq_half).clip(0, 1),
                         aiq_high=(table["aiq"] + aiq_half).clip(0, 1))
    return table[list(RESULT_COLUMNS)].reset_index(drop=True)


def pooled_shares(shares: pd.DataFrame) -> pd.DataFrame:
    """Routing shares over all benchmarks' test queries (weighted by each benchmark's ``n``).

    Parameters
    ----------
    shares : pandas.DataFrame
        :attr:`RouterRuns.shares`.

    Returns
    -------
    pandas.DataFrame
        ``train_source, router, model, share``.
    """
    counted = shares.assign(count=shares["share"] * shares["n"])
    keys = ["train_source", "router", "model"]
    table = counted.groupby(keys, sort=False)[["count", "n"]].sum().reset_index()
    return table.assign(share=table["count"] / table["n"])[[*keys, "share"]]


def interval_table(results: pd.DataFrame, index: str | list[str], columns: str | list[str],
                   digits: int = 3) -> pd.DataFrame:
    """Results as a readable wide table of ``"accuracy [low, high]"`` strings.

    Parameters
    ----------
    results : pandas.DataFrame
        :data:`RESULT_COLUMNS` rows, one per cell of the table.
    index, columns : str or list of str
        Result columns of the rows and columns (in order of first appearance).
    digits : int, default 3
        Decimals.

    Returns
    -------
    pandas.DataFrame
        Strings; empty where a combination was not measured.
    """
    cells = results.assign(cell=[f"{a:.{digits}f} [{lo:.{digits}f}, {hi:.{digits}f}]"
                                 for a, lo, hi in zip(results["accuracy"], results["low"],
                                                      results["high"])])
    table = cells.pivot_table(index=index, columns=columns, values="cell", aggfunc="first",
                              sort=False)
    return table.fillna("")


def sort_results(results: pd.DataFrame) -> pd.DataFrame:
    """Results rows in a fixed order (so that the same inputs give the same bytes)."""
    return (results.reindex(columns=list(RESULT_COLUMNS))
            .sort_values(["benchmark", "pool", "train_source", "filter", "router", "k", "seed"],
                         kind="stable")
            .reset_index(drop=True))


def write_results(results: pd.DataFrame, results_dir: str | Path, stem: str, preset: str) -> Path:
    """Write a notebook's results table to ``<results_dir>/<stem>_<preset>.parquet``.

    Parameters
    ----------
    results : pandas.DataFrame
        :data:`RESULT_COLUMNS` rows (other columns are dropped, missing cost columns NaN).
    results_dir : str or pathlib.Path
        Relative paths are taken from the repository root; created if missing.
    stem : str
        The notebook's file stem, e.g. ``"05_router_baselines"``.
    preset : str
        The preset name.

    Returns
    -------
    pathlib.Path
        The file written (rows sorted by :func:`sort_results`).
    """
    folder = Path(results_dir)
    folder = folder if folder.is_absolute() else find_root() / folder
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{stem}_{preset}.parquet"
    sort_results(results).to_parquet(path, index=False)
    return path


def consensus_calibration(data: RoutingData, version: str = "softmax",
                          random_state: int = 0) -> pd.DataFrame:
    """Each answer's label-free consensus score beside its correctness against the labels.

    The consensus scores are CASCAL's (:func:`rgd_utils.consensus.consensus_from_confidence`,
    z-scaler fitted on ``data.confidence`` as CASCAL's fit does); the labels are read only to
    evaluate them.

    Parameters
    ----------
    data : RoutingData
        Labelled queries (e.g. the real train split).
    version : {"softmax", "sum"}, default "softmax"
        Consensus version.
    random_state : int, default 0
        Seed of the replacement of answers outside A–T.

    Returns
    -------
    pandas.DataFrame
        One row per answered (query, model): ``qid, subject, model, consensus, correct``.
    """
    consensus = consensus_from_confidence(data.choices, data.confidence,
                                          RobustZ().fit(data.confidence), version, random_state)
    rows, cols = np.nonzero(~np.isnan(consensus))
    qids = data.qids if data.qids is not None else np.arange(data.n_queries)
    return pd.DataFrame({
        "qid": np.asarray(qids, dtype=object)[rows], "subject": data.subjects[rows],
        "model": np.asarray(data.models, dtype=object)[cols],
        "consensus": consensus[rows, cols], "correct": data.correct()[rows, cols],
    })


def reliability_curve(calibration: pd.DataFrame, n_bins: int = 10) -> pd.DataFrame:
    """Accuracy of the answers per consensus-score bin (equal-count bins).

    The consensus score is compressed (PAPER.md §5.2), so the bins are quantiles rather than
    equal widths; tied quantiles merge, so there may be fewer than ``n_bins`` bins. Scores with at
    most ``n_bins`` distinct values get one bin per value.

    Parameters
    ----------
    calibration : pandas.DataFrame
        :func:`consensus_calibration` rows (at least one).
    n_bins : int, default 10
        Most bins.

    Returns
    -------
    pandas.DataFrame
        One row per bin: ``bin, consensus`` (mean score), ``accuracy, n, low, high`` (95%
        bootstrap interval of the accuracy).
    """
    values = calibration["consensus"].to_numpy(float)
    if len(np.unique(values)) <= n_bins:
        bins = values
    else:
        edges = np.unique(np.quantile(values, np.linspace(0, 1, n_bins + 1)))
        bins = np.clip(np.searchsorted(edges, values, side="right") - 1, 0, len(edges) - 2)
    bins = np.unique(bins, return_inverse=True)[1]  # consecutive numbers, in score order
    rows = []
    for b in range(bins.max() + 1):
        correct = calibration["correct"].to_numpy(bool)[bins == b]
        low, high = bootstrap_interval(correct)
        rows.append({"bin": b, "consensus": float(values[bins == b].mean()),
                     "accuracy": float(correct.mean()), "n": int(correct.size),
                     "low": low, "high": high})
    return pd.DataFrame(rows)


#: The label-free correctness estimates compared by :func:`estimator_quality`: CASCAL's
#: consensus score first (the reference), then :data:`rgd_utils.label_free.ESTIMATORS`.
CONSENSUS_ESTIMATE = "consensus (CASCAL)"


def estimator_quality(data: RoutingData, n_boot: int = 200, random_state: int = 0) -> pd.DataFrame:
    """How well each label-free estimate predicts correctness, against CASCAL's consensus.

    Every estimate is computed without labels (CASCAL's consensus score, and each estimator of
    :data:`rgd_utils.label_free.ESTIMATORS` fitted per subject); the labels of ``data`` are read
    only to score them.

    Parameters
    ----------
    data : RoutingData
        Labelled queries (e.g. the real train split).
    n_boot : int, default 200
        Bootstrap resamples of the queries for the AUROC difference.
    random_state : int, default 0
        Seed of the consensus and of the bootstrap.

    Returns
    -------
    pandas.DataFrame
        One row per estimate: ``estimate, auroc, ece, brier, n`` (answered pairs), and
        ``auroc_gain, gain_low, gain_high``: its AUROC minus the consensus score's, with a 95%
        paired bootstrap interval over queries (0 for the consensus row itself). ECE and Brier
        treat the consensus score as a probability, which it is not (softmax over 20 letters).
    """
    from .label_free import ESTIMATORS, correctness_quality, estimate_correctness

    correct = data.correct()
    estimates = {CONSENSUS_ESTIMATE: consensus_from_confidence(
        data.choices, data.confidence, RobustZ().fit(data.confidence), "softmax", random_state)}
    estimates.update({name: estimate_correctness(data.choices, data.subjects, name)[0]
                      for name in ESTIMATORS})
    rng = np.random.default_rng(random_state)
    samples = [rng.integers(data.n_queries, size=data.n_queries) for _ in range(n_boot)]

    def auroc(estimate: np.ndarray, rows: np.ndarray) -> float:
        p, y = estimate[rows].ravel(), correct[rows].ravel()
        keep = ~np.isnan(p)
        return float(roc_auc_score(y[keep], p[keep])) if 0 < y[keep].sum() < keep.sum() else np.nan

    reference = [auroc(estimates[CONSENSUS_ESTIMATE], rows) for rows in samples]
    base = correctness_quality(estimates[CONSENSUS_ESTIMATE], correct)["auroc"]
    out = []
    for name, estimate in estimates.items():
        quality = correctness_quality(estimate, correct)
        gains = np.array([auroc(estimate, rows) - ref for rows, ref in zip(samples, reference)])
        low, high = np.nanpercentile(gains, [2.5, 97.5]) if np.isfinite(gains).any() else (np.nan, np.nan)
        out.append({"estimate": name, **quality, "auroc_gain": quality["auroc"] - base,
                    "gain_low": float(low), "gain_high": float(high)})
    return pd.DataFrame(out)


def consensus_auroc(calibration: pd.DataFrame) -> float:
    """AUROC of the consensus score as a predictor of correctness (0.5: no signal).

    Returns
    -------
    float
        :func:`sklearn.metrics.roc_auc_score`; NaN when every answer is right or every one
        wrong (undefined).
    """
    correct = calibration["correct"].to_numpy(bool)
    if correct.all() or not correct.any():
        return float("nan")
    return float(roc_auc_score(correct, calibration["consensus"].to_numpy(float)))


def centroid_projection(router: CASCAL, data: RoutingData,
                        random_state: int = 0) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The train queries and a fitted CASCAL's centroids in two dimensions.

    A seeded PCA is fitted on the L2-normalised embeddings of ``data`` (the queries CASCAL was
    fitted on) and applied to the centroids.

    Parameters
    ----------
    router : CASCAL
        Fitted (CASCAL or CASCAL-GT).
    data : RoutingData
        Its train queries (at least two).
    random_state : int, default 0
        Seed of the PCA.

    Returns
    -------
    points : pandas.DataFrame
        ``qid, subject, pc1, pc2`` per query.
    centroids : pandas.DataFrame
        ``centroid, subject, n_assigned, top_model, pc1, pc2`` per centroid.
    """
    router._check_fitted()
    pca = PCA(n_components=2, random_state=random_state).fit(unit_norm(data.embeddings))
    xy = pca.transform(unit_norm(data.embeddings))
    qids = data.qids if data.qids is not None else np.arange(data.n_queries)
    points = pd.DataFrame({"qid": qids, "subject": data.subjects, "pc1": xy[:, 0],
                           "pc2": xy[:, 1]})
    if not router.centroids_:
        return points, pd.DataFrame(columns=["centroid", "subject", "n_assigned", "top_model",
                                             "pc1", "pc2"])
    cxy = pca.transform(np.array([c.vector for c in router.centroids_]))
    centroids = pd.DataFrame({
        "centroid": [c.id for c in router.centroids_],
        "subject": [c.subject for c in router.centroids_],
        "n_assigned": [c.n_assigned for c in router.centroids_],
        "top_model": [router.models_[int(np.argmax(c.scores))] for c in router.centroids_],
        "pc1": cxy[:, 0], "pc2": cxy[:, 1],
    })
    return points, centroids
