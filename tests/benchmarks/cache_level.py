"""A job with its customers cached on disk and in memory: wall time, stage times and driver peak memory.

    .venv/bin/python tests/benchmarks/cache_level.py WORKDIR [--repeats 2] [--job score|train]

WORKDIR holds a ``scale.py`` run of one row count: its ``customers`` and the ``jobs`` directory of
its train run (the model the score job applies). The job (score by default) runs through
./spark-submit.sh with the shipped config for generated customers and ``spark.cache`` set to
``disk`` and to ``memory_and_disk``, alternating, ``--repeats`` times each, each run under a run
date of its own.
Prints a Markdown table of the runs and the medians of each level.
"""

from __future__ import annotations

import argparse
import statistics
from datetime import date, timedelta
from pathlib import Path

import yaml

from scale import ROOT, STAGES, Run, submit

LEVELS = ("disk", "memory_and_disk")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("workdir", type=Path)
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--job", choices=("score", "train"), default="score")
    args = parser.parse_args()
    workdir = args.workdir.resolve()
    configs = {level: _config(workdir, level) for level in LEVELS}
    runs: dict[str, list[Run]] = {level: [] for level in LEVELS}
    print(f"| {args.job}, spark.cache | wall s | " + " | ".join(STAGES) + " | driver peak MiB (JVM + Python) |")
    print("|---|---:|" + "---:|" * len(STAGES) + "---:|")
    day = date(2026, 3, 1)
    for _ in range(args.repeats):
        for level in LEVELS:
            arguments = [args.job, "--conf", str(configs[level]), "--input", str(workdir / "customers"),
                         "--run-date", day.isoformat()]
            day += timedelta(days=1)
            run = submit(arguments, workdir / "jobs")
            runs[level].append(run)
            stages = " | ".join(f"{run.stages[s]:.1f}" if s in run.stages else "" for s in STAGES)
            print(f"| {level} | {run.seconds:.1f} | {stages} | {run.peak_bytes / 2**20:,.0f} "
                  f"({run.jvm_bytes / 2**20:,.0f} + {run.python_bytes / 2**20:,.0f}) |", flush=True)
    print("\n| spark.cache | median wall s | median driver peak MiB |")
    print("|---|---:|---:|")
    for level, measured in runs.items():
        print(f"| {level} | {statistics.median(r.seconds for r in measured):.1f} | "
              f"{statistics.median(r.peak_bytes for r in measured) / 2**20:,.0f} |")


def _config(workdir: Path, level: str) -> Path:
    """The shipped config for generated customers with ``spark.cache`` set to ``level``, written beside the jobs."""
    config = yaml.safe_load((ROOT / "conf" / "generated.yaml").read_text(encoding="utf-8"))
    config.setdefault("spark", {})["cache"] = level
    path = workdir / f"generated-cache-{level}.yaml"
    path.write_text(yaml.safe_dump(config), encoding="utf-8")
    return path


if __name__ == "__main__":
    main()
