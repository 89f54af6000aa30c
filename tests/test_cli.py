"""The commands users run, through spark-submit.sh, from a directory of their own."""

from __future__ import annotations

import contextlib
import os
import re
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
from support import CONF, QUICK_START_JVM, ROOT, SUBMIT, submit, submit_env, table_rows

from custseg import cli

TENSORFLOW_LOG_LINE = re.compile(r"^[IWEF]\d{4} \S+ +\d+ \S+\.cc:\d+\] ", re.MULTILINE)


def test_generate_writes_csv_with_the_real_schema(spark, cli_workdir):
    frame = spark.read.csv(str(cli_workdir / "customers"), header=True)
    assert frame.columns == ["ID", "Gender", "Ever_Married", "Age", "Graduated", "Profession", "Work_Experience",
                             "Spending_Score", "Family_Size", "Var_1", "planted_segment"]
    assert frame.count() == 2000


def test_train_then_sql_then_spark_sql(cli_workdir, cli_run):
    trained, tables, version = cli_run
    assert f"warehouse: {cli_workdir / 'warehouse'}" in trained.stdout
    assert f"custseg: model {version} segmented 2,000 of 2,000 customers into 7 segments" in trained.stdout
    # Spark ML's warning about each KMeans start caching its own copy of the cached fitting sample.
    assert "WARN Instrumentation" not in trained.stdout + trained.stderr
    # TensorFlow's C++ log lines, e.g. "E0000 00:00:1796186941.132408   13299 node_def_util.cc:682] NodeDef ...".
    assert not TENSORFLOW_LOG_LINE.search(trained.stdout + trained.stderr)
    assert [row[:3] for row in tables if row[0] in ("customer_segments", "run_metrics")] == [
        ["customer_segments", version, "2000"], ["run_metrics", version, "1"]]
    query = "SELECT segment, count(*) FROM custseg.customer_segments GROUP BY segment ORDER BY segment"
    rows = table_rows(submit("sql", query, cwd=cli_workdir).stdout)
    assert [int(r[0]) for r in rows] == list(range(7))
    assert sum(int(r[1]) for r in rows) == 2000

    env = {**os.environ, **QUICK_START_JVM, "PATH": f"{Path(sys.executable).parent}:{os.environ['PATH']}"}
    spark_sql = subprocess.run(
        ["spark-sql", "--properties-file", str(ROOT / "conf" / "spark-defaults.conf"),
         "-e", "SELECT count(*) FROM custseg.customer_segments"],
        cwd=cli_workdir, env=env, capture_output=True, text=True, timeout=300,
    )
    assert spark_sql.returncode == 0, spark_sql.stderr[-2000:]
    assert spark_sql.stdout.split() == ["2000"]


def test_commands_map_the_jvm_classes_that_a_train_run_recorded(cli_workdir, cli_run, tmp_path):
    archive = Path(sys.executable).parents[1] / "jvm-classes.jsa"
    assert archive.is_file() and Path(f"{archive}.stamp").is_file()
    # Every JVM the command starts logs where each class came from, in a file of its own.
    log = f"-Xlog:class+load=info:file={tmp_path}/classes-%p.log"
    submit("sql", "SELECT 1", cwd=cli_workdir, env={"JDK_JAVA_OPTIONS": f"{QUICK_START_JVM['JDK_JAVA_OPTIONS']} {log}"})
    loaded = [line.split(" org.apache.spark.sql.SparkSession ", 1)[1] for path in tmp_path.glob("classes-*.log")
              for line in path.read_text(encoding="utf-8").splitlines() if " org.apache.spark.sql.SparkSession " in line]
    assert loaded == ["source: shared objects file (top)"]


def _archive_options(result: subprocess.CompletedProcess) -> list[str]:
    """The class archive's options among the driver's, as the fake virtualenv's spark-submit received them."""
    lines = result.stdout.splitlines()
    return [word for word in lines[lines.index("--driver-java-options") + 1].split()
            if "Archive" in word or word.startswith("-Xlog:")]


def test_the_first_train_run_that_succeeds_records_the_class_archive(fake_venv, tmp_path):
    archive = tmp_path / "classes.jsa"
    env = {"CUSTSEG_VENV": str(fake_venv), "CUSTSEG_CLASS_ARCHIVE": str(archive)}
    snapshot = tmp_path / "customers.csv"  # what the wrapper's check of the score command looks for
    snapshot.write_text("ID\n1\n", encoding="utf-8")
    train, score = ("train", "--conf", CONF), ("score", "--conf", CONF, "--input", str(snapshot))
    # Only a train run records (it loads the classes of every other command too), and only one that succeeds.
    assert _archive_options(submit(*score, cwd=tmp_path, env=env)) == []
    failed = submit(*train, cwd=tmp_path, check=False, env={**env, "FAKE_STATUS": "3"})
    recording = _archive_options(failed)
    assert failed.returncode == 3 and "recording the JVM classes this train run loads" in failed.stderr
    assert recording[0].startswith(f"-XX:ArchiveClassesAtExit={archive}.") and recording[1:] == ["-Xlog:cds*=off"]
    assert list(tmp_path.glob("classes.jsa*")) == []
    submit(*train, cwd=tmp_path, env=env)
    assert sorted(p.name for p in tmp_path.glob("classes.jsa*")) == ["classes.jsa", "classes.jsa.stamp"]
    assert _archive_options(submit(*score, cwd=tmp_path, env=env)) == [f"-XX:SharedArchiveFile={archive}",
                                                                        "-Xlog:cds*=off"]
    assert _archive_options(submit(*score, cwd=tmp_path, env={**env, "CUSTSEG_CLASS_ARCHIVE": ""})) == []
    # Recorded through another path to the virtualenv (a symbolic link): the JVM would refuse it, so
    # commands through that path do not map it, and the next train run there records it again.
    link = tmp_path / "venv-link"
    link.symlink_to(fake_venv)
    linked = {**env, "CUSTSEG_VENV": str(link)}
    assert _archive_options(submit(*score, cwd=tmp_path, env=linked)) == []
    assert _archive_options(submit(*train, cwd=tmp_path, env=linked))[0].startswith("-XX:ArchiveClassesAtExit=")
    assert _archive_options(submit(*score, cwd=tmp_path, env=linked)) == [f"-XX:SharedArchiveFile={archive}",
                                                                           "-Xlog:cds*=off"]
    # Recorded for another Java build or other Spark jars: recorded again by the next train run.
    Path(f"{archive}.stamp").write_text("0\n", encoding="utf-8")
    assert _archive_options(submit(*train, cwd=tmp_path, env=env))[0].startswith("-XX:ArchiveClassesAtExit=")


def test_a_signal_to_the_recording_train_command_stops_its_job_and_keeps_no_archive(fake_venv, tmp_path):
    archive, pid_file = tmp_path / "classes.jsa", tmp_path / "job.pid"
    env = {**os.environ, **submit_env(), "CUSTSEG_VENV": str(fake_venv), "CUSTSEG_CLASS_ARCHIVE": str(archive),
           "FAKE_PID_FILE": str(pid_file), "FAKE_SECONDS": "60"}
    command = subprocess.Popen([SUBMIT, "train", "--conf", CONF], cwd=tmp_path, env=env, stdout=subprocess.DEVNULL,
                               stderr=subprocess.DEVNULL, start_new_session=True)
    try:
        deadline = time.monotonic() + 60
        while not pid_file.is_file() or not pid_file.read_text(encoding="utf-8").strip():
            assert time.monotonic() < deadline and command.poll() is None, "the job never started"
            time.sleep(0.1)
        job = int(pid_file.read_text(encoding="utf-8"))
        command.send_signal(signal.SIGTERM)  # as a scheduler stops a command: its process, not its group
        assert command.wait(timeout=30) == 128 + signal.SIGTERM
        with pytest.raises(ProcessLookupError):
            os.kill(job, 0)
    finally:
        with contextlib.suppress(ProcessLookupError):  # what is left of the command's process group
            os.killpg(command.pid, signal.SIGKILL)
    assert list(tmp_path.glob("classes.jsa*")) == []


def test_the_thrift_server_serves_the_tables_to_beeline(cli_workdir, cli_run):
    env = {**os.environ, **QUICK_START_JVM, "PATH": f"{Path(sys.executable).parent}:{os.environ['PATH']}"}
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    server = subprocess.Popen(
        ["spark-submit", "--class", "org.apache.spark.sql.hive.thriftserver.HiveThriftServer2",
         "--properties-file", str(ROOT / "conf" / "spark-defaults.conf"), "spark-internal",
         "--hiveconf", f"hive.server2.thrift.port={port}", "--hiveconf", "hive.server2.thrift.bind.host=127.0.0.1"],
        cwd=cli_workdir, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True,
    )
    try:
        deadline = time.monotonic() + 180
        while time.monotonic() < deadline and server.poll() is None:
            with socket.socket() as client:
                if client.connect_ex(("127.0.0.1", port)) == 0:
                    break
            time.sleep(1)
        beeline = subprocess.run(
            ["beeline", "-u", f"jdbc:hive2://127.0.0.1:{port}", "--silent=true", "--outputformat=csv2",
             "-e", "SELECT count(*) FROM custseg.customer_segments"],
            cwd=cli_workdir, env=env, capture_output=True, text=True, timeout=120,
        )
        assert beeline.returncode == 0, beeline.stderr[-2000:]
        assert beeline.stdout.split()[-1] == "2000"
    finally:
        os.killpg(server.pid, signal.SIGKILL)
        server.wait(timeout=60)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["train", "--conf", CONF, "--set", "clustering.k=1"], "custseg: error: clustering.k must be at least 2"),
        (["train", "--conf", CONF, "--input", "nowhere.csv"], "custseg: error: input path nowhere.csv does not exist"),
        (["frobnicate"], "unknown command 'frobnicate'"),
        (["sql", "SELECT * FROM nope"], "custseg: error: [TABLE_OR_VIEW_NOT_FOUND] The table or view `nope`"),
    ],
)
def test_user_errors_are_one_line_with_exit_code_2(tmp_path, args, message):
    result = submit(*args, cwd=tmp_path, check=False)
    # spark-submit passes the job's stderr on through its stdout.
    output = result.stdout + result.stderr
    assert result.returncode == 2
    assert any(line.endswith(message) or message in line for line in output.splitlines()), output[-2000:]
    assert "Traceback" not in output
    if args[0] == "train":
        assert list(tmp_path.iterdir()) == [], "a rejected train run must leave no warehouse behind"
        # Found by the wrapper's check before it starts a JVM, whose launcher names Java's vector module.
        assert "jdk.incubator.vector" not in output


def test_the_wrappers_check_passes_a_command_that_may_start_and_stops_a_typo(capsys, monkeypatch):
    def no_session(*_, **__):
        raise AssertionError("the check started a SparkSession")

    monkeypatch.setattr("custseg.session.build_session", no_session)
    assert cli.check(["train", "--conf", CONF, "--set", "clustering.k=5"]) == 0
    assert capsys.readouterr().err == ""
    assert cli.check(["sweep", "--conf", CONF, "--k-min", "5", "--k-max", "3"]) == 2
    assert capsys.readouterr().err == "custseg: error: --k-min 5 and --k-max 3 must satisfy 2 <= k-min <= k-max\n"


@pytest.mark.parametrize(("java_version", "message"), [
    (None, "Java not found; install Java 17 or 21"),
    ("1.8.0_392", "Java 8 is too old; Spark 4 needs Java 17 or 21 (set JAVA_HOME)"),
    ("11.0.2", "Java 11 is too old; Spark 4 needs Java 17 or 21 (set JAVA_HOME)"),
])
def test_a_missing_or_old_java_stops_the_wrapper_in_one_line(tmp_path, java_version, message):
    java_home = tmp_path / "jdk"
    (java_home / "bin").mkdir(parents=True)
    if java_version:
        java = java_home / "bin" / "java"
        java.write_text(f'#!/bin/sh\necho \'openjdk version "{java_version}"\' >&2\n')
        java.chmod(0o755)
    workdir = tmp_path / "work"
    workdir.mkdir()
    result = submit("train", "--conf", CONF, cwd=workdir, check=False, env={"JAVA_HOME": str(java_home)})
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"spark-submit.sh: {message}"), result.stderr
    assert list(workdir.iterdir()) == []


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["train", "--conf", CONF, "--set", "clustering.kk=3"], "custseg: error: unknown config key clustering.kk;"),
        (["train", "--conf", "missing.yaml"], "custseg: error: config file missing.yaml does not exist"),
        (["train", "--conf", CONF, "--run-date", "2026-13-01"], "2026-13-01 is not a date like 2026-01-31"),
        (["score", "--conf", CONF, "--input", "nowhere/"], "custseg: error: input path nowhere/ does not exist"),
        (["generate", "--rows", "0", "--output", "x"], "0 is not a positive whole number"),
        (["promote", "--conf", CONF, "--model-version", "nope", "--set", "output.warehouse_dir=/nonexistent"],
         "custseg: error: model version nope not found in /nonexistent/models; versions there: none"),
    ],
)
def test_argument_and_config_errors_stop_before_spark_starts(capsys, monkeypatch, args, message):
    # In-process: these are caught before a session exists, so the wrapper adds nothing to them.
    def no_session(*_, **__):
        raise AssertionError("a SparkSession was started before the error was found")

    monkeypatch.setattr("custseg.session.build_session", no_session)
    try:
        code = cli.main(args)
    except SystemExit as stop:  # argparse's own errors
        code = stop.code
    errors = capsys.readouterr().err.strip().splitlines()
    assert code == 2
    assert message in errors[-1]
