"""Reading customer snapshots and writing the job's tables: every read and write lives here."""

from __future__ import annotations

from pathlib import Path

from pyspark.sql import Column, DataFrame, SparkSession
from pyspark.sql import functions as F
from pyspark.sql.types import DoubleType, StringType, StructField, StructType

from custseg.config import ColumnsConfig, CsvOptions, InputConfig

RECORD_COL = "_record"
LINE_COL = "_line"
MALFORMED_COL = "_malformed"
POSITION_COL = "_position"
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


def check_files(source: InputConfig) -> None:
    """Raise :class:`InputError` unless a CSV or Parquet input exists and holds files.

    Needs no Spark: the command line calls it before a session starts, to fail in a second.
    """
    path = Path(source.path)
    if not path.exists():
        raise InputError(f"input path {source.path} does not exist; pass --input with a CSV or Parquet path")
    if path.is_dir() and not [p for p in path.iterdir() if not p.name.startswith((".", "_"))]:
        raise InputError(f"input {source.path} is empty; point --input at a snapshot with customers")


def read_customers(spark: SparkSession, *, source: InputConfig, columns: ColumnsConfig) -> DataFrame:
    """Read a snapshot as raw strings, one row per record, in the shape of :func:`raw_customers`.

    CSV lines whose number of fields differs from the header's are kept, flagged as malformed
    with the raw line as their record, so that they can be quarantined instead of half-parsed.
    """
    origin = source.path
    if source.format == "table":
        return raw_customers(spark.table(source.path), columns=columns, origin=origin)
    check_files(source)
    path = Path(source.path)
    if source.format == "parquet":
        return raw_customers(spark.read.parquet(str(path)), columns=columns, origin=origin)
    raw, corrupt = _read_csv(spark, str(path), source.csv)
    return raw_customers(raw, columns=columns, origin=origin, corrupt_col=corrupt)


def raw_customers(raw: DataFrame, *, columns: ColumnsConfig, origin: str,
                  corrupt_col: str | None = None) -> DataFrame:
    """The configured columns as untrimmed strings, plus the raw record, a malformed flag and the read position.

    Columns are matched by name, so their order does not matter and extra columns are ignored
    (but kept in the record). :data:`RECORD_COL` holds every column's value as a string, in the
    input's order, and :data:`LINE_COL` the raw line of a malformed CSV record (else null):
    :func:`record_text` turns them into the text the quarantine keeps. :data:`POSITION_COL`
    increases in read order (file order within a file) and decides which copy of a duplicated id wins.
    """
    names = [name for name in raw.columns if name != corrupt_col]
    required = [columns.id, *columns.inputs]
    missing = [name for name in required if name not in names]
    if missing:
        raise InputError(
            f"input {origin} has no column {', '.join(missing)}; it has {', '.join(names)}; "
            "fix the columns section of the config"
        )
    as_text = {name: _column(name).cast(StringType()).alias(name) for name in names}
    line = F.lit(None).cast(StringType())
    if corrupt_col is not None:
        line = _column(corrupt_col)
    label = []
    if columns.label:
        label = [as_text.get(columns.label, F.lit(None).cast(StringType()).alias(columns.label))]
    return raw.select(
        *[as_text[name] for name in required], *label, F.struct(*as_text.values()).alias(RECORD_COL),
        line.alias(LINE_COL), line.isNotNull().alias(MALFORMED_COL),
        F.monotonically_increasing_id().alias(POSITION_COL),
    )


def record_text() -> Column:
    """The raw record of a row of :func:`raw_customers` as text: its line if malformed, else its values as JSON.

    Kept for quarantined rows only: as JSON the record is the widest column of a snapshot.
    """
    return F.coalesce(F.col(LINE_COL), F.to_json(F.col(RECORD_COL)))


def _read_csv(spark: SparkSession, path: str, csv: CsvOptions) -> tuple[DataFrame, str]:
    options = dict(header=csv.header, sep=csv.delimiter, quote=csv.quote, escape=csv.escape,
                   encoding=csv.encoding, inferSchema=False)
    header = [name.lstrip(BOM) for name in spark.read.csv(path, **options).columns]
    if not header:
        raise InputError(f"input {path} is empty; point --input at a snapshot with customers")
    corrupt = "_corrupt_record"
    while corrupt in header:
        corrupt = "_" + corrupt
    # Every column is read as a string, by the header's names: types are applied after validation,
    # so nothing is coerced silently. Column pruning is off because with it Spark only checks the
    # fields a query selects and would let a line with too few or too many fields through.
    schema = StructType([StructField(name, StringType()) for name in [*header, corrupt]])
    raw = (spark.read.options(**options).option("columnPruning", False)
           .csv(path, schema=schema, mode="PERMISSIVE", columnNameOfCorruptRecord=corrupt))
    return raw, corrupt


def _column(name: str) -> Column:
    # Header names may hold dots or spaces; backticks keep them one column name.
    return F.col("`" + name.replace("`", "``") + "`")


def write_files(df: DataFrame, path: str, *, fmt: str) -> None:
    """Write a DataFrame as Parquet or CSV (with header) files, replacing what was at ``path``."""
    writer = df.write.mode("overwrite")
    if fmt == "csv":
        writer.option("header", True).csv(path)
    else:
        writer.parquet(path)
