"""Rows that cannot be segmented: set aside with a reason, never dropped silently.

A row gets at most one reason, the first that applies in :data:`REASON_CODES` order, so that
rows read = rows segmented + rows quarantined counts rows, not problems. The order goes from
"the record cannot be read" to "the record is fine but repeats an earlier one".
"""

from __future__ import annotations

from pyspark.sql import Column, DataFrame, Window
from pyspark.sql import functions as F

from custseg import cleaning
from custseg.config import ColumnsConfig
from custseg.io import LINE_COL, MALFORMED_COL, POSITION_COL, RECORD_COL, record_text

QUARANTINE_COLUMNS = ("record", "reason_code", "reason")
REASON_CODE_COL = "reason_code"
REASON_COL = "reason"
REASON_CODES = ("malformed_record", "missing_id", "unparseable_number", "out_of_range", "duplicate_id")


def split_rejected(raw: DataFrame, *, columns: ColumnsConfig) -> tuple[DataFrame, DataFrame]:
    """Split a raw snapshot (:func:`custseg.io.raw_customers`) into typed customers and rejected rows.

    Returns
    -------
    (accepted, rejected): ``accepted`` as :func:`custseg.cleaning.typed_customers`; ``rejected``
    with ``record`` (raw line or JSON of the raw values), ``reason_code`` and ``reason``.
    """
    flagged = flag_rows(raw, columns=columns)
    return accepted_rows(flagged), rejected_rows(flagged)


def flag_rows(raw: DataFrame, *, columns: ColumnsConfig, sized_partitions: bool = True) -> DataFrame:
    """Every row typed (:func:`custseg.cleaning.typed_customers`), with its first problem and record.

    :data:`REASON_CODE_COL`, :data:`REASON_COL` and the record text (:data:`RECORD_COL`) are null
    for a usable row. Typing every row here, once, lets a cached result serve every later pass
    without parsing the text again.

    The duplicate-id check shuffles every row by its id, into partitions of Spark's advisory size,
    which an in-memory cache needs. With ``sized_partitions`` false (rows kept as files, which any
    partition size suits), a job over the input's ids runs first, and when no id repeats the rows
    keep the input's partitions and skip the shuffle.
    """
    checks = _checks(columns)
    code = F.coalesce(*[F.when(failed, F.lit(code)) for failed, code, _ in checks])
    reason = F.coalesce(*[F.when(failed, text) for failed, _, text in checks])
    texts = cleaning.as_text(raw, [columns.id, *columns.inputs, *([columns.label] if columns.label else [])])
    checked = cleaning.parse_values(texts, columns).withColumns({REASON_CODE_COL: code, REASON_COL: reason})
    # Typed before the duplicate check's shuffle, which then moves each value once, not its text and
    # its parsed value both: 0.94 times the time for 10M customers (read_pass.py, RESULTS.md).
    typed = cleaning.typed_customers(checked, columns=columns,
                                     keep=(RECORD_COL, LINE_COL, POSITION_COL, REASON_CODE_COL, REASON_COL))
    flagged = typed
    if sized_partitions or _has_repeated_ids(raw, id_col=columns.id):
        flagged = _flag_duplicates(typed, id_col=columns.id)
    # The record as text only where a row is rejected: a usable row's would be cached for nothing.
    record = F.when(F.col(REASON_CODE_COL).isNotNull(), record_text())
    return flagged.withColumn(RECORD_COL, record).drop(LINE_COL, POSITION_COL)


def accepted_rows(flagged: DataFrame) -> DataFrame:
    """The usable rows of :func:`flag_rows`, typed."""
    return flagged.where(F.col(REASON_CODE_COL).isNull()).drop(RECORD_COL, REASON_CODE_COL, REASON_COL)


def rejected_rows(flagged: DataFrame) -> DataFrame:
    """The rejected rows of :func:`flag_rows` in the quarantine table's shape."""
    return flagged.where(F.col(REASON_CODE_COL).isNotNull()).select(
        F.col(RECORD_COL).alias("record"), REASON_CODE_COL, REASON_COL
    )


def _checks(columns: ColumnsConfig) -> list[tuple[Column, str, Column]]:
    """(failed, code, reason) per check, in the order that decides a row's one reason."""
    checks = [
        # Fields of a line that does not match the header cannot be trusted to be in their columns.
        (F.col(MALFORMED_COL), "malformed_record", F.lit("the line has a different number of fields than the header")),
        # A customer without an id cannot be joined back to anything the business holds.
        (F.col(columns.id).isNull(), "missing_id", F.lit(f"the id column {columns.id} is empty")),
    ]
    for name in columns.numeric:
        checks.append((cleaning.unparseable(name), "unparseable_number",
                       F.concat(F.lit(f"{name} '"), F.col(name), F.lit("' is not a number"))))
    for name, bounds in columns.ranges.items():
        allowed = f"[{bounds[0]:g}, {bounds[1]:g}]"
        checks.append((cleaning.outside(name, bounds), "out_of_range",
                       F.concat(F.lit(f"{name} "), F.col(name),
                                F.lit(f" is outside {allowed} (columns.ranges.{name})"))))
    return checks


def _has_repeated_ids(raw: DataFrame, *, id_col: str) -> bool:
    """Whether an id appears more than once in ``raw``, trimmed as the checks trim it.

    Only the ids move through this job's shuffle. It reads the snapshot a second time: an id that
    a writer adds to the snapshot between the two reads is not seen as repeated.
    """
    return _repeated_ids(raw, id_col=id_col).limit(1).count() > 0


def _repeated_ids(raw: DataFrame, *, id_col: str) -> DataFrame:
    """The ids that appear more than once in ``raw``, trimmed, with their counts.

    The ids are shuffled into Spark's shuffle partitions before they are counted. Counted where
    they were read, each task's hash map held every id it had read, nearly all of them distinct:
    1.8 to 1.9 GB of the heap for 10M customers on 2 cores, against 0.3 to 0.4 GB with the
    shuffle first, in 0.7 to 0.8 times the time (RESULTS.md).
    """
    ids = raw.select(cleaning.text(F.col(id_col)).alias("id")).where(F.col("id").isNotNull())
    partitions = int(raw.sparkSession.conf.get("spark.sql.shuffle.partitions"))
    return ids.repartition(partitions, "id").groupBy("id").count().where(F.col("count") > 1)


def _flag_duplicates(flagged: DataFrame, *, id_col: str) -> DataFrame:
    # The first usable copy in read order wins: a broken first copy does not block a good later one.
    usable = F.col(REASON_CODE_COL).isNull()
    key = F.col(id_col)
    # Copies of an id must meet in one partition. Without a partition count, adaptive execution
    # sizes the partitions by the shuffled bytes: at most spark.sql.adaptive.advisoryPartitionSizeInBytes
    # (64 MB), at least one per core. The input's splits can hold millions of rows each, which
    # cached as single blocks are too large for the heap.
    clustered = flagged.repartition(key)
    order = Window.partitionBy(key, usable).orderBy(POSITION_COL)
    repeat = usable & (F.row_number().over(order) > 1)
    reason = F.concat(F.lit("id "), key, F.lit(" appears earlier in the input; its first usable copy is segmented"))
    return clustered.withColumns({
        REASON_CODE_COL: F.when(repeat, F.lit("duplicate_id")).otherwise(F.col(REASON_CODE_COL)),
        REASON_COL: F.when(repeat, reason).otherwise(F.col(REASON_COL)),
    })
