"""A train run killed with SIGKILL leaves the previous tables and model as they were; its rerun completes."""

from __future__ import annotations

import functools
import os
import signal
import subprocess
import threading
from pathlib import Path

import pytest
from support import SUBMIT, TRAIN, snapshot, submit, submit_env

from custseg import model_store
from custseg.encode import AutoencoderWeights

KILL_TIMEOUT = 300


def _kill_after(line_marker: str, cwd: Path) -> str:
    """Run the train command again, SIGKILL its whole process group once a line holds ``line_marker``."""
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


@pytest.mark.parametrize(("stage", "marker"), [
    # The train stage's line is printed when it ends: the job is encoding when it is read.
    ("encode", "stage train"),
    # Killed while the run's tables are being staged, after two of them were written.
    ("write", "staged custseg.segment_profiles"),
])
def test_a_killed_rerun_leaves_the_active_model_as_it_was(cli_workdir, cli_run, stage, marker):
    _, _, active = cli_run
    output = _kill_after(marker, cli_workdir)
    assert f"stage {stage}" not in output and "custseg: model" not in output
    models = cli_workdir / "warehouse" / "models"
    assert model_store.active_version(models) == active
    assert model_store.read_manifest(models / active)["version"] == active
    assert AutoencoderWeights.load(models / active / model_store.ENCODER_WEIGHTS).latent_dim == 2


def test_after_the_killed_runs_every_table_is_as_it_was(cli_workdir, cli_run):
    _, before, _ = cli_run
    assert snapshot(cli_workdir) == before


def test_rerunning_the_killed_command_gives_the_same_segments(cli_workdir, cli_run):
    _, before, first_version = cli_run
    rerun = submit(*TRAIN, cwd=cli_workdir)
    assert "segmented 2,000 of 2,000 customers into 7 segments" in rerun.stdout
    after = snapshot(cli_workdir)
    version = model_store.active_version(cli_workdir / "warehouse" / "models")
    assert version != first_version
    # Same input, config and seed: the same segments, under the new model version, and nothing else.
    assert [row[0] for row in after] == [row[0] for row in before]
    assert all(row[1] == version for row in after)
    assert _segment_rows(after) == _segment_rows(before)


def _segment_rows(tables: list[list[str]]) -> list[list[str]]:
    return [row[2:] for row in tables if row[0] == "customer_segments"]
