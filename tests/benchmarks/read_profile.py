"""Where the read stage's tasks spend their time: a Java Flight Recorder profile of a snapshot's read.

    .venv/bin/python tests/benchmarks/read_profile.py DATA [--top 25] [--recording read.jfr]

DATA is a Parquet directory written by ``./spark-submit.sh generate``. The read stage runs once,
as a job runs it on a new JVM (:func:`custseg.snapshot.read_snapshot`: read, checked, typed,
duplicate ids flagged, cached and counted), in a local session whose JVM records from its start
with JFR's ``profile`` settings; ``jcmd`` writes the recording out after the read. Prints the share
of the Spark task threads' execution samples per method: where a sample's innermost frame is (self)
and where anywhere on its stack (inclusive; leaving out the frames on 90 % of the stacks or more,
which run every task).
"""

from __future__ import annotations

import argparse
import re
import subprocess
import time
from collections import Counter
from pathlib import Path

from bench import generated_snapshot, local_session

TASK_THREAD = "Executor task launch worker"
FRAME_DETAIL = re.compile(r"\s+line:.*$")
BOILERPLATE = 0.9


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("data")
    parser.add_argument("--top", type=int, default=25)
    parser.add_argument("--recording", default="read.jfr")
    args = parser.parse_args()
    spark = local_session("-XX:StartFlightRecording=name=read,settings=profile")
    start = time.perf_counter()
    with generated_snapshot(spark, args.data) as (_, snapshot):
        print(f"read stage: {time.perf_counter() - start:.1f} s, {snapshot.rows_read:,} rows", flush=True)
    pid = str(spark.sparkContext._jvm.java.lang.ProcessHandle.current().pid())
    subprocess.run(["jcmd", pid, "JFR.dump", "name=read", f"filename={Path(args.recording).resolve()}"],
                   check=True, capture_output=True)
    _print_profile(_task_stacks(args.recording), args.top)


def _task_stacks(recording: str) -> list[list[str]]:
    """The stack of each execution sample of a task thread, innermost frame first."""
    printed = subprocess.run(["jfr", "print", "--events", "jdk.ExecutionSample", "--stack-depth", "96", recording],
                             check=True, capture_output=True, text=True).stdout
    stacks = []
    for event in printed.split("jdk.ExecutionSample {")[1:]:
        if TASK_THREAD not in event:
            continue
        frames = event.split("stackTrace = [", 1)[1].split("\n  ]", 1)[0].splitlines()
        stacks.append([FRAME_DETAIL.sub("", f.strip()) for f in frames if f.strip() not in ("", "...")])
    return stacks


def _print_profile(stacks: list[list[str]], top: int) -> None:
    innermost = Counter(stack[0] for stack in stacks if stack)
    anywhere = Counter(frame for stack in stacks for frame in set(stack))
    # The frames that run every task (thread pool, task runner) are on nearly every stack: left out.
    anywhere = Counter({frame: count for frame, count in anywhere.items() if count < BOILERPLATE * len(stacks)})
    print(f"\n{len(stacks):,} execution samples of task threads\n")
    for title, counts in (("self", innermost), ("inclusive", anywhere)):
        print(f"| method ({title}) | % of samples |\n|---|---:|")
        for frame, count in counts.most_common(top):
            print(f"| `{frame[:150]}` | {100 * count / len(stacks):.1f} |")
        print()


if __name__ == "__main__":
    main()
