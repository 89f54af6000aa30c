"""The job's tables in the catalog: a run's partitions are staged first and swapped in together.

Every table is partitioned by ``run_date``. A run writes each partition's files into a new
directory of its own (``<table>/run_date=<date>/run=<run id>``) that no partition points at
yet, so queries cannot see them. Only when every table is staged does :meth:`RunCommit.commit`
point each table's run-date partition at its new directory: one metastore update per table,
``run_metrics`` last. A run that fails or is killed before that leaves every table as it was;
re-running a run date replaces exactly that run date.

Tables are created with an explicit location (so the catalog lists them as EXTERNAL): the
staged files already live where the table goes. Dropping a table therefore keeps its files.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import date

from pyspark.sql import DataFrame, SparkSession
from pyspark.sql.types import StructType

log = logging.getLogger("custseg")

RUN_DATE_COL = "run_date"
RUN_DIR_PREFIX = "run="


class TableShapeError(ValueError):
    """An existing table has other columns than the run writes, phrased as one line with the fix."""


@dataclass(frozen=True)
class _Staged:
    table: str
    columns: str
    table_location: str
    location: str


class RunCommit:
    """Stage the partitions of one run's tables, then commit them all or none.

    Parameters
    ----------
    spark : the job's session.
    database : the output database; created at commit if it does not exist.
    run_date : the partition every table of the run is written to.
    run_id : unique per run (the model version); names the staged directories.
    """

    def __init__(self, spark: SparkSession, *, database: str, run_date: date, run_id: str) -> None:
        self._spark = spark
        self._database = database
        self._run_date = run_date
        self._run_id = run_id
        self._staged: list[_Staged] = []
        self._database_location: str | None = None

    def stage(self, name: str, df: DataFrame) -> None:
        """Write ``df`` (with a ``run_date`` column) as the files of table ``name``'s partition, unseen."""
        data = df.drop(RUN_DATE_COL)
        _check_shape(self._spark, self._database, name, data)
        if self._database_location is None:
            self._database_location = _database_location(self._spark, self._database)
        table_location = f"{self._database_location}/{name}"
        location = f"{table_location}/{self._partition_dir()}/{RUN_DIR_PREFIX}{self._run_id}"
        data.write.mode("overwrite").parquet(location)
        self._staged.append(_Staged(table=f"{_quoted(self._database)}.{_quoted(name)}", columns=_columns(data),
                                    table_location=table_location, location=location))
        log.info("staged %s.%s for run date %s", self._database, name, self._run_date)

    @property
    def tables(self) -> tuple[str, ...]:
        """The staged tables, as ``database.table``, in staging order."""
        return tuple(staged.table.replace("`", "") for staged in self._staged)

    def commit(self) -> None:
        """Swap every staged partition in, in staging order, then delete the files they replaced."""
        _ensure_database(self._spark, self._database)
        day = f"DATE'{self._run_date.isoformat()}'"
        for staged in self._staged:
            self._spark.sql(
                f"CREATE TABLE IF NOT EXISTS {staged.table} ({staged.columns}, {RUN_DATE_COL} date) "
                f"USING parquet PARTITIONED BY ({RUN_DATE_COL}) LOCATION {_literal(staged.table_location)}"
            )
            if self._has_partition(staged.table):
                self._spark.sql(f"ALTER TABLE {staged.table} PARTITION ({RUN_DATE_COL} = {day}) "
                                f"SET LOCATION {_literal(staged.location)}")
            else:
                self._spark.sql(f"ALTER TABLE {staged.table} ADD PARTITION ({RUN_DATE_COL} = {day}) "
                                f"LOCATION {_literal(staged.location)}")
        for staged in self._staged:
            _delete_other_runs(self._spark, staged.location)

    def _partition_dir(self) -> str:
        return f"{RUN_DATE_COL}={self._run_date.isoformat()}"

    def _has_partition(self, table: str) -> bool:
        # Only this run date's partition is listed: a table keeps years of run dates.
        day = f"DATE'{self._run_date.isoformat()}'"
        return bool(self._spark.sql(f"SHOW PARTITIONS {table} PARTITION ({RUN_DATE_COL} = {day})").collect())


def replace_table(spark: SparkSession, *, database: str, name: str, df: DataFrame, run_id: str) -> None:
    """Replace the whole of an unpartitioned table: its files staged unseen, then one location swap.

    For the small tables the job rewrites whole (``model_versions``), with the guarantee of
    :class:`RunCommit`: readers see the old or the new table, never a mix.
    """
    _check_shape(spark, database, name, df)
    location = f"{_database_location(spark, database)}/{name}/{RUN_DIR_PREFIX}{run_id}"
    df.write.mode("overwrite").parquet(location)
    _ensure_database(spark, database)
    table = f"{_quoted(database)}.{_quoted(name)}"
    if spark.catalog.tableExists(table):
        spark.sql(f"ALTER TABLE {table} SET LOCATION {_literal(location)}")
    else:
        spark.sql(f"CREATE TABLE {table} ({_columns(df)}) USING parquet LOCATION {_literal(location)}")
    _delete_other_runs(spark, location)
    log.info("replaced %s.%s", database, name)


def _ensure_database(spark: SparkSession, database: str) -> None:
    # Asked to create a database that exists, the Hive metastore logs an ERROR with a stack trace.
    if not spark.catalog.databaseExists(database):
        spark.sql(f"CREATE DATABASE {_quoted(database)}")


def _check_shape(spark: SparkSession, database: str, name: str, data: DataFrame) -> None:
    table = f"{_quoted(database)}.{_quoted(name)}"
    if not spark.catalog.tableExists(table):
        return
    existing = spark.table(table).drop(RUN_DATE_COL).schema
    if _types(existing) != _types(data.schema):
        raise TableShapeError(
            f"table {database}.{name} has columns {', '.join(existing.fieldNames())} but this run writes "
            f"{', '.join(data.columns)}; drop the table or write to another output.database"
        )


def _database_location(spark: SparkSession, database: str) -> str:
    if spark.catalog.databaseExists(database):
        location = spark.catalog.getDatabase(database).locationUri
    else:
        location = f"{spark.conf.get('spark.sql.warehouse.dir')}/{database}.db"
    return location.rstrip("/")


def _delete_other_runs(spark: SparkSession, location: str) -> None:
    # Replaced files, and files staged by runs that never committed.
    jvm = spark.sparkContext._jvm
    keep = jvm.org.apache.hadoop.fs.Path(location)
    filesystem = keep.getFileSystem(spark.sparkContext._jsc.hadoopConfiguration())
    for status in filesystem.listStatus(keep.getParent()):
        path = status.getPath()
        if path.getName().startswith(RUN_DIR_PREFIX) and path.getName() != keep.getName():
            filesystem.delete(path, True)


def _columns(data: DataFrame) -> str:
    return ", ".join(f"{_quoted(f.name)} {f.dataType.simpleString()}" for f in data.schema.fields)


def _types(schema: StructType) -> dict[str, str]:
    return {field.name: field.dataType.simpleString() for field in schema.fields}


def _literal(text: str) -> str:
    return "'" + text.replace("\\", "\\\\").replace("'", "\\'") + "'"


def _quoted(name: str) -> str:
    return "`" + name.replace("`", "``") + "`"
