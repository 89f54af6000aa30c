"""Where the read snapshot is kept between passes: Spark's cache on disk, in memory and on disk, or Parquet files.

    .venv/bin/python tests/benchmarks/snapshot_store.py DATA [--repeats 3]

DATA is a Parquet directory written by ``./spark-submit.sh generate``, read as the jobs read it
with the shipped config for generated customers. Alternating, ``--repeats`` times each, the checked
rows of the read stage (:func:`custseg.quarantine.flag_rows`) are kept three ways: cached
``DISK_ONLY`` (the shipped ``spark.cache``), cached ``MEMORY_AND_DISK``, and written as Parquet
files beside DATA and read back. Each way is timed twice: filling the store together with the
read stage's counts (rows, rejected rows, unseen values), then one later pass over two columns of
the usable rows, as the metrics make. Prints the seconds of every run.
"""

from __future__ import annotations

import shutil
import time
from pathlib import Path
from typing import Callable

from pyspark import StorageLevel
from pyspark.sql import DataFrame
from pyspark.sql import functions as F

from bench import generated_config, local_session, pass_arguments, to_noop
from custseg import cleaning, io, quarantine


def main() -> None:
    args = pass_arguments(__doc__)
    spark = local_session()
    config = generated_config(args.data)
    files = str(Path(args.data).resolve().parent / "snapshot_store")

    def flagged() -> DataFrame:
        return quarantine.flag_rows(io.read_customers(spark, source=config.input, columns=config.columns),
                                    columns=config.columns)

    def cached(level: StorageLevel):
        def keep() -> tuple[DataFrame, Callable[[], None]]:
            kept = flagged().persist(level)
            return kept, lambda: kept.unpersist(blocking=True)
        return keep

    def parquet() -> tuple[DataFrame, Callable[[], None]]:
        flagged().write.mode("overwrite").parquet(files)
        return spark.read.parquet(files), lambda: shutil.rmtree(files)

    stores = {"cache, DISK_ONLY": cached(StorageLevel.DISK_ONLY),
              "cache, MEMORY_AND_DISK": cached(StorageLevel.MEMORY_AND_DISK), "Parquet files": parquet}
    print("| kept as | fill + counts s | later pass s | rows |")
    print("|---|---:|---:|---:|")
    for _ in range(args.repeats):
        for name, keep in stores.items():
            start = time.perf_counter()
            kept, release = keep()
            counts = kept.agg(F.count("*"), F.count(quarantine.REASON_CODE_COL), F.sum(cleaning.UNSEEN_COL)).first()
            filled = time.perf_counter() - start
            start = time.perf_counter()
            to_noop(quarantine.accepted_rows(kept).select(F.avg("Age"), F.count("Gender")))
            later = time.perf_counter() - start
            release()
            print(f"| {name} | {filled:.1f} | {later:.1f} | {counts[0]:,} |", flush=True)


if __name__ == "__main__":
    main()
