"""The two silhouettes of a train run: :func:`custseg.metrics.silhouettes` against Spark's
``ClusteringEvaluator`` and against its second pass as Spark column expressions.

    .venv/bin/python tests/benchmarks/silhouette_pass.py WAREHOUSE [--repeats 3]

WAREHOUSE is the warehouse directory of a train run on generated customers (``scale.py`` makes
one). The customers its active model was trained on are read as the jobs read a snapshot, joined
to their segments and latent vectors in its ``customer_segments`` table and kept where the shipped
config's ``spark.cache`` says, as the job keeps its segmented customers. On the seeded sample the job measures (``metrics.silhouette_rows``),
with the features computed again as the job computes them, alternating, ``--repeats`` times each,
both silhouettes (latent and input space) are measured three ways: Spark's evaluator; the shipped
function, whose second pass is a matrix product per Arrow batch in numpy; and the same two passes
with the second one as column expressions, k distances of d terms each per row, as the job
measured them up to commit b61897f. Checks that the three give the same figures, then prints the
median seconds of each and the shipped function's ratio to the others.
"""

from __future__ import annotations

import statistics
import time

from pyspark.ml.evaluation import ClusteringEvaluator
from pyspark.ml.functions import array_to_vector
from pyspark.sql import DataFrame
from pyspark.sql import functions as F

from bench import local_session, pass_arguments, trained_customers
from custseg.features import FEATURES_COL, transform_features
from custseg.frame_store import FrameStore
from custseg.metrics import _vector_entries, silhouettes
from custseg.sampling import expected_sample


def main() -> None:
    args = pass_arguments(__doc__, "warehouse")
    spark = local_session()
    with trained_customers(spark, args.warehouse, ["segment", "latent"]) as (config, model, joined), \
            FrameStore(spark, cache=config.spark.cache) as store:
        segmented = store.keep(joined, "segmented")
        rows = segmented.count()
        sampled = expected_sample(segmented, rows=rows, expected=config.metrics.silhouette_rows, seed=config.seed)
        vectors = transform_features(model.features, sampled)
        ways = {
            "ClusteringEvaluator": lambda: (_evaluated(vectors, "latent"), _evaluated(vectors, FEATURES_COL)),
            "second pass as column expressions": lambda: _as_expressions(vectors, ["latent", FEATURES_COL]),
            "silhouettes (shipped)": lambda: tuple(silhouettes(vectors, vector_cols=["latent", FEATURES_COL]).values()),
        }
        seconds: dict[str, list[float]] = {name: [] for name in ways}
        figures = {}
        for _ in range(args.repeats):
            for name, measure in ways.items():
                start = time.perf_counter()
                figures[name] = measure()
                seconds[name].append(time.perf_counter() - start)
        (latent, inputs), *others = figures.values()
        for latent_now, inputs_now in others:
            assert abs(latent_now - latent) <= 1e-9 * abs(latent) and abs(inputs_now - inputs) <= 1e-9 * abs(inputs)
        medians = {name: statistics.median(values) for name, values in seconds.items()}
        print(f"\n{rows:,} customers, silhouettes on a sample of about {config.metrics.silhouette_rows:,}: "
              + ", ".join(f"{name}: latent {a:.12f}, input {b:.12f}" for name, (a, b) in figures.items()) + "\n")
        print("| both silhouettes | median s | runs s |")
        print("|---|---:|---|")
        for name, median in medians.items():
            print(f"| {name} | {median:.2f} | {', '.join(f'{s:.1f}' for s in seconds[name])} |")
        *others, shipped = medians
        for name in others:
            print(f"\n{shipped} / {name} = {medians[shipped] / medians[name]:.2f}")
    spark.stop()


def _as_expressions(vectors: DataFrame, columns: list[str]) -> tuple[float, ...]:
    """Both silhouettes in the shipped function's two passes, the second as Spark column expressions."""
    entries, x = _vector_entries(vectors, columns, "segment")
    norms = [sum((v * v for v in values), F.lit(0.0)) for values in x]
    sums = entries.groupBy("segment").agg(
        F.count(F.lit(1)).alias("n"), *[F.sum(norm).alias(f"q{j}") for j, norm in enumerate(norms)],
        *[F.sum(v).alias(f"s{j}_{i}") for j, values in enumerate(x) for i, v in enumerate(values)]).collect()
    size = {r["segment"]: r["n"] for r in sums}
    # Each row's mean squared distance to each segment's rows: |x|^2 - 2 x.s/n + q/n.
    distances = entries.select("segment", *[
        (norms[j] + r[f"q{j}"] / r["n"] - 2.0 * sum((v * (r[f"s{j}_{i}"] / r["n"]) for i, v in enumerate(values)),
                                                     F.lit(0.0))).alias(f"d{j}_{r['segment']}")
        for j, values in enumerate(x) for r in sums])
    segment, parts = F.col("segment"), []
    for j in range(len(x)):
        own = F.coalesce(*[F.when(segment == s, F.col(f"d{j}_{s}") * (n / (n - 1)) if n > 1 else F.lit(None))
                           for s, n in size.items()])
        parts += [own.alias(f"a{j}"), F.least(*[F.when(segment != s, F.col(f"d{j}_{s}")) for s in size]).alias(f"b{j}")]
    means = distances.select(*parts).agg(*[
        F.avg(F.when(F.col(f"a{j}") < F.col(f"b{j}"), 1 - F.col(f"a{j}") / F.col(f"b{j}"))
              .when(F.col(f"a{j}") > F.col(f"b{j}"), F.col(f"b{j}") / F.col(f"a{j}") - 1).otherwise(0.0)).alias(f"m{j}")
        for j in range(len(x))]).first()
    return tuple(float(means[f"m{j}"]) for j in range(len(x)))


def _evaluated(vectors, column: str) -> float:
    evaluator = ClusteringEvaluator(featuresCol="vector", predictionCol="segment", distanceMeasure="squaredEuclidean")
    return evaluator.evaluate(vectors.withColumn("vector", array_to_vector(column)))


if __name__ == "__main__":
    main()
