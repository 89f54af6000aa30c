"""The train job: snapshot -> features -> autoencoder -> latent vectors -> segments -> tables."""

from __future__ import annotations

import logging
from datetime import date, datetime, timezone
from pathlib import Path

import numpy as np
from pyspark import StorageLevel
from pyspark.ml.functions import vector_to_array
from pyspark.sql import DataFrame, SparkSession

from custseg import io, model_store, outputs
from custseg.catalog import open_catalog_in_background
from custseg.clustering import assign_segments, fit_segmentation, with_latent_vector
from custseg.config import JobConfig
from custseg.encode import encode
from custseg.features import FEATURES_COL, build_feature_pipeline, feature_names, transform_features
from custseg.publish import commit_run, stage_run_tables
from custseg.snapshot import effective_config, read_snapshot
from custseg.timing import StageTimer

log = logging.getLogger("custseg")


def run(spark: SparkSession, config: JobConfig, *, run_date: date) -> outputs.RunResult:
    """Train a model version on the configured snapshot and write the run's tables.

    Parameters
    ----------
    spark : the job's session, with the catalog of ``config.output``.
    config : the validated job config.
    run_date : the date the outputs are filed under; re-running it replaces it.
    """
    config = effective_config(config)
    columns = config.columns
    timer = StageTimer()
    version = model_store.new_version()
    log.info("train run %s, model version %s, config %s", run_date, version, config.to_dict())
    with timer.stage("read") as facts:
        snapshot = read_snapshot(spark, config, k=config.clustering.k)
        facts.update(rows=snapshot.rows_read, quarantined=snapshot.rows_quarantined,
                     unseen_values=snapshot.values_unseen)
    catalog_ready = open_catalog_in_background(spark, config.output.database)

    with timer.stage("features") as facts:
        feature_model = build_feature_pipeline(columns, encoding=config.features.encoding).fit(snapshot.customers)
        featured = transform_features(feature_model, snapshot.customers)
        names = feature_names(columns, feature_model, encoding=config.features.encoding)
        facts.update(features=len(names))

    with timer.stage("train") as facts:
        from custseg import autoencoder  # TensorFlow is imported on the driver only, and only here.

        sample = training_sample(featured, rows=snapshot.rows_read, limit=config.autoencoder.sample_rows,
                                 seed=config.seed)
        trained = autoencoder.train_autoencoder(sample, settings=config.autoencoder, seed=config.seed)
        weights = autoencoder.export_weights(trained.model)
        facts.update(rows=len(sample), epochs=trained.epochs_run)

    with timer.stage("encode") as facts:
        encoded = with_latent_vector(encode(featured, weights=weights, features_col=FEATURES_COL))
        encoded = encoded.persist(StorageLevel.MEMORY_AND_DISK)
        facts.update(rows=encoded.count())

    with timer.stage("cluster") as facts:
        segmentation = fit_segmentation(encoded, settings=config.clustering, seed=config.seed)
        segmented = assign_segments(encoded, segmentation).persist(StorageLevel.MEMORY_AND_DISK)
        rows_segmented = segmented.count()
        encoded.unpersist()
        facts.update(rows=rows_segmented, k=len(segmentation.segment_of_cluster))
    snapshot.check_accounting(rows_segmented)

    with timer.stage("metrics"):
        measured = outputs.measure(segmented, columns)

    with timer.stage("write") as facts:
        catalog_ready.result()
        bundle = _save_bundle(
            config, version=version, run_date=run_date, feature_model=feature_model, trained=trained,
            weights=weights, segmentation=segmentation, metrics=measured.metrics, feature_names=names,
        )
        tables = outputs.run_tables(
            segmented=segmented, rejected=snapshot.rejected, measured=measured, columns=columns, model_version=version, run_date=run_date,
        )
        commit = stage_run_tables(spark, tables, database=config.output.database, run_date=run_date,
                                  model_version=version, run_id=version)
        facts.update(tables=len(commit.tables))

    counts = dict(rows_read=snapshot.rows_read, rows_segmented=rows_segmented,
                  rows_quarantined=snapshot.rows_quarantined, values_unseen=snapshot.values_unseen,
                  sample_rows=len(sample), epochs_run=trained.epochs_run)
    row = outputs.run_metrics_row(
        run_kind="train", run_date=run_date, model_version=version, source=config.input.path or "generated",
        k=len(segmentation.segment_of_cluster), counts=counts, metrics={**measured.metrics, **measured.agreement.scores},
        seconds={**timer.seconds, "total": timer.total},
    )
    written = commit_run(spark, commit, database=config.output.database, metrics=row)
    # The active model changes only after every table has.
    model_store.set_active(bundle.parent, version)
    snapshot.release()
    segmented.unpersist()
    return outputs.RunResult(model_version=version, bundle=bundle, metrics=row, tables=written)


def training_sample(featured: DataFrame, *, rows: int, limit: int, seed: int) -> np.ndarray:
    """A seeded sample of at most ``limit`` feature vectors, moved to the driver through Arrow."""
    fraction = min(1.0, 1.1 * limit / rows)
    sampled = featured.sample(fraction=fraction, seed=seed) if fraction < 1.0 else featured
    table = sampled.select(vector_to_array(FEATURES_COL, "float32").alias("f")).limit(limit).toArrow()
    vectors = table.column("f").combine_chunks()
    return vectors.flatten().to_numpy().reshape(len(vectors), -1)


def _save_bundle(config: JobConfig, *, version: str, run_date: date, feature_model, trained, weights,
                 segmentation, metrics: dict[str, float], feature_names: list[str]) -> Path:
    model_dir = Path(config.output.warehouse_dir) / config.output.model_dir
    with model_store.new_bundle(model_dir.resolve(), version) as bundle:
        feature_model.save(str(bundle / model_store.FEATURES))
        trained.model.save(bundle / model_store.KERAS_MODEL)
        weights.save(bundle / model_store.ENCODER_WEIGHTS)
        segmentation.model.save(str(bundle / model_store.KMEANS))
        model_store.write_manifest(bundle, {
            "version": version,
            "created_at": datetime.now(timezone.utc).isoformat(),
            "run_date": run_date.isoformat(),
            "input": config.input.path or "generated",
            "config": config.to_dict(),
            "input_schema": io.customer_schema(config.columns).jsonValue(),
            "feature_names": feature_names,
            "sample_rows": trained.sample_rows,
            "epochs_run": trained.epochs_run,
            "history": trained.history,
            "segment_of_cluster": list(segmentation.segment_of_cluster),
            "centroids": segmentation.centroids.tolist(),
            "metrics": metrics,
            "libraries": model_store.library_versions(),
        })
    return model_dir.resolve() / version
