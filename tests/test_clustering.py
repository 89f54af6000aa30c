"""KMeans on latent vectors: ids numbered by size, distances to the segment's centroid."""

from __future__ import annotations

import numpy as np
import pytest

from custseg.clustering import assign_segments, fit_segmentation, with_latent_vector
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
    segmentation = fit_segmentation(blobs, settings=ClusteringConfig(k=3), seed=1)
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


def test_same_seed_same_segments(blobs):
    first = assign_segments(blobs, fit_segmentation(blobs, settings=ClusteringConfig(k=4), seed=7))
    second = assign_segments(blobs, fit_segmentation(blobs, settings=ClusteringConfig(k=4), seed=7))
    assert [r.segment for r in first.orderBy("id").collect()] == [r.segment for r in second.orderBy("id").collect()]
