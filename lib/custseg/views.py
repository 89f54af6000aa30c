"""Views over the job's tables for analysts: the latest segments and a per-run summary of the segments."""

from __future__ import annotations

from pyspark.sql import SparkSession


def view_statements(database: str) -> dict[str, str]:
    """``CREATE OR REPLACE VIEW`` statement per view name, for the tables of ``database``."""
    segments = f"`{database}`.customer_segments"
    return {
        "latest_segments": (
            f"CREATE OR REPLACE VIEW `{database}`.latest_segments "
            f"COMMENT 'customer_segments of the latest run date' AS "
            f"SELECT * FROM {segments} WHERE run_date = (SELECT max(run_date) FROM {segments})"
        ),
        "segment_summary": (
            f"CREATE OR REPLACE VIEW `{database}`.segment_summary "
            f"COMMENT 'customers, share and mean distances per segment and run date' AS "
            f"SELECT run_date, model_version, segment, count(*) AS customers, "
            f"count(*) / sum(count(*)) OVER (PARTITION BY run_date) AS share, "
            f"avg(distance) AS mean_distance, avg(reconstruction_error) AS mean_reconstruction_error "
            f"FROM {segments} GROUP BY run_date, model_version, segment"
        ),
    }


def create_views(spark: SparkSession, database: str) -> None:
    """Create or replace every view; they read the tables, so they never hold stale data."""
    for statement in view_statements(database).values():
        spark.sql(statement)
