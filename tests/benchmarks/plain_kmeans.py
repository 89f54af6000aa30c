"""The plain Spark ML job custseg is measured against: the same feature pipeline (the shipped config's
encoding) and KMeans (k = 7, 20 iterations, seeded) on every row, no autoencoder, segments written
as a Parquet table.

    spark-submit --properties-file conf/spark-defaults.conf tests/benchmarks/plain_kmeans.py DATA

Run by scale.py; DATA is a Parquet directory written by ``./spark-submit.sh generate``.
"""

from __future__ import annotations

import sys

from pyspark.ml.clustering import KMeans
from pyspark.sql import SparkSession

from bench import CONFIG
from custseg.config import load_config
from custseg.features import FEATURES_COL, build_feature_pipeline


def main(data: str) -> None:
    spark = SparkSession.builder.appName("plain-kmeans").getOrCreate()
    config = load_config(CONFIG)
    columns = config.columns
    customers = spark.read.parquet(data)
    features = build_feature_pipeline(columns, encoding=config.features.encoding).fit(customers)
    featured = features.transform(customers).select(*customers.columns, FEATURES_COL).cache()
    kmeans = KMeans(k=7, seed=42, maxIter=20, featuresCol=FEATURES_COL, predictionCol="segment").fit(featured)
    segments = kmeans.transform(featured).select(columns.id, "segment")
    segments.write.mode("overwrite").parquet("segments")
    spark.stop()


if __name__ == "__main__":
    main(sys.argv[1])
