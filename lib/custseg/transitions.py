"""Who moved where: this run's segments against those of the previous run date, matched on the customer id."""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import date

from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F

# This run's customers per partition of the grouping by id, at most; with the previous run date's, a
# task then holds about twice as many.
ROWS_PER_PARTITION = 500_000


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
    now = current.select("customer_id", F.lit(None).cast("int").alias("from_segment"),
                         F.col("segment").alias("to_segment"))
    if previous is None:
        moves = now.select("from_segment", "to_segment")
        since = F.lit(None).cast("date")
    else:
        before = previous.segments.select("customer_id", F.col("segment").alias("from_segment"),
                                          F.lit(None).cast("int").alias("to_segment"))
        # A full outer join on the id, as one grouping by the id: a customer id appears at most once
        # per run date. Spark ran the join in spark.sql.shuffle.partitions (200) when its inputs had
        # fewer; the grouping keeps _partitioned's, in 0.75 times the time (transitions_pass.py).
        moves = _partitioned(before.unionByName(now), rows).groupBy("customer_id").agg(
            F.max("from_segment").alias("from_segment"), F.max("to_segment").alias("to_segment"))
        since = F.lit(previous.run_date)
    return (moves.groupBy("from_segment", "to_segment").agg(F.count("*").alias("customers"))
            .select("from_segment", "to_segment", "customers", since.alias("previous_run_date")))


def _partitioned(ids: DataFrame, rows: int) -> DataFrame:
    """Both run dates' customers, in a partition per :data:`ROWS_PER_PARTITION` of this run's when there are many.

    Left to adaptive execution, a shuffle of 10M customers is coalesced by its bytes into a few
    partitions: the full outer join this grouping replaced then needed sort buffers of 64-128 MB
    that a 4g heap could not always allocate (an OutOfMemoryError logged, then a spill).
    """
    cores = ids.sparkSession.sparkContext.defaultParallelism
    if rows <= ROWS_PER_PARTITION * cores:
        return ids
    return ids.repartition(math.ceil(rows / ROWS_PER_PARTITION), "customer_id")
