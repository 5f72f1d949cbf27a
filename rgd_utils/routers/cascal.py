"""CASCAL: consensus-aware skill clusters, and its labelled twin CASCAL-GT (paper §5.3–5.8).

Training, per subject (the authors' ``train.py``):

1. proficient queries per model: those where its answer is in the majority set, kept when the
   agreement is at least ``min_consensus`` and weighted by it (§5.3);
2. per (model, subject) clusters of the proficient queries' L2-normalised embeddings: k-means
   with k chosen by cosine silhouette (the code), or average-linkage agglomerative clustering
   (the paper-text variant) (§5.4);
3. greedy merge of centroids closer than ``merge_threshold`` across models (§5.5);
4. every train query of the subject goes to its nearest centroid; each cluster ranks the models by
   their mean consensus score there; clusters whose top-3 model sets coincide are pruned into
   the larger one, then rankings and centroids are recomputed (§5.6).

Inference (the authors' ``infer.py``, §5.7): nearest subject representative, then a softmax over
the distances to the ``k_nearest`` closest centroids of that subject mixes their (sharpened) model
scores; a query far from every centroid is blended with the global ranking.

Every distance is the cosine distance between L2-normalised vectors.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy.special import softmax

from ..consensus import RobustZ, consensus_from_confidence, majority_agreement
from ..label_free import ESTIMATORS, estimate_correctness
from .base import Router, RoutingData, unit_norm
from .kmeans import one_thread
from .skill_clusters import (
    Centroid,
    Clustering,
    ClusteringMemo,
    assign_nearest,
    cluster_scores,
    merge_close_centroids,
    prune_redundant_centroids,
)


class CASCAL(Router):
    """Query-only router: consensus-aware skill clusters (the paper's §5; defaults of §5.7).

    Parameters
    ----------
    weighted : bool, default True
        Keep a query as proficient only when the majority agreement is at least
        ``min_consensus``, and weight it by the agreement; False (``--no-weighted``) keeps
        every query with weight 1.
    min_consensus : float, default 0.5
        Minimum agreement of a proficient query (when ``weighted``).
    clustering : {"kmeans", "agglomerative"}, default "kmeans"
        ``"kmeans"``: the authors' code (k by cosine silhouette, weighted k-means);
        ``"agglomerative"``: the paper-text variant (average linkage on cosine distance, cut at
        ``linkage_threshold``; k_max and the silhouette floor do not apply).
    k_max : int, default 5
        Largest k tried by k-means.
    silhouette_floor : float, default 0.05
        Below this best silhouette, a (model, subject) gets a single centroid.
    silhouette_sample : int or None, default None
        None (the authors' code): each silhouette over all of a (model, subject)'s proficient
        queries, quadratic in their number. An int: over a seeded sample of at most that many
        of them (the same sample for every k), for large train sets [OURS].
    linkage_threshold : float, default 0.15
        Cosine-distance cut of the agglomerative variant.
    merge_threshold : float, default 0.15
        Centroids of one subject closer than this cosine distance merge (§5.5); 0 disables.
    prune : bool, default True
        Prune clusters whose top-3 model sets have Jaccard ≥ ``prune_jaccard`` (§5.6.3).
    prune_jaccard : float, default 0.95
        Jaccard threshold of pruning.
    k_nearest : int, default 3
        Centroids mixed at inference.
    distance_temp : float, default 0.1
        Temperature of the softmax over negative centroid distances.
    sharp_scoring : bool, default True
        Use ``softmax(scores / scoring_temp)`` per centroid instead of the raw scores.
    scoring_temp : float, default 0.1
        Temperature of the sharp scores.
    two_stage : bool, default True
        Route to the nearest subject representative first; False: to the subject of the nearest
        centroid over all subjects.
    fallback : bool, default True
        Blend with the global ranking when the nearest centroid is farther than
        ``distance_threshold``.
    distance_threshold : float, default 0.5
        Fallback threshold (the CLI default; the authors' function default is 0.35).
    fallback_ramp : float, default 0.2
        The blend weight grows linearly from 0 to 1 over this distance past the threshold.
    consensus_version : {"softmax", "sum"}, default "softmax"
        Consensus score of :func:`rgd_utils.consensus.consensus_scores`.
    correctness : str, default "consensus"
        How each model's correctness on a train query is estimated without labels.
        ``"consensus"``: the paper's (majority agreement for proficiency, consensus scores for
        rankings). Any estimator of :data:`rgd_utils.label_free.ESTIMATORS` (``"majority"``,
        ``"dawid-skene"``, ``"one-coin"``, ``"spectral"``), fitted per subject, replaces both
        [OURS, "CASCAL-DS"]: a model is proficient on a query when its answer is the
        estimator's most likely right letter and that letter's posterior is at least
        ``min_consensus`` (the posterior is the query's weight), and clusters rank models by
        their mean estimated probability of being right.
    random_state : int, default 0
        Seed of k-means, of the replacement of answers outside A–T, and of the rank tie-break.
    n_jobs : int, default 1
        Processes computing the (model, subject) clusterings (joblib; -1: every core). The
        result does not depend on it.
    memo : ClusteringMemo or None, default None
        Clusterings shared with other fits (computed once per content); None: this fit's own.
        The result does not depend on it.

    Attributes
    ----------
    models_ : list of str
        Pool models, in column order.
    scaler_ : RobustZ
        Per-model robust z-scaler fitted on the train confidence (also used by the top-3 vote's
        tie-break).
    centroids_ : list of Centroid
        Final centroids of all subjects, grouped by subject in order of first appearance.
    subject_representatives_ : dict of str to array of shape (d,)
        Unit-norm mean of each subject's final centroids (of its queries when it has none).
    global_scores_ : array of shape (m,)
        Each model's mean ranking signal over all train queries (rounded to 4 decimals, as the
        authors' code), used by the fallback.

    Notes
    -----
    A model with no answer gets consensus NaN, counted as 0 in every mean (abstaining earns no
    consensus). A subject where no model has a proficient query gets no centroids; its test
    queries get ``global_scores_`` (as the paper's §5.7.4 says; the authors' code would give all
    zeros there). Single-model pools work (every ranking is trivial).
    """

    family = "query-only"
    uses_labels = False

    def __init__(
        self,
        weighted: bool = True,
        min_consensus: float = 0.5,
        clustering: str = "kmeans",
        k_max: int = 5,
        silhouette_floor: float = 0.05,
        silhouette_sample: int | None = None,
        linkage_threshold: float = 0.15,
        merge_threshold: float = 0.15,
        prune: bool = True,
        prune_jaccard: float = 0.95,
        k_nearest: int = 3,
        distance_temp: float = 0.1,
        sharp_scoring: bool = True,
        scoring_temp: float = 0.1,
        two_stage: bool = True,
        fallback: bool = True,
        distance_threshold: float = 0.5,
        fallback_ramp: float = 0.2,
        consensus_version: str = "softmax",
        correctness: str = "consensus",
        random_state: int = 0,
        n_jobs: int = 1,
        memo: ClusteringMemo | None = None,
    ) -> None:
        self.weighted = weighted
        self.min_consensus = min_consensus
        self.clustering = clustering
        self.k_max = k_max
        self.silhouette_floor = silhouette_floor
        self.silhouette_sample = silhouette_sample
        self.linkage_threshold = linkage_threshold
        self.merge_threshold = merge_threshold
        self.prune = prune
        self.prune_jaccard = prune_jaccard
        self.k_nearest = k_nearest
        self.distance_temp = distance_temp
        self.sharp_scoring = sharp_scoring
        self.scoring_temp = scoring_temp
        self.two_stage = two_stage
        self.fallback = fallback
        self.distance_threshold = distance_threshold
        self.fallback_ramp = fallback_ramp
        self.consensus_version = consensus_version
        self.correctness = correctness
        self.random_state = random_state
        self.n_jobs = n_jobs
        self.memo = memo

    # ----- what is learned from (hooks overridden by CASCAL-GT) -----

    def _proficiency(self, train: RoutingData) -> tuple[np.ndarray, np.ndarray]:
        """Proficient (query, model) pairs and their per-query weight (§5.3).

        Returns
        -------
        proficient : array of shape (n, m), bool
        weight : array of shape (n,), float
        """
        if self.correctness == "consensus":
            in_majority, agreement = majority_agreement(train.choices)
        else:
            estimate, agreement = estimate_correctness(train.choices, train.subjects, self.correctness)
            in_majority = estimate == agreement[:, None]  # the most likely right letter; NaN never
        if not self.weighted:
            return in_majority, np.ones(train.n_queries)
        return in_majority & (agreement >= self.min_consensus)[:, None], agreement

    def _signal(self, train: RoutingData) -> np.ndarray:
        """``(n, m)`` per-query model signal averaged into rankings (NaN = not counted): the
        consensus score (or the estimated probability of being right), 0 where the model gave
        no answer."""
        if self.correctness != "consensus":
            return np.nan_to_num(estimate_correctness(train.choices, train.subjects,
                                                      self.correctness)[0], nan=0.0)
        consensus = consensus_from_confidence(train.choices, train.confidence, self.scaler_,
                                              self.consensus_version, self.random_state)
        return np.nan_to_num(consensus, nan=0.0)

    # ----- training -----

    def fit(self, train: RoutingData) -> CASCAL:
        """Build the skill clusters, their rankings, subject representatives and global scores.

        Parameters
        ----------
        train : RoutingData
            Train queries with embeddings, subjects, the pool's choices and confidences
            (CASCAL never reads ``train.labels``).

        Returns
        -------
        CASCAL
            ``self``.
        """
        if self.clustering not in ("kmeans", "agglomerative"):
            raise ValueError(f"clustering must be 'kmeans' or 'agglomerative', "
                             f"got {self.clustering!r}")
        if self.correctness not in ("consensus", *ESTIMATORS):
            raise ValueError(f"correctness must be 'consensus' or one of {sorted(ESTIMATORS)}, "
                             f"got {self.correctness!r}")
        self._check_train(train)
        if not majority_agreement(train.choices)[0].any():
            raise ValueError("no model answered any train query (all choices are None): "
                             "there is nothing to learn from")
        self.models_ = list(train.models)
        self.scaler_ = RobustZ().fit(train.confidence)
        signal = self._signal(train)
        proficient, weight = self._proficiency(train)
        x = unit_norm(train.embeddings)
        self.global_scores_ = cluster_scores(signal, np.arange(train.n_queries), decimals=4)
        self.centroids_, self.subject_representatives_ = [], {}
        memo = self.memo if self.memo is not None else ClusteringMemo()
        if self.n_jobs != 1:
            memo.compute_missing(self._clustering(), [
                (points, weights) for subject in dict.fromkeys(train.subjects)
                for _, points, weights in self._proficient_sets(
                    *(a[train.subjects == subject] for a in (x, proficient, weight)))],
                self.n_jobs)
        # Thousands of k-means fits on tens to hundreds of points: threads only add waiting,
        # and on a busy machine OpenMP's waiting made each fit 25x slower (47 ms vs 1.8 ms).
        with one_thread():
            for subject in dict.fromkeys(train.subjects):
                rows = np.flatnonzero(train.subjects == subject)
                centroids = self._subject_centroids(subject, x[rows], proficient[rows],
                                                    weight[rows], signal[rows], memo)
                self.centroids_.extend(centroids)
                vectors = [c.vector for c in centroids] or list(x[rows])
                self.subject_representatives_[subject] = unit_norm(np.mean(vectors, axis=0))
        return self

    def _subject_centroids(self, subject: str, x: np.ndarray, proficient: np.ndarray,
                           weight: np.ndarray, signal: np.ndarray, memo: ClusteringMemo
                           ) -> list[Centroid]:
        """Cluster, merge, assign, rank and prune one subject (§5.4–5.6)."""
        centroids = []
        for j, points, weights in self._proficient_sets(x, proficient, weight):
            model = self.models_[j]
            vectors, labels = memo.cluster(self._clustering(), points, weights)
            counts = np.bincount(labels, minlength=len(vectors))
            centroids += [Centroid(f"{subject}::model={model}::c{c}", subject, vectors[c],
                                   ((model, c),), int(counts[c]))
                          for c in range(len(vectors))]
        if self.merge_threshold > 0:
            centroids = merge_close_centroids(centroids, self.merge_threshold)
        if not centroids:
            return []
        assigned = assign_nearest(x, centroids)
        centroids = [c for c, rows in zip(centroids, assigned) if len(rows)]
        assigned = [rows for rows in assigned if len(rows)]
        for c, rows in zip(centroids, assigned):
            c.scores = cluster_scores(signal, rows, decimals=3)
        if self.prune:
            centroids, assigned = prune_redundant_centroids(
                centroids, assigned, self.models_, self.prune_jaccard)
            for c, rows in zip(centroids, assigned):
                c.scores = cluster_scores(signal, rows, decimals=3)
                c.vector = unit_norm(x[rows].mean(axis=0))
        for c, rows in zip(centroids, assigned):
            c.n_assigned = len(rows)
        return centroids

    def _proficient_sets(self, x: np.ndarray, proficient: np.ndarray, weight: np.ndarray
                         ) -> list[tuple[int, np.ndarray, np.ndarray]]:
        """``(model index, vectors, weights)`` of each model's proficient queries among ``x``."""
        sets = []
        for j in range(len(self.models_)):
            keep = proficient[:, j] & (weight > 0)
            if keep.any():
                sets.append((j, x[keep], weight[keep]))
        return sets

    def _clustering(self) -> Clustering:
        """This router's clustering parameters."""
        return Clustering(self.clustering, self.k_max, self.silhouette_floor,
                          self.linkage_threshold, self.random_state, self.silhouette_sample)

    # ----- inference -----

    def predict_subjects(self, data: RoutingData) -> np.ndarray:
        """The subject each query is routed to (§5.7.2); compare with ``data.subjects`` for the
        subject-routing accuracy.

        Parameters
        ----------
        data : RoutingData
            Queries to route (their ``subjects`` are not read).

        Returns
        -------
        array of shape (n,), object
            Nearest subject representative (two-stage), or the subject of the nearest centroid
            over all subjects (``two_stage=False``; the nearest representative when no subject
            has a centroid).
        """
        return self._route_subjects(self._embed(data))

    def _route_subjects(self, x: np.ndarray) -> np.ndarray:
        """``(n,)`` routed subject of each unit-norm query vector (see predict_subjects)."""
        subjects = np.array(list(self.subject_representatives_), dtype=object)
        if self.two_stage or not self.centroids_:
            reps = np.array(list(self.subject_representatives_.values()))
            return subjects[np.argmax(x @ reps.T, axis=1)]
        vectors = np.array([c.vector for c in self.centroids_])
        centroid_subjects = np.array([c.subject for c in self.centroids_], dtype=object)
        return centroid_subjects[np.argmax(x @ vectors.T, axis=1)]

    def scores(self, data: RoutingData) -> np.ndarray:
        """Model scores ``P`` of §5.7 steps 3–4 (higher is better).

        Parameters
        ----------
        data : RoutingData
            Queries to route; only their embeddings are read.

        Returns
        -------
        array of shape (n, m)
            Distance-weighted mix of the nearest centroids' (sharp) model scores, blended with
            the normalised global scores when the nearest centroid is farther than
            ``distance_threshold``; ``global_scores_`` for queries routed to a subject without
            centroids.
        """
        x = self._embed(data)
        subject = self._route_subjects(x)
        n, m = len(x), len(self.models_)
        if not self.centroids_:
            return np.tile(self.global_scores_, (n, 1))
        vectors = np.array([c.vector for c in self.centroids_])
        centroid_subjects = np.array([c.subject for c in self.centroids_], dtype=object)
        per_centroid = np.array([c.scores for c in self.centroids_])
        # a centroid whose scores sum to 0 (or are not finite) is skipped, as in the code
        usable = (per_centroid.sum(axis=1) > 0) & np.isfinite(per_centroid).all(axis=1)
        if self.sharp_scoring:
            per_centroid = np.where(usable[:, None],
                                    softmax(per_centroid / self.scoring_temp, axis=1),
                                    per_centroid)
        distance = np.where(subject[:, None] == centroid_subjects[None, :],
                            1.0 - x @ vectors.T, np.inf)
        k = min(self.k_nearest, len(self.centroids_))
        nearest = np.argsort(distance, axis=1, kind="stable")[:, :k]
        d = np.take_along_axis(distance, nearest, axis=1)
        has_centroid = np.isfinite(d[:, 0])
        with np.errstate(invalid="ignore"):  # rows without any centroid give NaN, zeroed below
            w = softmax(-d / self.distance_temp, axis=1)  # other subjects' centroids get 0
        w[~has_centroid] = 0.0
        p = np.einsum("nk,nkm->nm", w * usable[nearest], per_centroid[nearest])
        g = self.global_scores_
        if self.fallback:
            alpha = np.clip((d[:, 0] - self.distance_threshold) / self.fallback_ramp, 0.0, 1.0)
            far = has_centroid & (d[:, 0] > self.distance_threshold)
            total = p.sum(axis=1, keepdims=True)
            p_norm = np.divide(p, total, out=np.zeros_like(p), where=total > 0)
            g_norm = g / g.sum() if g.sum() > 0 else g
            blend = (1 - alpha[:, None]) * p_norm + alpha[:, None] * g_norm
            p = np.where(far[:, None], blend, p)
        p[~has_centroid] = g
        return p.reshape(n, m)

    def _embed(self, data: RoutingData) -> np.ndarray:
        """Unit-norm ``(n, d)`` embeddings of ``data`` (after checking models and dimension)."""
        self._check_models(data)
        d = len(next(iter(self.subject_representatives_.values())))
        if data.embeddings.shape[1] != d:
            raise ValueError(f"fitted on {d}-dimensional embeddings, got "
                             f"{data.embeddings.shape[1]}")
        return unit_norm(data.embeddings)

    def centroid_table(self) -> pd.DataFrame:
        """The learned skill clusters as a table (for inspection and plots).

        Returns
        -------
        pandas.DataFrame
            One row per final centroid: ``subject, centroid, model, cluster`` (the model and
            cluster index that formed it), ``members, models, seed_count, n_assigned``, then one ranking-score column per model (vectors left out).
        """
        self._check_fitted()
        rows = [{"subject": c.subject, "centroid": c.id, "model": c.model, "cluster": c.cluster,
                 "members": c.members, "models": c.models, "seed_count": c.seed_count,
                 "n_assigned": c.n_assigned, **dict(zip(self.models_, c.scores))}
                for c in self.centroids_]
        columns = ["subject", "centroid", "model", "cluster", "members", "models", "seed_count",
                   "n_assigned", *self.models_]
        return pd.DataFrame(rows, columns=columns)


class CASCALGT(CASCAL):
    """CASCAL-GT: CASCAL with the (generated or real) labels as ground truth.

    [OURS, inferred] (the paper's §4 table names it, nothing more): a model's proficient
    queries are those it answers correctly (``train.correct()``, weight 1, no agreement filter, so
    ``weighted`` and ``min_consensus`` have no effect), and clusters rank models, and the global
    fallback scores them, by mean accuracy instead of mean consensus (queries without a label are
    not counted). Every other step, parameter and attribute is CASCAL's (see :class:`CASCAL`).
    """

    family = "query-answer"
    uses_labels = True

    def _proficiency(self, train: RoutingData) -> tuple[np.ndarray, np.ndarray]:
        return train.correct(), np.ones(train.n_queries)

    def _signal(self, train: RoutingData) -> np.ndarray:
        correct = train.correct().astype(float)
        labelled = np.array([label is not None for label in train.labels], dtype=bool)
        correct[~labelled] = np.nan
        return correct
