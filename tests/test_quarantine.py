"""Rows that cannot be segmented are set aside with one reason each; the rest are typed and cleaned."""

from __future__ import annotations

import re

from pyspark.testing import assertDataFrameEqual

from custseg import io, quarantine
from custseg.config import ColumnsConfig, config_from_dict, load_config
from custseg.frame_store import FrameStore
from custseg.generator import generate_customers
from custseg.quarantine import flag_rows, split_rejected
from custseg.snapshot import read_snapshot
from support import ROOT

COLUMNS = ColumnsConfig(
    id="ID", numeric=["Age", "Size"], nominal=["Gender", "Job"], ordinal={"Score": ["Low", "High"]}, label=None,
    ranges={"Age": [0, 120], "Size": [1, 20]}, levels={"Gender": ["Male", "Female"]},
)
RAW = "ID string, Age string, Size string, Gender string, Job string, Score string"
TYPED = "ID string, Age double, Size double, Score string, Gender string, Job string, unseen_values int"
REJECTED = "record string, reason_code string, reason string"


def _split(spark, rows, corrupt=None):
    frame = spark.createDataFrame(rows, RAW if corrupt is None else RAW + ", bad string")
    raw = io.raw_customers(frame, columns=COLUMNS, origin="test", corrupt_col=corrupt)
    return split_rejected(raw, columns=COLUMNS)


def test_each_problem_is_quarantined_with_its_reason_and_the_raw_values(spark):
    accepted, rejected = _split(spark, [
        ("1", "30", "2", "Male", "Artist", "Low", None),
        ("2", "30", "2", "Male", "Artist", "Low", "2,30,2,Male,Artist,Low,surplus"),
        (" ", "30", "2", "Male", "Artist", "Low", None),
        ("4", "abc", "2", "Male", "Artist", "Low", None),
        ("5", "30", "3,5", "Male", "Artist", "Low", None),
        ("6", "NaN", "2", "Male", "Artist", "Low", None),
        ("7", "-1", "2", "Male", "Artist", "Low", None),
        ("8", "30", "0", "Male", "Artist", "Low", None),
        ("9", "121", "21", "Male", "Artist", "Low", None),
    ], corrupt="bad")
    assertDataFrameEqual(accepted, spark.createDataFrame([("1", 30.0, 2.0, "Low", "Male", "Artist", 0)], TYPED))
    record = '{{"ID":"{}","Age":"{}","Size":"{}","Gender":"Male","Job":"Artist","Score":"Low"}}'.format
    expected = spark.createDataFrame([
        ("2,30,2,Male,Artist,Low,surplus", "malformed_record",
         "the line has a different number of fields than the header"),
        (record(" ", "30", "2"), "missing_id", "the id column ID is empty"),
        (record("4", "abc", "2"), "unparseable_number", "Age 'abc' is not a number"),
        (record("5", "30", "3,5"), "unparseable_number", "Size '3,5' is not a number"),
        (record("6", "NaN", "2"), "unparseable_number", "Age 'NaN' is not a number"),
        (record("7", "-1", "2"), "out_of_range", "Age -1 is outside [0, 120] (columns.ranges.Age)"),
        (record("8", "30", "0"), "out_of_range", "Size 0 is outside [1, 20] (columns.ranges.Size)"),
        # Several problems: the first check in order (columns in config order) names the row's one reason.
        (record("9", "121", "21"), "out_of_range", "Age 121 is outside [0, 120] (columns.ranges.Age)"),
    ], REJECTED)
    assertDataFrameEqual(rejected, expected)


def test_a_malformed_line_without_an_id_is_malformed_first(spark):
    _, rejected = _split(spark, [(None, "abc", None, None, None, None, "x")], corrupt="bad")
    assert [tuple(r) for r in rejected.collect()] == [
        ("x", "malformed_record", "the line has a different number of fields than the header")]


def test_the_first_usable_copy_of_a_duplicated_id_wins_and_each_duplicate_keeps_its_record(spark):
    accepted, rejected = _split(spark, [
        ("1", "abc", "2", "Male", "A", "Low"),   # first copy unusable: does not block the next one
        ("1", "40", "2", "Male", "B", "Low"),    # first usable copy: segmented
        (" 1 ", "50", "2", "Male", "C", "Low"),  # same id after trimming: duplicate
        ("2", "60", "2", "Male", "D", "Low"),
        ("1", "70", "2", "Male", "E", "Low"),
        ("1", "40", "2", "Male", "B", "Low"),    # the same values as the segmented copy: duplicate
    ])
    assertDataFrameEqual(accepted.select("ID", "Job"), spark.createDataFrame([("1", "B"), ("2", "D")], "ID string, Job string"))
    record = '{{"ID":"{}","Age":"{}","Size":"2","Gender":"Male","Job":"{}","Score":"Low"}}'.format
    duplicate = "id 1 appears earlier in the input; its first usable copy is segmented"
    assertDataFrameEqual(rejected, spark.createDataFrame([
        (record("1", "abc", "A"), "unparseable_number", "Age 'abc' is not a number"),
        (record(" 1 ", "50", "C"), "duplicate_id", duplicate),
        (record("1", "70", "E"), "duplicate_id", duplicate),
        (record("1", "40", "B"), "duplicate_id", duplicate),
    ], REJECTED))


def test_blanks_are_missing_and_categories_are_trimmed_and_spelled_as_declared(spark):
    accepted, rejected = _split(spark, [
        ("1", " 30 ", "", " male ", " Artist ", " HIGH "),
        ("2", None, "\t", "FEMALE", "", "low"),
        ("3", "1e1", " 4.0", "Mal e", "artist", "Medium"),
        ("4", "", None, "", None, None),
    ])
    assert rejected.count() == 0
    assertDataFrameEqual(accepted, spark.createDataFrame([
        ("1", 30.0, None, "High", "Male", "Artist", 0),
        ("2", None, None, "Low", "Female", None, 0),
        # Undeclared levels: the unknown level for nominal columns, missing for ordinal ones; both counted.
        ("3", 10.0, 4.0, None, "(unknown)", "artist", 2),
        ("4", None, None, None, None, None, 0),
    ], TYPED))


def test_flagged_rows_are_partitioned_by_size_not_by_the_input(spark):
    # One input partition can hold millions of rows: cached as one block, it would not fit the
    # heap. The duplicate check's shuffle leaves partitions of the advisory size instead.
    frame = spark.createDataFrame([(str(i % 500), "30", "2", "Male", "Artist", "Low") for i in range(2000)], RAW)
    raw = io.raw_customers(frame.coalesce(1), columns=COLUMNS, origin="test")
    partitions = {}
    sizes = ("spark.sql.adaptive.advisoryPartitionSizeInBytes", "spark.sql.adaptive.coalescePartitions.minPartitionSize")
    for size in ("64m", "1b"):
        for key in sizes:
            spark.conf.set(key, size)
        try:
            partitions[size] = flag_rows(raw, columns=COLUMNS).rdd.getNumPartitions()
        finally:
            for key in sizes:
                spark.conf.unset(key)
    # All rows fit one partition of 64 MB; partitions of a byte each leave every shuffle partition apart.
    assert partitions == {"64m": 1, "1b": int(spark.conf.get("spark.sql.shuffle.partitions"))}


def test_the_duplicate_check_shuffles_each_value_once_typed(spark):
    # Not also its text and its parsed value: the shuffle by id is most of the read stage's time.
    frame = spark.createDataFrame([("1", "30", "2", "Male", "Artist", "Low", None)], RAW + ", bad string")
    flagged = flag_rows(io.raw_customers(frame, columns=COLUMNS, origin="test", corrupt_col="bad"), columns=COLUMNS)
    assert _shuffled_columns(flagged) == ["ID", "Age", "Size", "Score", "Gender", "Job", "unseen_values",
                                          io.RECORD_COL, io.LINE_COL, io.POSITION_COL, "reason_code", "reason"]


def _shuffled_columns(df) -> list[str]:
    """The columns that the repartition in ``df``'s optimized plan moves."""
    node = _repartition(df)
    assert node is not None, "the plan has no repartition"
    output = node.output()
    return [output.apply(i).name() for i in range(output.size())]


def _repartition(df):
    """The repartition node of ``df``'s optimized plan, or None."""
    nodes = [df._jdf.queryExecution().optimizedPlan()]
    while nodes:
        node = nodes.pop()
        if node.nodeName() == "RepartitionByExpression":
            return node
        children = node.children()
        nodes += [children.apply(i) for i in range(children.size())]
    return None


def test_rows_kept_as_files_skip_the_duplicate_shuffle_when_no_id_repeats(spark):
    # Missing ids repeat, but they are no customer's id; the broken row is rejected as with the shuffle.
    rows = [(str(i), "30", "2", "Male", "Artist", "Low") for i in range(20)]
    rows += [(" ", "40", "2", "Male", "Artist", "Low"), (None, "50", "2", "Male", "Artist", "Low"),
             ("20", "abc", "2", "Male", "Artist", "Low")]
    raw = io.raw_customers(spark.createDataFrame(rows, RAW), columns=COLUMNS, origin="test")
    as_files = flag_rows(raw, columns=COLUMNS, sized_partitions=False)
    assert _repartition(as_files) is None
    assertDataFrameEqual(as_files, flag_rows(raw, columns=COLUMNS))


def test_the_ids_are_shuffled_into_the_shuffle_partitions_before_they_are_counted(spark):
    # Counted where they were read, each task would hold every id it read in memory.
    raw = io.raw_customers(spark.createDataFrame([("7", "40", "2", "Male", "B", "Low")], RAW), columns=COLUMNS,
                           origin="test")
    node = _repartition(quarantine._repeated_ids(raw, id_col="ID"))
    assert node is not None and node.numPartitions() == int(spark.conf.get("spark.sql.shuffle.partitions"))
    assert node.partitionExpressions().apply(0).references().toList().apply(0).name() == "id"


def test_an_id_that_repeats_sends_rows_kept_as_files_through_the_duplicate_check(spark):
    # The two copies of id 7 are one id only once trimmed, as the check compares ids.
    rows = [("7", "40", "2", "Male", "B", "Low"), ("8", "45", "2", "Male", "C", "Low"),
            (" 7 ", "50", "2", "Male", "D", "Low")]
    raw = io.raw_customers(spark.createDataFrame(rows, RAW), columns=COLUMNS, origin="test")
    as_files = flag_rows(raw, columns=COLUMNS, sized_partitions=False)
    assert _repartition(as_files) is not None
    assert sorted((r.Job, r.reason_code) for r in as_files.collect()) == [
        ("B", None), ("C", None), ("D", "duplicate_id")]


def test_the_snapshot_skips_the_duplicate_shuffle_only_when_kept_as_files(spark, warehouse, monkeypatch):
    config = config_from_dict({"input": {"generated_rows": 50},
                               "output": {"database": "quarantine", "warehouse_dir": str(warehouse)}})
    sized, flag = [], quarantine.flag_rows

    def recording(raw, *, columns, sized_partitions):
        sized.append(sized_partitions)
        return flag(raw, columns=columns, sized_partitions=sized_partitions)

    monkeypatch.setattr(quarantine, "flag_rows", recording)
    for cache in ("files", "disk", "memory_and_disk"):
        with FrameStore(spark, cache=cache) as store:
            assert read_snapshot(spark, config, store).rows_read == 50
    assert sized == [False, True, True]


def test_only_rejected_rows_keep_their_record(spark):
    frame = spark.createDataFrame([("1", "30", "2", "Male", "Artist", "Low"),
                                   ("2", "abc", "2", "Male", "Artist", "Low")], RAW)
    flagged = flag_rows(io.raw_customers(frame, columns=COLUMNS, origin="test"), columns=COLUMNS)
    records = {row.ID: row._record for row in flagged.collect()}
    assert records == {
        "1": None,
        "2": '{"ID":"2","Age":"abc","Size":"2","Gender":"Male","Job":"Artist","Score":"Low"}',
    }


def test_the_reads_generated_methods_are_small_enough_for_the_jit(spark, capsys):
    # HotSpot compiles no method of more than 8,000 bytes of bytecode: the read then runs in the
    # bytecode interpreter, as it did with the parsing nested in the checks and the typing.
    columns = load_config(ROOT / "conf" / "generated.yaml").columns
    raw = io.raw_customers(generate_customers(spark, rows=100, seed=1), columns=columns, origin="test")
    flagged = flag_rows(raw, columns=columns)
    flagged.collect()
    flagged.explain(mode="codegen")
    sizes = [int(size) for size in re.findall(r"maxMethodCodeSize:(\d+)", capsys.readouterr().out)]
    assert sizes and max(sizes) <= 8000, sizes
