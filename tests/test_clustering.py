"""KMeans on latent vectors: ids numbered by size or matched to the active model's, distances to the centroid."""

from __future__ import annotations

import numpy as np
import pytest
from pyspark.sql import functions as F

from custseg.clustering import (
    SegmentMatch,
    assign_segments,
    fit_segmentation,
    input_centroids,
    match_segments,
    with_latent_vector,
)
from custseg.config import ClusteringConfig

# Three well-separated blobs of sizes 30, 50 and 20 in 2-D.
CENTRES = {30: (0.0, 0.0), 50: (10.0, 0.0), 20: (0.0, 10.0)}


@pytest.fixture(scope="module")
def blobs(spark):
    rng = np.random.default_rng(3)
    rows = []
    for size, centre in CENTRES.items():
        for point in rng.normal(centre, 0.5, size=(size, 2)):
            rows.append((len(rows), size, [float(v) for v in point]))
    return with_latent_vector(spark.createDataFrame(rows, "id int, blob int, latent array<float>"))


def test_segments_are_numbered_by_size_and_distances_are_exact(blobs):
    segmentation = fit_segmentation(blobs, settings=ClusteringConfig(k=3, n_init=1), seed=1, rows=100)
    result = assign_segments(blobs, segmentation).orderBy("id").collect()
    by_blob = {(r.blob, r.segment) for r in result}
    # Largest blob (50) is segment 0, then 30, then 20.
    assert by_blob == {(50, 0), (30, 1), (20, 2)}
    centroids = segmentation.centroids
    for segment, size in enumerate((50, 30, 20)):
        members = np.array([r.latent for r in result if r.segment == segment])
        assert len(members) == size
        np.testing.assert_allclose(centroids[segment], members.mean(axis=0), atol=1e-5)
    for r in result:
        expected = np.linalg.norm(np.array(r.latent, dtype=np.float64) - centroids[r.segment])
        assert r.distance == pytest.approx(expected, abs=1e-9)


def test_segments_are_the_clusters_the_kmeans_model_predicts(spark, blobs):
    # Points all over the plane, many between the blobs, where the nearest centroid is a close call.
    segmentation = fit_segmentation(blobs, settings=ClusteringConfig(k=5, n_init=1), seed=3, rows=100)
    points = np.random.default_rng(5).uniform(-5.0, 15.0, size=(2000, 2))
    frame = with_latent_vector(spark.createDataFrame([(i, [float(v) for v in p]) for i, p in enumerate(points)],
                                                     "id int, latent array<float>"))
    predicted = {r.id: segmentation.segment_of_cluster[r.prediction]
                 for r in segmentation.model.setPredictionCol("prediction").transform(frame).collect()}
    assigned = {r.id: r.segment for r in assign_segments(frame, segmentation).collect()}
    assert assigned == predicted
    assert len(set(assigned.values())) == 5


def test_same_seed_same_segments(blobs):
    first = assign_segments(blobs, fit_segmentation(blobs, settings=ClusteringConfig(k=4, n_init=1), seed=7, rows=100))
    second = assign_segments(blobs, fit_segmentation(blobs, settings=ClusteringConfig(k=4, n_init=1), seed=7, rows=100))
    assert [r.segment for r in first.orderBy("id").collect()] == [r.segment for r in second.orderBy("id").collect()]


def test_the_same_rows_split_differently_give_the_same_centroids(blobs):
    # k = 5 on three blobs has several local optima, which KMeans' partition-wise start finds differently.
    fits = [fit_segmentation(frame, settings=ClusteringConfig(k=5, n_init=2), seed=5, rows=100)
            for frame in (blobs.coalesce(1), blobs.repartitionByRange(2, "id"), blobs.repartitionByRange(3, "id"))]
    for fit in fits[1:]:
        np.testing.assert_array_equal(fit.centroids, fits[0].centroids)
        assert fit.model.summary.clusterSizes == fits[0].model.summary.clusterSizes


def test_centroids_fitted_on_a_sample_assign_every_row(blobs):
    # 40 of the 100 points fix the centroids; every point is still assigned, to its own blob.
    settings = ClusteringConfig(k=3, sample_rows=40, n_init=1)
    segmentation = fit_segmentation(blobs, settings=settings, seed=1, rows=100)
    assert sum(segmentation.model.summary.clusterSizes) == 40
    result = assign_segments(blobs, segmentation).collect()
    assert len(result) == 100
    assert {(r.blob, r.segment) for r in result} == {(50, 0), (30, 1), (20, 2)}


def test_several_starts_keep_the_one_of_lowest_cost(blobs):
    # k = 5 on three blobs has several local optima; the best of 8 starts is the cheapest of the 8 single starts.
    single = ClusteringConfig(k=5, n_init=1)
    costs = [fit_segmentation(blobs, settings=single, seed=seed, rows=100).model.summary.trainingCost
             for seed in range(11, 19)]
    assert costs[0] > min(costs)  # so that keeping the first start instead of the cheapest fails
    best = fit_segmentation(blobs, settings=ClusteringConfig(k=5, n_init=8), seed=11, rows=100)
    assert best.model.summary.trainingCost == pytest.approx(min(costs), rel=1e-12)


def test_matching_takes_over_the_ids_of_the_nearest_previous_segments():
    previous = {0: np.array([0.0, 0.0]), 1: np.array([5.0, 0.0]), 2: np.array([0.0, 5.0])}
    # Provisional ids in another order, each a little off its previous segment.
    new = {0: np.array([5.1, 0.0]), 1: np.array([0.0, 4.8]), 2: np.array([0.1, 0.1])}
    matches = match_segments(new, previous, max_distance=1.0)
    assert [(m.segment, m.previous_segment) for m in matches] == [(1, 1), (2, 2), (0, 0)]
    assert [m.distance for m in matches] == pytest.approx([0.1, 0.2, np.sqrt(0.02)])


def test_a_segment_too_far_from_any_previous_one_gets_a_new_id():
    previous = {0: np.array([0.0, 0.0]), 1: np.array([5.0, 0.0])}
    new = {0: np.array([0.2, 0.0]), 1: np.array([20.0, 20.0]), 2: np.array([5.0, 0.5])}
    matches = match_segments(new, previous, max_distance=1.0)
    assert matches == [SegmentMatch(0, 0, pytest.approx(0.2)), SegmentMatch(2, None, None),
                       SegmentMatch(1, 1, pytest.approx(0.5))]


def test_renumbered_segments_keep_their_clusters_and_distances(blobs):
    segmentation = fit_segmentation(blobs, settings=ClusteringConfig(k=3, n_init=1), seed=1, rows=100)
    before = {r.id: (r.segment, r.distance) for r in assign_segments(blobs, segmentation).collect()}
    renumbered = segmentation.renumbered({0: 7, 1: 2, 2: 0})
    after = {r.id: (r.segment, r.distance) for r in assign_segments(blobs, renumbered).collect()}
    assert after == {i: ({0: 7, 1: 2, 2: 0}[s], d) for i, (s, d) in before.items()}
    assert renumbered.segment_ids == [0, 2, 7]
    np.testing.assert_array_equal(renumbered.centroids, segmentation.centroids[[2, 1, 0]])


def test_input_centroids_are_the_mean_input_vector_per_segment(blobs):
    segmentation = fit_segmentation(blobs, settings=ClusteringConfig(k=3, n_init=1), seed=1, rows=100)
    framed = blobs.withColumn("features", F.col("latent"))
    centroids = input_centroids(framed, segmentation, features_col="features")
    rows = assign_segments(blobs, segmentation).collect()
    for segment, centre in centroids.items():
        members = np.array([r.latent for r in rows if r.segment == segment], dtype=np.float64)
        np.testing.assert_allclose(centre, members.mean(axis=0), rtol=1e-6)
