"""Where a job's time goes: each Spark stage of an event log, with its task time, GC, spill and bytes.

Run a job with an uncompressed event log, then read it:

    ./spark-submit.sh score --conf conf/generated.yaml --input <customers> --run-date 2026-01-03 \
        --spark-conf spark.eventLog.enabled=true --spark-conf spark.eventLog.compress=false \
        --spark-conf spark.eventLog.dir=file:///tmp/custseg-events
    .venv/bin/python tests/benchmarks/event_stages.py /tmp/custseg-events/*/events_*

Stages shorter than a second are left out. "cached" is what the stage read from cached frames
(the input metrics of an in-memory scan), "shuffle" what it read and wrote through shuffles.
"""

from __future__ import annotations

import argparse
import json
from collections import Counter
from pathlib import Path

MIB = 2**20


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("event_log", type=Path)
    args = parser.parse_args()
    stages, totals = read_stages(args.event_log)
    print("| stage | wall s | tasks | task s | GC s | spilled MiB | cached MiB | shuffle read / written MiB | call site |")
    print("|---:|---:|---:|---:|---:|---:|---:|---:|---|")
    for stage_id, (name, seconds, tasks) in sorted(stages.items()):
        if seconds < 1.0:
            continue
        t = totals[stage_id]
        print(f"| {stage_id} | {seconds:.1f} | {tasks} | {t['run'] / 1000:.1f} | {t['gc'] / 1000:.1f} | "
              f"{t['spilled'] / MIB:,.0f} | {t['input'] / MIB:,.0f} | "
              f"{t['shuffle_read'] / MIB:,.0f} / {t['shuffle_written'] / MIB:,.0f} | {name} |")


def read_stages(path: Path) -> tuple[dict[int, tuple[str, float, int]], dict[int, Counter]]:
    """Per completed stage: (call site, wall seconds, tasks), and the sums of its tasks' metrics."""
    stages: dict[int, tuple[str, float, int]] = {}
    totals: dict[int, Counter] = {}
    with open(path, encoding="utf-8") as events:
        for line in events:
            event = json.loads(line)
            if event["Event"] == "SparkListenerStageCompleted":
                info = event["Stage Info"]
                seconds = (info.get("Completion Time", 0) - info.get("Submission Time", 0)) / 1000
                stages[info["Stage ID"]] = (info["Stage Name"], seconds, info["Number of Tasks"])
            elif event["Event"] == "SparkListenerTaskEnd":
                metrics = event.get("Task Metrics") or {}
                shuffle_read = metrics.get("Shuffle Read Metrics") or {}
                total = totals.setdefault(event["Stage ID"], Counter())
                total["run"] += metrics.get("Executor Run Time", 0)
                total["gc"] += metrics.get("JVM GC Time", 0)
                total["spilled"] += metrics.get("Disk Bytes Spilled", 0)
                total["input"] += (metrics.get("Input Metrics") or {}).get("Bytes Read", 0)
                total["shuffle_read"] += shuffle_read.get("Remote Bytes Read", 0) + shuffle_read.get("Local Bytes Read", 0)
                total["shuffle_written"] += (metrics.get("Shuffle Write Metrics") or {}).get("Shuffle Bytes Written", 0)
    return stages, totals


if __name__ == "__main__":
    main()
