"""Reading snapshots with the configured schema: every record kept, as raw strings, by column name."""

from __future__ import annotations

import pytest
from pyspark.testing import assertDataFrameEqual

from custseg import io
from custseg.config import ColumnsConfig, CsvOptions, InputConfig

COLUMNS = ColumnsConfig(
    id="ID", numeric=["Age"], nominal=["Gender"], ordinal={"Score": ["Low", "High"]}, label="Segmentation"
)


def _csv(tmp_path, text: str, *, name="in.csv", encoding="utf-8") -> str:
    path = tmp_path / name
    path.write_bytes(text.encode(encoding))
    return str(path)


def _read(spark, path, **csv):
    source = InputConfig(path=path, format="csv", csv=CsvOptions(**csv))
    return io.read_customers(spark, source=source, columns=COLUMNS)


RAW = "ID string, Age string, Score string, Gender string, Segmentation string, _record string, _malformed boolean"


def test_csv_is_read_by_header_name_as_raw_strings_with_record_and_position(spark, tmp_path):
    # BOM, CRLF, reordered and extra columns, quoted delimiters, too few and too many fields.
    path = _csv(
        tmp_path,
        "\ufeffScore,ID,Extra,Gender,Age,Segmentation\r\n"
        "Low,1,x, Male ,30,A\r\n"
        "High,2,y,Female,abc,B\r\n"
        'High,3,z,"Fe,male","3,5",\r\n'
        ",4,,,,C\r\n"
        "Low,5,x\r\n"
        "Low,6,x,Male,30,A,surplus\r\n",
    )
    result = _read(spark, path)
    # The record as the quarantine keeps it: the raw line if malformed, else the values as JSON.
    result = result.withColumn("_record", io.record_text()).drop("_line")
    expected = spark.createDataFrame(
        [("1", "30", "Low", " Male ", "A",
          '{"Score":"Low","ID":"1","Extra":"x","Gender":" Male ","Age":"30","Segmentation":"A"}', False),
         ("2", "abc", "High", "Female", "B",
          '{"Score":"High","ID":"2","Extra":"y","Gender":"Female","Age":"abc","Segmentation":"B"}', False),
         ("3", "3,5", "High", "Fe,male", None,
          '{"Score":"High","ID":"3","Extra":"z","Gender":"Fe,male","Age":"3,5"}', False),
         ("4", None, None, None, "C", '{"ID":"4","Segmentation":"C"}', False),
         ("5", None, "Low", None, None, "Low,5,x", True),
         ("6", "30", "Low", "Male", "A", "Low,6,x,Male,30,A,surplus", True)],
        RAW,
    )
    assertDataFrameEqual(result.drop("_position"), expected)
    positions = [r._position for r in result.orderBy("ID").collect()]
    assert positions == sorted(positions) and len(set(positions)) == 6


def test_malformed_lines_are_found_whichever_columns_a_query_selects(spark, tmp_path):
    path = _csv(tmp_path, "ID,Age,Gender,Score\n1,30,Male,Low\n2,40\n3,50,Male,Low,x\n")
    flags = _read(spark, path).select("Gender", "_malformed").collect()
    assert [r._malformed for r in flags] == [False, True, True]


def test_semicolon_delimiter_and_latin1_encoding(spark, tmp_path):
    path = _csv(tmp_path, "ID;Age;Gender;Score\n1;40;Mäle;High\n", encoding="latin-1")
    row = _read(spark, path, delimiter=";", encoding="ISO-8859-1").first()
    assert (row.ID, row.Age, row.Gender, row.Score, row.Segmentation, row._malformed) == (
        "1", "40", "Mäle", "High", None, False)


def test_missing_required_column_is_one_line_error(spark, tmp_path):
    path = _csv(tmp_path, "ID,Age,Score\n1,30,Low\n")
    with pytest.raises(io.InputError, match=r"has no column Gender; it has ID, Age, Score; fix the columns"):
        _read(spark, path)


def test_missing_input_path(spark, tmp_path):
    with pytest.raises(io.InputError, match="does not exist; pass --input"):
        _read(spark, str(tmp_path / "nope.csv"))


@pytest.mark.parametrize("name", ["empty.csv", "emptydir"])
def test_empty_file_or_directory_is_one_line_error(spark, tmp_path, name):
    target = tmp_path / name
    target.mkdir() if name == "emptydir" else target.write_bytes(b"")
    with pytest.raises(io.InputError, match=rf"^input {target} is empty; point --input at a snapshot"):
        _read(spark, str(target))


def test_parquet_with_numeric_ids_is_read_as_strings(spark, tmp_path):
    frame = spark.createDataFrame([(7, 31, "Male", "Low")], "ID long, Age int, Gender string, Score string")
    frame.write.parquet(str(tmp_path / "p"))
    source = InputConfig(path=str(tmp_path / "p"), format="parquet")
    result = io.read_customers(spark, source=source, columns=COLUMNS)
    assert result.schema.simpleString() == (
        "struct<ID:string,Age:string,Score:string,Gender:string,Segmentation:string,"
        "_record:struct<ID:string,Age:string,Gender:string,Score:string>,_line:string,_malformed:boolean,"
        "_position:bigint>")
    assert result.first() == ("7", "31", "Low", "Male", None, ("7", "31", "Male", "Low"), None, False, 0)
    assert result.select(io.record_text()).first()[0] == '{"ID":"7","Age":"31","Gender":"Male","Score":"Low"}'
