"""The read stage with the values trimmed as shipped and with btrim only where a blank can be.

    .venv/bin/python tests/benchmarks/trim_pass.py DATA [--repeats 3]

DATA is a Parquet directory written by ``./spark-submit.sh generate``, read with the shipped config
for generated customers. Alternating, ``--repeats`` times each, the read stage runs as the jobs run
it (:func:`custseg.snapshot.read_snapshot`: read, checked, typed, duplicate ids flagged, cached and
counted) with :func:`custseg.cleaning.text` as shipped, which gives every value to ``btrim``, and
with a rule that gives ``btrim`` only the values whose first or last character sorts before "!",
as every blank does. Prints the seconds of each run and their medians.
"""

from __future__ import annotations

import statistics
import time

from pyspark.sql import Column
from pyspark.sql import functions as F
from pyspark.sql.types import StringType

from bench import generated_snapshot, local_session, pass_arguments
from custseg import cleaning

SHIPPED = cleaning.text


def btrim_where_a_blank_can_be(column: Column) -> Column:
    """btrim only for a value whose first or last character sorts before "!"; any other has no blank to trim."""
    value = column.cast(StringType())
    may_have_blank = (value < "!") | (F.substring(value, -1, 1) < "!")
    trimmed = F.when(may_have_blank, F.btrim(value, F.lit(cleaning._BLANKS))).otherwise(value)
    return F.when(trimmed == "", None).otherwise(trimmed)


def main() -> None:
    args = pass_arguments(__doc__)
    spark = local_session()
    rules = {"btrim on every value (shipped)": SHIPPED, "btrim only where a blank can be": btrim_where_a_blank_can_be}
    seconds: dict[str, list[float]] = {name: [] for name in rules}
    for _ in range(args.repeats):
        for name, text in rules.items():
            cleaning.text = text
            start = time.perf_counter()
            with generated_snapshot(spark, args.data) as (_, snapshot):
                seconds[name].append(time.perf_counter() - start)
            print(f"{name}: {seconds[name][-1]:.1f} s, {snapshot.rows_read:,} rows", flush=True)
    print("\n| read stage, trimming | median s | runs s |\n|---|---:|---|")
    for name, runs in seconds.items():
        print(f"| {name} | {statistics.median(runs):.1f} | {', '.join(f'{s:.1f}' for s in runs)} |")


if __name__ == "__main__":
    main()
