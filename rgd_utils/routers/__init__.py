"""Routers: one module per family, scikit-learn style (see :mod:`rgd_utils.routers.base`).

* references (:mod:`.references`): random, best single model, best model per subject, oracle;
* query-answer (:mod:`.query_answer`, trained on correctness against the labels): kNN,
  Avengers-style cluster router, per-model correctness classifier, and CASCAL-GT; LLMRank
  (:mod:`.llmrank`), a neural ranker of the models per query;
* query-only (:mod:`.query_only`, never reading a label): consensus kNN, Smoothie-style,
  CASCAL (:mod:`.cascal`), and the bloc-aware vote router (:mod:`.bloc`).

The whole-pool majority vote is not a ranking; it is
:func:`rgd_utils.evaluation.pool_vote_accuracy`.
"""

from __future__ import annotations

from .base import Router, RoutingData, rank_scores, unit_norm
from .bloc import BlocVoteRouter
from .cascal import CASCAL, CASCALGT
from .llmrank import LLMRankRouter
from .query_answer import ClusterRouter, CorrectnessClassifierRouter, KNNRouter
from .query_only import ConsensusKNNRouter, LabelFreeKNNRouter, SmoothieRouter
from .references import BestPerSubjectRouter, BestSingleRouter, OracleRouter, RandomRouter
from .skill_clusters import Centroid, ClusteringMemo, centroid_projection

__all__ = [
    "CASCAL", "CASCALGT", "BestPerSubjectRouter", "BlocVoteRouter", "BestSingleRouter", "Centroid",
    "ClusterRouter", "ClusteringMemo", "ConsensusKNNRouter", "CorrectnessClassifierRouter", "KNNRouter", "LLMRankRouter",
    "LabelFreeKNNRouter", "OracleRouter",
    "RandomRouter", "Router", "RoutingData", "SmoothieRouter", "centroid_projection", "rank_scores",
    "unit_norm",
]
