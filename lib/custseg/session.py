"""The job's SparkSession, with a persistent catalog that outlives the job."""

from __future__ import annotations

import os
import sys
from pathlib import Path

from pyspark.sql import SparkSession

from custseg.config import JobConfig


JOB_SETTINGS = {
    # Progress bars would interleave with the job's one line per stage.
    "spark.ui.showConsoleProgress": "false",
    # Lets adaptive execution coalesce the shuffle under a cached frame (the read snapshot): else
    # it keeps spark.sql.shuffle.partitions (200) near-empty partitions, read by every later pass.
    "spark.sql.optimizer.canChangeCachedPlanOutputPartitioning": "true",
}

def catalog_settings(warehouse_dir: str | Path) -> dict[str, str]:
    """Spark settings for an embedded Hive metastore (Derby) and warehouse under one directory.

    Both live under ``warehouse_dir`` so that any later session, ``spark-sql`` included, that
    is given the same directory sees the same tables.
    """
    warehouse = Path(warehouse_dir).resolve()
    metastore = warehouse / "metastore_db"
    return {
        "spark.sql.catalogImplementation": "hive",
        "spark.sql.warehouse.dir": str(warehouse),
        "spark.hadoop.javax.jdo.option.ConnectionURL": f"jdbc:derby:;databaseName={metastore};create=true",
        # Re-running a run date replaces that partition and leaves the others alone.
        "spark.sql.sources.partitionOverwriteMode": "dynamic",
        "spark.sql.session.timeZone": "UTC",
    }


def build_session(config: JobConfig, *, master: str | None = None) -> SparkSession:
    """Create the job's only SparkSession.

    Parameters
    ----------
    config : the job config; its ``output.warehouse_dir`` locates the catalog and ``spark.conf``
        adds settings.
    master : Spark master; ``None`` keeps what spark-submit set (``local[*]`` when run bare).
    """
    # Python workers must use this interpreter, or they miss the virtualenv's pyarrow.
    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    builder = SparkSession.builder.appName(config.spark.app_name)
    if master:
        builder = builder.master(master)
    for key, value in {**JOB_SETTINGS, **catalog_settings(config.output.warehouse_dir), **config.spark.conf}.items():
        builder = builder.config(key, value)
    return builder.enableHiveSupport().getOrCreate()
