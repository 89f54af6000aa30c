"""Where a run keeps the frames it reads many times: Parquet files of its own, or Spark's cache."""

import os
import shutil
import time
from pathlib import Path

import pytest
from pyspark import StorageLevel
from pyspark.sql import functions as F
from pyspark.testing import assertDataFrameEqual

from custseg.frame_store import SCRATCH_DIR, FrameStore
from support import with_persisted_levels


@pytest.fixture
def scratch(warehouse) -> Path:
    return warehouse / SCRATCH_DIR


def _frame(spark):
    return spark.range(1000).select("id", (F.col("id") % 7).alias("segment"),
                                    F.array(F.col("id") * 0.5, F.lit(1.0)).alias("latent"))


def _run_dirs(scratch: Path) -> set[str]:
    return {path.name for path in scratch.iterdir()} if scratch.exists() else set()


def test_files_keep_the_rows_in_a_directory_of_the_run_removed_when_it_ends(spark, scratch):
    before = _run_dirs(scratch)
    (kept, files), levels = with_persisted_levels(lambda: _keep_and_list(spark, scratch))
    assert levels == []
    assert files and {path.parent.name for path in files} == {"segmented"}
    assertDataFrameEqual(kept, _frame(spark).collect())
    assert _run_dirs(scratch) == before


def _keep_and_list(spark, scratch):
    """The rows kept in a store of files, and the Parquet files of the run's directory while the run goes on."""
    before = _run_dirs(scratch)
    with FrameStore(spark, cache="files") as store:
        kept = store.keep(_frame(spark), "segmented").collect()
        (run,) = _run_dirs(scratch) - before
        return kept, list((scratch / run).glob("*/*.parquet"))


def test_a_run_that_fails_removes_its_files_too(spark, scratch):
    before = _run_dirs(scratch)
    with pytest.raises(RuntimeError, match="gate failed"):
        with FrameStore(spark, cache="files") as store:
            store.keep(_frame(spark), "snapshot").count()
            assert len(_run_dirs(scratch) - before) == 1
            raise RuntimeError("gate failed")
    assert _run_dirs(scratch) == before


def test_a_failed_runs_own_error_is_raised_when_its_files_cannot_be_removed_too(spark, monkeypatch):
    def lost_context(store):
        raise RuntimeError("SparkContext was shut down")

    monkeypatch.setattr(FrameStore, "release", lost_context)
    with pytest.raises(ValueError, match="input has no usable rows"):
        with FrameStore(spark, cache="files"):
            raise ValueError("input has no usable rows")
    with pytest.raises(RuntimeError, match="SparkContext was shut down"):
        with FrameStore(spark, cache="files"):
            pass


def test_a_killed_runs_files_are_removed_by_a_run_a_day_later_and_a_younger_ones_kept(spark, scratch):
    stale, young = scratch / "20260101T000000Z-killed", scratch / "20260101T000000Z-running"
    for path in (stale, young):
        (path / "snapshot").mkdir(parents=True)
        (path / "snapshot" / "part-0.parquet").write_bytes(b"")
    day_ago = time.time() - 24 * 3600 - 60
    os.utime(stale, (day_ago, day_ago))
    with FrameStore(spark, cache="files"):
        assert not stale.exists() and young.exists()
    assert young.exists()
    shutil.rmtree(young)


@pytest.mark.parametrize("cache, level", [("disk", StorageLevel.DISK_ONLY),
                                          ("memory_and_disk", StorageLevel.MEMORY_AND_DISK)])
def test_spark_cache_levels_persist_the_frame_and_unpersist_it_when_the_run_ends(spark, scratch, cache, level):
    before = _run_dirs(scratch)
    with FrameStore(spark, cache=cache) as store:
        kept, levels = with_persisted_levels(lambda: store.keep(_frame(spark), "segmented"))
        assert levels == [level] and kept.storageLevel == level
        assertDataFrameEqual(kept, _frame(spark).collect())
    assert kept.storageLevel == StorageLevel.NONE
    assert _run_dirs(scratch) == before
