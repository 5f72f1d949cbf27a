"""CASCAL: consensus-aware skill clusters, and its labelled twin CASCAL-GT (PAPER.md §5.3–5.8).

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

import hashlib
import warnings
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy.special import softmax
from sklearn.cluster import AgglomerativeClustering, KMeans
from sklearn.exceptions import ConvergenceWarning
from threadpoolctl import threadpool_limits

from ..consensus import RobustZ, consensus_from_confidence, majority_agreement
from ..label_free import ESTIMATORS, estimate_correctness
from .base import Router, RoutingData, unit_norm

_TOP = 3  # size of the top model sets compared when pruning (§5.6.3)
#: Clusterings already computed, by content (see ``CASCAL._cluster``): ablations and repeated
#: fits on the same data share them. Oldest entries go first beyond ``_MEMO_SIZE``.
_CLUSTERINGS: dict[bytes, tuple[np.ndarray, np.ndarray]] = {}
_MEMO_SIZE = 4096


@dataclass
class Centroid:
    """One skill cluster of a subject, as kept after merging and pruning.

    Attributes
    ----------
    id : str
        ``"{subject}::model={model}::c{j}"`` of the per-(model, subject) cluster that gave it.
    subject : str
        The subject it belongs to.
    vector : array of shape (d,)
        Unit-norm centroid.
    members : tuple of (str, int)
        ``(model, cluster index)`` of every per-(model, subject) cluster merged (§5.5) or pruned
        (§5.6.3) into it, its own first.
    seed_count : int
        Proficient queries that formed it (summed over merged members; pruning leaves it as is,
        like the authors' code).
    n_assigned : int
        Train queries of the subject assigned to it (after pruning).
    scores : array of shape (m,)
        Model ranking scores in pool order: mean consensus (CASCAL) or mean accuracy
        (CASCAL-GT) over the assigned queries, rounded to 3 decimals.
    """

    id: str
    subject: str
    vector: np.ndarray
    members: tuple[tuple[str, int], ...]
    seed_count: int
    n_assigned: int = 0
    scores: np.ndarray | None = None

    @property
    def models(self) -> tuple[str, ...]:
        """Pool models whose proficient clusters formed this centroid (from ``members``)."""
        return tuple(dict.fromkeys(model for model, _ in self.members))


def _ranking(scores: np.ndarray, models: list[str]) -> list[str]:
    """Model names best first: by score descending, ties by name (§5.6.2)."""
    return [models[j] for j in sorted(range(len(models)), key=lambda j: (-scores[j], models[j]))]


def _cluster_scores(signal: np.ndarray, members: np.ndarray, decimals: int) -> np.ndarray:
    """``(m,)`` mean of ``signal`` rows (NaN = not counted) over ``members``, rounded; 0 when a
    model has no counted row."""
    rows = signal[members]
    counted = (~np.isnan(rows)).sum(axis=0)
    total = np.nansum(rows, axis=0)
    return np.round(np.divide(total, counted, out=np.zeros_like(total), where=counted > 0),
                    decimals)


class CASCAL(Router):
    """Query-only router: consensus-aware skill clusters (PAPER.md §5; defaults of §5.7).

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
    queries get ``global_scores_`` (as PAPER.md §5.7.4 says; the authors' code would give all
    zeros there). Single-model pools work (every ranking is trivial).
    """

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
        self.global_scores_ = _cluster_scores(signal, np.arange(train.n_queries), decimals=4)
        self.centroids_, self.subject_representatives_ = [], {}
        if self.n_jobs != 1:
            self._cluster_in_parallel(x, train.subjects, proficient, weight)
        # Thousands of k-means fits on tens to hundreds of points: threads only add waiting,
        # and on a busy machine OpenMP's waiting made each fit 25x slower (47 ms vs 1.8 ms).
        with threadpool_limits(limits=1):
            for subject in dict.fromkeys(train.subjects):
                rows = np.flatnonzero(train.subjects == subject)
                centroids = self._subject_centroids(subject, x[rows], proficient[rows],
                                                    weight[rows], signal[rows])
                self.centroids_.extend(centroids)
                vectors = [c.vector for c in centroids] or list(x[rows])
                self.subject_representatives_[subject] = unit_norm(np.mean(vectors, axis=0))
        return self

    def _subject_centroids(self, subject: str, x: np.ndarray, proficient: np.ndarray,
                           weight: np.ndarray, signal: np.ndarray) -> list[Centroid]:
        """Cluster, merge, assign, rank and prune one subject (§5.4–5.6)."""
        centroids = []
        for j, points, weights in self._proficient_sets(x, proficient, weight):
            model = self.models_[j]
            vectors, labels = self._cluster(points, weights)
            counts = np.bincount(labels, minlength=len(vectors))
            centroids += [Centroid(f"{subject}::model={model}::c{c}", subject, vectors[c],
                                   ((model, c),), int(counts[c]))
                          for c in range(len(vectors))]
        if self.merge_threshold > 0:
            centroids = merge_close_centroids(centroids, self.merge_threshold)
        if not centroids:
            return []
        assigned = _assign(x, centroids)
        centroids = [c for c, rows in zip(centroids, assigned) if len(rows)]
        assigned = [rows for rows in assigned if len(rows)]
        for c, rows in zip(centroids, assigned):
            c.scores = _cluster_scores(signal, rows, decimals=3)
        if self.prune:
            centroids, assigned = prune_redundant_centroids(
                centroids, assigned, self.models_, self.prune_jaccard)
            for c, rows in zip(centroids, assigned):
                c.scores = _cluster_scores(signal, rows, decimals=3)
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

    def _memo_key(self, x: np.ndarray, weight: np.ndarray) -> bytes:
        """Digest of a clustering's inputs and parameters."""
        params = (self.clustering, self.k_max, self.silhouette_floor, self.linkage_threshold,
                  self.random_state, self.silhouette_sample)
        digest = hashlib.blake2b(repr(params).encode(), digest_size=20)
        for array in (x, weight):
            array = np.ascontiguousarray(array, dtype=np.float64)
            digest.update(repr(array.shape).encode())
            digest.update(array.tobytes())
        return digest.digest()

    @staticmethod
    def _remember(key: bytes, result: tuple[np.ndarray, np.ndarray]) -> None:
        vectors, labels = result
        vectors.setflags(write=False)
        labels.setflags(write=False)
        while len(_CLUSTERINGS) >= _MEMO_SIZE:
            del _CLUSTERINGS[next(iter(_CLUSTERINGS))]
        _CLUSTERINGS[key] = vectors, labels

    def _cluster(self, x: np.ndarray, weight: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Centroids ``(k, d)`` (unit norm) and labels ``(n,)`` of one (model, subject)'s
        proficient queries ``x`` (unit rows) with weights ``(n,)`` (§5.4).

        The result depends only on ``x``, ``weight`` and the clustering parameters, so it is
        computed once per content and shared (read-only) by every later fit that asks again."""
        key = self._memo_key(x, weight)
        if key not in _CLUSTERINGS:
            self._remember(key, self._compute_clusters(x, weight))
        return _CLUSTERINGS[key]

    def _cluster_in_parallel(self, x: np.ndarray, subjects: np.ndarray, proficient: np.ndarray,
                             weight: np.ndarray) -> None:
        """Compute every (model, subject) clustering not yet known in ``n_jobs`` processes."""
        from joblib import Parallel, delayed

        missing = {}
        for subject in dict.fromkeys(subjects):
            rows = subjects == subject
            for _, vectors, weights in self._proficient_sets(x[rows], proficient[rows],
                                                             weight[rows]):
                key = self._memo_key(vectors, weights)
                if key not in _CLUSTERINGS:
                    missing[key] = (vectors, weights)
        results = Parallel(n_jobs=self.n_jobs)(
            delayed(self._compute_clusters)(vectors, weights) for vectors, weights in missing.values())
        for key, result in zip(missing, results):
            self._remember(key, result)

    def _compute_clusters(self, x: np.ndarray, weight: np.ndarray
                          ) -> tuple[np.ndarray, np.ndarray]:
        """What :meth:`_cluster` returns, computed."""
        n = len(x)
        weight = weight * (n / weight.sum())
        single = (unit_norm(np.average(x, axis=0, weights=weight))[None, :],
                  np.zeros(n, dtype=int))
        n_unique = len(np.unique(np.round(x, 12), axis=0))
        if n_unique == 1:
            return single
        if self.clustering == "agglomerative":
            labels = AgglomerativeClustering(
                n_clusters=None, metric="cosine", linkage="average",
                distance_threshold=self.linkage_threshold).fit_predict(x)
        else:
            labels = self._kmeans_labels(x, weight, n_unique)
            if labels is None:
                return single
        k = labels.max() + 1
        vectors = np.array([np.average(x[labels == c], axis=0, weights=weight[labels == c])
                            for c in range(k)])
        return unit_norm(vectors), labels

    def _kmeans_labels(self, x: np.ndarray, weight: np.ndarray,
                       n_unique: int) -> np.ndarray | None:
        """Labels of the weighted k-means with the best cosine silhouette over
        ``k = 2..min(k_max, n-1, n_unique-1)``; None if no k is feasible or the best silhouette
        is below the floor."""
        n = len(x)
        rows = np.arange(n)
        if self.silhouette_sample is not None and n > self.silhouette_sample:
            rows = np.sort(np.random.default_rng(self.random_state).choice(
                n, self.silhouette_sample, replace=False))
        best_score, best_labels = -np.inf, None
        for k in range(2, min(self.k_max, n - 1, n_unique - 1) + 1):
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", ConvergenceWarning)
                labels = KMeans(n_clusters=k, n_init="auto", random_state=self.random_state,
                                max_iter=200).fit_predict(x, sample_weight=weight)
            if not 2 <= len(np.unique(labels[rows])) <= len(rows) - 1:
                continue  # silhouette undefined (the authors' code skips it via an exception)
            score = cosine_silhouette(x[rows], labels[rows])
            if score > best_score:
                best_score, best_labels = score, labels
        if best_labels is None or best_score < self.silhouette_floor:
            return None
        return np.unique(best_labels, return_inverse=True)[1]

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
            One row per final centroid: ``subject, centroid, members, models, seed_count,
            n_assigned``, then one ranking-score column per model (vectors left out).
        """
        self._check_fitted()
        rows = [{"subject": c.subject, "centroid": c.id, "members": c.members,
                 "models": c.models, "seed_count": c.seed_count, "n_assigned": c.n_assigned,
                 **dict(zip(self.models_, c.scores))} for c in self.centroids_]
        columns = ["subject", "centroid", "members", "models", "seed_count", "n_assigned",
                   *self.models_]
        return pd.DataFrame(rows, columns=columns)


class CASCALGT(CASCAL):
    """CASCAL-GT: CASCAL with the (generated or real) labels as ground truth.

    [OURS, inferred] (PAPER.md §4 table; only the name is documented): a model's proficient
    queries are those it answers correctly (``train.correct()``, weight 1, no agreement filter, so
    ``weighted`` and ``min_consensus`` have no effect), and clusters rank models, and the global
    fallback scores them, by mean accuracy instead of mean consensus (queries without a label are
    not counted). Every other step, parameter and attribute is CASCAL's (see :class:`CASCAL`).
    """

    uses_labels = True

    def _proficiency(self, train: RoutingData) -> tuple[np.ndarray, np.ndarray]:
        return train.correct(), np.ones(train.n_queries)

    def _signal(self, train: RoutingData) -> np.ndarray:
        correct = train.correct().astype(float)
        labelled = np.array([label is not None for label in train.labels], dtype=bool)
        correct[~labelled] = np.nan
        return correct


def merge_close_centroids(centroids: list[Centroid], threshold: float) -> list[Centroid]:
    """Greedy merge of a subject's centroids closer than ``threshold`` (PAPER.md §5.5).

    In insertion order, each not-yet-merged ``c1`` scans the later not-yet-merged ``c2``: when
    ``1 - cos(c1, c2) < threshold`` the one with fewer seeds merges into the other (``c2`` into
    ``c1`` on a tie); if ``c1`` is the one that moves, its scan stops. Chains are followed to the
    final target, which keeps its id, gets the seed-count-weighted mean of the original member
    vectors (normalised) and the summed seed count. Distances use the original vectors.

    Parameters
    ----------
    centroids : list of Centroid
        In insertion order (pool model order, then cluster index).
    threshold : float
        Cosine-distance threshold.

    Returns
    -------
    list of Centroid
        The surviving targets, in insertion order.
    """
    vectors = unit_norm(np.array([c.vector for c in centroids])) if centroids else None
    merged_into: dict[int, int] = {}
    for i in range(len(centroids)):
        if i in merged_into:
            continue
        for j in range(i + 1, len(centroids)):
            if j in merged_into or 1.0 - vectors[i] @ vectors[j] >= threshold:
                continue
            if centroids[j].seed_count > centroids[i].seed_count:
                merged_into[i] = j
                break
            merged_into[j] = i
    groups: dict[int, list[int]] = {}
    for i in range(len(centroids)):
        target = i
        while target in merged_into:
            target = merged_into[target]
        groups.setdefault(target, []).append(i)
    merged = []
    for target in sorted(groups):
        group = [target] + [i for i in groups[target] if i != target]
        seeds = np.array([centroids[i].seed_count for i in group], dtype=float)
        vector = centroids[target].vector if len(group) == 1 else unit_norm(
            np.average([centroids[i].vector for i in group], axis=0, weights=seeds))
        merged.append(Centroid(centroids[target].id, centroids[target].subject, vector,
                               sum((centroids[i].members for i in group), ()),
                               int(seeds.sum())))
    return merged


def cosine_silhouette(x: np.ndarray, labels: np.ndarray) -> float:
    """Mean silhouette of ``labels`` under cosine distance, for unit-norm rows ``x``.

    The same value as ``sklearn.metrics.silhouette_score(x, labels, metric="cosine")`` (distances
    clipped to [0, 2], a point alone in its cluster scores 0) in one matrix product, without
    scikit-learn's per-call overhead, which dominated CASCAL's fit.

    Parameters
    ----------
    x : array of shape (n, d)
        Unit-norm rows.
    labels : array of shape (n,), int
        Cluster of each row; between 2 and ``n - 1`` distinct values.

    Returns
    -------
    float
    """
    _, labels = np.unique(labels, return_inverse=True)
    k = labels.max() + 1
    if not 2 <= k <= len(x) - 1:
        raise ValueError(f"the silhouette needs 2 to n-1 clusters, got {k} for n={len(x)}")
    distance = np.clip(1.0 - x @ x.T, 0.0, 2.0)
    np.fill_diagonal(distance, 0.0)
    sums = distance @ np.eye(k)[labels]  # (n, k) summed distance to each cluster
    counts = np.bincount(labels, minlength=k).astype(float)
    rows = np.arange(len(x))
    with np.errstate(divide="ignore", invalid="ignore"):
        within = sums[rows, labels] / (counts[labels] - 1)
        means = sums / counts
        means[rows, labels] = np.inf
        between = means.min(axis=1)
        samples = (between - within) / np.maximum(within, between)
    return float(np.nan_to_num(samples).mean())


def _assign(x: np.ndarray, centroids: list[Centroid]) -> list[np.ndarray]:
    """Row indices of ``x`` (unit rows) nearest to each centroid by cosine (§5.6.1)."""
    nearest = np.argmax(x @ np.array([c.vector for c in centroids]).T, axis=1)
    return [np.flatnonzero(nearest == c) for c in range(len(centroids))]


def prune_redundant_centroids(centroids: list[Centroid], assigned: list[np.ndarray],
                              models: list[str], jaccard: float
                              ) -> tuple[list[Centroid], list[np.ndarray]]:
    """Prune clusters with the same top-3 model set into the larger one (PAPER.md §5.6.3).

    In insertion order, each kept ``c1`` compares with the later kept ``c2``: if the Jaccard
    index of their top-3 model sets (from ``Centroid.scores``, ties by name) is at least
    ``jaccard``, the one with fewer assigned queries (``c2`` on a tie) is dropped and its queries
    join the other; if ``c1`` is dropped, its scan stops. Sizes grow as queries move, rankings do
    not change during the pass (the caller recomputes them).

    Parameters
    ----------
    centroids : list of Centroid
        A subject's non-empty clusters, with ``scores`` set.
    assigned : list of arrays of int
        Each cluster's assigned query rows.
    models : list of str
        Pool model names, in the order of ``scores``.
    jaccard : float
        Jaccard threshold.

    Returns
    -------
    centroids, assigned : lists
        The kept clusters (members extended by the pruned ones) and their query rows.
    """
    tops = [set(_ranking(c.scores, models)[:_TOP]) for c in centroids]
    rows = [np.asarray(r) for r in assigned]
    members = [c.members for c in centroids]
    keep = [True] * len(centroids)
    for i in range(len(centroids)):
        for j in range(i + 1, len(centroids)):
            if not (keep[i] and keep[j]):
                continue
            if len(tops[i] & tops[j]) / len(tops[i] | tops[j]) < jaccard:
                continue
            small, big = (i, j) if len(rows[j]) > len(rows[i]) else (j, i)
            keep[small] = False  # when c1 (i) is dropped, its scan stops: keep[i] is False
            rows[big] = np.concatenate([rows[big], rows[small]])
            members[big] = members[big] + members[small]
    kept = [i for i in range(len(centroids)) if keep[i]]
    for i in kept:
        centroids[i].members = members[i]
    return [centroids[i] for i in kept], [np.sort(rows[i]) for i in kept]
