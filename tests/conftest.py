"""Shared fixtures: a local[2] SparkSession with a Hive catalog in a temporary warehouse; one CLI run for all.

Also the order in which pytest-xdist hands the modules to its workers: the longest first.
"""

from __future__ import annotations

import fcntl
import json
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

os.environ["PYSPARK_PYTHON"] = sys.executable
os.environ["PYSPARK_DRIVER_PYTHON"] = sys.executable
os.environ.setdefault("SPARK_LOCAL_IP", "127.0.0.1")

REAL_DATA = Path(__file__).resolve().parents[2] / "shared" / "data" / "customer-segmentation"
# The modules whose jobs take longest, longest first (seconds on one of two workers, from
# `./spark-submit.sh test --durations=0`: test_cli and test_kill_and_rerun together 827, then 510,
# 423, 306, 247, 131, 103). Handed out first, they leave the short modules to fill both workers up
# to the end; a new module that runs jobs belongs in this list.
LONGEST_FIRST = ("test_cli.py", "test_kill_and_rerun.py", "test_train.py", "test_cluster.py", "test_real_data.py",
                 "test_score.py", "test_bad_rows.py", "test_notebooks.py")
# The modules that use the CLI's train run in its directory (cli_workdir, one JVM at a time): on
# two workers, one would wait for the other's lock, so one worker runs them both.
CLI_RUN_MODULES = ("test_cli.py", "test_kill_and_rerun.py")


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    def rank(item: pytest.Item) -> int:
        name = item.path.name
        return LONGEST_FIRST.index(name) if name in LONGEST_FIRST else len(LONGEST_FIRST)

    items.sort(key=rank)


@pytest.hookimpl(optionalhook=True)
def pytest_xdist_make_scheduler(config, log):
    """pytest.ini's --dist loadfile, in collection order, with :data:`CLI_RUN_MODULES` as one unit."""
    from xdist.scheduler import LoadFileScheduling

    if config.option.dist != "loadfile":
        return None

    class ModulesInOrder(LoadFileScheduling):
        def _split_scope(self, nodeid: str) -> str:
            module = super()._split_scope(nodeid)
            return CLI_RUN_MODULES[0] if Path(module).name in CLI_RUN_MODULES else module

    config.option.loadscopereorder = False
    return ModulesInOrder(config, log)


@pytest.fixture(scope="session")
def warehouse(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("warehouse")


@pytest.fixture(scope="session")
def spark(warehouse):
    from pyspark.sql import SparkSession

    from custseg.session import JOB_SETTINGS, catalog_settings

    builder = (
        SparkSession.builder.master("local[2]")
        .appName("custseg-tests")
        .config("spark.sql.shuffle.partitions", "4")
        .config("spark.ui.enabled", "false")
        .config("spark.ui.showConsoleProgress", "false")
        # As spark-submit.sh: the JIT compiles Spark's large generated methods of the input checks.
        .config("spark.driver.extraJavaOptions", f"-Dderby.system.home={warehouse} -XX:-DontCompileHugeMethods")
    )
    for key, value in {**JOB_SETTINGS, **catalog_settings(warehouse)}.items():
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
def shared_dir(tmp_path_factory, worker_id) -> Path:
    """A directory that every pytest-xdist worker of this run shares (the workers' common base)."""
    base = tmp_path_factory.getbasetemp()
    return base if worker_id == "master" else base.parent


@contextmanager
def _exclusive(lock: Path) -> Iterator[None]:
    """Hold an exclusive lock on the file ``lock`` (across processes) until the block ends."""
    with open(lock, "w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        yield


@pytest.fixture(scope="session")
def cli_run(shared_dir) -> tuple[subprocess.CompletedProcess, list[list[str]], str]:
    """The train command run once for all workers: its output, the tables' snapshot, the active model.

    The first worker to need it generates 2,000 customers as CSV in ``cli/customers`` and trains
    on them; the others wait for it and read what it recorded.
    """
    from support import TRAIN, snapshot, submit

    from custseg import model_store

    workdir, record = shared_dir / "cli", shared_dir / "cli-run.json"
    with _exclusive(shared_dir / "cli.lock"):
        if not record.exists():
            shutil.rmtree(workdir, ignore_errors=True)  # what an earlier worker's failed attempt left
            workdir.mkdir()
            submit("generate", "--rows", "2000", "--output", "customers", "--format", "csv", "--seed", "3",
                   cwd=workdir)
            result = submit(*TRAIN, cwd=workdir)
            record.write_text(json.dumps({
                "stdout": result.stdout, "stderr": result.stderr, "tables": snapshot(workdir),
                "active": model_store.active_version(workdir / "warehouse" / "models")}), encoding="utf-8")
        run = json.loads(record.read_text(encoding="utf-8"))
    return subprocess.CompletedProcess(TRAIN, 0, run["stdout"], run["stderr"]), run["tables"], run["active"]


@pytest.fixture
def cli_workdir(shared_dir, cli_run) -> Iterator[Path]:
    """The directory of :func:`cli_run`, held by one test at a time: its embedded metastore admits one JVM."""
    with _exclusive(shared_dir / "cli.lock"):
        yield shared_dir / "cli"


@pytest.fixture
def fake_venv(tmp_path) -> Path:
    """A stand-in for the virtualenv whose spark-submit prints its arguments, one a line, and submits nothing.

    Its python is the tests' interpreter, which builds the real code zip and executor environment.
    Like a JVM, its spark-submit writes the class archive that ``-XX:ArchiveClassesAtExit`` names;
    it writes its process id to ``FAKE_PID_FILE`` (if set), runs ``FAKE_SECONDS`` (default 0) and
    exits with ``FAKE_STATUS`` (default 0).
    """
    venv = tmp_path / "venv"
    (venv / "bin").mkdir(parents=True)
    shutil.copy(Path(sys.executable).parents[1] / ".custseg-installed", venv)
    spark_submit = "\n".join([
        "set -f",
        'printf "%s\\n" "$@"',
        'for word in $*; do case "$word" in -XX:ArchiveClassesAtExit=*) echo classes > "${word#*=}" ;; esac; done',
        'if [ -n "${FAKE_PID_FILE:-}" ]; then echo $$ > "$FAKE_PID_FILE"; fi',
        'sleep "${FAKE_SECONDS:-0}"',
        'exit "${FAKE_STATUS:-0}"',
    ])
    for name, body in [("python", f'exec {sys.executable} "$@"'), ("spark-submit", spark_submit)]:
        script = venv / "bin" / name
        script.write_text(f"#!/usr/bin/env bash\n{body}\n", encoding="utf-8")
        script.chmod(0o755)
    return venv
