"""scikit-learn's weighted k-means (k-means++ start, one Lloyd run), without its per-call checks.

CASCAL runs thousands of k-means fits on tens to hundreds of points. On problems that small,
``KMeans.fit_predict`` spends about two thirds of its time validating parameters, inputs and
weights and entering a thread-pool limit (``perf/kmeans_overhead.py`` measures it). This module
runs the same private steps that ``KMeans(n_init="auto", init="k-means++")`` runs, in the same
order, on the same random stream, so its labels are scikit-learn's bit for bit
(``tests/test_kmeans.py`` compares them with ``KMeans`` itself). The names are private, which is
why scikit-learn is pinned to one version in ``pyproject.toml``.
"""

from __future__ import annotations

from typing import ContextManager

import numpy as np
from sklearn.cluster._kmeans import _kmeans_plusplus, _kmeans_single_lloyd, _tolerance
from sklearn.utils._openmp_helpers import _openmp_effective_n_threads
from sklearn.utils.extmath import row_norms
from sklearn.utils.parallel import _get_threadpool_controller

# The undecorated Lloyd run: the decorator enters a one-thread BLAS limit on every call; callers
# of kmeans_labels hold that limit once around all their fits (see one_thread).
_lloyd = _kmeans_single_lloyd.__wrapped__


def one_thread(user_api: str | None = None) -> ContextManager:
    """Thread pools (all, or one ``user_api`` such as ``"blas"``) limited to one thread.

    It uses scikit-learn's process-wide controller: a new ``threadpoolctl.threadpool_limits``
    scans the loaded libraries each time (16 ms, more than the k-means fits it would wrap).
    :func:`kmeans_labels` runs inside ``one_thread("blas")``, as scikit-learn's Lloyd run does.
    """
    return _get_threadpool_controller().limit(limits=1, user_api=user_api)


def kmeans_labels(x: np.ndarray, weight: np.ndarray, n_clusters: int, random_state: int,
                  max_iter: int = 300, tol: float = 1e-4) -> np.ndarray:
    """Labels ``(n,)`` of ``KMeans(n_clusters, n_init="auto", random_state=random_state,
    max_iter=max_iter, tol=tol).fit_predict(x, sample_weight=weight)``, computed the same way.

    Call it inside ``one_thread("blas")`` (or ``one_thread()``). ``x`` is ``(n, d)``, ``weight`` ``(n,)``, both
    float64, ``n >= n_clusters``.
    """
    if len(x) < n_clusters:
        raise ValueError(f"k-means needs at least {n_clusters} points, got {len(x)}")
    x = np.array(x, dtype=np.float64, order="C")  # a copy, centred in place below
    weight = np.ascontiguousarray(weight, dtype=np.float64)
    tolerance = _tolerance(x, tol)  # on the uncentred data, as KMeans computes it
    rng = np.random.RandomState(random_state)
    x -= x.mean(axis=0)
    centers, _ = _kmeans_plusplus(x, n_clusters, row_norms(x, squared=True), weight, rng)
    labels, _, _, _ = _lloyd(x, weight, centers, max_iter=max_iter, tol=tolerance,
                             n_threads=_openmp_effective_n_threads())
    return labels
