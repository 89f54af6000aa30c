"""The real customer data set with the shipped config: train on Train.csv, score Test.csv, query as the README does."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from pyspark.sql import functions as F
from support import CONF, REPORT_IMAGES, ROOT, open_in_chromium

from custseg import score, train
from custseg.config import load_config

TRAINED, SCORED = dt.date(2026, 1, 1), dt.date(2026, 2, 1)
TRAIN_ROWS, TEST_ROWS = 8068, 2627


def _config(model_home, path):
    # Models of their own: segment ids start from the sizes, not from another test's active model.
    return load_config(CONF, [f"input.path={path}", f"output.warehouse_dir={model_home}"])


@pytest.fixture(scope="module")
def model_home(tmp_path_factory):
    return tmp_path_factory.mktemp("real-models")


@pytest.fixture(scope="module")
def trained(spark, model_home, real_data):
    return train.run(spark, _config(model_home, real_data / "Train.csv"), run_date=TRAINED)


@pytest.fixture(scope="module")
def scored(spark, model_home, real_data, trained):
    # Rescoring a run date, which replaces only it, is test_score.py's on generated customers.
    return score.run(spark, _config(model_home, real_data / "Test.csv"), run_date=SCORED)


def _counts(spark):
    rows = spark.table("custseg.customer_segments").groupBy("run_date", "model_version").count().collect()
    return sorted(tuple(r) for r in rows)


def test_all_customers_land_in_seven_segments(spark, trained):
    sizes = (spark.table("custseg.customer_segments").where(F.col("run_date") == TRAINED)
             .groupBy("segment").count().orderBy("segment").collect())
    assert [r.segment for r in sizes] == list(range(7))
    assert sum(r["count"] for r in sizes) == TRAIN_ROWS


def test_run_metrics_hold_every_metric_with_the_label(spark, trained):
    (row,) = spark.table("custseg.run_metrics").where(F.col("run_date") == TRAINED).collect()
    metrics = row.asDict()
    assert [name for name, value in metrics.items() if value is None] == []
    assert (metrics["rows_read"], metrics["rows_segmented"], metrics["rows_quarantined"]) == (8068, 8068, 0)
    # The sales team's labels are only loosely related to any unsupervised segmentation: the reference
    # implementation reaches purity 0.433, NMI 0.090, ARI 0.072 on this data. Far below means broken.
    assert metrics["purity"] > 0.35 and metrics["nmi"] > 0.05 and metrics["ari"] > 0.03


def test_scoring_test_csv_adds_its_run_date_without_label_scores(spark, trained, scored):
    assert scored.model_version == trained.model_version
    assert _counts(spark) == [(TRAINED, trained.model_version, TRAIN_ROWS), (SCORED, trained.model_version, TEST_ROWS)]
    latest = spark.table("custseg.latest_segments").groupBy("run_date").count().collect()
    assert [tuple(r) for r in latest] == [(SCORED, TEST_ROWS)]
    # Test.csv has no Segmentation column: no label scores, and an empty label mapping for its run date.
    assert scored.metrics["purity"] is None and scored.metrics["rows_read"] == TEST_ROWS
    assert spark.table("custseg.label_mapping").where(F.col("run_date") == SCORED).count() == 0


def test_transitions_join_the_two_snapshots_on_the_customer_id(spark, scored):
    moves = spark.table("custseg.segment_transitions").where(F.col("run_date") == SCORED)
    totals = moves.agg(F.sum(F.when(F.col("from_segment").isNull(), F.col("customers"))),
                       F.sum(F.when(F.col("to_segment").isNull(), F.col("customers"))),
                       F.sum("customers")).first()
    # 2,332 customers of Test.csv are in Train.csv too: 295 are new, 5,736 of Train.csv's are gone.
    assert tuple(totals) == (295, 5736, 295 + 5736 + 2332)


def test_drift_of_test_csv_is_measured_for_every_feature(spark, scored):
    drift = spark.table("custseg.drift").where(F.col("run_date") == SCORED)
    assert drift.count() == 3 + 6 + 2
    assert {r.verdict for r in drift.collect()} <= {"ok", "warn", "retrain"}


def test_the_reports_of_train_csv_and_test_csv_render_every_plot_in_chromium(model_home, scored, tmp_path):
    for run_date, extra in ((TRAINED, []), (SCORED, ["customers per segment move"])):
        report = model_home / "reports" / f"run_date={run_date}" / "report.html"
        images = open_in_chromium(report, tmp_path / f"report-{run_date}.png")
        assert [alt for alt, _, _ in images] == REPORT_IMAGES + extra
        assert all(complete and width > 0 for _, complete, width in images), images


def _readme_queries() -> list[str]:
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    block = re.search(r"## Querying in SQL.*?```sql\n(.*?)```", text, re.S).group(1)
    lines = [line for line in block.splitlines() if not line.startswith("--")]
    return [query.strip() for query in "\n".join(lines).split(";") if query.strip()]


def test_the_readme_has_at_least_six_queries():
    assert len(_readme_queries()) >= 6


@pytest.mark.parametrize("query", _readme_queries())
def test_every_readme_query_runs_and_returns_rows(spark, scored, query):
    assert spark.sql(query).limit(5).collect(), query
