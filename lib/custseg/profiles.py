"""Segment profiles: what a marketer reads about each segment, in original units.

One long table, one row per (segment, numeric feature) and per (segment, categorical feature,
level), built from two passes over the customers: one for sizes and numeric statistics, one for
the level counts of every categorical column together. Both results are small (k rows, and k
rows per level), so they are collected and the table is put together on the driver: a lazy
table would repeat both passes for every action on it (writing it sorted takes two).
"""

from __future__ import annotations

from dataclasses import dataclass

from pyspark.sql import DataFrame, Row
from pyspark.sql import functions as F
from pyspark.sql.types import BooleanType, DoubleType, IntegerType, LongType, StringType, StructField, StructType

from custseg.features import MISSING_LEVEL

PROFILE_SCHEMA = StructType(
    [
        StructField("segment", IntegerType()),
        StructField("segment_size", LongType()),
        StructField("segment_share", DoubleType()),
        StructField("feature", StringType()),
        StructField("level", StringType()),
        StructField("mean", DoubleType()),
        StructField("median", DoubleType()),
        StructField("std", DoubleType()),
        StructField("share", DoubleType()),
        StructField("is_top", BooleanType()),
    ]
)


@dataclass(frozen=True)
class Profiles:
    """The profiles of a segmentation: the long table (``PROFILE_SCHEMA``) and the counts it was built from.

    ``sizes``: customers per segment; ``levels``: customers per level of each categorical column, over
    all segments (a null counted as the missing level); ``means``: each numeric column's mean over all
    segments, nulls ignored (None when every value is missing).
    """

    sizes: dict[int, int]
    levels: dict[str, dict[str, int]]
    means: dict[str, float | None]
    table: DataFrame


# percentile_approx's accuracy: the median's rank error is at most segment_size / 10000.
MEDIAN_ACCURACY = 10000
# True for the customers whose values the medians are estimated from.
_MEDIAN_SAMPLE_COL = "_in_median_sample"


def segment_profiles(
    df: DataFrame,
    *,
    segment_col: str = "segment",
    numeric_cols: list[str],
    categorical_cols: list[str],
    missing_level: str = MISSING_LEVEL,
    median_fraction: float = 1.0,
    seed: int = 0,
) -> Profiles:
    """Per-segment characteristics as a long table (schema ``PROFILE_SCHEMA``), computed now.

    Numeric rows carry mean, median and sample standard deviation of the raw values, nulls
    ignored; the median is ``percentile_approx`` with accuracy 10000 (exact for segments of up
    to 10000 rows, rank error below size/10000 beyond) over the customers of a seeded Bernoulli
    draw of ``median_fraction`` of them (all of them at 1.0). Categorical rows carry each level's
    share within the segment, nulls counted as ``missing_level``, and ``is_top`` for the most
    frequent level (ties to the smallest level name). Sorted by segment, feature, level.

    Parameters
    ----------
    df : one row per customer with the segment id and the raw input columns.
    segment_col : the segment id column.
    numeric_cols, categorical_cols : input columns to describe; names must not overlap.
    missing_level : the level that stands for a null category.
    median_fraction : share of the customers the medians are estimated from, drawn with ``seed``.
        The sketch sorts every value it is given, the other figures only add them up: for 10M
        customers on 2 cores it took 7.4 to 10.4 s of the pass against 2.0 to 2.6 s for all else.
    seed : seed of that draw.
    """
    overlap = set(numeric_cols) & set(categorical_cols)
    if overlap:
        raise ValueError(f"columns cannot be both numeric and categorical: {sorted(overlap)}")
    per_segment = _sizes_and_numeric(df, segment_col, numeric_cols, median_fraction, seed)
    sizes = {row["segment"]: row["segment_size"] for row in per_segment}
    total = sum(sizes.values())
    shares = {segment: size / total for segment, size in sizes.items()}
    rows = _numeric_rows(per_segment, numeric_cols, shares)
    levels: dict[str, dict[str, int]] = {name: {} for name in categorical_cols}
    if categorical_cols:
        counts = _level_counts(df, segment_col, categorical_cols, missing_level)
        rows += _categorical_rows(counts, sizes, shares)
        for r in counts:
            levels[r["feature"]][r["level"]] = levels[r["feature"]].get(r["level"], 0) + r["count"]
    # Nulls first: a numeric row's level is null.
    rows.sort(key=lambda r: (r[0], r[3], r[4] is not None, r[4] or ""))
    return Profiles(sizes=sizes, levels=levels, means=_overall_means(per_segment, numeric_cols),
                    table=df.sparkSession.createDataFrame(rows, PROFILE_SCHEMA))


def _sizes_and_numeric(df: DataFrame, segment_col: str, numeric_cols: list[str], median_fraction: float,
                       seed: int) -> list[Row]:
    """Pass 1: per segment its size and, per numeric column, mean/median/std and the count of values."""
    stats = []
    for i, name in enumerate(numeric_cols):
        value = F.col(name).cast("double")
        stats += [
            F.avg(value).alias(f"_mean{i}"),
            F.count(value).alias(f"_present{i}"),
            # The sketch skips nulls: a customer outside the medians' sample gives it one.
            F.percentile_approx(F.when(F.col(_MEDIAN_SAMPLE_COL), value), 0.5, MEDIAN_ACCURACY).alias(f"_median{i}"),
            F.stddev_samp(value).alias(f"_std{i}"),
        ]
    # percentile_approx keeps a summary per input partition and merges them all, one after another,
    # in one task: for 10M customers in 28 cached partitions that merge alone took 10 s. One partition
    # per core keeps every core busy on the rows and leaves few summaries to merge.
    cores = df.sparkSession.sparkContext.defaultParallelism
    # The sample is a column of its own: Spark takes no random expression in an aggregate's arguments.
    sample = F.lit(True) if median_fraction >= 1.0 else F.rand(seed) < median_fraction
    rows = df.coalesce(cores).select(F.col(segment_col).cast("int").alias("segment"), *numeric_cols,
                                     sample.alias(_MEDIAN_SAMPLE_COL))
    return rows.groupBy("segment").agg(F.count(F.lit(1)).alias("segment_size"), *stats).collect()


def _overall_means(per_segment: list[Row], numeric_cols: list[str]) -> dict[str, float | None]:
    """Each numeric column's mean over every segment, from the segments' means and counts of values."""
    means = {}
    for i, name in enumerate(numeric_cols):
        # A segment without values has a null mean and adds nothing.
        counted = [(r[f"_mean{i}"], r[f"_present{i}"]) for r in per_segment if r[f"_present{i}"]]
        present = sum(n for _, n in counted)
        means[name] = sum(mean * n for mean, n in counted) / present if present else None
    return means


def _numeric_rows(per_segment: list[Row], numeric_cols: list[str], shares: dict[int, float]) -> list[tuple]:
    """One row per (segment, numeric feature), in ``PROFILE_SCHEMA`` order."""
    return [
        (r["segment"], r["segment_size"], shares[r["segment"]], name, None,
         r[f"_mean{i}"], r[f"_median{i}"], r[f"_std{i}"], None, None)
        for r in per_segment for i, name in enumerate(numeric_cols)
    ]


def _level_counts(df: DataFrame, segment_col: str, categorical_cols: list[str], missing_level: str) -> list[Row]:
    """Pass 2: customers per (segment, feature, level) of all categorical columns at once."""
    pairs = F.explode(
        F.array(
            *[
                F.struct(
                    F.lit(name).alias("feature"),
                    F.coalesce(F.col(name).cast("string"), F.lit(missing_level)).alias("level"),
                )
                for name in categorical_cols
            ]
        )
    )
    return (
        df.select(F.col(segment_col).cast("int").alias("segment"), pairs.alias("_p"))
        .groupBy("segment", "_p.feature", "_p.level")
        .count()
        .collect()
    )


def _categorical_rows(counts: list[Row], sizes: dict[int, int], shares: dict[int, float]) -> list[tuple]:
    """One row per (segment, feature, level): its share within the segment, and whether it is the top level."""
    # Every customer has one level per feature, so the segment size is each feature's total.
    top: dict[tuple[int, str], tuple[int, str]] = {}
    for r in counts:
        group, rank = (r["segment"], r["feature"]), (-r["count"], r["level"])
        top[group] = min(top.get(group, rank), rank)
    return [
        (r["segment"], sizes[r["segment"]], shares[r["segment"]], r["feature"], r["level"],
         None, None, None, r["count"] / sizes[r["segment"]], top[(r["segment"], r["feature"])][1] == r["level"])
        for r in counts
    ]
