"""The score job: a saved model applied to new snapshots, one run date at a time, with transitions and views."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from pyspark import StorageLevel
from pyspark.sql import functions as F
from pyspark.testing import assertDataFrameEqual
from support import with_persisted_levels

from custseg import io, score, train
from custseg.config import config_from_dict
from custseg.generator import generate_customers
from custseg.model_store import ModelNotFoundError

TRAINED, SCORED, SAME_INPUT = dt.date(2026, 5, 1), dt.date(2026, 5, 2), dt.date(2026, 5, 3)
SEGMENT_COLUMNS = ["customer_id", "segment", "distance", "latent", "reconstruction_error"]


def _config(model_home, cache="files", **input_section):
    return config_from_dict({
        "seed": 7,
        "spark": {"cache": cache},
        "input": {"generated_rows": 3000, **input_section},
        "autoencoder": {"sample_rows": 2000, "epochs": 4},
        "clustering": {"n_init": 1},  # these tests are about scoring, not about stable segments
        "report": {"sample_rows": 300},
        "output": {"database": "scoring", "warehouse_dir": str(model_home)},
        "segments": {"names": {0: "Largest", 1: "Runner-up"}},
    })


@pytest.fixture(scope="module")
def model_home(tmp_path_factory):
    """Models of this module's own, so that its first model numbers its segments by size."""
    return tmp_path_factory.mktemp("score-models")


@pytest.fixture(scope="module")
def trained(spark, model_home):
    return train.run(spark, _config(model_home), run_date=TRAINED)


@pytest.fixture(scope="module")
def snapshot(spark, tmp_path_factory):
    """2,500 other generated customers: ids 100000-102499, of which 2,000 were in the training snapshot."""
    path = tmp_path_factory.mktemp("snapshot") / "customers"
    io.write_files(generate_customers(spark, rows=2500, seed=8).withColumn("ID", F.col("ID") + 1000),
                   str(path), fmt="parquet")
    return path


@pytest.fixture(scope="module")
def scored_caching(spark, model_home, trained, snapshot):
    """The score run of :func:`snapshot` with ``spark.cache`` not the default, and the levels it cached at."""
    config = _config(model_home, cache="memory_and_disk", path=str(snapshot), format="parquet")
    return with_persisted_levels(lambda: score.run(spark, config, run_date=SCORED))


@pytest.fixture(scope="module")
def scored(scored_caching):
    return scored_caching[0]


@pytest.fixture(scope="module")
def same_input(spark, model_home, trained, scored):
    """The training snapshot itself, scored with the trained model."""
    return score.run(spark, _config(model_home), run_date=SAME_INPUT, model_version=trained.model_version)


def _segments(spark, run_date):
    return spark.table("scoring.customer_segments").where(F.col("run_date") == run_date)


def test_scoring_the_training_snapshot_reproduces_the_training_segments(spark, trained, same_input):
    assert same_input.model_version == trained.model_version
    assertDataFrameEqual(_segments(spark, SAME_INPUT).select(SEGMENT_COLUMNS),
                         _segments(spark, TRAINED).select(SEGMENT_COLUMNS))


def test_a_score_run_caches_its_customers_where_the_config_says(scored_caching):
    # The snapshot and the segmented customers, each read by many passes.
    assert scored_caching[1] == [StorageLevel.MEMORY_AND_DISK, StorageLevel.MEMORY_AND_DISK]


def test_drift_against_the_training_snapshot_is_zero_for_itself_and_small_for_a_like_one(spark, scored, same_input):
    drift = spark.table("scoring.drift")
    assert drift.where(F.col("run_date") == TRAINED).count() == 0
    like = {r.feature: r for r in drift.where(F.col("run_date") == SCORED).collect()}
    assert set(like) == {"Age", "Work_Experience", "Family_Size", "Spending_Score", "Gender", "Ever_Married",
                         "Graduated", "Profession", "Var_1", "reconstruction_error", "segment_shares"}
    assert {r.verdict for r in like.values()} == {"ok"}, like
    # The mean reconstruction errors are those of each run date's customers.
    mean_error = {run_date: _segments(spark, run_date).agg(F.avg("reconstruction_error")).first()[0]
                  for run_date in (TRAINED, SCORED)}
    error = like["reconstruction_error"]
    assert (error.reference, error.current) == pytest.approx((mean_error[TRAINED], mean_error[SCORED]), rel=1e-9)
    same = spark.table("scoring.drift").where(F.col("run_date") == SAME_INPUT).collect()
    for row in same:
        assert (row.ks_statistic or 0.0) == 0.0 and row.psi == pytest.approx(0.0, abs=1e-12) or \
            row.feature == "reconstruction_error" and row.current == pytest.approx(row.reference, rel=1e-9), row


def test_a_score_run_writes_its_run_date_with_the_active_model(spark, trained, scored):
    assert scored.model_version == trained.model_version
    summary = _segments(spark, SCORED).agg(F.count("*"), F.countDistinct("customer_id"),
                                           F.countDistinct("model_version"), F.max("segment")).first()
    assert tuple(summary) == (2500, 2500, 1, 6)
    (metrics,) = spark.table("scoring.run_metrics").where(F.col("run_date") == SCORED).collect()
    assert (metrics.run_kind, metrics.rows_read, metrics.rows_segmented, metrics.rows_quarantined) == (
        "score", 2500, 2500, 0)
    assert metrics.sample_rows is None and metrics.epochs_run is None and metrics.seconds_train is None
    assert -1 <= metrics.silhouette <= 1 and 0 < metrics.purity <= 1
    assert scored.metrics["seconds_total"] > 0


def test_rescoring_a_run_date_replaces_it_and_nothing_else(spark, model_home, trained, scored, snapshot):
    def counts():
        return sorted(tuple(r) for r in spark.table("scoring.customer_segments").groupBy("run_date").count().collect())

    before, trained_rows = counts(), _segments(spark, TRAINED).select(SEGMENT_COLUMNS).collect()
    score.run(spark, _config(model_home, path=str(snapshot), format="parquet"), run_date=SCORED)
    assert counts() == before
    assertDataFrameEqual(_segments(spark, TRAINED).select(SEGMENT_COLUMNS), trained_rows)
    assert spark.table("scoring.run_metrics").where(F.col("run_date") == SCORED).count() == 1


def test_transitions_count_movers_new_and_gone_customers(spark, scored):
    moves = spark.table("scoring.segment_transitions").where(F.col("run_date") == SCORED)
    assert {r.previous_run_date for r in moves.select("previous_run_date").distinct().collect()} == {TRAINED}
    totals = moves.agg(
        F.sum(F.when(F.col("from_segment").isNull(), F.col("customers"))).alias("new"),
        F.sum(F.when(F.col("to_segment").isNull(), F.col("customers"))).alias("gone"),
        F.sum(F.when(F.col("from_segment").isNotNull() & F.col("to_segment").isNotNull(), F.col("customers")))
        .alias("kept"),
    ).first()
    # Training saw ids 100000-102999, this snapshot 101000-103499.
    assert (totals.new, totals.gone, totals.kept) == (500, 1000, 2000)
    first = spark.table("scoring.segment_transitions").where(F.col("run_date") == TRAINED)
    assert first.where(F.col("from_segment").isNotNull()).count() == 0
    assert first.agg(F.sum("customers")).first()[0] == 3000


def test_views_show_the_latest_run_date_and_a_summary_per_run(spark, scored):
    newest = spark.table("scoring.customer_segments").agg(F.max("run_date")).first()[0]
    assertDataFrameEqual(spark.table("scoring.latest_segments").drop("segment_name"), _segments(spark, newest))
    summary = spark.table("scoring.segment_summary").where(F.col("run_date") == SCORED)
    assert summary.agg(F.sum("customers"), F.round(F.sum("share"), 9)).first() == (2500, 1.0)
    # Names from the config travel with the segment ids.
    names = {r.segment: r.segment_name for r in summary.collect()}
    assert names == {0: "Largest", 1: "Runner-up", **{s: None for s in range(2, 7)}}
    latest = spark.table("scoring.latest_segments").where(F.col("segment") == 1).select("segment_name").distinct()
    assert latest.collect() == [("Runner-up",)]


def test_a_score_runs_report_adds_its_drift_and_transitions(model_home, scored):
    page = (model_home / "reports" / f"run_date={SCORED}" / "report.html").read_text(encoding="utf-8")
    assert "<h1>custseg score run of 2026-05-02</h1>" in page
    assert re.findall(r"<h2>(.*?)</h2>", page)[-2:] == ["Drift against the training snapshot",
                                                         "Transitions since 2026-05-01"]
    # One verdict per drift row; the model's training history comes from its manifest.
    assert page.count("<td>ok</td>") == 11 and 'alt="loss and val_loss per epoch"' in page


def test_an_unknown_model_version_is_one_line_naming_the_versions(spark, model_home, trained, snapshot):
    config = _config(model_home, path=str(snapshot), format="parquet")
    with pytest.raises(ModelNotFoundError, match=rf"^model version nope not found in .*; versions there: "
                                                 rf".*{trained.model_version}"):
        score.run(spark, config, run_date=SCORED, model_version="nope")


def test_scoring_before_any_training_says_to_train_first(spark, tmp_path):
    config = config_from_dict({"output": {"database": "never_scored", "warehouse_dir": str(tmp_path)}})
    with pytest.raises(ModelNotFoundError, match="no active model in .*; run train first, or pass --model-version"):
        score.run(spark, config, run_date=SCORED)
    assert not spark.catalog.databaseExists("never_scored")
