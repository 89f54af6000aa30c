"""A pass of the feature pipeline: Spark ML's own transform against custseg's column expressions.

    .venv/bin/python tests/benchmarks/features_pass.py DATA [--repeats 3]

DATA is a Parquet directory written by ``./spark-submit.sh generate``. The feature pipeline of the
shipped config is fitted on it and the customers are cached; then, alternating and ``--repeats``
times each, two passes compute every customer's scaled features as the float array the encoder
reads and send them to Spark's no-op sink: the fitted pipeline's ``transform`` (a vector handed from
stage to stage) with ``vector_to_array``, and :func:`custseg.features.transform_features` (the same
values as column expressions). Prints the median seconds of each and their ratio.
"""

from __future__ import annotations

import argparse
import os
import statistics
import time
from typing import Callable

from pyspark.ml.functions import vector_to_array
from pyspark.sql import DataFrame
from pyspark.sql import functions as F

from bench import CONFIG, local_session
from custseg.config import load_config
from custseg.features import FEATURES_COL, build_feature_pipeline, transform_features


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("data")
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    spark = local_session()
    config = load_config(CONFIG)
    customers = spark.read.parquet(args.data).cache()
    rows = customers.count()
    model = build_feature_pipeline(config.columns, encoding=config.features.encoding).fit(customers)
    passes = {
        "Spark ML transform": lambda: model.transform(customers).select(
            vector_to_array(FEATURES_COL, "float32").alias("f")),
        "column expressions": lambda: transform_features(model, customers).select(
            F.col(FEATURES_COL).cast("array<float>").alias("f")),
    }
    seconds: dict[str, list[float]] = {name: [] for name in passes}
    for _ in range(args.repeats):
        for name, build in passes.items():
            seconds[name].append(timed_noop(build))
    medians = {name: statistics.median(values) for name, values in seconds.items()}
    print(f"\n{rows:,} rows, {config.features.encoding} encoding, {os.cpu_count()} cores, local[*], "
          f"median of {args.repeats}\n")
    print("| pass | median s | runs s | rows/s |")
    print("|---|---:|---|---:|")
    for name, median in medians.items():
        runs = ", ".join(f"{s:.1f}" for s in seconds[name])
        print(f"| {name} | {median:.2f} | {runs} | {rows / median:,.0f} |")
    print(f"\ncolumn expressions / Spark ML transform = "
          f"{medians['column expressions'] / medians['Spark ML transform']:.2f}")
    spark.stop()


def timed_noop(build: Callable[[], DataFrame]) -> float:
    start = time.perf_counter()
    build().write.format("noop").mode("overwrite").save()
    return time.perf_counter() - start


if __name__ == "__main__":
    main()
