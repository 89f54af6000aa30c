"""The read stage's job over the ids: seconds and the heap it takes, as shipped and counted where read.

    .venv/bin/python tests/benchmarks/ids_pass.py DATA [--repeats 3]

DATA is a Parquet directory written by ``./spark-submit.sh generate``, read as the jobs read it
with the shipped config for generated customers. Alternating, ``--repeats`` times each, the job
that asks whether any trimmed id repeats runs two ways: as
:func:`custseg.quarantine._repeated_ids` runs it, the ids shuffled into Spark's shuffle partitions
before they are counted, and as the read stage ran it before, counted where they were read and then
shuffled. Before each run the driver JVM collects its garbage and forgets the peaks of its
old-generation pool; after it, the script prints the seconds and that pool's peak use, which in
local mode holds what the tasks' hash maps kept. Prints a Markdown table of the runs.
"""

from __future__ import annotations

import time

from pyspark.sql import DataFrame
from pyspark.sql import functions as F

from bench import generated_config, local_session, pass_arguments
from custseg import cleaning, io, quarantine

MIB = 2**20


def counted_where_read(raw: DataFrame, id_col: str) -> DataFrame:
    """The repeated ids as the read stage found them before: grouped where they were read."""
    ids = raw.select(cleaning.text(F.col(id_col)).alias("id")).where(F.col("id").isNotNull())
    return ids.groupBy("id").count().where(F.col("count") > 1)


def main() -> None:
    args = pass_arguments(__doc__)
    spark = local_session()
    jvm = spark.sparkContext._jvm
    pools = [pool for pool in jvm.java.lang.management.ManagementFactory.getMemoryPoolMXBeans()
             if "Old Gen" in pool.getName()]
    config = generated_config(args.data)
    id_col = config.columns.id
    raw = io.read_customers(spark, source=config.input, columns=config.columns)
    ways = {
        "counted where read (before)": lambda: counted_where_read(raw, id_col),
        "shuffled into the shuffle partitions first (quarantine._repeated_ids)":
            lambda: quarantine._repeated_ids(raw, id_col=id_col),
    }
    names = list(ways)
    print("| way | run | s | repeats | old generation peak MiB |")
    print("|---|---:|---:|---|---:|")
    for round_ in range(args.repeats):
        lead = round_ % len(names)
        for name in names[lead:] + names[:lead]:
            jvm.java.lang.System.gc()
            for pool in pools:
                pool.resetPeakUsage()
            start = time.perf_counter()
            repeats = ways[name]().limit(1).count() > 0
            seconds = time.perf_counter() - start
            peak = max(pool.getPeakUsage().getUsed() for pool in pools) / MIB
            print(f"| {name} | {round_ + 1} | {seconds:.1f} | {repeats} | {peak:,.0f} |", flush=True)


if __name__ == "__main__":
    main()
