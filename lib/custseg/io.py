"""Reading customer snapshots and writing the job's tables: every read and write lives here."""

from __future__ import annotations

from datetime import date
from pathlib import Path

from pyspark.sql import Column, DataFrame, SparkSession
from pyspark.sql import functions as F
from pyspark.sql.types import DoubleType, StringType, StructField, StructType

from custseg.config import ColumnsConfig, InputConfig

UNPARSED_COL = "unparsed_values"
BOM = "\ufeff"


class InputError(ValueError):
    """The input cannot be read as configured, phrased as one line that names the fix."""


def customer_schema(columns: ColumnsConfig) -> StructType:
    """The typed schema the job works with: ids and categories as strings, numerics as doubles."""
    fields = [StructField(columns.id, StringType())]
    fields += [StructField(name, DoubleType()) for name in columns.numeric]
    fields += [StructField(name, StringType()) for name in [*columns.ordinal, *columns.nominal]]
    if columns.label:
        fields.append(StructField(columns.label, StringType()))
    return StructType(fields)


def read_customers(spark: SparkSession, *, source: InputConfig, columns: ColumnsConfig) -> DataFrame:
    """Read a snapshot into :func:`customer_schema` plus a per-row count of unparsable values.

    Numbers are parsed with ``try_cast`` so that a value such as ``"abc"`` becomes null and is
    counted in :data:`UNPARSED_COL` instead of failing the job or vanishing unnoticed.
    Categories are trimmed; empty strings count as missing.
    """
    raw = _read_raw(spark, source)
    raw = raw.toDF(*[name.lstrip(BOM) for name in raw.columns])
    return typed_customers(raw, columns=columns, origin=source.path or "generated customers")


def typed_customers(raw: DataFrame, *, columns: ColumnsConfig, origin: str) -> DataFrame:
    """Cast raw columns (any types) to :func:`customer_schema`, counting numbers that fail to parse."""
    schema = customer_schema(columns)
    required = [f.name for f in schema.fields if f.name != columns.label]
    missing = [name for name in required if name not in raw.columns]
    if missing:
        raise InputError(
            f"input {origin} has no column {', '.join(missing)}; it has {', '.join(raw.columns)}; "
            "fix the columns section of the config"
        )
    label_present = bool(columns.label) and columns.label in raw.columns
    typed = [_as_string(raw[columns.id]).alias(columns.id)]
    typed += [_as_double(raw[name]).alias(name) for name in columns.numeric]
    typed += [_as_string(raw[name]).alias(name) for name in [*columns.ordinal, *columns.nominal]]
    if columns.label:
        label = _as_string(raw[columns.label]) if label_present else F.lit(None).cast(StringType())
        typed.append(label.alias(columns.label))
    unparsed = sum(
        (_failed_number(raw[name]) for name in columns.numeric), F.lit(0)
    ).alias(UNPARSED_COL)
    return raw.select(*typed, unparsed)


def _read_raw(spark: SparkSession, source: InputConfig) -> DataFrame:
    if source.format == "table":
        return spark.table(source.path)
    path = Path(source.path)
    if not path.exists():
        raise InputError(f"input path {source.path} does not exist; pass --input with a CSV or Parquet path")
    if source.format == "parquet":
        return spark.read.parquet(str(path))
    csv = source.csv
    # Every column is read as a string; types are applied by typed_customers so that nothing is
    # coerced silently and columns are matched by header name, not by position.
    return spark.read.csv(
        str(path), header=csv.header, sep=csv.delimiter, quote=csv.quote, escape=csv.escape,
        encoding=csv.encoding, inferSchema=False, mode="PERMISSIVE",
    )


def _as_string(column: Column) -> Column:
    text = F.trim(column.cast(StringType()))
    return F.when(text == "", None).otherwise(text)


def _as_double(column: Column) -> Column:
    return _as_string(column).try_cast(DoubleType())


def _failed_number(column: Column) -> Column:
    text = _as_string(column)
    return F.when(text.isNotNull() & _as_double(column).isNull(), 1).otherwise(0)


def write_files(df: DataFrame, path: str, *, fmt: str) -> None:
    """Write a DataFrame as Parquet or CSV (with header) files, replacing what was at ``path``."""
    writer = df.write.mode("overwrite")
    if fmt == "csv":
        writer.option("header", True).csv(path)
    else:
        writer.parquet(path)


def ensure_database(spark: SparkSession, database: str) -> None:
    """Create the job's database in the catalog if it does not exist yet."""
    spark.sql(f"CREATE DATABASE IF NOT EXISTS `{database}`")


def write_partition(df: DataFrame, table: str, *, run_date: date) -> None:
    """Write ``df`` as the ``run_date`` partition of ``table``, replacing that run date only.

    The first write creates a Parquet table partitioned by ``run_date``; later writes use
    dynamic partition overwrite (set on the session), so other run dates stay as they were.
    """
    spark = df.sparkSession
    if not spark.catalog.tableExists(table):
        df.write.format("parquet").partitionBy("run_date").saveAsTable(table)
        return
    existing = spark.table(table).columns
    if sorted(existing) != sorted(df.columns):
        raise InputError(
            f"table {table} has columns {', '.join(existing)} but this run writes {', '.join(df.columns)}; "
            "drop the table or write to another output.database"
        )
    df.select(*existing).write.insertInto(table, overwrite=True)
    if df.isEmpty():
        # Dynamic overwrite replaces only partitions that receive rows: clear an emptied run date.
        spark.sql(f"ALTER TABLE {table} DROP IF EXISTS PARTITION (run_date = DATE'{run_date.isoformat()}')")
