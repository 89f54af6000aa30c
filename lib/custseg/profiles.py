"""Segment profiles: what a marketer reads about each segment, in original units.

One long table, one row per (segment, numeric feature) and per (segment, categorical feature,
level), built from two passes over the customers: one for sizes and numeric statistics, one for
the level counts of every categorical column together.
"""

from __future__ import annotations

from pyspark.sql import DataFrame, Window
from pyspark.sql import functions as F
from pyspark.sql.types import BooleanType, DoubleType, IntegerType, LongType, StringType, StructField, StructType

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

# percentile_approx's accuracy: the median's rank error is at most segment_size / 10000.
MEDIAN_ACCURACY = 10000


def _sizes_and_numeric(df: DataFrame, segment_col: str, numeric_cols: list[str]) -> DataFrame:
    """Pass 1: per segment its size, share of all rows and, per numeric column, mean/median/std."""
    stats = []
    for i, name in enumerate(numeric_cols):
        value = F.col(name).cast("double")
        stats += [
            F.avg(value).alias(f"_mean{i}"),
            F.percentile_approx(value, 0.5, MEDIAN_ACCURACY).alias(f"_median{i}"),
            F.stddev_samp(value).alias(f"_std{i}"),
        ]
    per_segment = df.groupBy(F.col(segment_col).cast("int").alias("segment")).agg(
        F.count(F.lit(1)).alias("segment_size"), *stats
    )
    # The aggregate has k rows: a cross join with its total is cheaper than an unpartitioned window.
    total = per_segment.agg(F.sum("segment_size").alias("_total"))
    return per_segment.crossJoin(total).withColumn("segment_share", F.col("segment_size") / F.col("_total"))


def _numeric_rows(per_segment: DataFrame, numeric_cols: list[str]) -> DataFrame:
    """Unpivot the wide per-segment statistics into one row per (segment, feature)."""
    melted = F.explode(
        F.array(
            *[
                F.struct(
                    F.lit(name).alias("feature"),
                    F.col(f"_mean{i}").alias("mean"),
                    F.col(f"_median{i}").alias("median"),
                    F.col(f"_std{i}").alias("std"),
                )
                for i, name in enumerate(numeric_cols)
            ]
        )
    )
    return per_segment.select("segment", "segment_size", "segment_share", melted.alias("_s")).select(
        "segment",
        "segment_size",
        "segment_share",
        "_s.feature",
        F.lit(None).cast("string").alias("level"),
        "_s.mean",
        "_s.median",
        "_s.std",
        F.lit(None).cast("double").alias("share"),
        F.lit(None).cast("boolean").alias("is_top"),
    )


def _categorical_rows(
    df: DataFrame, per_segment: DataFrame, segment_col: str, categorical_cols: list[str], missing_level: str
) -> DataFrame:
    """Pass 2: level counts of all categorical columns at once, as shares within the segment."""
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
    counts = (
        df.select(F.col(segment_col).cast("int").alias("segment"), pairs.alias("_p"))
        .groupBy("segment", "_p.feature", "_p.level")
        .count()
    )
    rank = Window.partitionBy("segment", "feature").orderBy(F.col("count").desc(), F.col("level").asc())
    # Every row contributes one level per feature, so the segment size is each feature's total.
    return counts.join(per_segment.select("segment", "segment_size", "segment_share"), "segment").select(
        "segment",
        "segment_size",
        "segment_share",
        "feature",
        "level",
        F.lit(None).cast("double").alias("mean"),
        F.lit(None).cast("double").alias("median"),
        F.lit(None).cast("double").alias("std"),
        (F.col("count") / F.col("segment_size")).alias("share"),
        (F.row_number().over(rank) == 1).alias("is_top"),
    )


def segment_profiles(
    df: DataFrame,
    *,
    segment_col: str = "segment",
    numeric_cols: list[str],
    categorical_cols: list[str],
    missing_level: str = "(missing)",
) -> DataFrame:
    """Per-segment characteristics as a long table (schema ``PROFILE_SCHEMA``).

    Numeric rows carry mean, median and sample standard deviation of the raw values, nulls
    ignored; the median is ``percentile_approx`` with accuracy 10000 (exact for segments of up
    to 10000 rows, rank error below size/10000 beyond). Categorical rows carry each level's
    share within the segment, nulls counted as ``missing_level``, and ``is_top`` for the most
    frequent level (ties to the smallest level name). Sorted by segment, feature, level.

    Parameters
    ----------
    df : one row per customer with the segment id and the raw input columns.
    segment_col : the segment id column.
    numeric_cols, categorical_cols : input columns to describe; names must not overlap.
    missing_level : the level that stands for a null category.
    """
    overlap = set(numeric_cols) & set(categorical_cols)
    if overlap:
        raise ValueError(f"columns cannot be both numeric and categorical: {sorted(overlap)}")
    per_segment = _sizes_and_numeric(df, segment_col, numeric_cols)
    parts = []
    if numeric_cols:
        parts.append(_numeric_rows(per_segment, numeric_cols))
    if categorical_cols:
        parts.append(_categorical_rows(df, per_segment, segment_col, categorical_cols, missing_level))
    if not parts:
        return df.sparkSession.createDataFrame([], PROFILE_SCHEMA)
    table = parts[0] if len(parts) == 1 else parts[0].unionByName(parts[1])
    return table.select([F.col(f.name).cast(f.dataType) for f in PROFILE_SCHEMA.fields]).orderBy(
        "segment", "feature", F.col("level").asc_nulls_first()
    )
