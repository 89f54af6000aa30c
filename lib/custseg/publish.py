"""Publishing a run: its tables and the transitions since the previous run date, run_metrics last, then the views.

Also the ``model_versions`` table, rewritten whole from the model bundles whenever they change.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path

from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F

from custseg import model_store, outputs
from custseg.catalog import RunCommit, replace_table
from custseg.transitions import previous_run, segment_transitions
from custseg.views import create_views


def stage_run_tables(spark: SparkSession, tables: dict[str, DataFrame], *, database: str, run_date: date,
                     model_version: str, run_id: str, rows: int) -> RunCommit:
    """Stage ``tables`` (:func:`custseg.outputs.run_tables`, of ``rows`` customers) and ``segment_transitions``.

    Nothing is seen until the commit.
    """
    previous = previous_run(spark, f"`{database}`.customer_segments", before=run_date)
    moves = segment_transitions(tables["customer_segments"], previous, rows=rows)
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


def publish_model_versions(spark: SparkSession, *, database: str, model_dir: Path) -> tuple[str, ...]:
    """Rewrite ``model_versions`` from the bundles in ``model_dir`` and its active pointer; returns its name."""
    versions = outputs.model_versions_frame(spark, model_store.list_manifests(model_dir),
                                            active=model_store.active_version(model_dir))
    replace_table(spark, database=database, name="model_versions", df=versions, run_id=model_store.new_version())
    return (f"{database}.model_versions",)
