"""Property-based tests of reading and validation: malformed rows never crash, and every row is accounted for.

Each example is a few hundred generated rows checked in a handful of Spark jobs, so that thousands
of malformed rows cost seconds, not minutes. A small pure-Python model of the documented rules
says what must happen to each row.
"""

from __future__ import annotations

import math
from collections import Counter

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from custseg import io
from custseg.config import ColumnsConfig, CsvOptions, InputConfig
from custseg.quarantine import REASON_CODE_COL, REASON_CODES, accepted_rows, flag_rows, rejected_rows

COLUMNS = ColumnsConfig(
    id="ID", numeric=["Age", "Size"], nominal=["Gender"], ordinal={"Score": ["Low", "High"]}, label=None,
    ranges={"Age": [0, 120]}, levels={"Gender": ["Male", "Female"]},
)
HEADER = ["ID", "Age", "Size", "Gender", "Score"]
# Few examples of many rows each: every example costs a few Spark jobs, rows are nearly free.
PROFILE = settings(max_examples=8, deadline=None, suppress_health_check=list(HealthCheck), derandomize=True)

blank = st.sampled_from(["", " ", "\t", " \t "])
ids = st.one_of(st.none(), blank, st.integers(0, 40).map(str), st.integers(0, 40).map(lambda i: f" {i}\t"))
numbers = st.one_of(
    st.none(), blank,
    st.integers(-50, 200).map(str),
    st.floats(-1e4, 1e4, allow_nan=False).map(repr),
    st.sampled_from(["abc", "3,5", "NaN", "inf", "-Infinity", "1e2", " 42 ", "1.", ".5", "--1", "1e", "12abc"]),
    st.text(alphabet="0123456789.-e ,a", max_size=6),
)
categories = st.one_of(st.none(), blank, st.sampled_from([" male ", "FEMALE", "Female", "fem ale", "x", "low",
                                                          " High", "MEDIUM", "Male\t"]))
corrupt = st.sampled_from([None, None, None, "bad,line"])


@st.composite
def row_lists(draw, rows: int = 600) -> list[tuple]:
    """Hundreds of rows combined from small drawn vocabularies: large lists drawn value by value
    overrun Hypothesis' example buffer and take minutes to generate."""
    columns = [ids, numbers, numbers, categories, categories, corrupt]
    vocabularies = [draw(st.lists(values, min_size=1, max_size=12)) for values in columns]
    pick = draw(st.randoms(use_true_random=False))
    return [tuple(pick.choice(vocabulary) for vocabulary in vocabularies) for _ in range(rows)]


def _number(text):
    try:
        value = float(text)
    except (TypeError, ValueError):
        return None
    return value if math.isfinite(value) else None


def _clean(text):
    # Java's \s, which the job trims: space, tab, newline, vertical tab, form feed, carriage return.
    value = None if text is None else text.strip(" \t\n\x0b\f\r")
    return value or None


def expected_codes(generated: list[tuple]) -> list[str | None]:
    """The reason code each row must get, by the documented rules, in read order."""
    seen, codes = set(), []
    for id_, age, size, _, _, corrupt in generated:
        key = _clean(id_)
        numbers_bad = any(_clean(v) is not None and _number(_clean(v)) is None for v in (age, size))
        age_value = _number(_clean(age))
        if corrupt is not None:
            code = "malformed_record"
        elif key is None:
            code = "missing_id"
        elif numbers_bad:
            code = "unparseable_number"
        elif age_value is not None and not 0 <= age_value <= 120:
            code = "out_of_range"
        elif key in seen:
            code = "duplicate_id"
        else:
            code, _ = None, seen.add(key)
        codes.append(code)
    return codes


@PROFILE
@given(row_lists())
def test_every_generated_row_is_accepted_or_rejected_with_the_rule_s_reason(spark, generated):
    frame = spark.createDataFrame(generated, "ID string, Age string, Size string, Gender string, Score string, "
                                             "bad string")
    raw = io.raw_customers(frame, columns=COLUMNS, origin="generated", corrupt_col="bad")
    flagged = flag_rows(raw, columns=COLUMNS).persist()
    codes = [r[REASON_CODE_COL] for r in flagged.orderBy(io.POSITION_COL).select(REASON_CODE_COL).collect()]
    accepted = accepted_rows(flagged).collect()
    rejected = rejected_rows(flagged).collect()
    flagged.unpersist()
    assert len(accepted) + len(rejected) == len(generated)
    assert {r.reason_code for r in rejected} <= set(REASON_CODES)
    expected = expected_codes(generated)
    assert codes == expected
    # Each rejected row keeps its own raw record, whichever check rejected it.
    records = [r[0] for r in raw.orderBy(io.POSITION_COL).select(io.record_text()).collect()]
    assert Counter((r.record, r.reason_code) for r in rejected) == Counter(
        (record, code) for record, code in zip(records, expected) if code is not None)
    assert all(r.Gender in (None, "Male", "Female", "(unknown)") and r.Score in (None, "Low", "High")
               for r in accepted)


# No line breaks inside fields: without multiLine, Spark splits records at any of them.
fields = st.text(alphabet='ab1 ,.-"', max_size=5)


def _csv_field(text: str) -> str:
    # Quote fields that hold the delimiter or a quote, doubling quotes inside.
    return '"' + text.replace('"', '""') + '"' if any(c in text for c in ',"') else text


@PROFILE
@given(lines=st.lists(st.lists(fields, min_size=1, max_size=8), min_size=200, max_size=500),
       bom=st.booleans(), crlf=st.booleans())
def test_generated_csv_lines_never_crash_and_are_all_accounted_for(spark, tmp_path_factory, lines, bom, crlf):
    # The id is always present, so that no line is blank (Spark skips blank lines, which are no rows).
    records = [[str(i), *line] for i, line in enumerate(lines)]
    end = "\r\n" if crlf else "\n"
    text = ("\ufeff" if bom else "") + ",".join(HEADER) + end
    text += "".join(",".join(_csv_field(f) for f in record) + end for record in records)
    path = tmp_path_factory.mktemp("csv") / "in.csv"
    path.write_text(text, encoding="utf-8")
    raw = io.read_customers(spark, source=InputConfig(path=str(path), csv=CsvOptions()), columns=COLUMNS)
    flagged = flag_rows(raw, columns=COLUMNS).persist()
    codes = {r["ID"]: r[REASON_CODE_COL] for r in flagged.select("ID", REASON_CODE_COL).collect()}
    flagged.unpersist()
    assert len(codes) == len(records)
    assert set(codes.values()) <= {None, *REASON_CODES}
    malformed = {record[0] for record in records if len(record) != len(HEADER)}
    assert {i for i, code in codes.items() if code == "malformed_record"} == malformed
