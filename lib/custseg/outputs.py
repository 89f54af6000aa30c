"""The shapes of the job's output tables, built from a segmented DataFrame and small results."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import date, datetime, timezone
from pathlib import Path
from typing import Optional

from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F
from pyspark.sql.types import (
    DateType,
    DoubleType,
    IntegerType,
    LongType,
    StringType,
    StructField,
    StructType,
    TimestampType,
)

from custseg.clustering import SegmentMatch
from custseg.config import ColumnsConfig, MetricsConfig
from custseg.drift import DRIFT_SCHEMA
from custseg.features import FEATURES_COL, FittedFeatures, transform_features
from custseg.metrics import LabelAgreement, label_agreement, segmentation_quality
from custseg.profiles import Profiles, segment_profiles
from custseg.sampling import expected_sample

log = logging.getLogger("custseg")

STAGES = ("read", "features", "train", "encode", "cluster", "metrics", "write", "total")
COUNTS = ("rows_read", "rows_segmented", "rows_quarantined", "values_unseen", "sample_rows", "epochs_run")
SCORES = (
    "silhouette", "silhouette_input", "davies_bouldin", "calinski_harabasz", "inertia",
    "reconstruction_mse", "reconstruction_mae", "purity", "nmi", "ari",
)
RUN_METRICS_SCHEMA = StructType(
    [
        StructField("model_version", StringType()),
        StructField("run_kind", StringType()),
        StructField("input", StringType()),
        StructField("finished_at", TimestampType()),
        StructField("k", IntegerType()),
        *[StructField(name, LongType()) for name in COUNTS],
        *[StructField(name, DoubleType()) for name in SCORES],
        *[StructField(f"seconds_{stage}", DoubleType()) for stage in STAGES],
        StructField("run_date", DateType()),
    ]
)


@dataclass(frozen=True)
class RunResult:
    """What a train or score run produced: the model version it made or applied, its bundle, its metrics row.

    ``report`` is the run's HTML report, ``None`` when it could not be written.
    """

    model_version: str
    bundle: Path
    metrics: dict[str, object]
    tables: tuple[str, ...]
    report: Path | None


@dataclass(frozen=True)
class Agreement:
    """Agreement of the segments with the configured label; empty when there is no label."""

    label: Optional[str]
    result: Optional[LabelAgreement]

    @property
    def scores(self) -> dict[str, Optional[float]]:
        """Purity, NMI and ARI, or nulls without a label."""
        if self.result is None:
            return {"purity": None, "nmi": None, "ari": None}
        return {"purity": self.result.purity, "nmi": self.result.nmi, "ari": self.result.ari}


@dataclass(frozen=True)
class Measurements:
    """What a run measures on its segments: quality figures, profiles, agreement with the label."""

    metrics: dict[str, float]
    profiles: Profiles
    agreement: Agreement


def without_features(segmented: DataFrame) -> DataFrame:
    """``segmented`` without its scaled features, the shape a job caches.

    The features are the widest column of a segmented row (one number per level), and a
    deterministic function of columns that stay: :func:`measure` computes them again for the
    input-space silhouette rather than keeping them for every customer.
    """
    return segmented.drop(FEATURES_COL)


def measure(segmented: DataFrame, columns: ColumnsConfig, features: FittedFeatures, *, rows: int,
            settings: MetricsConfig, seed: int) -> Measurements:
    """Quality metrics, segment profiles and label agreement of ``segmented``, computed now.

    ``segmented`` is in :func:`without_features`' shape and holds ``rows`` rows; ``features`` is
    the fitted pipeline that made its features. The silhouettes are measured on a seeded sample of
    about ``settings.silhouette_rows`` of them, for which the features are computed again, and the
    segment profiles' medians on one of about ``settings.median_rows``.
    """
    sampled = expected_sample(segmented, rows=rows, expected=settings.silhouette_rows, seed=seed)
    if sampled is not segmented:
        log.info("silhouettes measured on a seeded sample of about %s of %s customers (metrics.silhouette_rows)",
                 f"{settings.silhouette_rows:,}", f"{rows:,}")
    median_fraction = min(1.0, settings.median_rows / rows) if rows else 1.0
    if median_fraction < 1.0:
        log.info("segment medians estimated from a seeded sample of about %s of %s customers (metrics.median_rows)",
                 f"{settings.median_rows:,}", f"{rows:,}")
    return Measurements(
        metrics=segmentation_quality(segmented, transform_features(features, sampled),
                                     features_col=FEATURES_COL),
        profiles=segment_profiles(segmented, numeric_cols=columns.numeric, categorical_cols=columns.categorical,
                                  median_fraction=median_fraction, seed=seed),
        agreement=agreement_with_label(segmented, columns.label),
    )


def agreement_with_label(segmented: DataFrame, label: Optional[str]) -> Agreement:
    """Purity, NMI, ARI and the label mapping when ``label`` is configured and present in the data."""
    if not label or segmented.where(F.col(label).isNotNull()).limit(1).count() == 0:
        return Agreement(label=None, result=None)
    return Agreement(label=label, result=label_agreement(segmented, label_col=label))


def run_tables(*, segmented: DataFrame, rejected: DataFrame, measured: Measurements,
               columns: ColumnsConfig, model_version: str, run_date: date) -> dict[str, DataFrame]:
    """The per-customer, per-segment, per-label and quarantine tables of one run, keyed by table name."""
    profiles, agreement = measured.profiles.table, measured.agreement
    stamp = [F.lit(model_version).alias("model_version"), F.lit(run_date).alias("run_date")]
    tables = {
        "customer_segments": customer_segments(segmented, columns).select("*", *stamp),
        "segment_profiles": profiles.select("*", *stamp),
        "quarantine": rejected.select("*", *stamp),
    }
    # Written empty without a label, so that a rerun of a run date never keeps an older mapping.
    mapping = segmented.sparkSession.createDataFrame(
        _mapping_rows(agreement), "segment int, majority_label string, segment_purity double, size long",
    )
    tables["label_mapping"] = mapping.select("*", F.lit(agreement.label).cast("string").alias("label_column"), *stamp)
    return tables


def customer_segments(segmented: DataFrame, columns: ColumnsConfig) -> DataFrame:
    """The ``customer_segments`` table's row of each segmented customer, without the run's stamp."""
    return segmented.select(
        F.col(columns.id).alias("customer_id"),
        "segment",
        "distance",
        F.col("latent").cast("array<float>").alias("latent"),
        "reconstruction_error",
    )


def _mapping_rows(agreement: Agreement) -> list[tuple]:
    if agreement.result is None:
        return []
    return [(m.segment, m.majority_label, m.segment_purity, m.size) for m in agreement.result.mapping]


def segment_names_frame(spark: SparkSession, segment_ids: list[int], names: dict[int, str], *, model_version: str,
                        run_date: date) -> DataFrame:
    """The ``segment_names`` rows of a run: each segment id with its name from ``segments.names`` (or null)."""
    frame = spark.createDataFrame([(s, names.get(s)) for s in segment_ids], "segment int, segment_name string")
    return frame.select("*", F.lit(model_version).alias("model_version"), F.lit(run_date).alias("run_date"))


def drift_frame(spark: SparkSession, rows: list[tuple], *, model_version: str, run_date: date) -> DataFrame:
    """The ``drift`` rows of a run (see :mod:`custseg.drift`); none for a train run."""
    frame = spark.createDataFrame(rows, DRIFT_SCHEMA)
    return frame.select("*", F.lit(model_version).alias("model_version"), F.lit(run_date).alias("run_date"))


def segment_matches_frame(spark: SparkSession, matches: list[SegmentMatch], *, previous_version: Optional[str],
                          model_version: str, run_date: date) -> DataFrame:
    """The ``segment_matches`` rows of a train run: which active-model segment each segment took its id from."""
    rows = [(m.segment, previous_version if m.previous_segment is not None else None, m.previous_segment,
             m.distance) for m in matches]
    frame = spark.createDataFrame(
        rows, "segment int, previous_model_version string, previous_segment int, distance double")
    return frame.select("*", F.lit(model_version).alias("model_version"), F.lit(run_date).alias("run_date"))


MODEL_VERSIONS_SCHEMA = ("version string, status string, created_at string, input string, trained_run_date date, "
                         "rows long, sample_rows long, epochs_run long, silhouette double, "
                         "silhouette_input double, davies_bouldin double, matched_against string")


def model_versions_frame(spark: SparkSession, manifests: list[dict], *, active: Optional[str]) -> DataFrame:
    """One ``model_versions`` row per model bundle: what it was trained on, how good it is, whether it is active."""
    rows = [(
        m["version"], "active" if m["version"] == active else "retired", m["created_at"], m["input"],
        date.fromisoformat(m["run_date"]), m.get("rows"), m["sample_rows"], m["epochs_run"],
        m["metrics"]["silhouette"], m["metrics"]["silhouette_input"], m["metrics"]["davies_bouldin"],
        m.get("matched_against"),
    ) for m in manifests]
    return spark.createDataFrame(rows, MODEL_VERSIONS_SCHEMA)


def run_metrics_row(*, run_kind: str, run_date: date, model_version: str, source: str, k: int,
                    counts: dict[str, int], metrics: dict[str, Optional[float]],
                    seconds: dict[str, float]) -> dict[str, object]:
    """One ``run_metrics`` row: what ran, on what, how many rows, how good, how long per stage."""
    row: dict[str, object] = {
        "model_version": model_version, "run_kind": run_kind, "input": source,
        "finished_at": datetime.now(timezone.utc).replace(tzinfo=None), "k": k, "run_date": run_date,
    }
    row.update({name: counts.get(name) for name in COUNTS})
    row.update({name: _float_or_none(metrics.get(name)) for name in SCORES})
    row.update({f"seconds_{stage}": _float_or_none(seconds.get(stage)) for stage in STAGES})
    return row


def run_metrics_frame(spark: SparkSession, row: dict[str, object]) -> DataFrame:
    """The one-row ``run_metrics`` DataFrame for :func:`run_metrics_row`."""
    return spark.createDataFrame([tuple(row[f.name] for f in RUN_METRICS_SCHEMA.fields)], RUN_METRICS_SCHEMA)


def _float_or_none(value: object) -> Optional[float]:
    return None if value is None else float(value)
