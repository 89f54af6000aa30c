"""A pass of the segment assignment: the KMeans model's own transform against custseg's column expressions.

    .venv/bin/python tests/benchmarks/assign_pass.py WAREHOUSE [--repeats 3]

WAREHOUSE is the warehouse directory of a train run (``./spark-submit.sh train``): its model's
KMeans centroids assign the latent vectors of its ``customer_segments`` table, which are cached
first. Alternating, ``--repeats`` times each, two passes add every customer's segment and distance
and send them to Spark's no-op sink: the model's ``transform`` on the latent vector (what the jobs
did before, with the distance as a higher-order function over the arrays), and
:func:`custseg.clustering.assign_segments`. Checks that both give every customer the same segment
and distance, then prints the median seconds of each and their ratio.
"""

from __future__ import annotations

import glob

import numpy as np
from pyspark import StorageLevel
from pyspark.ml.clustering import KMeansModel
from pyspark.sql import functions as F

from bench import local_session, pass_arguments, timed_passes
from custseg.clustering import Segmentation, assign_segments, with_latent_vector


def main() -> None:
    args = pass_arguments(__doc__, "warehouse")
    spark = local_session()
    model = KMeansModel.load(sorted(glob.glob(f"{args.warehouse}/models/*/kmeans"))[-1])
    segmentation = Segmentation(model=model, segment_of_cluster=tuple(range(model.getK())))
    latent = spark.read.parquet(f"{args.warehouse}/custseg.db/customer_segments").select("customer_id", "latent")
    latent = latent.persist(StorageLevel.MEMORY_AND_DISK)
    rows = latent.count()
    passes = {
        "KMeans model transform": lambda: _model_transform(latent, model),
        "column expressions (assign_segments)": lambda: assign_segments(latent, segmentation),
    }
    _check_same(passes)
    medians = timed_passes(passes, rows=rows, repeats=args.repeats, heading=f"k = {model.getK()}")
    print(f"\ncolumn expressions / KMeans model transform = "
          f"{medians['column expressions (assign_segments)'] / medians['KMeans model transform']:.2f}")
    spark.stop()


def _model_transform(latent, model: KMeansModel):
    predicted = model.setPredictionCol("segment").transform(with_latent_vector(latent))
    centroid = F.element_at(F.array(*[F.array(*[F.lit(float(v)) for v in c]) for c in model.clusterCenters()]),
                            F.col("segment") + 1)
    squared = F.aggregate(F.zip_with(F.col("latent"), centroid, lambda z, c: (z - c) * (z - c)),
                          F.lit(0.0).cast("double"), lambda total, term: total + term)
    return predicted.select("customer_id", "latent", "segment", F.sqrt(squared).alias("distance"))


def _check_same(passes) -> None:
    first, second = (build().select("customer_id", F.col("segment").alias(f"s{i}"), F.col("distance").alias(f"d{i}"))
                     for i, build in enumerate(passes.values()))
    differ = first.join(second, "customer_id").agg(
        F.sum((F.col("s0") != F.col("s1")).cast("long")).alias("segments"),
        F.max(F.abs(F.col("d0") - F.col("d1"))).alias("distance")).first()
    print(f"customers with another segment: {differ['segments']}, largest distance difference: {differ['distance']}")
    assert differ["segments"] == 0 and np.isclose(differ["distance"], 0.0, atol=1e-12)


if __name__ == "__main__":
    main()
