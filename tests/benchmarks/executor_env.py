"""Packing the executors' Python environment two ways, side by side: seconds to pack, to unpack, and bytes.

    .venv/bin/python tests/benchmarks/executor_env.py [--rounds 2]

The executors' packages (numpy, pandas, pyarrow at the virtualenv's versions) go into a new
virtualenv that venv-pack archives, as ``spark-submit.sh`` does on a cluster submission's first
use; every executor unpacks the archive once per application. The two recipes:

- ``own pip, level 4``: the virtualenv gets its own pip, which installs the packages; venv-pack's
  default compression.
- ``driver's pip, level 1``: the virtualenv has no pip; the driver's pip installs into it
  (``pip --python``); light compression. This is what ``spark-submit.sh`` ships.

Alternates the two ``--rounds`` times and prints each run, then the median of each.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from importlib.metadata import version
from pathlib import Path

PACKAGES = ("numpy", "pandas", "pyarrow")
QUIET = ("--quiet", "--disable-pip-version-check")


def own_pip(venv: Path, pins: list[str], archive: Path) -> list[list[str]]:
    return [[sys.executable, "-m", "venv", str(venv)],
            [str(venv / "bin" / "python"), "-m", "pip", "install", *QUIET, *pins, "venv-pack"],
            [str(venv / "bin" / "venv-pack"), "--prefix", str(venv), "--output", str(archive), "--force", "--quiet"]]


def drivers_pip(venv: Path, pins: list[str], archive: Path) -> list[list[str]]:
    return [[sys.executable, "-m", "venv", "--without-pip", str(venv)],
            [sys.executable, "-m", "pip", "--python", str(venv / "bin" / "python"), "install", *QUIET, *pins,
             "venv-pack"],
            [str(venv / "bin" / "venv-pack"), "--prefix", str(venv), "--output", str(archive), "--compress-level",
             "1", "--force", "--quiet"]]


RECIPES = {"own pip, level 4": own_pip, "driver's pip, level 1": drivers_pip}


def timed(commands: list[list[str]]) -> float:
    start = time.perf_counter()
    for command in commands:
        subprocess.run(command, check=True, stdout=subprocess.DEVNULL)
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=2)
    args = parser.parse_args()
    pins = [f"{name}=={version(name)}" for name in PACKAGES]
    runs: dict[str, list[tuple[float, float, int]]] = {name: [] for name in RECIPES}
    for round_ in range(1, args.rounds + 1):
        for name, recipe in RECIPES.items():
            with tempfile.TemporaryDirectory() as work:
                venv, archive, unpacked = Path(work, "venv"), Path(work, "env.tar.gz"), Path(work, "unpacked")
                packed = timed(recipe(venv, pins, archive))
                unpacked.mkdir()
                unpack = timed([["tar", "-xzf", str(archive), "-C", str(unpacked)]])
                runs[name].append((packed, unpack, archive.stat().st_size))
                print(f"round {round_} {name}: pack {packed:.1f} s, unpack {unpack:.1f} s, "
                      f"{archive.stat().st_size / 2**20:.0f} MiB", flush=True)
    print("| recipe | pack s (median) | unpack s (median) | archive MiB |")
    print("|---|---:|---:|---:|")
    for name, measured in runs.items():
        pack, unpack, size = (statistics.median(column) for column in zip(*measured))
        print(f"| {name} | {pack:.1f} | {unpack:.1f} | {size / 2**20:.0f} |")


if __name__ == "__main__":
    main()
