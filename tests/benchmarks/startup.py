"""What the driver's class archive saves: commands timed with and without it, side by side, in one run.

    .venv/bin/python tests/benchmarks/startup.py [--rounds 3] [--rows 2000]

Generates ``--rows`` customers as CSV in a temporary directory, then runs ``sql "SELECT 1"`` and a
short train run on them (3 epochs, one KMeans start) through ``spark-submit.sh``, each command
alternately with the class archive turned off (``CUSTSEG_CLASS_ARCHIVE=``) and on, ``--rounds``
times. Prints the median wall seconds of each and their ratio. Records the archive first if the
virtualenv has none yet.
"""

from __future__ import annotations

import os
import statistics
import subprocess
import tempfile
import time
from pathlib import Path

from bench import command_arguments

ROOT = Path(__file__).resolve().parents[2]
SUBMIT = str(ROOT / "spark-submit.sh")
TRAIN = ("train", "--conf", str(ROOT / "conf" / "customers.yaml"), "--input", "customers", "--run-date",
         "2026-03-01", "--set", "autoencoder.epochs=3", "--set", "clustering.n_init=1")
COMMANDS = {"sql SELECT 1": ("sql", "SELECT 1"), "train": TRAIN}


def run(args: tuple[str, ...], cwd: Path, archive: bool) -> float:
    env = {**os.environ} if archive else {**os.environ, "CUSTSEG_CLASS_ARCHIVE": ""}
    start = time.perf_counter()
    subprocess.run([SUBMIT, *args], cwd=cwd, env=env, check=True, capture_output=True, timeout=900)
    return time.perf_counter() - start


def main() -> None:
    args = command_arguments(__doc__)
    with tempfile.TemporaryDirectory() as directory:
        workdir = Path(directory)
        run(("generate", "--rows", str(args.rows), "--output", "customers", "--format", "csv"), workdir, archive=True)
        run(TRAIN, workdir, archive=True)  # records the archive where there is none yet
        seconds: dict[tuple[str, bool], list[float]] = {}
        for _ in range(args.rounds):
            for name, command in COMMANDS.items():
                for archive in (False, True):
                    seconds.setdefault((name, archive), []).append(run(command, workdir, archive))
    print(f"\n{os.cpu_count()} cores; median of {args.rounds} runs each, alternating; train on {args.rows:,} rows\n")
    print("| command | without the archive s | with it s | with / without | runs without | runs with |")
    print("|---|---:|---:|---:|---|---|")
    for name in COMMANDS:
        without, with_ = (statistics.median(seconds[name, archive]) for archive in (False, True))
        runs = [", ".join(f"{s:.1f}" for s in seconds[name, archive]) for archive in (False, True)]
        print(f"| {name} | {without:.1f} | {with_:.1f} | {with_ / without:.2f} | {runs[0]} | {runs[1]} |")


if __name__ == "__main__":
    main()
