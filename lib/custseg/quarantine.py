"""Rows that cannot be segmented: set aside with a reason, never dropped silently."""

from __future__ import annotations

from pyspark.sql import Column, DataFrame
from pyspark.sql import functions as F

from custseg.config import ColumnsConfig

QUARANTINE_COLUMNS = ("record", "reason_code", "reason")


def split_rejected(df: DataFrame, *, columns: ColumnsConfig) -> tuple[DataFrame, DataFrame]:
    """Split typed customers into the rows to segment and the rejected rows.

    Returns
    -------
    (accepted, rejected): ``accepted`` has the columns of ``df``; ``rejected`` has ``record``
    (the row as JSON), ``reason_code`` and ``reason`` (a sentence naming the column).
    """
    code, reason = _rejection(columns)
    flagged = df.withColumns({"__reason_code": code, "__reason": reason})
    accepted = flagged.where(F.col("__reason_code").isNull()).drop("__reason_code", "__reason")
    rejected = flagged.where(F.col("__reason_code").isNotNull()).select(
        F.to_json(F.struct(*[F.col(c) for c in df.columns])).alias("record"),
        F.col("__reason_code").alias("reason_code"),
        F.col("__reason").alias("reason"),
    )
    return accepted, rejected


def _rejection(columns: ColumnsConfig) -> tuple[Column, Column]:
    # A customer without an id cannot be joined back to anything the business holds.
    missing_id = F.col(columns.id).isNull()
    return (
        F.when(missing_id, F.lit("missing_id")),
        F.when(missing_id, F.lit(f"the id column {columns.id} is empty")),
    )
