"""rgd_utils.routers.kmeans gives scikit-learn's KMeans labels exactly (it calls its private steps)."""

import warnings

import numpy as np
import pytest
from sklearn.cluster import KMeans
from sklearn.exceptions import ConvergenceWarning

from rgd_utils.routers.base import unit_norm
from rgd_utils.routers.kmeans import kmeans_labels, one_thread


def _points(rng: np.random.Generator, n: int, d: int, n_blobs: int) -> np.ndarray:
    """Unit rows around ``n_blobs`` centres, with a few exact duplicates (as CASCAL's sets have)."""
    centres = rng.normal(size=(n_blobs, d))
    x = centres[rng.integers(n_blobs, size=n)] + 0.6 * rng.normal(size=(n, d))
    x[: n // 10] = x[n // 10: 2 * (n // 10)]
    return unit_norm(x)


@pytest.mark.parametrize("n, d, n_blobs", [(3, 8, 2), (12, 16, 3), (60, 384, 4), (400, 32, 6)])
@pytest.mark.parametrize("seed", [0, 7])
def test_labels_equal_scikit_learn(n, d, n_blobs, seed):
    rng = np.random.default_rng(seed + n)
    x = _points(rng, n, d, n_blobs)
    weight = rng.uniform(0.2, 3.0, size=n)
    weight *= n / weight.sum()
    ks = range(2, min(8, n) + 1)
    with one_thread("blas"):
        ours = list(kmeans_labels(x, weight, ks, seed, max_iter=200))
    assert len(ours) == len(ks)
    for k, labels in zip(ks, ours):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            expected = KMeans(n_clusters=k, n_init="auto", random_state=seed,
                              max_iter=200).fit_predict(x, sample_weight=weight)
        np.testing.assert_array_equal(labels, expected)
        assert labels.max() < k


def test_input_is_not_modified_and_too_few_points_is_an_error():
    rng = np.random.default_rng(3)
    x = _points(rng, 20, 8, 2)
    before = x.copy()
    with one_thread("blas"):
        list(kmeans_labels(x, np.ones(20), [3], 0))
    np.testing.assert_array_equal(x, before)
    with pytest.raises(ValueError, match="k=5 needs at least 5 points, got 4"):
        list(kmeans_labels(x[:4], np.ones(4), [2, 5], 0))
