"""The study's named router sets and what each result name stands for.

A router set builds, for one train set, the named unfitted routers a run evaluates
(:func:`baseline_routers`, :func:`cascal_routers`, :func:`ablation_routers`). Each result name
maps to a :class:`RouterName`: its family (declared by the router's class), the router and the
variant (the CASCAL ablation, if any), so that tables select by column and never by the spelling
of a name.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Mapping

import numpy as np
import pandas as pd

from .routers import (
    CASCAL,
    CASCALGT,
    BestPerSubjectRouter,
    BestSingleRouter,
    BlocVoteRouter,
    ClusteringMemo,
    ClusterRouter,
    ConsensusKNNRouter,
    CorrectnessClassifierRouter,
    KNNRouter,
    LabelFreeKNNRouter,
    LLMRankRouter,
    OracleRouter,
    RandomRouter,
    Router,
    RoutingData,
    SmoothieRouter,
)

#: The class of every router the study names, by result name.
ROUTER_CLASSES: dict[str, type[Router]] = {
    "kNN": KNNRouter, "Avengers-cluster": ClusterRouter,
    "classifier-logistic": CorrectnessClassifierRouter, "CASCAL-GT": CASCALGT,
    "LLMRank": LLMRankRouter, "consensus-kNN": ConsensusKNNRouter,
    "Smoothie-Train": SmoothieRouter, "CASCAL": CASCAL, "DS-kNN": LabelFreeKNNRouter,
    "bloc-vote": BlocVoteRouter, "random": RandomRouter, "best-single": BestSingleRouter,
    "best-per-subject": BestPerSubjectRouter, "oracle": OracleRouter,
}
#: CASCAL parameters used only at inference: variants differing only in these share a fit.
INFERENCE_PARAMS: frozenset[str] = frozenset({
    "k_nearest", "distance_temp", "sharp_scoring", "scoring_temp", "two_stage", "fallback",
    "distance_threshold", "fallback_ramp",
})
#: CASCAL's ablations (paper §5.8): variant -> parameters changed from the defaults.
CASCAL_VARIANTS: dict[str, dict[str, object]] = {
    "no-weighted": {"weighted": False},
    "no-prune": {"prune": False},
    "no-two-stage": {"two_stage": False},
    "no-fallback": {"fallback": False},
    "no-sharp-scoring": {"sharp_scoring": False},
    "k_nearest=1": {"k_nearest": 1},
    "k_nearest=5": {"k_nearest": 5},
    "merge_threshold=0": {"merge_threshold": 0.0},
    "merge_threshold=0.3": {"merge_threshold": 0.3},
    "min_consensus=0.3": {"min_consensus": 0.3},
    "min_consensus=0.7": {"min_consensus": 0.7},
    "agglomerative": {"clustering": "agglomerative"},
    "consensus=sum": {"consensus_version": "sum"},
    # CASCAL-DS: a label-free estimator in place of the majority's consensus
    "correctness=dawid-skene": {"correctness": "dawid-skene"},
    "correctness=one-coin": {"correctness": "one-coin"},
    "correctness=spectral": {"correctness": "spectral"},
}


def ablation_name(variant: str) -> str:
    """The result name of CASCAL's ``variant`` (``"CASCAL[no-prune]"``)."""
    return f"CASCAL[{variant}]"


#: Result name -> CASCAL parameters changed from the defaults (``"CASCAL"`` itself first).
CASCAL_ABLATIONS: dict[str, dict[str, object]] = {
    "CASCAL": {}, **{ablation_name(v): params for v, params in CASCAL_VARIANTS.items()}}


@dataclass(frozen=True)
class RouterName:
    """What a result's router name stands for.

    Attributes
    ----------
    family : str
        ``"query-answer"``, ``"query-only"`` or ``"reference"`` (its class's).
    router : str
        The router (``"CASCAL"`` for every ablation of it).
    variant : str
        The ablation (``""`` for the router with its default parameters).
    """

    family: str
    router: str
    variant: str = ""


#: Every result name of the study's routers (single pool models aside: :func:`single_model`).
ROUTER_NAMES: dict[str, RouterName] = {
    **{name: RouterName(cls.family, name) for name, cls in ROUTER_CLASSES.items()},
    "pool-vote": RouterName("reference", "pool-vote"),  # the whole pool's vote, no class
    **{ablation_name(v): RouterName(CASCAL.family, "CASCAL", v) for v in CASCAL_VARIANTS},
}
#: The ``router`` of the reference rows of one pool model answering every query.
SINGLE_MODEL = "single-model"


def single_model(model: str) -> str:
    """The result name of pool model ``model`` alone (a reference row)."""
    return f"model:{model}"


def router_name(name: str) -> RouterName:
    """What result name ``name`` stands for: :data:`ROUTER_NAMES`, else one pool model alone."""
    return ROUTER_NAMES.get(name, RouterName("reference", SINGLE_MODEL))


def router_family(name: str) -> str:
    """The family of a result's router name (:func:`router_name`)."""
    return router_name(name).family


def with_router_columns(table: pd.DataFrame) -> pd.DataFrame:
    """``table`` with the ``family``, ``base_router`` and ``variant`` of its ``router`` column."""
    names = [router_name(name) for name in table["router"]]
    return table.assign(family=[n.family for n in names], base_router=[n.router for n in names],
                        variant=[n.variant for n in names])


#: Given the train data of one (benchmark, source), the named unfitted routers to evaluate, in
#: order (a :class:`SharedFit` must come after the router it shares the fit of).
RouterSet = Callable[[RoutingData], dict[str, Router]]


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
    def family(self) -> str:  # type: ignore[override]
        """The variant's."""
        return self.router.family

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
    memo = ClusteringMemo()  # variants differing in fit parameters often cluster alike

    def build(train: RoutingData) -> dict[str, Router]:
        routers: dict[str, Router] = {}
        first: dict[tuple, Router] = {}
        for name, params in ablations.items():
            router = CASCAL(**{**params, "random_state": seed, "memo": memo})
            key = tuple(sorted((k, v) for k, v in params.items() if k not in INFERENCE_PARAMS))
            routers[name] = SharedFit(router, first[key]) if key in first else router
            first.setdefault(key, router)
        return routers
    return build
