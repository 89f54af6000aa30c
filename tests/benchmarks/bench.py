"""What the benchmark scripts share: the generated data's config and an in-process local session."""

from __future__ import annotations

import os
import sys
from pathlib import Path

from pyspark.sql import SparkSession

CONFIG = Path(__file__).resolve().parents[2] / "conf" / "generated.yaml"


def local_session() -> SparkSession:
    """A local SparkSession on every core, with the driver memory spark-submit.sh gives the jobs."""
    # Python workers must use this interpreter, or they miss the virtualenv's pyarrow.
    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    spark = (SparkSession.builder.master("local[*]").config("spark.driver.memory", "4g")
             .config("spark.driver.extraJavaOptions", "-XX:-DontCompileHugeMethods")
             .config("spark.ui.showConsoleProgress", "false").getOrCreate())
    spark.sparkContext.setLogLevel("ERROR")
    return spark
