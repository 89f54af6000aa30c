"""Seeded samples: what the driver trains on, KMeans iterates over and the silhouettes measure, whatever the input's size."""

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


def expected_sample(df: DataFrame, *, rows: int, expected: int, seed: int) -> DataFrame:
    """About ``expected`` rows of ``df``, which holds ``rows`` rows, drawn by a seeded Bernoulli sample.

    All of ``df`` when it holds no more than ``expected`` rows. Unlike :func:`bounded_sample` there
    is no limit, which would gather the sample into one partition: the rows stay where they are,
    and the sample's size varies by about the square root of ``expected``.
    """
    if rows <= expected:
        return df
    return df.sample(fraction=expected / rows, seed=seed)
