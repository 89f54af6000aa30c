"""Publishing a run: its tables and the transitions since the previous run date, run_metrics last, then the views."""

from __future__ import annotations

from datetime import date

from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F

from custseg import outputs
from custseg.catalog import RunCommit
from custseg.transitions import previous_run, segment_transitions
from custseg.views import create_views


def stage_run_tables(spark: SparkSession, tables: dict[str, DataFrame], *, database: str, run_date: date,
                     model_version: str, run_id: str) -> RunCommit:
    """Stage ``tables`` (from :func:`custseg.outputs.run_tables`) and ``segment_transitions``; nothing is visible yet."""
    previous = previous_run(spark, f"`{database}`.customer_segments", before=run_date)
    moves = segment_transitions(tables["customer_segments"], previous)
    stamp = [F.lit(model_version).alias("model_version"), F.lit(run_date).alias("run_date")]
    commit = RunCommit(spark, database=database, run_date=run_date, run_id=run_id)
    for name, table in {**tables, "segment_transitions": moves.select("*", *stamp)}.items():
        commit.stage(name, table)
    return commit


def commit_run(spark: SparkSession, commit: RunCommit, *, database: str, metrics: dict[str, object]) -> tuple[str, ...]:
    """Stage the ``run_metrics`` row last, swap every staged table in, refresh the views; returns the tables."""
    commit.stage("run_metrics", outputs.run_metrics_frame(spark, metrics))
    commit.commit()
    create_views(spark, database)
    return commit.tables
