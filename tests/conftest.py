"""Shared fixtures: one local[2] SparkSession with a Hive catalog in a temporary warehouse, and one CLI run."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

os.environ["PYSPARK_PYTHON"] = sys.executable
os.environ["PYSPARK_DRIVER_PYTHON"] = sys.executable
os.environ.setdefault("SPARK_LOCAL_IP", "127.0.0.1")

REAL_DATA = Path(__file__).resolve().parents[2] / "shared" / "data" / "customer-segmentation"


@pytest.fixture(scope="session")
def warehouse(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("warehouse")


@pytest.fixture(scope="session")
def spark(warehouse):
    from pyspark.sql import SparkSession

    from custseg.session import catalog_settings

    builder = (
        SparkSession.builder.master("local[2]")
        .appName("custseg-tests")
        .config("spark.sql.shuffle.partitions", "4")
        .config("spark.ui.enabled", "false")
        .config("spark.ui.showConsoleProgress", "false")
        # As spark-submit.sh: the JIT compiles Spark's large generated methods of the input checks.
        .config("spark.driver.extraJavaOptions", f"-Dderby.system.home={warehouse} -XX:-DontCompileHugeMethods")
    )
    for key, value in catalog_settings(warehouse).items():
        builder = builder.config(key, value)
    session = builder.enableHiveSupport().getOrCreate()
    session.sparkContext.setLogLevel("ERROR")
    yield session
    session.stop()


@pytest.fixture(scope="session")
def real_data() -> Path:
    if not (REAL_DATA / "Train.csv").is_file():
        pytest.skip(f"real customer data not found at {REAL_DATA}; place the shared data beside the repository")
    return REAL_DATA


@pytest.fixture(scope="session")
def cli_workdir(tmp_path_factory) -> Path:
    """A user's directory holding 2,000 generated customers as CSV in ``customers/``."""
    from support import submit

    workdir = tmp_path_factory.mktemp("cli")
    submit("generate", "--rows", "2000", "--output", "customers", "--format", "csv", "--seed", "3", cwd=workdir)
    return workdir


@pytest.fixture(scope="session")
def cli_run(cli_workdir):
    """The train command run once in :func:`cli_workdir`: its output, the tables' snapshot, the active model."""
    from support import TRAIN, snapshot, submit

    from custseg import model_store

    result = submit(*TRAIN, cwd=cli_workdir)
    return result, snapshot(cli_workdir), model_store.active_version(cli_workdir / "warehouse" / "models")
