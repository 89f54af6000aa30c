"""Running the user-facing commands from tests, as a user would."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SUBMIT = str(ROOT / "spark-submit.sh")
CONF = str(ROOT / "conf" / "customers.yaml")
# The train command the CLI tests run on the generated customers in ``customers/``: short, with one
# KMeans start (ten cost the cluster stage ten fits, and these tests are not about stability).
TRAIN = ("train", "--conf", CONF, "--input", "customers", "--run-date", "2026-03-01",
         "--set", "autoencoder.epochs=3", "--set", "clustering.n_init=1", "--set", "columns.label=planted_segment")
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


def submit_env() -> dict[str, str]:
    """Environment that makes ``spark-submit.sh`` use the virtualenv the tests run in."""
    return {"CUSTSEG_VENV": str(Path(sys.executable).parents[1])}


def snapshot(cwd: Path) -> list[list[str]]:
    """:data:`SNAPSHOT` of the tables in ``cwd``'s warehouse, through the ``sql`` command."""
    return table_rows(submit("sql", SNAPSHOT, cwd=cwd).stdout)
