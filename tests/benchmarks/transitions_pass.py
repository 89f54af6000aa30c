"""The segment transitions between two run dates: grouped by customer id against a full outer join on it.

    .venv/bin/python tests/benchmarks/transitions_pass.py WAREHOUSE [--repeats 3]

WAREHOUSE is the warehouse directory of the jobs' runs (``scale.py`` makes one; its
``rows-N/jobs/warehouse``), with at least two run dates in ``customer_segments``. The latest two
are read from the table's files. Alternating, ``--repeats`` times each, their transitions are
counted: by :func:`custseg.transitions.segment_transitions`, which groups both run dates'
customers by id in a partition per ``ROWS_PER_PARTITION`` of them, and by the full outer join on
the id that it replaced, its sides in as many partitions (Spark ran the join in
``spark.sql.shuffle.partitions`` when that was higher). Checks that both count the same, then
prints the median seconds of each and their ratio.
"""

from __future__ import annotations

import math

from pyspark.sql import DataFrame
from pyspark.sql import functions as F

from bench import local_session, pass_arguments, timed_actions
from custseg.transitions import ROWS_PER_PARTITION, PreviousRun, segment_transitions


def main() -> None:
    args = pass_arguments(__doc__, "warehouse")
    spark = local_session()
    table = spark.read.parquet(f"{args.warehouse}/custseg.db/customer_segments")
    latest, previous_day = [row[0] for row in table.select("run_date").distinct().orderBy(F.desc("run_date")).take(2)]
    current = table.where(F.col("run_date") == latest).select("customer_id", "segment")
    previous = PreviousRun(run_date=previous_day,
                           segments=table.where(F.col("run_date") == previous_day).select("customer_id", "segment"))
    rows = current.count()
    ways = {
        "full outer join (before)": lambda: _joined(current, previous.segments, rows),
        "grouped by id (segment_transitions)": lambda: segment_transitions(current, previous, rows=rows)
        .drop("previous_run_date"),
    }
    counts = {}
    actions = {name: (lambda name=name, build=build: counts.__setitem__(name, sorted(map(tuple, build().collect()))))
               for name, build in ways.items()}
    medians = timed_actions(actions, rows=rows, repeats=args.repeats,
                            heading=f"the segment transitions from {previous_day} to {latest}")
    joined, grouped = counts.values()
    assert joined == grouped
    before, after = medians.values()
    print(f"\ngrouped / joined = {after / before:.2f}")
    spark.stop()


def _joined(current: DataFrame, previous: DataFrame, rows: int) -> DataFrame:
    """The transitions as a full outer join of the two run dates on the id, as counted before."""
    partitions = math.ceil(rows / ROWS_PER_PARTITION)
    before = previous.select("customer_id", F.col("segment").alias("from_segment")).repartition(partitions, "customer_id")
    now = current.select("customer_id", F.col("segment").alias("to_segment")).repartition(partitions, "customer_id")
    moves = before.join(now, "customer_id", "full_outer")
    return moves.groupBy("from_segment", "to_segment").agg(F.count("*").alias("customers"))


if __name__ == "__main__":
    main()
