"""generate, train and score on a real Spark standalone cluster, submitted through spark-submit.sh.

A master and two workers (one core and 1 GB each) start on 127.0.0.1 from the pyspark install of
the tests' virtualenv. The jobs run in client deploy mode: the driver in that virtualenv, the
executors in the environment archive that spark-submit.sh packs and ships (no TensorFlow).
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from support import CONF, QUICK_START_JVM, ROOT, submit, table_rows

WORKERS = 2
# Seconds for the master and both workers to come up: a few when the machine is idle.
STARTUP_SECONDS = 180
STOP_SECONDS = 20
TRAIN_DATE, SCORE_DATE = "2026-01-01", "2026-01-02"
# Per run date: customers, distinct ids, distinct segments, lowest and highest segment, customers
# whose segment and distance equal the training run's, rows read and rows quarantined.
TABLE_CHECK = f"""
SELECT s.run_date, count(*), count(DISTINCT s.customer_id), count(DISTINCT s.segment), min(s.segment),
       max(s.segment), count_if(s.segment = t.segment AND abs(s.distance - t.distance) < 1e-4),
       first(m.rows_read), first(m.rows_quarantined)
FROM custseg.customer_segments s
JOIN custseg.customer_segments t ON t.customer_id = s.customer_id AND t.run_date = DATE'{TRAIN_DATE}'
JOIN custseg.run_metrics m ON m.run_date = s.run_date
GROUP BY s.run_date ORDER BY s.run_date
"""
# Put on the score run's executors' Python path: every Python process they start reports, in one
# line on the executor's stderr, its interpreter, its environment and where numpy and TensorFlow are.
PROBE = """\
import json
import sys
from importlib.util import find_spec

found = {name: getattr(find_spec(name), "origin", None) for name in ("numpy", "pyarrow", "tensorflow")}
print("python-probe", json.dumps({"executable": sys.executable, "prefix": sys.prefix, **found}), file=sys.stderr)
"""


@dataclass(frozen=True)
class Cluster:
    url: str
    work_dirs: tuple[Path, ...]


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _alive_workers(webui_port: int) -> int:
    # No proxy: a proxy from the environment must not stand between the test and 127.0.0.1.
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    try:
        with opener.open(f"http://127.0.0.1:{webui_port}/json/", timeout=5) as response:
            state = json.load(response)
    except OSError:
        return 0
    return sum(worker["state"] == "ALIVE" for worker in state.get("workers", []))


def _stop(process: subprocess.Popen) -> None:
    """Stop a daemon and everything it started (its own process group), forcibly if it lingers."""
    for sig in (signal.SIGTERM, signal.SIGKILL):
        try:
            os.killpg(process.pid, sig)
        except ProcessLookupError:
            return
        try:
            process.wait(timeout=STOP_SECONDS)
            return
        except subprocess.TimeoutExpired:
            continue


@pytest.fixture(scope="module")
def cluster(tmp_path_factory) -> Iterator[Cluster]:
    """A standalone master and two workers on 127.0.0.1, stopped after the module's tests."""
    base = tmp_path_factory.mktemp("standalone")
    spark_class = str(Path(sys.executable).parent / "spark-class")
    # The master's REST submission server would take the fixed port 6066; the test submits through its RPC port.
    env = {**os.environ, **QUICK_START_JVM, "SPARK_LOCAL_IP": "127.0.0.1", "SPARK_MASTER_OPTS": "-Dspark.master.rest.enabled=false"}
    port, webui = _free_port(), _free_port()
    url = f"spark://127.0.0.1:{port}"
    commands = [("master", ["org.apache.spark.deploy.master.Master", "--host", "127.0.0.1",
                            "--port", str(port), "--webui-port", str(webui)])]
    work_dirs = tuple(base / f"worker-{n}" for n in range(WORKERS))
    for n, work_dir in enumerate(work_dirs):
        commands.append((f"worker-{n}", ["org.apache.spark.deploy.worker.Worker", "--host", "127.0.0.1",
                                         "--cores", "1", "--memory", "1g", "--work-dir", str(work_dir),
                                         "--webui-port", str(_free_port()), url]))
    daemons: list[subprocess.Popen] = []
    try:
        for name, args in commands:
            with open(base / f"{name}.log", "wb") as log:
                daemons.append(subprocess.Popen([spark_class, *args], stdout=log, stderr=subprocess.STDOUT,
                                                env=env, start_new_session=True))
        deadline = time.monotonic() + STARTUP_SECONDS
        while _alive_workers(webui) < WORKERS:
            exited = [name for (name, _), daemon in zip(commands, daemons) if daemon.poll() is not None]
            if exited or time.monotonic() > deadline:
                pytest.fail(f"standalone cluster not ready in {STARTUP_SECONDS} s (exited: {exited}); "
                            f"logs in {base}")
            time.sleep(1)
        yield Cluster(url=url, work_dirs=work_dirs)
    finally:
        for daemon in reversed(daemons):
            _stop(daemon)


@pytest.fixture(scope="module")
def runs(cluster, tmp_path_factory) -> Path:
    """generate, train on its customers, then score the same snapshot, all on the cluster; the directory."""
    workdir = tmp_path_factory.mktemp("cluster-jobs")
    probe = tmp_path_factory.mktemp("probe")
    (probe / "sitecustomize.py").write_text(PROBE, encoding="utf-8")
    master = ("--master", cluster.url)
    small = ("--set", "spark.conf.spark.sql.shuffle.partitions=4")
    submit("generate", "--rows", "2000", "--output", "customers", "--seed", "5", *master, cwd=workdir)
    submit("train", "--conf", CONF, "--input", "customers", "--run-date", TRAIN_DATE, *small,
           "--set", "autoencoder.epochs=3", "--set", "clustering.n_init=1", "--set", "columns.label=planted_segment",
           *master, cwd=workdir)
    submit("score", "--conf", CONF, "--input", "customers", "--run-date", SCORE_DATE, *small,
           "--set", f"spark.conf.spark.executorEnv.PYTHONPATH={probe}", *master, cwd=workdir)
    return workdir


def test_jobs_on_the_cluster_segment_every_customer_and_score_reproduces_training(runs):
    rows = table_rows(submit("sql", TABLE_CHECK, cwd=runs).stdout)
    expected = ["2000", "2000", "7", "0", "6", "2000", "2000", "0"]
    assert rows == [[TRAIN_DATE, *expected], [SCORE_DATE, *expected]]


def test_executors_run_the_shipped_environment_without_tensorflow(cluster, runs):
    # Application ids sort by submission time: the last one is the score run.
    score_app = max(app.name for work_dir in cluster.work_dirs for app in work_dir.glob("app-*"))
    executors = [d for work_dir in cluster.work_dirs for d in (work_dir / score_app).iterdir() if d.is_dir()]
    assert len(executors) == WORKERS
    for executor in executors:
        log = (executor / "stderr").read_text(encoding="utf-8", errors="replace")
        probes = [json.loads(line.split(" ", 1)[1]) for line in log.splitlines() if line.startswith("python-probe ")]
        assert probes, f"no Python process reported in {executor / 'stderr'}"
        environment = executor / "environment"
        site_packages = next(environment.glob("lib/python3.*/site-packages"))
        for probe in probes:
            assert os.path.normpath(probe["executable"]) == str(environment / "bin" / "python")
            assert probe["prefix"] == str(environment)
            assert probe["numpy"] == str(site_packages / "numpy" / "__init__.py")
            assert probe["pyarrow"] == str(site_packages / "pyarrow" / "__init__.py")
            assert probe["tensorflow"] is None


@pytest.mark.parametrize("options, message", [
    (["--master", "mesos://host:5050"],
     "unknown master 'mesos://host:5050'; use local[N], spark://HOST:PORT, yarn or k8s://https://HOST:PORT"),
    (["--master", "spark://127.0.0.1:7077", "--deploy-mode", "cluster"],
     "Spark standalone runs Python applications in client deploy mode only; drop --deploy-mode cluster "
     "or submit to YARN or Kubernetes"),
    (["--deploy-mode", "cluster"],
     "--deploy-mode cluster needs a cluster master (spark://, yarn or k8s://); local mode runs the driver here"),
    (["--master", "yarn", "--deploy-mode", "server"],
     "unknown deploy mode 'server'; use --deploy-mode client (the default) or cluster"),
    (["--master", "yarn", "--deploy-mode", "cluster"],
     "--deploy-mode cluster runs the driver on the cluster: set CUSTSEG_DRIVER_ENV to an archive of a Python "
     "environment with custseg[train] (README: Running on a cluster)"),
    (["--master", "yarn", "--conf", "missing.yaml"],
     "config file missing.yaml does not exist; pass --conf with a YAML file such as conf/customers.yaml"),
])
def test_submission_errors_are_one_line(options, message, fake_venv, tmp_path):
    result = submit("train", *options, cwd=tmp_path, check=False,
                    env={"CUSTSEG_VENV": str(fake_venv), "CUSTSEG_DRIVER_ENV": ""})
    assert (result.returncode, result.stderr) == (2, f"spark-submit.sh: {message}\n")


def test_yarn_cluster_mode_ships_code_config_and_both_environments(fake_venv, tmp_path):
    driver_env = "hdfs:///envs/custseg-driver.tar.gz"
    # The driver runs on the cluster: the wrapper does not look for the input here.
    result = submit("train", "--master", "yarn", "--conf", CONF, "--deploy-mode", "cluster", "--set", "seed=1",
                    "--input", "/data/snapshot", "--spark-conf", "spark.yarn.queue=batch", cwd=tmp_path,
                    env={"CUSTSEG_VENV": str(fake_venv), "CUSTSEG_DRIVER_ENV": driver_env})
    assert result.stdout.splitlines() == [
        "--master", "yarn", "--deploy-mode", "cluster", *_common_options(), "--conf", "spark.yarn.queue=batch",
        "--files", CONF, "--py-files", f"{ROOT}/dist/custseg.zip",
        "--archives", f"{ROOT}/dist/executor-env.tar.gz#environment,{driver_env}#driver",
        "--conf", "spark.pyspark.python=./environment/bin/python",
        "--conf", "spark.pyspark.driver.python=./driver/bin/python",
        f"{ROOT}/jobs/train.py", "--conf", Path(CONF).name, "--set", "seed=1", "--input", "/data/snapshot",
    ]


def test_kubernetes_client_mode_runs_the_driver_in_the_local_virtualenv(fake_venv, tmp_path):
    master = "k8s://https://127.0.0.1:6443"
    # The driver runs here, so the wrapper's check looks for the input here.
    snapshot = tmp_path / "snapshot"
    snapshot.mkdir()
    (snapshot / "part-0.csv").write_text("ID\n1\n", encoding="utf-8")
    result = submit("score", f"--master={master}", f"--conf={CONF}", "--input", str(snapshot),
                    "--spark-conf", "spark.kubernetes.container.image=custseg:1", cwd=tmp_path,
                    env={"CUSTSEG_VENV": str(fake_venv)})
    assert result.stdout.splitlines() == [
        "--master", master, "--deploy-mode", "client", *_common_options(),
        "--conf", "spark.kubernetes.container.image=custseg:1",
        "--files", CONF, "--py-files", f"{ROOT}/dist/custseg.zip",
        "--archives", f"{ROOT}/dist/executor-env.tar.gz#environment",
        "--conf", "spark.pyspark.python=./environment/bin/python",
        "--conf", f"spark.pyspark.driver.python={fake_venv}/bin/python",
        f"{ROOT}/jobs/score.py", "--conf", CONF, "--input", str(snapshot),
    ]


def _common_options() -> list[str]:
    jvm = f"-XX:-DontCompileHugeMethods -Dlog4j2.configurationFile=file:{ROOT}/conf/log4j2.properties"
    derby = f"-Dderby.stream.error.file={os.environ.get('TMPDIR', '/tmp')}/custseg-derby.log"
    return ["--properties-file", f"{ROOT}/conf/spark-defaults.conf", "--driver-java-options", f"{jvm} {derby}",
            "--conf", f"spark.executor.extraJavaOptions={jvm}"]
