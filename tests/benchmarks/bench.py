"""What the benchmark scripts share: their arguments, generated customers read as the jobs read them,
an in-process local session and timed passes."""

from __future__ import annotations

import argparse
import dataclasses
import os
import statistics
import sys
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Callable, Iterator

from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F

from custseg.config import JobConfig, load_config
from custseg.frame_store import FrameStore
from custseg.model_store import SavedModel, load_model
from custseg.snapshot import Snapshot, effective_config, read_snapshot

CONFIG = Path(__file__).resolve().parents[2] / "conf" / "generated.yaml"


def pass_arguments(doc: str, source: str = "data") -> argparse.Namespace:
    """The command line of a script that times passes: one ``source`` path and ``--repeats`` (3)."""
    parser = argparse.ArgumentParser(description=doc.split("\n\n")[0])
    parser.add_argument(source)
    parser.add_argument("--repeats", type=int, default=3)
    return parser.parse_args()


def command_arguments(doc: str) -> argparse.Namespace:
    """The command line of a script that times commands on generated customers: ``--rounds`` (3), ``--rows`` (2,000)."""
    parser = argparse.ArgumentParser(description=doc.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--rows", type=int, default=2000)
    return parser.parse_args()


def generated_config(data: str) -> JobConfig:
    """The shipped config for generated customers, reading ``data`` (Parquet) as the jobs run it."""
    config = load_config(CONFIG)
    source = dataclasses.replace(config.input, path=data, format="parquet")
    return effective_config(dataclasses.replace(config, input=source))


@contextmanager
def generated_snapshot(spark: SparkSession, data: str) -> Iterator[tuple[JobConfig, Snapshot]]:
    """:func:`generated_config` and its snapshot as the jobs read and keep it, kept until the block ends."""
    config = generated_config(data)
    with FrameStore(spark, cache=config.spark.cache) as store:
        yield config, read_snapshot(spark, config, store)


@contextmanager
def trained_customers(spark: SparkSession, warehouse: str,
                      columns: list[str]) -> Iterator[tuple[JobConfig, SavedModel, DataFrame]]:
    """The customers that the active model of ``warehouse`` (a train run on generated customers) was
    trained on, read and kept as the jobs do until the block ends, joined to ``columns`` of their
    ``customer_segments`` rows."""
    model = load_model((Path(warehouse) / "models").resolve())
    with generated_snapshot(spark, model.manifest["input"]) as (config, snapshot):
        segments = spark.read.parquet(f"{warehouse}/custseg.db/customer_segments").where(
            F.col("run_date") == model.manifest["run_date"]).select("customer_id", *columns)
        yield config, model, snapshot.customers.join(segments, F.col(config.columns.id) == F.col("customer_id"))


def local_session(java_options: str = "") -> SparkSession:
    """A local SparkSession on every core, with the driver memory spark-submit.sh gives the jobs.

    ``java_options`` are added to the driver JVM's options, after those of spark-submit.sh.
    """
    # Python workers must use this interpreter, or they miss the virtualenv's pyarrow.
    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    spark = (SparkSession.builder.master("local[*]").config("spark.driver.memory", "4g")
             .config("spark.driver.extraJavaOptions", f"-XX:-DontCompileHugeMethods {java_options}".strip())
             .config("spark.ui.showConsoleProgress", "false").getOrCreate())
    spark.sparkContext.setLogLevel("ERROR")
    return spark


def timed_passes(passes: dict[str, Callable[[], DataFrame]], *, rows: int, repeats: int, heading: str) -> dict[str, float]:
    """Run each pass to Spark's no-op sink, alternating, ``repeats`` times; print a Markdown table of them.

    Returns the median seconds of each pass. ``heading`` (what the rows are) leads the printed table.
    """
    actions = {name: (lambda build=build: to_noop(build())) for name, build in passes.items()}
    return timed_actions(actions, rows=rows, repeats=repeats, heading=heading)


def to_noop(df: DataFrame) -> None:
    """Compute every row of ``df`` and discard it: Spark's no-op sink."""
    df.write.format("noop").mode("overwrite").save()


def timed_actions(actions: dict[str, Callable[[], None]], *, rows: int, repeats: int, heading: str) -> dict[str, float]:
    """Run each action, alternating, ``repeats`` times; print a Markdown table of their seconds.

    Each round starts with the next action: a fresh JVM's first run is its slowest (the JIT has
    compiled little yet), and that should not fall to the same action every time. Returns the median
    seconds of each action. ``heading`` (what the rows are) leads the printed table.
    """
    seconds: dict[str, list[float]] = {name: [] for name in actions}
    names = list(actions)
    for round_ in range(repeats):
        lead = round_ % len(names)
        for name in names[lead:] + names[:lead]:
            start = time.perf_counter()
            actions[name]()
            seconds[name].append(time.perf_counter() - start)
    medians = {name: statistics.median(values) for name, values in seconds.items()}
    print(f"\n{rows:,} rows, {heading}, {os.cpu_count()} cores, local[*], median of {repeats}\n")
    print("| pass | median s | runs s | rows/s |")
    print("|---|---:|---|---:|")
    for name, median in medians.items():
        runs = ", ".join(f"{s:.1f}" for s in seconds[name])
        print(f"| {name} | {median:.2f} | {runs} | {rows / median:,.0f} |")
    return medians
