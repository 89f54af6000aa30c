"""A job under G1 time-ratio goals: wall time, stage times and the driver's peak memory.

    .venv/bin/python tests/benchmarks/gc_time_ratio.py WORKDIR [--ratios 12 4] [--repeats 2] [--job score|train]

WORKDIR holds a ``scale.py`` run of one row count: its ``customers`` and the ``jobs`` directory of
its train run (the model the score job applies). The job (score by default) runs through
./spark-submit.sh with the shipped config for generated customers, alternating between the
``-XX:GCTimeRatio`` values of ``--ratios`` (12 is G1's own default), given to the driver and
executor JVMs as ``spark.{driver,executor}.defaultJavaOptions``. G1 grows the heap until garbage
collection takes at most 1 / (1 + ratio) of the time: the lower the ratio, the less heap it
commits for the same work.
Prints a Markdown table of the runs and the medians of each ratio.
"""

from __future__ import annotations

import argparse
import statistics
from datetime import date
from pathlib import Path

from cache_level import alternating_runs
from scale import ROOT


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("workdir", type=Path)
    parser.add_argument("--ratios", type=int, nargs="+", default=[12, 4])
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--job", choices=("score", "train"), default="score")
    args = parser.parse_args()
    workdir = args.workdir.resolve()
    config = ROOT / "conf" / "generated.yaml"
    names = {ratio: f"GCTimeRatio={ratio}" for ratio in args.ratios}
    options = {name: [option for role in ("driver", "executor") for option in
                      ("--spark-conf", f"spark.{role}.defaultJavaOptions=-XX:{name}")]
               for name in names.values()}
    runs = alternating_runs(args.job, {name: (config, workdir) for name in names.values()}, repeats=args.repeats,
                            heading="G1", first_day=date(2026, 6, 1), options=options)
    print("\n| G1 | median wall s | median driver peak MiB |")
    print("|---|---:|---:|")
    for name, measured in runs.items():
        print(f"| {name} | {statistics.median(r.seconds for r in measured):.1f} | "
              f"{statistics.median(r.peak_bytes for r in measured) / 2**20:,.0f} |")


if __name__ == "__main__":
    main()
