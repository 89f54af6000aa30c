"""Command line of the jobs: ``generate``, ``train``, ``score``, ``promote``, ``sweep`` and ``sql``.

Each command parses its arguments, loads the config, creates the only SparkSession and calls
one function of the library. Errors the user can fix are printed as one line with exit code 2;
a failed quality gate with exit code 3.
"""

from __future__ import annotations

import argparse
import dataclasses
import logging
import sys
from datetime import date, datetime, timezone
from pathlib import Path
from typing import Callable, Optional

from custseg.config import ConfigError, JobConfig, load_config

EXIT_USAGE = 2
EXIT_GATE = 3
log = logging.getLogger("custseg")


def main(argv: Optional[list[str]] = None) -> int:
    """Run one command, e.g. ``main(["train", "--conf", "conf/customers.yaml"])``; returns the exit code."""
    args = _parser().parse_args(argv)
    _configure_logging()
    from custseg.catalog import TableShapeError
    from custseg.gates import GateFailure
    from custseg.io import InputError
    from custseg.model_store import ModelNotFoundError

    try:
        return args.command(args, args.prepare(args))
    except (ConfigError, InputError, TableShapeError, ModelNotFoundError, FileExistsError) as error:
        print(f"custseg: error: {error}", file=sys.stderr)
        return EXIT_USAGE
    except GateFailure as failure:
        print(f"custseg: {failure}", file=sys.stderr)
        return EXIT_GATE


def check(argv: list[str]) -> int:
    """Check a command line's arguments, config and input path as :func:`main` does first; returns the exit code.

    ``spark-submit.sh`` calls it before it starts a JVM whose driver runs on this machine: a typo in
    an argument, the config or the input path is reported within a second, not after Spark's
    start-up. 0 means the command may start. It starts nothing; later checks (a ``promote`` of an
    unknown model version, say) stay with the command.
    """
    args = _parser().parse_args(argv)
    from custseg.io import InputError  # only what a check raises: the errors main catches load Spark ML

    try:
        args.prepare(args)
    except (ConfigError, InputError) as error:
        print(f"custseg: error: {error}", file=sys.stderr)
        return EXIT_USAGE
    return 0


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="custseg", description="Customer segmentation on Spark.")
    commands = parser.add_subparsers(required=True, metavar="COMMAND")

    generate = _command(commands, "generate", "write synthetic customers with planted segments", _generate,
                        _no_config)
    generate.add_argument("--rows", type=_positive_int, required=True, help="number of customers")
    generate.add_argument("--output", required=True, help="directory to write (replaced if it exists)")
    generate.add_argument("--format", choices=("parquet", "csv"), default="parquet")
    generate.add_argument("--seed", type=int, default=42)

    train = _command(commands, "train", "train a model version and segment a snapshot", _train, _input_config)
    train.add_argument("--conf", required=True, help="job config YAML, e.g. conf/customers.yaml")
    train.add_argument("--input", help="CSV or Parquet path (default: input.path of the config)")
    train.add_argument("--run-date", type=_date, help="date the outputs are filed under (default: today, UTC)")
    train.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                       help="override a config key, e.g. --set clustering.k=5 (repeatable)")
    train.add_argument("--promote", action="store_true",
                       help="make the new model active even with gates.promote: manual or a gate that warned")

    score = _command(commands, "score", "segment a snapshot with a saved model version", _score, _input_config)
    score.add_argument("--conf", required=True, help="job config YAML, e.g. conf/customers.yaml")
    score.add_argument("--input", required=True, help="CSV or Parquet path of the snapshot to segment")
    score.add_argument("--run-date", type=_date, help="date the outputs are filed under (default: today, UTC)")
    score.add_argument("--model-version", help="model version to apply (default: the active one)")
    score.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                       help="override a config key (repeatable)")

    promote = _command(commands, "promote", "make a model version the active one (also to roll back)", _promote,
                       _named_config)
    promote.add_argument("--conf", required=True, help="job config YAML whose output section locates the models")
    promote.add_argument("--model-version", required=True, help="the version to make active")
    promote.add_argument("--set", action="append", default=[], metavar="KEY=VALUE", help="override a config key")

    sweep = _command(commands, "sweep", "measure k-means for every k in a range and recommend a k", _sweep,
                     _sweep_config)
    sweep.add_argument("--conf", required=True, help="job config YAML, e.g. conf/customers.yaml")
    sweep.add_argument("--input", help="CSV or Parquet path (default: input.path of the config)")
    sweep.add_argument("--k-min", type=_positive_int, default=2, help="smallest k (default 2)")
    sweep.add_argument("--k-max", type=_positive_int, default=12, help="largest k (default 12)")
    sweep.add_argument("--run-date", type=_date, help="date the k_selection rows are filed under (default: today)")
    sweep.add_argument("--set", action="append", default=[], metavar="KEY=VALUE", help="override a config key")

    sql = _command(commands, "sql", "run SQL against the job's catalog and print the result", _sql,
                   _optional_config)
    sql.add_argument("query", help='e.g. "SELECT * FROM custseg.run_metrics"')
    sql.add_argument("--conf", help="job config YAML whose output section locates the catalog")
    sql.add_argument("--set", action="append", default=[], metavar="KEY=VALUE", help="override a config key")
    sql.add_argument("--limit", type=_positive_int, default=1000, help="most rows to print (default 1000)")
    return parser


def _command(commands, name: str, help_text: str, handler: Callable[[argparse.Namespace, JobConfig], int],
             prepare: Callable[[argparse.Namespace], JobConfig]):
    """A command that runs ``handler(args, config)`` on the config that ``prepare(args)`` loaded.

    ``prepare`` loads the config and checks it and the input path without Spark, so that :func:`check`
    can run it alone.
    """
    parser = commands.add_parser(name, help=help_text, description=help_text)
    parser.set_defaults(command=handler, prepare=prepare)
    return parser


def _no_config(args: argparse.Namespace) -> JobConfig:
    return JobConfig()


def _input_config(args: argparse.Namespace) -> JobConfig:
    return _job_config(args.conf, args.set, input_path=args.input)


def _named_config(args: argparse.Namespace) -> JobConfig:
    return _job_config(args.conf, args.set)


def _optional_config(args: argparse.Namespace) -> JobConfig:
    return _job_config(args.conf, args.set) if args.conf else JobConfig()


def _sweep_config(args: argparse.Namespace) -> JobConfig:
    from custseg.sweep import check_range

    config = _input_config(args)
    check_range(args.k_min, args.k_max)
    return config


def _generate(args: argparse.Namespace, config: JobConfig) -> int:
    from custseg import io
    from custseg.generator import generate_customers
    from custseg.session import build_session

    spark = build_session(config)
    try:
        io.write_files(generate_customers(spark, rows=args.rows, seed=args.seed), args.output, fmt=args.format)
    finally:
        spark.stop()
    print(f"custseg: wrote {args.rows:,} generated customers to {Path(args.output).resolve()} ({args.format})")
    return 0


def _train(args: argparse.Namespace, config: JobConfig) -> int:
    from custseg import train
    from custseg.session import build_session

    run_date = args.run_date or datetime.now(timezone.utc).date()
    spark = build_session(config)
    try:
        result = train.run(spark, config, run_date=run_date, promote=args.promote)
    finally:
        spark.stop()
    print(_summary(config, result, run_date))
    return 0


def _score(args: argparse.Namespace, config: JobConfig) -> int:
    from custseg import score
    from custseg.session import build_session

    run_date = args.run_date or datetime.now(timezone.utc).date()
    spark = build_session(config)
    try:
        result = score.run(spark, config, run_date=run_date, model_version=args.model_version)
    finally:
        spark.stop()
    print(_summary(config, result, run_date))
    return 0


def _sweep(args: argparse.Namespace, config: JobConfig) -> int:
    from custseg import sweep
    from custseg.session import build_session

    spark = build_session(config)
    try:
        result = sweep.run(spark, config, k_min=args.k_min, k_max=args.k_max,
                           run_date=args.run_date or datetime.now(timezone.utc).date())
    finally:
        spark.stop()
    print(sweep.summary(result, database=config.output.database))
    return 0


def _promote(args: argparse.Namespace, config: JobConfig) -> int:
    from custseg import model_store
    from custseg.publish import publish_model_versions
    from custseg.session import build_session

    model_dir = (Path(config.output.warehouse_dir) / config.output.model_dir).resolve()
    previous = model_store.active_version(model_dir)
    model_store.load_manifest_of(model_dir, args.model_version)
    model_store.set_active(model_dir, args.model_version)
    spark = build_session(config)
    try:
        publish_model_versions(spark, database=config.output.database, model_dir=model_dir)
    finally:
        spark.stop()
    print(f"custseg: model {args.model_version} is active (was {previous or 'none'}); "
          f"score runs use it from now on")
    return 0


def _sql(args: argparse.Namespace, config: JobConfig) -> int:
    from custseg.session import build_session

    from pyspark.errors import AnalysisException

    spark = build_session(config)
    try:
        if spark.catalog.databaseExists(config.output.database):
            spark.catalog.setCurrentDatabase(config.output.database)
        spark.sql(args.query).show(n=args.limit, truncate=False)
    except AnalysisException as error:
        # Syntax errors and unknown tables or columns are the user's to fix: one line, no stack trace.
        print(f"custseg: error: {str(error).strip().splitlines()[0]}", file=sys.stderr)
        return EXIT_USAGE
    finally:
        spark.stop()
    return 0


def _job_config(path: str, overrides: list[str], *, input_path: Optional[str] = None) -> JobConfig:
    from custseg import io

    config = load_config(path, overrides)
    if input_path is not None:
        source = dataclasses.replace(config.input, path=input_path, format=_format_of(input_path, config.input.format))
        config = dataclasses.replace(config, input=source)
    if config.input.path is not None and config.input.format != "table":
        io.check_files(config.input)
    return config


def _format_of(path: str, default: str) -> str:
    """CSV or Parquet, told by the file name or the files in a directory; else the config's format."""
    candidate = Path(path)
    names = [p.name for p in candidate.iterdir()] if candidate.is_dir() else [candidate.name]
    if any(name.endswith(".parquet") for name in names):
        return "parquet"
    if any(name.endswith((".csv", ".csv.gz")) for name in names):
        return "csv"
    return default


def _summary(config: JobConfig, result, run_date: date) -> str:
    m = result.metrics
    db = config.output.database
    quality = f"silhouette {m['silhouette']:.3f} (latent space, squared Euclidean)"
    if m["purity"] is not None:
        quality += f", purity {m['purity']:.3f}, NMI {m['nmi']:.3f}, ARI {m['ari']:.3f}"
    query = (f"SELECT segment, count(*) AS customers FROM {db}.customer_segments "
             f"WHERE run_date = '{run_date}' GROUP BY segment ORDER BY segment")
    return "\n".join([
        f"custseg: model {result.model_version} segmented {m['rows_segmented']:,} of {m['rows_read']:,} customers "
        f"into {m['k']} segments in {m['seconds_total']:.0f} s ({m['rows_quarantined']:,} quarantined)",
        f"  tables:    {', '.join(result.tables)}",
        f"  warehouse: {Path(config.output.warehouse_dir).resolve()}",
        f"  model:     {result.bundle}",
        f"  report:    {result.report or 'not written (the warning above says why); the tables are committed'}",
        f"  quality:   {quality}",
        f"  try:       ./spark-submit.sh sql \"{query}\"",
    ])


def _configure_logging() -> None:
    logging.basicConfig(format="%(asctime)s %(levelname)s %(name)s: %(message)s", level=logging.WARNING)
    logging.getLogger("custseg").setLevel(logging.INFO)
    # PySpark logs every failed query as a JSON stack trace; the job reports such errors in one line.
    logging.getLogger("SQLQueryContextLogger").setLevel(logging.CRITICAL)


def _positive_int(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"{text} is not a positive whole number")
    return value


def _date(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text} is not a date like 2026-01-31") from None
