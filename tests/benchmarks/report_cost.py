"""What the run report's PCA and t-SNE maps cost for each ``report.sample_rows``: the part that grows with it.

    .venv/bin/python tests/benchmarks/report_cost.py [--sample-rows 1000 500 300]

Runs the report's own :func:`custseg.report.projections` (perplexity 30, one thread) on seeded
latent vectors of 8 dimensions in 7 groups and prints its CPU seconds and wall seconds per sample
size. CPU seconds are what to compare on a shared machine: other processes stretch the wall time,
not the CPU time. The rest of the report (a few small table reads and plots) does not grow with
the sample.
"""

from __future__ import annotations

import argparse
import os
import time

import numpy as np

from custseg.report import projections


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sample-rows", type=int, nargs="+", default=[1000, 500, 300])
    args = parser.parse_args()
    rng = np.random.default_rng(0)
    projections(rng.normal(size=(40, 8)), perplexity=30, seed=0)  # imports scikit-learn outside the timings
    print(f"\n{os.cpu_count()} cores; latent vectors of 8 dimensions in 7 groups, perplexity 30\n")
    print("| report.sample_rows | PCA + t-SNE CPU s | wall s |")
    print("|---:|---:|---:|")
    for rows in args.sample_rows:
        groups = rng.integers(0, 7, size=rows)
        latent = rng.normal(size=(rows, 8)) + groups[:, None] * 1.5
        cpu, wall = time.process_time(), time.perf_counter()
        projections(latent, perplexity=30, seed=42)
        print(f"| {rows:,} | {time.process_time() - cpu:.1f} | {time.perf_counter() - wall:.1f} |", flush=True)


if __name__ == "__main__":
    main()
