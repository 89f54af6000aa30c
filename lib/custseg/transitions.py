"""Who moved where: this run's segments against those of the previous run date, joined on the customer id."""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import date

from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F

# Customers per partition on each side of the join, at most: each task's sort then fits a few MB.
JOIN_ROWS_PER_PARTITION = 500_000


@dataclass(frozen=True)
class PreviousRun:
    """The segments of the run date before this one: ``customer_id`` and ``segment`` rows."""

    run_date: date
    segments: DataFrame


def previous_run(spark: SparkSession, table: str, *, before: date) -> PreviousRun | None:
    """The latest run date of ``table`` before ``before`` and its segments; None if there is none."""
    if not spark.catalog.tableExists(table):
        return None
    # From the catalog's partitions: a query of the rows would open every earlier run date's files.
    days = [date.fromisoformat(row[0].split("=", 1)[1]) for row in spark.sql(f"SHOW PARTITIONS {table}").collect()]
    latest = max((day for day in days if day < before), default=None)
    if latest is None:
        return None
    segments = spark.table(table).where(F.col("run_date") == F.lit(latest)).select("customer_id", "segment")
    return PreviousRun(run_date=latest, segments=segments)


def segment_transitions(current: DataFrame, previous: PreviousRun | None, *, rows: int) -> DataFrame:
    """Customers per (from_segment, to_segment) since the previous run date.

    A null ``from_segment`` counts customers new since then, a null ``to_segment`` customers gone
    since then; on the first run date every customer is new. ``current`` holds ``customer_id``
    and ``segment`` of ``rows`` customers.
    """
    now = current.select("customer_id", F.col("segment").alias("to_segment"))
    if previous is None:
        moves = now.select(F.lit(None).cast("int").alias("from_segment"), "to_segment")
        since = F.lit(None).cast("date")
    else:
        before = previous.segments.select("customer_id", F.col("segment").alias("from_segment"))
        moves = _partitioned(before, rows).join(_partitioned(now, rows), "customer_id", "full_outer")
        since = F.lit(previous.run_date)
    return (moves.groupBy("from_segment", "to_segment").agg(F.count("*").alias("customers"))
            .select("from_segment", "to_segment", "customers", since.alias("previous_run_date")))


def _partitioned(side: DataFrame, rows: int) -> DataFrame:
    """One side of the join, in a partition per :data:`JOIN_ROWS_PER_PARTITION` customers when there are many.

    Left to adaptive execution, the join's inputs are coalesced by their bytes: at 10M customers
    into four partitions, whose sorts needed buffers of 64-128 MB that a 4g heap could not always
    allocate (an OutOfMemoryError logged, then a spill). Spark raises the count to
    ``spark.sql.shuffle.partitions`` when that is higher.
    """
    cores = side.sparkSession.sparkContext.defaultParallelism
    if rows <= JOIN_ROWS_PER_PARTITION * cores:
        return side
    return side.repartition(math.ceil(rows / JOIN_ROWS_PER_PARTITION), "customer_id")
