"""Views over the job's tables for analysts: the latest segments and a per-run summary, with segment names."""

from __future__ import annotations

from pyspark.sql import SparkSession


def view_statements(database: str) -> dict[str, str]:
    """``CREATE OR REPLACE VIEW`` statement per view name, for the tables of ``database``."""
    segments = f"`{database}`.customer_segments"
    names = f"`{database}`.segment_names"
    named = (f"{segments} s LEFT JOIN {names} n ON n.run_date = s.run_date AND n.segment = s.segment")
    return {
        "latest_segments": (
            f"CREATE OR REPLACE VIEW `{database}`.latest_segments "
            f"COMMENT 'customer_segments of the latest run date, with the segment names' AS "
            f"SELECT s.*, n.segment_name FROM {named} "
            f"WHERE s.run_date = (SELECT max(run_date) FROM {segments})"
        ),
        "segment_summary": (
            f"CREATE OR REPLACE VIEW `{database}`.segment_summary "
            f"COMMENT 'customers, share and mean distances per segment and run date' AS "
            f"SELECT s.run_date, s.model_version, s.segment, n.segment_name, count(*) AS customers, "
            f"count(*) / sum(count(*)) OVER (PARTITION BY s.run_date) AS share, "
            f"avg(s.distance) AS mean_distance, avg(s.reconstruction_error) AS mean_reconstruction_error "
            f"FROM {named} GROUP BY s.run_date, s.model_version, s.segment, n.segment_name"
        ),
    }


def create_views(spark: SparkSession, database: str) -> None:
    """Create or replace every view; they read the tables, so they never hold stale data."""
    for statement in view_statements(database).values():
        spark.sql(statement)
