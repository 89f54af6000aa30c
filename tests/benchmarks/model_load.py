"""What a score command spends loading its model: the feature parameters read as JSON or as Spark ML's model.

    .venv/bin/python tests/benchmarks/model_load.py [--rounds 3] [--rows 2000]

Generates ``--rows`` customers as CSV in a temporary directory and trains a short model on them
(3 epochs, one KMeans start) through ``spark-submit.sh``. Then runs the score command on them
alternately with the bundle's ``feature_parameters.json`` moved aside, so that the job reads the
fitted pipeline from the Spark ML model as it does in a bundle written before the JSON was, and
with it in place, ``--rounds`` times, each under a run date of its own. Prints the median wall
seconds of each, the seconds to the job's first log line (what the command does before its read
stage starts) and their ratios.
"""

from __future__ import annotations

import datetime as dt
import os
import statistics
import subprocess
import tempfile
import time
from pathlib import Path

from bench import command_arguments

ROOT = Path(__file__).resolve().parents[2]
SUBMIT = str(ROOT / "spark-submit.sh")
CONF = str(ROOT / "conf" / "customers.yaml")
TRAIN = ("--conf", CONF, "--input", "customers", "--run-date", "2026-03-01", "--set", "autoencoder.epochs=3",
         "--set", "clustering.n_init=1")
SCORE = ("--conf", CONF, "--input", "customers")
PARAMETERS = "feature_parameters.json"
WAYS = {False: "Spark ML model", True: "JSON"}


def run(args: tuple[str, ...], cwd: Path) -> tuple[float, float]:
    """Wall seconds of ``spark-submit.sh ARGS`` and seconds until it printed its first log line."""
    start = time.perf_counter()
    process = subprocess.Popen([SUBMIT, *args], cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    first_line, output = None, []
    for line in process.stdout:  # ends when the process does
        output.append(line)
        if first_line is None and " INFO custseg: " in line:
            first_line = time.perf_counter() - start
    if process.wait(timeout=900) != 0:
        raise RuntimeError(f"{' '.join(args)} failed:\n{''.join(output)[-3000:]}")
    return time.perf_counter() - start, first_line


def main() -> None:
    args = command_arguments(__doc__)
    with tempfile.TemporaryDirectory() as directory:
        workdir = Path(directory)
        run(("generate", "--rows", str(args.rows), "--output", "customers", "--format", "csv"), workdir)
        run(("train", *TRAIN), workdir)
        bundle = next((workdir / "warehouse" / "models").glob("2*"))
        day = dt.date(2026, 3, 2)
        seconds: dict[bool, list[tuple[float, float]]] = {False: [], True: []}
        for _ in range(args.rounds):
            for json_kept in (False, True):
                parameters, aside = bundle / PARAMETERS, workdir / PARAMETERS
                if not json_kept:
                    parameters.rename(aside)
                seconds[json_kept].append(run(("score", *SCORE, "--run-date", day.isoformat()), workdir))
                if not json_kept:
                    aside.rename(parameters)
                day += dt.timedelta(days=1)
    print(f"\n{os.cpu_count()} cores; score commands on {args.rows:,} generated customers, "
          f"median of {args.rounds} runs each, alternating\n")
    print("| feature parameters read from | wall s | to the first log line s | runs: wall (to the first log line) |")
    print("|---|---:|---:|---|")
    medians = {}
    for json_kept, way in WAYS.items():
        runs = seconds[json_kept]
        medians[json_kept] = [statistics.median(r[i] for r in runs) for i in (0, 1)]
        print(f"| {way} | {medians[json_kept][0]:.1f} | {medians[json_kept][1]:.1f} | "
              f"{', '.join(f'{wall:.1f} ({first:.1f})' for wall, first in runs)} |")
    wall, first = (medians[True][i] / medians[False][i] for i in (0, 1))
    print(f"\nJSON / Spark ML model: wall {wall:.2f}, to the first log line {first:.2f}")


if __name__ == "__main__":
    main()
