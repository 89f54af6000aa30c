"""The train job: snapshot -> features -> autoencoder -> latent vectors -> segments -> tables."""

from __future__ import annotations

import dataclasses
import logging
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import date, datetime, timezone
from pathlib import Path

import numpy as np
from pyspark import StorageLevel
from pyspark.ml.functions import vector_to_array
from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F

from custseg import cleaning, io, model_store, outputs, quarantine
from custseg.catalog import RunCommit
from custseg.clustering import LATENT_VECTOR_COL, assign_segments, fit_segmentation, with_latent_vector
from custseg.config import ConfigError, JobConfig
from custseg.encode import encode
from custseg.features import FEATURES_COL, build_feature_pipeline, feature_names, transform_features
from custseg.generator import PLANTED_SEGMENT_COL, generate_customers
from custseg.metrics import inertia, label_agreement, reconstruction, separation, silhouette
from custseg.profiles import segment_profiles
from custseg.timing import StageTimer

log = logging.getLogger("custseg")


@dataclass(frozen=True)
class TrainResult:
    """What a train run produced: the model version, its bundle and its metrics row."""

    model_version: str
    bundle: Path
    metrics: dict[str, object]
    tables: tuple[str, ...]


def run(spark: SparkSession, config: JobConfig, *, run_date: date) -> TrainResult:
    """Train a model version on the configured snapshot and write the run's tables.

    Parameters
    ----------
    spark : the job's session, with the catalog of ``config.output``.
    config : the validated job config.
    run_date : the date the outputs are filed under; re-running it replaces it.
    """
    config = _with_generated_label(config)
    columns = config.columns
    timer = StageTimer()
    version = model_store.new_version()
    log.info("train run %s, model version %s, config %s", run_date, version, config.to_dict())
    with timer.stage("read") as facts:
        flagged = quarantine.flag_rows(_read(spark, config), columns=columns).persist(StorageLevel.MEMORY_AND_DISK)
        counts = flagged.agg(F.count("*").alias("rows"), F.count(quarantine.REASON_CODE_COL).alias("bad")).first()
        rows_read, rows_quarantined = counts["rows"], counts["bad"]
        _check_usable(rows_read, rows_quarantined, config)
        customers = quarantine.accepted_rows(flagged, columns=columns)
        rejected = quarantine.rejected_rows(flagged)
        values_unseen = int(customers.agg(F.sum(cleaning.UNSEEN_COL)).first()[0] or 0)
        _check_k(customers, config)
        facts.update(rows=rows_read, quarantined=rows_quarantined, unseen_values=values_unseen)
    # Opening the metastore takes seconds (more when Derby creates it): do it while the job trains,
    # once the input has passed its checks, so that a rejected input leaves no metastore behind.
    background = ThreadPoolExecutor(max_workers=1)
    catalog_ready = background.submit(spark.catalog.databaseExists, config.output.database)
    background.shutdown(wait=False)

    with timer.stage("features") as facts:
        feature_model = build_feature_pipeline(columns, encoding=config.features.encoding).fit(customers)
        featured = transform_features(feature_model, customers)
        names = feature_names(columns, feature_model, encoding=config.features.encoding)
        facts.update(features=len(names))

    with timer.stage("train") as facts:
        from custseg import autoencoder  # TensorFlow is imported on the driver only, and only here.

        sample = training_sample(featured, rows=rows_read, limit=config.autoencoder.sample_rows, seed=config.seed)
        trained = autoencoder.train_autoencoder(sample, settings=config.autoencoder, seed=config.seed)
        weights = autoencoder.export_weights(trained.model)
        facts.update(rows=len(sample), epochs=trained.epochs_run)

    with timer.stage("encode") as facts:
        encoded = with_latent_vector(encode(featured, weights=weights, features_col=FEATURES_COL))
        encoded = encoded.persist(StorageLevel.MEMORY_AND_DISK)
        facts.update(rows=encoded.count())
    flagged.unpersist()

    with timer.stage("cluster") as facts:
        segmentation = fit_segmentation(encoded, settings=config.clustering, seed=config.seed)
        segmented = assign_segments(encoded, segmentation).persist(StorageLevel.MEMORY_AND_DISK)
        rows_segmented = segmented.count()
        encoded.unpersist()
        facts.update(rows=rows_segmented, k=len(segmentation.segment_of_cluster))
    if rows_read != rows_segmented + rows_quarantined:
        raise RuntimeError(f"{rows_read:,} rows read but {rows_segmented:,} segmented and {rows_quarantined:,} "
                           "quarantined; nothing was written")

    with timer.stage("metrics"):
        metrics = _quality_metrics(segmented)
        profiles = segment_profiles(segmented, numeric_cols=columns.numeric, categorical_cols=columns.categorical)
        agreement = _label_agreement(segmented, config)

    with timer.stage("write") as facts:
        catalog_ready.result()
        bundle = _save_bundle(
            config, version=version, run_date=run_date, feature_model=feature_model, trained=trained,
            weights=weights, segmentation=segmentation, metrics=metrics, feature_names=names,
        )
        tables = outputs.run_tables(
            segmented=segmented, rejected=rejected, profiles=profiles, agreement=agreement, columns=columns,
            model_version=version, run_date=run_date,
        )
        commit = RunCommit(spark, database=config.output.database, run_date=run_date, run_id=version)
        for name, table in tables.items():
            commit.stage(name, table)
            log.info("staged %s.%s for run date %s", config.output.database, name, run_date)
        facts.update(tables=len(tables) + 1)

    counts = dict(rows_read=rows_read, rows_segmented=rows_segmented, rows_quarantined=rows_quarantined,
                  values_unseen=values_unseen, sample_rows=len(sample), epochs_run=trained.epochs_run)
    row = outputs.run_metrics_row(
        run_kind="train", run_date=run_date, model_version=version, source=config.input.path or "generated",
        k=len(segmentation.segment_of_cluster), counts=counts, metrics={**metrics, **agreement.scores},
        seconds={**timer.seconds, "total": timer.total},
    )
    # run_metrics is swapped in last, and the active model changes only after every table has.
    commit.stage("run_metrics", outputs.run_metrics_frame(spark, row))
    commit.commit()
    model_store.set_active(bundle.parent, version)
    segmented.unpersist()
    written = tuple(f"{config.output.database}.{name}" for name in [*tables, "run_metrics"])
    return TrainResult(model_version=version, bundle=bundle, metrics=row, tables=written)


def training_sample(featured: DataFrame, *, rows: int, limit: int, seed: int) -> np.ndarray:
    """A seeded sample of at most ``limit`` feature vectors, moved to the driver through Arrow."""
    fraction = min(1.0, 1.1 * limit / rows)
    sampled = featured.sample(fraction=fraction, seed=seed) if fraction < 1.0 else featured
    table = sampled.select(vector_to_array(FEATURES_COL, "float32").alias("f")).limit(limit).toArrow()
    vectors = table.column("f").combine_chunks()
    return vectors.flatten().to_numpy().reshape(len(vectors), -1)


def _with_generated_label(config: JobConfig) -> JobConfig:
    # Generated customers carry their planted segment, which is the label to evaluate against.
    if config.input.path is not None:
        return config
    return dataclasses.replace(config, columns=dataclasses.replace(config.columns, label=PLANTED_SEGMENT_COL))


def _read(spark: SparkSession, config: JobConfig) -> DataFrame:
    if config.input.path is not None:
        return io.read_customers(spark, source=config.input, columns=config.columns)
    log.info("no input given: segmenting %s generated customers", f"{config.input.generated_rows:,}")
    generated = generate_customers(spark, rows=config.input.generated_rows, seed=config.seed)
    return io.raw_customers(generated, columns=config.columns, origin="generated customers")


def _check_usable(rows_read: int, rows_quarantined: int, config: JobConfig) -> None:
    source = config.input.path or "generated customers"
    if rows_read == 0:
        raise io.InputError(f"input {source} is empty; point --input at a snapshot with customers")
    if rows_read == rows_quarantined:
        raise io.InputError(f"input {source} has no usable rows (all {rows_read:,} quarantined); "
                            "check the columns section of the config against the data")


def _check_k(customers: DataFrame, config: JobConfig) -> None:
    # KMeans cannot find k segments among fewer distinct customers; looking at k of them is enough.
    k = config.clustering.k
    distinct = customers.select(*config.columns.inputs).distinct().limit(k).count()
    if distinct < k:
        raise ConfigError(f"clustering.k is {k} but the input has only {distinct} distinct usable rows; "
                          "lower clustering.k or use a larger snapshot")


def _quality_metrics(segmented: DataFrame) -> dict[str, float]:
    spread = separation(segmented)
    mse, mae = reconstruction(segmented)
    return {
        "silhouette": silhouette(segmented, vector_col=LATENT_VECTOR_COL),
        "silhouette_input": silhouette(segmented, vector_col=FEATURES_COL),
        "davies_bouldin": spread.davies_bouldin,
        "calinski_harabasz": spread.calinski_harabasz,
        "inertia": inertia(segmented),
        "reconstruction_mse": mse,
        "reconstruction_mae": mae,
    }


def _label_agreement(segmented: DataFrame, config: JobConfig) -> outputs.Agreement:
    label = config.columns.label
    if not label or segmented.where(F.col(label).isNotNull()).limit(1).count() == 0:
        return outputs.Agreement(label=None, result=None)
    return outputs.Agreement(label=label, result=label_agreement(segmented, label_col=label))


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
