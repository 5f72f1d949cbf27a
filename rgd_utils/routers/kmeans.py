"""scikit-learn's weighted k-means (k-means++ start, one Lloyd run), without its per-call checks.

CASCAL runs thousands of k-means fits on tens to hundreds of points. On problems that small,
``KMeans.fit_predict`` spends about two thirds of its time validating parameters, inputs and
weights and entering a thread-pool limit, and its k-means++ seeding spends most of its own time
looking up array namespaces (``perf/kmeans_overhead.py`` measures both). Here the seeding is
scikit-learn's, copied with the distance arithmetic inlined, and the Lloyd run is scikit-learn's
own (private) function: the same steps in the same order on the same random stream, so the labels
are scikit-learn's bit for bit (``tests/test_kmeans.py`` compares them with ``KMeans`` itself).
The names are private and the copy follows 1.9, which is why scikit-learn is pinned to one
version in ``pyproject.toml``.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import ContextManager

import numpy as np
from sklearn.cluster._kmeans import _kmeans_single_lloyd, _tolerance
from sklearn.utils._openmp_helpers import _openmp_effective_n_threads
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


def kmeans_labels(x: np.ndarray, weight: np.ndarray, ks: Iterable[int], random_state: int,
                  max_iter: int = 300, tol: float = 1e-4) -> Iterator[np.ndarray]:
    """For each ``k`` of ``ks``, the labels ``(n,)`` of ``KMeans(k, n_init="auto",
    random_state=random_state, max_iter=max_iter, tol=tol).fit_predict(x, sample_weight=weight)``,
    computed the same way; the centring, norms and tolerance are computed once for all ``k``.

    Iterate inside ``one_thread("blas")`` (or ``one_thread()``). ``x`` is ``(n, d)``, ``weight``
    ``(n,)``, both float64; every ``k`` is at most ``n``.
    """
    x = np.array(x, dtype=np.float64, order="C")  # a copy, centred in place below
    weight = np.ascontiguousarray(weight, dtype=np.float64)
    tolerance = _tolerance(x, tol)  # on the uncentred data, as KMeans computes it
    x -= x.mean(axis=0)
    squared_norms = np.einsum("ij,ij->i", x, x)
    n_threads = _openmp_effective_n_threads()
    for k in ks:
        if len(x) < k:
            raise ValueError(f"k-means with k={k} needs at least {k} points, got {len(x)}")
        rng = np.random.RandomState(random_state)
        centers = _kmeans_plusplus(x, k, squared_norms, weight, rng)
        labels, _, _, _ = _lloyd(x, weight, centers, max_iter=max_iter, tol=tolerance,
                                 n_threads=n_threads)
        yield labels


def _squared_distances(a: np.ndarray, x: np.ndarray, x_squared_norms: np.ndarray) -> np.ndarray:
    """Squared Euclidean distances ``(len(a), n)``, in the operations and order of scikit-learn's
    ``_euclidean_distances`` for dense float64 arrays (so the sums round the same way)."""
    distances = -2 * (a @ x.T)
    distances += np.einsum("ij,ij->i", a, a)[:, None]
    distances += x_squared_norms[None, :]
    np.maximum(distances, 0, out=distances)
    return distances


def _kmeans_plusplus(x: np.ndarray, n_clusters: int, x_squared_norms: np.ndarray,
                     weight: np.ndarray, rng: np.random.RandomState) -> np.ndarray:
    """scikit-learn 1.9's k-means++ seeding (``sklearn.cluster._kmeans._kmeans_plusplus``) for
    dense float64 data: the same draws and arithmetic, without the array-namespace lookups of
    its distance helper, which took most of its time on small sets. Returns the centres."""
    centers = np.empty((n_clusters, x.shape[1]), dtype=x.dtype)
    n_local_trials = 2 + int(np.log(n_clusters))
    centers[0] = x[rng.choice(len(x), p=weight / weight.sum())]
    closest = _squared_distances(centers[0, np.newaxis], x, x_squared_norms)
    potential = closest @ weight
    for c in range(1, n_clusters):
        candidates = np.searchsorted(np.cumsum(weight * closest),
                                     rng.uniform(size=n_local_trials) * potential)
        np.clip(candidates, None, closest.size - 1, out=candidates)
        distances = _squared_distances(x[candidates], x, x_squared_norms)
        np.minimum(closest, distances, out=distances)
        potentials = distances @ weight.reshape(-1, 1)
        best = np.argmin(potentials)
        potential, closest = potentials[best], distances[best]
        centers[c] = x[candidates[best]]
    return centers
