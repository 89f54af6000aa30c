"""Rows that cannot be segmented are set aside with a reason."""

from __future__ import annotations

from pyspark.testing import assertDataFrameEqual

from custseg.config import ColumnsConfig
from custseg.quarantine import split_rejected

COLUMNS = ColumnsConfig(id="ID", numeric=["Age"], nominal=["Gender"], ordinal={}, label=None)


def test_rows_without_id_are_rejected_with_reason_and_record(spark):
    frame = spark.createDataFrame([("1", 30.0, "Male"), (None, 41.0, "Female"), ("3", None, None)],
                                  "ID string, Age double, Gender string")
    accepted, rejected = split_rejected(frame, columns=COLUMNS)
    assertDataFrameEqual(accepted, spark.createDataFrame([("1", 30.0, "Male"), ("3", None, None)], frame.schema))
    expected = spark.createDataFrame(
        [('{"Age":41.0,"Gender":"Female"}', "missing_id", "the id column ID is empty")],
        "record string, reason_code string, reason string",
    )
    assertDataFrameEqual(rejected, expected)
