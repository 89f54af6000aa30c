"""What the notebooks show: small aggregates of an input snapshot and of the output tables, as pandas and plots.

Every function aggregates in Spark and brings only the aggregate to the driver, so the notebooks
work on snapshots of any size. Plots are :class:`custseg.report_plots.Plot` objects, which Jupyter
shows as images.
"""

from __future__ import annotations

import pandas as pd
from matplotlib.figure import Figure
from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F

from custseg.config import ColumnsConfig, JobConfig, load_config
from custseg.report_plots import Plot, to_plot
from custseg.session import build_session


def open_session(conf: str, *overrides: str) -> tuple[SparkSession, JobConfig]:
    """The config at ``conf`` with ``key=value`` overrides, and a session on its catalog (``output`` section)."""
    config = load_config(conf, list(overrides))
    return build_session(config), config


def missing_values(customers: DataFrame, columns: ColumnsConfig) -> pd.DataFrame:
    """Per input column: missing values and their share of the rows."""
    names = columns.inputs
    row = customers.agg(F.count(F.lit(1)).alias("_rows"),
                        *[F.count_if(F.col(name).isNull()).alias(name) for name in names]).first()
    missing = [int(row[name]) for name in names]
    return pd.DataFrame({"column": names, "missing": missing,
                         "share": [m / row["_rows"] if row["_rows"] else 0.0 for m in missing]})


def numeric_summary(customers: DataFrame, columns: ColumnsConfig) -> pd.DataFrame:
    """Count, mean, standard deviation, minimum, quartiles and maximum of each numeric column."""
    summary = customers.select(*columns.numeric).summary().toPandas().set_index("summary")
    return summary.astype(float).T


def histograms(customers: DataFrame, columns: ColumnsConfig, *, bins: int = 20) -> Plot:
    """One histogram per numeric column, counted in Spark over ``bins`` equal-width bins."""
    figure = Figure(figsize=(4.0 * len(columns.numeric), 3.0))
    for axes, name in zip(figure.subplots(1, len(columns.numeric), squeeze=False)[0], columns.numeric):
        low, high = customers.agg(F.min(name), F.max(name)).first()
        if low is None:
            axes.set_title(f"{name}: no values")
            continue
        width = (high - low) / bins or 1.0
        bucket = F.least(F.floor((F.col(name) - low) / width), F.lit(bins - 1))
        counts = customers.where(F.col(name).isNotNull()).groupBy(bucket.alias("b")).count().toPandas()
        axes.bar(low + counts["b"] * width, counts["count"], width=width, align="edge")
        axes.set(title=name, ylabel="customers")
    return to_plot(figure)


def category_shares(customers: DataFrame, columns: ColumnsConfig) -> pd.DataFrame:
    """Per categorical column and level (missing values as ``(missing)``): customers and share."""
    frames = []
    for name in columns.categorical:
        level = F.coalesce(F.col(name).cast("string"), F.lit("(missing)"))
        counts = customers.groupBy(level.alias("level")).count().toPandas()
        frames.append(counts.assign(feature=name, share=counts["count"] / counts["count"].sum()))
    shares = pd.concat(frames, ignore_index=True).rename(columns={"count": "customers"})
    return shares[["feature", "level", "customers", "share"]].sort_values(["feature", "level"], ignore_index=True)


def category_plot(shares: pd.DataFrame) -> Plot:
    """Bars of each level's share, one panel per categorical column (rows of :func:`category_shares`)."""
    features = list(dict.fromkeys(shares["feature"]))
    figure = Figure(figsize=(4.0 * len(features), 3.2))
    for axes, feature in zip(figure.subplots(1, len(features), squeeze=False)[0], features):
        mine = shares[shares["feature"] == feature]
        axes.barh(mine["level"], mine["share"])
        axes.set(title=feature, xlabel="share")
        axes.invert_yaxis()
    figure.tight_layout()
    return to_plot(figure)


def quarantine_reasons(rejected: DataFrame) -> pd.DataFrame:
    """Quarantined rows per reason code, most frequent first."""
    return rejected.groupBy("reason_code").count().orderBy(F.desc("count"), "reason_code").toPandas()


def sizes_over_time(spark: SparkSession, database: str) -> pd.DataFrame:
    """Customers and share per run date and segment, from the ``segment_summary`` view."""
    return spark.sql(f"SELECT run_date, segment, segment_name, customers, share FROM `{database}`.segment_summary "
                     f"ORDER BY run_date, segment").toPandas()


def sizes_plot(sizes: pd.DataFrame) -> Plot:
    """Each segment's share per run date (rows of :func:`sizes_over_time`)."""
    shares = sizes.pivot(index="run_date", columns="segment", values="share")
    figure = Figure(figsize=(7.0, 3.5))
    axes = figure.subplots()
    shares.plot(ax=axes, marker="o")
    axes.set(ylabel="share of customers", title="Segment shares per run date")
    axes.legend(title="segment", fontsize=8, loc="center left", bbox_to_anchor=(1.0, 0.5))
    return to_plot(figure)


def latest(spark: SparkSession, database: str, table: str) -> pd.DataFrame:
    """The rows of ``table`` for its latest run date."""
    rows = spark.table(f"`{database}`.{table}")
    return rows.where(F.col("run_date") == rows.agg(F.max("run_date")).first()[0]).toPandas()
