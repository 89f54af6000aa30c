"""Where a job keeps the customers it reads many times: Parquet files of the run's own, or Spark's cache.

``spark.cache: files`` (the default) writes each kept frame once, as Parquet files in a directory
of the run's own under the warehouse (``<warehouse>/_custseg_scratch/<run id>/<name>``), and
reads them back. A later pass then reads only the columns it needs, where a cached batch is read
whole; for 10M customers on 2 cores the files were also filled sooner (``snapshot_store.py``,
RESULTS.md). The warehouse is where every executor already writes the tables, so on a cluster
the files are shared the way the tables are. ``disk`` and ``memory_and_disk`` persist the frame
at that storage level instead.

A run's directory is removed when the run ends, failed or not. One that a killed run left
behind is removed by the first run that starts a day or more after it; a younger one may belong
to a run still going.
"""

from __future__ import annotations

import logging
import time
import uuid
from types import TracebackType

from pyspark import StorageLevel
from pyspark.sql import DataFrame, SparkSession

from custseg.model_store import new_version

log = logging.getLogger("custseg")

SCRATCH_DIR = "_custseg_scratch"
CACHE_LEVELS = {"disk": StorageLevel.DISK_ONLY, "memory_and_disk": StorageLevel.MEMORY_AND_DISK}
_STALE_MILLIS = 24 * 3600 * 1000


class FrameStore:
    """The frames one run keeps; use as a context manager, which releases them all on the way out.

    Parameters
    ----------
    spark : the job's session; its ``spark.sql.warehouse.dir`` holds the files.
    cache : ``spark.cache`` of the job's config: ``files``, ``disk`` or ``memory_and_disk``.
    """

    def __init__(self, spark: SparkSession, *, cache: str) -> None:
        self._spark = spark
        self._level = CACHE_LEVELS.get(cache)
        self._cached: list[DataFrame] = []
        self._scratch = f"{spark.conf.get('spark.sql.warehouse.dir').rstrip('/')}/{SCRATCH_DIR}"
        # Unique even for runs started in the same second.
        self._run_dir = f"{self._scratch}/{new_version()}-{uuid.uuid4().hex[:8]}"

    def __enter__(self) -> FrameStore:
        if self.writes_files:
            self._remove_stale()
        return self

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None,
                 trace: TracebackType | None) -> None:
        try:
            self.release()
        except Exception:
            if error is None:
                raise
            # The run's own error is the one to report (a lost Spark context fails both).
            log.warning("could not remove %s after the run failed", self._run_dir, exc_info=True)

    @property
    def writes_files(self) -> bool:
        """Whether kept frames are written as files (``spark.cache: files``), not cached by Spark in blocks."""
        return self._level is None

    def keep(self, df: DataFrame, name: str) -> DataFrame:
        """``df`` computed once and kept for the run's later passes, as ``name`` (a file name)."""
        if self._level is not None:
            kept = df.persist(self._level)
            self._cached.append(kept)
            return kept
        location = f"{self._run_dir}/{name}"
        df.write.parquet(location)
        return self._spark.read.parquet(location)

    def release(self) -> None:
        """Drop every cached frame and remove the run's files."""
        for frame in self._cached:
            frame.unpersist()
        self._cached.clear()
        path = self._path(self._run_dir)
        filesystem = self._filesystem(path)
        if filesystem.exists(path):
            filesystem.delete(path, True)

    def _remove_stale(self) -> None:
        scratch = self._path(self._scratch)
        filesystem = self._filesystem(scratch)
        if not filesystem.exists(scratch):
            return
        now = int(time.time() * 1000)
        for status in filesystem.listStatus(scratch):
            if now - status.getModificationTime() >= _STALE_MILLIS:
                log.info("removing %s, left behind by a run that did not end", status.getPath())
                filesystem.delete(status.getPath(), True)

    def _path(self, location: str):
        return self._spark.sparkContext._jvm.org.apache.hadoop.fs.Path(location)

    def _filesystem(self, path):
        return path.getFileSystem(self._spark.sparkContext._jsc.hadoopConfiguration())
