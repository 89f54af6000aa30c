"""The score job: a saved model version applied to a new snapshot -> segments -> tables."""

from __future__ import annotations

import dataclasses
import logging
from datetime import date
from pathlib import Path

from pyspark.sql import DataFrame, SparkSession

from custseg import gates, model_store, outputs
from custseg.clustering import assign_segments
from custseg.config import JobConfig
from custseg.drift import drift_rows, overall_verdict
from custseg.encode import encode
from custseg.features import FEATURES_COL, transform_features
from custseg.frame_store import FrameStore
from custseg.publish import commit_run, stage_run_tables
from custseg.report import publish_run_report
from custseg.snapshot import effective_config, read_snapshot
from custseg.timing import StageTimer

log = logging.getLogger("custseg")


def run(spark: SparkSession, config: JobConfig, *, run_date: date,
        model_version: str | None = None) -> outputs.RunResult:
    """Segment the configured snapshot with a saved model and write the run's tables.

    Parameters
    ----------
    spark : the job's session, with the catalog of ``config.output``.
    config : the validated job config; its columns section is replaced by the one the model was
        trained on, since that is what the model can read.
    run_date : the date the outputs are filed under; re-running it replaces it and nothing else.
    model_version : the model to apply; the active one when None.
    """
    with FrameStore(spark, cache=config.spark.cache) as store:
        return _score(spark, config, store, run_date=run_date, model_version=model_version)


def _score(spark: SparkSession, config: JobConfig, store: FrameStore, *, run_date: date,
           model_version: str | None) -> outputs.RunResult:
    timer = StageTimer()
    model_dir = (Path(config.output.warehouse_dir) / config.output.model_dir).resolve()
    model = model_store.load_model(model_dir, model_version)
    config = effective_config(dataclasses.replace(config, columns=model.columns))
    columns = config.columns
    log.info("score run %s with model version %s, config %s", run_date, model.version, config.to_dict())
    with timer.stage("read") as facts:
        snapshot = read_snapshot(spark, config, store)
        facts.update(rows=snapshot.rows_read, quarantined=snapshot.rows_quarantined,
                     unseen_values=snapshot.values_unseen)

    with timer.stage("features"):
        featured = transform_features(model.features, snapshot.customers)

    with timer.stage("encode") as facts:
        # Latent vector and segment of every customer in one pass, kept once.
        encoded = encode(featured, weights=model.weights, features_col=FEATURES_COL)
        segmented = store.keep(outputs.without_features(assign_segments(encoded, model.segmentation)), "segmented")
        rows_segmented = segmented.count()
        facts.update(rows=rows_segmented)
    snapshot.check_accounting(rows_segmented)

    with timer.stage("metrics"):
        measured = outputs.measure(segmented, columns, model.features, rows=rows_segmented,
                                   settings=config.metrics, seed=config.seed)
        drifted = _drift(segmented, model, config, measured)
    gates.enforce(gates.failed_gates(measured.profiles.sizes, silhouette=measured.metrics["silhouette"],
                                     drift_verdict=overall_verdict(drifted) if drifted else None,
                                     gates=config.gates), config.gates)

    with timer.stage("write") as facts:
        tables = outputs.run_tables(
            segmented=segmented, rejected=snapshot.rejected, measured=measured, columns=columns,
            model_version=model.version, run_date=run_date,
        )
        tables["drift"] = outputs.drift_frame(spark, drifted, model_version=model.version, run_date=run_date)
        tables["segment_names"] = outputs.segment_names_frame(
            spark, model.segmentation.segment_ids, config.segments.names, model_version=model.version,
            run_date=run_date)
        commit = stage_run_tables(spark, tables, database=config.output.database, run_date=run_date,
                                  model_version=model.version, run_id=model_store.new_version(),
                                  rows=rows_segmented)
        facts.update(tables=len(commit.tables))

    counts = dict(rows_read=snapshot.rows_read, rows_segmented=rows_segmented,
                  rows_quarantined=snapshot.rows_quarantined, values_unseen=snapshot.values_unseen)
    row = outputs.run_metrics_row(
        run_kind="score", run_date=run_date, model_version=model.version, source=config.input.path or "generated",
        k=len(model.segmentation.segment_of_cluster), counts=counts,
        metrics={**measured.metrics, **measured.agreement.scores},
        seconds={**timer.seconds, "total": timer.total},
    )
    written = commit_run(spark, commit, database=config.output.database, metrics=row)
    report = publish_run_report(spark, config, run_date=run_date, history=model.manifest.get("history", []))
    return outputs.RunResult(model_version=model.version, bundle=model.bundle, metrics=row, tables=written,
                             report=report)


def _drift(segmented: DataFrame, model: model_store.SavedModel, config: JobConfig,
           measured: outputs.Measurements) -> list[tuple]:
    reference = model.manifest.get("reference")
    if reference is None:
        log.info("no drift measured: model %s keeps no reference profile of its training snapshot", model.version)
        return []
    rows = drift_rows(segmented, reference, config.drift, measured.profiles,
                      mean_error=measured.metrics["reconstruction_mse"])
    log.info("drift against the training snapshot of model %s: %s (%s)", model.version, overall_verdict(rows),
             ", ".join(f"{row[0]} {row[-1]}" for row in rows))
    return rows
