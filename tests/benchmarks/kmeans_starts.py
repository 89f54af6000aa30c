"""Seconds per KMeans start on the train job's fitting sample: Spark's row and block solvers, one
start at a time and side by side, with the cost of every start (the same centroids must come out).

    .venv/bin/python tests/benchmarks/kmeans_starts.py SEGMENTS_DIR [--rows 200000] [--starts 4]
        [--solvers row block] [--threads 1 SLOTS] [--repeats 1]

SEGMENTS_DIR is a ``customer_segments`` table directory (or one run date's partition) of a train
run: its ``latent`` column holds the latent vectors. A seeded sample of ``--rows`` of them, cached,
stands for the job's fitting sample (like it, one partition). Each line runs ``--starts`` starts
with one solver, so many at a time (``--threads``; the default is one, then as many as the session
has task slots); ``--repeats`` runs the lines that many times, alternating. Prints a Markdown table.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from pyspark import StorageLevel
from pyspark.ml.clustering import KMeans
from pyspark.ml.functions import array_to_vector
from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F

from custseg.config import ClusteringConfig
from custseg.sampling import bounded_sample


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("segments", type=Path)
    parser.add_argument("--rows", type=int, default=ClusteringConfig().sample_rows)
    parser.add_argument("--starts", type=int, default=4)
    parser.add_argument("--solvers", nargs="+", choices=("row", "block"), default=["row", "block"])
    parser.add_argument("--threads", nargs="+", type=int)
    parser.add_argument("--repeats", type=int, default=1)
    args = parser.parse_args()
    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    spark = (SparkSession.builder.master("local[*]").config("spark.driver.memory", "4g")
             .config("spark.ui.showConsoleProgress", "false").getOrCreate())
    spark.sparkContext.setLogLevel("ERROR")
    latent = spark.read.parquet(str(args.segments)).select(
        array_to_vector(F.col("latent").cast("array<double>")).alias("latent_vector"))
    sample = bounded_sample(latent, rows=latent.count(), limit=args.rows, seed=42)
    sample = sample.coalesce(1).persist(StorageLevel.MEMORY_AND_DISK)
    rows, slots = sample.count(), spark.sparkContext.defaultParallelism
    threads = args.threads or [1, slots]
    print(f"\n{rows:,} latent vectors, {sample.rdd.getNumPartitions()} partition(s), {os.cpu_count()} cores, "
          f"k = 7, {args.starts} starts per line\n")
    print("| solver | starts at a time | s per start | cost of each start |")
    print("|---|---:|---:|---|")
    _starts(sample, solver="block", threads=1, starts=args.starts)  # warms the JVM up; not printed
    for _ in range(args.repeats):
        for at_a_time in threads:
            for solver in args.solvers:
                seconds, costs = _starts(sample, solver=solver, threads=at_a_time, starts=args.starts)
                print(f"| {solver} | {at_a_time} | {seconds:.2f} | {', '.join(f'{c:,.1f}' for c in costs)} |",
                      flush=True)


def _starts(sample: DataFrame, *, solver: str, threads: int, starts: int) -> tuple[float, list[float]]:
    settings = ClusteringConfig()

    def fit(seed: int) -> float:
        kmeans = KMeans(k=settings.k, seed=seed, maxIter=settings.max_iter, tol=settings.tol,
                        initSteps=settings.init_steps, featuresCol="latent_vector", solver=solver)
        return kmeans.fit(sample).summary.trainingCost

    began = time.perf_counter()
    with ThreadPoolExecutor(max_workers=threads) as pool:
        costs = list(pool.map(fit, range(42, 42 + starts)))
    return (time.perf_counter() - began) / starts, costs


if __name__ == "__main__":
    main()
