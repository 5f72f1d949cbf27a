"""CASCAL and CASCAL-GT (the paper's §5.3–5.8): each step on a hand-computed example, label
blindness, edge cases, and recovery of planted skill niches."""

from __future__ import annotations

import math

import numpy as np
import pytest
from sklearn.base import clone
from sklearn.metrics import roc_auc_score, silhouette_score

from rgd_utils.consensus import consensus_from_confidence
from rgd_utils.routers.base import RoutingData
from rgd_utils.routers import CASCAL, CASCALGT, ClusteringMemo
from rgd_utils.routers.skill_clusters import (
    Centroid,
    Clustering,
    cosine_silhouette,
    merge_close_centroids,
    prune_redundant_centroids,
    ranking,
)

LETTERS = np.array(list("ABCDEFGHIJ"))


def unit(*v):
    v = np.asarray(v, dtype=float)
    return v / np.linalg.norm(v)


def queries(embeddings, models, choices=None):
    """Test queries: only the embeddings matter to CASCAL.scores."""
    n, m = len(embeddings), len(models)
    if choices is None:
        choices = np.full((n, m), None, dtype=object)
    return RoutingData(models, np.asarray(embeddings, float), np.array(["?"] * n), choices,
                       np.full((n, m), np.nan))


def planted(n_models=6, per_cluster=60, seed=0):
    """Two subjects x three well-separated 16-D clusters; in cluster c, model c is right 90% of
    the time and the others 40%; wrong answers spread over the 9 other letters of A-J."""
    rng = np.random.default_rng(seed)
    clusters = np.repeat(np.arange(6), per_cluster)
    n = len(clusters)
    embeddings = np.eye(16)[clusters] + rng.normal(0, 0.1, (n, 16))
    subjects = np.where(clusters < 3, "algebra", "botany")
    labels = LETTERS[rng.integers(10, size=n)]
    p_right = np.full((n, n_models), 0.4)
    p_right[np.arange(n), clusters % n_models] = 0.9
    right = rng.random((n, n_models)) < p_right
    label_index = np.searchsorted(LETTERS, labels)[:, None]
    wrong = LETTERS[(label_index + rng.integers(1, 10, (n, n_models))) % 10]
    choices = np.where(right, labels[:, None], wrong).astype(object)
    confidence = np.where(right, rng.normal(-0.5, 0.3, right.shape),
                          rng.normal(-0.7, 0.3, right.shape))
    data = RoutingData([f"m{j}" for j in range(n_models)], embeddings, subjects, choices,
                       confidence, labels=labels)
    return data, clusters, right


@pytest.fixture(scope="module")
def planted_train():
    return planted(seed=0)[0]


def by_hand(models, centroids, representatives, global_scores, **params):
    """A CASCAL whose learned state is set by hand, to check inference alone."""
    router = CASCAL(**params)
    router.models_ = list(models)
    router.centroids_ = centroids
    router.subject_representatives_ = {s: np.asarray(v, float) for s, v in
                                       representatives.items()}
    router.global_scores_ = np.asarray(global_scores, float)
    return router


def centroid(cid, subject, vector, scores=None, seeds=1):
    return Centroid(cid, subject, unit(*vector), ((cid, 0),), seeds,
                    scores=None if scores is None else np.asarray(scores, float))


def sharp(scores, temperature=0.1):
    e = np.exp(np.asarray(scores) / temperature)
    return e / e.sum()


# ---------- §5.3 proficient sets ----------

def test_proficient_sets_and_agreement_weights():
    choices = np.array([
        ["A", "A", "B"],     # majority {A}, agreement 2/3
        ["A", "B", "C"],     # all tied: everyone in the majority, agreement 1
        ["A", None, None],   # agreement 1/3 < 0.5: skipped when weighted
    ], dtype=object)
    data = RoutingData(["x", "y", "z"], np.eye(3), np.array(["s"] * 3), choices,
                       np.zeros((3, 3)))
    proficient, weight = CASCAL()._proficiency(data)
    np.testing.assert_array_equal(proficient, [[1, 1, 0], [1, 1, 1], [0, 0, 0]])
    np.testing.assert_allclose(weight, [2 / 3, 1.0, 1 / 3])
    proficient, weight = CASCAL(weighted=False)._proficiency(data)
    np.testing.assert_array_equal(proficient, [[1, 1, 0], [1, 1, 1], [1, 0, 0]])
    np.testing.assert_allclose(weight, [1.0, 1.0, 1.0])
    proficient, _ = CASCAL(min_consensus=0.3)._proficiency(data)
    np.testing.assert_array_equal(proficient[2], [1, 0, 0])


# ---------- §5.4 clustering ----------

A = 1 / math.sqrt(1.0025)
TWO_GROUPS = np.array([[1, 0, 0], [A, 0, 0.05 * A], [A, 0, -0.05 * A],
                       [0, 1, 0], [0, A, 0.05 * A], [0, A, -0.05 * A]])


def test_kmeans_picks_k2_and_recomputes_weighted_centroids():
    vectors, labels = CASCAL()._clustering().compute(TWO_GROUPS, np.ones(6))
    assert len(vectors) == 2
    assert labels[0] == labels[1] == labels[2] != labels[3] == labels[4] == labels[5]
    np.testing.assert_allclose(vectors[labels[0]], [1, 0, 0], atol=1e-12)
    np.testing.assert_allclose(vectors[labels[3]], [0, 1, 0], atol=1e-12)
    # weights 1, 3, 1 pull the first centroid towards +z: mean ∝ (1 + 4a, 0, 0.1a)
    vectors, labels = CASCAL()._clustering().compute(TWO_GROUPS, np.array([1, 3, 1, 1, 1, 1.0]))
    np.testing.assert_allclose(vectors[labels[0]], unit(1 + 4 * A, 0, 0.1 * A))


def test_silhouette_floor_gives_one_weighted_mean_centroid():
    # orthonormal points: every partition has silhouette exactly 0 < 0.05
    vectors, labels = CASCAL()._clustering().compute(np.eye(6), np.ones(6))
    np.testing.assert_allclose(vectors, [np.full(6, 1 / math.sqrt(6))])
    np.testing.assert_array_equal(labels, np.zeros(6))
    # a floor above the (< 1) silhouette of two clear groups also gives one centroid
    vectors, _ = CASCAL(silhouette_floor=1.0)._clustering().compute(TWO_GROUPS, np.ones(6))
    np.testing.assert_allclose(vectors, [unit(1, 1, 0)])


def test_no_feasible_k_or_identical_points_give_one_centroid():
    # n = 2: k would have to be <= n - 1 = 1; the centroid is the weighted mean (1:3)
    vectors, labels = CASCAL()._clustering().compute(np.eye(2), np.array([1.0, 3.0]))
    np.testing.assert_allclose(vectors, [unit(1, 3)])
    vectors, labels = CASCAL()._clustering().compute(np.array([[0.0, 1.0]] * 4), np.ones(4))
    np.testing.assert_allclose(vectors, [[0, 1]])
    np.testing.assert_array_equal(labels, np.zeros(4))


def test_cosine_silhouette_matches_scikit_learn_with_singletons_and_gaps():
    rng = np.random.default_rng(3)
    x = rng.normal(size=(40, 5))
    x /= np.linalg.norm(x, axis=1, keepdims=True)
    labels = rng.integers(0, 4, size=40)
    labels[7] = 9  # a singleton cluster, and label values with gaps
    assert cosine_silhouette(x, labels) == pytest.approx(
        silhouette_score(x, labels, metric="cosine"), abs=1e-12)
    assert cosine_silhouette(TWO_GROUPS, np.array([0, 0, 0, 1, 1, 1])) == pytest.approx(
        silhouette_score(TWO_GROUPS, [0, 0, 0, 1, 1, 1], metric="cosine"), abs=1e-12)
    with pytest.raises(ValueError, match="2 to n-1 clusters"):
        cosine_silhouette(x[:3], np.array([0, 1, 2]))


def test_clusterings_are_shared_by_content_and_read_only(monkeypatch):
    calls = []
    compute = Clustering.compute

    def counted(self, x, weight):
        calls.append(len(x))
        return compute(self, x, weight)

    monkeypatch.setattr(Clustering, "compute", counted)
    rng = np.random.default_rng(11)
    x = rng.normal(size=(12, 3))
    x /= np.linalg.norm(x, axis=1, keepdims=True)
    memo = ClusteringMemo()
    first = memo.cluster(CASCAL()._clustering(), x, np.ones(12))
    again = memo.cluster(CASCAL(prune=False, k_nearest=1)._clustering(), x.copy(), np.ones(12))
    assert calls == [12] and again[0] is first[0] and len(memo) == 1
    with pytest.raises(ValueError, match="read-only"):
        again[0][0, 0] = 1.0
    memo.cluster(CASCAL(k_max=2)._clustering(), x, np.ones(12))  # a clustering parameter: anew
    memo.cluster(CASCAL()._clustering(), x, np.arange(1.0, 13.0))  # other weights: anew
    assert calls == [12, 12, 12]
    ClusteringMemo().cluster(CASCAL()._clustering(), x, np.ones(12))  # another memo: anew
    assert calls == [12, 12, 12, 12]


def test_copies_of_a_router_share_its_memo():
    memo = ClusteringMemo()
    copy = clone(CASCAL(memo=memo, prune=False))
    assert copy.memo is memo and copy.get_params()["prune"] is False


def test_agglomerative_variant_cuts_average_linkage_at_threshold():
    vectors, labels = CASCAL(clustering="agglomerative")._clustering().compute(TWO_GROUPS, np.ones(6))
    assert len(vectors) == 2 and labels[0] != labels[3]
    vectors, _ = CASCAL(clustering="agglomerative")._clustering().compute(TWO_GROUPS[:3], np.ones(3))
    np.testing.assert_allclose(vectors, [[1, 0, 0]], atol=1e-12)


# ---------- §5.5 merge ----------

def angle(degrees):
    r = math.radians(degrees)
    return [math.cos(r), math.sin(r), 0.0]


def test_merge_into_the_centroid_with_more_seeds():
    c0 = centroid("c0", "s", angle(0), seeds=2)
    c1 = centroid("c1", "s", angle(25), seeds=5)   # distance 1 - cos 25° = 0.094 < 0.15
    c2 = centroid("c2", "s", angle(90), seeds=1)
    merged = merge_close_centroids([c0, c1, c2], 0.15)
    assert [c.id for c in merged] == ["c1", "c2"]
    assert merged[0].seed_count == 7 and merged[0].members == (("c1", 0), ("c0", 0))
    expected = unit(*(2 * np.array(angle(0)) + 5 * np.array(angle(25))))
    np.testing.assert_allclose(merged[0].vector, expected)
    np.testing.assert_allclose(merged[1].vector, angle(90), atol=1e-12)


def test_merge_resolves_chains_and_keeps_the_first_on_equal_seeds():
    a = centroid("a", "s", angle(0), seeds=1)
    b = centroid("b", "s", angle(30), seeds=2)    # d(a, b) = d(b, c) = 0.134, d(a, c) = 0.5
    c = centroid("c", "s", angle(60), seeds=3)
    (merged,) = merge_close_centroids([a, b, c], 0.15)  # a -> b -> c
    assert merged.id == "c" and merged.seed_count == 6
    assert merged.members == (("c", 0), ("a", 0), ("b", 0))
    weighted = 1 * np.array(angle(0)) + 2 * np.array(angle(30)) + 3 * np.array(angle(60))
    np.testing.assert_allclose(merged.vector, unit(*weighted))
    (tied,) = merge_close_centroids([centroid("p", "s", angle(0), seeds=4),
                                     centroid("q", "s", angle(20), seeds=4)], 0.15)
    assert tied.id == "p"
    assert len(merge_close_centroids([a, b, c], 0.1)) == 3


# ---------- §5.6 ranking and pruning ----------

def test_cluster_rankings_round_to_three_decimals_and_break_ties_by_name():
    # two queries; "zeta" averages 0.4004, "alpha" 0.4001, "mid" 0.45: rounded, zeta ties alpha
    signal = np.array([[0.4004, 0.4, 0.5], [0.4004, 0.4002, 0.4]])
    data = RoutingData(["zeta", "alpha", "mid"], np.array([[1.0, 0], [1.0, 0.01]]),
                       np.array(["s", "s"]), np.array([["A"] * 3] * 2, dtype=object),
                       np.zeros((2, 3)))
    router = CASCAL()
    router._signal = lambda train: signal   # rank on this signal instead of consensus
    router.fit(data)
    (c,) = router.centroids_
    np.testing.assert_allclose(c.scores, [0.4, 0.4, 0.45])
    assert ranking(c.scores, router.models_) == ["mid", "alpha", "zeta"]
    assert c.n_assigned == 2 and c.id == "s::model=zeta::c0"


def test_prune_moves_identical_top3_clusters_into_the_bigger_one():
    models = ["m0", "m1", "m2", "m3"]
    a = centroid("a", "s", angle(0), scores=[0.9, 0.8, 0.7, 0.1])    # top-3 {m0, m1, m2}
    b = centroid("b", "s", angle(40), scores=[0.5, 0.7, 0.9, 0.2])   # same set, other order
    c = centroid("c", "s", angle(80), scores=[0.1, 0.8, 0.7, 0.9])   # {m1, m2, m3}
    kept, rows = prune_redundant_centroids(
        [a, b, c], [np.array([0, 1, 2]), np.array([3, 4, 5, 6, 7]), np.array([8, 9])],
        models, 0.95)
    assert [k.id for k in kept] == ["b", "c"]
    np.testing.assert_array_equal(rows[0], [0, 1, 2, 3, 4, 5, 6, 7])
    assert kept[0].members == (("b", 0), ("a", 0))
    # Jaccard({m0,m1,m2}, {m1,m2,m3}) = 0.5: merged only with a threshold <= 0.5
    kept, rows = prune_redundant_centroids([b, c], [np.arange(5), np.arange(5, 7)], models, 0.5)
    assert [k.id for k in kept] == ["b"] and len(rows[0]) == 7


def test_fit_prunes_and_recomputes_centroids_as_spherical_means():
    # two groups of queries: m0's two centroids (e0, e1) absorb m1's near-identical ones in the
    # merge, m2's single diagonal centroid gets no query; with three models both clusters' top-3
    # sets are all models, so pruning leaves one centroid, the spherical mean of all six queries
    choices = np.array([["A", "A", "B"], ["A", "B", "A"], ["A", "A", "C"]] * 2, dtype=object)
    data = RoutingData(["m0", "m1", "m2"], TWO_GROUPS, np.array(["s"] * 6), choices,
                       np.zeros((6, 3)))
    kept = CASCAL(prune=False).fit(data)
    assert [c.n_assigned for c in kept.centroids_] == [3, 3]
    assert {c.models for c in kept.centroids_} == {("m0", "m1")}
    (c,) = CASCAL().fit(data).centroids_
    assert c.n_assigned == 6 and len(c.members) == 4
    np.testing.assert_allclose(c.vector, unit(*TWO_GROUPS.mean(axis=0)))


# ---------- §5.7 inference ----------

def test_two_stage_routing_mixes_k_nearest_centroids_with_sharp_scores():
    ca = centroid("ca", "s0", [1, 0, 0], scores=[0.6, 0.4])
    cb = centroid("cb", "s0", [1, 1, 0], scores=[0.3, 0.5])
    cc = centroid("cc", "s1", [0, 0, 1], scores=[0.1, 0.9])
    router = by_hand(["m0", "m1"], [ca, cb, cc],
                     {"s0": unit(2 + math.sqrt(2), math.sqrt(2), 0), "s1": [0, 0, 1]}, [0.5, 0.5])
    d = np.array([0.0, 1 - 1 / math.sqrt(2)])   # cc (other subject) is never mixed in
    w = np.exp(-d / 0.1) / np.exp(-d / 0.1).sum()
    expected = w[0] * sharp([0.6, 0.4]) + w[1] * sharp([0.3, 0.5])
    test = queries([[1, 0, 0]], ["m0", "m1"])
    np.testing.assert_allclose(router.scores(test), [expected])
    router.sharp_scoring = False
    np.testing.assert_allclose(router.scores(test), [w[0] * np.array([0.6, 0.4])
                                                     + w[1] * np.array([0.3, 0.5])])
    router.sharp_scoring, router.k_nearest = True, 1
    np.testing.assert_allclose(router.scores(test), [sharp([0.6, 0.4])])


def test_two_stage_uses_the_nearest_subject_not_the_nearest_centroid():
    # q = e0 is on s0's centroid e0, but s0's representative (e0 + e1) is 45° away,
    # while s1's only centroid (and representative) is 30° away
    s0 = [centroid("a", "s0", [1, 0, 0], scores=[0.9, 0.1]),
          centroid("b", "s0", [0, 1, 0], scores=[0.9, 0.1])]
    s1 = [centroid("c", "s1", angle(30)[:1] + [0, 0.5], scores=[0.1, 0.9])]
    reps = {"s0": unit(1, 1, 0), "s1": unit(math.cos(math.radians(30)), 0, 0.5)}
    test = queries([[1, 0, 0]], ["m0", "m1"])
    two = by_hand(["m0", "m1"], s0 + s1, reps, [0.5, 0.5])
    assert two.predict_subjects(test)[0] == "s1"
    np.testing.assert_allclose(two.scores(test), [sharp([0.1, 0.9])])
    one = by_hand(["m0", "m1"], s0 + s1, reps, [0.5, 0.5], two_stage=False)
    assert one.predict_subjects(test)[0] == "s0"
    np.testing.assert_allclose(one.scores(test), [sharp([0.9, 0.1])], atol=1e-12)


def test_fallback_blends_global_scores_beyond_the_distance_threshold():
    router = by_hand(["m0", "m1"], [centroid("a", "s", [1, 0, 0], scores=[0.6, 0.4])],
                     {"s": [1, 0, 0]}, [0.2, 0.6])
    s, g = sharp([0.6, 0.4]), np.array([0.25, 0.75])   # g normalised to sum 1

    def at(distance):
        return queries([[1 - distance, math.sqrt(1 - (1 - distance) ** 2), 0]], ["m0", "m1"])

    np.testing.assert_allclose(router.scores(at(0.4)), [s])               # within threshold
    np.testing.assert_allclose(router.scores(at(0.6)), [0.5 * s + 0.5 * g])  # α = 0.1 / 0.2
    np.testing.assert_allclose(router.scores(at(0.8)), [g])               # α capped at 1
    router.fallback = False
    np.testing.assert_allclose(router.scores(at(0.8)), [s])
    router.fallback, router.distance_threshold, router.fallback_ramp = True, 0.35, 0.5
    np.testing.assert_allclose(router.scores(at(0.6)), [0.5 * s + 0.5 * g])  # α = 0.25 / 0.5


def test_subject_without_centroids_gets_the_global_scores():
    router = by_hand(["m0", "m1"], [centroid("a", "s0", [1, 0], scores=[0.6, 0.4])],
                     {"s0": [1, 0], "s1": [0, 1]}, [0.3, 0.7])
    np.testing.assert_allclose(router.scores(queries([[0.1, 1.0], [1.0, 0.1]], ["m0", "m1"]))[0],
                               [0.3, 0.7])


# ---------- fit end to end, labels, edge cases ----------

def test_fit_builds_tidy_centroids_per_subject(planted_train):
    router = CASCAL().fit(planted_train)
    table = router.centroid_table()
    assert list(table.columns[:8]) == ["subject", "centroid", "model", "cluster", "members",
                                       "models", "seed_count", "n_assigned"]
    assert [(m, c) for m, c in zip(table["model"], table["cluster"])] == [
        members[0] for members in table["members"]]
    assert table.groupby("subject")["n_assigned"].sum().to_dict() == {"algebra": 180,
                                                                      "botany": 180}
    assert table.centroid.str.match(r"^(algebra|botany)::model=m\d::c\d$").all()
    assert list(router.subject_representatives_) == ["algebra", "botany"]
    for c in router.centroids_:
        assert np.linalg.norm(c.vector) == pytest.approx(1.0)
    consensus = np.nan_to_num(consensus_from_confidence(
        planted_train.choices, planted_train.confidence, router.scaler_))
    np.testing.assert_allclose(router.global_scores_, np.round(consensus.mean(axis=0), 4))


def test_query_only_router_never_reads_labels(planted_train):
    test = planted(seed=1, per_cluster=10)[0]
    reference = CASCAL().fit(planted_train).scores(test)
    shuffled = RoutingData(planted_train.models, planted_train.embeddings,
                           planted_train.subjects, planted_train.choices,
                           planted_train.confidence,
                           labels=np.random.default_rng(5).permutation(planted_train.labels))
    assert CASCAL.uses_labels is False and CASCALGT.uses_labels is True
    np.testing.assert_array_equal(CASCAL().fit(shuffled).scores(test), reference)
    np.testing.assert_array_equal(CASCAL().fit(planted_train.without_labels()).scores(test),
                                  reference)
    gt = CASCALGT().fit(planted_train).scores(test)
    assert not np.allclose(CASCALGT().fit(shuffled).scores(test), gt)
    with pytest.raises(ValueError, match="no labels"):
        CASCALGT().fit(planted_train.without_labels())


def test_cascal_gt_ranks_clusters_by_mean_accuracy(planted_train):
    router = CASCALGT(prune=False).fit(planted_train)
    correct = planted_train.correct()
    x = planted_train.embeddings / np.linalg.norm(planted_train.embeddings, axis=1, keepdims=True)
    for subject in ("algebra", "botany"):
        rows = np.flatnonzero(planted_train.subjects == subject)
        mine = [c for c in router.centroids_ if c.subject == subject]
        nearest = np.argmax(x[rows] @ np.array([c.vector for c in mine]).T, axis=1)
        for j, c in enumerate(mine):
            np.testing.assert_allclose(c.scores, np.round(correct[rows[nearest == j]].mean(0), 3))
    np.testing.assert_allclose(router.global_scores_, np.round(correct.mean(axis=0), 4))


def test_planted_best_models_are_recovered():
    train, _, _ = planted(seed=0)
    test, clusters, right = planted(seed=1, per_cluster=30)
    router = CASCAL().fit(train)
    top1 = router.route(test, 1)[:, 0]
    share = np.mean(top1 == clusters % 6)
    assert share >= 0.9, f"only {share:.1%} of test queries went to their planted best model"
    assert np.mean(router.predict_subjects(test) == test.subjects) == 1.0
    consensus = consensus_from_confidence(test.choices, test.confidence, router.scaler_)
    auroc = roc_auc_score(right.ravel(), consensus.ravel())
    print(f"planted pool: top-1 to planted best {share:.1%}, consensus AUROC {auroc:.3f}")
    assert auroc > 0.8


def test_edge_cases_fail_clearly_or_degrade_as_documented(planted_train):
    none = RoutingData(["a", "b"], np.eye(2), np.array(["s", "s"]),
                       np.full((2, 2), None, dtype=object), np.full((2, 2), np.nan))
    with pytest.raises(ValueError, match="no model answered any train query"):
        CASCAL().fit(none)
    with pytest.raises(ValueError, match="clustering"):
        CASCAL(clustering="ward").fit(planted_train)
    with pytest.raises(RuntimeError, match="not fitted"):
        CASCAL().scores(planted_train)
    router = CASCAL().fit(planted_train)
    with pytest.raises(ValueError, match="16-dimensional"):
        router.scores(queries(np.eye(3), planted_train.models))
    # a single model, with all confidences missing: fits and scores every query
    one = planted_train.subset(np.arange(0, 360, 7))
    single = RoutingData(["m0"], one.embeddings, one.subjects, one.choices[:, :1],
                         np.full((len(one.subjects), 1), np.nan))
    scores = CASCAL().fit(single).scores(single)
    assert scores.shape == (len(one.subjects), 1) and np.isfinite(scores).all()


def test_subject_with_no_proficient_query_routes_to_global_scores():
    # subject "t": only one of four models answers, agreement 1/4 < 0.5
    embeddings = np.vstack([TWO_GROUPS[:3], np.array([[0, 0, 1.0], [0, 0.05, 1.0]])])
    choices = np.array([["A", "A", "A", "B"]] * 3 + [["A", None, None, None]] * 2, dtype=object)
    data = RoutingData(["m0", "m1", "m2", "m3"], embeddings,
                       np.array(["s", "s", "s", "t", "t"]), choices, np.zeros((5, 4)))
    router = CASCAL().fit(data)
    assert {c.subject for c in router.centroids_} == {"s"}
    np.testing.assert_allclose(router.subject_representatives_["t"], unit(0, 0.025, 1),
                               atol=1e-3)
    scores = router.scores(queries([[0, 0, 1.0]], data.models))
    np.testing.assert_allclose(scores, [router.global_scores_])


def test_silhouette_sample_scores_k_on_a_seeded_subset(monkeypatch):
    rng = np.random.default_rng(5)
    centres = np.eye(4)[:2] * 3
    x = np.concatenate([centres[0] + rng.normal(scale=0.3, size=(60, 4)),
                        centres[1] + rng.normal(scale=0.3, size=(60, 4))])
    x /= np.linalg.norm(x, axis=1, keepdims=True)
    full = CASCAL()._clustering().compute(x, np.ones(120))
    # a sample as large as the data is the full silhouette; a small one still finds the groups
    same = CASCAL(silhouette_sample=120)._clustering().compute(x, np.ones(120))
    np.testing.assert_array_equal(same[1], full[1])
    vectors, labels = CASCAL(silhouette_sample=20)._clustering().compute(x, np.ones(120))
    assert len(vectors) == 2 and len(set(labels[:60])) == 1 and labels[0] != labels[60]
    calls = []

    def counted(points, groups):
        calls.append(len(points))
        return cosine_silhouette(points, groups)

    monkeypatch.setattr("rgd_utils.routers.skill_clusters.cosine_silhouette", counted)
    CASCAL(silhouette_sample=30, k_max=3)._clustering().compute(x[::-1].copy(), np.ones(120))
    assert calls == [30, 30]  # k = 2 and 3, each on the same 30 queries


def test_parallel_clusterings_give_the_same_fit():
    train = test = planted(seed=4)[0]
    in_processes, in_turn = ClusteringMemo(), ClusteringMemo()  # the processes compute every one
    parallel = CASCAL(n_jobs=2, memo=in_processes).fit(train.without_labels())
    serial = CASCAL(memo=in_turn).fit(train.without_labels())
    assert len(in_processes) == len(in_turn) > 0
    np.testing.assert_array_equal(parallel.scores(test), serial.scores(test))
    assert [c.id for c in parallel.centroids_] == [c.id for c in serial.centroids_]
