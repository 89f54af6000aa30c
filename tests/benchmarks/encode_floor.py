"""The encode stage against the Arrow floor: identity UDF passes over the same feature vectors.

    .venv/bin/python tests/benchmarks/encode_floor.py DATA [--repeats 3]

DATA is a Parquet directory written by ``./spark-submit.sh generate``. The feature vectors are
computed once and cached; then, alternating and ``--repeats`` times each, three passes over them
run to Spark's no-op sink: an identity pandas UDF (what a user would write first), an identity
Arrow UDF (the cost of moving the vectors to Python and back), and custseg's encode (autoencoder
forward pass with random weights of the configured shape: the arithmetic does not depend on the
values). Prints the median seconds of each and the ratios.
"""

from __future__ import annotations

from typing import Iterator

import numpy as np
import pandas as pd
import pyarrow as pa
from pyspark.sql import DataFrame
from pyspark.sql import functions as F
from pyspark.sql.functions import arrow_udf, pandas_udf

from bench import CONFIG, local_session, pass_arguments, timed_passes
from custseg.config import load_config
from custseg.encode import AutoencoderWeights, DenseLayer, encode
from custseg.features import FEATURES_COL, FittedFeatures, build_feature_pipeline, transform_features


def main() -> None:
    args = pass_arguments(__doc__)
    spark = local_session()
    config = load_config(CONFIG)
    customers = spark.read.parquet(args.data)
    pipeline = build_feature_pipeline(config.columns, encoding=config.features.encoding)
    features = FittedFeatures.of(pipeline.fit(customers))
    vectors = transform_features(features, customers).select(FEATURES_COL).cache()
    rows = vectors.count()
    weights = random_weights(input_dim=len(vectors.first()[0]), hidden=list(config.autoencoder.hidden_layers),
                             latent=config.autoencoder.latent_dim)
    passes = {
        "identity pandas UDF": lambda: identity_pandas(vectors),
        "identity Arrow UDF": lambda: identity_arrow(vectors),
        "encode": lambda: encode(vectors, weights=weights, features_col=FEATURES_COL).select(
            "latent", "reconstruction_error", "reconstruction_abs_error"),
    }
    medians = timed_passes(passes, rows=rows, repeats=args.repeats,
                           heading=f"{len(vectors.first()[0])} {config.features.encoding} features")
    print(f"\nencode / identity pandas UDF = {medians['encode'] / medians['identity pandas UDF']:.2f}")
    print(f"encode / identity Arrow UDF = {medians['encode'] / medians['identity Arrow UDF']:.2f}")
    spark.stop()


def random_weights(*, input_dim: int, hidden: list[int], latent: int) -> AutoencoderWeights:
    rng = np.random.default_rng(0)
    sizes = [input_dim, *hidden, latent]

    def layers(dims: list[int], last: str) -> tuple[DenseLayer, ...]:
        return tuple(DenseLayer(rng.normal(size=(a, b)).astype(np.float32), np.zeros(b, np.float32),
                                "relu" if i < len(dims) - 2 else last)
                     for i, (a, b) in enumerate(zip(dims, dims[1:])))

    return AutoencoderWeights(encoder=layers(sizes, "relu"), decoder=layers(sizes[::-1], "linear"))


def identity_pandas(vectors: DataFrame) -> DataFrame:
    @pandas_udf("array<float>")
    def same(values: pd.Series) -> pd.Series:
        return values

    return vectors.select(same(F.col(FEATURES_COL).cast("array<float>")).alias("v"))


def identity_arrow(vectors: DataFrame) -> DataFrame:
    @arrow_udf("array<float>")
    def same(batches: Iterator[pa.Array]) -> Iterator[pa.Array]:
        yield from batches

    return vectors.select(same(F.col(FEATURES_COL).cast("array<float>")).alias("v"))


if __name__ == "__main__":
    main()
