"""Finding the previous run date of ``customer_segments``: from the catalog's partitions, against a query of its rows.

    cd WORKDIR/jobs && /work/main/.venv/bin/python /work/main/tests/benchmarks/previous_run_lookup.py warehouse [--repeats 3]

WAREHOUSE is the warehouse directory of the jobs' runs (``scale.py`` makes one; its
``rows-N/jobs/warehouse``), opened with its own metastore. Alternating, ``--repeats`` times each:
:func:`custseg.transitions.previous_run`, which lists the table's partitions, and the query that
looked the date up up to this script's commit, the largest ``run_date`` among the rows before the
day after the latest run date. Checks that both find the same date, then prints the seconds of
each (as rows/s, run dates per second); the first of each is the one a job pays, in a
fresh session.
"""

from __future__ import annotations

import datetime as dt
import os
import sys

from pyspark.sql import SparkSession
from pyspark.sql import functions as F

from bench import pass_arguments, timed_actions
from custseg.session import catalog_settings
from custseg.transitions import previous_run

TABLE = "custseg.customer_segments"


def main() -> None:
    args = pass_arguments(__doc__, "warehouse")
    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    builder = SparkSession.builder.master("local[*]").config("spark.ui.showConsoleProgress", "false")
    for key, value in catalog_settings(args.warehouse).items():
        builder = builder.config(key, value)
    spark = builder.enableHiveSupport().getOrCreate()
    spark.sparkContext.setLogLevel("ERROR")
    latest = spark.table(TABLE).agg(F.max("run_date")).first()[0]
    before = latest + dt.timedelta(days=1)
    ways = {
        "the rows' largest run date": lambda: spark.table(TABLE).where(F.col("run_date") < F.lit(before))
        .agg(F.max("run_date")).first()[0],
        "the catalog's partitions (previous_run)": lambda: previous_run(spark, TABLE, before=before).run_date,
    }
    dates = spark.sql(f"SHOW PARTITIONS {TABLE}").count()
    found = {}
    actions = {name: (lambda name=name, lookup=lookup: found.__setitem__(name, lookup())) for name, lookup in ways.items()}
    timed_actions(actions, rows=dates, repeats=args.repeats,
                  heading=f"run dates of {TABLE}, the previous one looked up (the latest, {latest})")
    assert set(found.values()) == {latest}
    spark.stop()


if __name__ == "__main__":
    main()
