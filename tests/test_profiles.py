"""Segment profiles compared as whole tables with values worked out by hand."""

from __future__ import annotations

import math

import numpy as np
import pytest
from pyspark.testing import assertDataFrameEqual

from custseg.profiles import PROFILE_SCHEMA, segment_profiles

CUSTOMERS = [
    # segment, Age, Income, Gender, Profession
    (0, 20, 1000.0, "M", "Engineer"),
    (0, 30, 2000.0, "F", "Artist"),
    (0, 40, 3000.0, None, "Engineer"),
    (0, None, 6000.0, "M", "Artist"),
    (1, 50, 500.0, "F", "Doctor"),
    (1, 60, 1500.0, "F", None),
    (2, 35, 100.0, "M", "Lawyer"),  # one member: std is null
]
SCHEMA = "segment int, Age int, Income double, Gender string, Profession string"


def _numeric(seg, size, feature, mean, median, std):
    return (seg, size, size / 7, feature, None, mean, median, std, None, None)


def _level(seg, size, feature, level, share, top):
    return (seg, size, size / 7, feature, level, None, None, None, share, top)


EXPECTED = [
    # Segment 0: the null Age is ignored; Income's median is the lower middle value (percentile_approx).
    _numeric(0, 4, "Age", 30.0, 30.0, 10.0),
    _level(0, 4, "Gender", "(missing)", 0.25, False),
    _level(0, 4, "Gender", "F", 0.25, False),
    _level(0, 4, "Gender", "M", 0.5, True),
    _numeric(0, 4, "Income", 3000.0, 2000.0, math.sqrt(14e6 / 3)),
    _level(0, 4, "Profession", "Artist", 0.5, True),  # tie with Engineer: smaller name wins
    _level(0, 4, "Profession", "Engineer", 0.5, False),
    _numeric(1, 2, "Age", 55.0, 50.0, math.sqrt(50.0)),
    _level(1, 2, "Gender", "F", 1.0, True),
    _numeric(1, 2, "Income", 1000.0, 500.0, math.sqrt(5e5)),
    _level(1, 2, "Profession", "(missing)", 0.5, True),  # "(" sorts before "D"
    _level(1, 2, "Profession", "Doctor", 0.5, False),
    _numeric(2, 1, "Age", 35.0, 35.0, None),
    _level(2, 1, "Gender", "M", 1.0, True),
    _numeric(2, 1, "Income", 100.0, 100.0, None),
    _level(2, 1, "Profession", "Lawyer", 1.0, True),
]


@pytest.fixture(scope="module")
def customers(spark):
    return spark.createDataFrame(CUSTOMERS, SCHEMA)


def test_profiles_whole_table(spark, customers):
    profiles = segment_profiles(customers, numeric_cols=["Age", "Income"], categorical_cols=["Gender", "Profession"])
    assert profiles.sizes == {0: 4, 1: 2, 2: 1}
    assert profiles.levels == {"Gender": {"M": 3, "F": 3, "(missing)": 1},
                               "Profession": {"Engineer": 2, "Artist": 2, "Doctor": 1, "(missing)": 1, "Lawyer": 1}}
    # Over every segment, nulls ignored: the six ages and the seven incomes.
    assert profiles.means == pytest.approx({"Age": 235 / 6, "Income": 14100 / 7}, rel=1e-12)
    result = profiles.table
    assert [(f.name, f.dataType) for f in result.schema] == [(f.name, f.dataType) for f in PROFILE_SCHEMA]
    expected = spark.createDataFrame(EXPECTED, PROFILE_SCHEMA)
    assertDataFrameEqual(result, expected, checkRowOrder=True, rtol=1e-9, atol=1e-9)


def test_profiles_only_one_kind_and_custom_names(spark, customers):
    renamed = customers.withColumnRenamed("segment", "cluster")
    numeric = segment_profiles(renamed, segment_col="cluster", numeric_cols=["Age", "Income"],
                               categorical_cols=[]).table
    expected_numeric = spark.createDataFrame([r for r in EXPECTED if r[4] is None], PROFILE_SCHEMA)
    assertDataFrameEqual(numeric, expected_numeric, checkRowOrder=True, rtol=1e-9, atol=1e-9)

    categorical = segment_profiles(renamed, segment_col="cluster", numeric_cols=[], categorical_cols=["Gender"],
                                   missing_level="unknown").table  # fmt: skip
    expected_categorical = sorted(
        (r[:4] + ("unknown" if r[4] == "(missing)" else r[4],) + r[5:] for r in EXPECTED if r[3] == "Gender"),
        key=lambda r: (r[0], r[4]),
    )
    assertDataFrameEqual(categorical, spark.createDataFrame(expected_categorical, PROFILE_SCHEMA), checkRowOrder=True)


def test_a_column_without_values_has_no_mean(customers):
    missing = customers.withColumn("Age", customers.Age.cast("double") * None)
    means = segment_profiles(missing, numeric_cols=["Age", "Income"], categorical_cols=[]).means
    assert means["Age"] is None and means["Income"] == pytest.approx(14100 / 7, rel=1e-12)


def test_profiles_reject_overlapping_columns(customers):
    with pytest.raises(ValueError, match="both numeric and categorical"):
        segment_profiles(customers, numeric_cols=["Age"], categorical_cols=["Age"])


def test_medians_come_from_a_seeded_sample_of_median_fraction_and_the_rest_from_every_customer(spark):
    # Two segments of 5,000 distinct values each, 0 to 9,999 dealt out at random.
    values = np.random.default_rng(7).permutation(10_000)
    customers = spark.createDataFrame([(i % 2, float(v)) for i, v in enumerate(values)], "segment int, Age double")

    def profiled(fraction):
        table = segment_profiles(customers, numeric_cols=["Age"], categorical_cols=[], median_fraction=fraction,
                                 seed=3).table
        return {r.segment: r for r in table.collect()}

    every, sampled = profiled(1.0), profiled(0.2)
    for segment in (0, 1):
        exact, estimate = every[segment], sampled[segment]
        members = np.sort(values[segment::2])
        assert exact.median == members[2_499]  # the lower middle value, as percentile_approx picks it
        assert (estimate.segment_size, estimate.mean, estimate.std) == pytest.approx(
            (exact.segment_size, exact.mean, exact.std), rel=1e-12)
        # About 1,000 of the segment's values: the estimate is one of them, off by a few standard
        # errors (0.5 / sqrt(1,000) of the 10,000 range: 158) at most, and not the exact median.
        assert estimate.median in members and estimate.median != exact.median
        assert abs(estimate.median - exact.median) < 750
