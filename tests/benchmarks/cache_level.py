"""A job with its customers kept two ways: wall time, stage times and driver peak memory.

    .venv/bin/python tests/benchmarks/cache_level.py WORKDIR [--repeats 2] [--job score|train]
        [--compare store|level|compression]

WORKDIR holds a ``scale.py`` run of one row count: its ``customers`` and the ``jobs`` directory of
its train run (the model the score job applies). The job (score by default) runs through
./spark-submit.sh with the shipped config for generated customers, alternating between two
settings, ``--repeats`` times each, each run under a run date of its own. ``--compare store`` sets
``spark.cache`` to ``files`` and to ``disk``, ``--compare level`` to ``disk`` and to
``memory_and_disk``; ``--compare compression`` caches on disk with Spark's columnar compression
(``spark.sql.inMemoryColumnarStorage.compressed``) on and off.
Prints a Markdown table of the runs and the medians of each setting.
"""

from __future__ import annotations

import argparse
import statistics
from datetime import date, timedelta
from pathlib import Path

import yaml

from scale import MEMORY_HEADINGS, ROOT, STAGES, Run, submit

COMPRESSION = "spark.sql.inMemoryColumnarStorage.compressed"
# Each comparison: its column heading and, per setting, what it changes in the config's spark section.
COMPARISONS = {
    "store": ("spark.cache", {"files": {"cache": "files"}, "disk": {"cache": "disk"}}),
    "level": ("spark.cache", {"disk": {"cache": "disk"}, "memory_and_disk": {"cache": "memory_and_disk"}}),
    "compression": (COMPRESSION, {"compressed": {"cache": "disk", "conf": {COMPRESSION: "true"}},
                                  "uncompressed": {"cache": "disk", "conf": {COMPRESSION: "false"}}}),
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("workdir", type=Path)
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--job", choices=("score", "train"), default="score")
    parser.add_argument("--compare", choices=tuple(COMPARISONS), default="store")
    args = parser.parse_args()
    workdir = args.workdir.resolve()
    heading, settings = COMPARISONS[args.compare]
    cases = {name: (_config(workdir, name, spark), workdir) for name, spark in settings.items()}
    runs = alternating_runs(args.job, cases, repeats=args.repeats, heading=heading, first_day=date(2026, 3, 1))
    print(f"\n| {heading} | median wall s | median driver peak MiB |")
    print("|---|---:|---:|")
    for name, measured in runs.items():
        print(f"| {name} | {statistics.median(r.seconds for r in measured):.1f} | "
              f"{statistics.median(r.peak_bytes for r in measured) / 2**20:,.0f} |")


def alternating_runs(job: str, cases: dict[str, tuple[Path, Path]], *, repeats: int, heading: str,
                     first_day: date, options: dict[str, list[str]] | None = None) -> dict[str, list[Run]]:
    """Run ``job`` for each case (its config and its ``scale.py`` workdir) in turn, ``repeats`` times.

    Each run has a run date of its own, from ``first_day`` on; ``options`` adds spark-submit.sh
    options per case. Prints a Markdown row per run and returns the runs of each case.
    """
    runs: dict[str, list[Run]] = {name: [] for name in cases}
    print(f"| {job}, {heading} | wall s | " + " | ".join(STAGES) + f" | {MEMORY_HEADINGS} |")
    print("|---|---:|" + "---:|" * len(STAGES) + "---:|---:|")
    day = first_day
    for _ in range(repeats):
        for name, (config, workdir) in cases.items():
            arguments = [job, "--conf", str(config), "--input", str(workdir / "customers"),
                         "--run-date", day.isoformat(), *(options or {}).get(name, [])]
            day += timedelta(days=1)
            run = submit(arguments, workdir / "jobs")
            runs[name].append(run)
            stages = " | ".join(f"{run.stages[s]:.1f}" if s in run.stages else "" for s in STAGES)
            print(f"| {name} | {run.seconds:.1f} | {stages} | {run.memory} |", flush=True)
    return runs


def _config(workdir: Path, name: str, spark: dict) -> Path:
    """The shipped config for generated customers with ``spark`` merged into its spark section, written beside the jobs."""
    config = yaml.safe_load((ROOT / "conf" / "generated.yaml").read_text(encoding="utf-8"))
    section = config.setdefault("spark", {})
    for key, value in spark.items():
        section[key] = {**(section.get(key) or {}), **value} if isinstance(value, dict) else value
    path = workdir / f"generated-cache-{name}.yaml"
    path.write_text(yaml.safe_dump(config), encoding="utf-8")
    return path


if __name__ == "__main__":
    main()
