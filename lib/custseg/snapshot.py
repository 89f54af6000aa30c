"""The read stage that every job shares: a snapshot, read, checked and split into usable and rejected rows."""

from __future__ import annotations

import dataclasses
import logging
from dataclasses import dataclass

from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F

from custseg import cleaning, io, quarantine
from custseg.config import ConfigError, JobConfig
from custseg.generator import PLANTED_SEGMENT_COL, generate_customers
from custseg.frame_store import FrameStore

log = logging.getLogger("custseg")
_FIRST_ROWS = 10_000


@dataclass(frozen=True)
class Snapshot:
    """A read snapshot: typed usable rows, rejected rows, and the counts that must add up.

    ``customers`` and ``rejected`` come from one frame, kept by the run's
    :class:`~custseg.frame_store.FrameStore` until the run ends.
    """

    customers: DataFrame
    rejected: DataFrame
    rows_read: int
    rows_quarantined: int
    values_unseen: int

    @property
    def rows_usable(self) -> int:
        """Rows that are segmented: read and not quarantined."""
        return self.rows_read - self.rows_quarantined

    def check_accounting(self, rows_segmented: int) -> None:
        """Stop before anything is written unless rows read = rows segmented + rows quarantined."""
        if self.rows_read != rows_segmented + self.rows_quarantined:
            raise RuntimeError(f"{self.rows_read:,} rows read but {rows_segmented:,} segmented and "
                               f"{self.rows_quarantined:,} quarantined; nothing was written")


def effective_config(config: JobConfig) -> JobConfig:
    """``config`` as a job runs it: generated customers are evaluated against their planted segments."""
    if config.input.path is not None:
        return config
    return dataclasses.replace(config, columns=dataclasses.replace(config.columns, label=PLANTED_SEGMENT_COL))


def read_snapshot(spark: SparkSession, config: JobConfig, store: FrameStore, *, k: int | None = None) -> Snapshot:
    """Read the configured input, quarantine what cannot be used and check that enough is left.

    The checked rows are kept in ``store``, which every later pass reads.

    Raises :class:`custseg.io.InputError` for an empty input or one without usable rows, and
    :class:`custseg.config.ConfigError` when ``k`` is given and fewer distinct usable rows remain.
    """
    columns = config.columns
    # A cached block must fit the heap; a file of any size can be written and read in parts.
    checked = quarantine.flag_rows(_read(spark, config), columns=columns, sized_partitions=not store.writes_files)
    flagged = store.keep(checked, "snapshot")
    usable = F.col(quarantine.REASON_CODE_COL).isNull()
    counts = flagged.agg(F.count("*").alias("rows"), F.count(quarantine.REASON_CODE_COL).alias("bad"),
                         F.sum(F.when(usable, F.col(cleaning.UNSEEN_COL))).alias("unseen")).first()
    rows_read, rows_quarantined, values_unseen = counts["rows"], counts["bad"], int(counts["unseen"] or 0)
    _check_usable(rows_read, rows_quarantined, config)
    customers = quarantine.accepted_rows(flagged)
    if k is not None:
        _check_k(customers, config, k)
    return Snapshot(customers=customers, rejected=quarantine.rejected_rows(flagged), rows_read=rows_read,
                    rows_quarantined=rows_quarantined, values_unseen=values_unseen)


def _read(spark: SparkSession, config: JobConfig) -> DataFrame:
    if config.input.path is not None:
        return io.read_customers(spark, source=config.input, columns=config.columns)
    log.info("no input given: segmenting %s generated customers", f"{config.input.generated_rows:,}")
    generated = generate_customers(spark, rows=config.input.generated_rows, seed=config.seed)
    return io.raw_customers(generated, columns=config.columns, origin="generated customers")


def _check_usable(rows_read: int, rows_quarantined: int, config: JobConfig) -> None:
    source = config.input.path or "generated customers"
    if rows_read == 0:
        raise io.InputError(f"input {source} is empty; point --input at a snapshot with customers")
    if rows_read == rows_quarantined:
        raise io.InputError(f"input {source} has no usable rows (all {rows_read:,} quarantined); "
                            "check the columns section of the config against the data")


def _check_k(customers: DataFrame, config: JobConfig, k: int) -> None:
    # KMeans cannot find k segments among fewer distinct customers. The first rows nearly always
    # hold k distinct ones; only when they do not is the whole snapshot looked at.
    inputs = customers.select(*config.columns.inputs)
    if inputs.limit(_FIRST_ROWS).distinct().limit(k).count() == k:
        return
    distinct = inputs.distinct().limit(k).count()
    if distinct < k:
        raise ConfigError(f"clustering.k is {k} but the input has only {distinct} distinct usable rows; "
                          "lower clustering.k or use a larger snapshot")
