"""The driver's peak memory of one job at two row counts, alternating: the issue's target of a peak
at 10M within 20 % of the peak at 1M, with the spread between runs of the same row count.

    .venv/bin/python tests/benchmarks/peak_ratio.py SMALL_WORKDIR LARGE_WORKDIR [--repeats 3] [--job score|train]

Each WORKDIR holds a ``scale.py`` run of one row count: its ``customers`` and the ``jobs`` directory
of its train run (the model the score job applies). The job runs through ./spark-submit.sh with the
shipped config for generated customers, alternating between the two, ``--repeats`` times each, each
run under a run date of its own. Prints a Markdown table of the runs, then for the peak and for the
largest heap after a garbage collection (``scale.py``) the ratio of the medians and the ratio's
range (largest large run against smallest small run, and the other way round).
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
    parser.add_argument("workdirs", type=Path, nargs=2, metavar="WORKDIR")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--job", choices=("score", "train"), default="score")
    args = parser.parse_args()
    workdirs = [workdir.resolve() for workdir in args.workdirs]
    if workdirs[0].name == workdirs[1].name:
        parser.error("the two workdirs label the runs by their names, which must differ (scale.py names them rows-N)")
    config = ROOT / "conf" / "generated.yaml"
    runs = alternating_runs(args.job, {workdir.name: (config, workdir) for workdir in workdirs},
                            repeats=args.repeats, heading="snapshot", first_day=date(2026, 4, 1))
    for measure in ("peak_bytes", "heap_after_gc_bytes"):
        small, large = ([getattr(run, measure) for run in runs[workdir.name]] for workdir in workdirs)
        print(f"\nDriver {'peak' if measure == 'peak_bytes' else 'heap after GC'}, {workdirs[1].name} against "
              f"{workdirs[0].name}: {statistics.median(large) / statistics.median(small):.2f} (medians); "
              f"{min(large) / max(small):.2f} to {max(large) / min(small):.2f} (range)")


if __name__ == "__main__":
    main()
