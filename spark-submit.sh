#!/usr/bin/env bash
# custseg's one entry point: runs a job through spark-submit, or the test suite.
#
#   ./spark-submit.sh generate --rows N --output PATH [--format parquet|csv] [--seed S]
#   ./spark-submit.sh train --conf conf/customers.yaml [--input PATH] [--run-date YYYY-MM-DD] [--set key=value ...]
#   ./spark-submit.sh score --conf conf/customers.yaml --input PATH [--run-date YYYY-MM-DD] [--model-version V]
#   ./spark-submit.sh promote --conf conf/customers.yaml --model-version V
#   ./spark-submit.sh sweep --conf conf/customers.yaml [--input PATH] [--k-min 2 --k-max 12]
#   ./spark-submit.sh sql "SELECT ..."
#   ./spark-submit.sh test [pytest arguments]
#
# Jobs run in local mode (local[*]) unless --master names a cluster (spark://HOST:PORT, yarn,
# k8s://https://HOST:PORT); --deploy-mode client|cluster and --spark-conf KEY=VALUE (repeatable)
# go to spark-submit, anywhere on the line. On first use it creates a virtualenv (CUSTSEG_VENV,
# default .venv beside this script) and installs custseg into it. Relative paths are taken from
# the directory it is called from.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
VENV="${CUSTSEG_VENV:-$ROOT/.venv}"
PYTHON="${PYTHON:-python3}"
# What cluster submissions ship, built on first use and rebuilt when lib/ or the virtualenv change.
DIST="$ROOT/dist"
# The executors' imports: custseg.encode's numpy forward pass and PySpark's Arrow UDFs, at the
# driver's versions so that both sides read the same pickled arrays and Arrow batches. No
# TensorFlow: only the driver trains.
EXECUTOR_PACKAGES=(numpy pandas pyarrow)

die() { echo "spark-submit.sh: $*" >&2; exit 2; }

usage() {
  sed -n '2,16p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'
}

check_python() {
  command -v "$PYTHON" >/dev/null || die "python3 not found; install Python 3.10 or newer (or set PYTHON=/path/to/python)"
  "$PYTHON" -c 'import sys; sys.exit(sys.version_info < (3, 10))' \
    || die "$("$PYTHON" -V 2>&1) is too old; custseg needs Python 3.10 or newer (set PYTHON=/path/to/python3.11)"
}

# The java that spark-submit starts.
java_command() { echo "${JAVA_HOME:+$JAVA_HOME/bin/}java"; }

check_java() {
  local java version
  java="$(java_command)"
  command -v "$java" >/dev/null || die "Java not found; install Java 17 or 21 (e.g. apt-get install openjdk-17-jre-headless) or set JAVA_HOME"
  # "17.0.9" names major version 17; Java 8 and older call themselves "1.8.0_392".
  version="$("$java" -version 2>&1 | sed -n 's/.*version "\(1\.\)\{0,1\}\([0-9]*\).*/\2/p' | head -n 1)"
  [ "${version:-0}" -ge 17 ] || die "Java ${version:-unknown} is too old; Spark 4 needs Java 17 or 21 (set JAVA_HOME)"
}

# Installs custseg with the given extras once, and again whenever setup.py changes.
# The stamp records the setup.py checksum and the extras installed with it.
ensure_venv() {
  local extras="$1" stamp="$VENV/.custseg-installed" sum installed="" extra missing=""
  sum="$(cksum < "$ROOT/setup.py" | cut -d' ' -f1)"
  if [ -f "$stamp" ] && [ "$(cut -d' ' -f1 "$stamp")" = "$sum" ]; then installed="$(cut -d' ' -f2 "$stamp")"; fi
  for extra in ${extras//,/ }; do
    case ",$installed," in *",$extra,"*) ;; *) missing="$extra" ;; esac
  done
  [ -n "$missing" ] || return 0
  check_python
  echo "spark-submit.sh: installing custseg[$extras] into $VENV (first use; about two minutes)" >&2
  [ -x "$VENV/bin/python" ] || "$PYTHON" -m venv "$VENV"
  "$VENV/bin/python" -m pip install --quiet --disable-pip-version-check --upgrade pip >&2
  "$VENV/bin/python" -m pip install --quiet --disable-pip-version-check -e "$ROOT[$extras]" >&2
  echo "$sum $extras" > "$stamp"
}

run_job() {
  local job="$1"; shift
  local master="local[*]" mode="client" args=() submit=() config="" config_at=""
  while [ $# -gt 0 ]; do
    case "$1" in
      --master|--deploy-mode|--spark-conf|--conf)
        [ $# -ge 2 ] || die "$1 needs a value; see ./spark-submit.sh --help"
        take_option "$1" "$2"; shift 2 ;;
      --master=*|--deploy-mode=*|--spark-conf=*|--conf=*) take_option "${1%%=*}" "${1#*=}"; shift ;;
      *) args+=("$1"); shift ;;
    esac
  done
  local kind; kind="$(master_kind "$master")"
  check_deploy_mode "$kind" "$mode"
  if [ "$kind" != local ] && [ -n "$config" ] && [ ! -f "$config" ]; then
    die "config file $config does not exist; pass --conf with a YAML file such as conf/customers.yaml"
  fi
  check_java
  ensure_venv train
  # A driver that runs here first makes the job's own checks of its command line, config and input
  # path without a JVM: a typo is one line within a second, not after Spark's start-up.
  if [ "$mode" = client ]; then
    "$VENV/bin/python" -c 'import sys; from custseg import cli; sys.exit(cli.check(sys.argv[1:]))' \
      "$job" ${args[@]+"${args[@]}"} || exit $?
  fi
  if [ "$kind" = local ]; then
    export PYSPARK_PYTHON="$VENV/bin/python" PYSPARK_DRIVER_PYTHON="$VENV/bin/python"
  else
    ship_to_cluster
  fi
  # The JIT leaves generated methods over 8,000 bytes to the interpreter. The read's stay below
  # (test_quarantine.py); a config with many more columns may not: -XX:-DontCompileHugeMethods
  # compiles them too (with it, a read of 1M rows went from 28-36 s to 17-23 s; RESULTS.md).
  local jvm="-XX:-DontCompileHugeMethods -Dlog4j2.configurationFile=file:$ROOT/conf/log4j2.properties"
  local driver_jvm="$jvm -Dderby.stream.error.file=${TMPDIR:-/tmp}/custseg-derby.log" recording=""
  [ "$mode" = cluster ] || use_class_archive
  local spark_submit=("$VENV/bin/spark-submit"
    --master "$master" --deploy-mode "$mode"
    --properties-file "$ROOT/conf/spark-defaults.conf"
    --driver-java-options "$driver_jvm"
    --conf "spark.executor.extraJavaOptions=$jvm"
    ${submit[@]+"${submit[@]}"} "$ROOT/jobs/$job.py" ${args[@]+"${args[@]}"})
  [ -n "$recording" ] || exec "${spark_submit[@]}"
  record_classes "${spark_submit[@]}"
}

# Class data sharing for a driver that runs here: its JVM maps the classes a train job loaded
# from one archive instead of reading and verifying them from Spark's ~250 jars again, which
# starts each command about 6 s sooner (RESULTS.md). The first train run records the archive,
# again whenever Java or the Spark jars change. CUSTSEG_CLASS_ARCHIVE moves it (default: in the
# virtualenv); set it empty to turn this off. Sets run_job's driver_jvm and recording.
use_class_archive() {
  local archive="${CUSTSEG_CLASS_ARCHIVE-$VENV/jvm-classes.jsa}"
  [ -n "$archive" ] || return 0
  # An archive that does not fit the JVM is not used: silently, so that it never mixes into output.
  if [ -f "$archive" ] && [ "$(cat "$archive.stamp" 2>/dev/null)" = "$(class_archive_key)" ]; then
    driver_jvm+=" -XX:SharedArchiveFile=$archive -Xlog:cds*=off"
  elif [ "$job" = train ] && [ -w "$(dirname "$archive")" ]; then
    recording="$archive"
    driver_jvm+=" -XX:ArchiveClassesAtExit=$archive.$$ -Xlog:cds*=off"
  fi
}

# What an archive is valid for: the Java build and the Spark jars it was recorded from, their names
# and the path they were read by. The JVM refuses an archive recorded on another class path, even
# one that reaches the same jars through a symbolic link to the virtualenv. (Without the options
# variables: java prints them with its version, and they differ from one run to another.)
class_archive_key() {
  local jars=("$VENV"/lib/python3*/site-packages/pyspark/jars)
  { env -u JDK_JAVA_OPTIONS -u JAVA_TOOL_OPTIONS "$(java_command)" -version 2>&1; echo "${jars[@]}"; ls "${jars[@]}" 2>/dev/null || true; } \
    | cksum | cut -d' ' -f1
}

# Runs the spark-submit command line given and exits with its status. Not exec'd, so that the
# archive is kept only if the job succeeded: a TERM, INT or HUP that stops this script (a scheduler
# stopping the command, Ctrl-C) is passed on to the job, which exec would have received itself.
record_classes() {
  local status=0 job
  echo "spark-submit.sh: recording the JVM classes this train run loads in $recording, so that later commands start faster (once; about 20 s more)" >&2
  "$@" &
  job=$!
  trap 'kill -TERM "$job" 2>/dev/null' TERM INT HUP
  wait "$job" || status=$?
  # A signal ends the wait before the job has: wait again until the job itself ends.
  while kill -0 "$job" 2>/dev/null; do status=0; wait "$job" || status=$?; done
  trap - TERM INT HUP
  if [ "$status" -eq 0 ] && [ -s "$recording.$$" ] && mv "$recording.$$" "$recording"; then
    class_archive_key > "$recording.stamp" || true
  fi
  rm -f "$recording.$$"
  exit "$status"
}

# Sorts one option of run_job's command line into its variables (bash's dynamic scope).
take_option() {
  case "$1" in
    --master) master="$2" ;;
    --deploy-mode) mode="$2" ;;
    --spark-conf) submit+=(--conf "$2") ;;
    # The job's config file: remembered, so that a cluster submission can ship it.
    --conf) args+=(--conf "$2"); config="$2"; config_at=$((${#args[@]} - 1)) ;;
  esac
}

master_kind() {
  case "$1" in
    local|local\[*\]) echo local ;;
    spark://*) echo standalone ;;
    yarn) echo yarn ;;
    k8s://*) echo k8s ;;
    *) die "unknown master '$1'; use local[N], spark://HOST:PORT, yarn or k8s://https://HOST:PORT" ;;
  esac
}

check_deploy_mode() {
  local kind="$1" mode="$2"
  case "$mode" in
    client) return 0 ;;
    cluster) ;;
    *) die "unknown deploy mode '$mode'; use --deploy-mode client (the default) or cluster" ;;
  esac
  case "$kind" in
    local) die "--deploy-mode cluster needs a cluster master (spark://, yarn or k8s://); local mode runs the driver here" ;;
    standalone) die "Spark standalone runs Python applications in client deploy mode only; drop --deploy-mode cluster or submit to YARN or Kubernetes" ;;
  esac
  [ -n "${CUSTSEG_DRIVER_ENV:-}" ] \
    || die "--deploy-mode cluster runs the driver on the cluster: set CUSTSEG_DRIVER_ENV to an archive of a Python environment with custseg[train] (README: Running on a cluster)"
}

# Adds to run_job's spark-submit options what a cluster needs: the code (--py-files), the job's
# config (--files; in cluster mode the driver reads it by its base name from its working
# directory) and the executors' Python environment (--archives). The driver runs in the local
# virtualenv (client mode) or in the CUSTSEG_DRIVER_ENV archive (cluster mode).
ship_to_cluster() {
  local archives="$DIST/executor-env.tar.gz#environment" driver_python="$VENV/bin/python"
  ensure_code_zip
  ensure_executor_env
  if [ -n "$config" ]; then
    submit+=(--files "$config")
    [ "$mode" = client ] || args[config_at]="$(basename "$config")"
  fi
  if [ "$mode" = cluster ]; then
    archives+=",$CUSTSEG_DRIVER_ENV#driver"
    driver_python="./driver/bin/python"
  fi
  submit+=(--py-files "$DIST/custseg.zip" --archives "$archives"
           --conf spark.pyspark.python=./environment/bin/python
           --conf "spark.pyspark.driver.python=$driver_python")
}

# lib/custseg as a zip for --py-files: PySpark puts .zip files on the executors' Python path, not wheels.
ensure_code_zip() {
  local zip="$DIST/custseg.zip" sum
  sum="$(cd "$ROOT/lib" && find . -name '*.py' -print0 | LC_ALL=C sort -z | xargs -0 cksum | cksum | cut -d' ' -f1)"
  if [ -f "$zip" ] && [ "$(cat "$zip.stamp" 2>/dev/null)" = "$sum" ]; then return 0; fi
  mkdir -p "$DIST"
  "$VENV/bin/python" - "$ROOT/lib" "$zip.tmp" <<'PY'
import sys
import zipfile
from pathlib import Path

lib, target = Path(sys.argv[1]), sys.argv[2]
with zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED) as archive:
    for source in sorted(lib.rglob("*.py")):
        archive.write(source, source.relative_to(lib))
PY
  mv "$zip.tmp" "$zip"
  echo "$sum" > "$zip.stamp"
}

# The executors' Python environment: a virtualenv with EXECUTOR_PACKAGES at the driver's versions,
# packed by venv-pack. Its interpreter links to the driver's base Python, which every node needs at
# the same path (venv-pack ships the packages, not Python itself).
ensure_executor_env() {
  local archive="$DIST/executor-env.tar.gz" venv="$DIST/executor-venv" pins
  pins="$("$VENV/bin/python" -c 'import sys; from importlib.metadata import version
print(" ".join(f"{name}=={version(name)}" for name in sys.argv[1:]))' "${EXECUTOR_PACKAGES[@]}")"
  if [ -f "$archive" ] && [ "$(cat "$archive.stamp" 2>/dev/null)" = "$pins" ]; then return 0; fi
  echo "spark-submit.sh: packing the executors' Python environment ($pins) into $archive (first use; about a minute)" >&2
  rm -rf "$venv"
  # No pip of its own (the driver's installs into it) and light compression: packed in 0.64 times
  # the time; unpacking on the executors took as long within the noise (RESULTS.md, executor_env.py).
  "$VENV/bin/python" -m venv --without-pip "$venv"
  # shellcheck disable=SC2086  # one pip argument per pinned package
  "$VENV/bin/python" -m pip --python "$venv/bin/python" install --quiet --disable-pip-version-check $pins venv-pack >&2
  "$venv/bin/venv-pack" --prefix "$venv" --output "$archive.tmp" --format tar.gz --compress-level 1 --force --quiet
  mv "$archive.tmp" "$archive"
  echo "$pins" > "$archive.stamp"
}

# The report test drives a headless Chromium; Debian's packages provide it and its WebDriver.
ensure_browser() {
  [ -x /usr/bin/chromium ] && [ -x /usr/bin/chromedriver ] && return 0
  echo "spark-submit.sh: installing chromium and chromium-driver for the report test (apt-get)" >&2
  { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium chromium-driver; } \
    >/dev/null 2>&1 || die "could not install chromium and chromium-driver with apt-get; install them as root (apt-get install chromium chromium-driver)"
}

run_tests() {
  check_java
  ensure_browser
  ensure_venv "train,dev"
  cd "$ROOT"
  exec "$VENV/bin/python" -m pytest "$@"
}

[ $# -ge 1 ] || { usage; exit 2; }
command="$1"; shift
case "$command" in
  generate|train|score|promote|sweep|sql) run_job "$command" "$@" ;;
  test) run_tests "$@" ;;
  -h|--help|help) usage ;;
  *) usage >&2; die "unknown command '$command'; use generate, train, score, promote, sweep, sql or test" ;;
esac
