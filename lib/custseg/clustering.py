"""Spark KMeans on the latent vectors, with segment ids numbered by a deterministic rule."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from pyspark.ml.clustering import KMeans, KMeansModel
from pyspark.ml.functions import array_to_vector
from pyspark.sql import Column, DataFrame
from pyspark.sql import functions as F

from custseg.config import ClusteringConfig

LATENT_VECTOR_COL = "latent_vector"
_PREDICTION_COL = "__kmeans_prediction"


@dataclass(frozen=True)
class Segmentation:
    """A fitted KMeans model and the segment id of each of its clusters.

    ``segment_of_cluster[c]`` is the segment id of KMeans cluster ``c``; segments are numbered by
    size, largest first (ties by centroid), so ids do not depend on KMeans' internal order.
    """

    model: KMeansModel
    segment_of_cluster: tuple[int, ...]

    @property
    def centroids(self) -> np.ndarray:
        """Centroids in segment order, shape (k, latent_dim)."""
        centers = np.array(self.model.clusterCenters())
        order = np.argsort(self.segment_of_cluster)
        return centers[order]


def with_latent_vector(df: DataFrame, *, latent_col: str = "latent") -> DataFrame:
    """Add the latent array as an ML vector, the input type KMeans and the evaluator need."""
    return df.withColumn(LATENT_VECTOR_COL, array_to_vector(latent_col))


def fit_segmentation(df: DataFrame, *, settings: ClusteringConfig, seed: int) -> Segmentation:
    """Fit KMeans on :data:`LATENT_VECTOR_COL` and number its clusters by size."""
    kmeans = KMeans(
        k=settings.k, seed=seed, maxIter=settings.max_iter, tol=settings.tol, initSteps=settings.init_steps,
        featuresCol=LATENT_VECTOR_COL, predictionCol=_PREDICTION_COL,
    )
    model = kmeans.fit(df)
    sizes = model.summary.clusterSizes
    centers = [tuple(c) for c in model.clusterCenters()]
    ranked = sorted(range(len(centers)), key=lambda c: (-sizes[c], centers[c]))
    segment_of_cluster = [0] * len(centers)
    for segment, cluster in enumerate(ranked):
        segment_of_cluster[cluster] = segment
    return Segmentation(model=model, segment_of_cluster=tuple(segment_of_cluster))


def assign_segments(df: DataFrame, segmentation: Segmentation, *, latent_col: str = "latent") -> DataFrame:
    """Add ``segment`` (int) and ``distance`` (Euclidean, latent space, to the segment's centroid)."""
    predicted = segmentation.model.transform(df)
    segment_ids = F.array(*[F.lit(s) for s in segmentation.segment_of_cluster])
    segment = F.element_at(segment_ids, F.col(_PREDICTION_COL) + 1)
    centroid = F.element_at(_literal_matrix(segmentation.centroids), segment + 1)
    squared = F.aggregate(
        F.zip_with(F.col(latent_col), centroid, lambda z, c: (z - c) * (z - c)),
        F.lit(0.0).cast("double"),
        lambda total, term: total + term,
    )
    return (
        predicted.withColumn("segment", segment.cast("int"))
        .withColumn("distance", F.sqrt(squared))
        .drop(_PREDICTION_COL)
    )


def _literal_matrix(matrix: np.ndarray) -> Column:
    return F.array(*[F.array(*[F.lit(float(v)) for v in row]) for row in matrix])
