"""Choosing k: the recommendation rule, the stability measure, and a sweep over generated customers."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import pytest
from pyspark import StorageLevel
from pyspark.testing import assertDataFrameEqual
from support import with_persisted_levels

from custseg import cli, sweep
from custseg.config import ClusteringConfig, config_from_dict

SWEPT = dt.date(2026, 6, 1)


def _table(silhouette, stability):
    return pd.DataFrame({"k": [2, 3, 4, 5], "silhouette": silhouette, "stability": stability})


def test_the_recommendation_is_the_best_silhouette_among_stable_k():
    assert sweep.recommend(_table([0.6, 0.5, 0.4, 0.7], [0.95, 0.9, 1.0, 0.89])) == 2


def test_without_a_stable_k_the_recommendation_is_the_most_stable_one():
    assert sweep.recommend(_table([0.6, 0.5, 0.4, 0.7], [0.5, 0.8, 0.6, 0.7])) == 3


def test_stability_is_one_for_clear_clusters_and_lower_for_none():
    rng = np.random.default_rng(0)
    blobs = np.concatenate([rng.normal(loc=c, scale=0.1, size=(200, 2)) for c in (0, 5, 10)])
    settings = ClusteringConfig()
    assert sweep.stability(blobs, k=3, settings=settings, seed=1) == pytest.approx(1.0)
    assert sweep.stability(rng.uniform(size=(600, 2)), k=7, settings=settings, seed=1) < 0.9


def test_a_k_range_outside_two_and_up_is_one_line_with_exit_code_2(capsys):
    code = cli.main(["sweep", "--conf", "conf/customers.yaml", "--k-min", "5", "--k-max", "3"])
    assert code == 2
    assert capsys.readouterr().err.strip() == (
        "custseg: error: --k-min 5 and --k-max 3 must satisfy 2 <= k-min <= k-max")


@pytest.fixture(scope="module")
def sweep_home(tmp_path_factory):
    return tmp_path_factory.mktemp("sweeps")


@pytest.fixture(scope="module")
def swept(spark, sweep_home):
    """A sweep of k = 2..3 and the storage levels it cached at."""
    # Small on purpose: the sweep of Train.csv for k = 2..12 is in tests/benchmarks/RESULTS.md.
    config = config_from_dict({
        "input": {"generated_rows": 600}, "autoencoder": {"sample_rows": 600, "epochs": 1},
        "clustering": {"max_iter": 5, "n_init": 1},
        "output": {"database": "sweeps", "warehouse_dir": str(sweep_home)},
    })
    return with_persisted_levels(lambda: sweep.run(spark, config, k_min=2, k_max=3, run_date=SWEPT))


def test_a_sweep_keeps_its_customers_in_files_and_caches_only_its_samples_in_memory(swept):
    # spark.cache is the default, files: the snapshot and every customer's latent vector (read once
    # per k) as Parquet files; the bounded sample that KMeans fits on for each k cached in memory.
    assert swept[1] == [StorageLevel.MEMORY_AND_DISK, StorageLevel.MEMORY_AND_DISK]


def test_a_sweep_measures_every_k_and_commits_its_table(spark, sweep_home, swept):
    result = swept[0]
    assert list(result.table["k"]) == [2, 3] and list(result.table.columns) == sweep.COLUMNS
    assert list(result.table["recommended"]) == [k == sweep.recommend(result.table) for k in (2, 3)]
    assert (result.table[["silhouette", "stability"]].abs() <= 1).all().all()
    assert (result.table[["inertia", "davies_bouldin", "calinski_harabasz"]] > 0).all().all()
    committed = spark.table("sweeps.k_selection").where(f"run_date = '{SWEPT}'").drop("run_date")
    assertDataFrameEqual(committed, spark.createDataFrame(result.table.astype({"k": "int32"})))
    assert result.plot == sweep_home / "reports" / f"run_date={SWEPT}" / "k_selection.png"
    assert result.plot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    printed = sweep.summary(result, database="sweeps").splitlines()
    assert printed[-3:] == [f"  recommended: k = {result.recommended}", f"  rule:        {sweep.RULE}",
                            f"  plot:        {result.plot}"]
