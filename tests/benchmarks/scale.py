"""Wall time per stage, rows per second and driver peak memory of the train and score jobs, and the
train job against a plain Spark ML job (same features + KMeans, no autoencoder) on the same rows.

    .venv/bin/python tests/benchmarks/scale.py --rows 1000000 10000000 [--workdir /tmp/custseg-bench]
        [--master spark://HOST:PORT] [--jobs train score]

For each row count it generates customers (Parquet), then runs, each through ./spark-submit.sh in
a fresh directory: the plain job, the train job and the score job (of the same snapshot under
another run date); ``--jobs`` picks some of them, ``--master`` submits them to a cluster in client
mode. The driver's peak memory is the largest summed resident memory of the driver
JVM and the Python driver process (in local mode the driver JVM also runs the tasks; the Python
workers are not counted), read from /proc every 0.2 s, and the driver JVM's largest heap left
after a garbage collection (from a GC log): an upper bound of what its objects held, since a young
collection leaves the old objects that died since the last marking. Prints Markdown tables.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SUBMIT = ROOT / "spark-submit.sh"
STAGE_LINE = re.compile(r"custseg: stage (\w+)\s+([\d.]+) s")
# A collection in a JVM's -Xlog:gc lines: "... Pause Young (Normal) (G1 Evacuation Pause) 1126M->901M(1284M) 4.7ms".
GC_PAUSE = re.compile(r"Pause (?:Young|Full)\b.* \d+M->(\d+)M\(\d+M\)")
JOBS = ["plain", "train", "score"]
MEMORY_HEADINGS = "driver peak MiB (JVM + Python) | driver heap after GC MiB"
STAGES = ("read", "features", "train", "encode", "cluster", "metrics", "write")


@dataclass
class Run:
    """One job run: its wall time, stage times, the driver's peak resident memory and largest heap after GC."""

    seconds: float
    stages: dict[str, float] = field(default_factory=dict)
    peak_bytes: int = 0
    jvm_bytes: int = 0
    python_bytes: int = 0
    heap_after_gc_bytes: int = 0

    @property
    def memory(self) -> str:
        """The driver's memory as the tables print it, in MiB: peak (JVM + Python), heap after GC."""
        return (f"{self.peak_bytes / 2**20:,.0f} ({self.jvm_bytes / 2**20:,.0f} + {self.python_bytes / 2**20:,.0f}) | "
                f"{self.heap_after_gc_bytes / 2**20:,.0f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, nargs="+", required=True)
    parser.add_argument("--workdir", type=Path, default=Path("/tmp/custseg-bench"))
    parser.add_argument("--master", default="local[*]")
    parser.add_argument("--jobs", nargs="+", choices=JOBS, default=JOBS)
    args = parser.parse_args()
    print(f"cores: {os.cpu_count()}, master {args.master}")
    print("\n| rows | job | wall s | " + " | ".join(STAGES) + " | rows/s | " + MEMORY_HEADINGS + " |")
    print("|---:|---|---:|" + "---:|" * len(STAGES) + "---:|---:|---:|", flush=True)
    results = {rows: measure(rows, args.workdir / f"rows-{rows}", master=args.master, chosen=args.jobs)
               for rows in args.rows}
    print_ratios(results)


def measure(rows: int, workdir: Path, *, master: str, chosen: list[str]) -> dict[str, Run]:
    """Generate ``rows`` customers and time the plain job, train and score on them; print a row per job."""
    shutil.rmtree(workdir, ignore_errors=True)
    workdir.mkdir(parents=True)
    data = workdir / "customers"
    conf = ["--conf", str(ROOT / "conf" / "generated.yaml"), "--input", str(data), "--master", master]
    jobs = {
        "generate": (["generate", "--rows", str(rows), "--output", str(data)], workdir),
        "plain": (["--plain", str(data), master], workdir / "plain"),
        "train": (["train", *conf, "--run-date", "2026-01-01"], workdir / "jobs"),
        "score": (["score", *conf, "--run-date", "2026-01-02"], workdir / "jobs"),
    }
    runs = {}
    for job, (arguments, cwd) in jobs.items():
        if job not in ("generate", *chosen):
            continue
        runs[job] = run = submit(arguments, cwd)
        stages = " | ".join(f"{run.stages[s]:.1f}" if s in run.stages else "" for s in STAGES)
        print(f"| {rows:,} | {job} | {run.seconds:.1f} | {stages} | {rows / run.seconds:,.0f} | {run.memory} |", flush=True)
    return runs


def submit(arguments: list[str], cwd: Path) -> Run:
    """Run ./spark-submit.sh with ``arguments`` in ``cwd`` (``--plain DATA``: the plain Spark ML job)."""
    cwd.mkdir(parents=True, exist_ok=True)
    if arguments[0] == "--plain":
        command = [str(ROOT / ".venv" / "bin" / "spark-submit"), "--master", arguments[2],
                   "--properties-file", str(ROOT / "conf" / "spark-defaults.conf"),
                   str(Path(__file__).with_name("plain_kmeans.py")), arguments[1]]
    else:
        command = [str(SUBMIT), *arguments]
    with tempfile.TemporaryDirectory() as gc_logs:
        env = {**os.environ, "PYSPARK_PYTHON": str(ROOT / ".venv" / "bin" / "python"),
               "JDK_JAVA_OPTIONS": gc_log_options(gc_logs)}
        start = time.perf_counter()
        process = subprocess.Popen(command, cwd=cwd, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                   text=True, start_new_session=True)
        peak = PeakMemory(process.pid)
        peak.start()
        output = process.stdout.read()
        process.wait()
        seconds = time.perf_counter() - start
        peak.stop()
        heap_after_gc = max((int(size) for log in Path(gc_logs).glob("gc-*.log")
                             for size in GC_PAUSE.findall(log.read_text(errors="replace"))), default=0) * 2**20
    if process.returncode != 0:
        sys.exit(f"{' '.join(arguments)} failed with exit code {process.returncode}:\n{output[-3000:]}")
    stages = {name: float(value) for name, value in STAGE_LINE.findall(output)}
    return Run(seconds=seconds, stages=stages, peak_bytes=peak.bytes, jvm_bytes=peak.jvm, python_bytes=peak.python,
               heap_after_gc_bytes=heap_after_gc)


def gc_log_options(directory: str, decorators: str = "") -> str:
    """``JDK_JAVA_OPTIONS`` with a GC log per JVM the command starts, ``directory/gc-<pid>.log``."""
    return f"{os.environ.get('JDK_JAVA_OPTIONS', '')} -Xlog:gc:file={directory}/gc-%p.log{decorators}".strip()


class PeakMemory(threading.Thread):
    """Peak RSS of the driver processes below ``root``: the JVM, the Python driver and their sum."""

    def __init__(self, root: int) -> None:
        super().__init__(daemon=True)
        self.root, self._done = root, threading.Event()
        self.jvm = self.python = self.bytes = 0

    def run(self) -> None:
        while not self._done.wait(0.2):
            sizes = {kind: sum(rss(pid) for pid in pids) for kind, pids in drivers(descendants(self.root)).items()}
            self.jvm, self.python = max(self.jvm, sizes["jvm"]), max(self.python, sizes["python"])
            self.bytes = max(self.bytes, sizes["jvm"] + sizes["python"])

    def stop(self) -> None:
        self._done.set()
        self.join()


def descendants(root: int) -> dict[int, int]:
    """Every process below ``root`` (and ``root``), each with its parent's pid."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                parent = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                continue
            children.setdefault(parent, []).append(int(entry.name))
    found, stack = {root: 0}, [root]
    while stack:
        pid = stack.pop()
        for child in children.get(pid, []):
            found[child] = pid
            stack.append(child)
    return found


def drivers(parents: dict[int, int]) -> dict[str, list[int]]:
    """The driver JVM and the Python driver among the processes of ``parents`` (pid -> parent pid).

    The Python workers (pyspark.daemon and its forks) are the executors' side and are left out. So
    is a process that the driver is starting (it still shows the driver's command line and memory
    until it runs its own program): counted, it doubled the driver's figure.
    """
    found: dict[str, list[int]] = {"jvm": [], "python": []}
    for pid in parents:
        try:
            command = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        program = Path(command[0].decode(errors="replace")).name
        if program == "java" and b"org.apache.spark.deploy.SparkSubmit" in command:
            found["jvm"].append(pid)
        elif program.startswith("python") and b"pyspark.daemon" not in command and b"-m" not in command:
            found["python"].append(pid)
    return {kind: [pid for pid in pids if parents[pid] not in pids] for kind, pids in found.items()}


def rss(pid: int) -> int:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    except OSError:
        pass
    return 0


def print_ratios(results: dict[int, dict[str, Run]]) -> None:
    for rows, runs in results.items():
        if "train" in runs and "plain" in runs:
            print(f"\n{rows:,} rows: train / plain Spark ML = {runs['train'].seconds / runs['plain'].seconds:.2f}")
    smallest, largest = min(results), max(results)
    for job in ("train", "score"):
        if largest != smallest and job in results[largest]:
            large, small = results[largest][job], results[smallest][job]
            heap = (f", heap after GC {large.heap_after_gc_bytes / small.heap_after_gc_bytes:.2f}"
                    if small.heap_after_gc_bytes else "")  # a JVM that never collected logs none
            print(f"\n{job}: driver peak at {largest:,} rows / at {smallest:,} rows = "
                  f"{large.peak_bytes / small.peak_bytes:.2f}{heap}")


if __name__ == "__main__":
    main()
