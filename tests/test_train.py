"""The train job end to end on generated customers, in the test session: tables, counts, metrics."""

from __future__ import annotations

import dataclasses
import datetime as dt
from pathlib import Path
from urllib.parse import urlparse

import numpy as np
import pandas as pd
import pytest
from pyspark import StorageLevel
from pyspark.ml import PipelineModel
from pyspark.sql import functions as F
from pyspark.testing import assertDataFrameEqual
from sklearn.metrics import silhouette_score

from custseg import io, model_store, train
from custseg.config import config_from_dict
from custseg.encode import AutoencoderWeights
from custseg.features import FEATURES_COL, FittedFeatures, fit_feature_pipeline, transform_features
from custseg.gates import GateFailure
from custseg.report import report_path
from custseg.generator import generate_customers
from custseg.frame_store import SCRATCH_DIR, FrameStore
from custseg.sampling import bounded_sample
from custseg.snapshot import effective_config, read_snapshot
from support import with_persisted_levels

ROWS = 3000
DAY1, DAY2, DAY3, DAY4 = (dt.date(2026, 1, day) for day in (1, 2, 3, 4))


@pytest.fixture(scope="module")
def config(warehouse):
    return config_from_dict({
        "seed": 7,
        "input": {"generated_rows": ROWS},
        # Enough epochs of 7 batches each for the linear autoencoder to converge, and the default ten
        # KMeans starts: a retrain with another seed needs both to find the same segments.
        "autoencoder": {"sample_rows": 2000, "epochs": 40},
        "metrics": {"silhouette_rows": 1000, "median_rows": 1000},
        "report": {"sample_rows": 300},
        "output": {"database": "e2e", "warehouse_dir": str(warehouse)},
    })


@pytest.fixture(scope="module")
def first_run_caching(spark, config):
    """The first train run, the storage levels it cached at, and the files of each frame it kept, by name."""
    files = {}
    keep = FrameStore.keep

    def recording(store, df, name):
        kept = keep(store, df, name)
        files[name] = kept.inputFiles()
        return kept

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(FrameStore, "keep", recording)
        run, levels = with_persisted_levels(lambda: train.run(spark, config, run_date=DAY1))
    return run, levels, files


@pytest.fixture(scope="module")
def first_run(first_run_caching):
    return first_run_caching[0]


@pytest.fixture(scope="module")
def second_run(spark, config, first_run):
    return train.run(spark, config, run_date=DAY2)


def test_the_samples_hold_the_features_a_sample_of_featured_customers_holds(spark, config):
    # The job samples the customers before computing their features: the same rows in the same order.
    with FrameStore(spark, cache=config.spark.cache) as store:
        snapshot = read_snapshot(spark, effective_config(config), store)
        customers, rows = snapshot.customers, snapshot.rows_usable
        model = FittedFeatures.of(fit_feature_pipeline(config.columns, customers, encoding="onehot"))
        expected = bounded_sample(transform_features(model, customers), rows=rows, limit=500, seed=7).toPandas()
        sampled = train.sampled_features(model, customers, rows=rows, limit=500, seed=7).toPandas()
        training = train.training_sample(model, customers, rows=rows, limit=500, seed=7)
    assert len(sampled) == 500
    pd.testing.assert_frame_equal(sampled, expected)
    np.testing.assert_array_equal(training, np.stack(expected[FEATURES_COL]).astype(np.float32))


def test_a_train_run_keeps_its_customers_in_files_and_caches_only_its_samples_in_memory(first_run_caching, warehouse):
    # spark.cache is the default, files: the snapshot and the segmented customers as Parquet files,
    # removed with the run; the bounded samples that KMeans fits on (the encoded sample, then its
    # latent vectors) cached in memory.
    _, levels, files = first_run_caching
    assert levels == [StorageLevel.MEMORY_AND_DISK, StorageLevel.MEMORY_AND_DISK]
    assert set(files) == {"snapshot", "segmented"}
    for name, paths in files.items():
        local = [Path(urlparse(path).path) for path in paths]
        assert local and all(p.parent.name == name and p.parents[2] == warehouse / SCRATCH_DIR for p in local)
        assert not any(p.exists() for p in local)


@pytest.mark.parametrize("cache, levels", [("files", []), ("disk", [StorageLevel.DISK_ONLY]),
                                           ("memory_and_disk", [StorageLevel.MEMORY_AND_DISK])])
def test_the_snapshot_is_kept_where_the_config_says(spark, warehouse, config, cache, levels):
    chosen = effective_config(dataclasses.replace(config, spark=dataclasses.replace(config.spark, cache=cache)))
    scratch = warehouse / SCRATCH_DIR
    before = set(scratch.glob("*/snapshot/*.parquet"))
    with FrameStore(spark, cache=cache) as store:
        snapshot, persisted = with_persisted_levels(lambda: read_snapshot(spark, chosen, store))
        assert persisted == levels
        assert bool(set(scratch.glob("*/snapshot/*.parquet")) - before) == (cache == "files")
        assert snapshot.customers.count() == snapshot.rows_usable


def _segments(spark, run_date):
    return spark.table("e2e.customer_segments").where(F.col("run_date") == run_date)


def test_every_customer_is_segmented_once(spark, first_run):
    segments = _segments(spark, DAY1)
    summary = segments.agg(
        F.count("*").alias("rows"), F.countDistinct("customer_id").alias("ids"),
        F.min("segment").alias("low"), F.max("segment").alias("high"), F.min("distance").alias("closest"),
        F.min(F.size("latent")).alias("dim_low"), F.max(F.size("latent")).alias("dim_high"),
        F.countDistinct("model_version").alias("versions"), F.min("reconstruction_error").alias("err"),
    ).first()
    assert (summary.rows, summary.ids, summary.low, summary.high) == (ROWS, ROWS, 0, 6)
    assert (summary.dim_low, summary.dim_high, summary.versions) == (2, 2, 1)
    assert summary.closest >= 0 and summary.err >= 0
    assert segments.schema.simpleString() == (
        "struct<customer_id:string,segment:int,distance:double,latent:array<float>,"
        "reconstruction_error:double,model_version:string,run_date:date>"
    )


def test_segment_ids_are_numbered_by_size(spark, first_run):
    sizes = [r["count"] for r in _segments(spark, DAY1).groupBy("segment").count().orderBy("segment").collect()]
    assert sizes == sorted(sizes, reverse=True)


def test_run_metrics_hold_every_metric_and_the_identity(spark, first_run):
    row = spark.table("e2e.run_metrics").where(F.col("run_date") == DAY1).collect()
    assert len(row) == 1
    m = row[0].asDict()
    assert m["model_version"] == first_run.model_version
    assert m["rows_read"] == ROWS == m["rows_segmented"] + m["rows_quarantined"]
    assert m["rows_quarantined"] == spark.table("e2e.quarantine").where(F.col("run_date") == DAY1).count() == 0
    assert m["sample_rows"] == 2000 and 1 <= m["epochs_run"] <= 40 and m["k"] == 7
    assert -1 <= m["silhouette"] <= 1 and -1 <= m["silhouette_input"] <= 1
    assert m["davies_bouldin"] > 0 and m["calinski_harabasz"] > 0 and m["inertia"] > 0
    assert 0 < m["reconstruction_mae"] and 0 < m["reconstruction_mse"]
    # Generated customers are evaluated against the segments planted in them.
    assert 1 / 7 < m["purity"] <= 1 and 0 < m["nmi"] <= 1 and -1 <= m["ari"] <= 1
    for stage in ("read", "features", "train", "encode", "cluster", "metrics", "write", "total"):
        assert m[f"seconds_{stage}"] > 0
    assert m["seconds_total"] >= sum(m[f"seconds_{s}"] for s in ("read", "features", "train", "encode", "cluster"))


def test_inertia_and_distances_agree_with_the_stored_centroids(spark, first_run):
    centroids = np.array(model_store.read_manifest(first_run.bundle)["centroids"])
    rows = _segments(spark, DAY1).select("segment", "latent", "distance").collect()
    expected = [np.linalg.norm(np.array(r.latent, dtype=np.float64) - centroids[r.segment]) for r in rows]
    np.testing.assert_allclose([r.distance for r in rows], expected, rtol=1e-6, atol=1e-6)
    assert first_run.metrics["inertia"] == pytest.approx(float(np.sum(np.square(expected))), rel=1e-6)


def test_silhouette_is_estimated_from_a_sample_of_metrics_silhouette_rows(spark, first_run):
    rows = _segments(spark, DAY1).select("segment", "latent").collect()
    latent = np.array([r.latent for r in rows], dtype=np.float64)
    every_customer = silhouette_score(latent, [r.segment for r in rows], metric="sqeuclidean")
    # About 1,000 of the 3,000 customers: near the silhouette of all of them, but not it.
    assert first_run.metrics["silhouette"] == pytest.approx(every_customer, abs=0.03)
    assert first_run.metrics["silhouette"] != pytest.approx(every_customer, abs=1e-6)


def test_segment_medians_are_estimated_from_a_sample_of_metrics_median_rows(spark, config, first_run):
    numeric = config.columns.numeric
    with FrameStore(spark, cache=config.spark.cache) as store:
        snapshot = read_snapshot(spark, effective_config(config), store)
        ids = _segments(spark, DAY1).select(F.col("customer_id").alias(config.columns.id), "segment")
        values = snapshot.customers.join(ids, config.columns.id).select("segment", *numeric).toPandas()
    profiles = spark.table("e2e.segment_profiles").where((F.col("run_date") == DAY1) & F.col("level").isNull())
    sampled = {(r.segment, r.feature): r.median for r in profiles.collect()}
    segments = values.groupby("segment")
    assert sampled.keys() == {(segment, name) for segment in segments.groups for name in numeric}
    # About 1,000 of the 3,000 customers: each median near the middle of its segment's values, and
    # not every one the median of all of them.
    exact = {}
    for (segment, name), median in sampled.items():
        column = segments.get_group(segment)[name].dropna()
        assert (column < median).mean() <= 0.65 and (column <= median).mean() >= 0.35, (segment, name)
        exact[segment, name] = column.quantile(0.5, interpolation="lower")
    assert sampled != exact


def test_profiles_and_label_mapping_cover_all_customers(spark, first_run):
    profiles = spark.table("e2e.segment_profiles").where(F.col("run_date") == DAY1)
    sizes = profiles.select("segment", "segment_size").distinct().agg(F.sum("segment_size")).first()[0]
    assert sizes == ROWS
    shares = profiles.where(F.col("level").isNotNull()).groupBy("segment", "feature").agg(F.sum("share").alias("s"))
    assert shares.where(F.abs(F.col("s") - 1) > 1e-9).count() == 0
    features = {r.feature for r in profiles.select("feature").distinct().collect()}
    assert features == {"Age", "Work_Experience", "Family_Size", "Gender", "Ever_Married", "Graduated",
                        "Profession", "Var_1", "Spending_Score"}
    mapping = spark.table("e2e.label_mapping").where(F.col("run_date") == DAY1)
    assert mapping.agg(F.count("*"), F.sum("size")).first() == (7, ROWS)
    assert {r.label_column for r in mapping.collect()} == {"planted_segment"}


def test_model_bundle_is_complete_and_loads_without_pickle(first_run):
    bundle = Path(first_run.bundle)
    assert bundle.name == first_run.model_version
    for part in (model_store.FEATURES, model_store.FEATURE_PARAMETERS, model_store.KERAS_MODEL,
                 model_store.ENCODER_WEIGHTS, model_store.KMEANS):
        assert (bundle / part).exists(), part
    # What a score run reads instead of the Spark ML model is that model's parameters.
    spark_ml = PipelineModel.load(str(bundle / model_store.FEATURES))
    assert model_store.load_features(bundle) == FittedFeatures.of(spark_ml)
    manifest = model_store.read_manifest(bundle)
    assert manifest["version"] == first_run.model_version
    assert manifest["sample_rows"] == 2000 and len(manifest["history"]) == manifest["epochs_run"]
    assert manifest["config"]["seed"] == 7 and manifest["metrics"]["silhouette"] == first_run.metrics["silhouette"]
    assert {"pyspark", "numpy", "python"} <= set(manifest["libraries"])
    weights = AutoencoderWeights.load(bundle / model_store.ENCODER_WEIGHTS)
    assert (weights.input_dim, weights.latent_dim) == (35, 2)  # one-hot features of the shipped columns
    assert not list(bundle.parent.glob(".incomplete-*"))


def test_same_config_and_seed_give_identical_segments(spark, first_run, second_run):
    assert second_run.model_version != first_run.model_version
    columns = ["customer_id", "segment", "distance", "latent", "reconstruction_error"]
    assertDataFrameEqual(_segments(spark, DAY2).select(columns), _segments(spark, DAY1).select(columns))
    # The first model had numbered its segments by size; the second took over every id, at distance 0.
    matches = spark.table("e2e.segment_matches").where(F.col("run_date") == DAY2)
    expected = [(s, first_run.model_version, s, 0.0) for s in range(7)]
    assertDataFrameEqual(matches.select("segment", "previous_model_version", "previous_segment", "distance"),
                         spark.createDataFrame(expected, "segment int, previous_model_version string, "
                                                         "previous_segment int, distance double"))
    first = spark.table("e2e.segment_matches").where(F.col("run_date") == DAY1)
    assert first.where(F.col("previous_segment").isNotNull()).count() == 0 and first.count() == 7


@pytest.fixture(scope="module")
def warned_retrain(spark, config, second_run, tmp_path_factory):
    """A retrain with another seed on the same customers, whose quality gate fails but only warns.

    Returns the run and the model version that was active before it.
    """
    active = model_store.active_version(Path(second_run.bundle).parent)
    # The same customers as the generated input of the earlier runs.
    same_customers = tmp_path_factory.mktemp("same") / "customers"
    io.write_files(generate_customers(spark, rows=ROWS, seed=config.seed), str(same_customers), fmt="parquet")
    other_config = dataclasses.replace(
        config, seed=8, input=dataclasses.replace(config.input, path=str(same_customers), format="parquet"),
        gates=dataclasses.replace(config.gates, min_segment_share=0.5, on_failure="warn"))
    return train.run(spark, other_config, run_date=DAY3), active


def test_a_retrain_with_another_seed_finds_the_same_segments_under_their_ids(spark, warned_retrain):
    other, active = warned_retrain
    assert model_store.read_manifest(other.bundle)["matched_against"] == active
    matches = spark.table("e2e.segment_matches").where(F.col("run_date") == DAY3).collect()
    # Principal latent coordinates give another seed the same geometry: every segment is found again.
    assert sorted((m.segment, m.previous_segment) for m in matches) == [(s, s) for s in range(7)]
    assert all(m.distance <= 1.0 for m in matches)
    # A matched id means the same customers: most of a matched segment's customers keep its id.
    moves = spark.table("e2e.segment_transitions").where(F.col("run_date") == DAY3).collect()
    assert {m.previous_run_date for m in moves} == {DAY2}
    for segment in range(7):
        outflow = [m for m in moves if m.from_segment == segment]
        assert max(outflow, key=lambda m: m.customers).to_segment == segment, outflow


def test_model_versions_lists_every_model_with_the_active_one(spark, first_run, second_run):
    rows = {r.version: r for r in spark.table("e2e.model_versions").collect()}
    assert {first_run.model_version, second_run.model_version} <= set(rows)
    assert [v for v, r in rows.items() if r.status == "active"] == [
        model_store.active_version(Path(second_run.bundle).parent)]
    second = rows[second_run.model_version]
    assert (second.trained_run_date, second.rows, second.sample_rows, second.matched_against) == (
        DAY2, ROWS, 2000, first_run.model_version)
    assert second.silhouette == second_run.metrics["silhouette"]


def test_a_failed_gate_stops_the_run_before_anything_is_written(spark, config, second_run):
    # One KMeans start: the run stops at the gate, whatever segments it finds.
    strict = dataclasses.replace(config, clustering=dataclasses.replace(config.clustering, n_init=1),
                                 gates=dataclasses.replace(config.gates, min_segment_share=0.5))
    models = Path(second_run.bundle).parent
    bundles = sorted(p.name for p in models.iterdir())
    with pytest.raises(GateFailure, match=r"^quality gate failed: the smallest segment holds \d+\.\d\d% of the "
                                          r"customers, below gates.min_segment_share 50.00%; nothing was written"):
        train.run(spark, strict, run_date=DAY4)
    assert sorted(p.name for p in models.iterdir()) == bundles
    assert spark.table("e2e.run_metrics").where(F.col("run_date") == DAY4).count() == 0
    assert not report_path(config.output, DAY4).exists()


def test_a_gate_that_only_warns_commits_but_does_not_promote(spark, warned_retrain):
    warned, active = warned_retrain
    assert model_store.active_version(Path(warned.bundle).parent) == active != warned.model_version
    assert spark.table("e2e.run_metrics").where(F.col("run_date") == DAY3).count() == 1
    status = {r.version: r.status for r in spark.table("e2e.model_versions").collect()}
    assert status[warned.model_version] == "retired" and status[active] == "active"
