"""Bounded, seeded samples: what the driver trains on and KMeans iterates over, whatever the input's size."""

from __future__ import annotations

from pyspark.sql import DataFrame


def bounded_sample(df: DataFrame, *, rows: int, limit: int, seed: int) -> DataFrame:
    """At most ``limit`` rows of ``df``, which holds ``rows`` rows, drawn by a seeded Bernoulli sample.

    All of ``df`` when it holds no more than ``limit`` rows. The same input, partitioning and seed
    give the same sample.
    """
    if rows <= limit:
        return df
    # 10 % headroom so that the Bernoulli draw rarely falls short of the limit.
    return df.sample(fraction=1.1 * limit / rows, seed=seed).limit(limit)
