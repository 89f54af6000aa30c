"""Value rules: what counts as blank and how values are trimmed."""

from __future__ import annotations

from pyspark.sql import functions as F

from custseg import cleaning

# Java's \s, which the job trims: space, tab, newline, vertical tab, form feed, carriage return.
BLANKS = " \t\n\x0b\f\r"
VALUES = [
    "a", " a", "a ", "\ta\t", "\na", "a\r", "\x0ba", "a\f", "a b", " a b ",
    # Control characters that are not blanks stay; so do blanks that are not Java's \s.
    "\x01a", "a\x01", "x\u3000", "\u00a0x",
    "é ", " é", "ü", "!", " !", "!a!", "", " ", "\t\n\r", None,
]


def test_text_trims_java_blanks_from_both_ends_and_makes_blank_values_missing(spark):
    frame = spark.createDataFrame(list(enumerate(VALUES)), "position int, value string")
    cleaned = frame.select("position", cleaning.text(F.col("value")).alias("value")).orderBy("position")
    expected = [None if value is None else value.strip(BLANKS) or None for value in VALUES]
    assert [row.value for row in cleaned.collect()] == expected
