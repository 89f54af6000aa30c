"""Segment transitions: who moved where since the previous run date, counted in a join on the customer id."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from pyspark.testing import assertDataFrameEqual

from custseg import transitions
from custseg.transitions import PreviousRun, segment_transitions

BEFORE = dt.date(2026, 1, 1)
SCHEMA = "from_segment int, to_segment int, customers long, previous_run_date date"


def test_moves_new_and_gone_customers_are_counted_per_pair(spark):
    previous = spark.createDataFrame([("a", 0), ("b", 0), ("c", 1), ("gone", 2)], "customer_id string, segment int")
    current = spark.createDataFrame([("a", 0), ("b", 1), ("c", 1), ("new", 0)], "customer_id string, segment int")
    moves = segment_transitions(current, PreviousRun(run_date=BEFORE, segments=previous), rows=4)
    expected = [(0, 0, 1, BEFORE), (0, 1, 1, BEFORE), (1, 1, 1, BEFORE), (2, None, 1, BEFORE), (None, 0, 1, BEFORE)]
    assertDataFrameEqual(moves, spark.createDataFrame(expected, SCHEMA))


def test_on_the_first_run_date_every_customer_is_new(spark):
    current = spark.createDataFrame([("a", 0), ("b", 1), ("c", 1)], "customer_id string, segment int")
    expected = [(None, 0, 1, None), (None, 1, 2, None)]
    assertDataFrameEqual(segment_transitions(current, None, rows=3), spark.createDataFrame(expected, SCHEMA))


@pytest.mark.parametrize(("rows", "exchanges"), [(1000, [("5", "REPARTITION_BY_NUM")] * 2),
                                                 (400, [("8", "ENSURE_REQUIREMENTS")] * 2)])
def test_many_customers_are_matched_in_a_partition_per_rows_per_partition(spark, monkeypatch, rows, exchanges):
    monkeypatch.setattr(transitions, "ROWS_PER_PARTITION", 200)
    current = spark.range(rows).selectExpr("CAST(id AS STRING) AS customer_id", "CAST(id % 7 AS INT) AS segment")
    previous = PreviousRun(run_date=BEFORE, segments=current.where(f"CAST(customer_id AS INT) < {rows - 100}"))
    shuffle_partitions = spark.conf.get("spark.sql.shuffle.partitions")
    spark.conf.set("spark.sql.shuffle.partitions", "8")
    try:
        moves = segment_transitions(current, previous, rows=rows)
        assert sum(row.customers for row in moves.collect()) == rows
    finally:
        spark.conf.set("spark.sql.shuffle.partitions", shuffle_partitions)
    # As adaptive execution ran them (its final and initial plans): 1,000 customers in ceil(1,000 / 200)
    # partitions, not raised to spark.sql.shuffle.partitions; up to 200 per core (two cores here),
    # as Spark chooses.
    plan = moves._jdf.queryExecution().executedPlan().toString()
    assert re.findall(r"Exchange hashpartitioning\(customer_id#\d+, (\d+)\), (\w+)", plan) == exchanges


def test_the_previous_run_date_comes_from_the_catalogs_partitions_without_reading_rows(spark):
    table = "transitions_test.customer_segments"
    spark.sql("CREATE DATABASE IF NOT EXISTS transitions_test")
    days = [dt.date(2026, 1, 1), dt.date(2026, 2, 1), dt.date(2026, 4, 1)]
    rows = [(f"c{day.month}", day.month, day) for day in days] + [("c0", 0, days[1])]
    (spark.createDataFrame(rows, "customer_id string, segment int, run_date date")
     .write.partitionBy("run_date").mode("overwrite").saveAsTable(table))
    spark.sparkContext.setJobGroup("previous-run", "the previous run date looked up")
    try:
        previous = transitions.previous_run(spark, table, before=dt.date(2026, 3, 1))
        jobs = spark.sparkContext.statusTracker().getJobIdsForGroup("previous-run")
    finally:
        for key in ("spark.jobGroup.id", "spark.job.description"):
            spark.sparkContext.setLocalProperty(key, None)
    assert previous.run_date == days[1] and jobs == []
    assert sorted(map(tuple, previous.segments.collect())) == [("c0", 0), ("c2", 2)]
    assert transitions.previous_run(spark, table, before=days[0]) is None
    assert transitions.previous_run(spark, "transitions_test.nothing_yet", before=days[0]) is None
