"""A train run killed with SIGKILL leaves the previous tables and model as they were; its rerun completes."""

from __future__ import annotations

import functools
import os
import signal
import subprocess
import threading
from pathlib import Path

import pytest
from support import CONF, SUBMIT, submit, submit_env, table_rows

from custseg import model_store
from custseg.encode import AutoencoderWeights

DAY = "2026-04-01"
TRAIN = ("train", "--conf", CONF, "--run-date", DAY, "--set", "input.generated_rows=3000",
         "--set", "autoencoder.epochs=3")
KILL_TIMEOUT = 300
# Every table of the run, by model version: row count and a hash of the whole content.
SNAPSHOT = " UNION ALL ".join(
    f"SELECT '{table}', model_version, count(*), sum(hash({columns})) FROM {table} GROUP BY model_version"
    for table, columns in [
        ("customer_segments", "customer_id, segment, distance, latent, reconstruction_error, run_date"),
        ("segment_profiles", "*"), ("label_mapping", "*"), ("quarantine", "*"), ("run_metrics", "rows_read, k"),
    ]
) + " ORDER BY 1, 2"


def _kill_after(line_marker: str, cwd: Path) -> str:
    """Start the train command, SIGKILL its whole process group once a line holds ``line_marker``."""
    process = subprocess.Popen(
        [SUBMIT, *TRAIN], cwd=cwd, env={**os.environ, **submit_env()}, stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT, text=True, start_new_session=True,
    )
    kill = functools.partial(os.killpg, process.pid, signal.SIGKILL)
    watchdog = threading.Timer(KILL_TIMEOUT, kill)
    watchdog.start()
    output = []
    try:
        for line in process.stdout:  # ends when the process does
            output.append(line)
            if line_marker in line:
                kill()
                break
    finally:
        watchdog.cancel()
        process.wait(timeout=60)
        process.stdout.close()
    text = "".join(output)
    assert process.returncode == -signal.SIGKILL, f"the job was not killed at '{line_marker}':\n{text[-3000:]}"
    return text


def _snapshot(cwd: Path) -> list[list[str]]:
    return table_rows(submit("sql", SNAPSHOT, cwd=cwd).stdout)


def _segment_rows(snapshot: list[list[str]]) -> list[list[str]]:
    return [row[2:] for row in snapshot if row[0] == "customer_segments"]


@pytest.fixture(scope="module")
def workdir(tmp_path_factory):
    return tmp_path_factory.mktemp("kill")


@pytest.fixture(scope="module")
def first(workdir):
    """The run a killed run must not disturb: its tables, and its model as the active one."""
    submit(*TRAIN, cwd=workdir)
    models = workdir / "warehouse" / "models"
    return _snapshot(workdir), model_store.active_version(models)


@pytest.mark.parametrize(("stage", "marker"), [
    # The train stage's line is printed when it ends: the job is encoding when it is read.
    ("encode", "stage train"),
    # Killed while the run's tables are being staged, after two of them were written.
    ("write", "staged custseg.segment_profiles"),
])
def test_a_killed_rerun_leaves_the_tables_and_the_active_model_as_they_were(workdir, first, stage, marker):
    before, active = first
    output = _kill_after(marker, workdir)
    assert f"stage {stage}" not in output and "custseg: model" not in output
    assert _snapshot(workdir) == before
    models = workdir / "warehouse" / "models"
    assert model_store.active_version(models) == active
    assert model_store.read_manifest(models / active)["version"] == active
    assert AutoencoderWeights.load(models / active / model_store.ENCODER_WEIGHTS).latent_dim == 8


def test_rerunning_the_killed_command_gives_the_same_segments(workdir, first):
    before, _ = first
    rerun = submit(*TRAIN, cwd=workdir)
    assert "segmented 3,000 of 3,000 customers into 7 segments" in rerun.stdout
    after = _snapshot(workdir)
    models = workdir / "warehouse" / "models"
    new_version = model_store.active_version(models)
    assert new_version != first[1]
    # Same input, config and seed: the same segments, under the new model version, and nothing else.
    assert [row[0] for row in after] == [row[0] for row in before]
    assert all(row[1] == new_version for row in after)
    assert _segment_rows(after) == _segment_rows(before)
