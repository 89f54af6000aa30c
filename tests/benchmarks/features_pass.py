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

from pyspark.ml.functions import vector_to_array
from pyspark.sql import functions as F

from bench import CONFIG, local_session, pass_arguments, timed_passes
from custseg.config import load_config
from custseg.features import FEATURES_COL, FittedFeatures, build_feature_pipeline, transform_features


def main() -> None:
    args = pass_arguments(__doc__)
    spark = local_session()
    config = load_config(CONFIG)
    customers = spark.read.parquet(args.data).cache()
    rows = customers.count()
    model = build_feature_pipeline(config.columns, encoding=config.features.encoding).fit(customers)
    fitted = FittedFeatures.of(model)
    passes = {
        "Spark ML transform": lambda: model.transform(customers).select(
            vector_to_array(FEATURES_COL, "float32").alias("f")),
        "column expressions": lambda: transform_features(fitted, customers).select(
            F.col(FEATURES_COL).cast("array<float>").alias("f")),
    }
    medians = timed_passes(passes, rows=rows, repeats=args.repeats, heading=f"{config.features.encoding} encoding")
    print(f"\ncolumn expressions / Spark ML transform = "
          f"{medians['column expressions'] / medians['Spark ML transform']:.2f}")
    spark.stop()


if __name__ == "__main__":
    main()
