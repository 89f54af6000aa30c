"""Distributed metrics against scikit-learn and against values worked out by hand."""

from __future__ import annotations

import math

import numpy as np
import pytest
from pyspark.sql import functions as F
from sklearn.metrics import (
    adjusted_rand_score,
    calinski_harabasz_score,
    davies_bouldin_score,
    normalized_mutual_info_score,
    silhouette_score,
)

from custseg.metrics import (
    SegmentLabel,
    ari_from_contingency,
    inertia,
    label_agreement,
    nmi_from_contingency,
    purity_from_contingency,
    segmentation_quality,
    separation,
    silhouette,
)

# Three segments in 2-D, the last with a single member; N - K = 3 differs from K - 1 = 2.
SMALL_POINTS = [
    ((0.0, 0.0), 0), ((2.0, 0.0), 0),
    ((10.0, 0.0), 1), ((10.0, 2.0), 1), ((10.0, 1.0), 1),
    ((0.0, 10.0), 2),
]  # fmt: skip


def _latent_frame(spark, points, segments):
    from pyspark.ml.functions import array_to_vector

    rows = [([float(v) for v in p], int(s)) for p, s in zip(points, segments)]
    df = spark.createDataFrame(rows, "latent array<float>, segment int")
    return df.withColumn("latent_vector", array_to_vector("latent"))


@pytest.fixture(scope="module")
def small(spark):
    points, segments = zip(*SMALL_POINTS)
    return _latent_frame(spark, points, segments), np.array(points), np.array(segments)


@pytest.fixture(scope="module")
def random_latent(spark):
    rng = np.random.default_rng(7)
    centres = rng.normal(scale=4.0, size=(4, 3))
    segments = rng.integers(0, 4, size=500)
    # Offset far from the origin: a one-pass sum-of-squares SSW would lose digits here.
    points = (centres[segments] + rng.normal(size=(500, 3)) + 50.0).astype(np.float32)
    return _latent_frame(spark, points, segments), points.astype(np.float64), segments


def test_separation_small_by_hand(small):
    df, _, _ = small
    result = separation(df)
    # Means (1,0), (10,1), (0,10); mean member-to-mean distances 1, 2/3, 0; the worst ratio of
    # segments 0 and 1 is with each other, of segment 2 with segment 0.
    expected_db = (2 * (1 + 2 / 3) / math.sqrt(82) + 1 / math.sqrt(101)) / 3
    # Grand mean (16/3, 13/6); SSW = 2 + 2 + 0.
    gx, gy = 16 / 3, 13 / 6
    ssb = 2 * ((1 - gx) ** 2 + gy**2) + 3 * ((10 - gx) ** 2 + (1 - gy) ** 2) + (gx**2 + (10 - gy) ** 2)
    assert result.davies_bouldin == pytest.approx(expected_db, rel=1e-12)
    assert result.calinski_harabasz == pytest.approx((ssb / (3 - 1)) / (4.0 / (6 - 3)), rel=1e-12)
    assert result.within_ss == pytest.approx(4.0, rel=1e-12)


def test_separation_matches_sklearn(small, random_latent):
    for df, x, labels in (small, random_latent):
        result = separation(df)
        assert result.davies_bouldin == pytest.approx(davies_bouldin_score(x, labels), rel=1e-6)
        assert result.calinski_harabasz == pytest.approx(calinski_harabasz_score(x, labels), rel=1e-6)
        within = sum(((x[labels == k] - x[labels == k].mean(axis=0)) ** 2).sum() for k in np.unique(labels))
        assert result.within_ss == pytest.approx(within, rel=1e-9)


def test_separation_needs_two_segments(spark):
    df = _latent_frame(spark, [(0.0, 1.0), (1.0, 2.0)], [0, 0])
    with pytest.raises(ValueError, match="2 <= segments"):
        separation(df)


def test_silhouette_matches_sklearn_sqeuclidean(small, random_latent):
    for df, x, labels in (small, random_latent):
        expected = silhouette_score(x, labels, metric="sqeuclidean")
        assert silhouette(df, vector_col="latent") == pytest.approx(expected, rel=1e-6)


def test_silhouette_of_wide_vectors_matches_sparks_evaluator_and_sklearn(spark):
    # As wide as one-hot customer features, with 7 segments: each entry is read 8 times per row.
    from pyspark.ml.evaluation import ClusteringEvaluator

    rng = np.random.default_rng(11)
    segments = rng.integers(0, 7, size=700)
    points = rng.normal(size=(7, 40))[segments] + rng.normal(scale=0.8, size=(700, 40))
    df = _latent_frame(spark, points.astype(np.float32), segments).withColumn(
        "features", F.col("latent").cast("array<double>"))
    evaluator = ClusteringEvaluator(featuresCol="latent_vector", predictionCol="segment",
                                    distanceMeasure="squaredEuclidean")
    expected = silhouette_score(points.astype(np.float32).astype(np.float64), segments, metric="sqeuclidean")
    assert silhouette(df, vector_col="features") == pytest.approx(evaluator.evaluate(df), rel=1e-12)
    assert silhouette(df, vector_col="features") == pytest.approx(expected, rel=1e-9)


def test_silhouette_needs_two_segments(spark):
    df = _latent_frame(spark, [(0.0, 1.0), (1.0, 2.0)], [0, 0])
    with pytest.raises(ValueError, match="^silhouette needs at least 2 segments, got 1$"):
        silhouette(df, vector_col="latent")


def test_inertia(spark):
    df = spark.createDataFrame([(1.0,), (2.0,), (3.0,)], "distance double")
    assert inertia(df) == pytest.approx(1.0 + 4.0 + 9.0)
    assert inertia(df.limit(0)) == 0.0


def test_segmentation_quality_sums_inertia_and_errors_in_the_separation_pass(small):
    df, x, labels = small
    measured = df.withColumns({
        "distance": F.col("segment") + 1.0,
        "reconstruction_error": F.col("segment") * 0.5,
        "reconstruction_abs_error": F.col("segment") * 0.25,
        "features": F.col("latent"),
    })
    quality = segmentation_quality(measured, measured, features_col="features")
    spread = separation(df)
    assert quality["inertia"] == pytest.approx(((labels + 1.0) ** 2).sum())
    assert quality["reconstruction_mse"] == pytest.approx((labels * 0.5).mean())
    assert quality["reconstruction_mae"] == pytest.approx((labels * 0.25).mean())
    assert (quality["davies_bouldin"], quality["calinski_harabasz"]) == pytest.approx(
        (spread.davies_bouldin, spread.calinski_harabasz), rel=1e-12)
    expected = silhouette_score(x, labels, metric="sqeuclidean")
    assert (quality["silhouette"], quality["silhouette_input"]) == pytest.approx((expected, expected), rel=1e-6)


def test_segmentation_quality_measures_silhouettes_on_the_sample_only(random_latent):
    df, x, labels = random_latent
    measured = df.withColumns({
        "distance": F.lit(0.0), "reconstruction_error": F.lit(0.0), "reconstruction_abs_error": F.lit(0.0),
        "features": F.col("latent"),
    })
    sampled = measured.where(F.col("segment") != 3)
    quality = segmentation_quality(measured, sampled, features_col="features")
    kept = labels != 3
    expected = silhouette_score(x[kept], labels[kept], metric="sqeuclidean")
    assert (quality["silhouette"], quality["silhouette_input"]) == pytest.approx((expected, expected), rel=1e-6)
    assert quality["davies_bouldin"] == pytest.approx(davies_bouldin_score(x, labels), rel=1e-6)


LABELLED = [
    (0, "A"), (0, "A"), (0, "B"), (0, None),
    (1, "B"), (1, "B"), (1, "B"), (1, "A"),
    (2, "B"), (2, "A"),  # a tie: goes to "A"
    (3, "C"),  # a one-member segment
    (4, None),  # a segment with no label at all drops out
]  # fmt: skip


def test_label_agreement_by_hand_and_sklearn(spark):
    df = spark.createDataFrame(LABELLED, "segment int, Segmentation string")
    result = label_agreement(df, label_col="Segmentation")
    assert result.mapping == [
        SegmentLabel(0, "A", 2 / 3, 3),
        SegmentLabel(1, "B", 3 / 4, 4),
        SegmentLabel(2, "A", 1 / 2, 2),
        SegmentLabel(3, "C", 1.0, 1),
    ]
    assert result.purity == pytest.approx((2 + 3 + 1 + 1) / 10)
    segs, labels = zip(*[(s, lab) for s, lab in LABELLED if lab is not None])
    assert result.nmi == pytest.approx(normalized_mutual_info_score(labels, segs), rel=1e-9)
    assert result.ari == pytest.approx(adjusted_rand_score(labels, segs), rel=1e-9)


def test_label_agreement_all_null_labels(spark):
    df = spark.createDataFrame([(0, None), (1, None)], "segment int, label string")
    with pytest.raises(ValueError, match="no non-null"):
        label_agreement(df, label_col="label")


def _labels_from(table):
    segs, labels = [], []
    for (i, j), n in np.ndenumerate(table):
        segs += [i] * int(n)
        labels += [j] * int(n)
    return segs, labels


def test_contingency_functions_match_sklearn():
    rng = np.random.default_rng(11)
    for _ in range(20):
        table = rng.integers(0, 30, size=(rng.integers(2, 8), rng.integers(2, 6)))
        table = table[table.sum(axis=1) > 0][:, table.sum(axis=0) > 0]
        segs, labels = _labels_from(table)
        assert nmi_from_contingency(table) == pytest.approx(normalized_mutual_info_score(labels, segs), rel=1e-9)
        assert ari_from_contingency(table) == pytest.approx(adjusted_rand_score(labels, segs), rel=1e-9, abs=1e-12)
        assert purity_from_contingency(table) == pytest.approx(table.max(axis=1).sum() / table.sum())


@pytest.mark.parametrize(
    "table, nmi, ari",
    [
        (np.array([[5]]), 1.0, 1.0),  # nothing split on either side
        (np.array([[3, 0], [0, 4]]), 1.0, 1.0),  # identical partitions
        (np.array([[2, 2], [2, 2]]), 0.0, None),  # independent: NMI exactly 0
        (np.array([[1, 0, 0], [0, 1, 1]]), None, None),
    ],
)
def test_contingency_edge_cases(table, nmi, ari):
    segs, labels = _labels_from(table)
    expected_nmi = normalized_mutual_info_score(labels, segs) if nmi is None else nmi
    expected_ari = adjusted_rand_score(labels, segs) if ari is None else ari
    assert nmi_from_contingency(table) == pytest.approx(expected_nmi, rel=1e-9, abs=1e-12)
    assert ari_from_contingency(table) == pytest.approx(expected_ari, rel=1e-9, abs=1e-12)
    assert ari_from_contingency(table) == pytest.approx(adjusted_rand_score(labels, segs), rel=1e-9, abs=1e-12)
