"""CASCAL's skill clusters: the centroids, how proficient queries are clustered (with a memo of
clusterings a caller can share), and the merge and prune steps of paper §5.4-5.6.

Every distance is the cosine distance between L2-normalised vectors.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
from sklearn.cluster import AgglomerativeClustering
from sklearn.decomposition import PCA

from .base import RoutingData, unit_norm
from .kmeans import kmeans_labels, one_thread

if TYPE_CHECKING:
    from .cascal import CASCAL

_TOP = 3  # size of the top model sets compared when pruning (Section 5.6.3)


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
    def model(self) -> str:
        """The pool model whose proficient queries formed it (its first member's)."""
        return self.members[0][0]

    @property
    def cluster(self) -> int:
        """Its index among that model's clusters of the subject (its first member's)."""
        return self.members[0][1]

    @property
    def models(self) -> tuple[str, ...]:
        """Pool models whose proficient clusters formed this centroid (from ``members``)."""
        return tuple(dict.fromkeys(model for model, _ in self.members))


def ranking(scores: np.ndarray, models: list[str]) -> list[str]:
    """Model names best first: by score descending, ties by name (§5.6.2)."""
    return [models[j] for j in sorted(range(len(models)), key=lambda j: (-scores[j], models[j]))]


def cluster_scores(signal: np.ndarray, members: np.ndarray, decimals: int) -> np.ndarray:
    """``(m,)`` mean of ``signal`` rows (NaN = not counted) over ``members``, rounded; 0 when a
    model has no counted row."""
    rows = signal[members]
    counted = (~np.isnan(rows)).sum(axis=0)
    total = np.nansum(rows, axis=0)
    return np.round(np.divide(total, counted, out=np.zeros_like(total), where=counted > 0),
                    decimals)


@dataclass(frozen=True)
class Clustering:
    """How one (model, subject)'s proficient queries are clustered: CASCAL's clustering
    parameters (see :class:`rgd_utils.routers.CASCAL`)."""

    method: str
    k_max: int
    silhouette_floor: float
    linkage_threshold: float
    random_state: int
    silhouette_sample: int | None

    def key(self, x: np.ndarray, weight: np.ndarray) -> bytes:
        """Digest of a clustering's inputs and parameters (what :class:`ClusteringMemo` keys)."""
        digest = hashlib.blake2b(repr(self).encode(), digest_size=20)
        for array in (x, weight):
            array = np.ascontiguousarray(array, dtype=np.float64)
            digest.update(repr(array.shape).encode())
            digest.update(array.tobytes())
        return digest.digest()

    def compute(self, x: np.ndarray, weight: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Centroids ``(k, d)`` (unit norm) and labels ``(n,)`` of unit rows ``x`` with weights
        ``(n,)`` (paper §5.4)."""
        n = len(x)
        weight = weight * (n / weight.sum())
        single = (unit_norm(np.average(x, axis=0, weights=weight))[None, :],
                  np.zeros(n, dtype=int))
        n_unique = len(np.unique(np.round(x, 12), axis=0))
        if n_unique == 1:
            return single
        if self.method == "agglomerative":
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
        ks = range(2, min(self.k_max, n - 1, n_unique - 1) + 1)
        scored = x[rows]
        with one_thread("blas"):
            # KMeans(n_clusters=k, n_init="auto", random_state, max_iter=200): the same labels
            for labels in kmeans_labels(x, weight, ks, self.random_state, max_iter=200):
                if not 2 <= len(np.unique(labels[rows])) <= len(rows) - 1:
                    continue  # silhouette undefined (the authors' code skips it via an exception)
                score = cosine_silhouette(scored, labels[rows])
                if score > best_score:
                    best_score, best_labels = score, labels
        if best_labels is None or best_score < self.silhouette_floor:
            return None
        return np.unique(best_labels, return_inverse=True)[1]


class ClusteringMemo:
    """Clusterings already computed, by content, for the fits that share it.

    A clustering depends only on its inputs and :class:`Clustering`, so CASCAL variants and
    repeated fits on the same data that share one memo compute each clustering once. The caller
    owns it (a router set passes one to all its CASCALs); beyond ``max_size`` the oldest go.
    Copies of a router share their memo: copying returns the memo itself.
    """

    def __init__(self, max_size: int = 4096) -> None:
        self.max_size = max_size
        self._known: dict[bytes, tuple[np.ndarray, np.ndarray]] = {}

    def __len__(self) -> int:
        return len(self._known)

    def __deepcopy__(self, memo: dict) -> ClusteringMemo:
        return self

    def clear(self) -> None:
        """Forget every clustering."""
        self._known.clear()

    def _remember(self, key: bytes, result: tuple[np.ndarray, np.ndarray]) -> None:
        vectors, labels = result
        vectors.setflags(write=False)
        labels.setflags(write=False)
        while len(self._known) >= self.max_size:
            del self._known[next(iter(self._known))]
        self._known[key] = vectors, labels

    def cluster(self, clustering: Clustering, x: np.ndarray, weight: np.ndarray
                ) -> tuple[np.ndarray, np.ndarray]:
        """:meth:`Clustering.compute` of ``x`` and ``weight``, computed once (read-only)."""
        key = clustering.key(x, weight)
        if key not in self._known:
            self._remember(key, clustering.compute(x, weight))
        return self._known[key]

    def compute_missing(self, clustering: Clustering,
                        inputs: list[tuple[np.ndarray, np.ndarray]], n_jobs: int) -> None:
        """Compute, in ``n_jobs`` processes, the clusterings of the ``(x, weight)`` pairs not yet
        known."""
        from joblib import Parallel, delayed

        missing = {}
        for x, weight in inputs:
            key = clustering.key(x, weight)
            if key not in self._known:
                missing[key] = (x, weight)
        results = Parallel(n_jobs=n_jobs)(
            delayed(clustering.compute)(x, weight) for x, weight in missing.values())
        for key, result in zip(missing, results):
            self._remember(key, result)


def merge_close_centroids(centroids: list[Centroid], threshold: float) -> list[Centroid]:
    """Greedy merge of a subject's centroids closer than ``threshold`` (paper §5.5).

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


def assign_nearest(x: np.ndarray, centroids: list[Centroid]) -> list[np.ndarray]:
    """Row indices of ``x`` (unit rows) nearest to each centroid by cosine (§5.6.1)."""
    nearest = np.argmax(x @ np.array([c.vector for c in centroids]).T, axis=1)
    return [np.flatnonzero(nearest == c) for c in range(len(centroids))]


def prune_redundant_centroids(centroids: list[Centroid], assigned: list[np.ndarray],
                              models: list[str], jaccard: float
                              ) -> tuple[list[Centroid], list[np.ndarray]]:
    """Prune clusters with the same top-3 model set into the larger one (paper §5.6.3).

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
    tops = [set(ranking(c.scores, models)[:_TOP]) for c in centroids]
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
        ``centroid, subject, model, cluster, n_assigned, top_model, pc1, pc2`` per centroid.
    """
    router._check_fitted()
    pca = PCA(n_components=2, random_state=random_state).fit(unit_norm(data.embeddings))
    xy = pca.transform(unit_norm(data.embeddings))
    qids = data.qids if data.qids is not None else np.arange(data.n_queries)
    points = pd.DataFrame({"qid": qids, "subject": data.subjects, "pc1": xy[:, 0],
                           "pc2": xy[:, 1]})
    if not router.centroids_:
        return points, pd.DataFrame(columns=["centroid", "subject", "model", "cluster",
                                             "n_assigned", "top_model", "pc1", "pc2"])
    cxy = pca.transform(np.array([c.vector for c in router.centroids_]))
    centroids = pd.DataFrame({
        "centroid": [c.id for c in router.centroids_],
        "subject": [c.subject for c in router.centroids_],
        "model": [c.model for c in router.centroids_],
        "cluster": [c.cluster for c in router.centroids_],
        "n_assigned": [c.n_assigned for c in router.centroids_],
        "top_model": [router.models_[int(np.argmax(c.scores))] for c in router.centroids_],
        "pc1": cxy[:, 0], "pc2": cxy[:, 1],
    })
    return points, centroids
