"""Passes over a run's segmented customers, by how their kept files are laid out and split.

    .venv/bin/python tests/benchmarks/kept_split.py WAREHOUSE [--repeats 3]

WAREHOUSE is the warehouse directory of a train run on generated customers (``scale.py`` makes
one). The customers its active model was trained on, joined to their ``customer_segments`` rows,
are written as the encode stage writes the segmented customers (one file per core) twice: in
Parquet's default row groups of 128 MB, as the jobs keep them, and in row groups of 16 MiB. Each
layout is then read with Spark's default of one split per core, as the jobs read them, and with
two per core (``spark.sql.files.minPartitionNum``), and the metrics and write stages' kinds of
pass run over it, alternating, ``--repeats`` times each: the segment profiles, the
``customer_segments`` rows to the no-op sink and a sum per segment. Prints each case's partitions
and median seconds.
"""

from __future__ import annotations

import shutil
import tempfile

from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F

from bench import local_session, pass_arguments, timed_actions, to_noop, trained_customers
from custseg.config import JobConfig
from custseg.outputs import customer_segments
from custseg.profiles import segment_profiles

MIN_FILE_SPLITS = "spark.sql.files.minPartitionNum"
ROW_GROUPS = {"128 MB row groups": None, "16 MiB row groups": 16 * 1024 * 1024}


def main() -> None:
    args = pass_arguments(__doc__, "warehouse")
    spark = local_session()
    cores = spark.sparkContext.defaultParallelism
    splits = {"one split per core": {}, "two per core": {MIN_FILE_SPLITS: str(2 * cores)}}
    directory = tempfile.mkdtemp(prefix="kept-split-")
    columns = ["segment", "latent", "distance", "reconstruction_error"]
    with trained_customers(spark, args.warehouse, columns) as (config, _, joined):
        paths = {}
        for layout, block in ROW_GROUPS.items():
            paths[layout] = f"{directory}/{len(paths)}"
            writer = joined.coalesce(cores).write
            (writer.option("parquet.block.size", block) if block else writer).parquet(paths[layout])
        rows = spark.read.parquet(*paths.values()).count() // len(paths)
        actions = {}
        for layout, path in paths.items():
            for split, settings in splits.items():
                name = f"{layout}, {split} ({_read(spark, path, settings).rdd.getNumPartitions()} partitions)"
                actions[name] = lambda path=path, settings=settings: _passes(_read(spark, path, settings), config, rows)
        timed_actions(actions, rows=rows, repeats=args.repeats, heading="segment profiles, customer_segments rows "
                      "and a sum per segment over the kept segmented customers")
    shutil.rmtree(directory)
    spark.stop()


def _read(spark: SparkSession, path: str, settings: dict[str, str]) -> DataFrame:
    """The kept files at ``path``, split as ``settings`` say (Spark's default without them)."""
    spark.conf.unset(MIN_FILE_SPLITS)
    for key, value in settings.items():
        spark.conf.set(key, value)
    return spark.read.parquet(path)


def _passes(kept: DataFrame, config: JobConfig, rows: int) -> None:
    """The metrics and write stages' kinds of pass: a profile, the table's rows, sums per segment."""
    columns = config.columns
    segment_profiles(kept, numeric_cols=columns.numeric, categorical_cols=columns.categorical,
                     median_fraction=min(1.0, config.metrics.median_rows / rows), seed=config.seed)
    to_noop(customer_segments(kept, columns))
    kept.groupBy("segment").agg(F.sum("distance"), F.sum("reconstruction_error")).collect()


if __name__ == "__main__":
    main()
