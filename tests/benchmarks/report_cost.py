"""What the run report adds to a train run: the seconds it takes against the run's own seconds.

    .venv/bin/python tests/benchmarks/report_cost.py [--rows 2000] [--sample-rows 1000 500 300] [--repeat 3]

Trains once on ``--rows`` generated customers (3 epochs, as the test suite's train runs) in a
temporary warehouse, then writes that run date's report ``--repeat`` times for each
``report.sample_rows`` and prints the median seconds of the whole report and of its PCA and t-SNE
projections alone, next to the train run's own seconds (``seconds_total``, which the report is not
part of).
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import statistics
import tempfile
import time
from datetime import date

from custseg import train
from custseg.config import config_from_dict
from custseg.report import projections, read_run, write_run_report
from custseg.session import build_session

RUN_DATE = date(2026, 1, 1)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=2000)
    parser.add_argument("--sample-rows", type=int, nargs="+", default=[1000, 500, 300])
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as warehouse:
        config = config_from_dict({"input": {"generated_rows": args.rows}, "autoencoder": {"epochs": 3},
                                   "output": {"database": "report_cost", "warehouse_dir": warehouse}})
        # The job's own session: its catalog lives in the temporary warehouse.
        spark = build_session(config, master="local[*]")
        trained = train.run(spark, config, run_date=RUN_DATE)
        print(f"\n{args.rows:,} generated customers, {os.cpu_count()} cores, local[*]; train run "
              f"{trained.metrics['seconds_total']:.1f} s without its report; medians of {args.repeat}\n")
        print("| report.sample_rows | report s | of which PCA + t-SNE s | report / train run |")
        print("|---:|---:|---:|---:|")
        for rows in args.sample_rows:
            settings = dataclasses.replace(config, report=dataclasses.replace(config.report, sample_rows=rows))
            whole = statistics.median(_seconds(lambda: write_run_report(spark, settings, run_date=RUN_DATE,
                                                                        history=[]))
                                      for _ in range(args.repeat))
            latent = read_run(spark, database="report_cost", run_date=RUN_DATE, sample_rows=rows,
                              seed=config.seed).latent
            maps = statistics.median(_seconds(lambda: projections(latent, perplexity=30, seed=config.seed))
                                     for _ in range(args.repeat))
            print(f"| {rows:,} | {whole:.1f} | {maps:.1f} | {whole / trained.metrics['seconds_total']:.2f} |")
        spark.stop()


def _seconds(step) -> float:
    start = time.perf_counter()
    step()
    return time.perf_counter() - start


if __name__ == "__main__":
    main()
