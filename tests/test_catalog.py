"""A run's tables are staged unseen and swapped in together; a run date is replaced, never merged."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from pyspark.testing import assertDataFrameEqual

from custseg.catalog import RUN_DIR_PREFIX, RunCommit, TableShapeError

DAY1, DAY2 = dt.date(2026, 1, 1), dt.date(2026, 1, 2)
SCHEMA = "customer_id string, segment int, run_date date"


def _write(spark, database, run_date, run_id, tables):
    commit = RunCommit(spark, database=database, run_date=run_date, run_id=run_id)
    for name, rows in tables.items():
        commit.stage(name, spark.createDataFrame(rows, SCHEMA))
    return commit


def _run_dirs(spark, database, table, run_date):
    location = spark.sql(f"DESCRIBE TABLE EXTENDED {database}.{table}").where("col_name = 'Location'").first()
    partition = Path(location.data_type.removeprefix("file:")) / f"run_date={run_date.isoformat()}"
    return sorted(p.name for p in partition.iterdir())


def test_a_rerun_replaces_only_its_run_date_and_deletes_the_replaced_files(spark):
    _write(spark, "cat_a", DAY1, "r1", {"seg": [("a", 1, DAY1), ("b", 2, DAY1)]}).commit()
    _write(spark, "cat_a", DAY2, "r2", {"seg": [("c", 3, DAY2)]}).commit()
    _write(spark, "cat_a", DAY1, "r3", {"seg": [("a", 5, DAY1)]}).commit()
    expected = spark.createDataFrame([("a", 5, DAY1), ("c", 3, DAY2)], SCHEMA)
    assertDataFrameEqual(spark.table("cat_a.seg"), expected)
    assert _run_dirs(spark, "cat_a", "seg", DAY1) == [f"{RUN_DIR_PREFIX}r3"]
    # A rerun without rows for its run date leaves that run date empty, not as it was.
    _write(spark, "cat_a", DAY2, "r4", {"seg": []}).commit()
    assertDataFrameEqual(spark.table("cat_a.seg"), spark.createDataFrame([("a", 5, DAY1)], SCHEMA))


def test_nothing_is_visible_before_commit_and_an_abandoned_run_leaves_no_trace(spark):
    _write(spark, "cat_b", DAY1, "r1", {"seg": [("a", 1, DAY1)], "prof": [("a", 1, DAY1)]}).commit()
    _write(spark, "cat_b", DAY1, "r2", {"seg": [("x", 9, DAY1)], "prof": [("x", 9, DAY1)]})
    _write(spark, "cat_b", DAY2, "r3", {"new": [("y", 8, DAY2)]})  # staged into a table that does not exist
    first = spark.createDataFrame([("a", 1, DAY1)], SCHEMA)
    assertDataFrameEqual(spark.table("cat_b.seg"), first)
    assertDataFrameEqual(spark.table("cat_b.prof"), first)
    assert not spark.catalog.tableExists("cat_b.new")
    assert _run_dirs(spark, "cat_b", "seg", DAY1) == [f"{RUN_DIR_PREFIX}r1", f"{RUN_DIR_PREFIX}r2"]
    # The next committed run of that date removes what the abandoned one staged.
    _write(spark, "cat_b", DAY1, "r5", {"seg": [("a", 2, DAY1)]}).commit()
    assert _run_dirs(spark, "cat_b", "seg", DAY1) == [f"{RUN_DIR_PREFIX}r5"]


def test_the_first_commit_creates_the_database_and_tables(spark):
    assert not spark.catalog.databaseExists("cat_c")
    commit = _write(spark, "cat_c", DAY1, "r1", {"seg": [("a", 1, DAY1)]})
    assert not spark.catalog.databaseExists("cat_c")
    commit.commit()
    assertDataFrameEqual(spark.table("cat_c.seg"), spark.createDataFrame([("a", 1, DAY1)], SCHEMA))
    assert [r.partition for r in spark.sql("SHOW PARTITIONS cat_c.seg").collect()] == ["run_date=2026-01-01"]


def test_a_table_of_another_shape_is_refused_before_anything_is_written(spark):
    _write(spark, "cat_d", DAY1, "r1", {"seg": [("a", 1, DAY1)]}).commit()
    commit = RunCommit(spark, database="cat_d", run_date=DAY2, run_id="r2")
    with pytest.raises(TableShapeError, match=r"^table cat_d.seg has columns customer_id, segment but this run "
                                              r"writes customer_id, segment, extra; drop the table or write"):
        commit.stage("seg", spark.createDataFrame([("a", 1, DAY2, 0.5)], SCHEMA + ", extra double"))
    with pytest.raises(TableShapeError):
        commit.stage("seg", spark.createDataFrame([("a", 1.0, DAY2)], "customer_id string, segment double, "
                                                                       "run_date date"))
    assert _run_dirs(spark, "cat_d", "seg", DAY1) == [f"{RUN_DIR_PREFIX}r1"]
