"""Centroids fitted on a bounded sample against a fit on every row: do the segments match?

    .venv/bin/python tests/benchmarks/sample_fit.py SEGMENTS [--sample-rows 200000] [--seed 42]

SEGMENTS is the ``customer_segments`` directory of a train run (e.g.
``warehouse/custseg.db/customer_segments``); its ``latent`` vectors are clustered twice with the
job's own :func:`custseg.clustering.fit_segmentation` (k = 7, 20 iterations): once on every row and
once on a seeded sample, each then assigning every row. Prints the seconds of each, the agreement
of the two assignments (adjusted Rand index, share of rows in the same segment after matching the
segments) and the KMeans cost of each over every row.
"""

from __future__ import annotations

import argparse
import os
import time

from pyspark.sql import functions as F
from scipy.optimize import linear_sum_assignment

from bench import local_session
from custseg.clustering import assign_segments, fit_segmentation, with_latent_vector
from custseg.config import ClusteringConfig
from custseg.metrics import ari_from_contingency, contingency_table


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("segments")
    parser.add_argument("--sample-rows", type=int, default=200_000)
    parser.add_argument("--seed", type=int, default=42)
    args = parser.parse_args()
    spark = local_session()
    latent = with_latent_vector(spark.read.parquet(args.segments).select("customer_id", "latent")).cache()
    rows = latent.count()
    fits = {}
    for name, sample_rows in (("full", rows), ("sample", args.sample_rows)):
        start = time.perf_counter()
        segmentation = fit_segmentation(latent, settings=ClusteringConfig(k=7, sample_rows=sample_rows),
                                        seed=args.seed, rows=rows)
        assigned = assign_segments(latent, segmentation).select("customer_id", "segment", "distance").cache()
        cost = assigned.agg(F.sum(F.col("distance") ** 2)).first()[0]
        fits[name] = (assigned.withColumnRenamed("segment", name), time.perf_counter() - start, cost)
    (full, full_s, full_cost), (sampled, sampled_s, sampled_cost) = fits.values()
    both = full.join(sampled.drop("distance"), "customer_id")
    _, _, table = contingency_table(both, label_col="sample", segment_col="full")
    matched = table[linear_sum_assignment(-table)].sum() / table.sum()
    print(f"\n{rows:,} latent vectors, {os.cpu_count()} cores, local[*], KMeans k = 7, seed {args.seed}\n")
    print(f"| fit on (sample: {min(args.sample_rows, rows):,} rows) | fit + assign s | cost over every row |")
    print("|---|---:|---:|")
    for name, (_, seconds, cost) in fits.items():
        print(f"| {name} | {seconds:.1f} | {cost:,.0f} |")
    print(f"\nARI between the two assignments: {ari_from_contingency(table):.4f}; rows in the matched segment: "
          f"{matched:.4f}; cost of the sample fit / full fit: {sampled_cost / full_cost:.4f}")
    spark.stop()


if __name__ == "__main__":
    main()
