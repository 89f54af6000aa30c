"""Where a short train command's JVM time goes: Java Flight Recorder samples by kind of work.

    .venv/bin/python tests/benchmarks/jvm_profile.py [--rows 2000]

Generates ``--rows`` customers as CSV in a temporary directory and runs ``startup.py``'s short train
command on them (3 epochs, one KMeans start) through ``spark-submit.sh``, with the JVM options of
the tests' commands and a flight recording of the driver JVM (``settings=profile``). Prints the
share of the recording's execution samples per kind of work (each sample goes to the first kind
that a frame of its stack names, innermost frame first), the JIT's compilations and the time it
spent on them, and the programs the JVM started.
"""

from __future__ import annotations

import argparse
import collections
import json
import os
import re
import shutil
import subprocess
import tempfile
from pathlib import Path

from startup import SUBMIT, TRAIN  # the short train command, as startup.py times it

# As tests/support.py's QUICK_START_JVM: short-lived JVMs stop at the first JIT tier.
TESTS_JVM = "-XX:TieredStopAtLevel=1"
# Kinds of work, by the class or package names of the frames that do it.
KINDS = {
    "class lookups in the jars": ("java.util.zip.ZipFile", "jdk.internal.loader.URLClassPath"),
    "metastore (Hive client, Derby, DataNucleus)": ("org.apache.derby", "org.datanucleus", "org.apache.hadoop.hive",
                                                    "HiveExternalCatalog", "HiveClientImpl"),
    "code generation (Janino)": ("org.codehaus.janino", "org.codehaus.commons", "codegen.CodeGenerator",
                                 "codegen.Generate"),
    "serialization, closure cleaning": ("Serializ", "ObjectOutputStream", "ObjectInputStream", "ClosureCleaner",
                                        "xbean.asm"),
    "query planning (analysis, optimizer)": ("catalyst.analysis", "catalyst.optimizer", "SparkPlanner",
                                             "QueryExecution", "catalyst.rules"),
    "task execution (generated code, Parquet, Arrow, ML)": ("GeneratedClass", "parquet", "arrow", "spark.ml.",
                                                             "spark.mllib."),
}


def kind_of(frames: list[dict]) -> str:
    names = [f"{frame['method']['type']['name'].replace('/', '.')}.{frame['method']['name']}" for frame in frames]
    return next((kind for name in names for kind, marks in KINDS.items() if any(mark in name for mark in marks)),
                "other")


def seconds(duration: str) -> float:
    """Seconds of an ISO 8601 duration as ``jfr print --json`` writes them, e.g. ``PT1M2.5S``."""
    minutes, secs = re.fullmatch(r"PT(?:(\d+)M)?(?:([\d.]+)S)?", duration).groups()
    return 60 * int(minutes or 0) + float(secs or 0)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=2000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as directory:
        workdir, recording = Path(directory), Path(directory) / "train.jfr"
        env = {**os.environ, "JDK_JAVA_OPTIONS": TESTS_JVM}
        subprocess.run([SUBMIT, "generate", "--rows", str(args.rows), "--output", "customers", "--format", "csv"],
                       cwd=workdir, env=env, check=True, capture_output=True, timeout=900)
        # The launcher's short JVM records to the same file first; the driver's, exiting last, overwrites it.
        env["JDK_JAVA_OPTIONS"] += f" -XX:StartFlightRecording=filename={recording},settings=profile"
        subprocess.run([SUBMIT, *TRAIN], cwd=workdir, env=env, check=True, capture_output=True, timeout=900)
        printed = subprocess.run(
            [str(Path(shutil.which("java")).resolve().parent / "jfr"), "print", "--json", "--stack-depth", "300",
             "--events", "jdk.ExecutionSample,jdk.CompilerStatistics,jdk.ProcessStart", str(recording)],
            check=True, capture_output=True, text=True).stdout
    events = json.loads(printed)["recording"]["events"]
    by_type = collections.defaultdict(list)
    for event in events:
        by_type[event["type"]].append(event["values"])
    kinds = collections.Counter(kind_of(sample["stackTrace"]["frames"]) for sample in by_type["jdk.ExecutionSample"])
    samples = sum(kinds.values())
    print(f"\n{os.cpu_count()} cores; the train command on {args.rows:,} customers, JVM options {TESTS_JVM}; "
          f"{samples:,} execution samples of the driver JVM\n")
    print("| kind of work | share of samples |")
    print("|---|---:|")
    for kind, count in kinds.most_common():
        print(f"| {kind} | {100 * count / samples:.1f} % |")
    compiler = by_type["jdk.CompilerStatistics"][-1]
    print(f"\nJIT: {compiler['compileCount']:,} compilations, {seconds(compiler['totalTimeSpent']):.1f} s spent compiling")
    programs = collections.Counter(Path(process["command"].split()[0]).name for process in by_type["jdk.ProcessStart"])
    print("programs started: " + ", ".join(f"{name} {count}" for name, count in programs.most_common()))


if __name__ == "__main__":
    main()
