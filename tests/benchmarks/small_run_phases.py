"""What a small train run spends around its stages: seconds and Hive metastore calls per phase.

    .venv/bin/python tests/benchmarks/small_run_phases.py [--rows 3000] [--runs 3]

Runs ``--runs`` train runs one after another in one local session with an embedded metastore, on
``--rows`` generated customers, with the settings of the tests' short runs (3 epochs, one KMeans
start, 300 latent vectors for the report), each under a run date of its own: the first creates
the tables, the later ones add partitions to them. Prints, per run, the wall seconds and the
metastore client calls (Spark's ``HiveCatalogMetrics``) of the whole run and of the phases that
talk to the catalog: the read, the staging of the tables, the commit (``run_metrics``, the
partitions swapped in, the views), ``model_versions`` and the report.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from pyspark.sql import SparkSession

from custseg import train
from custseg.config import config_from_dict
from custseg.session import build_session

# The functions of custseg.train that make up the phases, in the order a run calls them.
PHASES = ("read_snapshot", "stage_run_tables", "commit_run", "publish_model_versions", "publish_run_report")


def client_calls(spark: SparkSession) -> Callable[[], int]:
    """A function that returns how many calls the session's Hive metastore client has made so far."""
    metrics = spark.sparkContext._jvm.org.apache.spark.metrics.source.HiveCatalogMetrics
    return lambda: metrics.METRIC_HIVE_CLIENT_CALLS().getCount()


@contextmanager
def measured_phases(calls: Callable[[], int], totals: dict[str, list[float]]) -> Iterator[None]:
    """Within the block, each phase of :data:`PHASES` adds its seconds and metastore calls to ``totals``."""
    originals = {name: getattr(train, name) for name in PHASES}

    def measured(name: str, phase: Callable[..., Any]) -> Callable[..., Any]:
        def run(*args: Any, **kwargs: Any) -> Any:
            before, start = calls(), time.perf_counter()
            try:
                return phase(*args, **kwargs)
            finally:
                totals[name][0] += time.perf_counter() - start
                totals[name][1] += calls() - before
        return run

    for name, phase in originals.items():
        setattr(train, name, measured(name, phase))
    try:
        yield
    finally:
        for name, phase in originals.items():
            setattr(train, name, phase)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=3000)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    warehouse = tempfile.mkdtemp(prefix="small-run-")
    os.chdir(warehouse)  # Derby's log
    config = config_from_dict({
        "seed": 7, "input": {"generated_rows": args.rows},
        "autoencoder": {"sample_rows": 2000, "epochs": 3}, "clustering": {"n_init": 1},
        "metrics": {"silhouette_rows": 1000, "median_rows": 1000}, "report": {"sample_rows": 300},
        "output": {"database": "small", "warehouse_dir": warehouse},
        "spark": {"conf": {"spark.driver.memory": "4g", "spark.sql.shuffle.partitions": "4",
                           "spark.driver.extraJavaOptions": "-XX:-DontCompileHugeMethods"}},
    })
    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    spark = build_session(config, master="local[2]")
    spark.sparkContext.setLogLevel("ERROR")
    calls = client_calls(spark)
    print(f"\n{os.cpu_count()} cores; train runs of {args.rows:,} generated customers in one session; "
          "seconds / metastore calls\n")
    print(f"| run | whole run | {' | '.join(PHASES)} |")
    print(f"|---:|---:|{'---:|' * len(PHASES)}")
    for run in range(1, args.runs + 1):
        totals = {name: [0.0, 0] for name in PHASES}
        before, start = calls(), time.perf_counter()
        with measured_phases(calls, totals):
            train.run(spark, config, run_date=dt.date(2026, 1, run))
        whole = f"{time.perf_counter() - start:.1f} / {calls() - before}"
        print(f"| {run} | {whole} | {' | '.join(f'{s:.2f} / {n}' for s, n in totals.values())} |", flush=True)
    spark.stop()


if __name__ == "__main__":
    main()
