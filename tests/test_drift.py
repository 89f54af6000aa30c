"""Drift against the training snapshot: KS and PSI as the textbook defines them, verdicts by the thresholds."""

from __future__ import annotations

from collections import Counter

import numpy as np
import pytest
from pyspark.sql import functions as F
from scipy.stats import ks_2samp

from custseg.config import ColumnsConfig, DriftConfig
from custseg.drift import drift_rows, overall_verdict, reference_profile
from custseg.profiles import segment_profiles

COLUMNS = ColumnsConfig(id="ID", numeric=["Age", "Score"], nominal=["Job"], ordinal={}, label=None)
SCHEMA = "ID string, Age double, Score double, Job string, segment int, reconstruction_error double"


def _frame(spark, rng, n, *, age_shift=0.0, jobs=("a", "b"), error=1.0):
    rows = [(str(i), float(rng.integers(20, 60) + age_shift), float(rng.normal(0, 1)), str(rng.choice(jobs)),
             int(rng.integers(0, 3)), error) for i in range(n)]
    rows[0] = (rows[0][0], None, *rows[0][2:])  # one missing age
    return spark.createDataFrame(rows, SCHEMA)


def _counted(segmented):
    """The profiles the job measures before drift: drift takes its means, level and segment counts from them."""
    return segment_profiles(segmented, numeric_cols=COLUMNS.numeric, categorical_cols=COLUMNS.categorical)


def _mean_error(segmented):
    """The mean reconstruction error, which the job's quality metrics give drift."""
    return segmented.agg(F.avg("reconstruction_error")).first()[0]


def _reference(train, *, rows=3000, sample_rows=3000):
    return reference_profile(train, COLUMNS, _counted(train), mean_error=_mean_error(train), rows=rows,
                             sample_rows=sample_rows, seed=7)


def _drift(new, profile):
    return drift_rows(new, profile, DriftConfig(), _counted(new), mean_error=_mean_error(new))


@pytest.fixture(scope="module")
def reference(spark):
    train = _frame(spark, np.random.default_rng(1), 3000)
    return train, _reference(train)


@pytest.mark.parametrize(("column", "points"), [("Age", 40), ("Score", 990)])
def test_reference_cdf_is_the_share_at_or_below_each_quantile(reference, column, points):
    train, profile = reference
    values = np.array([r[column] for r in train.where(f"{column} IS NOT NULL").collect()])
    numeric = profile["numeric"][column]
    # Integer ages: a grid point per distinct value; normal scores: nearly one per quantile.
    assert len(numeric["grid"]) >= points
    expected = [np.mean(values <= point) for point in numeric["grid"]]
    assert numeric["cdf"] == pytest.approx(expected, abs=1e-12)
    assert numeric["cdf"][-1] == 1.0 and numeric["rows"] == len(values)
    assert len(values) == (2999 if column == "Age" else 3000)


def test_reference_quantiles_come_from_a_seeded_sample_and_its_counts_from_every_customer(reference):
    train, whole = reference
    profile = _reference(train, sample_rows=1000)
    sampled = {r.Score for r in train.sample(fraction=1000 / 3000, seed=7).collect()}
    everyone = np.array([r.Score for r in train.collect()])
    grid = profile["numeric"]["Score"]["grid"]
    # The grid points are values of the sample: fewer than those of the whole snapshot's quantiles.
    assert set(grid) <= sampled and len(grid) < len(whole["numeric"]["Score"]["grid"])
    assert profile["numeric"]["Score"]["cdf"] == pytest.approx([np.mean(everyone <= p) for p in grid], abs=1e-12)
    assert profile["numeric"]["Score"]["rows"] == 3000


def test_reference_level_and_segment_shares_are_the_training_snapshot_s(reference):
    train, profile = reference
    rows = train.collect()
    jobs, segments = Counter(r.Job for r in rows), Counter(str(r.segment) for r in rows)
    assert profile["categorical"]["Job"] == {job: count / len(rows) for job, count in jobs.items()}
    assert profile["segment_shares"] == {segment: count / len(rows) for segment, count in segments.items()}


def _by_feature(rows):
    names = ("feature", "kind", "ks", "p", "psi", "reference", "current", "verdict")
    return {row[0]: dict(zip(names, row)) for row in rows}


def test_a_snapshot_like_the_training_one_does_not_drift(spark, reference):
    _, profile = reference
    new = _frame(spark, np.random.default_rng(2), 2000)
    rows = _by_feature(_drift(new, profile))
    assert set(rows) == {"Age", "Score", "Job", "reconstruction_error", "segment_shares"}
    assert all(row["verdict"] == "ok" for row in rows.values()), rows
    assert rows["Age"]["p"] > 0.01 and rows["Age"]["psi"] < 0.05


def test_ks_statistic_equals_scipy_s_and_a_shift_is_graded(spark, reference):
    train, profile = reference
    new = _frame(spark, np.random.default_rng(3), 2000, age_shift=5.0)
    rows = _by_feature(_drift(new, profile))
    ages = [r.Age for r in train.where("Age IS NOT NULL").collect()]
    new_ages = [r.Age for r in new.where("Age IS NOT NULL").collect()]
    expected = ks_2samp(ages, new_ages)
    # Integer ages: every value is a reference quantile, so the statistic is exact.
    assert rows["Age"]["ks"] == pytest.approx(expected.statistic, abs=1e-12)
    assert rows["Age"]["p"] < 1e-6 and rows["Age"]["verdict"] == "retrain"
    scores = ks_2samp([r.Score for r in train.collect()], [r.Score for r in new.collect()]).statistic
    assert rows["Score"]["ks"] == pytest.approx(scores, abs=0.002)
    assert rows["Age"]["current"] == pytest.approx(np.mean(new_ages))
    assert rows["Age"]["reference"] == pytest.approx(np.mean(ages))


def test_psi_of_levels_and_reconstruction_ratio_have_their_verdicts(spark, reference):
    _, profile = reference
    new = _frame(spark, np.random.default_rng(4), 2000, jobs=("a", "b", "c"), error=1.3)
    rows = _drift(new, profile)
    found = _by_feature(rows)
    shares_new = {j: new.where(f"Job = '{j}'").count() / 2000 for j in "abc"}
    shares_old = {"a": profile["categorical"]["Job"]["a"], "b": profile["categorical"]["Job"]["b"], "c": 1e-4}
    expected = sum((max(shares_new[j], 1e-4) - shares_old[j]) * np.log(max(shares_new[j], 1e-4) / shares_old[j])
                   for j in "abc")
    assert found["Job"]["psi"] == pytest.approx(expected) and found["Job"]["verdict"] == "retrain"
    error = found["reconstruction_error"]
    assert (error["reference"], error["current"]) == pytest.approx((1.0, 1.3))
    assert found["reconstruction_error"]["verdict"] == "warn"
    assert overall_verdict(rows) == "retrain"
