"""Running the user-facing commands from tests, as a user would; what a job run caches."""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

import pytest
from pyspark import StorageLevel
from pyspark.sql import DataFrame
# The DataFrame class of a session that is not Spark Connect: the one whose persist the jobs call.
from pyspark.sql.classic.dataframe import DataFrame as ClassicDataFrame

T = TypeVar("T")

ROOT = Path(__file__).resolve().parents[1]
SUBMIT = str(ROOT / "spark-submit.sh")
CONF = str(ROOT / "conf" / "customers.yaml")
# The train command the CLI tests run on the generated customers in ``customers/``: short, with one
# KMeans start (ten cost the cluster stage ten fits, and these tests are not about stability).
TRAIN = ("train", "--conf", CONF, "--input", "customers", "--run-date", "2026-03-01",
         "--set", "autoencoder.epochs=3", "--set", "clustering.n_init=1", "--set", "columns.label=planted_segment",
         "--set", "report.sample_rows=300")
# Every table of the job, by model version: row count and a hash of the whole content.
SNAPSHOT = " UNION ALL ".join(
    f"SELECT '{table}', model_version, count(*), sum(hash({columns})) FROM custseg.{table} GROUP BY model_version"
    for table, columns in [
        ("customer_segments", "customer_id, segment, distance, latent, reconstruction_error, run_date"),
        ("segment_profiles", "*"), ("label_mapping", "*"), ("quarantine", "*"), ("segment_transitions", "*"),
        ("run_metrics", "rows_read, k"),
    ]
) + " ORDER BY 1, 2"


def submit(*args: str, cwd: Path, check: bool = True, env: dict[str, str] | None = None
           ) -> subprocess.CompletedProcess:
    """Run ``spark-submit.sh ARGS`` in ``cwd`` with the virtualenv the tests run in (and ``env`` added)."""
    env = {**os.environ, **submit_env(), **(env or {})}
    result = subprocess.run([SUBMIT, *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=600)
    if check and result.returncode != 0:
        pytest.fail(f"{' '.join(args)} exited {result.returncode}:\n{result.stderr[-3000:]}")
    return result


def table_rows(output: str) -> list[list[str]]:
    """The rows (without the header) of the table that ``DataFrame.show`` prints."""
    lines = [line for line in output.splitlines() if line.startswith("|")]
    return [[cell.strip() for cell in line.strip("|").split("|")] for line in lines[1:]]


# The JVMs the commands start live for a minute on a few thousand rows: the optimising JIT (C2)
# would spend more CPU compiling than it saves, and two test workers share two cores. Measured
# with two train commands side by side: 112 s instead of 149 s. (The long-lived JVM of the tests'
# own SparkSession keeps C2: there C1 alone made test_train and test_score 29 % slower.)
QUICK_START_JVM = {"JDK_JAVA_OPTIONS": "-XX:TieredStopAtLevel=1"}


def submit_env() -> dict[str, str]:
    """Environment that makes ``spark-submit.sh`` use the virtualenv the tests run in, with quick-start JVMs."""
    return {"CUSTSEG_VENV": str(Path(sys.executable).parents[1]), **QUICK_START_JVM}


def snapshot(cwd: Path) -> list[list[str]]:
    """:data:`SNAPSHOT` of the tables in ``cwd``'s warehouse, through the ``sql`` command."""
    return table_rows(submit("sql", SNAPSHOT, cwd=cwd).stdout)


# The alt texts of the images of a train run's report, in page order; a score run's adds transitions.
REPORT_IMAGES = ["loss and val_loss per epoch", "customers per segment", "PCA projection", "t-SNE projection",
                 "numeric profile", "category profile"]
# Without the networking flags, Chromium on a closed network stalls on its background requests.
CHROMIUM_FLAGS = ("--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                  "--disable-background-networking", "--disable-component-update", "--disable-sync")


def open_in_chromium(page: Path, screenshot: Path) -> list[tuple[str, bool, int]]:
    """Open ``page`` in headless Chromium, save a full-page screenshot; each image's alt, complete, natural width."""
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = "/usr/bin/chromium"
    with tempfile.TemporaryDirectory() as profile:
        for flag in (*CHROMIUM_FLAGS, f"--user-data-dir={profile}", "--window-size=1200,900"):
            options.add_argument(flag)
        driver = webdriver.Chrome(options=options, service=Service("/usr/bin/chromedriver"))
        try:
            driver.get(page.as_uri())
            images = driver.execute_script(
                "return Array.from(document.images).map(i => [i.alt, i.complete, i.naturalWidth]);")
            driver.set_window_size(1200, driver.execute_script("return document.body.scrollHeight;") + 100)
            driver.save_screenshot(str(screenshot))
        finally:
            driver.quit()
    return [tuple(image) for image in images]


def with_persisted_levels(run: Callable[[], T]) -> tuple[T, list[StorageLevel | None]]:
    """``run()``'s result and the storage level of every ``DataFrame.persist`` call it made, in call order
    (None where it gave no level)."""
    levels: list[StorageLevel | None] = []
    persist = ClassicDataFrame.persist

    def recording(frame: DataFrame, *args, **kwargs) -> DataFrame:
        levels.append(args[0] if args else kwargs.get("storageLevel"))
        return persist(frame, *args, **kwargs)

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(ClassicDataFrame, "persist", recording)
        return run(), levels
