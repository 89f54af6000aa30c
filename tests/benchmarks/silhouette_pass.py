"""The two silhouettes of a train run: Spark's ``ClusteringEvaluator`` against :func:`custseg.metrics.silhouettes`.

    .venv/bin/python tests/benchmarks/silhouette_pass.py WAREHOUSE [--repeats 3]

WAREHOUSE is the warehouse directory of a train run on generated customers (``scale.py`` makes
one). The customers its active model was trained on are read as the jobs read a snapshot, joined
to their segments and latent vectors in its ``customer_segments`` table and cached, as the job
caches its segmented customers. On the seeded sample the job measures (``metrics.silhouette_rows``),
with the features computed again as the job computes them, alternating, ``--repeats`` times each,
both silhouettes (latent and input space) are measured both ways. Checks that both ways give the
same figures, then prints the median seconds of each and their ratio.
"""

from __future__ import annotations

import statistics
import time

from pyspark import StorageLevel
from pyspark.ml.evaluation import ClusteringEvaluator
from pyspark.ml.functions import array_to_vector

from bench import local_session, pass_arguments, trained_customers
from custseg.features import FEATURES_COL, transform_features
from custseg.metrics import silhouettes
from custseg.sampling import expected_sample


def main() -> None:
    args = pass_arguments(__doc__, "warehouse")
    spark = local_session()
    with trained_customers(spark, args.warehouse, ["segment", "latent"]) as (config, model, joined):
        segmented = joined.persist(StorageLevel.MEMORY_AND_DISK)
        rows = segmented.count()
        sampled = expected_sample(segmented, rows=rows, expected=config.metrics.silhouette_rows, seed=config.seed)
        vectors = transform_features(model.features, sampled)
        ways = {
            "ClusteringEvaluator": lambda: (_evaluated(vectors, "latent"), _evaluated(vectors, FEATURES_COL)),
            "column expressions (silhouettes)": lambda: tuple(
                silhouettes(vectors, vector_cols=["latent", FEATURES_COL]).values()),
        }
        seconds: dict[str, list[float]] = {name: [] for name in ways}
        figures = {}
        for _ in range(args.repeats):
            for name, measure in ways.items():
                start = time.perf_counter()
                figures[name] = measure()
                seconds[name].append(time.perf_counter() - start)
        (latent, inputs), (latent_now, inputs_now) = figures.values()
        assert abs(latent_now - latent) <= 1e-9 * abs(latent) and abs(inputs_now - inputs) <= 1e-9 * abs(inputs)
        medians = {name: statistics.median(values) for name, values in seconds.items()}
        print(f"\n{rows:,} customers, silhouettes on a sample of about {config.metrics.silhouette_rows:,}: "
              f"latent {latent:.12f} and {latent_now:.12f}, input {inputs:.12f} and {inputs_now:.12f}\n")
        print("| both silhouettes | median s | runs s |")
        print("|---|---:|---|")
        for name, median in medians.items():
            print(f"| {name} | {median:.2f} | {', '.join(f'{s:.1f}' for s in seconds[name])} |")
        names = list(medians)
        print(f"\n{names[1]} / {names[0]} = {medians[names[1]] / medians[names[0]]:.2f}")
    spark.stop()


def _evaluated(vectors, column: str) -> float:
    evaluator = ClusteringEvaluator(featuresCol="vector", predictionCol="segment", distanceMeasure="squaredEuclidean")
    return evaluator.evaluate(vectors.withColumn("vector", array_to_vector(column)))


if __name__ == "__main__":
    main()
