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
# Jobs run in local mode (local[*]) unless --master names a cluster. On first use it creates a
# virtualenv (CUSTSEG_VENV, default .venv beside this script) and installs custseg into it.
# Relative paths are taken from the directory it is called from.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
VENV="${CUSTSEG_VENV:-$ROOT/.venv}"
PYTHON="${PYTHON:-python3}"

die() { echo "spark-submit.sh: $*" >&2; exit 2; }

usage() {
  sed -n '2,14p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'
}

check_python() {
  command -v "$PYTHON" >/dev/null || die "python3 not found; install Python 3.10 or newer (or set PYTHON=/path/to/python)"
  "$PYTHON" -c 'import sys; sys.exit(sys.version_info < (3, 10))' \
    || die "$("$PYTHON" -V 2>&1) is too old; custseg needs Python 3.10 or newer (set PYTHON=/path/to/python3.11)"
}

check_java() {
  local java="${JAVA_HOME:+$JAVA_HOME/bin/}java" version
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
  local master="local[*]" args=()
  while [ $# -gt 0 ]; do
    case "$1" in
      --master) [ $# -ge 2 ] || die "--master needs a value, e.g. --master spark://host:7077"; master="$2"; shift 2 ;;
      --master=*) master="${1#--master=}"; shift ;;
      *) args+=("$1"); shift ;;
    esac
  done
  check_java
  ensure_venv train
  export PYSPARK_PYTHON="$VENV/bin/python" PYSPARK_DRIVER_PYTHON="$VENV/bin/python"
  exec "$VENV/bin/spark-submit" \
    --master "$master" \
    --properties-file "$ROOT/conf/spark-defaults.conf" \
    --driver-java-options "-Dlog4j2.configurationFile=file:$ROOT/conf/log4j2.properties -Dderby.stream.error.file=${TMPDIR:-/tmp}/custseg-derby.log" \
    --conf "spark.executor.extraJavaOptions=-Dlog4j2.configurationFile=file:$ROOT/conf/log4j2.properties" \
    "$ROOT/jobs/$job.py" ${args[@]+"${args[@]}"}
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
