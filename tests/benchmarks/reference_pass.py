"""The passes of a train run's drift reference: its quantiles over every customer or over a sample.

    .venv/bin/python tests/benchmarks/reference_pass.py DATA [--repeats 3]

DATA is a Parquet directory written by ``./spark-submit.sh generate``, read and kept as the jobs
keep it with the shipped config for generated customers. Alternating, ``--repeats`` times each, the
numeric columns' 1,001 quantiles and means are found two ways: as the train run found them before,
the quantiles over every customer and the means in a pass of their own; and as
:func:`custseg.drift.reference_profile` finds them, the quantiles over a seeded sample of about
``drift.reference_rows`` customers, the means with the segment profiles' pass (which adds a count
per numeric column to it, not timed here). Prints the median seconds of each, then how many grid
points of each column both ways share.
"""

from __future__ import annotations

from pyspark.sql import functions as F

from bench import generated_snapshot, local_session, pass_arguments, timed_actions
from custseg.sampling import expected_sample

QUANTILES = [i / 1000 for i in range(1001)]


def main() -> None:
    args = pass_arguments(__doc__)
    spark = local_session()
    with generated_snapshot(spark, args.data) as (config, snapshot):
        customers, numeric = snapshot.customers, list(config.columns.numeric)
        sampled = expected_sample(customers, rows=snapshot.rows_usable, expected=config.drift.reference_rows,
                                  seed=config.seed)
        grids = {}

        def every_customer():
            grids["every customer"] = customers.approxQuantile(numeric, QUANTILES, 0.001)
            customers.agg(*[F.avg(name) for name in numeric]).first()

        def sample():
            grids["sample"] = sampled.approxQuantile(numeric, QUANTILES, 0.001)

        timed_actions({
            "quantiles and means over every customer (before)": every_customer,
            f"quantiles over a sample of about {config.drift.reference_rows:,} (drift.reference_profile)": sample,
        }, rows=snapshot.rows_usable, repeats=args.repeats, heading="a train run's drift reference, kept as files")
    print("\n| column | grid points, every customer | grid points, sample | shared |")
    print("|---|---:|---:|---:|")
    for name, everyone, some in zip(numeric, grids["every customer"], grids["sample"]):
        print(f"| {name} | {len(set(everyone))} | {len(set(some))} | {len(set(everyone) & set(some))} |")


if __name__ == "__main__":
    main()
