"""The train job: snapshot -> features -> autoencoder -> latent vectors -> segments -> tables."""

from __future__ import annotations

import dataclasses
import logging
from dataclasses import dataclass
from datetime import date, datetime, timezone
from pathlib import Path

import numpy as np
from pyspark import StorageLevel
from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F

from custseg import gates, io, model_store, outputs
from custseg.clustering import (
    SegmentMatch,
    assign_segments,
    fit_segmentation,
    input_centroids,
    match_segments,
    with_latent_vector,
)
from custseg.config import JobConfig
from custseg.drift import reference_profile
from custseg.encode import encode
from custseg.features import FEATURES_COL, FittedFeatures, feature_names, fit_feature_pipeline, transform_features
from custseg.frame_store import FrameStore
from custseg.publish import commit_run, publish_model_versions, stage_run_tables
from custseg.report import publish_run_report
from custseg.sampling import bounded_sample
from custseg.snapshot import effective_config, read_snapshot
from custseg.timing import StageTimer

log = logging.getLogger("custseg")


def run(spark: SparkSession, config: JobConfig, *, run_date: date, promote: bool = False) -> outputs.RunResult:
    """Train a model version on the configured snapshot and write the run's tables.

    Parameters
    ----------
    spark : the job's session, with the catalog of ``config.output``.
    config : the validated job config.
    run_date : the date the outputs are filed under; re-running it replaces it.
    promote : make the new model active even if ``gates.promote`` is manual or a gate only warned.
    """
    with FrameStore(spark, cache=config.spark.cache) as store:
        return _train(spark, config, store, run_date=run_date, promote=promote)


def _train(spark: SparkSession, config: JobConfig, store: FrameStore, *, run_date: date,
           promote: bool) -> outputs.RunResult:
    config = effective_config(config)
    columns = config.columns
    timer = StageTimer()
    version = model_store.new_version()
    log.info("train run %s, model version %s, config %s", run_date, version, config.to_dict())
    with timer.stage("read") as facts:
        snapshot = read_snapshot(spark, config, store, k=config.clustering.k)
        facts.update(rows=snapshot.rows_read, quarantined=snapshot.rows_quarantined,
                     unseen_values=snapshot.values_unseen)

    with timer.stage("features") as facts:
        feature_model = fit_feature_pipeline(columns, snapshot.customers, encoding=config.features.encoding)
        features = FittedFeatures.of(feature_model)
        featured = transform_features(features, snapshot.customers)
        names = feature_names(columns, features, encoding=config.features.encoding)
        facts.update(features=len(names))

    with timer.stage("train") as facts:
        from custseg import autoencoder  # TensorFlow is imported on the driver only, and only here.

        sample = training_sample(features, snapshot.customers, rows=snapshot.rows_usable,
                                 limit=config.autoencoder.sample_rows, seed=config.seed)
        trained = autoencoder.train_autoencoder(sample, settings=config.autoencoder, seed=config.seed)
        weights = autoencoder.export_weights(trained.model)
        if config.autoencoder.latent_space == "principal":
            weights = autoencoder.principal_axes(weights, sample)
        facts.update(rows=len(sample), epochs=trained.epochs_run)

    with timer.stage("cluster") as facts:
        # Only the bounded sample that KMeans fits on is encoded here; every customer is encoded
        # and assigned in one pass below, so that the job caches one frame of them, not two.
        fitting = sampled_features(features, snapshot.customers, rows=snapshot.rows_usable,
                                   limit=config.clustering.sample_rows, seed=config.seed)
        fitting = with_latent_vector(encode(fitting, weights=weights, features_col=FEATURES_COL))
        fitting = fitting.persist(StorageLevel.MEMORY_AND_DISK)
        fitting_rows = fitting.count()
        segmentation = fit_segmentation(fitting, settings=config.clustering, seed=config.seed, rows=fitting_rows)
        centroids = input_centroids(fitting, segmentation, features_col=FEATURES_COL)
        fitting.unpersist()
        ids = _ids_of_active_model(config, feature_names=names, centroids=centroids)
        segmentation = segmentation.renumbered(ids.new_id)
        facts.update(rows=fitting_rows, k=len(segmentation.segment_of_cluster))

    with timer.stage("encode") as facts:
        encoded = encode(featured, weights=weights, features_col=FEATURES_COL)
        segmented = store.keep(outputs.without_features(assign_segments(encoded, segmentation)), "segmented")
        rows_segmented = segmented.count()
        facts.update(rows=rows_segmented)
    snapshot.check_accounting(rows_segmented)

    with timer.stage("metrics"):
        measured = outputs.measure(segmented, columns, features, rows=rows_segmented,
                                   settings=config.metrics, seed=config.seed)
        reference = reference_profile(segmented, columns, measured.profiles,
                                      mean_error=measured.metrics["reconstruction_mse"], rows=rows_segmented,
                                      sample_rows=config.drift.reference_rows, seed=config.seed)
    passed = gates.enforce(gates.failed_gates(measured.profiles.sizes, silhouette=measured.metrics["silhouette"],
                                              drift_verdict=None, gates=config.gates), config.gates)

    with timer.stage("write") as facts:
        bundle = _save_bundle(
            config, version=version, run_date=run_date, feature_model=feature_model, features=features,
            trained=trained, weights=weights, segmentation=segmentation, metrics=measured.metrics,
            feature_names=names, ids=ids, reference=reference, rows=rows_segmented,
        )
        tables = outputs.run_tables(segmented=segmented, rejected=snapshot.rejected, measured=measured,
                                    columns=columns, model_version=version, run_date=run_date)
        # Drift is measured by score runs against this run's snapshot: none for the training run itself.
        tables["drift"] = outputs.drift_frame(spark, [], model_version=version, run_date=run_date)
        tables["segment_names"] = outputs.segment_names_frame(
            spark, segmentation.segment_ids, config.segments.names, model_version=version, run_date=run_date)
        tables["segment_matches"] = outputs.segment_matches_frame(
            spark, ids.matches, previous_version=ids.previous_version, model_version=version, run_date=run_date)
        commit = stage_run_tables(spark, tables, database=config.output.database, run_date=run_date,
                                  model_version=version, run_id=version, rows=rows_segmented)
        facts.update(tables=len(commit.tables))

    counts = dict(rows_read=snapshot.rows_read, rows_segmented=rows_segmented,
                  rows_quarantined=snapshot.rows_quarantined, values_unseen=snapshot.values_unseen,
                  sample_rows=len(sample), epochs_run=trained.epochs_run)
    row = outputs.run_metrics_row(
        run_kind="train", run_date=run_date, model_version=version, source=config.input.path or "generated",
        k=len(segmentation.segment_of_cluster), counts=counts,
        metrics={**measured.metrics, **measured.agreement.scores},
        seconds={**timer.seconds, "total": timer.total},
    )
    written = commit_run(spark, commit, database=config.output.database, metrics=row)
    # The active model changes only after every table has.
    if promote or (passed and config.gates.promote == "auto"):
        model_store.set_active(bundle.parent, version)
    else:
        log.info("model %s is not active (gates.promote: %s); promote it with ./spark-submit.sh promote", version,
                 config.gates.promote)
    written += publish_model_versions(spark, database=config.output.database, model_dir=bundle.parent)
    # Read back from the committed tables, so the report shows what queries of this run date return.
    report = publish_run_report(spark, config, run_date=run_date, history=trained.history)
    return outputs.RunResult(model_version=version, bundle=bundle, metrics=row, tables=written,
                             report=report)


def training_sample(features: FittedFeatures, customers: DataFrame, *, rows: int, limit: int,
                    seed: int) -> np.ndarray:
    """:func:`sampled_features` as an array, moved to the driver through Arrow."""
    sampled = sampled_features(features, customers, rows=rows, limit=limit, seed=seed)
    table = sampled.select(F.col(FEATURES_COL).cast("array<float>").alias("f")).toArrow()
    vectors = table.column("f").combine_chunks()
    return vectors.flatten().to_numpy().reshape(len(vectors), -1)


def sampled_features(features: FittedFeatures, customers: DataFrame, *, rows: int, limit: int,
                     seed: int) -> DataFrame:
    """The features of a seeded sample of at most ``limit`` of the ``rows`` customers.

    The customers are sampled first: Spark computes a projection below a sample taken of it, so a
    sample of featured customers would compute every customer's features (RESULTS.md has the times).
    """
    return transform_features(features, bounded_sample(customers, rows=rows, limit=limit, seed=seed))


@dataclass(frozen=True)
class _SegmentIds:
    new_id: dict[int, int]  # provisional (size-ordered) id -> id used
    matches: list[SegmentMatch]
    previous_version: str | None
    centroids: dict[int, list[float]]  # input-space centroid by id used


def _ids_of_active_model(config: JobConfig, *, feature_names: list[str],
                         centroids: dict[int, np.ndarray]) -> _SegmentIds:
    """Segment ids taken over from the active model where segments match, else the size-ordered ones."""
    model_dir = (Path(config.output.warehouse_dir) / config.output.model_dir).resolve()
    active = model_store.active_version(model_dir)
    manifest = model_store.read_manifest(model_dir / active) if active else {}
    previous = manifest.get("input_centroids")
    if previous is None or manifest.get("feature_names") != feature_names:
        if active:
            log.info("segment ids numbered by size: active model %s has other features to match on", active)
        matches = [SegmentMatch(segment=s, previous_segment=None, distance=None) for s in sorted(centroids)]
        active = None
    else:
        matches = match_segments(centroids, {int(s): np.array(c) for s, c in previous.items()},
                                 max_distance=config.clustering.match_max_distance)
        log.info("segment ids matched to model %s: %s", active, ", ".join(
            f"{m.segment}" + (f" ({m.distance:.3f})" if m.distance is not None else " (new)") for m in matches))
    new_id = {provisional: m.segment for provisional, m in zip(sorted(centroids), matches)}
    return _SegmentIds(new_id=new_id, matches=matches, previous_version=active,
                       centroids={new_id[s]: c.tolist() for s, c in centroids.items()})


def _save_bundle(config: JobConfig, *, version: str, run_date: date, feature_model, features, trained, weights,
                 segmentation, metrics: dict[str, float], feature_names: list[str], ids: _SegmentIds,
                 reference: dict, rows: int) -> Path:
    model_dir = Path(config.output.warehouse_dir) / config.output.model_dir
    with model_store.new_bundle(model_dir.resolve(), version) as bundle:
        feature_model.save(str(bundle / model_store.FEATURES))
        (bundle / model_store.FEATURE_PARAMETERS).write_text(features.to_json(), encoding="utf-8")
        trained.model.save(bundle / model_store.KERAS_MODEL)
        weights.save(bundle / model_store.ENCODER_WEIGHTS)
        segmentation.model.save(str(bundle / model_store.KMEANS))
        model_store.write_manifest(bundle, {
            "version": version,
            "created_at": datetime.now(timezone.utc).isoformat(),
            "run_date": run_date.isoformat(),
            "rows": rows,
            "input": config.input.path or "generated",
            "config": config.to_dict(),
            "input_schema": io.customer_schema(config.columns).jsonValue(),
            "feature_names": feature_names,
            "sample_rows": trained.sample_rows,
            "epochs_run": trained.epochs_run,
            "history": trained.history,
            "segment_of_cluster": list(segmentation.segment_of_cluster),
            "centroids": segmentation.centroids.tolist(),
            "segment_ids": segmentation.segment_ids,
            "input_centroids": {str(s): c for s, c in sorted(ids.centroids.items())},
            "matched_against": ids.previous_version,
            "segment_matches": [dataclasses.asdict(m) for m in ids.matches],
            "reference": reference,
            "metrics": metrics,
            "libraries": model_store.library_versions(),
        })
    return model_dir.resolve() / version
