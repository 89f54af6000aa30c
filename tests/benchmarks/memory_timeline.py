"""The driver's memory through one job run: resident memory and heap after GC beside the job's stage lines.

    cd WORKDIR/jobs && /path/to/custseg/.venv/bin/python /path/to/custseg/tests/benchmarks/memory_timeline.py \
        score --conf /path/to/custseg/conf/generated.yaml --input ../customers --run-date 2026-07-01 [--every 5]

Runs ./spark-submit.sh with the given arguments in the current directory, as ``scale.py`` does, and
prints, in time order: every ``--every`` seconds the driver JVM's resident memory (read from /proc)
and the least and most heap it kept after a garbage collection in that interval (its GC log), and
each of the job's ``custseg:`` log lines, all in seconds since the command started.
"""

from __future__ import annotations

import argparse
import os
import re
import subprocess
import tempfile
import threading
import time
from pathlib import Path

from scale import ROOT, SUBMIT, descendants, drivers, gc_log_options, rss

# A collection in -Xlog:gc:...:uptime lines: "[97.544s] GC(123) Pause Young (Normal) (...) 1126M->901M(1284M) 4.7ms".
GC_PAUSE = re.compile(r"^\[([\d.]+)s\].*Pause (?:Young|Full)\b.* \d+M->(\d+)M\(\d+M\)", re.MULTILINE)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--every", type=float, default=5.0)
    args, job = parser.parse_known_args()
    with tempfile.TemporaryDirectory() as gc_logs:
        env = {**os.environ, "PYSPARK_PYTHON": str(ROOT / ".venv" / "bin" / "python"),
               "JDK_JAVA_OPTIONS": gc_log_options(gc_logs, ":uptime")}
        start = time.perf_counter()
        process = subprocess.Popen([str(SUBMIT), *job], env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                   text=True, start_new_session=True)
        samples: list[tuple[float, int]] = []
        done = threading.Event()

        def sample() -> None:
            while not done.wait(0.5):
                jvm = drivers(descendants(process.pid))["jvm"]
                samples.append((time.perf_counter() - start, sum(rss(pid) for pid in jvm)))

        sampler = threading.Thread(target=sample, daemon=True)
        sampler.start()
        lines = [(time.perf_counter() - start, line.rstrip()) for line in process.stdout]
        process.wait()
        done.set()
        sampler.join()
        # The driver's log is the largest; the JVM starts within a second of the command.
        driver_log = max(Path(gc_logs).glob("gc-*.log"), key=lambda log: log.stat().st_size, default=None)
        pauses = [(float(at), int(mib)) for at, mib in GC_PAUSE.findall(driver_log.read_text())] if driver_log else []
    events = [(at, line[line.index("custseg:"):][:120]) for at, line in lines if "custseg:" in line]
    for at, text in sorted(events + _intervals(samples, pauses, args.every)):
        print(f"{at:7.1f}  {text}")
    print(f"exit code {process.returncode}; peak resident {max(s for _, s in samples) / 2**20:,.0f} MiB" if samples
          else f"exit code {process.returncode}")


def _intervals(samples: list[tuple[float, int]], pauses: list[tuple[float, int]], every: float) -> list[tuple[float, str]]:
    rows = []
    for at, resident in samples:
        if rows and at < rows[-1][0] + every:
            continue
        after = [mib for pause_at, mib in pauses if at - every < pause_at <= at]
        heap = f", heap after GC {min(after):,} to {max(after):,} MiB" if after else ""
        rows.append((at, f"resident {resident / 2**20:,.0f} MiB{heap}"))
    return rows


if __name__ == "__main__":
    main()
