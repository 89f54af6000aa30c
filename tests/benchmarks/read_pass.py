"""The read stage's checks: a snapshot read, typed, checked and its duplicate ids flagged.

    .venv/bin/python tests/benchmarks/read_pass.py DATA [--repeats 3]

DATA is a Parquet directory written by ``./spark-submit.sh generate``, read as the jobs read it
with the shipped config for generated customers. Alternating, ``--repeats`` times each, four passes
send every row to Spark's no-op sink: the rows as read (raw strings, the floor);
:func:`custseg.quarantine.flag_rows` as the jobs run it before they cache the rows in Spark's cache
(the duplicate-id check shuffles the rows by id); the same with each row's raw record left out,
which shows what carrying the raw values through that shuffle costs; and ``flag_rows`` as the jobs
run it before they keep the rows as files (``spark.cache: files``, the default): a job over the ids
first, and the shuffle only if an id repeats. Prints the median seconds of each. To compare two
versions of the checks, run it from each checkout in turn, with ``PYTHONPATH=CHECKOUT/lib`` in
front of the virtualenv's own custseg.
"""

from __future__ import annotations

from pyspark.sql import functions as F

from bench import generated_config, local_session, pass_arguments, timed_passes
from custseg import io, quarantine


def main() -> None:
    args = pass_arguments(__doc__)
    spark = local_session()
    config = generated_config(args.data)
    columns = config.columns

    def raw():
        return io.read_customers(spark, source=config.input, columns=columns)

    def without_record():
        rows = raw()
        return rows.withColumn(io.RECORD_COL, F.lit(None).cast(rows.schema[io.RECORD_COL].dataType))

    rows = raw().count()
    print(f"custseg from {quarantine.__file__}")
    timed_passes({
        "rows as read": raw,
        "flag_rows": lambda: quarantine.flag_rows(raw(), columns=columns),
        "flag_rows, raw record left out": lambda: quarantine.flag_rows(without_record(), columns=columns),
        "flag_rows, kept as files": lambda: quarantine.flag_rows(raw(), columns=columns, sized_partitions=False),
    }, rows=rows, repeats=args.repeats, heading="the read stage's checks")


if __name__ == "__main__":
    main()
